"""The archivist's operations: filing volumes with 档号, retention (refresh, due, holds),
disposal (draft 销毁清册, two approvals, execution with tombstones) and fixity checks.

Filing a person whose care is still running is allowed (一人一档，动态更新): filing the
same volume again produces a new *version* under the same 档号; the previous version's
hash, page count and filing time stay in the registry (``versions``), and its file is kept
as filed under ``<kind>/versions/`` (``version_rel``); the current version stays at
``<kind>/<档号>.pdf``. A disposal destroys every version's file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from typing import TYPE_CHECKING

from ..errors import DocgenError
from .policy import Policy, Series, load_policy, policy_path
from .purge import NOTICE_TITLES, notice_key
from .store import BOOKKEEPING, Store, now_utc, os_user
from .triggers import Trigger, person_series_kind, person_trigger, year_trigger

if TYPE_CHECKING:  # the record model and forms are loaded only by the commands that need them
    from ..documents.base import Form, Period, Target
    from ..records.load import Dataset
    from ..records.model import Person, Station
from .volumes import Doc, Stamp, assemble, backnote_pdf, fallback_cover_pdf, page_count, toc_pdf

KIND_DIRS = {"personal": "personal", "cultivation": "personal", "annual": "annual", "notices": "notices",
             "disposal": "disposal"}
_KEY_DATE = re.compile(r"/(\d{4}-\d{2}-\d{2})(?:-\d+)?$")
_KEY_EVENT = re.compile(r"/(\d{4}-\d{2}-\d{2}(?:-\d+)?)$")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
# the scheme of content keys ("<scheme>:<hash>"): raised whenever what goes into a key changes, so
# that a key of another scheme is never compared with a new one (the bytes as filed decide instead)
CONTENT_KEY_SCHEME = "2"
# the registry's stable codes as the archivist reads them (plain output; JSON keeps the codes)
KIND_LABELS = {"personal": "照管对象个人档案", "cultivation": "典型培育对象个人档案", "annual": "年度工作档案",
               "notices": "信息对接通知书", "disposal": "档案销毁清册"}
STATUS_LABELS = {"filed": "在库", "disposed": "已销毁", "draft": "草稿（待批准、待执行）", "executed": "已执行",
                 "cancelled": "已撤销"}


def label(code: str | None) -> str | None:
    """The Chinese name of a registry code (kind or status); other values unchanged."""
    return KIND_LABELS.get(code) or STATUS_LABELS.get(code) or code if isinstance(code, str) else code


# docgen.toml [archive]: the retention policy file and the roster of approvers of disposal lists
ROSTER_KEY = "approvers"
ARCHIVE_SETTINGS = {"policy", ROSTER_KEY}

EVENT_FORMS = {"I": "回访", "J": "帮扶", "X4": "报到", "X2": "期满", "X3": "终止"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_rel(kind: str, dh: str, version: int) -> str:
    """Where a superseded version of a volume is kept, relative to the archive root."""
    return f"{KIND_DIRS.get(kind, kind)}/versions/{dh}.v{version}.pdf"


def make_dh(fonds: str, klass: str, year: int, retention: str, org: str, seq: int) -> str:
    """档号 by DA/T 22: 全宗号-门类·年度-保管期限-机构代码-件号."""
    return f"{fonds}-{klass}·{year}-{retention}-{org}-{seq:04d}"


def _why(exc: Exception) -> str:
    from ..records.idcard import mask_ids_in_text

    text = exc.message if isinstance(exc, DocgenError) else f"内部错误 {type(exc).__name__}: {exc}"
    return mask_ids_in_text(text)


def rule_text(series: Series) -> str:
    start = {"closure": "自结案之日（" + "、".join(series.events) + "）起算",
             "cultivation_end": "自典型培育期结束之日起算", "year_end": "自所属年度终了起算",
             "none": ""}[series.trigger]
    return f"本卷为{series.label}，保管期限{series.term_text}{'，' + start if start else ''}（规范 10.3）。"


def parse_date(text: str | None, what: str = "日期") -> dt.date:
    if text is None or str(text).strip() == "":
        return dt.date.today()
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise DocgenError(f"{what}“{text}”格式不对，应写成 2026-11-30") from None


def not_future(day: dt.date, what: str) -> dt.date:
    """Dates that record what has happened (立卷, 鉴定截止, 销毁) cannot lie ahead of today."""
    today = dt.date.today()
    if day > today:
        raise DocgenError(f"{what} {day.isoformat()} 晚于今天（{today.isoformat()}）：档案上的日期只能记载已经发生的事，"
                          "不能预先填写将来的日期")
    return day


def faulty_persons(ds: Dataset | None) -> set[str]:
    """Persons whose record files (own file or event files) carry an error: their dates decide
    no retention term, and none of their volumes is destroyed until the record is put right."""
    if ds is None or not ds.errors:
        return set()
    base = Path(ds.workspace.root) if getattr(ds, "workspace", None) is not None else Path.cwd()
    bad = set()
    for d in ds.errors:
        f = Path(d.file)
        bad.add(os.path.abspath(f if f.is_absolute() else base / f))
    return {pid for pid, files in ds.sources.items() if any(os.path.abspath(f) in bad for f in files)}


class VolumeDisposed(DocgenError):
    """The volume was destroyed: it is never filed again (a monthly run skips it)."""


class NothingToFile(DocgenError):
    """Every document of the volume would be an empty form."""


class NotYetOpened(DocgenError):
    """The person has not been released or has not reported: no file is opened yet (A.4.2)."""


def clean_name(text: str | None, what: str, required: bool = True) -> str:
    """A person's name as typed for a record (立卷人, 检查人): blanks inside collapsed."""
    name = re.sub(r"\s+", " ", str(text or "")).strip()
    if required and not name:
        raise DocgenError(f"须写明{what}姓名：--by 姓名。{what}印在档案上，不能用操作系统账户名代替")
    return name


def name_key(name: str) -> str:
    """Names compared as the same person: without any blanks, case folded (“张 主任” = “张主任”)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name or "")).casefold()


def _blank_text(blank: list) -> str:
    by_form: dict[str, list[str]] = {}
    for d in blank:
        stem, _, rest = d.title.partition("（")
        by_form.setdefault(stem, []).append(rest.rstrip("）"))
    return "；".join(f"{stem}（{'、'.join(x for x in parts if x)}）" if any(parts) else stem
                    for stem, parts in by_form.items())


_ZERO = {"", "0", "0.0", "0.00", "0%", "0.0%", "0.00%", "-", "—", "0‰"}


def _blank_view(view) -> bool:
    """A monthly form with nothing behind it: every table in it (lists of rows or entries) is
    empty or shows only zeros beside its row labels. A view without tables is never blank."""
    tables: list[list] = []

    def walk(v) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                if isinstance(x, list) and k in ("rows", "entries"):
                    tables.append(x)
                else:
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(view)
    if not tables:
        return False
    for rows in tables:
        for row in rows:
            if not isinstance(row, dict):
                return False
            values = list(row.values())[1:]  # the first column names the row (a unit, a number)
            if "no" in row or "name" in row or any(str(x).strip() not in _ZERO for x in values):
                return False
    return True


def _doc_days(doc) -> list[dt.date]:
    out = []
    for text in _ISO_DAY.findall(doc.date or ""):
        try:
            out.append(dt.date.fromisoformat(text))
        except ValueError:
            pass
    return out


def _check_filing_day(as_of: dt.date, docs: list, not_before: tuple[dt.date, str] | None) -> None:
    """A volume is made up after its documents: a 立卷日期 before the latest document (a day
    that has come; a planned day such as a release ahead is not a document's date) is refused."""
    today = dt.date.today()
    latest = None
    for d in docs:
        for day in _doc_days(d):
            if day <= today and (latest is None or day > latest[0]):
                latest = (day, d.title)
    if not_before is not None and not_before[0] <= today and (latest is None or not_before[0] > latest[0]):
        latest = not_before
    if latest is not None and latest[0] > as_of:
        raise DocgenError(f"立卷日期 {as_of.isoformat()} 早于卷内文件的日期 {latest[0].isoformat()}（{latest[1]}）："
                          "立卷只能在文件形成之后，请改正 --as-of")


def _outline_documents(path: Path) -> list[str] | None:
    """The documents a filed volume holds, by its bookmarks (cover, contents … 备考表)."""
    from pypdf import PdfReader

    try:
        titles = [o.title for o in PdfReader(str(path)).outline if not isinstance(o, list)]
    except Exception:  # missing or unreadable: nothing to compare with
        return None
    if len(titles) < 3 or titles[-1] != "卷内备考表":
        return None
    return titles[2:-1]


def _notice_title(n: dict, suffix: str) -> tuple[str, str]:
    """(F or K, the title a volume gives the notice ``n`` of the notice register)."""
    kind = "K" if n.get("kind") in ("K", NOTICE_TITLES["K"]) else "F"
    return kind, f"{NOTICE_TITLES[kind]} {n.get('number')}{suffix}"


@dataclass
class Filed:
    dh: str
    title: str
    path: Path
    pages: int
    version: int
    documents: int
    notes: list[str]
    unchanged: bool = False  # re-filed with identical content: no new version
    warnings: list[str] = field(default_factory=list)  # e.g. the superseded version's file was missing


class Archive:
    def __init__(self, ws, policy: str | os.PathLike | None = None, create: bool = False,
                 forms: dict[str, Form] | None = None):
        """``forms``: the forms to take documents from (default: the form registry)."""
        self.ws = ws
        self._forms = forms
        self.root = Path(ws.archive)
        self._policy_arg = policy
        self._policy: Policy | None = None
        self.store = Store(self.root, create=create)
        self._targets: dict[tuple, list[Target]] = {}
        self._recomputed: dict[int, dict] = {}  # due dates worked out for a reader who cannot record them
        self.held_back: list[tuple] = []  # due volumes the last draft_disposal left out, with why

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            self._policy = load_policy(policy_path(self.ws, self._policy_arg))
        return self._policy

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

    def close(self) -> None:
        self.store.close()

    # ================================================================== lookups

    def item(self, ref: str) -> sqlite3.Row:
        ref = ref.strip()
        row = self.db.execute("SELECT * FROM items WHERE dh = ? OR dh = ?", (ref, ref.replace(".", "·"))).fetchone()
        if row is None and ref.isdigit():
            row = self.db.execute("SELECT * FROM items WHERE id = ?", (int(ref),)).fetchone()
        if row is None:
            raise DocgenError(f"档案库中没有档号为“{ref}”的案卷（docgen archive list 可列出全部档号）")
        return row

    def items(self, status: str | None = None) -> list[sqlite3.Row]:
        sql = "SELECT * FROM items" + (" WHERE status = ?" if status else "") + \
              " ORDER BY fonds, klass, year, retention, org_code, seq"
        return self.db.execute(sql, (status,) if status else ()).fetchall()

    def versions(self, item_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM versions WHERE item_id = ? ORDER BY version", (item_id,)).fetchall()

    def version_file(self, item: sqlite3.Row, v: sqlite3.Row) -> tuple[str | None, str]:
        """(path relative to the root or None, how the version's file is kept) of one version."""
        if item["status"] == "disposed":
            return None, f"文件已随案卷按销毁清册 {item['disposal_list']} 销毁"
        if v["version"] == item["version"]:
            return item["path"], "现行版本"
        path = v["path"] if "path" in v.keys() else None
        if path is None:
            return None, "文件未保留（由旧版 docgen 重新归档时被新版本替换）"
        return path, "旧版本，原样保存"

    def export_version(self, ref: str, version: int | None, out: Path) -> tuple[sqlite3.Row, sqlite3.Row]:
        """Copy the file of one version of a volume (default: the current one) to ``out``,
        after checking it against its registered hash. Reading only: the archive is not changed."""
        from ..fsutil import atomic_write

        with self.store.shared_lock():  # a writer's files are in place only after its commit
            why = self.store.unsettled()
            if why:
                raise DocgenError(why)
            item = self.item(ref)
            rows = {v["version"]: v for v in self.versions(item["id"])}
            n = item["version"] if version is None else version
            v = rows.get(n)
            if v is None:
                have = "、".join(f"第 {k} 版" for k in sorted(rows)) or "无"
                raise DocgenError(f"案卷 {item['dh']} 没有第 {n} 版（登记簿记有：{have}；docgen archive show {item['dh']} 可查看）")
            rel, how = self.version_file(item, v)
            if rel is None:
                raise DocgenError(f"案卷 {item['dh']} 第 {n} 版无法导出：{how}。登记簿只保留其散列值 {v['sha256']} 和页数")
            src = self.root / rel
            if src.is_symlink() or not src.is_file():
                raise DocgenError(f"案卷 {item['dh']} 第 {n} 版的文件 {rel} 缺失（或被换成了符号链接），无法导出；"
                                  "请从备份恢复（docgen archive verify 可查看）")
            data = src.read_bytes()
        if sha256(data) != v["sha256"]:
            raise DocgenError(f"案卷 {item['dh']} 第 {n} 版的文件 {rel} 与登记的散列值不符（被改动或损坏），未导出；"
                              "请从备份恢复（docgen archive verify 可查看）")
        out = Path(out).absolute()
        if out.resolve().is_relative_to(self.root.resolve()):
            raise DocgenError(f"导出的文件 {out} 不能放在档案库 {self.root} 之中（会成为未登记的文件）：请另选位置")
        if out.exists() or out.is_symlink():
            raise DocgenError(f"{out} 已存在，未覆盖：请另选文件名或先移走它")
        atomic_write(out, data)
        return item, v

    # ================================================================== units

    def _fonds(self, ds: Dataset, station_id: str) -> tuple[Station, str, str]:
        st = ds.stations.get(station_id)
        if st is None:
            raise DocgenError(f"没有编号为“{station_id}”的站点记录，无法确定立卷单位")
        chain = ds.station_chain(station_id)
        fonds = next((s.fonds for s in chain if s.fonds), None)
        org = next((s.org_code for s in chain if s.org_code), None)
        if not fonds:
            raise DocgenError(f"站点 {st.id}（{st.display_name}）及其上级站点都没有填写“全宗号”，无法编制档号。"
                              "请在指导站（或本站）的站点记录中填写，如“全宗号: J101”")
        if not org:
            raise DocgenError(f"站点 {st.id}（{st.display_name}）及其上级站点都没有填写“机构代码”，无法编制档号。"
                              "请在站点记录中填写，如“机构代码: XWGZZ”")
        for name, value in (("全宗号", fonds), ("机构代码", org)):
            if not all(ch.isalnum() and ch.isascii() for ch in value):
                raise DocgenError(f"站点 {st.id} 的{name}“{value}”只能由字母和数字组成")
        return st, fonds, org

    def _unit(self, ds: Dataset, unit: str) -> tuple[str, tuple[str, str] | None]:
        """Name and (全宗号, 机构代码) of a unit filing an annual volume: a station (``None``:
        taken from the station chain by ``_fonds``) or a 戒毒所 (its own record's codes)."""
        if unit in ds.stations:
            st, fonds, org = self._fonds(ds, unit)
            return st.display_name, (fonds, org)
        inst = ds.institutions.get(unit)
        if inst is None:
            raise DocgenError(f"没有编号为“{unit}”的站点或戒毒所记录，无法确定立卷单位")
        for name, value, example in (("全宗号", inst.fonds, "J201"), ("机构代码", inst.org_code, "DHJDS")):
            if not value:
                raise DocgenError(f"戒毒所 {inst.id}（{inst.name}）的记录没有填写“{name}”，无法编制档号。"
                                  f"请在戒毒所记录中填写，如“{name}: {example}”")
            if not all(ch.isalnum() and ch.isascii() for ch in value):
                raise DocgenError(f"戒毒所 {inst.id} 的{name}“{value}”只能由字母和数字组成")
        return inst.name, (inst.fonds, inst.org_code)

    # ================================================================== documents

    def _form(self, code: str) -> Form | None:
        if self._forms is not None:
            return self._forms.get(code)
        from ..documents.registry import all_forms

        return all_forms().get(code)

    def _targets_of(self, form: Form, ds: Dataset, period: Period | None, notes: list[str]) -> list[Target]:
        key = (form.code, period.key if period else None)
        if key not in self._targets:
            try:
                self._targets[key] = list(form.targets(ds, period))
            except Exception as exc:  # one faulty form must not stop the filing; the 备考表 says what is missing
                why = _why(exc)
                notes.append(f"表单 {form.code}（{form.name}）{'（' + str(period) + '）' if period else ''}"
                             f"未能生成：{why}")
                self._targets[key] = []
        return self._targets[key]

    def _render(self, form: Form, t: Target, title: str, date: str, notes: list[str]) -> Doc | None:
        try:
            pdf = form.render_pdf(t.view, t.context)
        except Exception as exc:
            why = _why(exc)
            notes.append(f"{title} 未能生成：{why}")
            return None
        return Doc(form.code, title, date, pdf, page_count(pdf), key=content_key(form, t.view))

    def _cover(self, code: str, ds: Dataset, pick, period: Period | None, fallback: tuple) -> tuple[bytes, str]:
        """The volume's cover (PDF, content key): the form's, or a plain one naming the volume."""
        form = self._form(code)
        if form is not None:
            scratch: list[str] = []
            for per in ([period, None] if form.periodic or period else [None]):
                if form.periodic and per is None:
                    continue
                for t in self._targets_of(form, ds, per, scratch):
                    if pick(t):
                        try:
                            return form.render_pdf(t.view, t.context), content_key(form, t.view)
                        except Exception:  # the plain cover below still names the volume
                            break
        return _fallback_cover(fallback)

    @staticmethod
    def _event_dates(person: Person, kind: str) -> str:
        days = sorted(e.date for e in person.events if e.kind == kind)
        if not days:
            return ""
        return days[0].isoformat() if days[0] == days[-1] else f"{days[0].isoformat()}至{days[-1].isoformat()}"

    def _person_date(self, code: str, person: Person, t: Target) -> str:
        m = _KEY_DATE.search(t.key)
        if m:  # one document per event: its key carries the event date
            return m[1]
        if code in EVENT_FORMS:
            return self._event_dates(person, EVENT_FORMS[code])
        if code == "E" and person.agreement:
            return person.agreement.signed.isoformat()
        if code == "V" and person.cultivation:
            return person.cultivation.signed.isoformat()
        if code == "D":
            return person.detention.release.isoformat()
        return t.period or ""

    def person_documents(self, ds: Dataset, person: Person, series: Series) -> tuple[list[Doc], list[str]]:
        docs: list[Doc] = []
        notes: list[str] = []
        for code in series.contents:
            form = self._form(code)
            if form is None or form.periodic:
                continue
            mine = [t for t in self._targets_of(form, ds, None, notes) if t.person == person.id]
            for i, t in enumerate(mine, start=1):
                date = self._person_date(code, person, t)
                title = form.name + (f"（{date or i}）" if len(mine) > 1 else "")
                doc = self._render(form, t, title, date, notes)
                if doc:
                    m = _KEY_EVENT.search(t.key)  # one document per event: the event's day names it
                    doc.ident = f"{form.name}（{m[1]}）" if m else form.name
                    docs.append(doc)
        return docs, notes

    def annual_documents(self, ds: Dataset, station: str, year: int, series: Series,
                         as_of: dt.date) -> tuple[list[Doc], list[str]]:
        """The ledgers of a station, or of a 戒毒所 (``series.institution_contents``), for the
        year up to ``as_of``, by category then month. A monthly form without any underlying
        record (no log entries, an empty roster, only zero counts) comes back marked ``blank``."""
        from ..documents.base import Period

        docs: list[Doc] = []
        notes: list[str] = []
        institution = station in ds.institutions and station not in ds.stations
        months = [Period(year, month=m) for m in range(1, 13) if Period(year, month=m).first_day <= as_of]
        for code in (series.institution_contents if institution else series.contents):  # 10.3
            if institution and code in ("F", "K"):  # the institution's copies of the notices it sent
                docs.extend(self._notice_docs(self._notices(station, code, str(year), as_of), ""))
                continue
            form = self._form(code)
            if form is None:
                continue
            periods = months if form.periodic else [None]
            for per in periods:
                for t in self._targets_of(form, ds, per, notes):
                    if t.unit != station:
                        continue
                    if per is None and t.period and not t.period.startswith(str(year)):
                        continue
                    person = ds.persons.get(t.person) if t.person else None
                    if person is not None:  # a document about one person (H): of the year of the release
                        day = person.detention.release
                        if day.year != year:
                            continue
                        title = f"{form.name}（{person.name}）"
                        doc = self._render(form, t, title, day.isoformat(), notes)
                        if doc:
                            doc.ident = f"{form.name}（{t.person}）"
                            docs.append(doc)
                        continue
                    shown = t.period if t.period and (per is None or t.period != per.key) else None
                    label = str(Period.parse(shown)) if shown else (str(per) if per else "")
                    title = f"{form.name}（{label}）" if label else form.name
                    date = shown or (per.key if per else "")
                    if per is not None and _blank_view(t.view):
                        docs.append(Doc(form.code, title, date, b"", 0, ident=title, blank=True))
                        continue
                    doc = self._render(form, t, title, date, notes)
                    if doc:
                        doc.ident = title
                        docs.append(doc)
        return docs, notes

    def _notices(self, institution: str, kind: str, when: str, as_of: dt.date | None = None) -> list[dict]:
        """Issued, not voided notices of an institution of one kind, sent in ``when`` (a year or
        a month: the start of ``month``), by number."""
        try:
            from ..registry.notices import list_notices
        except ImportError:
            raise DocgenError("通知书登记簿（docgen.registry.notices）不可用，无法归档通知书") from None
        out = [n for n in list_notices(self.ws.data)
               if n.get("kind") in (kind, NOTICE_TITLES[kind]) and n.get("institution") == institution
               and str(n.get("month") or "").startswith(when) and not n.get("voided")
               and (as_of is None or str(n.get("issued") or "")[:10] <= as_of.isoformat())]
        return sorted(out, key=lambda n: str(n.get("number")))

    def _notice_docs(self, notices: list[dict], suffix: str) -> list[Doc]:
        docs = []
        for n in notices:
            if n.get("redacted"):  # its notice volume was destroyed: the volume says so instead
                docs.append(self._destroyed_notice(n, suffix))
                continue
            rel = n.get("pdf")
            path = Path(n.get("out_dir") or self.ws.output) / str(rel or "")
            if not rel or not path.is_file():
                raise DocgenError(f"通知书 {n.get('number')} 的 PDF 不见了（{path}）；请先重新生成通知书")
            data = path.read_bytes()
            note = "已回执" if n.get("receipt") else "未回执"
            # an issued notice is what its register entry says (where its PDF lies is not)
            issued = _hash_json({k: v for k, v in n.items() if k not in ("pdf", "docx", "out_dir")})
            kind, title = _notice_title(n, suffix)
            docs.append(Doc(kind, title, str(n.get("issued") or ""), data, page_count(data), note, key=issued,
                            ident=title))
        return docs

    def _destroyed_notice(self, n: dict, suffix: str) -> Doc:
        """A notice whose notice volume (TZ) was destroyed and whose personal data the notice
        register no longer holds: not in the volume, named with the volume and the 销毁清册."""
        kind, title = _notice_title(n, suffix)
        row = self.db.execute("SELECT dh FROM items WHERE key = ?", (notice_key(n),)).fetchone()
        volume = f"通知书卷 {row['dh']} " if row is not None else "所在通知书卷"
        why = (f"已随{volume}按销毁清册 {n.get('redacted_list') or '（未记清册编号）'} 销毁，"
               f"{n.get('redacted')} 清除了通知书登记簿中的人员和内容")
        return Doc(kind, title, str(n.get("issued") or ""), b"", 0, ident=title, gone=why)

    # ================================================================== filing

    def _file(self, *, ds: Dataset, key: str, kind: str, subject: str, station: str, period: str | None,
              title: str, year: int, trigger: Trigger, heading: str, docs_fn, cover_fn, by: str | None,
              checker: str, as_of: dt.date, extra_notes: list[str] | None = None,
              fonds_org: tuple[str, str] | None = None, drop_reason: str | None = None,
              not_before: tuple[dt.date, str] | None = None) -> Filed:
        not_future(as_of, "立卷日期")
        by = clean_name(by, "立卷人")
        checker = clean_name(checker, "检查人", required=False)
        if checker and name_key(checker) == name_key(by):
            raise DocgenError(f"检查人“{checker}”与立卷人“{by}”是同一人：检查人须由立卷人以外的人担任")
        drop_reason = (drop_reason or "").strip() or None
        series = self.policy.get(kind)
        if fonds_org is None:
            _, fonds, org = self._fonds(ds, station)
        else:
            fonds, org = fonds_org
        disposed = self.db.execute("SELECT dh, disposed_at, disposal_list FROM items WHERE key = ? AND "
                                   "status = 'disposed'", (key,)).fetchone()
        if disposed is not None:  # before the documents are drawn: nothing to do
            raise VolumeDisposed(f"{title} 的案卷 {disposed['dh']} 已于 {disposed['disposed_at'][:10]} 按销毁清册 "
                                 f"{disposed['disposal_list']} 销毁，不能再归档到同一档号")
        docs, notes = docs_fn()  # rendered before taking the lock: other writers wait only for the numbering
        gone = [d for d in docs if d.gone]  # destroyed with another volume: named, not silently missing
        blank = [d for d in docs if d.blank and not d.gone]
        docs = [d for d in docs if not d.blank and not d.gone]
        if gone and not docs:
            raise NothingToFile(f"{title}：卷内只会有已按销毁清册销毁的文件（{'；'.join(f'{d.title}：{d.gone}' for d in gone)}），"
                                "没有可归档的文件，未归档（已归档的版本保持不变）")
        if gone:
            notes.append("下列文件已按销毁清册销毁，本卷不再收入：" + "；".join(f"{d.title}（{d.gone}）" for d in gone) + "。")
        if blank and not docs:
            raise NothingToFile(f"{title}：卷内只会有空表（{_blank_text(blank)} 都没有记录），未归档；"
                                "有了记录之后再归档")
        if blank:
            notes.append(f"下列台帐当月没有记录，未附空表：{_blank_text(blank)}。")
        _check_filing_day(as_of, docs, not_before)
        cover, cover_key = cover_fn()
        with self.store.action(by) as act:
            old = act.db.execute("SELECT * FROM items WHERE key = ?", (key,)).fetchone()
            if old is not None and old["status"] == "disposed":
                raise VolumeDisposed(f"{title} 的案卷 {old['dh']} 已于 {old['disposed_at'][:10]} 按销毁清册 "
                                     f"{old['disposal_list']} 销毁，不能再归档到同一档号")
            if old is not None:
                dh, seq, version = old["dh"], old["seq"], old["version"] + 1
                fonds, org, year = old["fonds"], old["org_code"], old["year"]
                klass, retention = old["klass"], old["retention"]
            else:
                klass, retention = series.klass, series.retention
                row = act.db.execute("SELECT last_seq FROM series WHERE fonds=? AND klass=? AND year=? AND "
                                     "retention=? AND org_code=?", (fonds, klass, year, retention, org)).fetchone()
                seq = (row[0] if row else 0) + 1
                act.db.execute("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                               "last_seq = excluded.last_seq", (fonds, klass, year, retention, org, seq))
                dh, version = make_dh(fonds, klass, year, retention, org, seq), 1
            notes = [rule_text(series)] + list(extra_notes or []) + notes
            dropped: list[str] = []
            if old is not None:  # a filed document is never dropped silently (动态更新 adds, it does not remove)
                dropped = self._dropped(old, docs, blank + gone)
                if dropped and not drop_reason:
                    raise DocgenError(
                        f"{title}：按当前记录重新归档，将从案卷 {old['dh']} 中去除现行第 {old['version']} 版已归档的"
                        f"下列文件：\n  " + "\n  ".join(dropped) + "\n已归档的文件不能经重新归档悄悄去除。"
                        "如是记录误删，请恢复记录；确需去除时，由档案员核实后加 --drop-reason 理由 重新归档"
                        "（理由和去除的文件写在备考表和审计日志中）")
                if dropped:
                    notes.append(f"本版不再收录第 {old['version']} 版中的下列文件：{'、'.join(dropped)}。"
                                 f"理由：{drop_reason}（{by}）。")
            if not docs:
                failed = [n for n in notes if "未能生成" in n]
                codes = " ".join(series.contents)
                raise DocgenError(f"{title}：没有可归档的文件（卷内文件取表单 {codes}，"
                                  f"{'；'.join(failed) if failed else '这些表单未提供或没有该对象、该期间的文书'}）")
            by_name = act.who
            filed_on = f"{as_of.year}年{as_of.month}月{as_of.day}日"
            toc = toc_pdf(dh, heading, docs)
            rel = f"{KIND_DIRS[kind]}/{dh}.pdf"

            def build(v: int, filed_on: str = filed_on, by_name: str = by_name, checker: str = checker) -> bytes:
                vnotes = list(notes)
                if v > 1:
                    prev = act.db.execute("SELECT v.filed_on FROM versions v JOIN items i ON i.id = v.item_id "
                                          "WHERE i.key = ? AND v.version = ?", (key, v - 1)).fetchone()
                    vnotes.insert(0, f"本卷为第 {v} 版（动态更新），取代 {prev[0] if prev else ''} 立卷的第 {v - 1} 版；"
                                     "历次版本的散列值和页数记于档案登记簿。")
                back = backnote_pdf(dh, docs, vnotes, by_name, checker, filed_on)
                return assemble(title, cover, toc, docs, back, Stamp(fonds, year, seq, org, retention, 0, dh))

            # what the volume says: its documents (form and data), cover and notes -- not how
            # docgen happens to encode them, nor who files it on which day
            ckey = f"{CONTENT_KEY_SCHEME}:" + _hash_json(
                [title, heading, [[d.code, d.title, d.date, d.note, d.key] for d in docs], cover_key, notes])
            if old is not None and (self.root / rel).is_file():
                keyed = (old["content_key"] or "").startswith(f"{CONTENT_KEY_SCHEME}:")
                if keyed:
                    unchanged = old["content_key"] == ckey
                else:  # filed before content keys were kept, or keyed otherwise: the bytes tell, as filed then
                    was = dt.date.fromisoformat(old["filed_on"])

                    def as_filed(chk: str) -> bool:
                        return sha256(build(old["version"], f"{was.year}年{was.month}月{was.day}日",
                                            old["filed_by"], chk)) == old["sha256"]

                    unchanged = as_filed(checker)
                    if not unchanged:  # the registry does not keep the checker: the filed 备考表 names it
                        was_checker = _filed_checker(self.root / rel)
                        unchanged = was_checker is not None and was_checker != checker and as_filed(was_checker)
                if unchanged:  # nothing changed since the current version
                    if not keyed:  # from now on the key decides: a later docgen may encode the same volume otherwise
                        act.db.execute("UPDATE items SET content_key = ? WHERE id = ?", (ckey, old["id"]))
                        act.db.execute("UPDATE versions SET content_key = ? WHERE item_id = ? AND version = ?",
                                       (ckey, old["id"], old["version"]))
                        act.log("登记内容散列", dh, {"版本": old["version"], "内容散列": old["content_key"]},
                                {"版本": old["version"], "内容散列": ckey},
                                note="现行版本与按当前记录重新生成的案卷逐字节相同；此后按内容散列判断是否需要新版本")
                    damaged = []  # no new version to supersede it, but the archivist hears of it now
                    if (self.root / rel).is_symlink() or sha256((self.root / rel).read_bytes()) != old["sha256"]:
                        damaged = [f"{dh} 现行第 {old['version']} 版的文件 {rel} 与登记的散列值不符（被改动、损坏或被换成了"
                                   "符号链接）。记录没有变化，未建新版本；请从备份恢复该文件（docgen archive verify 可查看）"]
                    return Filed(dh, title, self.root / rel, old["pages"], old["version"], len(docs), notes,
                                 unchanged=True, warnings=damaged)
            kept, warnings = self._keep_superseded(act, old, title) if old is not None else (None, [])
            pdf = build(version)
            pages = page_count(pdf)
            digest = sha256(pdf)
            due = series.due(trigger.date)
            now = now_utc()
            values = dict(kind=kind, subject=subject, unit=station, period=period, title=title, version=version,
                          path=rel, sha256=digest, content_key=ckey, pages=pages, filed_at=now,
                          filed_on=as_of.isoformat(), filed_by=by_name,
                          trigger_date=trigger.date.isoformat() if trigger.date else None,
                          trigger_reason=trigger.reason, due_date=due.isoformat() if due else None)
            if old is None:
                cols = dict(dh=dh, key=key, fonds=fonds, klass=klass, year=year, retention=retention,
                            org_code=org, seq=seq, status="filed", **values)
                act.db.execute(f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                               tuple(cols.values()))
                item_id = act.db.execute("SELECT id FROM items WHERE dh = ?", (dh,)).fetchone()[0]
                act.log("归档", dh, None, {"题名": title, "版本": 1, "页数": pages, "sha256": digest,
                                          "内容散列": ckey, "检查人": checker or None,
                                          "起算日": values["trigger_date"], "到期日": values["due_date"],
                                          "起算事由": trigger.reason, "卷内文件": [d.name for d in docs],
                                          **({"已销毁未收入": [d.name for d in gone]} if gone else {})})
            else:
                item_id = old["id"]
                act.db.execute("UPDATE versions SET superseded_at = ?, path = ? WHERE item_id = ? AND version = ?",
                               (now, kept, item_id, old["version"]))
                act.db.execute(f"UPDATE items SET {', '.join(k + ' = ?' for k in values)} WHERE id = ?",
                               (*values.values(), item_id))
                act.log("重新归档", dh,
                        {"版本": old["version"], "页数": old["pages"], "sha256": old["sha256"],
                         "内容散列": old["content_key"], "到期日": old["due_date"]},
                        {"版本": version, "页数": pages, "sha256": digest, "内容散列": ckey,
                         "检查人": checker or None, "到期日": values["due_date"], "起算事由": trigger.reason,
                         "卷内文件": [d.name for d in docs], "旧版文件": kept,
                         **({"已销毁未收入": [d.name for d in gone]} if gone else {}),
                         **({"旧版文件状态": "缺失"} if warnings else {}),
                         **({"去除文件": dropped, "去除理由": drop_reason} if dropped else {})})
            act.db.execute("INSERT INTO versions (item_id, version, sha256, pages, filed_at, filed_on, filed_by, "
                           "content_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (item_id, version, digest, pages, now, as_of.isoformat(), by_name, ckey))
            act.write(rel, pdf)
        return Filed(dh, title, self.root / rel, pages, version, len(docs), notes, warnings=warnings)

    def _keep_superseded(self, act, old: sqlite3.Row, title: str) -> tuple[str, list[str]]:
        """Stage the current version's file, as filed, at its version path (``version_rel``) in
        the change that supersedes it: (that path, warnings). The copy goes into place with the
        new version after the commit (``Store``'s journal), so no crash loses either. A current
        file that no longer matches its registered hash is not passed off as the filed original:
        the filing is refused until it is restored. A missing one is recorded as kept at its path
        (``verify`` reports it missing until it is restored there from a backup)."""
        dh, v = old["dh"], old["version"]
        vrel = version_rel(old["kind"], dh, v)
        cur = self.root / (old["path"] or f"{KIND_DIRS.get(old['kind'], old['kind'])}/{dh}.pdf")
        shown = cur.relative_to(self.root).as_posix()
        if (self.root / vrel).exists() or (self.root / vrel).is_symlink():
            raise DocgenError(f"{title}：档案库中已有 {vrel}（未登记的文件），现行第 {v} 版被取代后要保存在这里。"
                              "请核实该文件的来历并移出档案库后再重新归档（docgen archive verify 可查看）")
        if cur.is_symlink() or (cur.exists() and not cur.is_file()):
            raise DocgenError(f"{title}：现行第 {v} 版的文件 {shown} 不是普通文件（被换成了符号链接或目录）。"
                              "重新归档会把它作为旧版本保存：请先从备份恢复该文件（docgen archive verify 可查看），再重新归档")
        if not cur.is_file():
            return vrel, [f"{dh} 现行第 {v} 版的文件 {shown} 不在档案库中，未能作为旧版本保存；登记簿记其位置为 {vrel}，"
                          "docgen archive verify 会报告缺失，请从备份恢复到该位置"]
        data = cur.read_bytes()
        if sha256(data) != old["sha256"]:
            raise DocgenError(f"{title}：现行第 {v} 版的文件 {shown} 与登记的散列值不符（被改动或损坏）。"
                              "重新归档会把它作为旧版本原样保存，被改动的内容不能充当归档时的原件：请先从备份恢复该文件"
                              "（docgen archive verify 可查看），再重新归档")
        act.write(vrel, data)
        return vrel, []

    def persons_of(self, dhs: list[str]) -> list[str]:
        """The persons whose personal volumes these are (e.g. those just destroyed)."""
        if not dhs:
            return []
        rows = self.db.execute(f"SELECT subject FROM items WHERE dh IN ({', '.join('?' * len(dhs))}) AND kind IN "
                               "('personal', 'cultivation') ORDER BY subject", tuple(dhs)).fetchall()
        return [r["subject"] for r in rows]

    def _dropped(self, old: sqlite3.Row, docs: list[Doc], blank: list[Doc]) -> list[str]:
        """The documents of the current version that the new one would no longer hold. The
        audit log lists each version's documents; a volume filed before it did is compared by
        the documents named in its PDF's bookmarks, counted per form."""
        listed = None
        for e in reversed(self.store.audit_entries()):
            if e.get("target") == old["dh"] and e.get("action") in ("归档", "重新归档"):
                after = e.get("after") if isinstance(e.get("after"), dict) else {}
                listed = after.get("卷内文件")
                break
        if isinstance(listed, list):
            have = [d.name for d in docs] + [d.name for d in blank]
            missing = []
            for name in listed:
                if name in have:
                    have.remove(name)
                else:
                    missing.append(str(name))
            return missing
        titles = _outline_documents(self.root / old["path"]) if old["path"] else None
        if not titles:
            return []
        count: dict[str, int] = {}
        for t in titles:
            stem = t.split("（")[0]
            count[stem] = count.get(stem, 0) + 1
        now: dict[str, int] = {}
        for d in docs + blank:
            stem = d.title.split("（")[0]
            now[stem] = now.get(stem, 0) + 1
        return [f"{stem}（现行版 {n} 件，本次 {now.get(stem, 0)} 件）" for stem, n in count.items()
                if now.get(stem, 0) < n]

    @staticmethod
    def not_opened(person: Person, as_of: dt.date) -> str | None:
        """Why no personal file is opened for this person yet (A.4.2: the file is opened after
        the report and first talk): not released by ``as_of``, or released without a report and
        without a closure. ``None`` when a file may be opened."""
        from ..model.care import report_date
        from .policy import CLOSURE_EVENTS

        release = person.detention.release
        if release > as_of:
            return f"出所时间 {release.isoformat()} 在立卷日期 {as_of.isoformat()} 之后，尚未出所"
        reported = report_date(person)
        if reported is None and not any(e.kind in CLOSURE_EVENTS for e in person.events):
            return f"{release.isoformat()} 出所后尚未报到（没有报到事件）"
        if reported is not None and reported > as_of:
            return f"报到日期 {reported.isoformat()} 在立卷日期 {as_of.isoformat()} 之后"
        return None

    def file_person(self, ds: Dataset, pid: str, by: str | None, checker: str = "",
                    as_of: dt.date | None = None, force: bool = False,
                    drop_reason: str | None = None) -> Filed:
        """``force``: open the file of a person not yet released or reported (A.4.2 opens it
        after the report); ``drop_reason``: why documents of the current version are dropped."""
        as_of = as_of or dt.date.today()
        person = ds.persons.get(pid)
        if person is None:
            raise DocgenError(f"没有编号为“{pid}”的照管对象（或其记录有错误，请先运行 docgen validate）")
        why = self.not_opened(person, as_of)
        if why and not force and not self.db.execute("SELECT 1 FROM items WHERE key = ?", (f"person:{pid}",)).fetchone():
            raise NotYetOpened(f"照管对象 {pid}（{person.name}）{why}：个人档案在报到、首次谈话后建立（规范 A.4.2），"
                               "暂不归档；确需提前建档时加 --force")
        kind = person_series_kind(person)
        series = self.policy.get(kind)
        trigger = person_trigger(series, person)
        station = person.station
        unit_name = ds.stations[station].display_name if station in ds.stations else station
        mentor = ""
        if person.cultivation is not None:
            mentor = person.cultivation.mentor or ""
            cu = person.cultivation.unit
            if cu in ds.stations:  # 谁培育、谁建档
                station = cu
                unit_name = ds.stations[cu].display_name
            elif cu in ds.institutions:
                unit_name = ds.institutions[cu].name
        label = "典型培育对象个人档案" if kind == "cultivation" else "后续照管对象个人档案"
        title = f"{person.name}（{pid}）{label}"
        existing = self.db.execute("SELECT year FROM items WHERE key = ?", (f"person:{pid}",)).fetchone()
        from ..model.care import report_date

        # the file is opened in the year of the report (报到), or of the release when there is
        # none (as cover U prints it); never the year of the 立卷日期
        reported = report_date(person)
        opened = reported or person.detention.release
        year = existing[0] if existing else opened.year
        fallback = ("后续照管（戒毒典型培育）对象个人档案", "",
                    [("照管（培育）对象", person.name), ("培育人", mentor)], unit_name, f"{year}年")
        return self._file(
            ds=ds, key=f"person:{pid}", kind=kind, subject=pid, station=station, period=None, title=title,
            year=year, trigger=trigger, heading=f"{person.name}　{label}　{unit_name}",
            docs_fn=lambda: self.person_documents(ds, person, series),
            cover_fn=lambda: self._cover("U", ds, lambda t: t.person == pid, None, fallback),
            by=by, checker=checker, as_of=as_of, drop_reason=drop_reason,
            not_before=(reported, f"{reported.isoformat()} 报到") if reported else None)

    def file_annual(self, ds: Dataset, station: str, year: int, by: str | None, checker: str = "",
                    as_of: dt.date | None = None, drop_reason: str | None = None) -> Filed:
        from ..documents.base import Period

        as_of = as_of or dt.date.today()
        unit_name, fonds_org = self._unit(ds, station)
        if dt.date(year, 1, 1) > as_of:
            raise DocgenError(f"{year}年度尚未开始，不能归档该年度的工作档案")
        series = self.policy.get("annual")
        title = f"{unit_name}{year}年度后续照管工作档案"
        notes = []
        if as_of < dt.date(year, 12, 31):
            notes.append(f"{year}年度尚未结束，本卷收至 {as_of.year}年{as_of.month}月；年度结束后应重新归档。")
        fallback = ("后续照管工作档案", f"（{year}）", [], unit_name, f"{year}年")
        return self._file(
            ds=ds, key=f"annual:{station}:{year}", kind="annual", subject=station, station=station,
            period=str(year), title=title, year=year, trigger=year_trigger(series, year),
            heading=f"{unit_name}　{year}年度台帐", extra_notes=notes, fonds_org=fonds_org,
            docs_fn=lambda: self.annual_documents(ds, station, year, series, as_of),
            cover_fn=lambda: self._cover("W", ds, lambda t: t.unit == station and (t.period or str(year)).startswith(str(year)),
                                         Period(year), fallback),
            by=by, checker=checker, as_of=as_of, drop_reason=drop_reason)

    def file_notices(self, ds: Dataset, institution: str, month: str, by: str | None, checker: str = "",
                     as_of: dt.date | None = None, drop_reason: str | None = None) -> list[Filed]:
        from ..documents.base import Period

        as_of = as_of or dt.date.today()
        period = Period.parse(month)
        if not period.month:
            raise DocgenError(f"通知书按月装订：--month 应写成 2026-11 这样的年月，而不是“{month}”")
        inst = ds.institutions.get(institution)
        if inst is None:
            raise DocgenError(f"没有编号为“{institution}”的戒毒所记录")
        series = self.policy.get("notices")
        notices = [n for kind in ("F", "K") if kind in series.contents
                   for n in self._notices(institution, kind, period.key)]
        if not notices:
            raise DocgenError(f"通知书登记簿中没有 {inst.name} {period} 寄送的有效（未作废）信息对接通知书"
                              "（预解戒人员 F、典型培育对象 K）")
        by_station: dict[str, list[dict]] = {}
        for n in notices:
            by_station.setdefault(str(n.get("station") or ""), []).append(n)
        filed = []
        for station, group in sorted(by_station.items()):
            st, _, _ = self._fonds(ds, station)
            group.sort(key=lambda n: (0 if n.get("kind") in ("F", "预解戒人员信息对接通知书") else 1,
                                      str(n.get("number"))))
            with_k = any(n.get("kind") not in ("F", "预解戒人员信息对接通知书") for n in group)
            name = "信息对接通知书" if with_k else "预解戒人员信息对接通知书"

            def docs_fn(group=group):
                docs, notes = self._notice_docs(group, ""), []
                form = self._form("M")
                if form is not None and "M" in series.contents:
                    for t in self._targets_of(form, ds, period if form.periodic else None, notes):
                        if t.unit == institution and (not t.period or t.period == period.key):
                            doc = self._render(form, t, f"{form.name}（{period}）", period.key, notes)
                            if doc:
                                doc.ident = doc.title
                                docs.append(doc)
                return docs, notes

            fallback = (name, f"（{inst.name}　{period}）", [], st.display_name, f"{period.year}年")
            filed.append(self._file(
                ds=ds, key=f"notices:{institution}:{station}:{period.key}", kind="notices", subject=institution,
                station=station, period=period.key, title=f"{inst.name}{period}{name}",
                year=period.year, trigger=year_trigger(series, period.year),
                heading=f"寄送单位：{inst.name}　月份：{period}", docs_fn=docs_fn,
                cover_fn=lambda fb=fallback: _fallback_cover(fb), by=by, checker=checker, as_of=as_of,
                drop_reason=drop_reason))
        return filed

    # ================================================================== retention

    def _expected(self, ds: Dataset | None, row: sqlite3.Row) -> tuple[str, Trigger] | None:
        kind = row["kind"]
        if kind in ("personal", "cultivation"):
            person = ds.persons.get(row["subject"]) if ds else None
            if person is None:
                return None
            kind = person_series_kind(person)
            return kind, person_trigger(self.policy.get(kind), person)
        if kind in ("annual", "notices"):
            return kind, year_trigger(self.policy.get(kind), int(str(row["period"])[:4]))
        return kind, Trigger(None, "永久保管")

    def refresh(self, ds: Dataset | None, by: str | None, readonly_ok: bool = False) -> list[dict]:
        """Recompute triggers and due dates from the current records and policy.

        ``readonly_ok``: for an account that cannot write the archive, work the dates out
        without recording them (``due`` then lists by them); otherwise such an account is refused."""
        if readonly_ok and not self.store.writable:
            return self._refresh(ds, None)
        with self.store.action(by) as act:
            return self._refresh(ds, act)

    def _refresh(self, ds: Dataset | None, act) -> list[dict]:
        changes = []
        faulty = faulty_persons(ds)
        for row in self.db.execute("SELECT * FROM items WHERE status = 'filed'").fetchall():
            if row["kind"] in ("personal", "cultivation") and row["subject"] in faulty:
                continue  # a record with errors moves no due date
            exp = self._expected(ds, row)
            if exp is None:
                continue
            kind, trig = exp
            due = self.policy.get(kind).due(trig.date)
            new = (kind, trig.date.isoformat() if trig.date else None, due.isoformat() if due else None)
            old = (row["kind"], row["trigger_date"], row["due_date"])
            if new == old and trig.reason == row["trigger_reason"]:
                continue
            why = trig.reason if trig.reason != row["trigger_reason"] else "保管策略改变"
            if act is None:
                self._recomputed[row["id"]] = {"kind": new[0], "trigger_date": new[1], "due_date": new[2],
                                               "trigger_reason": trig.reason}
            else:
                act.db.execute("UPDATE items SET kind=?, trigger_date=?, due_date=?, trigger_reason=? WHERE id=?",
                               (*new, trig.reason, row["id"]))
                before = {"类别": old[0], "起算日": old[1], "到期日": old[2], "起算事由": row["trigger_reason"]}
                after = {"类别": new[0], "起算日": new[1], "到期日": new[2], "起算事由": trig.reason}
                act.log("重算保管期限", row["dh"], before, after, note=why)
            changes.append({"dh": row["dh"], "title": row["title"], "before": old[2], "after": new[2],
                            "reason": why})
        return changes

    def due(self, as_of: dt.date) -> list:
        if self._recomputed:  # a reader's due dates, worked out but not recorded
            rows = [{**dict(r), **self._recomputed.get(r["id"], {})}
                    for r in self.db.execute("SELECT * FROM items WHERE status = 'filed'").fetchall()]
            return sorted((r for r in rows if r["due_date"] and r["due_date"] <= as_of.isoformat()),
                          key=lambda r: (r["due_date"], r["dh"]))
        return self.db.execute("SELECT * FROM items WHERE status = 'filed' AND due_date IS NOT NULL "
                               "AND due_date <= ? ORDER BY due_date, dh", (as_of.isoformat(),)).fetchall()

    def undetermined(self, ds: Dataset | None, as_of: dt.date) -> list[tuple[sqlite3.Row, str]]:
        """Personal volumes whose due date stays 未定 although their term should have started by
        ``as_of`` (today at the latest): the care period (or the cultivation) is over, but no 期满, 终止 or 死亡 was
        recorded. Such a volume is never listed as due until the event is entered."""
        if ds is None:
            return []
        from ..model.care import care_period
        from .triggers import cultivation_end

        as_of = min(as_of, dt.date.today())  # a look ahead cannot know what will be recorded by then
        out = []
        for r in self.db.execute("SELECT * FROM items WHERE status = 'filed' AND kind IN ('personal', "
                                 "'cultivation') ORDER BY dh").fetchall():
            due = self._recomputed.get(r["id"], {}).get("due_date", r["due_date"])
            person = ds.persons.get(r["subject"])
            if due is not None or person is None:
                continue
            if person.cultivation is not None:
                end = cultivation_end(person)
                if end.date is not None and end.date < as_of:
                    out.append((r, f"培育期已结束（{end.reason}），照管却没有期满、终止或死亡事件"))
                continue
            period = care_period(person)
            if period.end is not None and period.end < as_of:
                out.append((r, f"照管期限已于 {period.end.isoformat()} 届满，记录中却没有期满、终止或死亡事件"))
        return out

    def hold(self, ref: str, reason: str, by: str | None) -> sqlite3.Row:
        if not reason or not reason.strip():
            raise DocgenError("保全（暂停销毁）须说明理由：--reason 理由")
        with self.store.action(by) as act:
            row = self.item(ref)
            if row["status"] != "filed":
                raise DocgenError(f"案卷 {row['dh']} 已销毁，不能保全")
            if row["hold_reason"]:
                raise DocgenError(f"案卷 {row['dh']} 已在保全中（理由：{row['hold_reason']}）")
            act.db.execute("UPDATE items SET hold_reason=?, held_by=?, held_at=? WHERE id=?",
                           (reason.strip(), act.who, now_utc(), row["id"]))
            act.log("保全", row["dh"], {"保全": None}, {"保全": reason.strip()})
        return self.item(row["dh"])

    def release(self, ref: str, by: str | None) -> sqlite3.Row:
        with self.store.action(by) as act:
            row = self.item(ref)
            if not row["hold_reason"]:
                raise DocgenError(f"案卷 {row['dh']} 没有保全，无需解除")
            act.db.execute("UPDATE items SET hold_reason=NULL, held_by=NULL, held_at=NULL WHERE id=?", (row["id"],))
            act.log("解除保全", row["dh"], {"保全": row["hold_reason"]}, {"保全": None})
        return self.item(row["dh"])

    # ================================================================== disposal

    def _list(self, number: str) -> sqlite3.Row:
        row = self.db.execute("SELECT * FROM lists WHERE number = ?", (number.strip(),)).fetchone()
        if row is None:
            raise DocgenError(f"没有编号为“{number}”的销毁清册（docgen archive lists 可列出全部清册）")
        return row

    def lists(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM lists ORDER BY number").fetchall()

    def approvals(self, number: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM approvals WHERE number = ? ORDER BY approved_at, approver",
                               (number,)).fetchall()

    def roster(self) -> list[str] | None:
        """The authorised approvers of disposal lists (``docgen.toml`` ``[archive] approvers``),
        as written; ``None`` when no roster is configured (any name other than the 编制人's)."""
        from ..workspace import CONFIG_NAME
        from .ledger import norm_name

        section = getattr(self.ws, "settings", {}).get("archive", {})
        where = f"{Path(getattr(self.ws, 'root', '.')) / CONFIG_NAME} [archive]"
        if not isinstance(section, dict):
            raise DocgenError(f"{where} 应为一节配置（[archive]），而不是单个值")
        unknown = sorted(set(section) - ARCHIVE_SETTINGS)
        if unknown:  # a misspelt roster key must not silently leave approvals open to anyone
            raise DocgenError(f"{where} 中有未知的项目：{'、'.join(unknown)}（可用的项目：{'、'.join(sorted(ARCHIVE_SETTINGS))}；"
                              f"审批人名单写作 {ROSTER_KEY} = [\"张主任\", \"李局长\"]）")
        if ROSTER_KEY not in section:
            return None
        names = section[ROSTER_KEY]
        example = f"{ROSTER_KEY} = [\"张主任\", \"李局长\"]"
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise DocgenError(f"{where} {ROSTER_KEY}（审批人名单）应为姓名的列表，如 {example}")
        cleaned = [re.sub(r"\s+", " ", n).strip() for n in names]
        if not cleaned or any(not norm_name(n) for n in cleaned):
            raise DocgenError(f"{where} {ROSTER_KEY}（审批人名单）{'是空的' if not cleaned else '中有空白的姓名'}："
                              f"写明有权批准销毁的人，如 {example}；不限定审批人时删除此项")
        seen: dict[str, str] = {}
        for n in cleaned:
            if norm_name(n) in seen:
                raise DocgenError(f"{where} {ROSTER_KEY}（审批人名单）中“{seen[norm_name(n)]}”与“{n}”是同一姓名"
                                  "（比较时不计空格、全角半角和大小写），请只写一次")
            seen[norm_name(n)] = n
        return cleaned

    @staticmethod
    def on_roster(name: str, roster: list[str] | None) -> bool:
        from .ledger import norm_name

        return roster is None or norm_name(name) in {norm_name(n) for n in roster}

    def ledger(self):
        """The registry's fields as the audit log last recorded them (``ledger.replay``)."""
        from .ledger import replay

        return replay(self.store.committed_entries())

    def tampering(self, led=None) -> list[str]:
        """Where the registry differs from the audit log's last record (登记簿被改动)."""
        from .ledger import mismatches

        return mismatches(self.db, led if led is not None else self.ledger())

    def counted_approvals(self, number: str, led=None) -> tuple[list, list[str]]:
        """The approvals of list ``number`` that count, as the audit log records them, and why
        the others do not: the 编制人's own, a second one under the same (normalised) name, a
        second one from the same login account, and, when a roster of approvers is configured
        (``roster``), one by a name not on it."""
        from .ledger import norm_name

        led = led if led is not None else self.ledger()
        state = led.lists.get(number)
        if state is None:
            return [], []
        roster = self.roster()
        drafter = norm_name(state.drafted_by)
        counted, skipped = [], []
        names, accounts = set(), set()
        for a in state.approvals:
            name = norm_name(a.name)
            if not self.on_roster(a.name, roster):  # given before the roster was configured, or changed since
                skipped.append(f"{a.name} 不在审批人名单上，其批准不计")
            elif name == drafter:
                skipped.append(f"编制人 {state.drafted_by} 本人的批准不计")
            elif name in names:
                skipped.append(f"{a.name} 与已批准的人是同一人，其批准不计")
            elif a.account and a.account in accounts:
                skipped.append(f"{a.name} 的批准与前一名批准人出自同一账户 {a.account}，不计")
            else:
                counted.append(a)
                names.add(name)
                if a.account:
                    accounts.add(a.account)
        return counted, skipped

    def list_state_text(self, lst, led=None) -> str:
        """待批准（1/2）, 待执行, 已执行 or 已撤销."""
        if lst["status"] == "executed":
            return "已执行"
        if lst["status"] == "cancelled":
            return "已撤销"
        need = self.policy.approvals_required
        have = len(self.counted_approvals(lst["number"], led)[0])
        return "待执行" if have >= need else f"待批准（{have}/{need}）"

    def _refuse_logged(self, by: str | None, action: str, target: str, after: dict, error: DocgenError) -> DocgenError:
        """Record a refused disposal step in the audit log (as 拒绝执行销毁 is); the refusal
        is returned to be raised. An archive that cannot be written (read-only account, broken
        log) still gets the refusal, unrecorded."""
        try:
            with self.store.action(by) as act:
                act.log(action, target, None, after)
        except DocgenError:
            pass
        return error

    def list_entries(self, number: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT i.*, e.version AS listed_version FROM list_entries e JOIN items i "
                               "ON i.id = e.item_id WHERE e.number = ? ORDER BY e.pos", (number,)).fetchall()

    @staticmethod
    def _fonds_holders(ds: Dataset | None, fonds: str) -> list:
        """The units whose own 全宗号 is ``fonds``: stations (the 指导站), then 戒毒所 (J201 …)."""
        if not ds:
            return []
        return ([st for st in sorted(ds.stations.values(), key=lambda s: s.id) if st.fonds == fonds]
                + [i for i in sorted(ds.institutions.values(), key=lambda i: i.id) if i.fonds == fonds])

    def _fonds_name(self, ds: Dataset | None, fonds: str) -> str:
        for unit in self._fonds_holders(ds, fonds):
            return getattr(unit, "display_name", None) or unit.name
        return ""

    @classmethod
    def _fonds_org(cls, ds: Dataset | None, fonds: str) -> str | None:
        """机构代码 of the unit that holds the fonds (the 指导站, a 戒毒所): the 清册 is filed there."""
        for unit in cls._fonds_holders(ds, fonds):
            if unit.org_code:
                return unit.org_code
        return None

    def draft_disposal(self, ds: Dataset | None, as_of: dt.date, by: str | None) -> list[str]:
        """Draft the 销毁清册 of ``as_of``: its numbers. ``held_back`` then holds the due volumes
        left out with why (a notice volume lacking a notice issued after it was filed)."""
        from .disposal import render_list
        from .ledger import replay
        from .purge import unfiled_notices, unfiled_text

        not_future(as_of, "鉴定截止日期")
        with self.store.action(by):  # before refresh rewrites due dates edited by hand
            problems = self.tampering()
        if problems:
            raise DocgenError("登记簿与审计日志不符（登记簿被改动），在查明并恢复之前不能编制销毁清册：\n  "
                              + "\n  ".join(problems) + "\n请运行 docgen archive verify 查看")
        self.refresh(ds, by)
        numbers = []
        with self.store.action(by) as act:
            committed = self.store.committed_entries()  # the log read once: replayed, and searched for notices
            led = replay(committed)
            open_ids = {r[0] for r in act.db.execute(
                "SELECT e.item_id FROM list_entries e JOIN lists l ON l.number = e.number "
                "WHERE l.status = 'draft'").fetchall()}
            rows = [r for r in self.due(as_of) if not r["hold_reason"] and r["id"] not in open_ids
                    and not led.volumes.get(r["dh"], {}).get("hold_reason")]
            unfiled = unfiled_notices(self, self.ws, rows, committed)  # incomplete notice volumes: filed again first
            self.held_back = [(r, unfiled_text(r, unfiled[r["dh"]])) for r in rows if r["dh"] in unfiled]
            rows = [r for r in rows if r["dh"] not in unfiled]
            groups: dict[str, list[sqlite3.Row]] = {}
            for r in rows:
                groups.setdefault(r["fonds"], []).append(r)
            for fonds, group in sorted(groups.items()):
                n = act.db.execute("SELECT count(*) FROM lists WHERE number LIKE ?",
                                   (f"XH-{as_of.year}-%",)).fetchone()[0] + 1
                number = f"XH-{as_of.year}-{n:03d}"
                pdf = render_list(number, fonds, self._fonds_name(ds, fonds), group, as_of, self.policy,
                                  drafted_by=act.who)
                rel = f"disposal/drafts/{number}.pdf"
                act.db.execute("INSERT INTO lists (number, fonds, as_of, drafted_at, drafted_by, status, path, "
                               "sha256) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?)",
                               (number, fonds, as_of.isoformat(), now_utc(), act.who, rel, sha256(pdf)))
                for pos, r in enumerate(group, start=1):
                    act.db.execute("INSERT INTO list_entries VALUES (?, ?, ?, ?)", (number, pos, r["id"], r["version"]))
                act.log("编制销毁清册", number, None, {"截止日期": as_of.isoformat(), "案卷": [r["dh"] for r in group],
                                                  "sha256": sha256(pdf)})
                act.write(rel, pdf)
                numbers.append(number)
        return numbers

    def approve(self, number: str, by: str) -> int:
        """Record an approval. Names are compared normalised (``ledger.norm_name``), and only
        as the audit log records them: the 编制人 cannot approve, nor approve anyone twice, nor
        can one login account approve twice under two names. A refusal is recorded too."""
        from .ledger import norm_name

        if not by or not norm_name(by):
            raise DocgenError("批准须写明批准人：--by 姓名")
        by = by.strip()
        account = os_user()
        roster = self.roster()  # a broken roster refuses before anything is recorded
        refusal = None
        with self.store.action(by) as act:
            lst = self._list(number)
            if lst["status"] != "draft":
                raise DocgenError(f"销毁清册 {number} 已{'执行' if lst['status'] == 'executed' else '撤销'}，不能再批准")
            number = lst["number"]
            led = self.ledger()
            problems = self.tampering(led)
            state = led.lists.get(number)
            if problems or state is None:
                refusal = ("登记簿与审计日志不符（登记簿被改动），在查明并恢复之前不能批准：\n  " + "\n  ".join(problems)
                           + "\n请运行 docgen archive verify 查看")
            elif not self.on_roster(by, roster):
                refusal = (f"{by} 不在审批人名单上（工作区配置 docgen.toml [archive] {ROSTER_KEY}：{'、'.join(roster)}）："
                           "只有名单上的人可以批准销毁清册（姓名比较时不计空格、全角半角和大小写）")
            elif norm_name(by) == norm_name(state.drafted_by):
                refusal = (f"{by} 是销毁清册 {number} 的编制人（{state.drafted_by}），不能批准自己编制的清册（编制与批准须由"
                           f"不同的人担任）；须由编制人以外的 {self.policy.approvals_required} 名批准人批准")
            elif any(norm_name(a.name) == norm_name(by) for a in state.approvals):
                first = next(a.name for a in state.approvals if norm_name(a.name) == norm_name(by))
                refusal = (f"{by} 已批准过销毁清册 {number}（记为“{first}”；姓名比较时不计空格和大小写）；"
                           "须由另一名不同的批准人批准")
            elif any(a.account == account for a in state.approvals):
                first = next(a.name for a in state.approvals if a.account == account)
                refusal = (f"两名批准人须由不同的账户操作：本账户（{account}）已以“{first}”的名义批准过销毁清册 {number}。"
                           "请第二名批准人用本人的账户登录后批准（审计日志记录每次批准的登录账户）")
            if refusal is not None:
                act.log("拒绝批准销毁", number, None, {"批准人": by, "原因": refusal})
            else:
                act.db.execute("INSERT INTO approvals VALUES (?, ?, ?)", (number, by, now_utc()))
                act.log("批准销毁", number, None, {"批准人": by})
        if refusal is not None:
            raise DocgenError(f"拒绝批准销毁清册 {number}：{refusal}")
        return len(self.counted_approvals(number)[0])

    def cancel(self, number: str, reason: str, by: str | None) -> None:
        if not reason or not reason.strip():
            raise DocgenError("撤销销毁清册须说明理由：--reason 理由")
        with self.store.action(by) as act:
            lst = self._list(number)
            if lst["status"] != "draft":
                raise DocgenError(f"销毁清册 {number} 不是待批准/待执行的草稿，不能撤销")
            act.db.execute("UPDATE lists SET status = 'cancelled' WHERE number = ?", (number,))
            act.log("撤销销毁清册", number, {"状态": "draft"}, {"状态": "cancelled"}, note=reason.strip())

    def execute(self, ds: Dataset | None, number: str, as_of: dt.date, by: str | None) -> dict:
        from .ledger import replay
        from .purge import unfiled_notices, unfiled_text

        lst = self._list(number)
        number = lst["number"]
        if lst["status"] != "draft":
            raise DocgenError(f"销毁清册 {number} 已{'执行' if lst['status'] == 'executed' else '撤销'}，不能再执行")
        not_future(as_of, "销毁日期")
        with self.store.action(by):  # before refresh rewrites due dates edited by hand
            why, _ = self._execution_gate(number, as_of)
        if why:
            raise self._refuse_logged(by, "拒绝执行销毁", number, {"销毁日期": as_of.isoformat(), "原因": [why]},
                                      DocgenError(f"拒绝执行销毁清册 {number}：{why}"))
        self.refresh(ds, by)
        with self.store.action(by) as act:  # checked again inside the write lock
            if self._list(number)["status"] != "draft":
                raise DocgenError(f"销毁清册 {number} 已被执行或撤销，不能再执行")
            committed = self.store.committed_entries()  # the log read once: replayed, and searched for notices
            led = replay(committed)
            why, approvers = self._execution_gate(number, as_of, led)
            entries = self.list_entries(number)
            faulty = faulty_persons(ds)
            logged = led.volumes
            problems = [why] if why else []
            unfiled = unfiled_notices(self, self.ws, entries, committed)
            for r in entries:
                held = r["hold_reason"] or logged.get(r["dh"], {}).get("hold_reason")
                if r["status"] != "filed":
                    problems.append(f"{r['dh']} 已销毁")
                elif held:
                    problems.append(f"{r['dh']} 在保全中（{held}），不得销毁")
                elif not r["due_date"] or r["due_date"] > as_of.isoformat():
                    problems.append(f"{r['dh']} 未到保管期限（到期日 {r['due_date'] or '未定'}，"
                                    f"{r['trigger_reason']}）")
                elif r["version"] != r["listed_version"]:
                    problems.append(f"{r['dh']} 在编制清册后重新归档过（第 {r['listed_version']} 版 → 第 {r['version']} 版），须重新鉴定")
                elif r["dh"] in unfiled:
                    problems.append(unfiled_text(r, unfiled[r["dh"]]))
                elif r["kind"] in ("personal", "cultivation") and ds is not None and r["subject"] not in ds.persons \
                        and ds.errors:
                    problems.append(f"{r['dh']} 的照管对象 {r['subject']} 的记录读不出（记录有错误），无法确认保管期限")
                elif r["kind"] in ("personal", "cultivation") and ds is not None and r["subject"] not in ds.persons:
                    problems.append(f"{r['dh']} 的照管对象 {r['subject']} 的记录不在记录目录中：无法按当前记录核对保管期限，"
                                    "不得销毁（销毁不能撤回）；请恢复其记录文件后再执行")
                elif r["kind"] in ("personal", "cultivation") and r["subject"] in faulty:
                    problems.append(f"{r['dh']} 的照管对象 {r['subject']} 的记录有错误（docgen validate 可查看），"
                                    "改正之前无法确认保管期限，不得销毁")
            if problems:  # the refusal itself is recorded (this transaction commits only the log entry)
                act.log("拒绝执行销毁", number, None, {"截止日期": as_of.isoformat(), "原因": problems})
                refused = DocgenError(f"拒绝执行销毁清册 {number}（截至 {as_of.isoformat()}）：\n  "
                                      + "\n  ".join(problems))
            else:
                refused = None
                result = self._carry_out(act, ds, lst, number, entries, approvers, as_of)
                for r in entries:  # every version's file, deleted once the disposal is committed
                    for rel in result["files"][r["dh"]]:  # (completed after a crash)
                        act.remove(rel, r["dh"])
        if refused is not None:
            raise refused
        # the contents went once the registry recorded their disposal (Action.remove): a writer
        # killed before the commit leaves every volume in place and registered as filed, one
        # killed after it has the deletions completed by the next opening of the archive
        result["left"] = []
        for r in entries:
            for rel in result["files"][r["dh"]]:
                try:
                    (self.root / rel).unlink()
                except FileNotFoundError:
                    pass
                except OSError as exc:  # recorded as destroyed: verify names the file until it is removed
                    result["left"].append(f"{rel}（{exc.strerror}）")
        return result

    def _execution_gate(self, number: str, as_of: dt.date, led=None) -> tuple[str | None, list[str]]:
        """(why the execution is refused or None, the approvers that count). Everything is
        taken from the audit log: a registry that differs from it (登记簿被改动) is refused,
        only logged approvals count, and the 销毁日期 cannot precede the 鉴定截止日期, the
        drafting or the last approval. ``led``: the log's replay when the caller has it."""
        from .ledger import local_day

        led = self.ledger() if led is None else led
        problems = self.tampering(led)
        state = led.lists.get(number)
        if problems or state is None:
            return ("登记簿与审计日志不符（登记簿被改动），在查明并恢复之前不能执行销毁：\n  " + "\n  ".join(problems)
                    + "\n请运行 docgen archive verify 查看"), []
        counted, skipped = self.counted_approvals(number, led)
        need = self.policy.approvals_required
        names = [a.name for a in counted]
        if len(counted) < need:
            have = f"目前只有 {len(names)} 人批准（{'、'.join(names)}）" if names else "目前无人批准"
            if skipped:
                have += "；" + "；".join(skipped)
            return (f"须经 {need} 名不同的批准人（用各自的账户）批准，{have}。"
                    f"请运行 docgen archive approve {number} --by 姓名"), names
        bounds = [("鉴定截止日期", dt.date.fromisoformat(state.as_of) if state.as_of else None),
                  ("编制日期", local_day(state.drafted_at)),
                  ("最后一次批准的日期", max((d for d in (local_day(a.at) for a in counted) if d), default=None))]
        for label, day in bounds:
            if day is not None and as_of < day:
                return (f"销毁日期 {as_of.isoformat()} 早于清册的{label} {day.isoformat()}：销毁只能在清册编制、"
                        "批准之后进行，销毁日期不能倒签"), names
        return None, names

    def _carry_out(self, act, ds, lst, number: str, entries, approvers: list[str], as_of: dt.date) -> dict:
        from .disposal import render_list

        now = now_utc()
        count = int(self.store.meta("audit_count", "0"))  # the log as committed before this execution
        audit_head = (count, self.store.meta("audit_head")) if count else None
        files: dict[str, list[str]] = {}
        for r in entries:
            older = act.db.execute("SELECT version, sha256, path FROM versions WHERE item_id = ? AND version < ? "
                                   "ORDER BY version", (r["id"], r["version"])).fetchall()
            files[r["dh"]] = [r["path"]] + [v["path"] for v in older if v["path"]]
            act.db.execute("UPDATE items SET status='disposed', path=NULL, disposed_at=?, disposal_list=? "
                           "WHERE id=?", (now, number, r["id"]))
            act.db.execute("UPDATE versions SET path = NULL WHERE item_id = ?", (r["id"],))  # rows stay: tombstones
            act.log("销毁", r["dh"], {"状态": "filed", "sha256": r["sha256"], "页数": r["pages"],
                                     **({"旧版本": [{"版本": v["version"], "sha256": v["sha256"], "文件": v["path"]}
                                                  for v in older]} if older else {})},
                    {"状态": "disposed", "清册": number, "销毁文件": files[r["dh"]]}, note=r["title"])
        act.db.execute("UPDATE lists SET status='executed', executed_at=?, executed_on=?, executed_by=? "
                       "WHERE number=?", (now, as_of.isoformat(), act.who, number))
        # file the final 清册 as a permanent record
        series = self.policy.get("disposal")
        year, fonds = as_of.year, lst["fonds"]
        org = self._fonds_org(ds, fonds) or entries[0]["org_code"]
        row = act.db.execute("SELECT last_seq FROM series WHERE fonds=? AND klass=? AND year=? AND retention=? "
                             "AND org_code=?", (fonds, series.klass, year, series.retention, org)).fetchone()
        seq = (row[0] if row else 0) + 1
        act.db.execute("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET "
                       "last_seq = excluded.last_seq", (fonds, series.klass, year, series.retention, org, seq))
        dh = make_dh(fonds, series.klass, year, series.retention, org, seq)
        pdf = render_list(number, fonds, self._fonds_name(ds, fonds), entries, as_of, self.policy,
                          drafted_by=lst["drafted_by"], approvers=approvers, executed_on=as_of,
                          executed_by=act.who, dh=dh, as_of_draft=dt.date.fromisoformat(lst["as_of"]),
                          audit_head=audit_head)
        stamped = _stamp_only(pdf, Stamp(fonds, year, seq, org, series.retention, 0, dh))
        rel = f"disposal/{dh}.pdf"
        pages = page_count(stamped)
        holders = self._fonds_holders(ds, fonds)  # the 清册 belongs to the fonds, not to its first volume's unit
        cols = dict(dh=dh, key=f"disposal:{number}", kind="disposal", subject=number,
                    unit=holders[0].id if holders else entries[0]["unit"],
                    period=str(year), title=f"档案销毁清册 {number}", fonds=fonds, klass=series.klass,
                    year=year, retention=series.retention, org_code=org, seq=seq, version=1, path=rel,
                    sha256=sha256(stamped), pages=pages, filed_at=now, filed_on=as_of.isoformat(),
                    filed_by=act.who, trigger_date=None, trigger_reason="永久保管", due_date=None,
                    status="filed")
        act.db.execute(f"INSERT INTO items ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       tuple(cols.values()))
        item_id = act.db.execute("SELECT id FROM items WHERE dh = ?", (dh,)).fetchone()[0]
        act.db.execute("INSERT INTO versions (item_id, version, sha256, pages, filed_at, filed_on, filed_by) "
                       "VALUES (?, 1, ?, ?, ?, ?, ?)",
                       (item_id, cols["sha256"], pages, now, as_of.isoformat(), act.who))
        act.db.execute("UPDATE lists SET record_item = ? WHERE number = ?", (item_id, number))
        act.log("执行销毁", number, {"状态": "draft"},
                {"状态": "executed", "已销毁": [r["dh"] for r in entries], "清册档号": dh,
                 "批准人": approvers, "销毁日期": as_of.isoformat()})
        act.log("归档", dh, None, {"题名": cols["title"], "版本": 1, "页数": pages, "sha256": cols["sha256"],
                                  "保管期限": "永久", "起算事由": "永久保管", "到期日": None})
        act.write(rel, stamped)
        return {"dh": dh, "disposed": [r["dh"] for r in entries], "path": self.root / rel, "files": files}

    # ================================================================== fixity

    def verify(self) -> dict:
        with self.store.shared_lock():  # a writer's files and log lines are in place only after its commit
            why = self.store.unsettled()
            if why:  # a reader cannot complete an interrupted change: its report would mislead
                raise DocgenError(why)
            return self._verify()

    def verify_audit(self) -> tuple[int, list[str]]:
        with self.store.shared_lock():
            return self.store.verify_audit()

    def _verify(self) -> dict:
        report: dict[str, list] = {"changed": [], "missing": [], "untracked": [], "registry": [], "modes": []}
        report["registry"] = self.store.integrity_errors()
        tracked: dict[str, tuple[str, str]] = {}
        for r in self.db.execute("SELECT dh, path, sha256 FROM items WHERE status = 'filed'").fetchall():
            if not r["path"]:
                report["registry"].append(f"{r['dh']} 在册但没有文件路径")
                continue
            tracked[r["path"]] = (r["dh"], r["sha256"])
        for r in self.db.execute("SELECT number, path, sha256 FROM lists").fetchall():
            tracked[r["path"]] = (f"销毁清册 {r['number']}（草稿）", r["sha256"])
        kept = self.store.kept_versions()
        if kept:  # superseded versions are kept as filed: checked like the current ones
            for r in self.db.execute("SELECT i.dh, i.kind, v.version, v.path, v.sha256, v.superseded_at FROM versions v "
                                     "JOIN items i ON i.id = v.item_id WHERE i.status = 'filed' AND v.path IS NOT NULL "
                                     "AND v.version <> i.version ORDER BY i.dh, v.version").fetchall():
                want = version_rel(r["kind"], r["dh"], r["version"])
                if r["path"] != want:
                    report["registry"].append(f"{r['dh']} 第 {r['version']} 版（旧版本）的文件在登记簿中记为 {r['path']}，"
                                              f"应为 {want}：登记簿被改动")
                    continue
                when = f"，{str(r['superseded_at'])[:10]} 被取代" if r["superseded_at"] else ""
                tracked[want] = (f"{r['dh']} 第 {r['version']} 版，旧版本{when}", r["sha256"])
        disposed = {}  # where the files of destroyed volumes were: each version's
        for r in self.db.execute("SELECT i.dh, i.kind, i.disposal_list, v.version FROM items i LEFT JOIN versions v "
                                 "ON v.item_id = i.id WHERE i.status = 'disposed'"):
            disposed[f"{KIND_DIRS.get(r['kind'], r['kind'])}/{r['dh']}.pdf"] = r
            if r["version"] is not None:
                disposed[version_rel(r["kind"], r["dh"], r["version"])] = r
        for rel, (name, digest) in sorted(tracked.items()):
            p = self.root / rel
            if p.is_symlink():  # the content would live outside the archive's keeping
                report["changed"].append(f"{rel}（{name}）被换成了指向 {os.readlink(p)} 的符号链接：档案库只应保存文件本身")
                continue
            if not p.is_file():
                report["missing"].append(f"{rel}（{name}）")
                continue
            if sha256(p.read_bytes()) != digest:
                report["changed"].append(f"{rel}（{name}）")
        known_dirs = set(KIND_DIRS.values()) | {"disposal/drafts"} | {f"{d}/versions" for d in KIND_DIRS.values()}
        for p in sorted(self.root.rglob("*")):
            rel = p.relative_to(self.root).as_posix()
            if p.is_symlink():
                if rel not in tracked:
                    report["untracked"].append(f"{rel}（符号链接，指向 {os.readlink(p)}）")
                continue
            if p.is_dir():
                if rel not in known_dirs:
                    report["untracked"].append(f"{rel}/（未登记的目录）")
                if p.stat().st_mode & 0o077:
                    report["modes"].append(f"{rel}/（目录权限 {oct(p.stat().st_mode & 0o777)}，应为 0o700）")
                continue
            if rel in BOOKKEEPING or rel in tracked:
                if p.stat().st_mode & 0o077:
                    report["modes"].append(f"{rel}（权限 {oct(p.stat().st_mode & 0o777)}，应为 0o600）")
                continue
            if rel in disposed:
                how = f"已按销毁清册 {disposed[rel]['disposal_list']} 销毁" if disposed[rel]["disposal_list"] \
                    else "登记簿记为已销毁"
                report["untracked"].append(f"{rel}（{disposed[rel]['dh']} {how}，文件却仍在：请核实后删除）")
                continue
            report["untracked"].append(rel)
        if self.root.stat().st_mode & 0o077:
            report["modes"].append(f"档案库目录权限 {oct(self.root.stat().st_mode & 0o777)}，应为 0o700")
        n, problems, unfinished = self.store.audit_report()
        report["audit"] = problems
        report["unfinished"] = [unfinished] if unfinished else []  # completed by the next change: no failure
        report["reconcile"] = self._reconcile() if not problems else []
        report["checked"] = len(tracked)
        report["audit_entries"] = n
        return report

    def _reconcile(self) -> list[str]:
        """The registry against its audit log (``ledger``): every field the log records -- a
        volume's hash, status, title, version, pages, trigger, due date and hold; a disposal
        list's 编制人, cut-off date, volumes, approvals and execution -- must be the log's last
        record of it; and what a later entry records as the state before its change must be
        what the log had recorded before (a hand edit later carried into the log)."""
        led = self.ledger()
        return self.tampering(led) + led.history


def _hash_json(value) -> str:
    return sha256(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8"))


# what draws documents, not what they say: a change here is a change of encoding
_ENCODING_MODULES = {"docgen.documents", "docgen.documents.base", "docgen.documents.layout", "docgen.documents.registry"}


def _module_file(name: str) -> Path | None:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None


def _definition_modules(form_class: type) -> list[str]:
    """The modules that define a form: those of its classes and the ``docgen.documents``
    helper modules they import, directly or not (shared labels, signature rows, footers)."""
    import ast

    todo = [k.__module__ for k in form_class.__mro__ if k.__module__ not in ("builtins",)]
    seen: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen or name in _ENCODING_MODULES or name.split(".")[0] in ("builtins", "abc", "typing"):
            continue
        seen.append(name)
        path = _module_file(name)
        if path is None or not (name.startswith("docgen.documents.") or name == form_class.__module__):
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative to the module's package (form modules are not packages)
                    base = ".".join(name.split(".")[:-node.level])
                    target = f"{base}.{node.module}" if node.module else base
                    names = [target] if node.module else [f"{base}.{a.name}" for a in node.names]
                else:
                    names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            todo.extend(n for n in names if n.startswith("docgen.documents.") and _module_file(n) is not None)
    return sorted(seen)


@lru_cache(maxsize=None)
def _form_source(form_class: type) -> str:
    """Hash of the modules that define a form (its labels and layout, including those it takes
    from shared helper modules): a changed form is a changed document; the layout language and
    the renderers (how it is encoded) are not part of it."""
    parts = []
    for name in _definition_modules(form_class):
        path = _module_file(name)
        try:
            parts.append([name, hashlib.sha256(path.read_bytes()).hexdigest() if path else None])
        except OSError:
            parts.append([name, None])
    if not any(digest for _, digest in parts):
        return form_class.__qualname__
    return _hash_json(parts)


def content_key(form, view: dict) -> str:
    """What a document says: its form (code and definition) and the data it shows."""
    return _hash_json([form.code, _form_source(type(form)), view])


def _filed_checker(path: Path) -> str | None:
    """The 检查人 printed on the 备考表 (last page) of a filed volume, if it can be read."""
    import io

    from pypdf import PdfReader

    try:
        text = PdfReader(io.BytesIO(path.read_bytes())).pages[-1].extract_text() or ""
    except Exception:  # an unreadable volume: compared as it is, with the checker given
        return None
    lines = [line.strip() for line in text.splitlines()]
    if "检查人" not in lines[:-1]:
        return None
    after = lines[lines.index("检查人") + 1]
    return "" if after == "立卷时间" else after


def _fallback_cover(fallback: tuple) -> tuple[bytes, str]:
    return fallback_cover_pdf(*fallback), _hash_json(["fallback-cover", list(fallback)])


def _stamp_only(pdf: bytes, stamp: Stamp) -> bytes:
    """Stamp the 归档章 on the first page of a single document."""
    import io

    from pypdf import PdfReader, PdfWriter

    from .volumes import stamp_overlay

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf)))
    first = writer.pages[0]
    w, h = float(first.mediabox.width), float(first.mediabox.height)
    s = Stamp(**{**stamp.__dict__, "pages": len(writer.pages)})
    first.merge_page(PdfReader(io.BytesIO(stamp_overlay(w, h, s))).pages[0])
    writer.add_metadata({"/Title": "档案销毁清册", "/Producer": "docgen", "/Creator": "docgen archive"})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
