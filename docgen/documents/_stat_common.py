"""What the statistical table forms L N P Q R S share: the page, titles, signature lines,
rows of figures and targets per unit and period.

Figures come from ``model.stats`` (frozen figures for frozen months). A view is
``{"t": {...}}``: title parts, ``rows`` (one dict per data row, keys ``v0`` … ``vN`` in column
order, ``v0`` the unit), ``totals`` (the 合计 row, a list of zero or one), the date and ``notes`` (the corrections of
frozen months the figures count, printed below the table; none for most months).
"""
from __future__ import annotations

from pathlib import Path

from ..model.facts import facts_for
from ..model.stats import PROVINCE, Statistics, StatTable, money
from ..records.load import Dataset
from ..records.model import Station
from .base import Form, Period, Target, safe_name
from .layout import FULL_SPACE, L, Layout, Loop, Para, Row, V

MARGINS = (14.0, 12.0, 16.0, 12.0)  # top right bottom left, mm (A4 landscape)
DATA_ROW_MM = 7.5
MIN_ROWS = 3


def fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return money(value)
    return str(value)


def value_cells(n: int, var: str, first_align: str = "center") -> list:
    """Cells v0 … v{n-1} of a data row."""
    return [V(f"{var}.v0", align=first_align)] + [V(f"{var}.v{i}", align="center") for i in range(1, n)]


def data_loops(n: int, total_label: str = "合　计", min_rows: int = MIN_ROWS, last_align: str = "center") -> list:
    """The data rows (one per unit, at least ``min_rows``) and the 合计 row."""
    cells = value_cells(n, "r")
    if last_align != "center":
        cells[-1] = V(f"r.v{n - 1}", align=last_align, size=7.5)
    total = [L(total_label)] + [V(f"s.v{i}", align="center") for i in range(1, n)]
    return [Loop("r", "t.rows", Row(cells, DATA_ROW_MM), min_rows=min_rows),
            Loop("s", "t.totals", Row(total, DATA_ROW_MM))]


def notes_rows(label: str, notes: list[str], ncols: int, height: float = 7.0) -> list[Row]:
    if not notes:
        return []
    rows = [Row([L(label, rowspan=len(notes)), L(notes[0], colspan=ncols - 1, align="left")], height)]
    rows += [Row([L(n, colspan=ncols - 1, align="left")], height) for n in notes[1:]]
    return rows


def signature(names: tuple[str, ...], gap: int = 14) -> Para:
    text = (FULL_SPACE * gap).join(f"{n}：" for n in names)
    return Para(text + FULL_SPACE * gap, size=11, role="body", space_before=3)


def station_title(suffix: str) -> Para:
    """后续照管＿＿站＿＿年度＿＿月份{suffix}, the blanks underlined."""
    return Para("后续照管<u>{{ t.unit | blank(6) }}</u>站<u>{{ t.year | blank(3) }}</u>年度"
                "<u>{{ t.month | blank(2) }}</u>月份" + suffix, align="center", role="title", size=16,
                space_after=3)


def date_line() -> Para:
    return Para("{{ t.y | blank(3) }}年{{ t.m | blank(2) }}月{{ t.d | blank(2) }}日", align="right", size=11,
                role="body", space_after=1.5)


def correction_note() -> Para:
    """The note below the table of a month that counts corrections of frozen months: a heading
    and one paragraph per correction (``t.notes``); nothing at all when there are none."""
    return Para("{{ n }}", items="t.notes", var="n", size=9, role="body", space_before=1.5)


def note_lines(corrections: list[str]) -> list[str]:
    """``t.notes``: 注：本表含对已报月份的更正 n 项： and the numbered corrections; [] for none."""
    if not corrections:
        return []
    return [f"注：本表含对已报月份的更正 {len(corrections)} 项（已报月份的数字不变，差异计入本月）："] + \
        [f"{i}．{c}。" for i, c in enumerate(corrections, start=1)]


def landscape(blocks: list, title: str) -> Layout:
    return Layout(blocks, landscape=True, margins=MARGINS, page_numbers=True, doc_title=title)


def station_blank(station: Station | None) -> str:
    """The blank of 后续照管＿＿站: 玄武区工作 / 南京市指导 / 梅园新村街道服务."""
    if station is None:
        return ""
    return f"{station.short}{station.kind[:2]}"


def row_view(values: list, name: str) -> dict:
    out = {"v0": name}
    for i, value in enumerate(values, start=1):
        out[f"v{i}"] = fmt(value)
    return out


def table_view(table: StatTable, ds: Dataset, keys, period: Period, total_label: bool = True) -> dict:
    rows = [row_view([r["values"].get(k, "") for k in keys], r["name"]) for r in table.rows]
    totals = [row_view([table.total.get(k, "") for k in keys], "合计")] if table.total is not None else []
    st = ds.stations.get(table.unit)
    last = period.last_day
    return {"unit": station_blank(st), "year": str(period.year), "month": str(period.as_month().month),
            "rows": rows, "totals": totals, "y": str(last.year), "m": str(last.month), "d": str(last.day),
            "frozen": table.frozen, "notes": note_lines(table.corrections)}


def _frozen_snapshots(stats: Statistics | None, period: Period | None) -> list[dict]:
    """The frozen month-end snapshots a table of ``period`` reads (its month and the month
    before): they may place a person where the records no longer do."""
    if stats is None or period is None:
        return []
    month = period.as_month()
    return [stats.snapshot(m) for m in (month, month.previous_month()) if stats.frozen(m)]


def unit_deps(ds: Dataset, unit: str, stats: Statistics | None = None, period: Period | None = None,
              institutions: bool = False) -> list[Path]:
    """The files of a station's table: every station of its subtree (the title, the rows of its
    child units and which 服务站 lie below it), every person of those 服务站 and the persons a
    frozen snapshot places there. ``institutions`` (form S): also every 戒毒所 (the 各所新增
    columns) and the 典型培育 unit of each of those persons (counted by its kind)."""
    facts = facts_for(ds)
    snaps = _frozen_snapshots(stats, period)

    def compute() -> list[Path]:
        leaves = facts.leaves(unit)
        pids = [p.id for p in facts.persons_of(unit)]
        units: list[str] = []
        for snap in snaps:
            for pid, m in facts.snapshot_items(snap, leaves):
                pids.append(pid)
                units.append(m.get("c") or "")
        ids = [*facts.station_tree(unit), *pids]
        if institutions:
            ids.extend(sorted(ds.institutions))
            ids.extend(units)
            ids.extend(p.cultivation.unit for pid in pids
                       if (p := ds.persons.get(pid)) is not None and p.cultivation)
        return facts.record_files(*ids)
    # the same for every table of the unit (P Q R; S with the institutions): once per dataset
    key = ("unit_deps", unit, institutions, tuple(id(s) for s in snaps))
    return list(facts.memo(key, compute))


def inst_deps(ds: Dataset, unit: str, stats: Statistics | None = None, period: Period | None = None) -> list[Path]:
    """The files of a 戒毒所's table (N, L): the 戒毒所 (every one for the province table) and
    every person it cultivates by the records or by a frozen snapshot."""
    insts = set(ds.institutions) if unit == PROVINCE else {unit}
    facts = facts_for(ds)
    pids = [p.id for i in insts for p in facts.cultivated_by().get(i, ())]
    for snap in _frozen_snapshots(stats, period):
        pids.extend(pid for i in insts for pid, _ in facts.snapshot_cultivated(snap, i))
    return facts.record_files(unit, *sorted(insts), *pids)


class StationTableForm(Form):
    """A monthly table of a station (P Q S; R quarterly): one target per station."""

    kind = "table"
    scope = "unit"
    periodic = True
    xlsx = True

    reads_institutions = False  # S: the 各所新增 columns and the kinds of the cultivating units

    def periods(self, period: Period | None) -> list[Period]:
        if period is None or period.month is None:
            return []
        return [period]

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:  # pragma: no cover
        raise NotImplementedError

    def targets(self, ds: Dataset, period: Period | None):
        periods = self.periods(period)
        if not periods:
            return
        stats = Statistics(ds)
        for per in periods:
            for sid in sorted(ds.stations):
                st = ds.stations[sid]
                view = self.view(stats, sid, per)
                yield Target(form=self.code, key=f"{sid}@{per.key}",
                             path=f"{self.code}/{per.key}/{safe_name(sid)}-{safe_name(st.display_name)}-{self.name}",
                             view=view, context=f"{st.display_name} {per}{self.name}", unit=sid,
                             period=per.key,
                             deps=unit_deps(ds, sid, stats, per, institutions=self.reads_institutions))


class InstitutionTableForm(Form):
    """A monthly table of the 戒毒所 (N L): one per 戒毒所 and one for the province."""

    kind = "table"
    scope = "institution"
    periodic = True
    xlsx = True

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:  # pragma: no cover
        raise NotImplementedError

    def targets(self, ds: Dataset, period: Period | None):
        if period is None or period.month is None or not ds.institutions:
            return
        stats = Statistics(ds)
        for unit in [*sorted(ds.institutions), PROVINCE]:
            name = "江苏省各戒毒所" if unit == PROVINCE else ds.unit_name(unit)
            yield Target(form=self.code, key=f"{unit}@{period.key}",
                         path=f"{self.code}/{period.key}/{safe_name(unit)}-{safe_name(name)}-{self.name}",
                         view=self.view(stats, unit, period), context=f"{name} {period}{self.name}", unit=unit,
                         period=period.key, deps=inst_deps(ds, unit, stats, period))


def inst_title_part(ds: Dataset, unit: str) -> str:
    """The blank before 戒毒所 in L's title: 江苏省东湖强制隔离 / 江苏省各."""
    if unit == PROVINCE:
        return "江苏省各"
    name = ds.unit_name(unit)
    return name[: -len("戒毒所")] if name.endswith("戒毒所") else name

