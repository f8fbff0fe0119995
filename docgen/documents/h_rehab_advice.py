"""Appendix H 责令社区康复建议书: one per person with 社区康复, issued by the detox institution.

Its number ``司法{代字}戒社康建议字〔{年}〕{序号}号`` comes from the number registry
(series ``H``, issuer the institution, year of release, one number per person). Without a
workspace data folder (no registry) the number is printed blank for handwriting.
"""
from __future__ import annotations

from ..records.load import Dataset
from ..records.model import term_months
from .base import Form, Period, Target, cn_month, person_deps, person_label, s, safe_name
from ._forms3 import term_end, ymd
from .layout import L, Layout, Para, Row, Table, Title, V

BASIS = "《戒毒条例》第三十七条、《强制隔离戒毒诊断评估办法》第十六条(公通字〔2013〕32号)"


def _date_blank(prefix: str) -> str:
    return (f"{{{{ h.{prefix}_y | blank(4) }}}}年{{{{ h.{prefix}_m | blank(2) }}}}月"
            f"{{{{ h.{prefix}_d | blank(2) }}}}日")


def _ym_term(months: int | None) -> tuple[str, str]:
    if months is None:
        return "", ""
    return str(months // 12), str(months % 12)


def advice_number(ds: Dataset, p) -> tuple[str, str, str]:
    """(代字, 年, 序号) of the person's proposal; 序号 '' without a registry."""
    inst = ds.institutions.get(p.detention.institution)
    code = inst.code if inst else ""
    year = p.detention.release.year
    ws = getattr(ds, "workspace", None)
    if ws is None or inst is None:
        return code, str(year), ""
    from ..registry.numbers import assign

    seq = assign(ws.data, "H", inst.id, year, p.id)
    return code, str(year), str(seq)


def advice_view(ds: Dataset, p) -> dict:
    d = p.detention
    r = p.rehab
    code, year, seq = advice_number(ds, p)
    begin = d.begin
    orig_end = term_end(begin, d.term)
    view = {"code": code, "year": year, "seq": seq, "name": p.name, "sex": p.sex,
            "birth": cn_month(p.birth_month), "id": f"居民身份证 {p.id_number}", "household": s(p.household),
            "authority": "　".join(x for x in (s(d.authority), s(d.decision_no)) if x),
            "reason": s(r.reason), "team": s(r.team_opinion), "section": s(r.section_opinion),
            "institution": s(r.institution_opinion), "change_dir": "提前/延长"}
    for prefix, day in (("o_start", begin), ("o_end", orig_end)):
        view[f"{prefix}_y"], view[f"{prefix}_m"], view[f"{prefix}_d"] = ymd(day)
    # 期限变动: a reduction (提前) or an extension (延长) of the detention, and its new end
    change_months: int | None = None
    if d.reduction_months:
        view["change_dir"], change_months = "提前", d.reduction_months
    elif d.change and "延长" in d.change:
        view["change_dir"] = "延长"
        change_months = term_months(d.change.replace("延长", "").strip()) if any(ch.isdigit() for ch in d.change) else None
    view["c_y"], view["c_m"] = _ym_term(change_months)
    if d.change and not d.reduction_months and "延长" not in d.change:
        view["change_note"] = d.change
    new_end = d.release if (d.reduction_months or d.change) else None
    view["c_end_y"], view["c_end_m"], view["c_end_d"] = ymd(new_end)
    # the proposed community rehabilitation: from the day of release unless a start is given
    start = r.start or d.release
    months = term_months(r.term)
    view["r_y"], view["r_m"] = _ym_term(months)
    view["r_term"] = s(r.term)
    end = term_end(start, r.term)
    for prefix, day in (("r_start", start), ("r_end", end)):
        view[f"{prefix}_y"], view[f"{prefix}_m"], view[f"{prefix}_d"] = ymd(day)
    return view


class RehabAdvice(Form):
    code = "H"
    name = "责令社区康复建议书"
    kind = "record_form"
    scope = "person"

    def build_layout(self) -> Layout:
        h = 11
        opinion = "{{ h.%s }}<br/><br/>　　　　　　　　　　　　　　　　（印章）<br/><br/>　　　　　　　　　　　　　　　　　　年　　月　　日"
        rows = [
            Row([L("戒毒人员姓名"), V("h.name", align="center"), L("性别"), V("h.sex", align="center"),
                 L("出生年月"), L("{{ h.birth if h.birth else '　　　年　　　月' }}")], h),
            Row([L("身份证件种类<br/>及号码"), V("h.id", 2), L("户籍所在地"), V("h.household", 2)], 14),
            Row([L("强制隔离戒毒原决定机关及决定书编号", 2), V("h.authority", 4)], h),
            Row([L("原决定期限"), L("自" + _date_blank("o_start") + "至" + _date_blank("o_end") + "止", 5)], h),
            Row([L("期限变动"), L("{{ h.change_dir }}{{ h.c_y | blank(2) }}年{{ h.c_m | blank(2) }}月"
                                 "{% if h.change_note %}（{{ h.change_note }}）{% endif %}", 2),
                 L("至" + _date_blank("c_end") + "止", 3)], h),
            Row([L("建议责令接受<br/>社区康复期限"), L("{{ h.r_y | blank(2) }}年{{ h.r_m | blank(2) }}月", 1),
                 L("自" + _date_blank("r_start") + "至" + _date_blank("r_end") + "止", 4)], 14),
            Row([L("建议责令接受<br/>社区康复依据"), L(BASIS, 5, align="left")], 14),
            Row([L("建议责令接受<br/>社区康复理由"), V("h.reason", 5, valign="top")], 38),
            Row([L("大队意见"), L(opinion % "team", 5, align="left", valign="top")], 34),
            Row([L("管理科意见"), L(opinion % "section", 5, align="left", valign="top")], 34),
            Row([L("戒毒所意见"), L(opinion % "institution", 5, align="left", valign="top")], 34),
        ]
        blocks = [
            Title("责令社区康复建议书", size=20, space_after=3),
            Para("司法<u>{{ h.code | blank(3) }}</u>戒社康建议字〔{{ h.year | blank(4) }}〕"
                 "{{ h.seq | blank(2) }}号", align="right", role="table", size=12, space_after=2),
            Table([26, 30, 14, 22, 20, 36], rows, size=11),
        ]
        return Layout(blocks, margins=(15, 16, 12, 16), doc_title=self.name)

    def blank_view(self) -> dict:
        return {"h": {"change_dir": "提前/延长"}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            if p.rehab is None:
                continue
            yield Target(form=self.code, key=pid, path=f"H/{safe_name(pid)}-{safe_name(p.name)}",
                         view={"h": advice_view(ds, p)}, context=person_label(p), person=pid,
                         unit=p.detention.institution, deps=person_deps(ds, p, institution=True))

