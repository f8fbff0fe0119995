"""The rosters: appendix G 预解戒人员信息汇总表 (per 指导站 and month), M 戒毒典型培育对象花名册
(per 戒毒所, and per station that cultivates, and month) and O 在册后续照管人员花名册 (per
station of any level and month). Landscape A4, header rows repeated on every page, page
numbers, rows grow with their text; XLSX with the same header.

Readings:
* G lists the people whose 户籍 is in the 指导站's city and whose 出所时间 falls in the month
  (title ``{年}年{月}月{市}市籍…``); every 指导站 gets its G, empty when nobody is released.
* O lists the people of the station (its 服务站 below it, for a 工作站 / 指导站) who are in the
  register (在册, ``model.lifecycle.in_register``) on the last day of the month; 照管状况 is
  their state on that day.
* M lists the people a unit cultivates (典型培育, ``cultivating_on``) on the last day of the
  month, with 操守保持状况 read from the state (复吸/强戒 and 判处刑罚 are not 保持).
"""
from __future__ import annotations

from ..model.facts import facts_for
from ..records.load import Dataset
from .base import Form, Period, Target, iso, record_files, s, safe_name
from ._forms3 import detention_end, family_contact, period_or_error
from ._stat_common import station_blank
from .layout import L, Layout, Loop, Para, Row, Table, V

BLANK_ROWS = 15
G_NOTES = [
    "注1：日期统一格式为0000-00-00，为方便筛选需要，请不要选用其他日期格式。",
    "注2：“强戒止日”为拟报减期后的日期。",
    "注3：“所属区（县）”只填到区（县）一级。",
    "注4：为便于回访、查找，请务必准确填写“联系方式”。",
    "注5：务必确保身份证号填写规范准确。",
    "注6：为便于平台自动识别，户籍详细地址应包括XX省XX市XX区（县）。",
]
ROSTER_MARGINS = (14.0, 12.0, 16.0, 12.0)


def _title(text: str) -> Para:
    return Para(text, align="center", role="title", size=16, space_after=3)


def _loop(var: str, cells: list[str], height: float = 7.5, center: set[int] = frozenset(),
          size: float | None = None) -> Loop:
    row = Row([V(f"{var}.{c}", align="center" if i in center else "left", size=size)
               for i, c in enumerate(cells)], height)
    return Loop(var, "t.rows | pad(t.min_rows or 0)", row)


def _blank(extra: dict | None = None) -> dict:
    return {"t": {"rows": [], "min_rows": BLANK_ROWS, **(extra or {})}}


def _month_parts(period: Period) -> dict:
    m = period.as_month()
    return {"year": str(m.year), "month": str(m.month)}


# --------------------------------------------------------------------------- G


class ReleaseRoster(Form):
    code = "G"
    name = "预解戒人员信息汇总表"
    kind = "table"
    scope = "unit"
    periodic = True
    xlsx = True

    COLUMNS = ["序号", "姓名", "性别", "出生日期", "身份证号", "强戒期限", "强戒起日", "强戒止日",
               "拟报<br/>减期<br/>期限（月）", "戒治<br/>场所", "所属区（县）", "是否签定<br/>照管协议",
               "责令社康建议期限", "联系方式", "户籍住址"]

    def build_layout(self) -> Layout:
        keys = ["no", "name", "sex", "birth", "id", "term", "start", "end", "reduction", "institution", "county",
                "agreement", "rehab", "phone", "household"]
        rows = [Row([L(c) for c in self.COLUMNS], 14, header=True),
                _loop("r", keys, center={0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13}),
                Row([L("备注"), L("<br/>".join(G_NOTES), 14, align="left")], 30)]
        title = ("<u>{{ t.year | blank(4) }}</u>年<u>{{ t.month | blank(2) }}</u>月"
                 "<u>{{ t.city | blank(3) }}</u>市籍预解戒人员信息汇总表")
        table = Table([8, 11, 6, 14, 27, 9, 14, 14, 10, 18, 12, 10, 10, 18, 31], rows, size=8.5)
        return Layout([_title(title), table], landscape=True, margins=ROSTER_MARGINS, page_numbers=True,
                      doc_title=self.name)

    def blank_view(self) -> dict:
        return _blank()

    def targets(self, ds: Dataset, period: Period | None):
        period = period_or_error(period, self.code)
        month = period.as_month()
        facts = facts_for(ds)
        released: dict[str, list] = {}  # household city -> the persons released in the month
        for p in ds.persons.values():
            if month.first_day <= p.detention.release <= month.last_day:
                released.setdefault(facts.household(p)[1], []).append(p)
        for st in sorted((x for x in ds.stations.values() if x.kind == "指导站"), key=lambda x: x.id):
            persons = list(released.get(st.city, ()))
            persons.sort(key=lambda p: (p.detention.release, p.id))
            rows = []
            for i, p in enumerate(persons, 1):
                d = p.detention
                inst = ds.institutions.get(d.institution)
                rows.append({"no": str(i), "name": p.name, "sex": p.sex, "birth": iso(p.birth_date),
                             "id": p.id_number, "term": s(d.term), "start": iso(d.begin),
                             "end": iso(detention_end(p)), "reduction": s(d.reduction_months),
                             "institution": inst.name if inst else d.institution, "county": facts.household(p)[2],
                             "agreement": "是" if p.agreement else "否", "rehab": s(p.rehab and p.rehab.term),
                             "phone": s(p.phone), "household": s(p.household)})
            view = {"t": {"rows": rows, "city": st.city.removesuffix("市"), **_month_parts(period)}}
            # the 指导站 (its city), the persons listed and the institutions printed for them
            deps = record_files(ds, st.id, *(p.id for p in persons), *(p.detention.institution for p in persons))
            yield Target(form=self.code, key=st.id, path=f"G/{month.key}/{safe_name(st.id)}-{safe_name(st.city)}",
                         view=view, context=f"{st.display_name} {month}", unit=st.id, period=month.key,
                         deps=deps)


# --------------------------------------------------------------------------- M

M_KEEP = "（此表由戒毒所留存）"


class CultivationRoster(Form):
    code = "M"
    name = "戒毒典型培育对象花名册"
    kind = "table"
    scope = "institution"
    periodic = True
    xlsx = True

    COLUMNS = ["序号", "队别", "培育对象<br/>姓　名", "年龄", "性别", "户籍地", "居住地", "出所日期", "联系方式",
               "提请社区<br/>康复建议<br/>期限", "保持联系<br/>状况", "操守保持<br/>状况", "培育责任<br/>民警",
               "所在单位<br/>或部门", "备　注"]

    def build_layout(self) -> Layout:
        keys = ["no", "team", "name", "age", "sex", "household", "residence", "release", "phone", "rehab",
                "contact", "abstinence", "mentor", "department", "notes"]
        rows = [Row([L(c) for c in self.COLUMNS], 14, header=True),
                _loop("r", keys, center={0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12})]
        title = "<u>{{ t.unit | blank(12) }}</u>戒毒典型培育对象花名册"
        table = Table([8, 9, 11, 6, 6, 25, 25, 14, 17, 11, 12, 12, 11, 16, 14], rows, size=8.5)
        keep = Para(M_KEEP, align="right", role="table", size=10, space_before=2)
        return Layout([_title(title), table, keep], landscape=True, margins=ROSTER_MARGINS, page_numbers=True,
                      doc_title=self.name)

    def blank_view(self) -> dict:
        return _blank()

    def targets(self, ds: Dataset, period: Period | None):
        period = period_or_error(period, self.code)
        month = period.as_month()
        day = month.last_day
        facts = facts_for(ds)
        by_unit = facts.cultivated_by()
        units = [(i.id, i.name, True) for i in sorted(ds.institutions.values(), key=lambda i: i.id)]
        cultivating_stations = {uid for uid in by_unit if uid in ds.stations}
        units += [(sid, ds.stations[sid].display_name, False) for sid in sorted(cultivating_stations)]
        for uid, uname, is_inst in units:
            persons = [p for p in by_unit.get(uid, ()) if facts.cultivating(p, day)]
            if not persons and not is_inst:
                continue
            persons.sort(key=lambda p: (p.detention.release, p.id))
            rows = []
            for i, p in enumerate(persons, 1):
                c = p.cultivation
                state = facts.status(p, day).state
                kept = "未保持（" + state + "）" if state in ("复吸/强戒", "判处刑罚") else "保持"
                if state in ("预解戒", "待报到", "尚未报到", "失联", "拒访", "所外就医"):
                    kept = state
                rows.append({"no": str(i), "team": s(p.detention.team), "name": p.name, "age": str(p.age_on(day)),
                             "sex": p.sex, "household": s(p.household), "residence": s(p.residence),
                             "release": iso(p.detention.release), "phone": s(p.phone),
                             "rehab": s(p.rehab and p.rehab.term), "contact": s(c.contact_state),
                             "abstinence": kept, "mentor": s(c.mentor), "department": s(c.department),
                             "notes": s(c.notes)})
            view = {"t": {"rows": rows, "unit": uname}}
            deps = record_files(ds, uid, *(p.id for p in persons))  # the unit's name, the persons listed
            yield Target(form=self.code, key=uid, path=f"M/{month.key}/{safe_name(uid)}-{safe_name(uname)}",
                         view=view, context=f"{uname} {month}", unit=uid, period=month.key, deps=deps)


# --------------------------------------------------------------------------- O


class RegisterRoster(Form):
    code = "O"
    name = "在册后续照管人员花名册"
    kind = "table"
    scope = "unit"
    periodic = True
    xlsx = True

    COLUMNS = ["序号", "姓名", "性别", "出生<br/>日期", "身份证号", "原戒毒<br/>场所", "出所<br/>日期", "户籍<br/>所在地",
               "联系方式", "裁定社区<br/>康复期限", "是否为<br/>戒毒培育<br/>典型", "家庭联系人及<br/>联系方式",
               "常住家庭<br/>住址", "照管<br/>状况"]

    def build_layout(self) -> Layout:
        keys = ["no", "name", "sex", "birth", "id", "institution", "release", "household", "phone", "rehab",
                "cultivated", "family", "residence", "state"]
        rows = [Row([L(c) for c in self.COLUMNS], 14, header=True),
                _loop("r", keys, center={0, 1, 2, 3, 6, 8, 9, 10, 13}, size=8),
                Row([L("备注"), V("t.notes", 13)], 12)]
        # 后续照管＿＿站, filled as in P, Q and S (梅园新村街道服务 → 后续照管梅园新村街道服务站)
        title = ("后续照管<u>{{ t.unit | blank(8) }}</u>站"
                 "<u>{{ t.year | blank(4) }}</u>年度<u>{{ t.month | blank(2) }}</u>月份在册后续照管人员花名册")
        # data rows at 8 pt; the columns of numbers (dates, ID, phone) are wide enough for them on one
        # line even in the wider substitute digits LibreOffice uses for the DOCX (DejaVu Sans,
        # 0.64 em a digit; Word cell margins 2 x 5.4 pt): the ID number needs 103 pt = 29 units
        table = Table([8, 12, 6, 17, 30, 15, 17, 20, 20, 11, 9, 19, 21, 11], rows, size=8.5)
        return Layout([_title(title), table], landscape=True, margins=ROSTER_MARGINS, page_numbers=True,
                      doc_title=self.name)

    def blank_view(self) -> dict:
        return _blank()

    def targets(self, ds: Dataset, period: Period | None):
        period = period_or_error(period, self.code)
        month = period.as_month()
        day = month.last_day
        order = {"指导站": 0, "工作站": 1, "服务站": 2}
        facts = facts_for(ds)
        cells: dict[str, dict] = {}  # person id -> the row's cells but 序号 (a person is listed at every level)

        def row(i: int, p) -> dict:
            c = cells.get(p.id)
            if c is None:
                inst = ds.institutions.get(p.detention.institution)
                c = cells[p.id] = {
                    "name": p.name, "sex": p.sex, "birth": iso(p.birth_date),
                    "id": p.id_number, "institution": inst.name if inst else p.detention.institution,
                    "release": iso(p.detention.release), "household": s(p.household),
                    "phone": s(p.phone), "rehab": s(p.rehab and p.rehab.term),
                    "cultivated": "是" if facts.cultivating(p, day) else "否", "family": family_contact(p),
                    "residence": s(p.residence), "state": facts.status(p, day).state}
            return {"no": str(i), **c}

        for st in sorted(ds.stations.values(), key=lambda x: (order[x.kind], x.id)):
            members = facts.persons_of(st.id)
            persons = [p for p in members if facts.status(p, day).in_register]
            persons.sort(key=lambda p: (p.station, p.detention.release, p.id))
            rows = [row(i, p) for i, p in enumerate(persons, 1)]
            view = {"t": {"rows": rows, "unit": station_blank(st), **_month_parts(period),
                          "notes": f"在册 {len(rows)} 人（统计至{day.year}年{day.month}月{day.day}日）"}}
            # the stations that decide who belongs here, every person of them (in the register
            # or not, by their own records) and the institutions printed for those listed
            deps = facts.record_files(*facts.station_tree(st.id), *(p.id for p in members),
                                *(p.detention.institution for p in persons))
            yield Target(form=self.code, key=st.id, path=f"O/{month.key}/{safe_name(st.id)}-{safe_name(st.short)}",
                         view=view, context=f"{st.display_name} {month}", unit=st.id, period=month.key, deps=deps)

