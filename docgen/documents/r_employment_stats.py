"""Appendix R 照管对象再就业情况统计表: quarterly (re)employment of the persons who kept
abstinent (14 columns). ``--month 2026-Q4`` builds the quarter; so does the last month of a
quarter (``--month 2026-12``)."""
from __future__ import annotations

from ..model.stats import Statistics
from ..records.model import EMPLOYMENT_KINDS, UNEMPLOYMENT_REASONS
from .base import Period
from .layout import L, Layout, Para, Row, Table
from ._stat_common import StationTableForm, data_loops, date_line, landscape, notes_rows, signature, table_view

NOTES = [
    "1.本表由各指导站负责填报；数据每季度末统计一次，次月8日上报省局。",
    "2.再就业率=已就业合计数÷保持操守人数×100；“推荐就业人数”指经各级照管机构推荐实现再就业的人数。",
]
KEYS = ("保持操守", *EMPLOYMENT_KINDS, "已就业", "再就业率", "推荐就业", *UNEMPLOYMENT_REASONS)
COLUMNS = 14


def _two_lines(label: str) -> str:
    return label if len(label) <= 2 else label[:4] + "<br/>" + label[4:] if len(label) > 4 else label[:2] + "<br/>" + label[2:]


class EmploymentStatistics(StationTableForm):
    code = "R"
    name = "照管对象再就业情况统计表"

    def periods(self, period: Period | None) -> list[Period]:
        if period is None:
            return []
        if period.quarter is not None:
            return [period]
        if period.month is not None and period.month % 3 == 0:
            return [Period(period.year, quarter=period.month // 3)]
        return []

    def build_layout(self) -> Layout:
        hh = 9.0
        header = [
            Row([L("填报单位", rowspan=2), L("保持操守<br/>人数", rowspan=2), L("已就业情况统计", colspan=6),
                 L("再就<br/>业率", rowspan=2), L("推荐就业<br/>人数", rowspan=2), L("未就业情况统计", colspan=4)],
                hh, header=True),
            Row([L(_two_lines(k)) for k in EMPLOYMENT_KINDS] + [L("合计")]
                + [L(_two_lines(k)) for k in UNEMPLOYMENT_REASONS], 12, header=True),
        ]
        widths = [40, 16, 15, 15, 15, 15, 15, 13, 14, 16, 15, 15, 15, 15]
        rows = header + data_loops(COLUMNS) + notes_rows("填报说明", NOTES, COLUMNS)
        title = Para("照管对象再就业情况统计表", align="center", role="title", size=16, space_after=1)
        return landscape([title, date_line(), Table(widths, rows, size=9.5), signature(("站长", "审核", "制表"))],
                         "照管对象再就业情况统计表")

    def blank_view(self) -> dict:
        return {"t": {"rows": [], "totals": [{}]}}

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:
        return {"t": table_view(stats.table_r(unit, period), stats.ds, KEYS, period)}
