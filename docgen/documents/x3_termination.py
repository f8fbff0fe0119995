"""X3 终止后续照管服务协议审批表 (docgen design, 5.3 of the standard).

The 指导站 may terminate the agreement on one of the five grounds of 5.3. The form
lists the five grounds as check boxes (☐, the recorded one ☑ from the 终止 event's
情形), the facts (事实依据), the opinions of the 服务站 and the 工作站 and the approval
of the 指导站, each with signature, seal and date blanks. One per 终止 event; the
event date is the date the termination takes effect and is printed as such.

The boxes ☐ ☑ are not in the Noto CJK faces; ``render.symbols`` draws them.
"""
from __future__ import annotations

from ..records.load import Dataset
from ..records.model import TERMINATION_GROUNDS, Person
from ..render.symbols import BOX, BOX_CHECKED
from .base import Form, Period, Target, cn_date, person_deps, person_label, s, safe_name
from ._extras import designed_footer, events_of, gap, person_basics, seal_line, signature_rows, text_cell
from .layout import L, Layout, Para, Row, Table, Title, V

NOTES = [
    "注1：照管对象有规范5.3所列情形之一的，经指导站批准可终止协议；在相应情形前的方框内打“☑”。",
    "注2：“事实依据”写明时间、经过及证明材料（回访记录、公安机关或法院文书等）。",
    "注3：本表经指导站审批后归入照管对象个人档案，并告知照管对象。",
]


def ground_boxes(ground: str | None) -> dict:
    """g0 … g4: ☑ for the recorded ground, ☐ for the others."""
    return {f"g{i}": BOX_CHECKED if g == ground else BOX for i, g in enumerate(TERMINATION_GROUNDS)}


def termination_view(ds: Dataset, p: Person, event) -> dict:
    chain = ds.station_chain(p.station)
    work = next((st for st in chain if st.kind == "工作站"), None)
    guide = next((st for st in chain if st.kind == "指导站"), None)
    t = {"facts": s(event.facts), "date": cn_date(event.date), "notes": s(event.notes),
         "work_station": work.display_name if work else "",
         "guidance_station": guide.display_name if guide else "", **ground_boxes(event.ground)}
    return {"p": person_basics(ds, p), "t": t}


class Termination(Form):
    code = "X3"
    name = "终止后续照管服务协议审批表"
    kind = "record_form"
    scope = "person"
    designed = True

    def build_layout(self) -> Layout:
        h = 7.0
        grounds = []
        for i, g in enumerate(TERMINATION_GROUNDS):
            cells = [L("终止情形", rowspan=len(TERMINATION_GROUNDS))] if i == 0 else []
            cells.append(text_cell(f"{{{{ t.g{i} or '{BOX}' }}}} {g}", 5))
            grounds.append(Row(cells, 7.0))
        rows = [
            Row([L("姓　名"), V("p.name"), L("性别"), V("p.sex"), L("出生年月"), V("p.birth")], h),
            Row([L("身份证号码"), V("p.id_number"), L("联系方式"), V("p.phone", 3)], h),
            Row([L("户籍所在地"), V("p.household", 5)], h),
            Row([L("服务站"), V("p.station", 3), L("跟踪回访<br/>责任人"), V("p.officer")], h),
            Row([L("协议签订<br/>日期"), V("p.signed"), L("报到时间"), V("p.report"), L("终止日期"), V("t.date")], h),
            Row([L("照管期限"), V("p.care_term", 5)], h),
            *grounds,
            Row([L("事实依据"), V("t.facts", 5, valign="top")], 34),
            *signature_rows("服务站意见", "", seal_line("负责人", "服务站"), 18),
            *signature_rows("工作站意见", "", seal_line("负责人", "工作站"), 18),
            *signature_rows("指导站<br/>审批意见", f"{BOX} 同意终止后续照管服务协议{gap(8)}{BOX} 不同意终止",
                            seal_line("审批人", "指导站"), 18),
            Row([L("备　注"), V("t.notes", 5)], 10),
        ]
        blocks = [Title("终止后续照管服务协议审批表", size=17, space_after=3),
                  Table([21, 40, 22, 34, 24, 33], rows, size=10)]
        blocks += [Para(n, size=8.5, role="table", leading=10.5, space_before=1.2 if i == 0 else 0)
                   for i, n in enumerate(NOTES)]
        return Layout(blocks, margins=(14, 16, 16, 16), footer=designed_footer("5.3"), doc_title=self.name)

    def blank_view(self) -> dict:
        return {"p": {}, "t": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            stem = f"{safe_name(pid)}-{safe_name(p.name)}"
            ends = events_of(p, "终止")
            for e in ends:
                suffix = "" if len(ends) == 1 else f"-{e.date.isoformat()}"
                yield Target(form=self.code, key=f"{pid}{suffix}", path=f"X3/{stem}{suffix}",
                             view=termination_view(ds, p, e), context=person_label(p), person=pid,
                             unit=p.station, deps=person_deps(ds, p, chain=True, institution=True))
