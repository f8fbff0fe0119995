"""Appendix E 后续照管服务协议书 and appendix V 戒毒典型培育协议书: one per person.

Both follow 公文 typography (GB/T 9704): 37/26/35/28 mm margins, title in the ``title`` role
(小标宋, 22 pt), body in the ``body`` role (仿宋, 三号 16 pt), 22 lines per page, first-line
indent of two characters. The text of the appendix is printed in full; its blanks are
filled from the records or left as underlined space.
"""
from __future__ import annotations

import datetime as dt

from ..model.care import add_months, care_period
from ..records.load import Dataset
from .base import Form, Period, Target, cn_date, person_deps, person_label, s, safe_name
from ._forms3 import GOV_BODY_PT, GOV_LEADING, GOV_MARGINS, GOV_TITLE_PT, strip_suffix, unit_name, ymd
from .layout import Cell, Layout, Para, Row, Spacer, Table, Title


# 28 characters of 16 pt (448 pt) exceed the 156 mm (442.2 pt) measure: like GB/T 9704 documents
# set in Word, the body is condensed slightly so that a full line holds exactly 28 characters
# (28 x 15.75 = 441 pt fits; 29 x 15.75 does not).
GOV_BODY_CHAR_SPACE = -0.25


def _body(text: str, indent: float = 2.0, align: str = "justify", **kw) -> Para:
    return Para(text, align=align, role="body", size=GOV_BODY_PT, leading=GOV_LEADING, indent=indent,
                char_space=GOV_BODY_CHAR_SPACE, **kw)


SIGNATURE_PT = 14.0  # 四号: the 指导站's full name (19 characters) fits the left column on one line


def _sig(text: str) -> Cell:
    return Cell(text, align="left", role="body", size=SIGNATURE_PT)


def _date(prefix: str) -> str:
    return (f"{{{{ {prefix}_y | blank(4) }}}}年{{{{ {prefix}_m | blank(2) }}}}月"
            f"{{{{ {prefix}_d | blank(2) }}}}日")


def _signature_table(rows: list[list[str]]) -> Table:
    """Borderless two-column signature block kept on one page; a one-item row spans both columns."""
    out = []
    for row in rows:
        cells = [_sig(t) for t in row]
        if len(cells) == 1:
            cells[0].colspan = 2
        out.append(Row(cells, 8))
    return Table([63, 37], out, size=SIGNATURE_PT, border=False, role="body", keep=True)


# --------------------------------------------------------------------------- E

E_PREAMBLE = ("为切实加强解戒人员后续照管服务工作，进一步提升特殊人群服务管理水平，更好地维护社会、家庭和谐稳定，"
              "根据《禁毒法》、《戒毒条例》、省司法厅《解除强制隔离戒毒人员后续照管工作指导站实施细则(试行)》等"
              "法律法规和规定，应乙方解戒后的康复实际需求，双方在自愿、平等基础上签订以下协议：")
E_ART1 = ("一、甲方为帮助乙方顺利融入社会，巩固戒毒成果，通过电话、面谈等方式为乙方提供戒毒、心理、法律等戒毒"
          "康复知识的咨询和辅导；协调教育、人社、民政、街道等部门，按照国家相关规定，为乙方提供入学、就业、"
          "社会保障等方面的咨询和服务；应乙方需求，协助其修复家庭关系，维护家庭和谐。")
E_ART2 = ("二、乙方应严格遵守法律法规，自觉履行协议，并在自解戒之日起十日内，携带《协议书》到本站或所属"
          "<u>{{ e.unit | blank(10) }}</u>工作站(服务站)报到。地址：<u>{{ e.county | blank(5) }}</u>县(市、区)"
          "<u>{{ e.township | blank(5) }}</u>乡(镇、街道)<u>{{ e.road | blank(8) }}</u>路"
          "<u>{{ e.number | blank(4) }}</u>号。联系人<u>{{ e.contact | blank(5) }}</u>，号码"
          "<u>{{ e.phone | blank(10) }}</u>。在协议期内，做到积极配合，接受监督，定期汇报工作、生活、操守保持等"
          "方面的情况，积极参加甲方组织的相关活动。")
E_ART3 = ("三、后续照管期限为一年{{ e.rehab_clause }}，自乙方报到之日起计算(<u>{{ e.start_y | blank(4) }}</u>年"
          "<u>{{ e.start_m | blank(3) }}</u>月<u>{{ e.start_d | blank(3) }}</u>日至"
          "<u>{{ e.end_y | blank(4) }}</u>年<u>{{ e.end_m | blank(3) }}</u>月<u>{{ e.end_d | blank(3) }}</u>日)。")
E_ART4 = ("四、本协议一式两份，甲乙双方各执一份，自签订之日起生效。如乙方在照管服务期间有不履行规定义务，"
          "或有严重违反本协议的行为，甲方可终止协议。")
REHAB_CLAUSE = "（乙方被责令社区康复的，照管期限与社区康复期限一致）"


def _place_of(ds: Dataset, station_id: str) -> dict:
    """The reporting place of a person's station, for the blanks of article 2."""
    st = ds.stations.get(station_id)
    if st is None:
        return {}
    if st.kind == "服务站":
        unit = f"{st.county or ''}{st.township or ''}"
    elif st.kind == "工作站":
        unit = f"{st.city}{st.county or ''}"
    else:
        unit = st.city
    road = st.road_address
    return {
        "unit": unit,
        "county": strip_suffix(st.county, ("区", "县", "市")),
        "township": strip_suffix(st.township, ("街道", "镇", "乡")),
        "road": strip_suffix(road.road if road else "", ("路",)),
        "number": strip_suffix(road.number if road else "", ("号",)),
        "contact": s(st.contact),
        "phone": s(st.phone),
    }


def agreement_view(ds: Dataset, p) -> dict:
    a = p.agreement
    care = care_period(p)
    start = care.start
    if care.basis == "社区康复":
        end = care.end
    else:  # the agreement itself is for one year; a cultivation agreement (V) lifts the limit
        end = add_months(start, 12) - dt.timedelta(days=1) if start else None
    gs = ds.guidance_station(p.station)
    party = (a.party if a and a.party else (gs.display_name if gs else ""))
    view = {"party": party, "representative": s(a and a.representative), "person": p.name,
            "person_phone": s(p.phone), "rehab_clause": REHAB_CLAUSE if care.basis == "社区康复" else ""}
    view.update(_place_of(ds, p.station))
    for prefix, d in (("start", start), ("end", end), ("sign", a.signed if a else None)):
        view[f"{prefix}_y"], view[f"{prefix}_m"], view[f"{prefix}_d"] = ymd(d)
    return view


class CareAgreement(Form):
    code = "E"
    name = "后续照管服务协议书"
    kind = "agreement"
    scope = "person"

    def build_layout(self) -> Layout:
        blocks = [
            Title("后续照管服务协议书", size=GOV_TITLE_PT, space_after=6),
            # the last clause stays on the page of the signatures that sign it
            _body(E_PREAMBLE), _body(E_ART1), _body(E_ART2), _body(E_ART3), _body(E_ART4, keep_with_next=True),
            Spacer(4),
            _signature_table([
                ["甲方单位：{{ e.party }}", "乙方(签名)："],
                ["甲方代表(签名)：{{ e.representative }}", "联系方式：{{ e.person_phone }}"],
                ["　　　（印章）", ""],
                ["　　" + _date("e.sign"), _date("e.sign")],
            ]),
        ]
        return Layout(blocks, margins=GOV_MARGINS, doc_title=self.name)

    def blank_view(self) -> dict:
        return {"e": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            if p.agreement is None:
                continue
            yield Target(form=self.code, key=pid, path=f"E/{safe_name(pid)}-{safe_name(p.name)}",
                         view={"e": agreement_view(ds, p)}, context=person_label(p), person=pid,
                         unit=p.station, deps=person_deps(ds, p, chain=True))


# --------------------------------------------------------------------------- V

V_PREAMBLE = ("为帮助解戒人员巩固戒毒成果，促进其保持戒治操守，根据《禁毒法》、《戒毒条例》等法律法规和省戒毒管理局"
              "相关文件规定，甲乙双方在自愿、平等基础上，签订以下协议。")
V_ARTICLES = [
    "一、甲方为帮助乙方巩固戒毒成果，顺利融入社会，双方每月可通过电话、微信、面谈等方式保持良好的联系沟通。",
    "二、乙方应严格遵守法律法规，自觉保持戒治操守，远离毒品。积极配合甲方工作，接受监督，主动、如实报告工作、"
    "生活和操守保持等方面的情况。通讯方式更换应提前告之甲方。",
    "三、乙方思想上有困惑或在工作、生活等方面遇到困难而本人无法解决的，可及时向甲方反映；甲方应尽力帮助协调解决。",
    "四、本协议一式两份，甲乙双方各执一份。与戒毒所签订的协议自乙方解除强制隔离戒毒之日（与后续照管工作机构签订的"
    "协议自签订之日）起生效。如乙方严重违反本协议，甲方可以终止协议。",
]


def cultivation_view(ds: Dataset, p) -> dict:
    c = p.cultivation
    view = {"party": unit_name(ds, c.unit), "mentor": s(c.mentor), "person": p.name,
            "signed": cn_date(c.signed)}
    view["sign_y"], view["sign_m"], view["sign_d"] = ymd(c.signed)
    return view


class CultivationAgreement(Form):
    code = "V"
    name = "戒毒典型培育协议书"
    kind = "agreement"
    scope = "person"

    def build_layout(self) -> Layout:
        blocks = [Title("戒毒典型培育协议书", size=GOV_TITLE_PT, space_after=6), _body(V_PREAMBLE)]
        blocks += [_body(t, keep_with_next=t is V_ARTICLES[-1]) for t in V_ARTICLES]  # (as in E)
        blocks += [
            Spacer(4),
            _signature_table([
                ["甲方单位：{{ v.party }}"],
                ["培养责任人(签名)：{{ v.mentor }}", "乙方(签名)："],
                ["　(印章)", ""],
                ["　　" + _date("v.sign"), _date("v.sign")],
            ]),
        ]
        return Layout(blocks, margins=GOV_MARGINS, doc_title=self.name)

    def blank_view(self) -> dict:
        return {"v": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            if p.cultivation is None:
                continue
            yield Target(form=self.code, key=pid, path=f"V/{safe_name(pid)}-{safe_name(p.name)}",
                         view={"v": cultivation_view(ds, p)}, context=person_label(p), person=pid,
                         unit=p.cultivation.unit, deps=person_deps(ds, p, cultivation=True))
