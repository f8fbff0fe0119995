"""Appendix D 对象信息表: one per person, filled by the detox institution before release."""
from __future__ import annotations

from ..model.care import care_period
from ..records.load import Dataset
from .base import Form, Period, Target, cn_date, cn_month, person_deps, person_label, s, safe_name
from .layout import L, Layout, Loop, Para, Row, Table, Title, V

NOTES = [
    "注1：表格应在解戒前一个月的15日前逐项填写完整后与后续照管工作机构对接。",
    "注2：“联系方式”，主要填写解戒人员家庭固定电话，无固定电话的应注明“暂无”。",
    "注3：“家庭成员及主要社会关系”项目，应将所内登记的亲属关系、姓名及电话号码等信息录入。",
    "注4：“照管期限”由后续照管工作机构填写。",
    "注5：“后续照管建议”应注明：是否重点人员，工作、家庭关系、状况等需要关注的事项。",
]

FAMILY_ROWS = 5


def person_view(ds: Dataset, p) -> dict:
    d = p.detention
    c = d.conduct
    u = p.drug_use
    care = care_period(p)
    advice = s(p.advice)
    if p.key_person and "重点人员" not in advice:
        advice = ("重点人员。" + advice) if advice else "重点人员。"
    return {
        "name": p.name, "sex": p.sex, "ethnicity": s(p.ethnicity), "former_name": s(p.former_name),
        "education": s(p.education), "birth": cn_month(p.birth_month), "household": s(p.household),
        "residence": s(p.residence), "id_number": p.id_number, "phone": s(p.phone),
        "term": s(d.term), "authority": s(d.authority), "admitted": cn_date(d.admitted),
        "change": s(d.change), "release": cn_date(d.release), "resume": s(p.resume),
        "relations": [{"relation": s(r.relation), "name": s(r.name), "employer": s(r.employer),
                       "address": s(r.address), "phone": s(r.phone)} for r in p.relations],
        "family": s(p.family_situation), "health": s(p.health), "offences": s(p.offences),
        "first_use": s(u and u.first_use), "last_use": s(u and u.last_use),
        "drugs": s(u and u.drugs), "amount": s(u and u.amount), "history": s(p.detox_history),
        "score": s(c and c.score), "discipline": s(c and c.discipline), "relations_in": s(c and c.relations),
        "labour": s(c and c.labour), "manners": s(c and c.manners), "housekeeping": s(c and c.housekeeping),
        "rewards": s(c and c.rewards), "training": s(c and c.training), "visits": s(c and c.visits),
        "programmes": s(c and c.programmes), "care_term": care.text, "advice": advice,
    }


class InfoSheet(Form):
    code = "D"
    name = "对象信息表"
    kind = "record_form"
    scope = "person"

    def build_layout(self) -> Layout:
        h = 6.4  # mm, ordinary row
        rows = [
            Row([L("姓　名"), V("p.name", 2), L("性别"), V("p.sex"), L("民族"), V("p.ethnicity", 2)], h),
            Row([L("曾用名"), V("p.former_name", 2), L("文化程度"), V("p.education"), L("出生年月"),
                 V("p.birth", 2)], h),
            Row([L("户籍所在地"), V("p.household", 7)], h),
            Row([L("现居住地"), V("p.residence", 7)], h),
            Row([L("身份证号码"), V("p.id_number", 3), L("联系方式"), V("p.phone", 3)], h),
            Row([L("期　限"), V("p.term", 3), L("决定机关"), V("p.authority", 3)], h),
            Row([L("入所时间"), V("p.admitted", 2), L("期限变动"), V("p.change"), L("出所时间"), V("p.release", 2)], h),
            Row([L("本　人<br/>简　历"), V("p.resume", 7)], 13),
            Row([L("家庭成员<br/>及主要<br/>社会关系", rowspan=-1), L("与本人关系"), L("姓　名"), L("工作单位", 2),
                 L("现　住　址", 2), L("联系电话")], h),
            Loop("r", "p.relations", Row([V("r.relation", align="center"), V("r.name", align="center"),
                                           V("r.employer", 2), V("r.address", 2), V("r.phone", align="center")], 6.0),
                 min_rows=FAMILY_ROWS),
            Row([L("家　庭<br/>状　况"), V("p.family", 7)], 8),
            Row([L("身　体<br/>健康状况"), V("p.health", 7)], 7),
            Row([L("违法犯罪<br/>与处罚情况"), V("p.offences", 7)], 8),
            Row([L("吸　食<br/>毒　品<br/>情　况", rowspan=2), L("初次<br/>吸食时间", 2), V("p.first_use", 2),
                 L("最近一次<br/>吸食时间"), V("p.last_use", 2)], h),
            Row([L("吸食种类", 2), V("p.drugs", 2), L("吸食数量"), V("p.amount", 2)], h),
            Row([L("戒　毒<br/>经　历"), V("p.history", 7)], 8),
            Row([L("在　所<br/>表　现<br/>情　况", rowspan=6), L("计分考核", 2), V("p.score", 2), L("遵规守纪"),
                 V("p.discipline", 2)], 6.2),
            Row([L("人际关系", 2), V("p.relations_in", 2), L("习艺劳动<br/>态度"), V("p.labour", 2)], 6.2),
            Row([L("文明礼貌", 2), V("p.manners", 2), L("内务卫生"), V("p.housekeeping", 2)], 6.2),
            Row([L("奖惩情况", 2), V("p.rewards", 5)], 6.2),
            Row([L("职业技能培训", 2), V("p.training", 5)], 6.2),
            Row([L("探　访", 2), V("p.visits", 2), L("参加帮教<br/>活动"), V("p.programmes", 2)], 6.2),
            Row([L("照管<br/>期限"), V("p.care_term", 7)], h),
            Row([L("后续照管<br/>建议"), V("p.advice", 7)], 9),
        ]
        blocks = [Title("后续照管（戒毒典型培育）对象信息表", size=17, space_after=3),
                  Table([20, 18, 20, 22, 20, 22, 16, 36], rows, size=10)]
        blocks += [Para(n, size=8.5, role="table", leading=10.5, space_before=1.2 if i == 0 else 0)
                   for i, n in enumerate(NOTES)]
        return Layout(blocks, margins=(12, 16, 10, 16), doc_title="对象信息表")

    def blank_view(self) -> dict:
        return {"p": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            yield Target(form=self.code, key=pid, path=f"D/{safe_name(pid)}-{safe_name(p.name)}",
                         view={"p": person_view(ds, p)}, context=person_label(p), person=pid,
                         unit=p.station, deps=person_deps(ds, p))
