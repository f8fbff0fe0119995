"""Appendix I 跟踪回访记录表 (one per 回访 event) and appendix J 帮扶救助受理登记表 (one per
帮扶 event), filled from the person's events."""
from __future__ import annotations

from ..records.load import Dataset
from ..records.model import HELP_KINDS
from .base import Form, Period, Target, cn_date, person_deps, person_label, s, safe_name
from .layout import L, Layout, Para, Row, Table, Title, V

I_NOTES = [
    "注1：了解家庭情况（成员构成、关注家庭关系是否和睦、是否有未成年子女等，了解家庭主要收入来源等情况）。"
    "询问本人是否参加工作，在何处，收入情况等。没有参加工作是何原因，鼓励其努力参加工作。",
    "注2：询问是否和以前的不良朋友来往，可向其家人电话侧面了解。提醒远离社会上的不良朋友，不酗酒，不出入高危场所"
    "（酒吧、歌厅），不无证驾驶。告诫其珍惜自由美好生活，吸取前车之鉴，不重蹈覆辙。",
    "注3：了解照管对象的联系方式，叮嘱保持联系，换联系方式时要及时向工作站或服务站汇报。结束时给予美好祝福。",
    "注4：以上谈话大纲可谈其中几点，也可自由拟定谈话提纲，根据具体情况具体对待。谈话态度应真诚、友善。本着从关心的"
    "角度去开展谈话，谈话过程中要学会倾听。重点关注是否是三次以上戒毒人员、是否有重大疾病、是否为三无人员等，"
    "谈话后要及时记录做到心中有数。",
]

J_NOTES = [
    "注5：“帮扶事项类型”填写与“回访帮扶情况统计表”中包含项目一致。",
    "注6：帮扶事项办结完毕后需交审批领导签字确认，并将整个救助事件整理形成个案附在审批表后归档留存备查。",
    "注7：若事项不属救助范围，需另外写明不予受理原因附在审批表后归档留存备查。",
]


def _events(p, kind: str) -> list[tuple[str, object]]:
    """(key, event) of a person's events of ``kind``, keyed by date (with a suffix when repeated)."""
    out = []
    seen: dict[str, int] = {}
    for e in sorted((e for e in p.events if e.kind == kind), key=lambda e: e.date):
        day = e.date.isoformat()
        seen[day] = seen.get(day, 0) + 1
        out.append((day if seen[day] == 1 else f"{day}-{seen[day]}", e))
    return out


def _unit(ds: Dataset, p) -> str:
    st = ds.stations.get(p.station)
    return st.display_name if st else ""


class VisitRecord(Form):
    code = "I"
    name = "跟踪回访记录表"
    kind = "record_form"
    scope = "person"

    def build_layout(self) -> Layout:
        h = 10
        rows = [
            Row([L("姓　名"), V("i.name", align="center"), L("联系电话"), V("i.phone", 2, align="center")], h),
            Row([L("回访时间"), V("i.date", align="center"), L("回访方式"), V("i.method", 2, align="center")], h),
            Row([L("回访<br/>主要<br/>内容", rowspan=5), L("操守保持"), V("i.abstinence", 3, valign="top")], 28),
            Row([L("个人思想"), V("i.thoughts", 3, valign="top")], 28),
            Row([L("家庭关系"), V("i.family", 3, valign="top")], 28),
            Row([L("社会交往"), V("i.social", 3, valign="top")], 28),
            Row([L("就业状况"), V("i.employment", 3, valign="top")], 28),
        ]
        blocks = [Title("<u>{{ i.unit | blank(14) }}</u>跟踪回访记录表", size=18, space_after=4),
                  Table([16, 22, 22, 20, 20], rows, size=12)]
        blocks += [Para(n, size=9.5, role="table", leading=13.5, space_before=2 if k == 0 else 0.6)
                   for k, n in enumerate(I_NOTES)]
        return Layout(blocks, margins=(18, 20, 15, 20), doc_title=self.name)

    def blank_view(self) -> dict:
        return {"i": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            for key, e in _events(p, "回访"):
                view = {"unit": _unit(ds, p), "name": p.name, "phone": s(p.phone), "date": cn_date(e.date),
                        "method": s(e.method), "abstinence": s(e.abstinence), "thoughts": s(e.thoughts),
                        "family": s(e.family), "social": s(e.social), "employment": s(e.employment)}
                if e.visitor:
                    view["method"] = f"{s(e.method)}（回访人：{e.visitor}）"
                yield Target(form=self.code, key=f"{pid}/{key}",
                             path=f"I/{safe_name(pid)}-{safe_name(p.name)}/{key}",
                             view={"i": view}, context=f"{person_label(p)} {key} 回访", person=pid,
                             unit=p.station, deps=person_deps(ds, p, station=True))


class HelpRecord(Form):
    code = "J"
    name = "帮扶救助受理登记表"
    kind = "record_form"
    scope = "person"

    def build_layout(self) -> Layout:
        h = 11
        rows = [
            Row([L("姓　　名"), V("j.name", align="center"), L("联系方式"), V("j.phone", align="center"),
                 L("受理时间"), V("j.date", align="center")], h),
            Row([L("受理人"), V("j.handler", align="center"), L("帮扶救助<br/>事项类型"), V("j.kind", 3)], 14),
            Row([L("帮扶救助需求"), V("j.need", 5, valign="top")], 45),
            Row([L("受理意见"), V("j.opinion", 5, valign="top")], 36),
            Row([L("", 1), L("负责人签名：{{ j.responsible }}", 5, align="right")], 9),
            Row([L("办理情况"), V("j.outcome", 5, valign="top")], 40),
            Row([L("备注", rowspan=2), V("j.notes", 5, valign="top")], 10),
            Row([L("<br/>".join(J_NOTES), 5, align="left", size=9.5)], 22),
        ]
        # the 受理意见 label spans its signature line, 备注 the event's remark and the notes 注5–注7
        rows[3].cells[0].rowspan = 2
        rows[4].cells = rows[4].cells[1:]
        blocks = [Title("帮扶救助受理登记表", size=18, space_after=4), Table([18, 15, 17, 22, 16, 22], rows, size=12)]
        return Layout(blocks, margins=(18, 18, 15, 18), doc_title=self.name)

    def blank_view(self) -> dict:
        return {"j": {"kind": "　".join("□" + k for k in HELP_KINDS)}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            for key, e in _events(p, "帮扶"):
                outcome = s(e.outcome)
                if e.amount is not None:
                    outcome = (outcome + "\n" if outcome else "") + f"救助金额：{s(e.amount)}元"
                view = {"name": p.name, "phone": s(p.phone), "date": cn_date(e.date), "handler": s(e.handler),
                        "kind": s(e.help_kind), "need": s(e.need), "opinion": s(e.opinion),
                        "responsible": s(e.responsible), "outcome": outcome, "notes": s(e.notes)}
                yield Target(form=self.code, key=f"{pid}/{key}",
                             path=f"J/{safe_name(pid)}-{safe_name(p.name)}/{key}",
                             view={"j": view}, context=f"{person_label(p)} {key} 帮扶", person=pid,
                             unit=p.station, deps=person_deps(ds, p))
