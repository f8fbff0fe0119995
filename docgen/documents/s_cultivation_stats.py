"""Appendix S 戒毒典型培育人数统计表: a station's monthly count of 典型培育 objects (19 columns
with the appendix's seven 戒毒所 columns).

The 各戒毒所 block has one column per 戒毒所 of the records, at least seven as drawn in the
appendix (unused ones are left blank for hand entries); with more than seven 戒毒所 the
table grows and its DOCX is made from a layout for that many columns."""
from __future__ import annotations

import tempfile
from pathlib import Path

from ..model.stats import Statistics
from .base import Period
from .layout import L, Layout, Row, Table, V
from ._stat_common import (StationTableForm, correction_note, data_loops, landscape, notes_rows, signature, station_title,
                           table_view)

NOTES = ["月末培育总数=上月末人数(合计)+本站新增人数+各所新增人数-本月减少人数；“本月减少人数”的原因需逐人另附简要说明。"]
DRAWN_INSTITUTIONS = 7


def s_layout(n_inst: int) -> Layout:
    n_inst = max(n_inst, DRAWN_INSTITUTIONS)
    columns = 12 + n_inst
    hh = 8.0
    header = [
        Row([L("单　位", rowspan=2), L("上月末培育总数", colspan=5), L("三级站<br/>本月<br/>新增<br/>人数", rowspan=2),
             L("本地域内由各戒毒所培育本月新增人数", colspan=n_inst), L("本月<br/>减少<br/>人数", rowspan=2),
             L("月末<br/>培育<br/>总数", rowspan=2), L("操守保持情况", colspan=2), L("备　注", rowspan=2)],
            hh, header=True),
        Row([L("戒毒所"), L("指<br/>导<br/>站"), L("工<br/>作<br/>站"), L("服<br/>务<br/>站"), L("合计")]
            + [V(f"t.inst[{i}]", align="center", size=8) for i in range(n_inst)]
            + [L("一年<br/>以内<br/>人数"), L("一年<br/>以上<br/>人数")], 20, header=True),
    ]
    widths = [32, 9, 7, 7, 7, 9, 10] + [11] * n_inst + [10, 10, 10, 10, 30]
    rows = header + data_loops(columns, last_align="left") + notes_rows("填报说明", NOTES, columns)
    return landscape([station_title("戒毒典型培育人数统计表"), Table(widths, rows, size=9), correction_note(),
                      signature(("站长", "审核", "制表"))], "戒毒典型培育人数统计表")


class CultivationStatistics(StationTableForm):
    code = "S"
    name = "戒毒典型培育人数统计表"
    reads_institutions = True

    def build_layout(self) -> Layout:
        return s_layout(DRAWN_INSTITUTIONS)

    def _wide(self, view: dict) -> Layout | None:
        n = len(view.get("t", {}).get("inst", []))
        return s_layout(n) if n > DRAWN_INSTITUTIONS else None

    def blank_view(self) -> dict:
        return {"t": {"rows": [], "totals": [{}], "inst": [""] * DRAWN_INSTITUTIONS}}

    def view(self, stats: Statistics, unit: str, period: Period) -> dict:
        table = stats.table_s(unit, period)
        insts = list(table.columns)
        keys = ["上月末戒毒所", "上月末指导站", "上月末工作站", "上月末服务站", "上月末合计", "三级站新增"]
        keys += [f"新增:{i}" for i in insts] + [""] * max(0, DRAWN_INSTITUTIONS - len(insts))
        keys += ["减少", "月末", "一年以内", "一年以上", "备注"]
        view = table_view(table, stats.ds, keys, period)
        names = [stats.ds.unit_name(i) for i in insts]
        view["inst"] = names + [""] * max(0, DRAWN_INSTITUTIONS - len(names))
        return {"t": view}

    def render_pdf(self, view: dict, context: str = "") -> bytes:
        wide = self._wide(view)
        if wide is None:
            return super().render_pdf(view, context)
        from ..render.pdf import render_pdf

        return render_pdf(wide, view, context)

    def render_docx(self, view: dict) -> bytes:
        wide = self._wide(view)
        if wide is None:
            return super().render_docx(view)
        from ..fsutil import atomic_write, private_dir
        from ..render.docx import build_template, render_docx

        with tempfile.TemporaryDirectory(prefix="docgen-s-") as tmp:
            path = Path(private_dir(Path(tmp))) / "S-wide.docx"
            atomic_write(path, build_template(wide))
            return render_docx(path, view)

    def render_xlsx(self, view: dict) -> bytes | None:
        wide = self._wide(view)
        if wide is None:
            return super().render_xlsx(view)
        from ..render.xlsx import render_xlsx

        return render_xlsx(wide, view, self.name)
