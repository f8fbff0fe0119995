"""Removing a disposed person's working data from the workspace (``docgen archive purge``).

Destroying a personal volume (销毁清册, two approvals, execution) deletes the archive's
PDFs; the person's working data lives on in the workspace: the record file and event files,
every document made of them in the output folder (``manifest.json``, the build state), the
parse cache entries of those files, print bundles holding their documents and the print
register's entries. Once the person's personal (and cultivation) volumes are destroyed, as
the registry *and* the audit log record it (``ledger``: disposal steps trust only the log),
``purge`` removes all of it:

* the removal is logged first (``清除工作数据`` on the volume's 档号: the person's 编号, the
  disposal list, how many files of each kind; no name, no ID number), in ``Store.action`` so
  that it is atomic with the registry; files are deleted only after that commit;
* under the output folder's lock (``build.output_lock``): the manifest and the state lose the
  person's entries before any file goes (a build or the watch service never sees documents
  listed whose person vanished: no "记录文件已不在记录目录中" warning, no hold however many
  persons are purged at once), then the documents, the print bundles holding any of them
  (throwaway files that merge many persons: deleted whole), the register's entries, the
  record files and the parse cache entries;
* interrupted midway, a run again finds what is left and completes (another log entry with
  what it removed); with nothing left it changes nothing.

Not removed, and said so: unit tables of frozen or archived periods (they are records of
their period; the current period's tables are made without the person by the next build),
the notice register's rows naming the person while their notice volume is kept (the notices
as sent, numbered gap-free, and filed in notice volumes: ``remains``) and the frozen months'
snapshots (编号 only).

Notices (``redact_notices``): once a notice volume (TZ) is destroyed, as the registry and the
audit log both record it, the notices it held (the log's ``卷内文件`` of every version) lose
their personal data in the notice register (``registry.notices.redact``: the people and the
stored view go; number, dates, count and the view's SHA-256 stay) and their files in the
output folder. ``docgen archive execute`` does it right after the destruction is committed;
the redaction is logged first (``清除通知书个人信息`` on the volume's 档号: the notices'
numbers, the list, how many people; no name), then carried out in the register (a separate
database); interrupted in between, ``purge --notices`` (or the next execute) completes it,
``verify`` reminds of it.

Voided notices no notice volume holds (``voided_unheld``: a month, 戒毒所 and 指导站 whose
notices were all voided never gets a TZ) are cleared the same way once the term that month's
notice volume would have had has run out (``notice_term``: the trigger and term the archive
gives a TZ): ``due`` lists them, ``purge --notices`` (``redact_notices(expired=True)``) logs
``清除作废通知书个人信息`` on the key the volume would have (numbers, month, count, term, the day
it ran out; no name) and then redacts them with ``redacted_list`` 期满清除.
"""
from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DocgenError, os_error_message

ACTION = "清除工作数据"
NOTICE_ACTION = "清除通知书个人信息"
EXPIRED_ACTION = "清除作废通知书个人信息"
NOTICE_TITLES = {"F": "预解戒人员信息对接通知书", "K": "戒毒典型培育对象信息对接通知书"}
SHOWN = 3  # persons named in a summary line before "等"


@dataclass
class Leftover:
    """What a person left in the workspace."""

    pid: str
    records: list[Path] = field(default_factory=list)  # record file, event files
    broken: list[Path] = field(default_factory=list)  # unreadable record files named after the person
    documents: list[dict] = field(default_factory=list)  # manifest entries of the person
    stray: list[Path] = field(default_factory=list)  # the person's output files the manifest does not list
    errors: list[dict] = field(default_factory=list)  # manifest error entries about the person
    state: list[str] = field(default_factory=list)  # idents in the build state
    cache: list[str] = field(default_factory=list)  # parse cache keys
    bundles: list[Path] = field(default_factory=list)  # print bundles holding the person's documents
    printed: list[str] = field(default_factory=list)  # print register idents
    dh: str | None = None  # the personal volume (as disposed)
    number: str | None = None  # the disposal list that destroyed it
    remains: list[str] = field(default_factory=list)  # what stays, in Chinese
    tally: dict[str, int] | None = None  # the counts as logged, before the files went

    def document_files(self, out_dir: Path) -> list[Path]:
        files = [out_dir / rel for e in self.documents for rel in (e.get("files") or {}).values()
                 if isinstance(rel, str)]
        return [p for p in files if p.exists() or p.is_symlink()] + self.stray

    def counts(self, out_dir: Path) -> dict[str, int]:
        if self.tally is not None:
            return dict(self.tally)
        return {"记录文件": len(self.records), "文书": len(self.documents),
                "文书文件": len(self.document_files(out_dir)), "打印包": len(self.bundles),
                "打印登记": len(self.printed), "解析缓存": len(self.cache)}

    def present(self, out_dir: Path) -> bool:
        return bool(self.records or self.documents or self.stray or self.errors or self.state
                    or self.cache or self.bundles or self.printed)

    def summary(self, out_dir: Path) -> str:
        return _what(self.counts(out_dir), full=True, listed=bool(self.errors or self.state))


# ----------------------------------------------------------------------------- finding


def _inside(path: Path, root: Path) -> bool:
    try:
        return Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root))
    except (OSError, ValueError):
        return False


def _named_after(pid: str, name: str) -> bool:
    return name == pid or name.startswith(f"{pid}-") or name.startswith(f"{pid}.")


def _owners(name: str, pids, seps: str) -> list[str]:
    """The persons of ``pids`` that ``name`` is, or starts with followed by one of ``seps`` (``"/"``:
    a document key ``T001/2026-11``; ``"-."``: a file named after the person, ``_named_after``): a
    look-up per prefix, not a test per person (``due`` and ``verify`` ask about every disposed person)."""
    found = [name] if name in pids else []
    for i, ch in enumerate(name):
        if ch in seps and name[:i] in pids:
            found.append(name[:i])
    return found


def _outline(path: Path) -> list[tuple[int, str]] | None:
    """A print bundle's bookmarks as (depth, title) (unit > “编号 姓名” > document); None when unreadable."""
    from pypdf import PdfReader

    try:
        outline = PdfReader(io.BytesIO(path.read_bytes())).outline
    except Exception:  # unreadable: not ours to judge
        return None
    found: list[tuple[int, str]] = []

    def walk(items, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, str(getattr(item, "title", "") or "")))

    walk(outline, 0)
    return found


def _bundle_persons(path: Path) -> set[str] | None:
    """The persons a print bundle holds documents of, by its bookmarks (unit > “编号 姓名” > document)."""
    outline = _outline(path)
    if outline is None:
        return None
    return {title.split(" ")[0] for depth, title in outline if depth == 1}


def bundle_files(out_dir: Path) -> list[Path]:
    """Print bundles made in this output folder: ``打印/`` and those the register names elsewhere."""
    from ..printing import PRINT_DIR, load_register

    folder = out_dir / PRINT_DIR
    paths = sorted(p for p in folder.glob("*.pdf") if p.is_file()) if folder.is_dir() else []
    for b in load_register(out_dir).get("bundles", []):
        f = b.get("file") if isinstance(b, dict) else None
        if isinstance(f, str) and os.path.isabs(f) and Path(f).is_file() and Path(f) not in paths:
            paths.append(Path(f))
    return paths


def find(ws, out_dir: Path, ds, pids: list[str], cache: bool = True, bundles: bool = True) -> dict[str, Leftover]:
    """What each person left in the workspace (records of ``ds``; ``None``: the output folder only)."""
    from ..build import entry_ident, load_state, read_manifest
    from ..printing import PRINT_DIR, load_register

    out_dir = Path(out_dir)
    found = {pid: Leftover(pid) for pid in pids}
    records_root = Path(ws.records)
    if ds is not None:
        for pid, lo in found.items():
            lo.records = sorted({Path(f) for f in ds.sources.get(pid, [])
                                 if Path(f).is_file() and _inside(Path(f), records_root)})
            lo.broken = sorted(p for p in ds.bad_files if p.exists() and _named_after(pid, p.stem)
                               and Path(p) not in lo.records)
    manifest = read_manifest(out_dir)
    state = load_state(out_dir)
    listed: set[str] = set()
    for e in manifest.get("documents", []):
        if not isinstance(e, dict):
            continue
        for rel in (e.get("files") or {}).values():
            if isinstance(rel, str):
                listed.add(os.path.normpath(rel))
        lo = found.get(e.get("person"))
        if lo is not None:
            lo.documents.append(e)
    shown = {pid: {os.path.relpath(f, ws.root) for f in lo.records} | {str(f) for f in lo.records}
             for pid, lo in found.items()}
    for e in manifest.get("errors", []):
        if not isinstance(e, dict):
            continue
        for pid, lo in found.items():
            if e.get("person") == pid or e.get("record") in shown[pid]:
                lo.errors.append(e)
    of_person = {entry_ident(e): pid for pid, lo in found.items() for e in lo.documents}

    def keyed(iid: str) -> set[str]:  # the persons a state or register ident belongs to
        owners = set(_owners(iid.partition("|")[2].rpartition("|")[0], found, "/"))
        if iid in of_person:
            owners.add(of_person[iid])
        return owners

    for iid in state:
        for pid in keyed(iid):
            found[pid].state.append(iid)
    # the person's files the manifest no longer lists (a build dropped the vanished person)
    if out_dir.is_dir():
        for top in sorted(out_dir.iterdir()):
            if not top.is_dir() or top.is_symlink() or top.name.startswith(".") or top.name == PRINT_DIR:
                continue
            for child in sorted(top.iterdir()):
                for pid in _owners(child.name, found, "-."):
                    files = [child] if not child.is_dir() or child.is_symlink() else \
                        sorted(p for p in child.rglob("*") if not p.is_dir() or p.is_symlink())
                    found[pid].stray += [p for p in files
                                         if os.path.normpath(p.relative_to(out_dir).as_posix()) not in listed]
    register = load_register(out_dir)
    for iid in register.get("printed", {}):
        for pid in keyed(iid):
            found[pid].printed.append(iid)
    if bundles:
        for path in bundle_files(out_dir):
            held = _bundle_persons(path) or set()
            for pid in held & found.keys():
                found[pid].bundles.append(path)
    if cache:
        from ..records.cache import CACHE_NAME, RecordParseCache

        entries = RecordParseCache(out_dir / CACHE_NAME).entries if (out_dir / CACHE_NAME).exists() else {}
        for lo in found.values():
            lo.cache = [os.path.abspath(f) for f in lo.records if os.path.abspath(f) in entries]
        # files already deleted by an interrupted run: their entries name the person's files
        for k in entries:
            for pid in _owners(Path(k).stem, found, "-."):
                lo = found[pid]
                if k not in lo.cache and _inside(Path(k), records_root) and not Path(k).exists():
                    lo.cache.append(k)
    return found


# ----------------------------------------------------------------------------- the archive's word


def disposal_of(arc, pid: str, led=None) -> tuple[str, str] | str:
    """(档号 of the personal volume, disposal list) when every personal / cultivation volume of
    ``pid`` is destroyed as the registry and the audit log both record it; else why not."""
    from .service import label

    rows = arc.db.execute("SELECT * FROM items WHERE subject = ? AND kind IN ('personal', 'cultivation') "
                          "ORDER BY id", (pid,)).fetchall()
    if not rows:
        return (f"照管对象 {pid} 在档案库中没有个人档案：只有个人档案已按销毁清册销毁的人才能清除工作数据"
                "（档案库中没有其案卷时，工作数据须按本单位的规定另行处理）")
    led = led if led is not None else arc.ledger()
    dh = number = None
    for r in rows:
        logged = led.volumes.get(r["dh"], {})
        if r["status"] != "disposed" or logged.get("status") != "disposed":
            state = "已销毁" if r["status"] == "disposed" else "在库"
            held = f"，保全中（{r['hold_reason']}）" if r["hold_reason"] else ""
            return (f"照管对象 {pid} 的{label(r['kind'])} {r['dh']} {state}{held}"
                    + ("，审计日志却没有其销毁记录" if r["status"] == "disposed" else "")
                    + "：个人档案按销毁清册销毁之后才能清除工作数据")
        lst = led.lists.get(r["disposal_list"] or "")
        if lst is None or lst.status != "executed" or r["dh"] not in (lst.volumes or []):
            return (f"照管对象 {pid} 的个人档案 {r['dh']} 登记为已销毁，审计日志中却没有执行销毁清册"
                    f"“{r['disposal_list'] or '（无）'}”的记录：请运行 docgen archive verify 查明")
        dh, number = r["dh"], r["disposal_list"]
    return dh, number


class Registers:
    """What the registers outside the workspace hold, read once for every person of one check
    (the notice register, the destroyed notices -- a replay of the whole audit log --, the
    frozen months' snapshots), not once per person."""

    def __init__(self, ws, arc, pids: list[str] | None = None):
        self.ws, self.arc = ws, arc
        self._pids = set(pids or ())
        self._notices: list[dict] | None = None
        self._destroyed: set | None = None
        self._months: dict[str, list[str]] | None = None

    def notices(self) -> list[dict]:
        if self._notices is None:
            try:
                from ..registry.notices import list_notices

                self._notices = list_notices(self.ws.data)
            except DocgenError:
                self._notices = []
        return self._notices

    def destroyed(self) -> set:
        if self._destroyed is None:
            try:
                self._destroyed = {(g.row.get("kind"), g.row.get("number")) for g in destroyed_notices(self.arc, self.ws)}
            except DocgenError:
                self._destroyed = set()
        return self._destroyed

    def frozen_months(self, pid: str) -> list[str]:
        """The frozen months whose month-end snapshot names ``pid``."""
        if self._months is None:
            self._months = self._read_months(self._pids)
        if pid not in self._months:
            self._months.update(self._read_months({pid}))
        return self._months[pid]

    def _read_months(self, pids: set[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {p: [] for p in pids}
        if not pids:
            return found
        try:
            from ..model.freeze import StatsStore

            store = StatsStore(self.ws.data)
            for month, _ in store.months():
                snap = store.snapshot(month) or {}
                for p in pids & snap.keys():
                    found[p].append(month)
        except (DocgenError, OSError, ValueError):
            return {p: [] for p in pids}
        return found


def remains(ws, arc, pid: str, name: str | None = None, registers: Registers | None = None) -> list[str]:
    """What stays after the purge and names the person: issued notices (register), frozen months.
    ``registers``: what several persons' calls share (read once). (``name`` is not used: no line
    names the person.)"""
    reg = registers if registers is not None else Registers(ws, arc, [pid])
    out = []
    notices = [n for n in reg.notices() if pid in (n.get("people_ids") or [])]
    destroyed = reg.destroyed() if notices else set()
    for n in notices:
        row = arc.db.execute("SELECT dh, status FROM items WHERE key = ?", (notice_key(n),)).fetchone()
        vol = (f"通知书卷 {row['dh']} {'已销毁' if row['status'] == 'disposed' else '在库'}" if row
               else "尚未归入通知书卷")
        if row is not None and row["status"] == "disposed":
            if (n.get("kind"), n.get("number")) in destroyed:
                why = ("通知书卷已销毁，登记簿中这份通知书的人员和内容尚未清除：请运行 docgen archive purge --notices "
                       "--by 姓名")
            else:
                why = ("这份通知书不在已销毁的通知书卷中（立卷后才发出，该卷销毁前没有重新归档），登记簿保存其原样"
                       "（含此人姓名），请档案员按本单位规定处理")
        else:
            why = "登记簿保存寄出的通知书原样（编号连续，存底联和通知书卷据此重印），随通知书卷保管，不随个人清除"
        out.append(f"通知书登记簿：{n.get('number')}（{n.get('kind')}，{n.get('month')} 寄送，{vol}）记有其编号和姓名；{why}")
    try:
        import sqlite3

        from ..registry.numbers import db_path

        path = db_path(ws.data)
        rows = []
        if path.exists():
            con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                rows = con.execute("SELECT series, year, seq FROM numbers WHERE subject = ? ORDER BY series, year, seq",
                                   (pid,)).fetchall()
            finally:
                con.close()
        if rows:
            shown = "、".join(f"{series} {year} 年第 {seq} 号" for series, year, seq in rows[:4])
            out.append(f"编号登记簿：{shown} 分配给此编号（不含姓名）；编号须连续可查，不删除")
    except sqlite3.Error:
        pass
    months = reg.frozen_months(pid)
    if months:
        shown = "、".join(months[:4]) + ("等" if len(months) > 4 else "")
        out.append(f"统计冻结数据库：{len(months)} 个已冻结月份（{shown}）的月末快照记有其编号（不含姓名），"
                   "已冻结月份的报表不变")
    return out


# ----------------------------------------------------------------------------- removing


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _prune_dirs(paths: list[Path], stop: Path) -> None:
    """Remove the folders these files were in when they are empty now (``I/T001-甲一/``)."""
    for d in sorted({p.parent for p in paths}, key=lambda p: len(p.parts), reverse=True):
        while d != stop and _inside(d, stop) and d.parent != stop:
            try:
                d.rmdir()
            except OSError:
                break
            d = d.parent


def remove(ws, out_dir: Path, plans: list[Leftover]) -> None:
    """Delete what ``find`` found (after the log entry is committed), under the output lock."""
    from ..build import entry_ident, forget_documents

    out_dir = Path(out_dir)
    idents = {entry_ident(e) for lo in plans for e in lo.documents} | {i for lo in plans for i in lo.state}
    errors = {json.dumps(e, sort_keys=True, ensure_ascii=False) for lo in plans for e in lo.errors}
    pids = {lo.pid for lo in plans}
    # 1. the lists first: nothing listed is ever missing its person
    forget_documents(out_dir, lambda e: e.get("person") in pids or entry_ident(e) in idents, idents.__contains__,
                     lambda e: e.get("person") in pids or json.dumps(e, sort_keys=True, ensure_ascii=False) in errors)
    # 2. the documents
    gone = [p for lo in plans for p in lo.document_files(out_dir)]
    for p in gone:
        _unlink(p)
    _prune_dirs(gone, out_dir)
    # 3. print bundles and the register
    _drop_prints(out_dir, sorted({p for lo in plans for p in lo.bundles}), {i for lo in plans for i in lo.printed},
                 ACTION)
    # 4. the records, then their parse cache entries
    records = [p for lo in plans for p in lo.records]
    for p in records:
        _unlink(p)
    _prune_dirs(records, Path(ws.records))
    keys = {k for lo in plans for k in lo.cache}
    from ..records.cache import CACHE_NAME, RecordParseCache

    cache_file = out_dir / CACHE_NAME
    if cache_file.exists():
        cache = RecordParseCache(cache_file)
        if not cache.entries:  # not usable here (another docgen, damaged): only a cache, it may hold the person
            _unlink(cache_file)
        elif keys & cache.entries.keys():
            cache.fresh = {k: v for k, v in cache.entries.items() if k not in keys}
            cache.changed = True
            if not cache.save():
                _unlink(cache_file)


def purge(arc, ws, ds, pids: list[str], by: str | None, dry_run: bool = False,
          out_dir: Path | None = None) -> list[Leftover]:
    """Check, log and remove the working data of ``pids`` (see the module). ``dry_run``: find only."""
    from ..build import output_lock
    from .service import clean_name

    out_dir = Path(out_dir or ws.output)
    pids = list(dict.fromkeys(p.strip() for p in pids if p and p.strip()))
    if not pids:
        raise DocgenError("请写明要清除工作数据的照管对象：--person 编号（可重复）或 --list 销毁清册编号")
    if not dry_run:
        by = clean_name(by, "经办人")
    with output_lock(out_dir):
        plans = _checked(arc, ws, out_dir, ds, pids)
        if dry_run:
            return plans
        todo = [lo for lo in plans if lo.present(out_dir)]
        if todo:
            with arc.store.action(by) as act:  # checked again under the archive's lock, then logged
                again = _checked(arc, ws, out_dir, ds, [lo.pid for lo in todo])
                for lo in again:
                    lo.tally = lo.counts(out_dir)
                    act.log(ACTION, lo.dh, None, {"对象": lo.pid, "清册": lo.number, **lo.tally},
                            note="个人档案已销毁，清除工作区中的记录、文书和打印包")
            remove(ws, out_dir, again)  # only once the log entry is committed
            done = {lo.pid: lo for lo in again}
            plans = [done.get(lo.pid, lo) for lo in plans]
    return plans


def _checked(arc, ws, out_dir: Path, ds, pids: list[str]) -> list[Leftover]:
    led = arc.ledger()
    problems = arc.tampering(led)
    if problems:
        raise DocgenError("登记簿与审计日志不符（登记簿被改动），在查明并恢复之前不能清除工作数据：\n  "
                          + "\n  ".join(problems) + "\n请运行 docgen archive verify 查看")
    refused = []
    gates = {}
    for pid in pids:
        gate = disposal_of(arc, pid, led)
        if isinstance(gate, str):
            refused.append(gate)
        gates[pid] = gate
    found = find(ws, out_dir, ds, pids)
    for pid, lo in found.items():
        if lo.broken:
            shown = "、".join(os.path.relpath(p, ws.root) for p in lo.broken)
            refused.append(f"照管对象 {pid} 的记录文件有错误、读不出（{shown}）：无法确认文件属于此人，"
                           "请改正或按本单位规定另行处理后再清除")
    if refused:
        raise DocgenError("拒绝清除工作数据：\n  " + "\n  ".join(refused))
    registers = Registers(ws, arc, pids)
    for pid, lo in found.items():
        lo.dh, lo.number = gates[pid]
        lo.remains = remains(ws, arc, pid, registers=registers)
    return [found[pid] for pid in pids]


def disposed_persons(arc) -> list[str]:
    """Persons whose every personal / cultivation volume is destroyed (registry)."""
    rows = arc.db.execute("SELECT subject, min(status = 'disposed') AS done FROM items "
                          "WHERE kind IN ('personal', 'cultivation') GROUP BY subject ORDER BY subject").fetchall()
    return [r["subject"] for r in rows if r["done"]]


def pending(ws, arc, ds, pids: list[str] | None = None, out_dir: Path | None = None) -> list[Leftover]:
    """Disposed persons (or ``pids``) who still have records, documents or bundles in the workspace."""
    out_dir = Path(out_dir or ws.output)
    pids = disposed_persons(arc) if pids is None else pids
    if not pids:
        return []
    found = find(ws, out_dir, ds, pids, cache=False)
    left = [lo for lo in found.values() if lo.records or lo.documents or lo.stray or lo.bundles]
    for lo in left:  # (a reminder: the registry's word; purge itself checks the audit log)
        row = arc.db.execute("SELECT dh, disposal_list FROM items WHERE subject = ? AND kind IN "
                             "('personal', 'cultivation') ORDER BY id", (lo.pid,)).fetchone()
        if row is not None:
            lo.dh, lo.number = row["dh"], row["disposal_list"]
    return left


def _what(c: dict[str, int], records: list[str] | None = None, full: bool = False, listed: bool = True) -> str:
    """What a person left, counted: record files (named, given ``records``), documents, print
    bundles; ``full`` (a purge's own account) adds the print register and parse cache entries,
    and says 无 when nothing at all is left (``listed``: manifest or state entries are)."""
    parts = []
    if c["记录文件"]:
        parts.append(f"记录文件 {c['记录文件']} 个" + (f"（{'、'.join(records)}）" if records else ""))
    if c["文书"] or c["文书文件"]:
        parts.append(f"文书 {c['文书']} 份（{c['文书文件']} 个文件）")
    if c["打印包"]:
        parts.append(f"打印包 {c['打印包']} 个")
    if full:
        if c["打印登记"]:
            parts.append(f"打印登记 {c['打印登记']} 条")
        if c["解析缓存"]:
            parts.append(f"解析缓存 {c['解析缓存']} 条")
    if not parts:
        return "清单中的条目" if listed else "无"
    return "、".join(parts)


def reminder(ws, left: list[Leftover], number: str | None = None, out_dir: Path | None = None) -> list[str]:
    """Short lines: up to ``SHOWN`` persons one by one (with their record files), more as a count
    with the first few and the totals; then the command."""
    if not left:
        return []
    out_dir = Path(out_dir or ws.output)
    secret = "（记录文件含完整身份证号码）"
    if len(left) <= SHOWN:
        lines = [f"提醒：照管对象 {lo.pid} 的个人档案已销毁，工作区中仍有其工作数据{secret}：" + _what(
            lo.counts(out_dir), [os.path.relpath(f, ws.root) for f in lo.records]) + "。" for lo in left]
    else:
        totals: dict[str, int] = {}
        for lo in left:
            for k, v in lo.counts(out_dir).items():
                totals[k] = totals.get(k, 0) + v
        names = "、".join(lo.pid for lo in left[:SHOWN]) + "等"
        lines = [f"提醒：{len(left)} 名照管对象（{names}）的个人档案已销毁，工作区中仍有其工作数据{secret}：{_what(totals)}。"]
    lists = [number] if number else sorted({lo.number for lo in left if lo.number})
    if lists and all(lo.number in lists for lo in left):
        how = [f"docgen archive purge --list {n} --by 姓名" for n in lists[:SHOWN]]
    else:
        how = ["docgen archive purge " + " ".join(f"--person {lo.pid}" for lo in left[:SHOWN])
               + (" …" if len(left) > SHOWN else "") + " --by 姓名"]
    return lines + [f"  清除：{'；'.join(how)}（先加 --dry-run 查看将删除的文件）"]


# ----------------------------------------------------------------------------- notices


@dataclass
class NoticeGone:
    """A notice of the register whose notice volume is destroyed."""

    row: dict  # the register's row (registry.notices.list_notices)
    dh: str  # the notice volume
    number: str  # the disposal list that destroyed it
    filed: bool = True  # False: voided, never in the volume (voided before its filing, or issued after it)
    result: dict | None = None  # what registry.notices.redact did
    bundles: list[Path] = field(default_factory=list)  # print bundles holding the notice
    printed: list[str] = field(default_factory=list)  # its print register idents
    due: str | None = None  # voided, no notice volume for its month: when that volume's term runs out
    start: str | None = None  # ... and when that term starts (ISO dates)

    @property
    def expired(self) -> bool:
        """Voided, in no notice volume: cleared by the term of the volume its month would have."""
        from ..registry.notices import EXPIRED

        return self.number == EXPIRED

    @property
    def label(self) -> str:
        return f"{self.row['number']}（{self.row['kind']}）"


def _volume_documents(entries: list[dict]) -> dict[str, set[str]]:
    """档号 -> the documents any version of the volume held, as the audit log recorded its filings."""
    out: dict[str, set[str]] = {}
    for e in entries:
        if not isinstance(e, dict) or e.get("action") not in ("归档", "重新归档") or not isinstance(e.get("target"), str):
            continue
        after = e.get("after") if isinstance(e.get("after"), dict) else {}
        docs = after.get("卷内文件")
        if isinstance(docs, list):
            out.setdefault(e["target"], set()).update(str(d) for d in docs)
    return out


def notice_key(n: dict) -> str:
    """The registry key of the notice volume a notice belongs to (institution, station, month)."""
    return f"notices:{n.get('institution')}:{n.get('station')}:{n.get('month')}"


def notice_name(n: dict) -> str:
    """A notice as a volume's ``卷内文件`` names it."""
    return f"{NOTICE_TITLES.get(n.get('kind'), '')} {n.get('number')}"


def destroyed_notices(arc, ws, entries: list[dict] | None = None, led=None) -> list[NoticeGone]:
    """The notices of the register held by a notice volume that is destroyed as the registry
    *and* the audit log record it (status, an executed list naming the volume, the notice in
    the volume's ``卷内文件``), redacted already or not; and the notices of the volume's month
    that are voided and in none of its versions (voided before it was filed, or issued after it
    and voided since: their personal data is kept no longer than the
    month's notices, 《戒毒条例》第七条), marked ``filed=False``. A notice issued after the
    volume was filed and not voided is not destroyed with it (``unfiled_notices`` keeps such a
    volume from being destroyed before it is filed again). ``led``: the replay of ``entries``."""
    from ..registry.notices import has_register, list_notices
    from .ledger import replay

    if not has_register(ws.data):
        return []
    rows = list_notices(ws.data)
    if not rows:
        return []
    entries = arc.store.committed_entries() if entries is None else entries
    led = replay(entries) if led is None else led
    held = _volume_documents(entries)
    out = []
    for n in rows:
        r = arc.db.execute("SELECT dh, status, disposal_list FROM items WHERE key = ?", (notice_key(n),)).fetchone()
        if r is None or r["status"] != "disposed" or led.volumes.get(r["dh"], {}).get("status") != "disposed":
            continue
        lst = led.lists.get(r["disposal_list"] or "")
        if lst is None or lst.status != "executed" or r["dh"] not in (lst.volumes or []):
            continue
        filed = notice_name(n) in held.get(r["dh"], set())
        if not filed and not n.get("voided"):
            continue  # issued after the volume was filed: not destroyed with it
        out.append(NoticeGone(n, r["dh"], r["disposal_list"], filed=filed))
    return out


def register_failure(exc: Exception) -> str:
    """Why the notice register could not be read, in Chinese: its own message, or the reason
    for a failure below it (a file-system error, a database error)."""
    if isinstance(exc, DocgenError):
        return exc.message
    if isinstance(exc, OSError):
        return os_error_message(exc)
    return f"通知书登记簿读不出（数据库错误：{exc}）"


def unfiled_notices(arc, ws, rows, entries: list[dict] | None = None) -> dict[str, list[str] | str]:
    """档号 -> the notices (printed numbers) of each notice volume of ``rows`` that none of its
    filed versions holds although they are neither voided nor redacted and of a kind the
    policy files in notice volumes: issued after the volume was filed (a supplementary notice). Such a volume is incomplete; it is filed again before
    it is listed or destroyed, or the notice's personal data would outlive the volume. A volume
    filed before the log listed its documents is read by its bookmarks (unreadable: not held back).
    When the notice register cannot be read, every notice volume maps to why (a str)."""
    from ..registry.notices import has_register, list_notices
    from .service import _outline_documents

    import sqlite3

    vols = [r for r in rows if r["kind"] == "notices" and r["status"] == "filed"]
    if not vols or not has_register(ws.data):
        return {}
    by_key: dict[str, list[dict]] = {}
    try:
        notices = list_notices(ws.data)
    except (DocgenError, sqlite3.Error, OSError) as exc:  # cannot tell: none of them is complete for sure
        why = register_failure(exc)
        return {r["dh"]: why for r in vols}
    filed_kinds = set(arc.policy.get("notices").contents)  # a kind the policy files elsewhere is not missing
    for n in notices:
        if n.get("kind") in filed_kinds and not n.get("voided") and not n.get("redacted"):
            by_key.setdefault(notice_key(n), []).append(n)
    if not any(r["key"] in by_key for r in vols):
        return {}
    held = _volume_documents(arc.store.committed_entries() if entries is None else entries)
    out: dict[str, list[str]] = {}
    for r in vols:
        docs = held.get(r["dh"])
        if docs is None:
            titles = _outline_documents(arc.root / r["path"]) if r["path"] else None
            if titles is None:
                continue
            docs = set(titles)
        missing = [str(n.get("number")) for n in by_key.get(r["key"], []) if notice_name(n) not in docs]
        if missing:
            out[r["dh"]] = missing
    return out


def unfiled_text(row, numbers: list[str] | str) -> str:
    """Why a notice volume lacking later notices is not destroyed yet, and what to do."""
    if isinstance(numbers, str):
        return (f"{row['dh']} 无法核对是否收入了当月的全部通知书（{numbers}）：通知书登记簿恢复之后再鉴定销毁")
    return (f"{row['dh']} 没有收入立卷后发出的通知书 {'、'.join(numbers)}（同一戒毒所、同一月份）：先重新归档该卷"
            f"（docgen archive file --notices {row['subject']} --month {row['period']} --by 姓名），"
            "再鉴定销毁；否则这些通知书的人员信息会在通知书卷销毁后仍留在通知书登记簿中")


def _notice_prints(row: dict, outlines: dict[Path, list | None],
                   folders: dict[Path, tuple[dict, list[Path]]]) -> tuple[list[Path], list[str]]:
    """The print bundles holding a notice (a bookmark “F 名称：东湖戒[2026]3号-…”) and its print
    register idents. ``outlines`` (each bundle's bookmarks) and ``folders`` (each output folder's
    register and bundles) are read once for all the notices of a check."""
    from ..printing import load_register

    out_dir = Path(row["out_dir"])
    if not out_dir.is_dir():
        return [], []
    if out_dir not in folders:
        folders[out_dir] = (load_register(out_dir), bundle_files(out_dir))
    register, bundles = folders[out_dir]
    key = f"{row['institution']}-{row['year']}-{row['seq']}"
    printed = [i for i in register.get("printed", {}) if i.split("|")[:2] == [row["kind"], key]]
    stem = Path(row.get("pdf") or row.get("docx") or "").stem
    holding = []
    for p in bundles if stem else ():
        if p not in outlines:
            outlines[p] = _outline(p)
        if any(title.startswith(f"{row['kind']} ") and stem in title for _, title in outlines[p] or ()):
            holding.append(p)
    return holding, printed


def pending_notices(arc, ws, lists: set[str] | None = None, entries: list[dict] | None = None,
                    led=None) -> list[NoticeGone]:
    """Destroyed notices whose personal data, output files or print bundles are still there.
    ``led``: the replay of ``entries`` when the caller has it."""
    gone = destroyed_notices(arc, ws, entries, led)
    if lists is not None:
        gone = [g for g in gone if g.number in lists]
    return _left(gone)


def _left(gone: list[NoticeGone]) -> list[NoticeGone]:
    """Those of ``gone`` whose personal data, output files or print bundles are still there."""
    from ..registry.notices import output_leftovers

    out = []
    outlines: dict[Path, list | None] = {}
    folders: dict[Path, tuple[dict, list[Path]]] = {}
    for g in gone:
        files, listed = output_leftovers(g.row)
        g.bundles, g.printed = _notice_prints(g.row, outlines, folders)
        if not g.row.get("redacted") or files or listed or g.bundles or g.printed:
            out.append(g)
    return out


def notice_term(arc, month: str):
    """(trigger, due date) of the notice volume (TZ) of ``month`` (``2021-05``): the code that
    files a notice volume (``Archive.file_notices``: ``year_trigger`` of the policy's series,
    ``Series.due``). The due date is None when the policy keeps notice volumes for ever."""
    from .triggers import year_trigger

    series = arc.policy.get("notices")
    trigger = year_trigger(series, int(str(month)[:4]))
    return trigger, series.due(trigger.date)


def voided_unheld(arc, ws) -> list[NoticeGone]:
    """Voided notices (of a kind the policy files in notice volumes) of a month, 戒毒所 and
    指导站 for which no notice volume was ever filed (no registry item with the key a TZ would
    have: a month whose notices were all voided), still holding personal data or output files.
    Each carries ``due``: the day the term of that month's notice volume would run out (same
    trigger and term, ``notice_term``; None: kept for ever), after which ``purge --notices``
    clears it (《戒毒条例》第七条)."""
    from ..registry.notices import EXPIRED, has_register, list_notices

    if not has_register(ws.data):
        return []
    filed_kinds = set(arc.policy.get("notices").contents)
    keys = {r["key"] for r in arc.db.execute("SELECT key FROM items WHERE kind = 'notices'")}
    gone = []
    for n in list_notices(ws.data):
        if not n.get("voided") or n.get("kind") not in filed_kinds or notice_key(n) in keys:
            continue
        if n.get("redacted") and n.get("redacted_list") != EXPIRED:
            continue
        trigger, due = notice_term(arc, str(n.get("month")))
        gone.append(NoticeGone(n, "", EXPIRED, filed=False, due=due.isoformat() if due else None,
                               start=trigger.date.isoformat() if trigger.date else None))
    return _left(gone)


def expired_voided(arc, ws, as_of) -> tuple[list[NoticeGone], list[NoticeGone]]:
    """``voided_unheld`` split: (term run out by ``as_of``, term still running)."""
    found = voided_unheld(arc, ws)
    day = as_of.isoformat()
    return ([g for g in found if g.due and g.due <= day],
            [g for g in found if not g.row.get("redacted") and not (g.due and g.due <= day)])


def _drop_prints(out_dir: Path, bundles: list[Path], printed: set[str], why: str = NOTICE_ACTION) -> None:
    """Remove print register entries and delete bundles (whole: they merge many documents),
    marking them deleted by ``why`` in the register; the caller holds the output lock."""
    from ..fsutil import atomic_write
    from ..printing import REGISTER, load_register

    if printed or bundles:
        register = load_register(out_dir)
        register["printed"] = {k: v for k, v in register["printed"].items() if k not in printed}
        names = {p.name for p in bundles} | {str(p) for p in bundles}
        for b in register["bundles"]:
            if isinstance(b, dict) and b.get("file") in names:
                b["deleted"] = why
        atomic_write(out_dir / REGISTER, json.dumps(register, ensure_ascii=False, indent=1).encode("utf-8"))
    for p in bundles:
        _unlink(p)


def redact_notices(arc, ws, by: str | None, lists: set[str] | None = None, dry_run: bool = False,
                   today=None, expired: bool = False) -> list[NoticeGone]:
    """Log and carry out the redaction of the destroyed notices (of ``lists`` only, if given)
    that still hold personal data or files: see the module. ``expired``: also the voided notices
    no notice volume holds whose term has run out by ``today`` (``expired_voided``; logged as
    ``清除作废通知书个人信息`` per month, 戒毒所 and 指导站; ``redacted_list`` 期满清除).
    Returns what was (``dry_run``: would be) done; nothing when nothing is left."""
    import datetime as dt

    today = today or dt.date.today()

    from ..registry import notices as register
    from .service import clean_name, rule_text

    from .ledger import replay

    def found() -> list[NoticeGone]:  # the log read and replayed once for the check and the search
        entries = arc.store.committed_entries()
        led = replay(entries)
        problems = arc.tampering(led)
        if problems:
            raise DocgenError("登记簿与审计日志不符（登记簿被改动），在查明并恢复之前不能清除通知书的个人信息：\n  "
                              + "\n  ".join(problems) + "\n请运行 docgen archive verify 查看")
        return pending_notices(arc, ws, lists, entries, led) + (
            expired_voided(arc, ws, today)[0] if expired else [])

    todo = found()
    if dry_run or not todo:
        return todo
    by = clean_name(by, "经办人")
    with arc.store.action(by) as act:  # found again under the archive's lock, then logged
        todo = found()
        by_volume: dict[str, list[NoticeGone]] = {}
        by_month: dict[str, list[NoticeGone]] = {}
        for g in todo:
            if g.expired:
                by_month.setdefault(notice_key(g.row), []).append(g)
            else:
                by_volume.setdefault(g.dh, []).append(g)
        series = arc.policy.get("notices")
        for key, group in sorted(by_month.items()):
            n = group[0].row
            act.log(EXPIRED_ACTION, key, None,
                    {"通知书": [g.label for g in group], "戒毒所": n.get("institution"), "指导站": n.get("station"),
                     "月份": n.get("month"), "份数": len(group),
                     "人数": sum(int(g.row.get("people") or 0) for g in group),
                     "期限": rule_text(series).removeprefix("本卷为").rstrip("。"), "起算": group[0].start,
                     "期满日": group[0].due,
                     **({"打印包": len({p for g in group for p in g.bundles})} if any(g.bundles for g in group) else {})},
                    note="已作废、未收入任何通知书卷的通知书，该月的通知书卷应有的保管期限已满：清除通知书登记簿中的人员"
                         "（编号、姓名）和发出时的内容（保留编号、日期、人数和内容散列值），删除输出目录中的通知书文书")
        for dh, group in by_volume.items():
            voided = [g.label for g in group if not g.filed]
            act.log(NOTICE_ACTION, dh, None,
                    {"通知书": [g.label for g in group], "清册": group[0].number,
                     "人数": sum(int(g.row.get("people") or 0) for g in group),
                     **({"作废未入卷": voided} if voided else {}),
                     **({"打印包": len({p for g in group for p in g.bundles})} if any(g.bundles for g in group) else {})},
                    note="通知书卷已销毁：清除通知书登记簿中的人员（编号、姓名）和发出时的内容（保留编号、日期、人数和内容散列值），"
                         "删除输出目录中的通知书文书" + ("；该月已作废、未入卷的通知书随卷一并清除" if voided else ""))
    # only once the log entry is committed (a separate database: a run again completes it)
    done = register.redact(ws.data, {(g.row["kind"], g.row["institution"], g.row["year"], g.row["seq"]): g.number
                                     for g in todo}, today or dt.date.today())
    results = {(d["row"]["kind"], d["row"]["number"]): d for d in done}
    for g in todo:
        g.result = results.get((g.row["kind"], g.row["number"]))
    from ..build import output_lock

    folders: dict[str, list[NoticeGone]] = {}
    for g in todo:
        if g.bundles or g.printed:
            folders.setdefault(g.row["out_dir"], []).append(g)
    for folder, group in sorted(folders.items()):
        with output_lock(Path(folder)):
            _drop_prints(Path(folder), sorted({p for g in group for p in g.bundles}),
                         {i for g in group for i in g.printed})
    return todo


def notice_reminder(pending: list[NoticeGone]) -> list[str]:
    """A line about destroyed notices whose personal data is still in the register or the output."""
    if not pending:
        return []
    shown = "、".join(g.label for g in pending[:SHOWN]) + ("等" if len(pending) > SHOWN else "")
    return [f"提醒：{len(pending)} 份通知书（{shown}）所在的通知书卷已销毁，通知书登记簿或输出目录中仍有其人员信息；"
            "清除：docgen archive purge --notices --by 姓名（先加 --dry-run 查看）"]
