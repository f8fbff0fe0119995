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
"""
from __future__ import annotations

import datetime as dt
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


def _connect(data_dir: Path) -> sqlite3.Connection:
    return numbers.connect(data_dir)


def notice_paths(kind: str, number: str, station_city: str) -> str:
    from ..documents.base import safe_name

    return f"{kind}/{safe_name(number)}-{safe_name(station_city)}后续照管指导站"


def issue(ds: Dataset, data_dir: Path, out_dir: Path, kind: str, institution_id: str, station_id: str,
          month: str, date: dt.date | None = None, formats: set[str] | None = None,
          today: dt.date | None = None) -> dict:
    """Issue a notice: select the people, allocate the number, render and record it.

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
                   "dated": date.isoformat() if date else None, "people_ids": [p.id for p in todo]}
            target = _target(form, ds, row, inst, st, todo)
            entry = render_target(form, target, out_dir, want)
            entry.update({"number": number, "institution": inst.id, "station": st.id,
                          "supplement": supplement})
            signed = sum(1 for p in todo if p.agreement)
            conn.execute(
                "INSERT INTO notices (kind, institution, year, seq, number, station, month, release_month,"
                " supplement, issued, dated, people, signed, out_dir, pdf, docx)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, inst.id, y, seq, number, st.id, month_key, release_key, supplement,
                 issued_on.isoformat(), row["dated"], len(todo), signed if kind == "F" else 0,
                 str(Path(out_dir).resolve()), entry["files"].get("pdf"), entry["files"].get("docx")))
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
    """The Target that re-renders a registered notice from the current records."""
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


# --------------------------------------------------------------------------- register


def _rows(conn: sqlite3.Connection, where: str = "", args: tuple = ()) -> list[dict]:
    out = []
    for r in conn.execute(f"SELECT * FROM notices {where} ORDER BY institution, year, kind, seq", args):
        d = dict(r)
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
    ``year``, ``seq``.
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


def record_receipt(data_dir: Path, number: str, date: dt.date, by: str, kind: str | None = None) -> dict:
    """Record the returned receipt (回执) of a notice."""
    by = (by or "").strip()
    if not by:
        raise UsageError("请用 --by 写明回执的查收人")
    conn = _connect(data_dir)
    try:
        with numbers.transaction(conn=conn):
            row = find(conn, number, kind)
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


def _mark_manifest(out_dir: Path, form: str, key: str, fields: dict) -> None:
    """Add ``fields`` to the manifest entry of a notice (if the manifest still lists it)."""
    from ..build import MANIFEST, load_manifest, output_lock, write_manifest

    if not (out_dir / MANIFEST).exists():
        return
    with output_lock(out_dir):
        manifest = load_manifest(out_dir)
        docs = manifest.get("documents", [])
        hit = False
        for d in docs:
            if d.get("form") == form and d.get("key") == key:
                d.update(fields)
                hit = True
        if hit:
            write_manifest(out_dir, docs, manifest.get("errors", []))


def void_notice(data_dir: Path, number: str, reason: str, kind: str | None = None,
                on: dt.date | None = None) -> dict:
    """Void (作废) a notice and its number; its people may be notified again."""
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("作废须用 --reason 写明原因")
    conn = _connect(data_dir)
    try:
        with numbers.transaction(conn=conn):
            row = find(conn, number, kind)
            if row["voided"]:
                raise DocgenError(f"通知书 {row['number']} 已于 {row['voided']} 作废")
            if row["receipt_date"]:
                raise DocgenError(f"通知书 {row['number']} 已收回回执（{row['receipt_date']}），不能作废")
            numbers.void_in(conn, row["kind"], row["institution"], row["year"], row["seq"], reason, on)
            conn.execute("UPDATE notices SET voided = ?, void_reason = ? WHERE kind = ? AND "
                         "institution = ? AND year = ? AND seq = ?",
                         ((on or dt.date.today()).isoformat(), reason, row["kind"], row["institution"],
                          row["year"], row["seq"]))
            _mark_manifest(Path(row["out_dir"]), row["kind"], f"{row['institution']}-{row['year']}-{row['seq']}",
                           {"voided": (on or dt.date.today()).isoformat(), "void_reason": reason})
        return _get(conn, row["kind"], row["institution"], row["year"], row["seq"])
    finally:
        conn.close()
