"""The number registry: gap-free document numbers in an embedded SQLite database.

One sequence per (series, issuer, year): series ``F`` and ``K`` number the notice triples
(``东湖戒[2026]3号``), series ``H`` the community-rehabilitation proposals
(``司法东湖戒社康建议字〔2026〕3号``). A number is never reused and never skipped: every
allocation is a row, a spoiled document is *voided* (作废) with its reason and stays in the
register. Allocation runs inside ``BEGIN IMMEDIATE`` so concurrent processes serialise on
SQLite's write lock (with a generous busy timeout) and read the current maximum only while
holding it.

``assign`` is the idempotent variant for documents that belong to one subject (form H: one
proposal per person): the same subject in the same series/issuer/year always gets the same
number, unless that number was voided, in which case the next free number is given.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import DocgenError
from ..fsutil import FILE_MODE, private_dir

DB_NAME = "registry.sqlite3"
BUSY_TIMEOUT_S = 120.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS numbers (
    series   TEXT    NOT NULL,
    issuer   TEXT    NOT NULL,
    year     INTEGER NOT NULL,
    seq      INTEGER NOT NULL CHECK (seq >= 1),
    subject  TEXT,               -- what the number was given to (person id, notice key, ...)
    assigned INTEGER NOT NULL DEFAULT 0,  -- 1: given by assign() (idempotent per subject)
    note     TEXT,
    created  TEXT    NOT NULL,   -- ISO date of allocation
    voided   TEXT,               -- ISO date of voiding (作废), NULL while valid
    void_reason TEXT,
    PRIMARY KEY (series, issuer, year, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS numbers_assigned
    ON numbers (series, issuer, year, subject) WHERE assigned = 1 AND voided IS NULL;
"""

_SERIES = re.compile(r"^[A-Z][A-Z0-9]*$")
_ISSUER = re.compile(r"^[A-Za-z0-9_-]+$")


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def _check(series: str, issuer: str, year: int) -> None:
    if not isinstance(series, str) or not _SERIES.match(series):
        raise DocgenError(f"编号系列“{series}”无效（应为大写字母，如 F、K、H）")
    if not isinstance(issuer, str) or not _ISSUER.match(issuer):
        raise DocgenError(f"发文单位编号“{issuer}”无效（只能含字母、数字、_ 和 -）")
    if not isinstance(year, int) or isinstance(year, bool) or not 1900 <= year <= 9999:
        raise DocgenError(f"年份“{year}”无效")


def connect(data_dir: Path) -> sqlite3.Connection:
    """Open (creating if needed) the registry database of ``data_dir``.

    The directory is made private (0700) and the database file is created 0600 before
    SQLite opens it; SQLite gives its journal the same mode. The connection is in
    autocommit mode: use :func:`transaction` for anything that writes.
    """
    data_dir = private_dir(Path(data_dir))
    path = db_path(data_dir)
    if not path.exists():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        os.close(fd)
    if path.stat().st_mode & 0o077:
        try:
            os.chmod(path, FILE_MODE)
        except PermissionError:  # pragma: no cover - not our file
            pass
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise DocgenError(f"无法打开登记簿数据库 {path}：{exc}") from None
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    st = path.stat()
    key = (str(path), st.st_dev, st.st_ino, len(_EXTRA_SCHEMAS))
    try:
        if key not in _initialised:  # create tables once per process and database file
            _ensure_schema(conn)
            _initialised.add(key)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DocgenError(f"登记簿数据库 {path} 无法使用：{exc}") from None
    return conn


_EXTRA_SCHEMAS: list[str] = []
_initialised: set[tuple] = set()


def register_schema(sql: str) -> None:
    """Let other registry modules (notices) add their tables to the same database."""
    if sql not in _EXTRA_SCHEMAS:
        _EXTRA_SCHEMAS.append(sql)


def _ensure_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for stmt in _statements(_SCHEMA + "".join(_EXTRA_SCHEMAS)):
            conn.execute(stmt)
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                     (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    out, buf = [], ""
    for line in script.splitlines():
        line = line.split("--", 1)[0]
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out


@contextmanager
def transaction(data_dir: Path | None = None, conn: sqlite3.Connection | None = None
                ) -> Iterator[sqlite3.Connection]:
    """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error.

    Pass ``conn`` to reuse an open connection, else one is opened on ``data_dir`` and
    closed afterwards.
    """
    own = conn is None
    if own:
        conn = connect(data_dir)  # type: ignore[arg-type]
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise DocgenError(f"登记簿数据库正被占用，请稍后再试（{exc}）") from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
    finally:
        if own:
            conn.close()


def _today(on: dt.date | None) -> str:
    return (on or dt.date.today()).isoformat()


def allocate_in(conn: sqlite3.Connection, series: str, issuer: str, year: int,
                subject: str | None = None, note: str | None = None,
                on: dt.date | None = None) -> int:
    """Allocate the next number inside an open transaction of ``conn``."""
    _check(series, issuer, year)
    if not conn.in_transaction:
        raise RuntimeError("allocate_in needs an open transaction (use numbers.transaction)")
    row = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM numbers "
                       "WHERE series = ? AND issuer = ? AND year = ?",
                       (series, issuer, year)).fetchone()
    seq = int(row[0])
    conn.execute("INSERT INTO numbers (series, issuer, year, seq, subject, assigned, note, created)"
                 " VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                 (series, issuer, year, seq, subject, note, _today(on)))
    return seq


def allocate(data_dir: Path, series: str, issuer: str, year: int,
             subject: str | None = None, note: str | None = None,
             on: dt.date | None = None) -> int:
    """Allocate and record the next number of ``series``/``issuer``/``year``; returns it."""
    with transaction(data_dir) as conn:
        return allocate_in(conn, series, issuer, year, subject, note, on)


def assign_in(conn: sqlite3.Connection, series: str, issuer: str, year: int, subject: str,
              note: str | None = None, on: dt.date | None = None) -> int:
    _check(series, issuer, year)
    if not subject or not isinstance(subject, str):
        raise DocgenError("取号对象不能为空")
    row = conn.execute("SELECT seq FROM numbers WHERE series = ? AND issuer = ? AND year = ? "
                       "AND subject = ? AND assigned = 1 AND voided IS NULL",
                       (series, issuer, year, subject)).fetchone()
    if row:
        return int(row[0])
    seq = allocate_in(conn, series, issuer, year, subject, note, on)
    conn.execute("UPDATE numbers SET assigned = 1 WHERE series = ? AND issuer = ? AND year = ? "
                 "AND seq = ?", (series, issuer, year, seq))
    return seq


def assign(data_dir: Path, series: str, issuer: str, year: int, subject: str) -> int:
    """The number of ``subject`` in ``series``/``issuer``/``year``, allocated on first use.

    Idempotent: calling it again (from any process) returns the same number, as long as that
    number has not been voided.
    """
    _check(series, issuer, year)
    conn = connect(data_dir)
    try:
        row = conn.execute("SELECT seq FROM numbers WHERE series = ? AND issuer = ? AND year = ? "
                           "AND subject = ? AND assigned = 1 AND voided IS NULL",
                           (series, issuer, year, subject)).fetchone()
        if row:  # fast path without taking the write lock
            return int(row[0])
        with transaction(conn=conn):
            return assign_in(conn, series, issuer, year, subject)
    finally:
        conn.close()


def void_in(conn: sqlite3.Connection, series: str, issuer: str, year: int, seq: int,
            reason: str, on: dt.date | None = None) -> None:
    _check(series, issuer, year)
    reason = (reason or "").strip()
    if not reason:
        raise DocgenError("作废须写明原因")
    row = conn.execute("SELECT voided FROM numbers WHERE series = ? AND issuer = ? AND year = ? "
                       "AND seq = ?", (series, issuer, year, seq)).fetchone()
    label = f"{series} 系列 {issuer} {year} 年第 {seq} 号"
    if row is None:
        raise DocgenError(f"{label}尚未发出，不能作废")
    if row["voided"]:
        raise DocgenError(f"{label}已于 {row['voided']} 作废")
    conn.execute("UPDATE numbers SET voided = ?, void_reason = ? WHERE series = ? AND issuer = ? "
                 "AND year = ? AND seq = ?", (_today(on), reason, series, issuer, year, seq))


def void(data_dir: Path, series: str, issuer: str, year: int, seq: int, reason: str,
         on: dt.date | None = None) -> None:
    """Void (作废) an issued number: it stays in the register with its reason, never reused."""
    with transaction(data_dir) as conn:
        void_in(conn, series, issuer, year, seq, reason, on)


def list_numbers(data_dir: Path, series: str | None = None, issuer: str | None = None,
                 year: int | None = None) -> list[dict]:
    """Every allocated number (optionally filtered), ordered by series, issuer, year, seq."""
    conn = connect(data_dir)
    try:
        sql = "SELECT * FROM numbers WHERE 1=1"
        args: list = []
        for col, val in (("series", series), ("issuer", issuer), ("year", year)):
            if val is not None:
                sql += f" AND {col} = ?"
                args.append(val)
        sql += " ORDER BY series, issuer, year, seq"
        return [dict(r) for r in conn.execute(sql, args)]
    finally:
        conn.close()


# --------------------------------------------------------------------------- formatting

NOTICE_SERIES = ("F", "K")


def format_number(series: str, code: str, year: int, seq: int) -> str:
    """The printed number: ``东湖戒[2026]3号`` (F, K) or ``司法东湖戒社康建议字〔2026〕3号`` (H)."""
    if series == "H":
        return f"司法{code}戒社康建议字〔{year}〕{seq}号"
    return f"{code}戒[{year}]{seq}号"


_NOTICE_RE = re.compile(r"^\s*(?:编号[:：]\s*)?(?P<code>[^\[\]〔〕\s]+?)戒\s*[\[［〔](?P<year>\d{4})[\]］〕]\s*"
                        r"(?P<seq>\d+)\s*号?\s*$")


def parse_notice_number(text: str) -> tuple[str, int, int]:
    """(代字, year, seq) of a printed notice number such as ``东湖戒[2026]3号``."""
    m = _NOTICE_RE.match(text or "")
    if not m:
        raise DocgenError(f"编号“{text}”格式不对，应写成 东湖戒[2026]3号 这样的形式")
    return m["code"], int(m["year"]), int(m["seq"])
