"""The watch service (``docgen watch``): clerks save a record, the paperwork is ready.

* Watches the workspace's records, the DOCX templates and the fonts (watchdog).
* Editors save in bursts (temporary file, rename, several writes): events are collected
  until the folder has been quiet for ``debounce`` seconds, and a changed file is read
  only once its size and modification time have stopped moving.
* Each batch reloads only the changed record files (the others come from a cache), then
  runs the incremental build: a document is rendered again only when what it is made of
  changed (see ``docgen.build``): a person's file → that person's documents (planned and
  rendered first, before the other views are computed) and the unit tables they appear
  in; a station file → its documents; a template → the documents of that form; the
  fonts → everything. After each build an ``after_build`` hook (the CLI passes the station
  signs) makes what else depends on the records.
* A broken file is reported (a Chinese log line with file and line, and an error entry in
  ``manifest.json``); the documents made from it keep their last good version; the
  service keeps running.
* On start it removes temporary files a killed writer left behind and catches up with
  what changed while it was down (the incremental build). SIGINT/SIGTERM stop it cleanly.
* Log lines carry a timestamp; ID numbers are masked in every line (warnings and errors of
  other threads included).
* One service per output folder (``.docgen-watch.lock``); each batch writes under the
  folder's writer lock (``build.output_lock``), so a clerk's ``docgen build`` on the same
  folder waits for the batch in hand and the service for the clerk's build. When another
  program changed the folder (a build by hand, ``docgen stats``, a manifest or folder
  deleted or edited), the next batch checks every document instead of trusting what the
  service wrote last; so does the service at once when it notices the change while idle.
* A records folder moved away is reported; when it, or another folder in its place, is
  back, it is watched again and the documents are brought up to date.
* A write that fails (disk full, no permission) is reported in Chinese; the documents
  keep their last good files and are made again with the next batch.
* Many persons' record files gone at once (a records subfolder moved away, a sync tool or a
  network drive that dropped its files) stop the updates instead of making the unit tables
  without those persons and taking their documents off the manifest: the documents stay as
  they are, and the service goes on by itself when the files are back. A clerk who did mean
  to remove them confirms with one ``docgen build`` by hand (the manifest then no longer
  lists them; the service sees the output folder changed and carries on).
* Without a fixed period the unit tables follow the calendar: the current month, and until
  the 8th also the month before (the standard's statistics close at the month's end and are
  reported by the 8th of the next month: late entries still reach them). When the month
  turns, the new month's tables are made at once, saves or not.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import gc
import logging
import os
import queue
import signal
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .build import (MANIFEST, STATE, BuildResult, Interrupted, build, default_workers, make_pool, output_lock,
                    request_stop, vanished_persons, warm_forms)
from .documents.base import Period
from .documents.registry import all_forms
from .errors import DocgenError, os_error_message
from .fsutil import clean_partials, private_dir
from .printing import PRINT_DIR
from .records.idcard import mask_ids_in_text
from .records.load import RECORD_SUFFIXES, Dataset, iter_record_files, load_records, unreadable_diagnostics
from .render.fonts import FONT_SUFFIXES, PACKAGE_ROOT
from .workspace import Workspace

log = logging.getLogger("docgen.watch")

REPORT_DAY = 8  # 数据统计截止日期为当月月底，次月8日前上报省局 (notes of the statistics tables)
# this many persons whose record files all vanished at once hold the updates (or every person
# of the workspace, two or more): a folder moved away or a sync gone wrong, not a clerk's removal
MASS_GONE = 5
SERVICE_LOCK = ".docgen-watch.lock"  # held by the watch service of an output folder while it runs


class AlreadyWatched(DocgenError):
    """Another service watches this output folder. Its own exit status (EX_TEMPFAIL), so that
    a service manager can tell it from a failure (the systemd unit does not restart on it)."""

    exit_code = 75


class MaskingFormatter(logging.Formatter):
    """Timestamped lines with every ID number masked."""

    def __init__(self):
        super().__init__("%(asctime)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return mask_ids_in_text(super().format(record))


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    # warnings (a library's) and errors of other threads (the file watcher's) go through the
    # same masked, timestamped lines instead of bare text and tracebacks on standard error
    logging.captureWarnings(True)
    # watchdog's note that a folder moved back into the watched tree replaces its old watch:
    # harmless, and the service says itself that the files are back
    warnings.filterwarnings("ignore", message="Callback with id .* already exists", category=RuntimeWarning)
    warn_log = logging.getLogger("py.warnings")
    warn_log.handlers[:] = [handler]
    warn_log.setLevel(logging.WARNING)
    warn_log.propagate = False
    threading.excepthook = _thread_error


def _thread_error(args) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    log.error("内部错误（线程 %s）：%s: %s（请报告给维护人员）", name, args.exc_type.__name__, args.exc_value)
    log.debug("详细信息", exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


# --------------------------------------------------------------------------- incremental loading


def _stamp(path: Path | str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _dir_id(path: Path) -> tuple[int, int] | None:
    """Which folder is at ``path`` now (device, inode); None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if os.path.isdir(path) else None


class RecordCache:
    """Loads a records folder, re-reading only files whose size, mtime or inode changed.

    The result is the same ``Dataset`` as ``load_records`` (same checks, same messages):
    each file is parsed and validated on its own and cached; the cross-file checks run on
    every load. A person whose record and event files did not change is taken, with the
    findings of its event checks, from the previous load (``_assemble``'s memo): on a
    province's records that is most of the load's time.
    """

    def __init__(self, root: Path, base: Path, parse_cache: Path | None = None):
        self.root = root
        self.base = base
        # the first load takes the unchanged files' parse results from the output folder's
        # parse cache (``records.cache``, as ``docgen build`` does): a restart is quick
        self.parse_cache = parse_cache
        self._files: dict[Path, tuple] = {}  # path -> (stamp, (record, src) | None, diagnostics)
        self._memo: dict = {}  # persons assembled by the last load
        self._unreadable: list = []  # diagnostics of the folders the last walk could not list
        self.files_changed = True  # the last load found files added or removed

    def load(self, changed: set[Path] | None = None) -> Dataset:
        """The records as they are now. ``changed``: the paths the file watcher reported since
        the last load; when they are all files that were already there and still are (an edit,
        not a file added, removed or renamed), the folder is not walked again."""
        try:
            from .records import load as loader

            parse_file, assemble = loader._load_file, loader._assemble
        except AttributeError:  # the loader changed shape: load everything
            self.files_changed = True
            return load_records([self.root], base=self.base)
        ds = Dataset()
        if changed is not None and self._files and all(p in self._files and p.is_file() for p in changed):
            files = list(self._files)
        else:
            unreadable: list[Path] = []
            files = iter_record_files([self.root], unreadable) if self.root.is_dir() else []
            self._unreadable = unreadable_diagnostics(unreadable, self.base)
        ds.diagnostics.extend(self._unreadable)  # folders that could not be listed at the last walk
        ds.files = files
        if not self.root.exists():
            self.files_changed = True
            return load_records([self.root], base=self.base)
        fresh: dict[Path, tuple] = {}
        loaded = []
        warm = None
        if not self._files and self.parse_cache is not None:
            from .records.cache import RecordParseCache

            warm = RecordParseCache(self.parse_cache)
            parse_file = warm.parse
        for path in files:
            name = str(path)  # pathlib keeps it: no new string per load
            stamp = _stamp(name)
            cached = self._files.get(path)
            if cached is None or cached[0] != stamp:
                scratch = Dataset()
                result = parse_file(path, self.base, scratch)
                cached = (stamp, result, list(scratch.diagnostics))
            fresh[path] = cached
            _, result, diagnostics = cached
            ds.diagnostics.extend(diagnostics)
            if stamp is not None:
                ds.stamps[name] = stamp[:2]
            if result is None:
                ds.bad_files.add(path)
                continue
            loaded.append(result)  # left unchanged by the memo-assembly
        if warm is not None:
            warm.save()
        self.files_changed = set(fresh) != set(self._files)
        self._files = fresh
        assemble(loaded, self.base, ds, memo=self._memo)
        return ds


# --------------------------------------------------------------------------- events


@dataclass
class Change:
    records: set[Path] = field(default_factory=set)
    templates: bool = False
    fonts: bool = False
    signs: bool = False  # the sign specifications (signage/specs.toml)

    def __bool__(self) -> bool:
        return bool(self.records or self.templates or self.fonts or self.signs)


class _Handler:
    """watchdog handler: keeps the paths that matter and wakes the service."""

    def __init__(self, service: "WatchService"):
        self.service = service

    def dispatch(self, event) -> None:
        paths = [getattr(event, "src_path", None), getattr(event, "dest_path", None)]
        kind = event.event_type
        if kind in ("opened", "closed_no_write"):
            return
        if kind == "modified" and getattr(event, "is_directory", False):
            # a folder's listing changed: the files added, removed or renamed have events of
            # their own, and an editor's save (temporary file, rename) must stay a change of
            # one known file, for which the folder is not walked again and the changed
            # person's documents are planned first
            return
        for p in paths:
            if p:
                p = os.fsdecode(p)
                self.service.notify(Path(p), kind, bool(getattr(event, "is_directory", False)))


class WatchService:
    def __init__(self, ws: Workspace, out_dir: Path, period: Period | None, formats: set[str],
                 forms: list | None = None, debounce: float = 0.1, workers: int | None = None,
                 after_build: Callable[[Dataset], None] | None = None,
                 today: Callable[[], dt.date] = dt.date.today):
        """``period``: the period of the unit tables; ``None``: follow the calendar (``today``)."""
        self.ws = ws
        self.out_dir = Path(out_dir)
        self.period = period
        self.today = today
        self._built_periods: list[Period] | None = None
        self.formats = formats
        self.forms = forms
        self.debounce = debounce
        self.workers = workers
        self.records_dir = ws.records.resolve() if ws.records.exists() else ws.records
        self.templates_dir = (PACKAGE_ROOT / "templates").resolve()
        self.fonts_dir = (PACKAGE_ROOT / "fonts").resolve()
        self.signage_dir = (PACKAGE_ROOT / "signage").resolve()
        # more outputs made from the records after each build (the CLI adds the station signs)
        self.after_build = after_build
        from .records.cache import CACHE_NAME

        self.cache = RecordCache(self.records_dir, ws.root, self.out_dir / CACHE_NAME)
        self._events: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._diagnostics: set[str] = set()  # record problems already reported
        self._notice_warnings: set[str] = set()  # issued notices found changed, already reported
        self._notices_checked = False  # (the first batch looks at every outstanding notice)
        self._form_errors: dict[str, str] = {}  # document errors already reported: key -> text
        self._outputs_seen: tuple | None = None  # the output folder as the last batch left it
        self._records_id = _dir_id(self.records_dir)  # the records folder being watched
        self._observer = None
        self._records_watch = None
        self._handler = _Handler(self)
        self.batches = 0
        self.pool = None
        self._persons: set[str] | None = None  # the persons of the last batch built
        self._held: tuple[str, ...] | None = None  # persons whose files vanished: updates held

    # ---- events
    def classify(self, path: Path, is_dir: bool) -> str | None:
        try:
            rel = path.relative_to(self.records_dir)
            if any(part.startswith(".") for part in rel.parts):
                return None
            if is_dir or path.suffix in RECORD_SUFFIXES:
                return "records"
            return None
        except ValueError:
            pass
        if path.name.startswith((".", "~$")):
            return None
        if path.parent == self.templates_dir and path.suffix == ".docx":
            return "templates"
        try:
            path.relative_to(self.fonts_dir)
            if path.name == "roles.toml" or path.suffix.lower() in FONT_SUFFIXES:
                return "fonts"
        except ValueError:
            pass
        if path.parent == self.signage_dir and path.name == "specs.toml":
            return "signs"
        return None

    def notify(self, path: Path, kind: str, is_dir: bool = False) -> None:
        what = self.classify(path, is_dir)
        if what:
            self._events.put((what, path, kind, _stamp(path)))

    def stop(self) -> None:
        self._stop.set()
        self._events.put(None)

    def _collect(self) -> Change | None:
        """Block until something changed, then until it has been quiet for ``debounce``."""
        try:
            first = self._events.get(timeout=1.0)
        except queue.Empty:
            return None
        items = [first]
        while not self._stop.is_set():
            try:
                items.append(self._events.get(timeout=self.debounce))
            except queue.Empty:
                break
        change = Change()
        seen_stamps: dict[Path, tuple | None] = {}
        for item in items:
            if item is None:
                continue
            what, path, kind, stamp = item
            seen_stamps[path] = stamp
            if what == "records":
                change.records.add(path)
            elif what == "templates":
                change.templates = True
            elif what == "fonts":
                change.fonts = True
            elif what == "signs":
                change.signs = True
        self._settle(change.records, seen_stamps)
        return change

    def _settle(self, paths: set[Path], seen: dict[Path, tuple | None], timeout: float = 5.0) -> None:
        """Wait until the changed files stop changing (never read a file half-written): a
        file is settled when it is as it was at its last event, a quiet period ago."""
        before = {p: _stamp(p) for p in paths}
        if all(before[p] == seen.get(p) for p in paths):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            time.sleep(0.05)
            after = {p: _stamp(p) for p in paths}
            if after == before:
                return
            before = after

    # ---- periods
    def periods(self) -> list[Period]:
        """The periods whose unit tables are kept up to date, the main one first."""
        if self.period is not None:
            return [self.period]
        today = self.today()
        month = Period(today.year, month=today.month)
        return [month, month.previous_month()] if today.day <= REPORT_DAY else [month]

    def calendar_moved(self) -> bool:
        return self._built_periods is not None and self.periods() != self._built_periods

    def _describe_periods(self, periods: list[Period]) -> str:
        if self.period is not None:
            return f"期间 {self.period}"
        text = f"期间 {periods[0]}（随日历）"
        if len(periods) > 1:
            text += f"，{periods[1]} 的报表在本月 {REPORT_DAY} 日上报截止前也随记录更新"
        return text

    # ---- the output folder, written by others too
    def _output_stamp(self) -> tuple:
        """What another program's writing in the output folder changes: the folder, its
        manifest and state, its subfolders (not the print bundles' folder: ``docgen print``
        only reads the documents)."""
        out = self.out_dir
        try:
            subdirs = sorted((e.name, e.inode()) for e in os.scandir(out)
                             if e.is_dir(follow_symlinks=False) and e.name != PRINT_DIR)
        except OSError:
            subdirs = []
        return _dir_id(out), _stamp(out / MANIFEST), _stamp(out / STATE), tuple(subdirs)

    def outputs_moved(self) -> bool:
        """Whether the output folder is no longer as this service's last batch left it."""
        return self._outputs_seen is not None and self._output_stamp() != self._outputs_seen

    # ---- work
    def rebuild(self, change: Change | None) -> BuildResult | None:
        started = time.monotonic()
        if _dir_id(self.records_dir) is None:
            # moved away or deleted: not a reason to drop every document (reported once)
            self._check_records_dir()
            return None
        if change is not None and change.fonts:
            _reset_fonts()
            if self.pool is not None:  # the workers hold the old fonts
                self.pool.shutdown(wait=True)
                self.pool = make_pool(self.workers)
        try:
            ds = self.cache.load(None if change is None or change.templates or change.fonts else change.records)
        except DocgenError as exc:
            log.error("错误：%s", exc.message)
            return None
        except OSError as exc:
            log.error("错误：%s（记录未读入，文书未更新）", os_error_message(exc))
            return None
        ds.workspace = self.ws
        forms = self.forms or list(all_forms().values())
        # the changed files bound what has to be looked at, unless files came or went (a new
        # person joins unit tables that did not depend on any of their files before)
        changed = None
        if change is not None and not self.cache.files_changed and not change.templates and not change.fonts:
            changed = {str(p) for p in change.records}
        periods = self.periods()
        turned = self._built_periods is not None and periods != self._built_periods
        if turned:
            log.info("日期已到 %s：%s", self.today().isoformat(), self._describe_periods(periods))
            changed = None  # the new period's tables are all made now
        try:
            # one writer at a time in the output folder (a clerk's docgen build waits for this
            # batch, this batch for the clerk's build)
            with output_lock(self.out_dir, on_wait=lambda text: log.info("%s", text)):
                try:
                    moved = self.outputs_moved()
                    if moved:
                        log.info("输出目录 %s 已被其他程序改动（手动运行的 docgen 命令或手工删改）：核对全部文书",
                                 self.out_dir)
                        changed = None  # what this service wrote last is no guide: look at everything
                    was_held = self._held is not None
                    if self._hold(ds, full=change is None or moved):
                        return None  # (the records' problems now are those of the missing persons)
                    self._report(ds)
                    if was_held:
                        changed = None  # the saves made while held were not built: look at everything
                    result = self._build(ds, forms, periods, changed, started, turned, full=changed is None and (
                        change is None or turned or moved))
                    self._persons = set(ds.persons)
                    return result
                finally:
                    self._outputs_seen = self._output_stamp()
        except DocgenError as exc:
            log.error("错误：%s", exc.message)
        except Interrupted:
            raise
        except OSError as exc:  # disk full, no permission …: the last good files stay in place
            log.error("错误：%s（文书未全部更新；腾出磁盘空间或改好权限后，下次保存记录时补做）", os_error_message(exc))
            log.debug("详细信息", exc_info=True)
        except Exception as exc:  # the service keeps running; the next change tries again
            log.error("内部错误：%s: %s（文书未更新；请报告给维护人员）", type(exc).__name__, exc)
            log.debug("详细信息", exc_info=True)
            self._renew_pool()
        return None

    def _hold(self, ds: Dataset, full: bool) -> bool:
        """Whether this batch must not be built: many persons' record files vanished at once.

        A quick look first (the persons of the last batch that are missing now); the output
        folder's manifest and state decide: the persons it has documents of whose every record
        file is gone. After a ``docgen build`` by hand (``full``) the manifest no longer lists
        the persons removed on purpose, and the batch goes ahead."""
        now = ds.persons
        if self._held is None and not full and self._persons is not None \
                and sum(1 for pid in self._persons if pid not in now) < min(MASS_GONE, max(2, len(self._persons))):
            return False
        gone = vanished_persons(self.out_dir, ds)
        if len(gone) >= MASS_GONE or (len(gone) >= 2 and not now):
            held = tuple(sorted(gone))
            if held != self._held:
                shown = "、".join(held[:5]) + ("等" if len(held) > 5 else "")
                log.error("错误：%d 名照管对象的记录文件同时不见了（%s）：可能是目录被移走，或同步软件、网络盘断开。"
                          "为免报表漏统计这些人、清单删去他们的文书，暂停更新，已有文书保持不变；文件回来后自动继续。"
                          "若确是有意删除，请手动运行一次 docgen build 确认", len(held), shown)
            self._held = held
            return True
        if self._held is not None:
            log.info("已恢复：不见的记录文件已回来（或已由 docgen build 确认），核对全部文书")
            self._held = None
        return False

    def _build(self, ds: Dataset, forms: list, periods: list[Period], changed: set[str] | None,
               started: float, turned: bool, full: bool) -> BuildResult:
        """The build of one batch, under the output folder's lock; logs what it did."""
        result = build(ds, forms, self.out_dir, periods[0], self.formats, workers=self.workers,
                       changed=changed, pool=self.pool, clean=False)
        periodic = [f for f in forms if f.periodic]
        for extra in periods[1:]:
            if periodic:
                _add_result(result, build(ds, periodic, self.out_dir, extra, self.formats, workers=self.workers,
                                          changed=changed, pool=self.pool, clean=False))
        self._built_periods = periods
        elapsed = time.monotonic() - started
        form_errors: dict[str, str] = {}
        for e in result.errors:
            if e.get("form") or "line" not in e:
                key = f"{e.get('form') or ''}|{e.get('record')}|{e['message']}"
                what = f"表单 {e['form']}，" if e.get("form") else ""
                form_errors[key] = f"{what}{e.get('record') or ''}：{e['message']}"
                if key not in self._form_errors:
                    log.error("错误：%s", form_errors[key])
        if not turned:  # (a period no longer made has its errors no longer reported: not corrected)
            for key in sorted(self._form_errors.keys() - form_errors.keys()):
                log.info("已更正：%s", self._form_errors[key])
        self._form_errors = form_errors
        if result.rendered or full or any(e.get("write_failed") for e in result.errors):
            files = "、".join(sorted(result.changed)[:6]) + (f"等 {len(result.changed)} 个文件" if len(result.changed) > 6 else "")
            log.info("已更新 %d 份文书（%d 份未变化%s），用时 %.2f 秒%s", result.rendered, result.skipped,
                     f"，{result.held} 份因记录文件有错或无法写入保留原样" if result.held else "", elapsed,
                     f"；写入 {files}" if files else "")
        else:
            log.info("记录已变化，文书无须更新（%d 份未变化%s），用时 %.2f 秒", result.skipped,
                     f"，{result.held} 份保留原样" if result.held else "", elapsed)
        if self.after_build is not None:
            try:
                self.after_build(ds)
            except DocgenError as exc:
                log.error("错误：%s", exc.message)
            except OSError as exc:
                log.error("错误：%s（标牌未更新）", os_error_message(exc))
            except Exception as exc:  # the service keeps running
                log.error("内部错误：%s: %s（请报告给维护人员）", type(exc).__name__, exc)
                log.debug("详细信息", exc_info=True)
        if any(f.code in ("F", "K") for f in forms):
            self._report_notices(ds, changed)
        self.batches += 1
        return result

    def _report_notices(self, ds: Dataset, changed: set[str] | None) -> None:
        """Say once when a notice still out (no receipt) no longer matches the records: it
        stays as issued, and the clerk decides whether to void it and issue another. A save
        that touched neither a unit's file nor the file of a person of an outstanding notice's
        institution cannot change one (files that came or went make ``changed`` None: all are
        looked at)."""
        from .registry.notices import has_register, list_notices, outstanding_change_warnings

        try:
            if not has_register(self.ws.data):
                self._notice_warnings = set()
                return
            if changed is not None and self._notices_checked:
                out = [r for r in list_notices(self.ws.data) if not r["voided"] and not r["receipt_date"]]
                insts = {r["institution"] for r in out}  # (a person who may join a notice's list)
                ids = ({pid for r in out for pid in r["people_ids"]} | set(ds.stations) | set(ds.institutions)
                       | {pid for pid, p in ds.persons.items() if p.detention.institution in insts})
                if not any(str(f) in changed for i in ids for f in ds.sources.get(i, ())):
                    return
            current = set(outstanding_change_warnings(ds, self.ws.data))
            self._notices_checked = True
        except DocgenError as exc:
            log.error("错误：%s", exc.message)
            return
        for text in sorted(current - self._notice_warnings):
            log.warning("%s", text)
        self._notice_warnings = current

    def _renew_pool(self) -> None:
        if self.pool is None:
            return
        try:
            self.pool.shutdown(wait=False, cancel_futures=True)
        except Exception:  # pragma: no cover - a broken pool
            pass
        self.pool = make_pool(self.workers)

    def _report(self, ds: Dataset) -> None:
        """Log each record problem once, when it appears, and say when it is gone."""
        current = set()
        for d in ds.diagnostics:
            text = str(d)
            current.add(text)
            if text not in self._diagnostics:
                if d.severity == "错误":
                    log.error("记录文件有错，由它生成的文书保留上次的版本：%s", text)
                else:
                    log.warning("%s", text)
        for text in sorted(self._diagnostics - current):
            log.info("已更正：%s", text)
        self._diagnostics = current

    def _check_records_dir(self) -> bool:
        """Notice the records folder moved away, deleted, back, or replaced by another folder
        (a restore from a backup): the file watcher follows the folder it was given, so a new
        one is watched again. True when the folder is back (time to catch up)."""
        now = _dir_id(self.records_dir)
        if now == self._records_id:
            return False
        self._records_id = now
        if now is None:
            log.error("错误：记录目录 %s 不见了（被移走、改名或删除？）；原有文书保持不变，目录恢复后自动继续",
                      self.records_dir)
            return False
        log.info("记录目录 %s 已恢复（或换成了另一个目录）：重新监视，核对文书", self.records_dir)
        if self._observer is not None:
            try:
                if self._records_watch is not None:
                    self._observer.unschedule(self._records_watch)
            except Exception:  # the watch of a deleted folder may be gone already
                pass
            self._records_watch = self._observer.schedule(self._handler, str(self.records_dir), recursive=True)
        return True

    def run(self) -> None:
        from watchdog.observers import Observer

        private_dir(self.out_dir)
        service_lock = _service_lock(self.out_dir)
        try:
            self._run(Observer)
        finally:
            os.close(service_lock)

    def _run(self, Observer) -> None:
        with output_lock(self.out_dir, on_wait=lambda text: log.info("%s", text)):
            n = clean_partials(self.out_dir)  # no other docgen is writing there now
        if n:
            log.info("已清除上次中断时留下的 %d 个临时文件", n)
        log.info("开始监视 %s（输出到 %s，%s）", self.records_dir, self.out_dir, self._describe_periods(self.periods()))
        if not self.records_dir.is_dir():
            raise DocgenError(f"记录目录不存在：{self.records_dir}")
        warm_forms(self.forms or all_forms().values())
        if (self.workers or default_workers()) > 1:
            # started before any other thread, so the workers are forked with the fonts loaded
            # and every form rendered once
            self.pool = make_pool(self.workers)
        observer = self._observer = Observer()
        self._records_watch = observer.schedule(self._handler, str(self.records_dir), recursive=True)
        for extra in (self.templates_dir, self.fonts_dir, self.signage_dir):
            if extra.is_dir():
                observer.schedule(self._handler, str(extra), recursive=extra == self.fonts_dir)
        observer.start()
        try:
            self.rebuild(None)  # catch up with what changed while the service was down
            _tidy_memory(full=True)
            log.info("就绪：保存记录后自动生成文书（Ctrl-C 停止）")
            last_batch, tidied = time.monotonic(), True
            retry_at = 0.0  # a batch without a save that failed is tried again from then on
            while not self._stop.is_set():
                change = self._collect()
                if self._stop.is_set():
                    break
                if self._check_records_dir():
                    change = None  # back (or another folder): look at everything
                elif not change and (time.monotonic() < retry_at
                                     or not (self.calendar_moved() or self.outputs_moved())):
                    if not tidied and time.monotonic() - last_batch > FULL_COLLECT_AFTER:
                        _tidy_memory(full=True)  # quiet for a while: nobody is waiting
                        tidied = True
                    continue
                # a save; or, without one: a new month (or the reporting window closed), the
                # output folder changed by another program, the records folder back
                done = self.rebuild(change or None) is not None
                retry_at = 0.0 if done or change else time.monotonic() + RETRY_AFTER
                _tidy_memory()
                last_batch, tidied = time.monotonic(), False
        except Interrupted:
            pass  # stopped by a signal while rendering: finished documents are in the manifest
        finally:
            observer.stop()
            observer.join(timeout=5)
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
            log.info("已停止监视")


def _service_lock(out_dir: Path) -> int:
    """Take the output folder's service lock (one watch service per folder); its descriptor."""
    fd = os.open(out_dir / SERVICE_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyWatched(f"输出目录 {out_dir} 已有一个监视服务（docgen watch）在运行，同一输出目录只能运行一个。"
                          "请先停止它（systemctl --user stop docgen-watch，或在它的终端按 Ctrl-C），"
                          "或用 --out 指定另一个输出目录。") from None
    return fd


FULL_COLLECT_AFTER = 30.0  # seconds without a save before a full garbage collection
RETRY_AFTER = 60.0  # seconds before a failed batch without a save (new month, outputs changed) runs again


def _add_result(total: BuildResult, more: BuildResult) -> None:
    """Count a second build of the same batch (another period) into the first one's result."""
    total.documents = more.documents  # the manifest as written last (it holds both periods)
    total.errors += more.errors
    total.skipped += more.skipped
    total.rendered += more.rendered
    total.held += more.held
    total.pages += more.pages
    total.bytes_pdf += more.bytes_pdf
    total.changed += more.changed


def _tidy_memory(full: bool = False) -> None:
    """Keep Python's garbage collector out of the clerk's way.

    A full collection walks every object the service holds (records, manifest, state: 0.2 s
    for 1,000 persons, over a second for 10,000) and used to land in every few saves. After
    each batch the young garbage is collected (cheap) and the survivors are frozen, so the
    collections during the next batch only walk what that batch makes. Frozen objects are
    still freed when nothing refers to them; only cycles among them wait for the ``full``
    collection, done at start and after a quiet spell (``FULL_COLLECT_AFTER``)."""
    if full:
        gc.unfreeze()
        gc.collect()
    else:
        gc.collect(1)
    gc.freeze()


def _reset_fonts() -> None:
    """Forget resolved fonts so that a new or removed font file is seen."""
    from .render import fonts

    for name in ("face_index", "role_font", "role_table"):
        fn = getattr(fonts, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


def install_signal_handlers(service: WatchService) -> None:
    def handler(signum, frame):
        log.info("收到%s信号，正在停止……", "中断" if signum == signal.SIGINT else "终止")
        service.stop()
        request_stop()  # a build under way stops after the documents in hand

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
