"""Appendix N 戒毒典型培育操守保持情况统计表: the 戒毒所's monthly count of the 典型培育
objects it cultivates, by months of abstinence (15 columns). One table per 戒毒所 and one
for the province (every 戒毒所 and a 合计 row)."""
from __future__ import annotations

from ..model.stats import N_BUCKETS, PROVINCE, Statistics
from .base import Period
from .layout import L, Layout, Para, Row, Table
from ._stat_common import (InstitutionTableForm, correction_note, data_loops, date_line, landscape, notes_rows,
                           signature, table_view)

NOTES = ["数据统计截止日期为当月月底，次月8日前上报省局。"]
KEYS = ("上月末", "新增", "减少", "月末", *N_BUCKETS, "减少原因")
COLUMNS = 15


class AbstinenceStatistics(InstitutionTableForm):
    code = "N"
    name = "戒毒典型培育操守保持情况统计表"

    def build_layout(self) -> Layout:
        hh = 8.0
        bucket_labels = ["3个月<br/>以内", "4-6<br/>个月", "7-9<br/>个月", "10-12<br/>个月", "1年<br/>以上", "2年<br/>以上",
                         "3年<br/>以上", "4年<br/>以上", "5年<br/>以上"]
        header = [
            Row([L("单　　位", rowspan=2), L("人数异动", colspan=3), L("月末<br/>人数", rowspan=2),
                 L("戒治操守保持时间分类", colspan=9), L("人数减少<br/>原因说明", rowspan=2)], hh, header=True),
            Row([L("上月末<br/>人数"), L("本月<br/>新增"), L("本月<br/>减少")] + [L(b) for b in bucket_labels],
                12, header=True),
        ]
        widths = [40, 12, 11, 11, 11] + [11] * 9 + [42]
        rows = header + data_loops(COLUMNS, last_align="left") + notes_rows("填报说明", NOTES, COLUMNS)
        title = Para("<u>{{ t.year | blank(3) }}</u>年度<u>{{ t.month | blank(2) }}</u>月份戒毒典型培育操守保持情况统计表",
                     align="center", role="title", size=16, space_after=1)
        return landscape([title, date_line(), Table(widths, rows, size=9.5), correction_note(),
                          signature(("分管领导", "部门负责人", "制表"))], "戒毒典型培育操守保持情况统计表")

    def blank_view(self) -> dict:
        return {"t": {"rows": [], "totals": []}}

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:
        view = table_view(stats.table_n(unit, period), stats.ds, KEYS, period)
        if unit == PROVINCE and view["totals"]:
            view["totals"][0]["v0"] = "合计"
        return {"t": view}
