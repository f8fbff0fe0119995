"""Appendix L 戒毒典型培育对象地区分布统计表: the 典型培育 objects a 戒毒所 cultivates at the
month end, by the city of their household register (the 13 cities of Jiangsu; 15 columns).
One table per 戒毒所 and one for the province (江苏省各戒毒所, with a 合计 row)."""
from __future__ import annotations

from ..model.stats import JIANGSU_CITIES, Statistics
from .base import Period
from .layout import L, Layout, Para, Row, Table
from ._stat_common import (InstitutionTableForm, data_loops, date_line, inst_title_part, landscape, notes_rows,
                           signature, table_view)

NOTES = ["数据统计截止日期为当月月底，次月8日前上报省局。"]
KEYS = (*JIANGSU_CITIES, "合计")
COLUMNS = 15


class RegionStatistics(InstitutionTableForm):
    code = "L"
    name = "戒毒典型培育对象地区分布统计表"

    def build_layout(self) -> Layout:
        header = [
            Row([L("培育单位", rowspan=2), L("培　育　对　象　地　区　分　布", colspan=13), L("合　计", rowspan=2)],
                8, header=True),
            Row([L(c) for c in JIANGSU_CITIES], 9, header=True),
        ]
        widths = [40] + [14] * 13 + [14]
        rows = header + data_loops(COLUMNS, min_rows=4) + notes_rows("填报说明", NOTES, COLUMNS)
        title = Para("<u>{{ t.inst | blank(8) }}</u>戒毒所戒毒典型培育对象地区分布统计表", align="center", role="title",
                     size=16, space_after=1)
        return landscape([title, date_line(), Table(widths, rows, size=10),
                          signature(("分管领导", "部门负责人", "制表"))], "戒毒典型培育对象地区分布统计表")

    def blank_view(self) -> dict:
        return {"t": {"rows": [], "totals": []}}

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:
        view = table_view(stats.table_l(unit, period), stats.ds, KEYS, period)
        view["inst"] = inst_title_part(stats.ds, unit)
        return {"t": view}
