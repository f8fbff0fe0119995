"""The archive's registry (SQLite) and its hash-chained audit log.

Layout of the archive root (``ws.archive``, 0700, files 0600)::

    registry.sqlite3   items, 档号 series, versions, holds, disposal lists, approvals, tombstones
    audit.jsonl        one JSON object per line, each carrying the hash of the one before
    .lock              serialises writers (fcntl)
    .pending/          files of a change being committed (see below); absent at rest
    personal/ annual/ notices/ disposal/   the filed volumes: the current version of each, one PDF
    <kind>/versions/<档号>.v<N>.pdf        the superseded versions, kept as they were filed

A volume filed again (动态更新) gets a new version at the usual place; the version it
supersedes is kept under ``versions/`` (``versions.path``), staged with the new one in the
same change, so a crash never leaves the archive without either. Versions superseded by a
docgen older than schema 3 were overwritten: their ``path`` is NULL (not kept). A disposal
removes every version's file; the rows stay as tombstones (hash, pages, dates).

Every change runs in :meth:`Store.action`: one ``BEGIN IMMEDIATE`` transaction under the
archive lock, whose audit entries are chained and written before the commit; the head of
the chain (hash and count) is kept in the registry too, so a truncated log is detected.

Files an action writes (``Action.write``) follow the registry: they are written to
``.pending/`` with a journal before the commit and moved into place after it. A writer
killed in between leaves the journal; the next opening of the archive completes the move
for each file whose hash the registry now records, and drops the others (their change was
not committed). So a registered file and its hash never disagree because of a crash.

An account that cannot write the archive (``Store.writable``) opens the registry read-only:
it never migrates, recovers or changes anything; ``unsettled`` says when a change left in
``.pending/`` waits for a writer, so that a reader's verify does not report its files as changed.
The schema is migrated in one ``BEGIN IMMEDIATE`` transaction that reads the version again, so
several processes opening an old registry at once migrate it once.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import sqlite3
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import DocgenError
from ..fsutil import FILE_MODE, atomic_write, private_dir

DB_NAME = "registry.sqlite3"
AUDIT_NAME = "audit.jsonl"
LOCK_NAME = ".lock"
PENDING_DIR = ".pending"
JOURNAL_NAME = "journal.json"
SCHEMA_VERSION = 3  # 2: content_key on items and versions; 3: path of each kept superseded version
GENESIS = "0" * 64
BUSY_TIMEOUT_S = 120.0
BOOKKEEPING = {DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm", AUDIT_NAME, LOCK_NAME}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    fonds TEXT NOT NULL, klass TEXT NOT NULL, year INTEGER NOT NULL, retention TEXT NOT NULL,
    org_code TEXT NOT NULL, last_seq INTEGER NOT NULL,
    PRIMARY KEY (fonds, klass, year, retention, org_code)
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    dh TEXT NOT NULL UNIQUE,          -- 档号
    key TEXT NOT NULL UNIQUE,         -- what the volume is of: person:ID, annual:STATION:YEAR, ...
    kind TEXT NOT NULL,               -- personal | cultivation | annual | notices | disposal
    subject TEXT NOT NULL,            -- person / station / institution / list number
    unit TEXT NOT NULL,               -- filing station
    period TEXT,                      -- year or month of an annual / notice volume
    title TEXT NOT NULL,
    fonds TEXT NOT NULL, klass TEXT NOT NULL, year INTEGER NOT NULL, retention TEXT NOT NULL,
    org_code TEXT NOT NULL, seq INTEGER NOT NULL,
    version INTEGER NOT NULL,
    path TEXT,                        -- relative to the archive root; NULL once disposed
    sha256 TEXT NOT NULL,
    content_key TEXT,                 -- hash of what the volume says (documents' data, forms, notes)
    pages INTEGER NOT NULL,
    filed_at TEXT NOT NULL,           -- real timestamp (UTC)
    filed_on TEXT NOT NULL,           -- 立卷日期 printed in the volume (--as-of)
    filed_by TEXT NOT NULL,
    trigger_date TEXT, trigger_reason TEXT, due_date TEXT,
    status TEXT NOT NULL DEFAULT 'filed' CHECK (status IN ('filed', 'disposed')),
    hold_reason TEXT, held_by TEXT, held_at TEXT,
    disposed_at TEXT, disposal_list TEXT,
    UNIQUE (fonds, klass, year, retention, org_code, seq)
);
CREATE TABLE IF NOT EXISTS versions (
    item_id INTEGER NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL, pages INTEGER NOT NULL,
    filed_at TEXT NOT NULL, filed_on TEXT NOT NULL, filed_by TEXT NOT NULL, superseded_at TEXT,
    content_key TEXT,
    path TEXT,                        -- a superseded version's file (relative); NULL: the current one,
                                      -- one not kept (overwritten before schema 3) or disposed
    PRIMARY KEY (item_id, version)
);
CREATE TABLE IF NOT EXISTS lists (
    number TEXT PRIMARY KEY, fonds TEXT NOT NULL, as_of TEXT NOT NULL,
    drafted_at TEXT NOT NULL, drafted_by TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'executed', 'cancelled')),
    path TEXT NOT NULL, sha256 TEXT NOT NULL,
    executed_at TEXT, executed_on TEXT, executed_by TEXT, record_item INTEGER
);
CREATE TABLE IF NOT EXISTS list_entries (
    number TEXT NOT NULL, pos INTEGER NOT NULL, item_id INTEGER NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (number, pos)
);
CREATE TABLE IF NOT EXISTS approvals (
    number TEXT NOT NULL, approver TEXT NOT NULL, approved_at TEXT NOT NULL,
    PRIMARY KEY (number, approver)
);
"""


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return f"uid{os.getuid()}"


def entry_hash(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    data = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _inside(root: Path, target: Path) -> bool:
    """``target`` lies inside the archive root (a path from the registry or journal never leads out)."""
    try:
        target.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def one_transaction(entries: list[dict]) -> bool:
    """Entries written by one writer in one go (same time, same person): what a writer killed
    between writing the log and committing the registry leaves behind."""
    return len({e.get("tx") or (e.get("at"), e.get("who"), e.get("account")) for e in entries}) <= 1


def _chain(data: bytes) -> tuple[list[dict], list[str]]:
    """The log's entries and the problems of its chain: each entry's own hash, its sequence
    number and its link to the one before."""
    problems: list[str] = []
    entries: list[dict] = []
    prev: str | None = GENESIS
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        n = len(entries) + 1
        try:
            entry = json.loads(raw.decode("utf-8"))
            if not isinstance(entry, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            problems.append(f"第 {lineno} 行不是有效的日志条目")
            entries.append({})
            prev = None
            continue
        entries.append(entry)
        if entry.get("hash") != entry_hash(entry):
            problems.append(f"第 {lineno} 行（序号 {entry.get('seq')}）内容被改动：散列值不符")
        if entry.get("seq") != n:
            problems.append(f"第 {lineno} 行序号为 {entry.get('seq')}，应为 {n}：有条目被删除、插入或调换了顺序")
        elif prev is not None and entry.get("prev") != prev:
            problems.append(f"第 {lineno} 行（序号 {entry.get('seq')}）与前一条接不上：有条目被删除、插入或调换了顺序")
        prev = entry.get("hash")
    if data and not data.endswith(b"\n"):
        problems.append("末行不完整")
    return entries, problems


@dataclass
class Action:
    """An open write transaction: ``db`` to change the registry, ``log`` to audit."""

    db: sqlite3.Connection
    who: str
    entries: list[dict] = field(default_factory=list)
    writes: dict[str, bytes] = field(default_factory=dict)  # path relative to the root → content

    def write(self, rel: str, data: bytes) -> None:
        """Put ``data`` at ``rel`` (relative to the archive root) once the change is committed."""
        self.writes[rel] = data

    removes: dict[str, str] = field(default_factory=dict)  # path relative to the root → 档号 disposed

    def remove(self, rel: str, dh: str) -> None:
        """Delete the file of volume ``dh`` at ``rel`` once the change (its disposal) is committed."""
        self.removes[rel] = dh

    def log(self, action: str, target: str, before: Any = None, after: Any = None, note: str = "") -> None:
        entry = {"action": action, "target": target, "before": before, "after": after}
        if note:
            entry["note"] = note
        self.entries.append(entry)


class Store:
    def __init__(self, root: Path, create: bool = False):
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        self.audit_path = self.root / AUDIT_NAME
        if create:
            private_dir(self.root)
        elif not self.db_path.exists():
            if self.root.is_dir() and any(p for p in self.root.iterdir() if p.name != LOCK_NAME):
                raise DocgenError(f"档案库 {self.root} 有文件，但登记簿 {DB_NAME} 不见了：登记簿缺失，无法核对")
            raise DocgenError(f"档案库 {self.root} 尚未建立（还没有归档任何案卷；先运行 docgen archive file）")
        # an account that may read but not write the archive (an auditor's login, a read-only
        # copy) still lists, shows, checks due dates and verifies; it cannot change anything
        self.writable = os.access(self.root, os.W_OK) and (
            os.access(self.db_path, os.W_OK) if self.db_path.exists() else create)
        self.db = self._connect(create)
        if self.writable and (self.root / PENDING_DIR).exists():
            with self._exclusive():
                self._recover()

    def unsettled(self) -> str | None:
        """Why files and registry may disagree now: a change left in ``.pending/`` that this
        account cannot complete (a writer completes it on opening). Ask under the shared lock."""
        if self.writable or not (self.root / PENDING_DIR).exists():
            return None
        return (f"档案库 {self.root} 有一次被中断的改动尚未完成（暂存在 {PENDING_DIR}/ 中），本账户（{os_user()}）"
                "没有写权限，无法把它完成：此刻文件与登记簿可能对不上，核对结果不可信。请由有写权限的档案员运行任一 "
                "docgen archive 命令（如 docgen archive verify）完成这次改动后再核对")

    # ------------------------------------------------------------------ connection

    def _connect(self, create: bool) -> sqlite3.Connection:
        if create and not self.db_path.exists():
            fd = os.open(self.db_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            os.close(fd)
        if self.writable:
            os.chmod(self.db_path, FILE_MODE)
        try:
            if self.writable:
                db = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            else:  # never a write, not even a migration, from an account that may only read
                url = "file:" + urllib.request.pathname2url(str(self.db_path.absolute())) + "?mode=ro"
                db = sqlite3.connect(url, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.row_factory = sqlite3.Row
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise DocgenError(f"档案登记簿 {self.db_path} 由较新版本的 docgen 建立（登记簿版本 {version}，本程序只认识到 "
                                  f"{SCHEMA_VERSION}）：请先升级 docgen 再使用这个档案库；档案库没有被改动")
            if version < SCHEMA_VERSION and self.writable:
                self._migrate(db)
            db.execute("SELECT count(*) FROM items").fetchone()
        except sqlite3.OperationalError as exc:
            if not self.writable and "readonly" in str(exc):  # a hot journal only a writer can roll back
                raise DocgenError(f"档案登记簿 {self.db_path} 有一次被中断的写入需要回滚，本账户（{os_user()}）没有写权限，"
                                  "无法读取：请由有写权限的档案员运行任一 docgen archive 命令后再查看") from None
            raise DocgenError(f"档案登记簿 {self.db_path} 已损坏或不是数据库（{exc}）") from None
        except sqlite3.DatabaseError as exc:
            raise DocgenError(f"档案登记簿 {self.db_path} 已损坏或不是数据库（{exc}）") from None
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        """Bring the schema to ``SCHEMA_VERSION`` in one transaction. The version is read again
        under the write lock: several processes may open an old registry at once, and only the
        first one changes it."""
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                statement = ""
                for line in _SCHEMA.splitlines(keepends=True):  # one statement at a time, in this transaction
                    statement += line
                    if sqlite3.complete_statement(statement):
                        db.execute(statement)
                        statement = ""
            else:  # only columns are added (each once): no file moves, the current versions stay where they are
                def add(table: str, column: str) -> None:
                    if not any(r[1] == column for r in db.execute(f"PRAGMA table_info({table})").fetchall()):
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

                if version == 1:  # registries of docgen before content keys
                    add("items", "content_key")
                    add("versions", "content_key")
                if version <= 2:  # registries of docgen that replaced superseded versions' files
                    add("versions", "path")
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def integrity_errors(self) -> list[str]:
        try:
            rows = [r[0] for r in self.db.execute("PRAGMA integrity_check").fetchall()]
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [] if rows == ["ok"] else rows

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ meta

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ------------------------------------------------------------------ writing

    @contextmanager
    def shared_lock(self) -> Iterator[None]:
        """Readers that compare files, registry and log (verify) wait for a writer to finish:
        its log lines and files are in place when it releases the lock."""
        lock_path = self.root / LOCK_NAME
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE) if self.writable else os.open(lock_path, os.O_RDONLY)
        except (FileNotFoundError, PermissionError):  # a read-only copy, or a lock this reader may not open
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        private_dir(self.root)
        fd = os.open(self.root / LOCK_NAME, os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @contextmanager
    def action(self, who: str | None) -> Iterator[Action]:
        """A write transaction under the archive lock; audit entries are appended and the
        files written (``Action.write``) are put in place on success."""
        if not self.writable:
            raise DocgenError(f"本账户（{os_user()}）对档案库 {self.root} 没有写权限：只能查看（list、show、due、verify、"
                              "audit），不能改动；请由档案员办理")
        with self._exclusive():
            self._recover()
            self._check_chain()
            self.db.execute("BEGIN IMMEDIATE")
            act = Action(self.db, who or os_user())
            try:
                yield act
                if act.entries:
                    self._append_audit(act)
                self._stage(act.writes, act.removes)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                self._discard_pending()
                raise
            self._settle()

    # ------------------------------------------------------------------ files of a change

    def _stage(self, writes: dict[str, bytes], removes: dict[str, str] | None = None) -> None:
        """Write the files of a change, and the journal of its writes and deletions, to
        ``.pending/`` (before the commit)."""
        if not writes and not removes:
            return
        pending = private_dir(self.root / PENDING_DIR)
        journal = []
        for n, (rel, data) in enumerate(sorted(writes.items())):
            name = f"{n:04d}.tmp"
            atomic_write(pending / name, data)
            journal.append({"path": rel, "file": name, "sha256": hashlib.sha256(data).hexdigest()})
        journal += [{"path": rel, "remove": dh} for rel, dh in sorted((removes or {}).items())]
        atomic_write(pending / JOURNAL_NAME, json.dumps(journal, ensure_ascii=False).encode("utf-8"))

    def _settle(self) -> None:
        """Move the staged files of a committed change into place."""
        self._recover()

    def _recover(self) -> None:
        """Complete or drop the staged files a change left in ``.pending/`` (under the lock).

        A file goes into place when the registry records its hash for its path (the change
        was committed); otherwise the change was rolled back and the file is dropped. The
        journal names each file's path; a staged file the journal does not name (the journal
        was lost or damaged after the commit) goes where the registry records its hash, so a
        committed version is not thrown away with its journal."""
        pending = self.root / PENDING_DIR
        if not pending.exists():
            return
        paths: dict[str, str] = {}
        removes: dict[str, str] = {}
        try:
            journal = json.loads((pending / JOURNAL_NAME).read_bytes())
            for entry in journal if isinstance(journal, list) else []:
                if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                    continue
                if isinstance(entry.get("file"), str):
                    paths[entry["file"]] = entry["path"]
                elif isinstance(entry.get("remove"), str):
                    removes[entry["path"]] = entry["remove"]
        except (OSError, ValueError):
            pass  # killed before the journal was complete, or the journal was damaged: the hashes tell
        for src in sorted(pending.glob("*.tmp")):
            if not src.is_file() or src.is_symlink():
                continue
            digest = hashlib.sha256(src.read_bytes()).hexdigest()
            candidates = [paths[src.name]] if src.name in paths else self._registered_paths(digest)
            for rel in candidates:
                target = self.root / rel
                if digest not in self._registered_hashes(rel) or not _inside(self.root, target):
                    continue
                private_dir(target.parent)
                os.replace(src, target)
                _fsync_dir(target.parent)
                break
        for rel, dh in sorted(removes.items()):  # contents of volumes whose disposal was committed
            target = self.root / rel
            row = self.db.execute("SELECT status FROM items WHERE dh = ?", (dh,)).fetchone()
            if row is None or row[0] != "disposed" or not _inside(self.root, target) or self._registered_hashes(rel):
                continue
            try:
                target.unlink()
            except FileNotFoundError:
                pass
            except OSError:  # recorded as destroyed: verify names the file until it is removed
                continue
            _fsync_dir(target.parent)
        self._discard_pending()

    def _registered_hashes(self, rel: str) -> set[str]:
        rows = self.db.execute("SELECT sha256 FROM items WHERE path = ? AND status = 'filed' "
                               "UNION SELECT sha256 FROM lists WHERE path = ? "
                               "UNION SELECT v.sha256 FROM versions v JOIN items i ON i.id = v.item_id "
                               "WHERE v.path = ? AND i.status = 'filed'", (rel, rel, rel)).fetchall()
        return {r[0] for r in rows}

    def _registered_paths(self, digest: str) -> list[str]:
        rows = self.db.execute("SELECT path FROM items WHERE sha256 = ? AND status = 'filed' AND path IS NOT NULL "
                               "UNION SELECT path FROM lists WHERE sha256 = ? "
                               "UNION SELECT v.path FROM versions v JOIN items i ON i.id = v.item_id "
                               "WHERE v.sha256 = ? AND v.path IS NOT NULL AND i.status = 'filed' ORDER BY 1",
                               (digest, digest, digest)).fetchall()
        return [r[0] for r in rows]

    def kept_versions(self) -> bool:
        """The registry records where superseded versions are kept (schema 3; a read-only
        account may open an older registry it cannot migrate)."""
        return any(r[1] == "path" for r in self.db.execute("PRAGMA table_info(versions)").fetchall())

    def _discard_pending(self) -> None:
        pending = self.root / PENDING_DIR
        if not pending.exists():
            return
        try:  # what cannot be removed now is looked at again by the next opening of the archive
            for p in pending.iterdir():
                p.unlink()
            pending.rmdir()
            _fsync_dir(self.root)
        except OSError:
            pass

    def _committed_log(self, prev: str, count: int) -> tuple[bytes, list[dict]]:
        """The log as the registry knows it (``count`` entries ending in ``prev``), and the
        entries a writer killed between writing the log and committing left behind.

        Anything else (a log shorter than registered, a changed or foreign last line) means
        the log was tampered with or lost: no further change is accepted until it is restored."""
        try:
            existing = self.audit_path.read_bytes() if self.audit_path.exists() else b""
        except OSError as exc:
            raise DocgenError(f"审计日志 {self.audit_path} 读不出（{exc.strerror}）") from None

        def refuse(why: str) -> DocgenError:
            return DocgenError(f"审计日志 {self.audit_path} 与登记簿的记载（{count} 条）不符{why}：日志可能被改动、截短或替换。"
                               "请运行 docgen archive audit --verify 查明问题，并从备份恢复审计日志；在此之前不能再改动档案库")

        if existing and not existing.endswith(b"\n"):
            raise refuse("（末行不完整）")
        raw = [line for line in existing.split(b"\n") if line.strip()]
        if len(raw) < count:
            raise refuse(f"（日志只有 {len(raw)} 条）")
        try:
            entries = [json.loads(line.decode("utf-8")) for line in raw[count - 1 if count else 0:]]
        except (ValueError, UnicodeDecodeError):
            raise refuse("（有无法解析的行）") from None
        if count and not (isinstance(entries[0], dict) and entries[0].get("hash") == prev
                          and entry_hash(entries[0]) == prev and entries[0].get("seq") == count):
            raise refuse(f"（第 {count} 条不是登记簿记载的链头）")
        extra = entries[1:] if count else entries
        link, seq = prev, count
        for e in extra:  # left by an interrupted writer: they must continue the chain exactly
            seq += 1
            if not (isinstance(e, dict) and e.get("prev") == link and e.get("seq") == seq
                    and e.get("hash") == entry_hash(e)):
                raise refuse(f"（日志多出 {len(extra)} 条，且与链头接不上）")
            link = e["hash"]
        if not one_transaction(extra):  # more than one writer's entries: the registry is older than its log
            raise DocgenError(f"登记簿记载的审计日志只有 {count} 条，日志却在其后还有 {len(extra)} 条、来自不止一次操作："
                              "登记簿可能被换成了旧的备份。请运行 docgen archive audit --verify 查明；在此之前不能再改动档案库")
        committed = b"".join(line + b"\n" for line in raw[:count])
        return committed, extra

    def _append_audit(self, act: Action) -> None:
        prev = self.meta("audit_head", GENESIS)
        count = int(self.meta("audit_count", "0"))
        existing, leftover = self._committed_log(prev, count)
        if leftover:  # never silently dropped: the retraction carries them into the chain
            act.entries.insert(0, {"action": "撤回未生效的日志条目", "target": AUDIT_NAME,
                                   "before": leftover, "after": None,
                                   "note": "写入这些条目的操作在提交登记簿之前中断，没有生效"})
        lines = []
        at = now_utc()
        account = os_user()  # --by is a typed name: the login that typed it is recorded beside it
        tx = uuid.uuid4().hex  # the entries of one change share it
        for e in act.entries:
            count += 1
            entry = {"seq": count, "at": at, "who": act.who, "account": account, "tx": tx, **e, "prev": prev}
            entry["hash"] = entry_hash(entry)
            prev = entry["hash"]
            lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        self._set_meta("audit_head", prev)
        self._set_meta("audit_count", str(count))
        data = existing + "".join(lines).encode("utf-8")
        atomic_write(self.audit_path, data)
        self._trusted_log = hashlib.sha256(data).digest()  # written by this process, after the check

    def _check_chain(self) -> None:
        """Refuse any change while the audit chain does not verify: an entry changed, inserted,
        deleted or swapped anywhere in the log, not only at its end. A log this process checked
        or wrote itself (same bytes) is not hashed entry by entry again."""
        try:
            data = self.audit_path.read_bytes() if self.audit_path.exists() else b""
        except OSError as exc:
            raise DocgenError(f"审计日志 {self.audit_path} 读不出（{exc.strerror}）") from None
        digest = hashlib.sha256(data).digest()
        if digest == getattr(self, "_trusted_log", None):
            return
        entries, problems = _chain(data)
        count = int(self.meta("audit_count", "0"))
        if not problems and (len(entries) < count or (count and entries[count - 1].get("hash")
                                                       != self.meta("audit_head", GENESIS))):
            # intact as far as it goes, but shorter than the registry records, deleted, or another
            # log in its place: even a change that logs nothing (a filing found unchanged) is refused, not reported as done
            found = ("不见了" if not data else f"只有 {len(entries)} 条" if len(entries) < count
                     else f"第 {count} 条与登记簿记载的链头不符")
            raise DocgenError(f"审计日志 {self.audit_path} 与登记簿的记载（{count} 条）不符（日志{found}）："
                              "日志可能被截短、删除或替换。"
                              "请运行 docgen archive audit --verify 查明问题，并从备份恢复审计日志；在此之前不能再改动档案库")
        if problems:
            raise DocgenError(f"审计日志 {self.audit_path} 的散列链不完整：" + "；".join(problems[:5])
                              + (f"；另有 {len(problems) - 5} 处" if len(problems) > 5 else "")
                              + "。日志可能被改动。请运行 docgen archive audit --verify 查明问题，并从备份恢复审计日志；"
                              "在此之前不能再改动档案库")
        self._trusted_log = digest

    # ------------------------------------------------------------------ audit check

    def verify_audit(self) -> tuple[int, list[str]]:
        """(entries, problems) of the audit chain; entries an interrupted writer left after the
        registry's head are no problem (see ``audit_report``)."""
        n, problems, _ = self.audit_report()
        return n, problems

    def audit_report(self) -> tuple[int, list[str], str | None]:
        """(entries, problems, unfinished) of the audit chain. ``unfinished`` describes entries
        a writer killed between writing the log and committing the registry left after the
        registry's head (one change, continuing the chain exactly): its change did not take
        effect, and the next change records their retraction -- not an integrity failure."""
        entries, problems, unfinished = self.audit_chain()
        return len(entries), problems, unfinished

    def audit_chain(self) -> tuple[list[dict], list[str], str | None]:
        """``audit_report`` with the entries themselves (the log read once): an unreadable line
        is an empty dict."""
        head = self.meta("audit_head", GENESIS)
        count = int(self.meta("audit_count", "0"))
        if not self.audit_path.exists():
            return [], ([f"审计日志 {AUDIT_NAME} 不见了（登记簿记有 {count} 条）"] if count else []), None
        entries, problems = _chain(self.audit_path.read_bytes())
        n = len(entries)
        if problems:
            if n != count:
                problems.append(f"日志有 {n} 条，登记簿记有 {count} 条")
            return entries, problems, None
        at_head = (count == 0 and head == GENESIS) or (0 < count <= n and entries[count - 1].get("hash") == head)
        beyond = entries[count:]
        if n > count and at_head and not one_transaction(beyond):
            problems.append(f"日志有 {n} 条，登记簿记有 {count} 条：其后的条目来自不止一次操作，登记簿可能被换成了旧的备份")
        elif n > count and at_head:
            what = "、".join(sorted({f"{e.get('action')} {e.get('target')}" for e in beyond}))
            return entries, problems, (f"日志有 {n} 条，登记簿记有 {count} 条：末尾 {n - count} 条（{what}）是一次在提交"
                                       "登记簿前中断的操作写下的、未生效的条目；下次改动档案库时会记一条“撤回未生效的日志条目”，"
                                       "中断的操作可重新执行")
        elif n != count:
            problems.append(f"日志有 {n} 条，登记簿记有 {count} 条：有条目被删除或添加")
        elif n and entries[-1].get("hash") != head:
            problems.append("日志末条与登记簿记载的链头不符：末尾的条目被改动或替换")
        return entries, problems, None

    def committed_entries(self) -> list[dict]:
        """The log entries the registry counts as committed (without an interrupted writer's)."""
        count = int(self.meta("audit_count", "0"))
        return self.audit_entries()[:count]

    def audit_entries(self) -> list[dict]:
        if not self.audit_path.exists():
            return []
        out = []
        for raw in self.audit_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"seq": "?", "action": "（无法解析的行）"})
        return out
