"""Appendix P 后续照管数据统计表: a station's monthly register figures (25 columns).

The figures and their readings are those of ``model.stats`` (E=A+C-D, G=E-F, H=G÷E, J=G-I,
K=J÷E checked on every row before anything is printed)."""
from __future__ import annotations

from ..model.stats import P_KEYS, Statistics
from .base import Period
from .layout import L, Layout, Row, Table
from ._stat_common import (StationTableForm, correction_note, data_loops, landscape, notes_rows, signature, station_title,
                           table_view)

NOTES = [
    "1.数据统计截止日期为当月月底；次月8日前上报省局；所有项目数据请用手工输入，不得用“自动求和”等自动计算模式。",
    "2.数据统计必须符合下列公式。E=A+C-D；G=E-F；H=G÷E； J=G-I；K=J÷E(字母代表对应的统计项目中“合计”数据)。",
    "3.项目“F”和“I”的数据应统计在项目“E”内；判处刑罚但未收监执行的，仍视为照管对象。",
    "4.操守保持率以年度为统计时段，每年1月将上年度项目“I”中照管期满1年的人数从项目“E”中减除；照管期未满1年的，继续统计在内。",
]
COLUMNS = 25


class DataStatistics(StationTableForm):
    code = "P"
    name = "后续照管数据统计表"

    def build_layout(self) -> Layout:
        hh = 7.0
        header = [
            Row([L("单　位", rowspan=3), L("上月基础<br/>数据", colspan=2), L("本月人数变动", colspan=6),
                 L("本月<br/>在册<br/>人数<br/>(E)", rowspan=3), L("本月异动情况(F)", colspan=4, rowspan=2),
                 L("本月<br/>实际<br/>照管<br/>人数<br/>(G)", rowspan=3), L("本月<br/>照管率<br/>(H)", rowspan=3),
                 L("未能保持操守<br/>人数(I)", colspan=3, rowspan=2), L("操守保持人数(J)", colspan=5, rowspan=2),
                 L("操守<br/>保持率<br/>(K)", rowspan=3)], hh, header=True),
            Row([L("在册<br/>人数<br/>(A)", rowspan=2), L("实际<br/>照管<br/>人数<br/>(B)", rowspan=2),
                 L("本月新增人数(C)", colspan=3), L("本月减少人数(D)", colspan=3)], hh, header=True),
            Row([L("解戒<br/>人员"), L("所外<br/>就医"), L("合计"), L("照管<br/>期满"), L("死亡"), L("合计"),
                 L("失联"), L("拒访"), L("尚未<br/>报到"), L("合计"), L("强戒<br/>或者<br/>复吸"), L("判处<br/>刑罚"),
                 L("合计"), L("1年<br/>以内"), L("1-2年"), L("2-3年"), L("3年<br/>以上"), L("合计")],
                14, header=True),
        ]
        widths = [30] + [9.2] * 14 + [12.5] + [9.2] * 8 + [12.5]
        rows = header + data_loops(COLUMNS) + notes_rows("填报<br/>说明", NOTES, COLUMNS)
        return landscape([station_title("数据统计表"), Table(widths, rows, size=8.5), correction_note(),
                          signature(("站长", "审核", "制表"))], "后续照管数据统计表")

    def blank_view(self) -> dict:
        return {"t": {"rows": [], "totals": [{}]}}

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:
        table = stats.table_p(unit, period)
        return {"t": table_view(table, stats.ds, P_KEYS, period)}
