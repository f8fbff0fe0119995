"""A persistent parse cache of record files: ``docgen build`` does not read and validate
every unchanged file again.

Parsing a record file (YAML with positions, then the pydantic model) costs a few
milliseconds; a province has ten thousand files, and a clerk who changed one of them
waited half a minute for the rest to be read again. ``load_records_cached`` loads exactly
as ``load.load_records`` does (the same ``Dataset``: records, diagnostics, bad files, files
in the same order; the cross-file checks always run), but takes the parse result of each
file whose bytes are unchanged from the cache file.

What the cache holds, and why it is safe:

* One entry per record file: the BLAKE2b digest of its bytes, the parse result (the
  record, or ``None`` and the file's diagnostics), the day it was parsed, and for a file
  with diagnostics the name they print. Every file is read and hashed on every load (ten
  thousand small files: a fraction of a second), so an entry is used only for the very
  bytes it was made from; an edit that keeps the size and modification time is seen too.
  Size, times and inode are therefore not part of the key: they would add nothing.
* The positions of a file's values (line, column; the bulk of a parse) are not stored: a
  cache hit's ``YamlSource`` works them out from the bytes just read, when a cross-file
  message needs one.
* Validation depends on the day in one place only: an ID number whose birth date is after
  today is an error (``idcard.parse_id``). A file accepted on an earlier day is accepted
  today, so an entry without diagnostics stays good on later days; an entry with
  diagnostics is used only on the day it was made (and no entry when the clock went back).
  A test (``tests/test_record_cache.py``) fails when the records code starts reading the
  date elsewhere.
* The whole cache is void when the code that parses could have changed: its header
  carries a fingerprint of ``docgen/records/*.py``, the pydantic, pydantic-core and PyYAML
  versions (and whether libyaml is used) and the Python version; and a checksum of the
  rest. A cache that is truncated, corrupt, of another version or fingerprint is ignored
  and rebuilt.
* The entries are pickles. Unpickling a file someone else could have written would run
  their code: the file is opened without following a symbolic link and used only when it
  is a regular file owned by the current user with no permission for group or others
  (what ``fsutil.atomic_write`` makes: 0600). Beyond that, the outer structure may hold no
  class at all and an entry only the record model's classes, ``Diagnostic`` and dates.
* Personal data: the cache lives in the output folder (``OUT_DIR/.docgen-records.cache``,
  0600 in a 0700 folder, next to the documents made from the same records), not in a
  per-user cache folder that would outlive the records. Each rewrite keeps only the files
  that exist now: a record file deleted (or disposed of) leaves the cache with the next load.
* Writes are atomic (``fsutil.atomic_write``): a reader sees the old cache or the new one,
  never half of one; of two loads writing at once, one complete cache wins. A cache that
  cannot be written (full disk, no permission) is skipped silently: it is only a cache.
"""
from __future__ import annotations

import datetime as dt
import gc
import hashlib
import io
import os
import pickle
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from .load import Dataset, Diagnostic, _display, _load_file, load_records
from .yamlsrc import Position, YamlSource, YamlSyntaxError, load_yaml

CACHE_NAME = ".docgen-records.cache"
FORMAT = 1
MAGIC = b"docgen records cache\n"
_DIGEST = 32  # bytes of a BLAKE2b digest (file contents, code fingerprint, checksum)


def code_fingerprint() -> bytes:
    """What parsing depends on besides the bytes of a file: the records code and the libraries."""
    import pydantic
    import pydantic_core
    import yaml

    h = hashlib.blake2b(digest_size=_DIGEST)
    for part in (f"format {FORMAT}", sys.version, sys.implementation.name, pydantic.VERSION,
                 pydantic_core.__version__, yaml.__version__, str(getattr(yaml, "__with_libyaml__", False))):
        h.update(part.encode() + b"\0")
    here = Path(__file__).resolve().parent
    for src in sorted(here.glob("*.py")):
        h.update(src.name.encode() + b"\0")
        h.update(src.read_bytes())
        h.update(b"\0")
    return h.digest()


# --------------------------------------------------------------------------- unpickling


class _NoClasses(pickle.Unpickler):
    """The cache's outer structure: dicts, tuples, strings, numbers and bytes only."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"unexpected class {module}.{name}")


_DATE_CLASSES = ("date", "datetime", "time", "timedelta", "timezone")
_allowed: dict[tuple[str, str], type] = {}


def _allowed_classes() -> dict[tuple[str, str], type]:
    if not _allowed:
        from pydantic import BaseModel

        from . import model

        _allowed.update({("datetime", n): getattr(dt, n) for n in _DATE_CLASSES})
        _allowed[("docgen.records.load", "Diagnostic")] = Diagnostic
        _allowed.update({("docgen.records.model", n): c for n, c in vars(model).items()
                         if isinstance(c, type) and issubclass(c, BaseModel) and c.__module__ == model.__name__})
    return _allowed


class _RecordsOnly(pickle.Unpickler):
    """An entry: the record model's classes, Diagnostic and dates, nothing else."""

    def find_class(self, module: str, name: str):
        cls = _allowed_classes().get((module, name))
        if cls is None:
            raise pickle.UnpicklingError(f"unexpected class {module}.{name}")
        return cls


# --------------------------------------------------------------------------- the cache


@dataclass(frozen=True)
class _Entry:
    digest: bytes  # of the file's bytes
    day: int  # date.toordinal() of the parse
    shown: str | None  # the file's name in its diagnostics (None: it has none)
    blob: bytes  # pickle of (record | None, [Diagnostic, ...])


class _CachedSource(YamlSource):
    """The source of a cache hit: the positions are worked out from the file's bytes (read
    in this load) when a message needs one. ``data`` stays ``None``: after validation only
    ``path`` and ``position`` are used."""

    def __init__(self, path: Path, raw: bytes):
        super().__init__(path=path, data=None)
        self._raw: bytes | None = raw

    def position(self, loc: tuple) -> Position:
        if self._raw is not None:
            raw, self._raw = self._raw, None
            try:
                src = load_yaml(self.path, raw=raw)
            except YamlSyntaxError:  # pragma: no cover - these bytes parsed when the entry was made
                pass
            else:
                self.positions, self.key_positions = src.positions, src.key_positions
        return super().position(loc)


class RecordParseCache:
    """The parse results of record files, read from and written to ``file``.

    ``parse`` has the signature of ``load._load_file`` (what ``load_records`` calls per
    file); ``save`` writes the entries of the files parsed since, if anything changed.
    ``refresh``: ignore the file's entries (``docgen build --force``) and write it anew.
    """

    def __init__(self, file: Path, refresh: bool = False):
        self.file = Path(file)
        self._fingerprint = code_fingerprint()
        self.entries: dict[str, _Entry] = {}
        self.fresh: dict[str, _Entry] = {}
        self.hits = 0
        self.changed = True  # whether the file must be written
        if not refresh:
            self.entries, usable = self._read()
            self.changed = not usable

    # ---- reading
    def _read(self) -> tuple[dict[str, _Entry], bool]:
        """The entries of the cache file, and whether it was usable (no file: not usable)."""
        try:
            fd = os.open(self.file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return {}, False
        try:
            st = os.fstat(fd)
            # a pickle is code: only a regular file of ours that nobody else may write
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
                return {}, False
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read()
        except OSError:
            return {}, False
        finally:
            os.close(fd)
        head = len(MAGIC) + 2 * _DIGEST
        if len(data) < head or not data.startswith(MAGIC):
            return {}, False
        fingerprint = data[len(MAGIC):len(MAGIC) + _DIGEST]
        checksum = data[len(MAGIC) + _DIGEST:head]
        payload = data[head:]
        if fingerprint != self._fingerprint or hashlib.blake2b(payload, digest_size=_DIGEST).digest() != checksum:
            return {}, False
        try:
            raw_entries = _NoClasses(io.BytesIO(payload)).load()
            entries = {}
            for key, (digest, day, shown, blob) in raw_entries.items():
                if not (isinstance(key, str) and isinstance(digest, bytes) and isinstance(day, int)
                        and (shown is None or isinstance(shown, str)) and isinstance(blob, bytes)):
                    return {}, False
                entries[key] = _Entry(digest, day, shown, blob)
        except Exception:  # any malformed content: not a cache
            return {}, False
        return entries, True

    # ---- one file
    def parse(self, path: Path, base: Path | None, ds: Dataset):
        key = os.path.abspath(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                st = os.fstat(fd)
                with os.fdopen(os.dup(fd), "rb") as fh:
                    raw = fh.read()
            finally:
                os.close(fd)
        except OSError:
            # the loader words the problem (no permission, gone, a folder); nothing is cached
            return _load_file(path, base, ds)
        digest = hashlib.blake2b(raw, digest_size=_DIGEST).digest()
        today = dt.date.today().toordinal()
        ds.stamps[str(path)] = (st.st_size, st.st_mtime_ns)
        entry = self.entries.get(key)
        if entry is not None and entry.digest == digest and self._usable(entry, today, path, base):
            try:
                record, diagnostics = _RecordsOnly(io.BytesIO(entry.blob)).load()
            except Exception:  # an entry that does not load is a miss
                pass
            else:
                self.fresh[key] = entry
                self.hits += 1
                ds.diagnostics.extend(diagnostics)
                return None if record is None else (record, _CachedSource(path, raw))
        self.changed = True
        scratch = Dataset()
        result = _load_file(path, base, scratch, raw=raw)
        diagnostics = list(scratch.diagnostics)
        ds.diagnostics.extend(diagnostics)
        # pickled now: the loader's cross-file step completes the person records in place
        try:
            blob = pickle.dumps((result[0] if result is not None else None, diagnostics),
                                protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pragma: no cover - the record model pickles
            return result
        shown = _display(path, base) if diagnostics else None
        self.fresh[key] = _Entry(digest, today, shown, blob)
        return result

    @staticmethod
    def _usable(entry: _Entry, today: int, path: Path, base: Path | None) -> bool:
        if entry.day > today:  # the clock went back
            return False
        if entry.shown is None:
            return True
        # diagnostics: the same day (see the module's docstring), printed with the same name
        return entry.day == today and entry.shown == _display(path, base)

    # ---- writing
    def serialise(self) -> bytes:
        entries = {k: (e.digest, e.day, e.shown, e.blob) for k, e in self.fresh.items()}
        payload = pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL)
        return MAGIC + self._fingerprint + hashlib.blake2b(payload, digest_size=_DIGEST).digest() + payload

    def save(self) -> bool:
        """Write the entries of this load's files (when they differ from the file's); False
        when the cache could not be written."""
        if not self.changed and self.fresh.keys() == self.entries.keys():
            return True
        from ..fsutil import atomic_write

        try:
            atomic_write(self.file, self.serialise())
        except OSError:
            return False
        self.entries, self.changed = dict(self.fresh), False
        return True


def load_records_cached(paths: list[Path], base: Path | None, cache_file: Path,
                        refresh: bool = False) -> Dataset:
    """``load_records(paths, base)`` with the parse results of unchanged files taken from
    ``cache_file`` (written back with this load's files); ``refresh`` parses every file."""
    cache = RecordParseCache(cache_file, refresh=refresh)
    # a load from the cache makes a few hundred thousand objects and no garbage cycles: the
    # cyclic collector would walk them again and again (a third of the time on a province)
    collecting = gc.isenabled()
    gc.disable()
    try:
        ds = load_records(paths, base, parse=cache.parse)
    finally:
        if collecting:
            gc.enable()
    cache.save()
    return ds
