"""X4 报到登记及首次谈话记录表 (docgen design, 9.2 and A.4.2 of the standard).

The 服务站 registers the person when they report (报到), checks their data against the
对象信息表 (form D), learns their state of mind, explains their rights and duties and
names the follow-up officer (跟踪回访责任人). One per person who has reported, filled
from the first 报到 event; the care period (照管期限) runs from that day (5.1).

The report deadline is 十日内 from release (agreement E, clause 2), counted as the law
counts periods in days: the day of release is not counted (民法典 第二百零一条), so
the last day is release + 10 days (as ``model.lifecycle`` reads it). A person released
for medical treatment (所外就医) is not held to the ten days.
"""
from __future__ import annotations

import datetime as dt

from ..model.lifecycle import REPORT_DAYS, timeline
from ..records.load import Dataset
from .base import Form, Period, Target, cn_date, person_deps, person_label, s, safe_name
from ._extras import DATE_BLANK, designed_footer, events_of, gap, person_basics, text_cell
from .layout import L, Layout, Para, Row, Table, Title, V

RIGHTS = (
    "1．享有的权利：获得戒毒、心理、法律等戒毒康复知识的咨询和辅导；获得入学、就业、社会保障等方面的"
    "咨询和服务；按需求获得帮扶救助，协助修复家庭关系。<br/>"
    "2．应履行的义务：遵守法律法规，自觉履行《后续照管服务协议书》；在照管期限内积极配合，接受监督和"
    "跟踪回访，定期汇报工作、生活、操守保持等方面的情况，积极参加相关活动。<br/>"
    "3．有无正当理由未按期报到、连续3个月联系不上或拒绝回访、照管期限内又吸食毒品、违法犯罪被判处刑罚，"
    "或有其他违反后续照管服务协议行为的，经指导站批准可终止协议（规范5.3）。"
)

NOTES = [
    "注1：本表由服务站在照管对象报到时填写，报到之日即照管期限起算之日（规范5.1）。",
    "注2：“信息核对”对照《对象信息表》核对身份、户籍、住址、联系方式及家庭成员等信息，有变更的写明变更情况。",
    "注3：本表归入照管对象个人档案。",
]


def report_deadline(release: dt.date) -> dt.date:
    return release + dt.timedelta(days=REPORT_DAYS)


def report_view(ds: Dataset, p) -> dict:
    v = person_basics(ds, p)
    first = events_of(p, "报到")[0]
    deadline = report_deadline(p.detention.release)
    if timeline(p).entry_kind == "所外就医":  # under treatment the ten days do not apply
        on_time, deadline_text = "所外就医，不适用", "不适用（所外就医）"
    else:
        on_time = "是" if first.date <= deadline else f"否（逾期{(first.date - deadline).days}日）"
        deadline_text = cn_date(deadline)
    v.update({
        "report": cn_date(first.date), "deadline": deadline_text, "on_time": on_time,
        "thoughts": s(first.thoughts_state or first.thoughts), "talk_date": cn_date(first.date),
        "notes": s(first.notes),
    })
    return v


class ReportRecord(Form):
    code = "X4"
    name = "报到登记及首次谈话记录表"
    kind = "record_form"
    scope = "person"
    designed = True

    def build_layout(self) -> Layout:
        h = 7.0
        rows = [
            Row([L("姓　名"), V("p.name"), L("性别"), V("p.sex"), L("出生年月"), V("p.birth")], h),
            Row([L("身份证号码"), V("p.id_number"), L("联系方式"), V("p.phone", 3)], h),
            Row([L("户籍所在地"), V("p.household", 5)], h),
            Row([L("现居住地"), V("p.residence", 5)], h),
            Row([L("戒毒所"), V("p.institution", 3), L("出所时间"), V("p.release")], h),
            Row([L("协议签订<br/>日期"), V("p.signed"), L("报到期限"), V("p.deadline"), L("按期报到"),
                 V("p.on_time")], h),
            Row([L("服务站"), V("p.station", 3), L("报到时间"), V("p.report")], h),
            Row([L("信息核对"),
                 text_cell("对照《对象信息表》核对身份、户籍、住址、联系方式及家庭成员情况：<br/>"
                           f"☐ 一致{gap(8)}☐ 有变更，变更情况：", 5, valign="top")], 22),
            Row([L("思想状况"), V("p.thoughts", 5, valign="top")], 50),
            Row([L("告知<br/>权利义务", rowspan=2), text_cell(RIGHTS, 5, size=9.5)], 34),
            Row([L(f"以上权利义务已告知本人。{gap(12)}照管对象（签名）：{gap(36)}{{{{ p.talk_date or '{DATE_BLANK}' }}}}{gap(4)}",
                   5, align="right", valign="bottom")], 12),
            Row([L("跟踪回访<br/>责任人"), V("p.officer", 3), L("谈话人<br/>（签名）"), L("")], 11),
            Row([L("照管期限"), V("p.care_term", 5)], h),
            Row([L("谈话日期"), V("p.talk_date", 5)], h),
            Row([L("备　注"), V("p.notes", 5)], 16),
        ]
        blocks = [Title("报到登记及首次谈话记录表", size=17, space_after=3),
                  Table([21, 40, 22, 34, 24, 33], rows, size=10)]
        blocks += [Para(n, size=8.5, role="table", leading=10.5, space_before=1.2 if i == 0 else 0)
                   for i, n in enumerate(NOTES)]
        return Layout(blocks, margins=(14, 16, 16, 16), footer=designed_footer("9.2"),
                      doc_title=self.name)

    def blank_view(self) -> dict:
        return {"p": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            if not events_of(p, "报到"):
                continue
            yield Target(form=self.code, key=pid, path=f"X4/{safe_name(pid)}-{safe_name(p.name)}",
                         view={"p": report_view(ds, p)}, context=person_label(p), person=pid,
                         unit=p.station, deps=person_deps(ds, p, station=True, institution=True))


__all__ = ["ReportRecord", "report_view", "report_deadline"]
