"""The notice register: notices F and K issued by detox institutions, their people,
returned receipts (回执) and voided (作废) notices.

It lives in the same SQLite database as the number registry (``numbers.DB_NAME`` in the
workspace data directory), so allocating a number, rendering the notice and recording it
happen in one ``BEGIN IMMEDIATE`` transaction: a notice that cannot be produced uses no
number, and two processes issuing at the same moment are serialised.

Which month: ``--month`` is the month of issue. Appendix F says "我所下月解除强制隔离戒毒
人员中" and the information sheet (D, 注1) is exchanged "解戒前一个月", so a notice issued in
2026-11 names the people released in 2026-12. K ("即将解除") is read the same way.

A person is notified once per kind, institution and station: a later notice for the same
institution, station and month is a supplementary one (补充) naming only the people not yet
in a valid notice; voiding a notice frees its people for the next one.

An issued notice is what was sent: its view (the sheet's values, the roster and the
enclosures' views, enclosures named by form code) is stored in the register as canonical
JSON with its SHA-256 when it is issued, and every later rendering (``docgen build``, the
watch service) is made from that stored view - the same bytes, or with a new font or
template the same data. A change of the records afterwards never changes the notice;
:func:`changes` says what differs (``docgen notice list`` warns: void it and issue a new
one). A voided notice stays in the output, rendered from its stored view with a 作废 mark
on every page, and its manifest entry says ``"voided": true``.

A notice whose notice volume (TZ) the archive destroyed under an executed 销毁清册 is
redacted (:func:`redact`, called by ``docgen archive execute`` / ``purge``, which decide from
the archive's registry and audit log): the register keeps it as a register entry (number,
kind, institution, station, months, dates, receipt, void, the people count and the SHA-256 of
the view as issued, the proof of what was sent) and ``redacted`` / ``redacted_list`` (the day
and the 销毁清册); its stored view and its people (编号 and name) are gone, and so are its
files and manifest entry in the output folder. Builds skip it; receipts and voids are refused.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import sqlite3
from pathlib import Path

from ..errors import DocgenError, UsageError
from ..records.load import Dataset
from . import numbers

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (
    kind        TEXT    NOT NULL,   -- F | K (also the number series)
    institution TEXT    NOT NULL,   -- institution id (the issuer)
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    number      TEXT    NOT NULL,   -- printed: 东湖戒[2026]3号
    station     TEXT    NOT NULL,   -- id of the 指导站 addressed
    month       TEXT    NOT NULL,   -- month of issue, YYYY-MM
    release_month TEXT  NOT NULL,   -- the people's release month, YYYY-MM
    supplement  INTEGER NOT NULL DEFAULT 0,  -- 0: first notice of the month, n: n-th 补充
    issued      TEXT    NOT NULL,   -- ISO date the notice was issued
    dated       TEXT,               -- the date printed on it (--date), NULL if left blank
    people      INTEGER NOT NULL,
    signed      INTEGER NOT NULL,   -- of them with a signed agreement (F)
    out_dir     TEXT    NOT NULL,   -- absolute output directory
    pdf         TEXT,               -- relative to out_dir
    docx        TEXT,
    receipt_date TEXT,
    receipt_by  TEXT,
    voided      TEXT,
    void_reason TEXT,
    view        TEXT,               -- the view it was rendered from at issue (canonical JSON)
    view_sha256 TEXT,               -- SHA-256 of view
    redacted    TEXT,               -- ISO date its personal data was removed (notice volume destroyed)
    redacted_list TEXT,             -- the 销毁清册 that destroyed its notice volume
    PRIMARY KEY (kind, institution, year, seq),
    FOREIGN KEY (kind, institution, year, seq) REFERENCES numbers (series, issuer, year, seq)
);
CREATE TABLE IF NOT EXISTS notice_people (
    kind        TEXT    NOT NULL,
    institution TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    pos         INTEGER NOT NULL,
    person      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    PRIMARY KEY (kind, institution, year, seq, person),
    FOREIGN KEY (kind, institution, year, seq) REFERENCES notices (kind, institution, year, seq)
);
CREATE INDEX IF NOT EXISTS notices_station ON notices (kind, institution, station, month);
"""

numbers.register_schema(_SCHEMA)

KINDS = ("F", "K")


def has_register(data_dir: Path) -> bool:
    return numbers.db_path(Path(data_dir)).exists()


def _month(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not m or not 1 <= int(m[2]) <= 12:
        raise UsageError(f"月份“{text}”格式不对，应写成 2026-11 这样的 年-月")
    return int(m[1]), int(m[2])


def next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


# --------------------------------------------------------------------------- selection


def select_people(ds: Dataset, kind: str, institution_id: str, station_id: str, month: str):
    """(institution, station, release month key, people) of a notice, people in release order."""
    from ..documents.f_notice import household_city
    from ..documents.registry import get_form

    if kind not in KINDS:
        raise UsageError(f"通知书种类“{kind}”无效，应为 F（预解戒人员）或 K（典型培育对象）")
    inst = ds.institutions.get(institution_id)
    if inst is None:
        known = "、".join(sorted(ds.institutions)) or "（无）"
        raise DocgenError(f"没有编号为“{institution_id}”的戒毒所记录（已有：{known}）")
    twins = sorted(i.id for i in ds.institutions.values() if i.code == inst.code and i.id != inst.id)
    if twins:  # each institution numbers on its own: the printed numbers would collide
        raise DocgenError(f"戒毒所“{inst.id}”与“{'、'.join(twins)}”的代字都是“{inst.code}”，两所的通知书编号"
                          f"（{inst.code}戒[年]序号号）会重号；请先改正戒毒所记录中的“代字”，未使用编号。")
    st = ds.stations.get(station_id)
    if st is None:
        raise DocgenError(f"没有编号为“{station_id}”的站点记录")
    if st.kind != "指导站":
        raise DocgenError(f"站点“{station_id}”是{st.kind}；对接通知书寄送设区的市的后续照管指导站")
    y, m = _month(month)
    ry, rm = next_month(y, m)
    form = get_form(kind)
    people = [p for p in ds.persons.values()
              if p.detention.institution == inst.id
              and (p.detention.release.year, p.detention.release.month) == (ry, rm)
              and household_city(p) == st.city
              and form.selects(p, inst.id)]
    people.sort(key=lambda p: (p.detention.release, p.id))
    return inst, st, f"{ry:04d}-{rm:02d}", people


# --------------------------------------------------------------------------- issue

_VIEW_COLUMNS = ("view", "view_sha256")
_REDACT_COLUMNS = ("redacted", "redacted_list")
_migrated: set[str] = set()


def _connect(data_dir: Path) -> sqlite3.Connection:
    """The register; a register made before the stored views (or the redaction) gets their
    columns (once, in one transaction)."""
    conn = numbers.connect(data_dir)
    key = str(numbers.db_path(Path(data_dir)).resolve())
    if key not in _migrated:
        def missing() -> list[str]:
            have = {r[1] for r in conn.execute("PRAGMA table_info(notices)")}
            return [c for c in _VIEW_COLUMNS + _REDACT_COLUMNS if c not in have]

        if missing():
            with numbers.transaction(conn=conn):
                for column in missing():  # asked again: another process may have added them
                    conn.execute(f"ALTER TABLE notices ADD COLUMN {column} TEXT")
        _migrated.add(key)
    return conn


def notice_paths(kind: str, number: str, station_city: str) -> str:
    from ..documents.base import safe_name

    return f"{kind}/{safe_name(number)}-{safe_name(station_city)}后续照管指导站"


def canonical(view: dict) -> str:
    """The stored form of a view: JSON, keys sorted, no spaces (its SHA-256 is recorded too)."""
    return json.dumps(view, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def freeze_view(view: dict) -> dict:
    """The view as it is stored and rendered: the enclosures name their form by code
    (``[code, view, context]``), and the whole went through JSON once, so rendering it now
    and rendering it from the register later read exactly the same values."""
    out = dict(view)
    if "enclosures" in out:
        out["enclosures"] = [[getattr(form, "code", form), eview, ctx] for form, eview, ctx in out["enclosures"]]
    return json.loads(canonical(out))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def issue(ds: Dataset, data_dir: Path, out_dir: Path, kind: str, institution_id: str, station_id: str,
          month: str, date: dt.date | None = None, formats: set[str] | None = None,
          today: dt.date | None = None) -> dict:
    """Issue a notice: select the people, allocate the number, render and record it (with
    the view it was rendered from: every later rendering uses that view).

    Returns the register row (as :func:`list_notices` gives it). Raises ``DocgenError`` -
    without using a number - when nobody is left to notify.
    """
    from ..build import load_manifest, output_lock, render_target, write_manifest
    from ..documents.registry import get_form

    kind = kind.upper()
    inst, st, release_key, people = select_people(ds, kind, institution_id, station_id, month)
    y, m = _month(month)
    month_key = f"{y:04d}-{m:02d}"
    form = get_form(kind)
    want = formats or {"pdf", "docx"}
    issued_on = date or today or dt.date.today()
    conn = _connect(data_dir)
    try:
        # the output folder's writer lock first (a build or the watch service may be writing
        # there), then the register's: the notice's files and manifest entry come with its number
        with output_lock(out_dir), numbers.transaction(conn=conn):
            done = {r["person"] for r in conn.execute(
                "SELECT p.person FROM notice_people p JOIN notices n USING (kind, institution, year, seq) "
                "WHERE n.kind = ? AND n.institution = ? AND n.station = ? AND n.voided IS NULL",
                (kind, inst.id, st.id))}
            gone = conn.execute(
                "SELECT number, redacted_list FROM notices WHERE kind = ? AND institution = ? AND station = ? "
                "AND month = ? AND redacted IS NOT NULL", (kind, inst.id, st.id, month_key)).fetchone()
            if gone is not None:  # its people are no longer known: a "supplement" would notify them again
                raise DocgenError(f"{inst.name} {month_key} 寄送{st.city}的通知书（{gone['number']} 等）已随通知书卷按"
                                  f"销毁清册 {gone['redacted_list']} 销毁，不能再为该月补发通知书；未使用编号。")
            todo = [p for p in people if p.id not in done]
            what = "预解戒人员" if kind == "F" else "典型培育对象"
            if not todo:
                if people:
                    raise DocgenError(
                        f"{inst.name}下月（{release_key}）解除强制隔离戒毒、户籍属{st.city}的{what}"
                        f"共 {len(people)} 人都已通知过，没有需要补充通知的人员；未使用编号。")
                raise DocgenError(
                    f"{inst.name}没有 {release_key} 解除强制隔离戒毒、户籍属{st.city}的{what}，"
                    "无需发出通知书；未使用编号。")
            supplement = conn.execute(
                "SELECT COUNT(*) FROM notices WHERE kind = ? AND institution = ? AND station = ? "
                "AND month = ? AND voided IS NULL", (kind, inst.id, st.id, month_key)).fetchone()[0]
            seq = numbers.allocate_in(conn, kind, inst.id, y, subject=f"{st.id}:{month_key}",
                                      note=form.name, on=issued_on)
            number = numbers.format_number(kind, inst.code, y, seq)
            row = {"kind": kind, "institution": inst.id, "year": y, "seq": seq, "number": number,
                   "station": st.id, "month": month_key, "release_month": release_key,
                   "supplement": supplement, "issued": issued_on.isoformat(),
                   "dated": date.isoformat() if date else None, "people_ids": [p.id for p in todo],
                   "voided": None, "void_reason": None}
            view = freeze_view(_target(form, ds, row, inst, st, todo).view)
            stored = canonical(view)
            target = _stored_target(ds, row, view)
            entry = render_target(form, target, out_dir, want)
            signed = sum(1 for p in todo if p.agreement)
            conn.execute(
                "INSERT INTO notices (kind, institution, year, seq, number, station, month, release_month,"
                " supplement, issued, dated, people, signed, out_dir, pdf, docx, view, view_sha256)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, inst.id, y, seq, number, st.id, month_key, release_key, supplement,
                 issued_on.isoformat(), row["dated"], len(todo), signed if kind == "F" else 0,
                 str(Path(out_dir).resolve()), entry["files"].get("pdf"), entry["files"].get("docx"),
                 stored, _digest(stored)))
            conn.executemany(
                "INSERT INTO notice_people (kind, institution, year, seq, pos, person, name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(kind, inst.id, y, seq, i, p.id, p.name) for i, p in enumerate(todo)])
            # the manifest is updated under the same lock, so concurrent issues do not lose entries
            manifest = load_manifest(out_dir)
            docs = [d for d in manifest.get("documents", [])
                    if (d.get("form"), d.get("key")) != (entry["form"], entry["key"])]
            write_manifest(out_dir, docs + [entry], manifest.get("errors", []))
        return _get(conn, kind, inst.id, y, seq)
    finally:
        conn.close()


def _target(form, ds: Dataset, row: dict, inst, st, people: list):
    """The notice made from the current records (at issue, and to compare with what was issued)."""
    from ..documents.base import Target
    from ..documents.f_notice import notice_view

    view = notice_view(form, ds, inst, st, row["number"], people,
                       date=dt.date.fromisoformat(row["dated"]) if row.get("dated") else None,
                       supplement=row["supplement"], month=row["month"],
                       release_month=row["release_month"])
    deps = sorted({f for p in people for f in ds.sources.get(p.id, [])}
                  | set(ds.sources.get(inst.id, [])) | set(ds.sources.get(st.id, [])))
    return Target(form=form.code, key=f"{row['institution']}-{row['year']}-{row['seq']}",
                  path=notice_paths(form.code, row["number"], st.city), view=view,
                  context=f"{form.name} {row['number']}", unit=row["institution"], period=row["month"],
                  deps=deps)


def notice_target(ds: Dataset, row: dict):
    """The Target of a registered notice made from the current records (not what was issued:
    see :func:`issued_targets`)."""
    from ..documents.registry import get_form

    form = get_form(row["kind"])
    inst = ds.institutions.get(row["institution"])
    st = ds.stations.get(row["station"])
    if inst is None or st is None:
        raise DocgenError(f"通知书 {row['number']} 的戒毒所或指导站记录已不存在，无法重新生成")
    missing = [pid for pid in row["people_ids"] if pid not in ds.persons]
    if missing:
        raise DocgenError(f"通知书 {row['number']} 所列人员 {'、'.join(missing)} 的记录已不存在，无法重新生成")
    return _target(form, ds, row, inst, st, [ds.persons[pid] for pid in row["people_ids"]])


def _stored_target(ds: Dataset | None, row: dict, view: dict):
    """The Target of a notice rendered from its stored ``view``; a voided one carries its 作废
    mark (``view["void"]``) and says so in its manifest entry (``target.manifest``)."""
    from ..documents.base import Target
    from ..documents.registry import get_form

    form = get_form(row["kind"])
    manifest = {"number": row["number"], "institution": row["institution"], "station": row["station"],
                "supplement": row["supplement"]}
    if row.get("voided"):
        view = {**view, "void": {"date": row["voided"], "reason": row["void_reason"] or ""}}
        manifest.update({"voided": True, "void_date": row["voided"], "void_reason": row["void_reason"]})
    deps: list = []
    if ds is not None:  # a broken 戒毒所 or 指导站 file holds it (it does not change it)
        deps = sorted(set(ds.sources.get(row["institution"], [])) | set(ds.sources.get(row["station"], [])))
    target = Target(form=form.code, key=f"{row['institution']}-{row['year']}-{row['seq']}",
                    path=notice_paths(form.code, row["number"], view.get("station_city") or row["station"]),
                    view=view, context=f"{form.name} {row['number']}", unit=row["institution"],
                    period=row["month"], deps=deps)
    target.manifest = manifest  # build.render_target adds it to the manifest entry
    return target


def _stored_view(conn: sqlite3.Connection, row: dict) -> dict | None:
    """The view a notice was issued with; None for a notice issued before views were stored."""
    r = conn.execute("SELECT view, view_sha256 FROM notices WHERE kind = ? AND institution = ? AND year = ? "
                     "AND seq = ?", (row["kind"], row["institution"], row["year"], row["seq"])).fetchone()
    if r is None or r["view"] is None:
        return None
    if _digest(r["view"]) != r["view_sha256"]:
        raise DocgenError(f"登记簿中通知书 {row['number']} 发出时的内容与其散列值不符（登记簿被改动过？），"
                          "不能据此重新生成；请从备份恢复登记簿")
    return json.loads(r["view"])


def issued_targets(ds: Dataset, data_dir: Path, kind: str, months: set[str] | None = None) -> list:
    """The notices of ``kind`` in the register (voided ones too, marked), each rendered from
    the view stored at issue. A notice issued before views were stored gets its view from the
    current records now, once, and keeps it from then on."""
    if not has_register(data_dir):
        return []
    conn = _connect(data_dir)
    try:
        out = []
        for row in _rows(conn, "WHERE kind = ?", (kind,)):
            if months is not None and row["month"] not in months:
                continue
            if row.get("redacted"):  # destroyed with its notice volume: never made again
                continue
            view = _stored_view(conn, row)
            if view is None:
                view = freeze_view(notice_target(ds, row).view)
                stored = canonical(view)
                with numbers.transaction(conn=conn):
                    conn.execute("UPDATE notices SET view = ?, view_sha256 = ? WHERE kind = ? AND institution = ?"
                                 " AND year = ? AND seq = ? AND view IS NULL",
                                 (stored, _digest(stored), row["kind"], row["institution"], row["year"], row["seq"]))
                view = _stored_view(conn, row)  # what the register holds (another process may have been first)
            out.append(_stored_target(ds, row, view))
        return out
    finally:
        conn.close()


_CHANGE_LABELS = {
    "institution": "戒毒所名称", "contact": "戒毒所联系人", "phone": "戒毒所联系电话",
    "station_city": "指导站", "station_name": "指导站名称", "count": "人数", "signed": "已签订协议人数",
    "names": "人员姓名", "roster": "花名册",
}


def changes(ds: Dataset, data_dir: Path, outstanding: bool = False) -> dict[tuple[str, str], list[str]]:
    """Notices (not voided; with ``outstanding``, only those whose receipt is not back) whose
    records changed since they were issued: (kind, number) -> what differs (花名册, 戒毒所联系电话,
    附件 E（…）…). The notices themselves stay as issued."""
    return {key: what for key, (_, what) in _changed(ds, data_dir, outstanding).items()}


def _changed(ds: Dataset, data_dir: Path, outstanding: bool) -> dict[tuple[str, str], tuple[dict, list[str]]]:
    """``changes``, with each notice's register row."""
    if not has_register(data_dir):
        return {}
    conn = _connect(data_dir)
    try:
        out: dict[tuple[str, str], tuple[dict, list[str]]] = {}
        for row in _rows(conn):
            if row["voided"] or row.get("redacted") or (outstanding and row["receipt_date"]):
                continue
            stored = _stored_view(conn, row)
            if stored is None:
                continue  # frozen by the next build, from the records as they are then
            try:
                now = freeze_view(notice_target(ds, row).view)
            except DocgenError as exc:
                out[(row["kind"], row["number"])] = (row, [exc.message])
                continue
            what: list[str] = []
            for key in sorted(set(stored) | set(now)):
                if key == "enclosures" or stored.get(key) == now.get(key):
                    continue
                label = _CHANGE_LABELS.get(key, key)
                if label not in what:
                    what.append(label)
            old_enc, new_enc = stored.get("enclosures", []), now.get("enclosures", [])
            if len(old_enc) != len(new_enc):
                what.append("附件份数")
            for a, b in zip(old_enc, new_enc):
                if a != b:
                    what.append(f"附件 {b[0]}（{b[2]}）")
            if what:
                out[(row["kind"], row["number"])] = (row, what)
        return out
    finally:
        conn.close()


def change_warning(row: dict, what: list[str]) -> str:
    """The warning for a notice whose records changed after it was issued."""
    head = f"警告：通知书 {row['number']}（{row['kind']}）发出后记录有变化（{'、'.join(what)}）"
    if row.get("receipt_date"):
        return head + "；回执已收回，通知书保持发出时的内容。"
    return head + "，通知书保持发出时的内容；如需更正请作废后补发。"


def outstanding_change_warnings(ds: Dataset, data_dir: Path) -> list[str]:
    """Warnings for the notices still out (not voided, receipt not back) whose records changed
    since issue: said by ``docgen build`` and the watch service, where a notice can still be
    voided and issued again before the institution acts on it."""
    return [change_warning(row, what) for row, what in _changed(ds, data_dir, outstanding=True).values()]


# --------------------------------------------------------------------------- register


def _rows(conn: sqlite3.Connection, where: str = "", args: tuple = ()) -> list[dict]:
    out = []
    for r in conn.execute(f"SELECT * FROM notices {where} ORDER BY institution, year, kind, seq", args):
        d = dict(r)
        for column in _VIEW_COLUMNS:  # read by _stored_view only (the archive hashes these rows)
            d.pop(column, None)
        for column in _REDACT_COLUMNS:  # present only once set: the rows of kept notices hash as before
            if d.get(column) is None:
                d.pop(column, None)
        people = conn.execute("SELECT person, name FROM notice_people WHERE kind = ? AND institution = ? "
                              "AND year = ? AND seq = ? ORDER BY pos",
                              (d["kind"], d["institution"], d["year"], d["seq"])).fetchall()
        d["people_ids"] = [p["person"] for p in people]
        d["names"] = [p["name"] for p in people]
        d["receipt"] = d["receipt_date"]
        out.append(d)
    return out


def _get(conn: sqlite3.Connection, kind: str, inst: str, year: int, seq: int) -> dict:
    return _rows(conn, "WHERE kind = ? AND institution = ? AND year = ? AND seq = ?", (kind, inst, year, seq))[0]


def list_notices(data_dir: Path) -> list[dict]:
    """Every notice in the register, ordered by institution, year, kind and number.

    Each dict has: ``number`` (printed), ``kind`` (F/K), ``institution``, ``station``,
    ``month`` (of issue, YYYY-MM), ``release_month``, ``issued`` (ISO date), ``dated``,
    ``people`` (count), ``people_ids``, ``names``, ``signed``, ``supplement``, ``pdf`` and
    ``docx`` (relative to ``out_dir``), ``out_dir``, ``receipt`` / ``receipt_date`` and
    ``receipt_by`` (None while outstanding), ``voided`` (ISO date or None), ``void_reason``,
    ``year``, ``seq``; a redacted notice (its notice volume destroyed) also ``redacted`` (ISO
    date) and ``redacted_list`` (the 销毁清册), with ``people_ids`` and ``names`` empty.
    """
    if not has_register(data_dir):
        return []
    conn = _connect(data_dir)
    try:
        return _rows(conn)
    finally:
        conn.close()


def find(conn: sqlite3.Connection, number: str, kind: str | None = None) -> dict:
    code, year, seq = numbers.parse_notice_number(number)
    printed = numbers.format_number("F", code, year, seq)
    rows = _rows(conn, "WHERE number = ?", (printed,))
    if kind:
        rows = [r for r in rows if r["kind"] == kind.upper()]
    if not rows:
        raise DocgenError(f"登记簿中没有编号为 {printed} 的通知书")
    issuers = sorted({r["institution"] for r in rows})
    if len(issuers) > 1:
        raise DocgenError(f"编号 {printed} 属于不同戒毒所（{'、'.join(issuers)}）的通知书：这些戒毒所的代字相同，"
                          "无法分辨；请先改正戒毒所记录中的“代字”")
    if len(rows) > 1:
        raise UsageError(f"编号 {printed} 既有预解戒人员通知书（F）也有典型培育对象通知书（K），请用 --kind 指明")
    return rows[0]


# ``redacted_list`` of a voided notice no notice volume holds, cleared when the term its month's
# notice volume would have had ran out (``docgen archive purge --notices``)
EXPIRED = "期满清除"


def redacted_text(row: dict) -> str:
    """已销毁（清册 XH-…） for a redacted notice, "" otherwise."""
    if not row.get("redacted"):
        return ""
    if row.get("redacted_list") == EXPIRED:
        return f"已清除（作废、未入卷，保管期满，{row['redacted']}）"
    return f"已销毁（清册 {row.get('redacted_list') or '？'}）"


def _refuse_redacted(row: dict, what: str) -> None:
    if row.get("redacted") and row.get("redacted_list") == EXPIRED:
        raise DocgenError(f"通知书 {row['number']} 已作废、未入卷，保管期满后已于 {row['redacted']} 清除了登记簿中的"
                          f"人员和内容，不能再{what}")
    if row.get("redacted"):
        raise DocgenError(f"通知书 {row['number']} 已随通知书卷按销毁清册 {row.get('redacted_list') or '？'} 销毁"
                          f"（{row['redacted']} 清除了登记簿中的人员和内容），不能再{what}")


def _not_future(what: str, day: dt.date, today: dt.date | None) -> None:
    today = today or dt.date.today()
    if day > today:
        raise UsageError(f"{what} {day.isoformat()} 晚于今天（{today.isoformat()}）：只能登记已经发生的事，"
                         "请核对日期")


def record_receipt(data_dir: Path, number: str, date: dt.date, by: str, kind: str | None = None,
                   today: dt.date | None = None) -> dict:
    """Record the returned receipt (回执) of a notice (``date`` not after ``today``)."""
    by = (by or "").strip()
    if not by:
        raise UsageError("请用 --by 写明回执的查收人")
    conn = _connect(data_dir)
    try:
        with numbers.transaction(conn=conn):
            row = find(conn, number, kind)
            _refuse_redacted(row, "登记回执")
            _not_future("回执日期", date, today)
            if row["voided"]:
                raise DocgenError(f"通知书 {row['number']} 已于 {row['voided']} 作废，不能登记回执")
            if row["receipt_date"]:
                raise DocgenError(f"通知书 {row['number']} 的回执已于 {row['receipt_date']} 登记"
                                  f"（查收人：{row['receipt_by']}）")
            if date < dt.date.fromisoformat(row["issued"]):
                raise DocgenError(f"回执日期 {date.isoformat()} 早于通知书发出日期 {row['issued']}")
            conn.execute("UPDATE notices SET receipt_date = ?, receipt_by = ? WHERE kind = ? AND "
                         "institution = ? AND year = ? AND seq = ?",
                         (date.isoformat(), by, row["kind"], row["institution"], row["year"], row["seq"]))
        return _get(conn, row["kind"], row["institution"], row["year"], row["seq"])
    finally:
        conn.close()


def void_notice(data_dir: Path, number: str, reason: str, kind: str | None = None,
                on: dt.date | None = None, today: dt.date | None = None) -> dict:
    """Void (作废) a notice and its number; its people may be notified again. Its files are
    rendered again at once from the stored view with the 作废 mark, and its manifest entry
    says ``"voided": true`` (``docgen print`` leaves it out)."""
    from ..build import load_manifest, output_lock, render_target, write_manifest

    reason = (reason or "").strip()
    if not reason:
        raise UsageError("作废须用 --reason 写明原因")
    day = on or today or dt.date.today()
    conn = _connect(data_dir)
    try:
        first = find(conn, number, kind)
        _refuse_redacted(first, "作废")
        out_dir = Path(first["out_dir"])
        _not_future("作废日期", day, today)
        # the output folder's lock before the register's, as issue and builds take them
        with output_lock(out_dir) if out_dir.is_dir() else contextlib.nullcontext(), \
                numbers.transaction(conn=conn):
            row = find(conn, number, kind)
            _refuse_redacted(row, "作废")
            if row["voided"]:
                raise DocgenError(f"通知书 {row['number']} 已于 {row['voided']} 作废")
            if row["receipt_date"]:
                raise DocgenError(f"通知书 {row['number']} 已收回回执（{row['receipt_date']}），不能作废")
            if day < dt.date.fromisoformat(row["issued"]):
                raise DocgenError(f"作废日期 {day.isoformat()} 早于通知书发出日期 {row['issued']}")
            numbers.void_in(conn, row["kind"], row["institution"], row["year"], row["seq"], reason, day)
            conn.execute("UPDATE notices SET voided = ?, void_reason = ? WHERE kind = ? AND "
                         "institution = ? AND year = ? AND seq = ?",
                         (day.isoformat(), reason, row["kind"], row["institution"], row["year"], row["seq"]))
            row = _get(conn, row["kind"], row["institution"], row["year"], row["seq"])
            view = _stored_view(conn, row)
            if view is not None and out_dir.is_dir():
                target = _stored_target(None, row, view)
                from ..documents.registry import get_form

                want = {ext for ext in ("pdf", "docx") if row.get(ext)}
                entry = render_target(get_form(row["kind"]), target, out_dir, want or {"pdf"})
                manifest = load_manifest(out_dir)
                docs = [d for d in manifest.get("documents", []) if isinstance(d, dict)
                        and (d.get("form"), d.get("key")) != (entry["form"], entry["key"])]
                write_manifest(out_dir, docs + [entry], manifest.get("errors", []))
            elif out_dir.is_dir():  # issued before views were stored: the next build marks its files
                _mark_manifest(out_dir, row["kind"], f"{row['institution']}-{row['year']}-{row['seq']}",
                               {"voided": True, "void_date": day.isoformat(), "void_reason": reason})
        return row
    finally:
        conn.close()


def _key(row: dict) -> tuple[str, str, int, int]:
    return row["kind"], row["institution"], row["year"], row["seq"]


def output_leftovers(row: dict) -> tuple[list[Path], bool]:
    """The files of a notice in its output folder and whether the manifest still lists it."""
    from ..build import read_manifest

    out_dir = Path(row["out_dir"])
    if not out_dir.is_dir():
        return [], False
    key = f"{row['institution']}-{row['year']}-{row['seq']}"
    rels = {row.get(ext) for ext in ("pdf", "docx")} - {None}
    listed = False
    for e in read_manifest(out_dir).get("documents", []):
        if isinstance(e, dict) and e.get("form") == row["kind"] and e.get("key") == key:
            listed = True
            rels |= {rel for rel in (e.get("files") or {}).values() if isinstance(rel, str)}
    files = [out_dir / rel for rel in sorted(rels)]
    return [f for f in files if f.exists() or f.is_symlink()], listed


def redact(data_dir: Path, wanted: dict[tuple[str, str, int, int], str], on: dt.date) -> list[dict]:
    """Remove the personal data of the notices ``wanted`` ((kind, institution, year, seq) ->
    the 销毁清册 that destroyed their notice volume): in one transaction the stored view is
    cleared, the people (编号 and name) deleted and the notice marked ``redacted`` (``on``) with
    the list; then, under the output folder's lock, its manifest and build-state entries and
    its files go. The caller decides that the volume is destroyed (``docgen.archive.purge``).

    Re-runnable: a notice already redacted is not changed again, and files or entries an
    interrupted run left are removed. Returns, per notice that needed anything, a dict:
    ``row`` (as :func:`list_notices` gives it, after), ``people`` (person entries removed
    now), ``view`` (whether a stored view was removed now), ``files`` (files deleted).
    """
    from ..build import output_lock

    if not wanted or not has_register(data_dir):
        return []
    conn = _connect(data_dir)
    try:
        rows = {_key(r): r for r in _rows(conn)}
        groups: dict[str, list[tuple]] = {}
        for key in wanted:
            if key in rows:
                groups.setdefault(rows[key]["out_dir"], []).append(key)
        done = []
        for out_dir, keys in sorted(groups.items()):
            folder = Path(out_dir)
            # the output folder's lock before the register's, as issue and builds take them
            with output_lock(folder) if folder.is_dir() else contextlib.nullcontext():
                changed: dict[tuple, dict] = {}
                with numbers.transaction(conn=conn):
                    for key in keys:
                        row = _get(conn, *key)
                        if row.get("redacted"):
                            continue
                        had_view = conn.execute(
                            "SELECT view IS NOT NULL FROM notices WHERE kind = ? AND institution = ? AND year = ? "
                            "AND seq = ?", key).fetchone()[0]
                        people = conn.execute("DELETE FROM notice_people WHERE kind = ? AND institution = ? AND "
                                              "year = ? AND seq = ?", key).rowcount
                        conn.execute("UPDATE notices SET view = NULL, redacted = ?, redacted_list = ? WHERE kind = ? "
                                     "AND institution = ? AND year = ? AND seq = ?", (on.isoformat(), wanted[key], *key))
                        changed[key] = {"people": people, "view": bool(had_view)}
                rows_now = [_get(conn, *key) for key in keys]
                dropped = _drop_outputs(folder, rows_now) if folder.is_dir() else [0] * len(keys)
                for key, row, files in zip(keys, rows_now, dropped):
                    if key in changed or files:
                        done.append({"row": row, "people": 0, "view": False, **changed.get(key, {}), "files": files})
        return done
    finally:
        conn.close()


def _drop_outputs(out_dir: Path, rows: list[dict]) -> list[int]:
    """Remove redacted notices (all of the output folder ``out_dir``) from it (the caller holds
    the output lock): the manifest and build-state entries first, each list rewritten once, then
    the files. The number of files deleted, per notice."""
    from ..build import forget_documents

    found = [output_leftovers(row) for row in rows]
    keys = {(row["kind"], f"{row['institution']}-{row['year']}-{row['seq']}") for row in rows}
    forget_documents(out_dir, lambda e: (e.get("form"), e.get("key")) in keys,
                     lambda ident: tuple(ident.split("|")[:2]) in keys)
    for files, _ in found:
        for f in files:
            try:
                f.unlink()
            except FileNotFoundError:
                pass
    return [len(files) for files, _ in found]


def _mark_manifest(out_dir: Path, form: str, key: str, fields: dict) -> None:
    """Add ``fields`` to the manifest entry of a notice (if the manifest still lists it)."""
    from ..build import MANIFEST, load_manifest, write_manifest

    if not (out_dir / MANIFEST).exists():
        return
    manifest = load_manifest(out_dir)
    docs = manifest.get("documents", [])
    hit = False
    for d in docs:
        if isinstance(d, dict) and d.get("form") == form and d.get("key") == key:
            d.update(fields)
            hit = True
    if hit:
        write_manifest(out_dir, docs, manifest.get("errors", []))
