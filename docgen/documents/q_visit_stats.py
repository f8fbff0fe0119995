"""Appendix Q 回访帮扶情况统计表: a station's monthly follow-up visits and help cases (15 columns)."""
from __future__ import annotations

from ..model.stats import VISIT_COLUMNS, Statistics
from .base import Period
from .layout import L, Layout, Row, Table
from ._stat_common import (StationTableForm, correction_note, data_loops, landscape, notes_rows, signature, station_title,
                           table_view)

HELP_COLUMNS = ("办理就业", "办理低保", "办理医保", "解决租房", "解决就学", "法律援助", "心理咨询", "化解矛盾")
KEYS = (*VISIT_COLUMNS, *HELP_COLUMNS, "救助财物人次", "救助财物金额", "其他")
COLUMNS = 15


class VisitHelpStatistics(StationTableForm):
    code = "Q"
    name = "回访帮扶情况统计表"

    def build_layout(self) -> Layout:
        hh = 7.5
        header = [
            Row([L("单　位", rowspan=3), L("跟踪回访人次数", colspan=3), L("帮扶救助人次数", colspan=11)],
                hh, header=True),
            Row([L("电话<br/>回访", rowspan=2), L("见面<br/>回访", rowspan=2), L("其他<br/>形式", rowspan=2)]
                + [L(k[:2] + "<br/>" + k[2:], rowspan=2) for k in HELP_COLUMNS]
                + [L("救助财物", colspan=2), L("其他", rowspan=2)], hh, header=True),
            Row([L("人次"), L("财物(元)")], hh, header=True),
        ]
        widths = [36] + [14] * 3 + [13] * 8 + [12, 16, 12]
        # The appendix prints 填报说明 with nothing after it; so does docgen.
        rows = header + data_loops(COLUMNS) + notes_rows("填报说明", [""], COLUMNS, height=12)
        return landscape([station_title("回访帮扶情况统计表"), Table(widths, rows, size=9.5), correction_note(),
                          signature(("站长", "审核", "制表"))], "回访帮扶情况统计表")

    def blank_view(self) -> dict:
        return {"t": {"rows": [], "totals": [{}]}}

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:
        return {"t": table_view(stats.table_q(unit, period), stats.ds, KEYS, period)}
