"""Frozen statistics: what a closed month's forms said when they were submitted.

``docgen stats --month 2026-10 --freeze`` stores, in the SQLite database
``<data>/stats.sqlite3`` of the workspace, for that month and every unit:

* the *snapshot* of the month end: for each person in the register or in 典型培育, their
  service station, their form-P class (``F1`` 失联 … ``J3`` 3年以上) and their cultivating
  unit;
* the figures of every statistical form (P Q S per station, N L per 戒毒所 and for the
  province, R per station when the month ends a quarter), with the corrections of earlier
  frozen months each table counts (its note, ``StatTable.corrections``);
* the 回访 and 帮扶 events the month's form Q counted: those dated in the month (``counted``)
  and those of earlier frozen months entered after they froze (``carried``), so that no later
  month counts them again.

A frozen month is never recomputed: its forms print the stored figures, the next month starts
from the stored snapshot (A and B of form P, 上月末 of S and N), and whatever the records now
say differently about the frozen month is reported as a correction and counted in the first
open month (``stats.corrections``).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from ..errors import DocgenError
from ..fsutil import FILE_MODE, private_dir

DB_NAME = "stats.sqlite3"
BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS months (
    period    TEXT PRIMARY KEY,      -- 2026-10
    frozen_on TEXT NOT NULL,         -- ISO date the month was frozen
    snapshot  TEXT NOT NULL          -- JSON {person id: {"st": station, "p": class, "c": cultivating unit}}
);
CREATE TABLE IF NOT EXISTS counted (
    period TEXT PRIMARY KEY,         -- 2026-10
    data   TEXT NOT NULL             -- JSON {person id: [event key, ...]}: the 回访 and 帮扶 events of
                                     -- the month that the frozen figures counted (form Q)
);
CREATE TABLE IF NOT EXISTS carried (
    period TEXT PRIMARY KEY,         -- 2026-11
    data   TEXT NOT NULL             -- JSON {person id: [event key, ...]}: the 回访 and 帮扶 events of
                                     -- earlier frozen months, entered after those froze, that the
                                     -- frozen figures of this month counted (form Q)
);
CREATE TABLE IF NOT EXISTS figures (
    period TEXT NOT NULL,            -- 2026-10, or 2026-Q4 for form R
    form   TEXT NOT NULL,
    unit   TEXT NOT NULL,
    data   TEXT NOT NULL,            -- JSON of the table (rows and total)
    PRIMARY KEY (period, form, unit)
);
"""


class StatsStore:
    """The frozen months of one workspace (read lazily, written only by ``freeze``)."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / DB_NAME
        self._snapshots: dict[str, dict | None] = {}
        self._figures: dict[tuple[str, str, str], dict | None] = {}

    def _connect(self, write: bool = False) -> sqlite3.Connection | None:
        if not self.path.exists():
            if not write:
                return None
            private_dir(self.data_dir)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            os.close(fd)
        try:
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            con.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DocgenError(f"统计冻结数据库 {self.path} 无法打开（{exc}）") from None
        return con

    # ---- reading
    def frozen_on(self, period: str) -> dt.date | None:
        con = self._connect()
        if con is None:
            return None
        with closing(con):
            row = con.execute("SELECT frozen_on FROM months WHERE period = ?", (period,)).fetchone()
        return dt.date.fromisoformat(row[0]) if row else None

    def snapshot(self, period: str) -> dict | None:
        if period not in self._snapshots:
            con = self._connect()
            data = None
            if con is not None:
                with closing(con):
                    row = con.execute("SELECT snapshot FROM months WHERE period = ?", (period,)).fetchone()
                data = json.loads(row[0]) if row else None
            self._snapshots[period] = data
        return self._snapshots[period]

    def figures(self, period: str, form: str, unit: str) -> dict | None:
        key = (period, form, unit)
        if key not in self._figures:
            con = self._connect()
            data = None
            if con is not None:
                with closing(con):
                    row = con.execute("SELECT data FROM figures WHERE period = ? AND form = ? AND unit = ?",
                                      key).fetchone()
                data = json.loads(row[0]) if row else None
            self._figures[key] = data
        return self._figures[key]

    def counted(self, period: str) -> dict | None:
        """The events the frozen figures of ``period`` counted ({person: [event key …]}); None
        for a month frozen before docgen kept them (or not frozen)."""
        return self._events("counted", period)

    def carried(self, period: str) -> dict | None:
        """The late events of earlier frozen months that the frozen figures of ``period`` counted
        ({person: [event key …]}); None for a month frozen before docgen kept them (or not frozen)."""
        return self._events("carried", period)

    def _events(self, table: str, period: str) -> dict | None:
        assert table in ("counted", "carried")
        con = self._connect()
        if con is None:
            return None
        with closing(con):
            row = con.execute(f"SELECT data FROM {table} WHERE period = ?", (period,)).fetchone()
        return json.loads(row[0]) if row else None

    def months(self) -> list[tuple[str, str]]:
        con = self._connect()
        if con is None:
            return []
        with closing(con):
            return [tuple(r) for r in con.execute("SELECT period, frozen_on FROM months ORDER BY period")]

    # ---- writing
    def freeze(self, period: str, frozen_on: dt.date, snapshot: dict,
               figures: list[tuple[str, str, str, dict]], counted: dict | None = None,
               carried: dict | None = None) -> None:
        """Store a month's snapshot and figures in one transaction; a month freezes once."""
        con = self._connect(write=True)
        assert con is not None
        with closing(con):
            try:
                con.execute("BEGIN IMMEDIATE")
                if con.execute("SELECT 1 FROM months WHERE period = ?", (period,)).fetchone():
                    con.execute("ROLLBACK")
                    raise DocgenError(f"{period} 的统计数据已经冻结，不能重复冻结")
                con.execute("INSERT INTO months VALUES (?, ?, ?)",
                            (period, frozen_on.isoformat(), json.dumps(snapshot, ensure_ascii=False, sort_keys=True)))
                con.executemany("INSERT OR REPLACE INTO figures VALUES (?, ?, ?, ?)",
                                [(p, f, u, json.dumps(d, ensure_ascii=False, sort_keys=True))
                                 for p, f, u, d in figures])
                if counted is not None:
                    con.execute("INSERT OR REPLACE INTO counted VALUES (?, ?)",
                                (period, json.dumps(counted, ensure_ascii=False, sort_keys=True)))
                if carried is not None:
                    con.execute("INSERT OR REPLACE INTO carried VALUES (?, ?)",
                                (period, json.dumps(carried, ensure_ascii=False, sort_keys=True)))
                con.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.DatabaseError:
                    pass
                raise DocgenError(f"冻结统计数据失败（{exc}）") from None
        self._snapshots.pop(period, None)
        self._figures = {k: v for k, v in self._figures.items() if k[0] != period}


def store_for(ds) -> StatsStore | None:
    """The store of the workspace the records came from (None outside a workspace)."""
    ws = getattr(ds, "workspace", None)
    if ws is None:
        return None
    cached = getattr(ds, "_stats_store", None)
    if cached is None:
        cached = StatsStore(ws.data)
        try:
            ds._stats_store = cached
        except AttributeError:  # pragma: no cover - Dataset is a plain dataclass
            pass
    return cached
