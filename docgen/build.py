"""``docgen build``: render the selected forms for the workspace into OUT_DIR.

Every output is written atomically; ``manifest.json`` lists each document (form, person or
unit, period, files relative to OUT_DIR, SHA-256) and the errors of the run. Entries of
forms not built in this run are kept while their files exist, so partial builds (one
form, one period) add to the manifest instead of replacing it.

Incremental builds: every target gets a fingerprint (form code, docgen version, the code
of the form and the renderers, the DOCX template, the font configuration, the wanted
formats and the view, i.e. exactly what is rendered). ``OUT_DIR/.docgen-state.json``
keeps, per document, its fingerprint, the record files it was made from and the size and
modification time of its files. A target whose fingerprint and files did not change is
not rendered again (``force=True`` renders everything).

A record file that does not load (``Dataset.bad_files``) holds the documents made from it:
their previous outputs and manifest entries stay as they were until the file is fixed.

Rendering runs in worker processes (``ProcessPoolExecutor``) when there is enough work;
the fonts are loaded once per worker. A build stopped by SIGINT/SIGTERM stops its workers,
which remove their temporary files; what was finished is recorded in the manifest.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import __version__
from .documents.base import Form, Period, Target, check_record_chars
from .errors import DocgenError, os_error_message
from .fsutil import atomic_write, clean_partials, private_dir
from .records.load import Dataset
from .render.fonts import MissingGlyph

MANIFEST = "manifest.json"
STATE = ".docgen-state.json"
STATE_VERSION = 1
LOCK = ".docgen.lock"  # held by the process writing in the output folder (output_lock)
ALL_DEPS = "*"  # a target that names no record files depends on all of them


@dataclass
class BuildResult:
    documents: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    skipped: int = 0  # up to date, not rendered again
    rendered: int = 0  # rendered in this run
    held: int = 0  # kept as they were because a record file they depend on is broken
    pages: int = 0  # pages of the PDFs rendered in this run
    bytes_pdf: int = 0  # size of the PDFs rendered in this run
    changed: list[str] = field(default_factory=list)  # files (relative to OUT_DIR) written in this run

    @property
    def ok(self) -> bool:
        return not self.errors


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- manifest and state


def load_manifest(out_dir: Path) -> dict:
    path = out_dir / MANIFEST
    if not path.exists():
        return {"documents": [], "errors": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, OSError):
        return {"documents": [], "errors": []}


def write_manifest(out_dir: Path, documents: list[dict], errors: list[dict]) -> None:
    docs = sorted(documents, key=lambda d: (d["form"], d.get("key", ""), d.get("period") or ""))
    _write_json_lines(out_dir / MANIFEST, {"generator": f"docgen {__version__}", "documents": docs,
                                           "errors": errors})


def forget_documents(out_dir: Path, document: Callable[[dict], bool], state_ident: Callable[[str], bool],
                     error: Callable[[dict], bool] | None = None) -> None:
    """Take documents off the manifest (and the errors ``error`` picks) and their entries off the
    build state, each file rewritten once and only when something goes; the manifest first, so
    that it never lists a document whose files are gone. Deleting the files is the caller's
    (the archive's purge and notice redaction), under the output lock."""
    if (out_dir / MANIFEST).exists():
        manifest = read_manifest(out_dir)
        docs = [e for e in manifest.get("documents", []) if not (isinstance(e, dict) and document(e))]
        errs = [e for e in manifest.get("errors", []) if not (error and isinstance(e, dict) and error(e))]
        if len(docs) != len(manifest.get("documents", [])) or len(errs) != len(manifest.get("errors", [])):
            write_manifest(out_dir, docs, errs)
    state = load_state(out_dir)
    stale = {k for k in state if state_ident(k)}
    if stale:
        write_state(out_dir, {k: v for k, v in state.items() if k not in stale})


def _write_json_lines(path: Path, data: dict) -> None:
    """JSON with one list item per line: readable and diffable, and written by the fast
    C encoder (``indent`` would switch to the slow one, seconds for a province)."""
    parts = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        k = json.dumps(key, ensure_ascii=False)
        if isinstance(value, list) and value:
            rows = ",\n    ".join(json.dumps(v, ensure_ascii=False) for v in value)
            parts.append(f"  {k}: [\n    {rows}\n  ]{comma}")
        else:
            parts.append(f"  {k}: {json.dumps(value, ensure_ascii=False)}{comma}")
    parts.append("}\n")
    text = "\n".join(parts)
    atomic_write(path, text.encode("utf-8"))
    _remember(path, data)


# parsed manifest and state, reused while the file is unchanged (the watch service reads
# them on every save); never handed out to callers that could change them
_json_cache: dict[str, tuple[tuple, object]] = {}


def _stat_key(path: Path) -> tuple | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _remember(path: Path, data) -> None:
    key = _stat_key(path)
    if data is not None and key is not None:
        _json_cache[str(path)] = (key, data)
    else:
        _json_cache.pop(str(path), None)


def _read_json(path: Path):
    key = _stat_key(path)
    if key is None:
        return None
    hit = _json_cache.get(str(path))
    if hit is not None and hit[0] == key:
        return hit[1]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    _json_cache[str(path)] = (key, data)
    return data


def read_manifest(out_dir: Path) -> dict:
    """The manifest, parsed once while the file is unchanged (shared: read it, never change it)."""
    data = _read_json(out_dir / MANIFEST)
    return data if isinstance(data, dict) else {"documents": [], "errors": []}


_manifest_for_build = read_manifest


def ident(form: str, key: str, period: str | None) -> str:
    return f"{form}|{key}|{period or ''}"


def entry_ident(entry: dict) -> str:
    return ident(entry.get("form") or "", entry.get("key") or "", entry.get("period"))


def load_state(out_dir: Path) -> dict[str, dict]:
    """Per document: ``fp`` fingerprint, ``deps`` record files (or "*"), ``stat`` of its files.

    The result is shared with a cache: do not change it in place."""
    data = _read_json(out_dir / STATE)
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return {}
    docs = data.get("documents")
    return docs if isinstance(docs, dict) else {}


def vanished_persons(out_dir: Path, ds: Dataset) -> list[str]:
    """The persons ``out_dir``'s manifest has documents of who are not in ``ds`` and whose
    record files (as the state names them) are all gone: not broken, not moved elsewhere in
    the records (that person would be in ``ds``), gone. In the manifest's order.

    A document's files include those of other records it reads (the station's file for E, I,
    U …); the files that belong to a record loaded now are not the person's own and do not
    count (else a station file still in place would hide every vanished person)."""
    state = load_state(out_dir)
    files: dict[str, set[str]] = {}
    for entry in read_manifest(out_dir).get("documents", []):
        pid = entry.get("person") if isinstance(entry, dict) else None
        if not pid or pid in ds.persons:
            continue
        deps = (state.get(entry_ident(entry)) or {}).get("deps")
        if isinstance(deps, list):
            files.setdefault(pid, set()).update(deps)
    if not files:
        return []
    others = {str(f) for paths in ds.sources.values() for f in paths}
    own = {pid: deps - others for pid, deps in files.items()}
    return [pid for pid, deps in own.items() if deps and not any(os.path.exists(f) for f in deps)]


def write_state(out_dir: Path, state: dict[str, dict]) -> None:
    data = {"version": STATE_VERSION, "generator": f"docgen {__version__}", "documents": state}
    path = out_dir / STATE
    atomic_write(path, json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    _remember(path, data)


def file_stats(out_dir: Path, files: dict[str, str]) -> dict[str, list[int]] | None:
    """``{rel: [size, mtime_ns]}`` of a document's files; None when one is missing."""
    stats = {}
    for rel in files.values():
        try:
            st = (out_dir / rel).stat()
        except OSError:
            return None
        stats[rel] = [st.st_size, st.st_mtime_ns]
    return stats


# --------------------------------------------------------------------------- fingerprints


def _file_hash(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "-"
    return _file_hash_cached(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=512)
def _file_hash_cached(path: str, size: int, mtime_ns: int) -> str:
    try:
        return sha256(Path(path).read_bytes())
    except OSError:
        return "-"


_RENDER_MODULES = ("documents/base.py", "documents/layout.py", "build.py")  # and every render/ module


def code_fingerprint(form: Form) -> str:
    """Hash of the code that turns a view into files: the form's module and the renderers."""
    import inspect

    pkg = Path(__file__).resolve().parent
    parts = [__version__]
    try:
        parts.append(_file_hash(Path(inspect.getfile(type(form)))))
    except (TypeError, OSError):
        parts.append(type(form).__qualname__)
    parts.extend(_file_hash(pkg / rel) for rel in _RENDER_MODULES)
    parts.extend(_file_hash(path) for path in sorted((pkg / "render").glob("*.py")))
    return sha256("|".join(parts).encode())


def fonts_fingerprint() -> str:
    """The font configuration: roles.toml and the face each role resolves to."""
    from .render.fonts import role_font, role_table, roles_file

    parts = [_file_hash(roles_file())]
    try:
        for role in role_table():
            rf = role_font(role)
            parts.append(f"{role}:{rf.face.key}:{rf.fallback.key if rf.fallback else ''}")
    except (DocgenError, OSError) as exc:  # the render reports it with a clear message
        parts.append(f"error:{exc}")
    return sha256("|".join(parts).encode())


def form_fingerprint(form: Form, want: set[str], fonts_fp: str | None = None) -> str:
    """Everything but the view that decides a form's output bytes."""
    parts = [form.code, ",".join(sorted(want)), code_fingerprint(form),
             fonts_fp if fonts_fp is not None else fonts_fingerprint()]
    if "docx" in want:
        parts.append(_file_hash(form.template_path))
    return sha256("\0".join(parts).encode())


def fingerprint(form: Form, view: dict, want: set[str], fonts_fp: str | None = None,
                form_fp: str | None = None) -> str:
    """What decides a document's bytes: if this does not change, the files do not either."""
    h = hashlib.sha256((form_fp or form_fingerprint(form, want, fonts_fp)).encode())
    h.update(json.dumps(view, sort_keys=True, default=str, ensure_ascii=False).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- rendering


def render_target(form: Form, target: Target, out_dir: Path, want: set[str]) -> dict:
    """Render one target in every wanted format; returns its manifest entry."""
    outputs: dict[str, bytes] = {}
    if "pdf" in want:
        outputs["pdf"] = form.render_pdf(target.view, target.context)
    if "docx" in want:
        outputs["docx"] = form.render_docx(target.view)
    if "xlsx" in want and form.xlsx:
        data = form.render_xlsx(target.view)
        if data is not None:
            outputs["xlsx"] = data
    files, hashes = {}, {}
    for ext, data in outputs.items():
        rel = f"{target.path}.{ext}"
        atomic_write(out_dir / rel, data)
        files[ext] = rel
        hashes[ext] = sha256(data)
    entry = {"form": form.code, "name": form.name, "key": target.key, "files": files, "sha256": hashes}
    if target.person:
        entry["person"] = target.person
    if target.unit:
        entry["unit"] = target.unit
    if target.period:
        entry["period"] = target.period
    if "pdf" in outputs:
        entry["pages"] = count_pages(outputs["pdf"])
        entry["bytes"] = len(outputs["pdf"])
    extra = getattr(target, "manifest", None)  # a form's own fields (notices: number, voided …)
    if extra:
        entry.update(extra)
    return entry


_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def count_pages(pdf: bytes) -> int:
    n = len(_PAGE.findall(pdf))
    if n and b"/ObjStm" not in pdf:  # reportlab writes plain page objects
        return n
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def error_entry(form: str | None, context: str, message: str, **extra) -> dict:
    entry = {"form": form, "record": context, "message": message}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


@dataclass
class Job:
    code: str
    target: Target
    fp: str
    deps: list[str] | str
    form_fp: str = ""


def _render_job(job: Job, out_dir: Path, want: set[str]) -> tuple[str, dict]:
    """("ok", entry) or ("error", error entry); never raises for a bad record."""
    from .documents.registry import all_forms

    form = all_forms()[job.code]
    t = job.target
    try:
        return "ok", render_target(form, t, out_dir, want)
    except DocgenError as exc:  # MissingGlyph is a DocgenError
        return "error", error_entry(form.code, t.context, exc.message, person=t.person, unit=t.unit)
    except OSError as exc:  # disk full, no permission …: the files written last time are still there
        return "error", error_entry(form.code, t.context, os_error_message(exc), person=t.person, unit=t.unit,
                                    write_failed=True)
    except Exception as exc:  # a bug must not stop the other documents (nor the watch service)
        return "error", error_entry(form.code, t.context, f"内部错误：{type(exc).__name__}: {exc}",
                                    person=t.person, unit=t.unit)


# ---- stopping (SIGINT/SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The build was asked to stop; what was finished is in the manifest."""


_stop_requested = threading.Event()
_rendering = threading.Event()


def request_stop() -> bool:
    """Ask a running build to stop after the documents in hand (safe from a signal handler).

    Returns False when no rendering is under way (the caller may then stop at once).
    """
    _stop_requested.set()
    return _rendering.is_set()


def stop_requested() -> bool:
    return _stop_requested.is_set()


# ---- worker processes

_stopping = False
_in_job = False
_STOP_GRACE_S = 5


def _worker_stop(signum, frame):  # pragma: no cover - runs in a worker process
    global _stopping
    _stopping = True
    if not _in_job:
        # idle (waiting for work, or sending a result): nothing to clean up. Unwinding here
        # could be swallowed (a ``__del__`` the collector runs, the pool's own ``except
        # BaseException`` around sending a result) and leave the worker waiting on a queue
        # that a killed build never writes again, holding the build's output pipes.
        os._exit(128 + signum)
    # during a job: unwind through fsutil.atomic_write, which removes its temporary file.
    # Should the unwinding be swallowed or block, the kernel ends the worker shortly
    # (SIGALRM's default action terminates, whatever Python is doing).
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(_STOP_GRACE_S)
    raise SystemExit(128 + signum)


def warm_fonts() -> None:
    """Load every text font once (in the parent before forking, or in each worker)."""
    from .render.fonts import _chain, role_table

    for role in role_table():
        if role in ("plate", "insert"):
            continue
        try:
            _chain(role)
        except DocgenError:
            pass  # reported per document when used


def warm_forms(forms: Iterable[Form]) -> None:
    """Render every form once, blank, and throw the result away: layouts, compiled texts and
    reportlab's caches are then ready (in the parent before forking workers), so the first
    document a clerk waits for is as fast as the next ones."""
    warm_fonts()
    for form in forms:
        try:
            form.render_pdf(form.blank_view(), form.name)
        except Exception:  # a broken form reports itself when it is built
            continue


def _worker_init(warm: bool, parent: int) -> None:  # pragma: no cover - runs in a worker process
    signal.signal(signal.SIGTERM, _worker_stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the workers
    if sys.platform.startswith("linux"):
        try:  # die with the parent: a killed build leaves no worker writing on
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # the build died before the line above (adopted by init or a subreaper)
            os._exit(1)
    if warm:
        warm_fonts()


def _render_chunk(jobs: list[Job], out_dir: Path, want: set[str]) -> list[tuple[str, Job, dict]]:
    global _in_job
    parent = os.getppid()
    out = []
    try:
        for job in jobs:
            if _stopping:
                break
            _in_job = True
            try:
                status, entry = _render_job(job, out_dir, want)
            finally:
                _in_job = False
            out.append((status, job, entry))
    except BaseException:
        # the temporary file of an interrupted write is gone by now (atomic_write unwinds).
        # A stopped worker exits now: handed to the pool, the SystemExit would become a result
        # and the worker would wait for more work until the grace alarm (a stopping build
        # waits for its workers); an orphan (the build was killed) must not linger either
        if _stopping:
            os._exit(128 + signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)
        raise
    if _stopping:
        # the stop was swallowed by a library's bare ``except`` during a job: a stopping build
        # takes no more results, and nothing will ever send an orphan more work
        os._exit(128 + signal.SIGTERM if os.getppid() == parent else 1)
    return out


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class Progress:
    """Build progress: ``start(total)`` once, ``advance(label)`` per finished document."""

    def start(self, total: int) -> None:
        pass

    def advance(self, label: str) -> None:
        pass


class _CallbackProgress(Progress):
    def __init__(self, fn: Callable[[str], None]):
        self.fn = fn

    def advance(self, label: str) -> None:
        self.fn(label)


# --------------------------------------------------------------------------- build


def _target_deps(target: Target) -> list[str] | str:
    if not target.deps:
        return ALL_DEPS
    return sorted({str(p) for p in target.deps})


def _owned_changed(ds: Dataset, target: Target, deps, changed: set[str]) -> bool:
    """Whether a changed file is one of the target's own (its deps or its person's files)."""
    if deps != ALL_DEPS and any(d in changed for d in deps):
        return True
    return any(str(f) in changed for f in ds.sources.get(target.person, []))


def _up_to_date(old: dict | None, prev: dict | None, fp: str, out_dir: Path) -> bool:
    """Whether a document's files on disk are the ones made last time from the same inputs:
    manifest entry ``old``, state ``prev``, fingerprint ``fp`` of what it would be made from now."""
    return old is not None and prev is not None and prev.get("fp") == fp \
        and prev.get("stat") == file_stats(out_dir, old.get("files", {}))


def _depends_on(deps, files: set[str]) -> bool:
    if not files:
        return False
    if deps == ALL_DEPS or deps is None:
        return True
    return any(d in files for d in deps)


_chars_of_file: dict[str, tuple[int, int, frozenset]] = {}  # path -> size, mtime, characters


def _file_chars(path: str, size: int, mtime_ns: int) -> frozenset:
    """The characters of a record file, kept for its current version only (the watch service
    sees a file in many versions over weeks: one entry each would grow without end)."""
    hit = _chars_of_file.get(path)
    if hit is not None and hit[0] == size and hit[1] == mtime_ns:
        return hit[2]
    try:
        chars = frozenset(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        chars = frozenset()
    _chars_of_file[path] = (size, mtime_ns, chars)
    return chars


_glyph_ok: set[tuple] = set()  # (fonts, record files' stamps) found printable
# the fonts and the persons (by id) found printable by the last check
_glyph_ok_persons: tuple[str, dict] = ("", {})


def glyph_problems(ds: Dataset) -> dict[str, str]:
    """Persons with a character no configured font has: {person id: message naming the field}.

    The characters of a person's record files are checked at once; only a person whose
    files have such a character is walked field by field for the message.
    """
    from .render.fonts import missing_chars

    problems: dict[str, str] = {}
    fonts_fp = fonts_fingerprint()
    global _glyph_ok_persons
    last_ok = _glyph_ok_persons[1] if _glyph_ok_persons[0] == fonts_fp else {}
    seen_ok: dict = {}
    for pid, person in ds.persons.items():
        # the very person object found printable last time (the watch service's record cache
        # hands out the same object while the person's files are unchanged)
        if last_ok.get(id(person)) is person:
            seen_ok[id(person)] = person
            continue
        chars: set[str] = set()
        stamps = []
        for f in ds.sources.get(pid, []):
            name = str(f)
            known = ds.stamps.get(name)
            if known is None:
                try:
                    st = os.stat(name)
                except OSError:
                    stamps = None
                    break
                known = (st.st_size, st.st_mtime_ns)
            stamps.append((name, *known))
            chars |= _file_chars(name, *known)
        key = (fonts_fp, tuple(stamps)) if stamps else None
        if key is not None and key in _glyph_ok:
            seen_ok[id(person)] = person
            continue
        if stamps and chars:
            text = "".join(sorted(chars))
            if not missing_chars(text, "table") and not missing_chars(text, "body"):
                if len(_glyph_ok) > 200_000:
                    _glyph_ok.clear()
                _glyph_ok.add(key)
                seen_ok[id(person)] = person
                continue
        try:
            check_record_chars(person, ("table", "body"), f"照管对象 {pid}（{person.name}）")
        except MissingGlyph as exc:
            problems[pid] = exc.message
    _glyph_ok_persons = (fonts_fp, seen_ok)  # holds the persons, so an id is never reused meanwhile
    return problems


_held_locks: dict[str, int] = {}  # output folders whose lock this process holds -> depth


@contextmanager
def output_lock(out_dir: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the output folder's writer lock (``OUT_DIR/.docgen.lock``, fcntl): documents,
    ``manifest.json`` and the state are written by one docgen process at a time (the watch
    service, a clerk's ``docgen build``). Another writer is waited for; ``on_wait`` gets a
    Chinese line saying so (default: standard error). A stop request (SIGINT/SIGTERM) ends
    the wait with ``Interrupted``. Re-entrant within a process."""
    out_dir = Path(out_dir)
    private_dir(out_dir)
    key = str(out_dir.resolve())
    if _held_locks.get(key):
        _held_locks[key] += 1
        try:
            yield
        finally:
            _held_locks[key] -= 1
        return
    fd = os.open(out_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = f"输出目录 {out_dir} 正由另一个 docgen 进程写入（监视服务或另一次生成），等它写完再继续……"
            (on_wait or (lambda m: print(m, file=sys.stderr, flush=True)))(text)
            while True:
                if _stop_requested.is_set():
                    raise Interrupted() from None
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    time.sleep(0.1)
        _held_locks[key] = 1
        try:
            yield
        finally:
            _held_locks.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def build(ds: Dataset, forms: Iterable[Form], out_dir: Path, period: Period | None,
          formats: set[str] | None = None, progress: Callable[[str], None] | Progress | None = None,
          **options) -> BuildResult:
    """Build ``forms`` into ``out_dir`` (see ``_build``) under the folder's writer lock: the
    watch service and a build run by hand on the same folder take turns (``output_lock``)."""
    with output_lock(out_dir):
        return _build(ds, forms, out_dir, period, formats, progress, **options)


def _build(ds: Dataset, forms: Iterable[Form], out_dir: Path, period: Period | None,
           formats: set[str] | None = None, progress: Callable[[str], None] | Progress | None = None, *,
           force: bool = False, workers: int | None = None, changed: set[str] | None = None,
           pool=None, clean: bool = True) -> BuildResult:
    """Build ``forms`` for the records of ``ds`` into ``out_dir``.

    Only targets whose fingerprint or files changed are rendered (all with ``force``).
    ``workers``: rendering processes (default: every core; 1 renders in this process).
    ``changed``: the record files known to have changed since the last build (the watch
    service). When they are all persons' files, another person's document whose files are
    in place is taken as up to date without computing its fingerprint; every other
    document (unit tables …) is fingerprinted as usual.
    ``pool``: a running executor made by ``make_pool`` (the watch service keeps one), used
    whenever there are two documents or more to render.
    ``clean``: first remove temporary files a killed writer left in ``out_dir`` (the watch
    service does this once, when it starts).
    """
    want = formats or {"pdf", "docx", "xlsx"}
    out_dir = Path(out_dir)
    private_dir(out_dir)
    if clean:  # leftovers of a writer killed before it could clean up
        clean_partials(out_dir)
    prog = progress if isinstance(progress, Progress) else (_CallbackProgress(progress) if progress else Progress())
    result = BuildResult()
    forms = list(forms)
    bad_files = {str(p) for p in ds.bad_files}
    # record-level errors go to the manifest too
    for d in ds.diagnostics:
        if d.severity == "错误":
            result.errors.append(error_entry(None, d.file, d.message, line=d.line, column=d.column, field=d.field))
    # characters no font has: one error per person, naming the field
    bad_persons = glyph_problems(ds)
    for pid, message in bad_persons.items():
        result.errors.append(error_entry(None, f"照管对象 {pid}", message, person=pid))

    # a person's document is made from that person's files and shared records (stations,
    # institutions), never from another person's: when only persons' files changed, the
    # documents of the other persons are up to date without computing their fingerprints
    only_person_files = False
    owner: dict[str, str] = {}  # a person's file -> the person
    if changed is not None and not force:
        owner = {str(f): pid for pid in ds.persons for f in ds.sources.get(pid, [])}
        only_person_files = bool(changed) and set(changed) <= owner.keys()
    previous = _manifest_for_build(out_dir)
    old_manifest = {entry_ident(e): e for e in previous.get("documents", []) if isinstance(e, dict)}
    old_state = load_state(out_dir)
    state: dict[str, dict] = dict(old_state)
    period_key = period.key if period else None
    fonts_fp = fonts_fingerprint()
    run_periods: dict[str, set] = {}  # form -> the periods its documents of this run are for
    failed_codes: set[str] = set()
    current: dict[str, dict] = {}  # ident -> manifest entry of this run (reused or rendered)
    seen: set[str] = set()
    dropped: set[str] = set()  # rendered with an error: the old entry no longer stands
    jobs: list[Job] = []
    early: list = []  # with a running pool, jobs go to it as soon as they are planned
    built_codes: list[str] = []  # forms whose targets were all planned in this run

    def dispatch(job: Job):
        if pool is not None:
            early.append(pool.submit(_render_chunk, [job], out_dir, want))
            return early[-1]
        jobs.append(job)
        return None

    # the changed persons' own documents first (what the clerk who saved is waiting for):
    # their targets are computed on a dataset holding only those persons, and rendered at
    # once; the full pass below recomputes every view and renders again only if a view
    # turns out to depend on other persons after all
    early_fp: dict[str, str] = {}  # ident -> fingerprint of the document rendering early
    early_futures: dict[str, object] = {}
    changed_persons = {owner[f] for f in changed} if only_person_files else set()
    carry: _CarryIndex | None = None  # built when a person form is first planned that way
    if only_person_files and pool is not None:
        if changed_persons:
            sub = replace(ds, persons={pid: ds.persons[pid] for pid in sorted(changed_persons)})
            for form in forms:
                if form.scope != "person" or (form.periodic and period is None):
                    continue
                if not form.template_path.exists() and "docx" in want:
                    continue
                try:
                    targets = list(form.targets(sub, period))
                except Exception:  # the full pass reports it
                    continue
                form_fp = form_fingerprint(form, want, fonts_fp)
                for target in targets:
                    if target.person not in changed_persons or target.person in bad_persons:
                        continue
                    iid = ident(form.code, target.key, target.period)
                    fp = fingerprint(form, target.view, want, form_fp=form_fp)
                    old, prev = old_manifest.get(iid), old_state.get(iid)
                    if _up_to_date(old, prev, fp, out_dir):
                        continue  # the full pass keeps it
                    early_fp[iid] = fp
                    early_futures[iid] = dispatch(Job(form.code, target, fp, _target_deps(target), form_fp))

    for form in forms:
        if form.periodic and period is None:
            continue
        if not form.template_path.exists() and "docx" in want:
            result.errors.append(error_entry(form.code, "", f"缺少表单 {form.code} 的 DOCX 模板 "
                                             f"{form.template_path}（请运行 docgen templates 重新生成）"))
            failed_codes.add(form.code)
            continue
        complete_key = (str(out_dir.resolve()), form.code, period_key)
        carried: list[str] = []
        was_complete = complete_key in _complete_builds
        _complete_builds.discard(complete_key)  # until this build has made all of this form
        try:
            if only_person_files and form.scope == "person" and was_complete:
                carry = carry or _CarryIndex.of(owner, old_manifest, previous)
                carried, targets = _plan_person_form(
                    form, ds, period, out_dir, carry, old_manifest, old_state, changed,
                    changed_persons | set(bad_persons), bad_files, form_fingerprint(form, want, fonts_fp))
            else:
                targets = list(form.targets(ds, period))
        except DocgenError as exc:
            result.errors.append(error_entry(form.code, "", exc.message))
            failed_codes.add(form.code)
            continue
        except Exception as exc:  # a bug in one form must not stop the others
            result.errors.append(error_entry(form.code, "", f"内部错误：{type(exc).__name__}: {exc}"))
            failed_codes.add(form.code)
            continue
        run_periods[form.code] = {t.period for t in targets} | {period_key if form.periodic else None}
        for iid in carried:  # the unchanged persons' documents, as the last complete build left them
            current[iid] = old_manifest[iid]
            seen.add(iid)
            run_periods[form.code].add(old_manifest[iid].get("period"))
            result.skipped += 1
        built_codes.append(form.code)
        form_fp = form_fingerprint(form, want, fonts_fp)
        for target in targets:
            iid = ident(form.code, target.key, target.period)
            seen.add(iid)
            if target.person in bad_persons:
                dropped.add(iid)
                continue
            deps = _target_deps(target)
            old = old_manifest.get(iid)
            prev = old_state.get(iid)
            if old is not None and prev is not None and _depends_on(prev.get("deps"), bad_files) \
                    and file_stats(out_dir, old.get("files", {})) is not None:
                current[iid] = old  # made from a file that is now broken: keep the last good output
                result.held += 1
                continue
            if not force and only_person_files and target.person and prev is not None and old is not None \
                    and prev.get("form") == form_fp and not _owned_changed(ds, target, deps, changed) \
                    and prev.get("stat") == file_stats(out_dir, old.get("files", {})):
                current[iid] = old
                result.skipped += 1
                continue
            fp = fingerprint(form, target.view, want, form_fp=form_fp)
            if iid in early_fp:
                if early_fp[iid] == fp:
                    continue  # already rendering (the changed persons' pass above)
                # the view depends on more than its person: render it again, after the early
                # render has written its file, and record only this one
                early_futures[iid].exception()
                early_fp[iid] = fp
            if not force and _up_to_date(old, prev, fp, out_dir):
                current[iid] = old
                state[iid] = {**prev, "deps": deps, "form": form_fp}
                result.skipped += 1
                continue
            dispatch(Job(form.code, target, fp, deps, form_fp))

    prog.start(len(jobs) + len(early))

    def record(status: str, job: Job, entry: dict) -> None:
        iid = ident(job.code, job.target.key, job.target.period)
        if early_fp.get(iid, job.fp) != job.fp:  # superseded (see above)
            prog.advance(f"{job.code} {job.target.path}")
            return
        if status == "ok":
            current[iid] = entry
            state[iid] = {"fp": job.fp, "form": job.form_fp, "deps": job.deps,
                          "stat": file_stats(out_dir, entry["files"])}
            result.rendered += 1
            result.pages += entry.get("pages", 0)
            result.bytes_pdf += entry.get("bytes", 0)
            result.changed.extend(entry["files"].values())
        else:
            result.errors.append(entry)
            old = old_manifest.get(iid)
            if entry.get("write_failed") and old is not None and file_stats(out_dir, old.get("files", {})):
                current[iid] = old  # not written (disk full …): the last good files stay listed
                result.held += 1
            else:
                dropped.add(iid)
                state.pop(iid, None)
        prog.advance(f"{job.code} {job.target.path}")

    try:
        if early:
            _rendering.set()
            try:
                _drain(pool, early, record, own=False)
            finally:
                _rendering.clear()
        _run_jobs(jobs, out_dir, want, workers, record, pool)
        _complete_builds.update((str(out_dir.resolve()), code, period_key) for code in built_codes)
    finally:
        # merge with entries of other forms / periods that still exist, and write what is done
        codes = {f.code for f in forms}
        kept = []
        for iid, old in old_manifest.items():
            if iid in current:
                continue
            same_run = old.get("period") in run_periods.get(old.get("form"), ())
            if same_run and iid not in seen:
                prev = old_state.get(iid)
                # a document whose record file is broken (the person vanished from the data) is held
                if prev is None or not _depends_on(prev.get("deps"), bad_files):
                    state.pop(iid, None)
                    continue
                result.held += 1
            elif iid in dropped:
                continue
            # else: not rendered yet (the build was interrupted) or not part of this run
            if file_stats(out_dir, old.get("files", {})) is not None:
                kept.append(old)
        result.documents = list(current.values())
        # documents first, then the state naming them: a crash in between only costs a re-render
        # errors of forms not built in this run still stand
        carried = [e for e in previous.get("errors", []) if isinstance(e, dict) and e.get("form")
                   and e["form"] not in codes]
        write_manifest(out_dir, kept + result.documents, result.errors + carried)
        listed = set(current) | {entry_ident(e) for e in kept}
        write_state(out_dir, {k: v for k, v in state.items() if k in listed})
    return result


# (output folder, form, period) whose documents a build of this process made completely:
# the next build told which persons' files changed (the watch service) takes the other
# persons' documents of that form from it without computing their views
_complete_builds: set[tuple[str, str, str | None]] = set()


@dataclass
class _CarryIndex:
    """What planning person forms with carried documents looks up, made once per build."""

    owner: dict[str, str]  # a person's record file -> the person
    docs: dict[tuple, list[str]]  # (form, person, period) -> idents in the last manifest
    failed: set[tuple[str, str]]  # (form, person) the last build reported an error for

    @classmethod
    def of(cls, owner: dict[str, str], old_manifest: dict, previous: dict) -> "_CarryIndex":
        docs: dict[tuple, list[str]] = {}
        for iid, entry in old_manifest.items():
            if entry.get("person"):
                docs.setdefault((entry.get("form"), entry["person"], entry.get("period")), []).append(iid)
        failed = {(e.get("form"), e.get("person")) for e in previous.get("errors", [])
                  if isinstance(e, dict) and e.get("person")}
        return cls(owner, docs, failed)


def _plan_person_form(form: Form, ds: Dataset, period: Period | None, out_dir: Path, carry: _CarryIndex,
                      old_manifest: dict, old_state: dict, changed: set[str], must_plan: set[str],
                      bad_files: set[str], form_fp: str) -> tuple[list[str], list[Target]]:
    """Plan a person-scope ``form`` when only persons' files changed since a complete build of
    it: (idents of documents kept as they are, targets of the persons planned again).

    A person is planned again when one of their files changed (``must_plan``), when a file
    their documents were made from changed, when the last build reported an error for them
    on this form, or when one of their documents is not as that build left it (other form
    code or renderer, files touched or gone, made from a file now broken). Their targets
    are computed on the records without the other persons; that gives the same views
    exactly when each view reads only its own person's files and the shared records
    (stations, institutions, logs), which the targets' ``deps`` state. A target naming
    another person's file, or no files at all, sends the form back to the full plan."""
    period_key = (period.key if period else None) if form.periodic else None
    carried: list[str] = []
    fresh: set[str] = set()
    for pid in ds.persons:
        if pid in must_plan or (form.code, pid) in carry.failed:
            fresh.add(pid)
            continue
        mine = carry.docs.get((form.code, pid, period_key), [])
        for iid in mine:
            entry, prev = old_manifest[iid], old_state.get(iid)
            if prev is None or prev.get("form") != form_fp or _depends_on(prev.get("deps"), bad_files) \
                    or _depends_on(prev.get("deps"), changed) \
                    or prev.get("stat") != file_stats(out_dir, entry.get("files", {})):
                fresh.add(pid)
                break
        else:
            carried.extend(mine)
    sub = replace(ds, persons={pid: ds.persons[pid] for pid in sorted(fresh)})
    targets = list(form.targets(sub, period))
    for t in targets:
        deps = _target_deps(t)
        if deps == ALL_DEPS or any(carry.owner.get(d, t.person) != t.person for d in deps):
            return [], list(form.targets(ds, period))
    return carried, targets


def make_pool(workers: int | None = None):
    """A process pool whose workers have the fonts loaded and stop cleanly.

    Forking shares the fonts already loaded here; with other threads running (the watch
    service's observer) forking is unsafe, so each worker then starts fresh and loads the
    fonts itself. The workers are started at once (a fork must happen now, not later).
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    n = workers or default_workers()
    fork = threading.active_count() == 1 and "fork" in mp.get_all_start_methods()
    if fork:
        warm_fonts()
    pool = ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("fork" if fork else "spawn"),
                               initializer=_worker_init, initargs=(not fork, os.getpid()))
    for fut in [pool.submit(os.getpid) for _ in range(n)]:
        fut.result()
    return pool


def _run_jobs(jobs: list[Job], out_dir: Path, want: set[str], workers: int | None,
              record: Callable[[str, Job, dict], None], pool=None) -> None:
    _rendering.set()
    try:
        if pool is not None and len(jobs) >= 2:
            _run_on_pool(pool, jobs, out_dir, want, getattr(pool, "_max_workers", 2), record, own=False)
            return
        n_workers = min(workers or default_workers(), max(1, len(jobs)))
        if pool is not None or n_workers <= 1 or len(jobs) < 4 * n_workers:
            for job in jobs:
                if _stop_requested.is_set():
                    raise Interrupted()
                status, entry = _render_job(job, out_dir, want)
                record(status, job, entry)
            return
        _run_on_pool(make_pool(n_workers), jobs, out_dir, want, n_workers, record, own=True)
    finally:
        _rendering.clear()


def _run_on_pool(pool, jobs: list[Job], out_dir: Path, want: set[str], n_workers: int,
                 record: Callable[[str, Job, dict], None], own: bool) -> None:
    # small chunks: a steady progress bar, and little lost work when the build is stopped
    size = max(1, min(10, len(jobs) // (n_workers * 20)))
    chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    _drain(pool, [pool.submit(_render_chunk, c, out_dir, want) for c in chunks], record, own)


def _drain(pool, futures: list, record: Callable[[str, Job, dict], None], own: bool) -> None:
    """Record the results of ``futures`` as they come; stop the pool on a signal or error."""
    from concurrent.futures import FIRST_COMPLETED, wait

    try:
        pending = set(futures)
        while pending:
            # a signal handler only sets a flag (raising inside wait() could leave the
            # executor's locks held): look at it between short waits
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                for status, job, entry in fut.result():
                    record(status, job, entry)
            if _stop_requested.is_set():
                raise Interrupted()
        if own:
            pool.shutdown(wait=True)
    except BaseException:
        _stop_pool(pool)
        raise


def _stop_pool(pool) -> None:
    """Stop the workers: each removes the temporary file it was writing, then exits."""
    procs = list(getattr(pool, "_processes", {}).values())
    for p in procs:
        try:
            p.terminate()
        except (OSError, AttributeError):
            pass
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
    pool.shutdown(wait=False, cancel_futures=True)
