"""Appendix T 工作日志: per station and month, from the station's work log records.

A station with a work log file gets its T for every month asked for (empty rows to write in
when nothing was logged that month); stations without any log records keep paper logs.
"""
from __future__ import annotations

from ..records.load import Dataset
from .base import Form, Period, Target, record_files, s, safe_name
from ._forms3 import period_or_error
from .layout import L, Layout, Loop, Para, Row, Table, Title, V

T_NOTE = "注：记载本站工作人员每日工作概况及本站当日重要事项，工作中遇到的问题及解决问题的方案、措施、成效。"
BLANK_ROWS = 16


class WorkLogForm(Form):
    code = "T"
    name = "工作日志"
    kind = "table"
    scope = "unit"
    periodic = True
    xlsx = True

    def build_layout(self) -> Layout:
        rows = [
            Row([L("日　期"), L("工　作　内　容"), L("备　注")], 10, header=True),
            Loop("e", "t.entries | pad(t.min_rows or 0)",
                 Row([V("e.date", align="center"), V("e.content"), V("e.notes")], 11)),
            Row([L(T_NOTE, 3, align="left", size=9.5)], 9),
        ]
        blocks = [
            Title("工作日志", size=18, space_after=2),
            Para("单位：<u>{{ t.unit | blank(14) }}</u>　　　　<u>{{ t.year | blank(4) }}</u>年"
                 "<u>{{ t.month | blank(2) }}</u>月", align="center", role="table", size=11, space_after=2),
            Table([22, 118, 34], rows, size=11),
        ]
        return Layout(blocks, margins=(16, 18, 16, 18), page_numbers=True, doc_title=self.name)

    def blank_view(self) -> dict:
        return {"t": {"entries": [], "min_rows": BLANK_ROWS}}

    def targets(self, ds: Dataset, period: Period | None):
        period = period_or_error(period, self.code)
        for m in period.months():
            for sid in sorted(ds.logs):
                st = ds.stations.get(sid)
                if st is None:
                    continue
                entries = sorted((e for e in ds.logs[sid] if m.first_day <= e.date <= m.last_day),
                                 key=lambda e: e.date)
                rows = [{"date": f"{e.date.month}月{e.date.day}日", "content": e.content, "notes": s(e.notes)} for e in entries]
                view = {"t": {"entries": rows, "min_rows": 0 if rows else 6, "unit": st.display_name,
                              "year": str(m.year), "month": str(m.month)}}
                deps = record_files(ds, f"log:{sid}", sid)
                path = f"T/{m.key}/{safe_name(sid)}-{safe_name(st.short)}"
                yield Target(form=self.code, key=f"{sid}/{m.key}", path=path,
                             view=view, context=f"{st.display_name} {m} 工作日志", unit=sid, period=m.key,
                             deps=deps)
