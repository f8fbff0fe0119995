"""Archive covers: appendix U 个人档案封面 (per person) and W 后续照管工作档案封面 (per unit and year).

U: the person's file is kept by their 服务站 and opened in the year of the report (报到), or of
the release when they have not reported; 培育人 is the 典型培育 mentor.
W: one per station and detox institution for the year of the period (``--month 2026`` or any
month of 2026 gives the 2026 cover).
"""
from __future__ import annotations

from ..model.care import report_date
from ..records.load import Dataset
from .base import Form, Period, Target, person_deps, person_label, record_files, s, safe_name
from ._forms3 import period_or_error
from .layout import Layout, Para, Spacer, Title

COVER_MARGINS = (30.0, 25.0, 25.0, 25.0)


def _line(text: str, size: float = 18.0, space_after: float = 0.0) -> Para:
    return Para(text, align="center", role="heading", size=size, leading=size * 1.8, space_after=space_after)


class PersonCover(Form):
    code = "U"
    name = "个人档案封面"
    kind = "cover"
    scope = "person"

    def build_layout(self) -> Layout:
        # the spacers leave room for three extra lines (11.4 mm each): a 30-character name and a
        # long 培育人 or station name wrap to two lines and the cover still holds on one page
        blocks = [
            Spacer(30),
            Title("后续照管（戒毒典型培育）对象个人档案", size=24, space_after=0),
            Spacer(50),
            _line("照管（培育）对象：<u>{{ u.name | blank(8) }}</u>", space_after=4),
            _line("（培育人：<u>{{ u.mentor | blank(8) }}</u>）"),
            Spacer(58),
            _line("{% if u.unit %}{{ u.unit }}{% else %}<u>　　　　　　　　</u>站（所）{% endif %}", space_after=4),
            _line("<u>{{ u.year | blank(4) }}</u>年"),
        ]
        return Layout(blocks, margins=COVER_MARGINS, doc_title=self.name)

    def blank_view(self) -> dict:
        return {"u": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            st = ds.stations.get(p.station)
            opened = report_date(p) or p.detention.release
            view = {"name": p.name, "mentor": s(p.cultivation and p.cultivation.mentor),
                    "unit": st.display_name if st else "", "year": str(opened.year)}
            yield Target(form=self.code, key=pid, path=f"U/{safe_name(pid)}-{safe_name(p.name)}",
                         view={"u": view}, context=person_label(p), person=pid, unit=p.station,
                         deps=person_deps(ds, p, station=True))


class WorkArchiveCover(Form):
    code = "W"
    name = "后续照管工作档案封面"
    kind = "cover"
    scope = "unit"
    periodic = True

    def build_layout(self) -> Layout:
        blocks = [
            Spacer(45),
            Title("后续照管工作档案", size=30, space_after=6),
            _line("（{{ w.year | blank(4) }}）", size=20),
            Spacer(120),
            _line("{% if w.unit %}{{ w.unit }}{% else %}<u>　　　　　　　　</u>站{% endif %}", size=20),
        ]
        return Layout(blocks, margins=COVER_MARGINS, doc_title=self.name)

    def blank_view(self) -> dict:
        return {"w": {}}

    def targets(self, ds: Dataset, period: Period | None):
        period = period_or_error(period, self.code)
        year = str(period.year)
        order = {"指导站": 0, "工作站": 1, "服务站": 2}
        units = [(st.id, st.display_name) for st in sorted(ds.stations.values(), key=lambda x: (order[x.kind], x.id))]
        units += [(i.id, i.name) for i in sorted(ds.institutions.values(), key=lambda i: i.id)]
        for uid, uname in units:
            yield Target(form=self.code, key=uid, path=f"W/{year}/{safe_name(uid)}-{safe_name(uname)}",
                         view={"w": {"year": year, "unit": uname}}, context=f"{uname} {year}年 工作档案封面",
                         unit=uid, period=year, deps=record_files(ds, uid))
