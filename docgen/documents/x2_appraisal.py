"""X2 后续照管期满鉴定表 (docgen design, 9.4 of the standard).

When the care period ends (and no 典型培育 agreement was signed) the 服务站 appraises
the person's 操守保持, 思想状况 and 社会交往 and tells them that care has ended
(后续照管终结). What docgen produces:

* a filled X2 for every 期满 event, from the event's fields (操守保持, 思想状况 — or 个人思想 —,
  社会交往, 鉴定意见; the event date is the date of the appraisal and the seal);
* with ``--month`` (a month, quarter or year), a pre-filled X2 for every person whose
  appraisal is owed by the last day of that period (``appraisal_owed``): care period
  ended on or before that day, no 期满 event yet, and care not ended otherwise (the same
  reading as the due list's 期满鉴定 item, which names X2). Identity
  and care data are printed, the appraisal is left for the clerk. These go to
  ``X2/待鉴定/<period>/`` and carry the period in the manifest.
"""
from __future__ import annotations

import datetime as dt

from ..model.care import care_period
from ..model.lifecycle import timeline
from ..records.load import Dataset
from ..records.model import Person
from .base import Form, Period, Target, cn_date, person_deps, person_label, s, safe_name
from ._extras import DATE_BLANK, designed_footer, events_of, gap, person_basics, seal_line, signature_rows
from .layout import L, Layout, Para, Row, Table, Title, V

NOTES = [
    "注1：照管对象照管期满、未签订戒毒典型培育协议的，服务站对其操守保持、思想状况、社会交往等做出鉴定，"
    "并告知其后续照管终结（规范9.4）。",
    "注2：本表一式两份，一份交照管对象，一份归入个人档案。",
]


def appraisal_owed(p: Person, on: dt.date) -> bool:
    """True when ``p``'s care period has ended by ``on`` and the 期满 appraisal is not recorded.

    Read as the due list reads it (``model.due``, item 期满鉴定): the person reported, care
    ends by expiry (``model.lifecycle``: not by death or termination, no relapse or sentence
    while in care; a 典型培育 that ended as planned ends care then), and no 期满 event yet.
    """
    tl = timeline(p)
    if tl.care_end is None or tl.i_event is not None or tl.leave_kind != "照管期满":
        return False
    return tl.care_end <= on and not any(e.kind == "期满" for e in p.events)


def appraisal_view(ds: Dataset, p: Person, event=None) -> dict:
    a = {}
    if event is not None:
        a = {"abstinence": s(event.abstinence), "thoughts": s(event.thoughts_state or event.thoughts),
             "social": s(event.social), "appraisal": s(event.appraisal), "date": cn_date(event.date),
             "notes": s(event.notes)}
    basics = person_basics(ds, p)
    end = timeline(p).care_end  # the end of care, a 典型培育 that ended included
    basics["care_end"] = cn_date(end)
    care = care_period(p)
    if care.basis == "典型培育" and care.start and end:
        basics["care_term"] = f"{cn_date(care.start)}至{cn_date(end)}（含戒毒典型培育）"
    return {"p": basics, "a": a}


class Appraisal(Form):
    code = "X2"
    name = "后续照管期满鉴定表"
    kind = "record_form"
    scope = "person"
    designed = True

    def build_layout(self) -> Layout:
        h = 7.0
        date = f"{{{{ a.date or '{DATE_BLANK}' }}}}"
        rows = [
            Row([L("姓　名"), V("p.name"), L("性别"), V("p.sex"), L("出生年月"), V("p.birth")], h),
            Row([L("身份证号码"), V("p.id_number"), L("联系方式"), V("p.phone", 3)], h),
            Row([L("户籍所在地"), V("p.household", 5)], h),
            Row([L("现居住地"), V("p.residence", 5)], h),
            Row([L("服务站"), V("p.station", 3), L("跟踪回访<br/>责任人"), V("p.officer")], h),
            Row([L("出所时间"), V("p.release"), L("报到时间"), V("p.report"), L("照管期满"), V("p.care_end")], h),
            Row([L("照管期限"), V("p.care_term", 5)], h),
            Row([L("操守保持"), V("a.abstinence", 5, valign="top")], 24),
            Row([L("思想状况"), V("a.thoughts", 5, valign="top")], 24),
            Row([L("社会交往"), V("a.social", 5, valign="top")], 24),
            *signature_rows("鉴定意见", "{{ a.appraisal }}", seal_line("鉴定人", "服务站", date), 30),
            *signature_rows(
                "后续照管<br/>终结告知",
                f"<u>{{{{ p.name or '{gap(16)}' }}}}</u>：你的后续照管期限已于"
                f"{{{{ p.care_end or '{DATE_BLANK}' }}}}届满。根据《后续照管工作规范》9.4，经鉴定，"
                "现告知你：后续照管终结。", f"照管对象（签名）：{gap(36)}{DATE_BLANK}{gap(4)}", 16, 10),
            Row([L("备　注"), V("a.notes", 5)], 12),
        ]
        blocks = [Title("后续照管期满鉴定表", size=17, space_after=3),
                  Table([21, 40, 22, 34, 24, 33], rows, size=10)]
        blocks += [Para(n, size=8.5, role="table", leading=10.5, space_before=1.2 if i == 0 else 0)
                   for i, n in enumerate(NOTES)]
        return Layout(blocks, margins=(14, 16, 16, 16), footer=designed_footer("9.4"), doc_title=self.name)

    def blank_view(self) -> dict:
        return {"p": {}, "a": {}}

    def targets(self, ds: Dataset, period: Period | None):
        for pid, p in sorted(ds.persons.items()):
            stem = f"{safe_name(pid)}-{safe_name(p.name)}"
            ends = events_of(p, "期满")
            for e in ends:
                suffix = "" if len(ends) == 1 else f"-{e.date.isoformat()}"
                yield Target(form=self.code, key=f"{pid}{suffix}", path=f"X2/{stem}{suffix}",
                             view=appraisal_view(ds, p, e), context=person_label(p), person=pid,
                             unit=p.station, deps=person_deps(ds, p, station=True, institution=True))
            if period is not None and appraisal_owed(p, period.last_day):
                yield Target(form=self.code, key=f"{pid}-待鉴定", path=f"X2/待鉴定/{period.key}/{stem}",
                             view=appraisal_view(ds, p), context=person_label(p), person=pid,
                             unit=p.station, period=period.key,
                             deps=person_deps(ds, p, station=True, institution=True))
