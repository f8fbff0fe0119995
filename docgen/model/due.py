"""What each unit owes, and by when (``docgen due``).

Items, by rule of the standard:

* 信息采集 — the 戒毒所 completes the information collection 2 months before release (9.1.1);
* 对象信息表 — form D reaches the 指导站 by the 15th of the month before release (D 注1);
  both are listed while the person has not been released, unless the person is named in a
  valid (not voided) notice F issued by the as-of date: that notice carries the person's
  对象信息表 (附录F: "…《预解戒人员后续照管信息对接表》等文书资料一并寄送"), which is filled
  from the information collected, so both are done (the caller passes these persons);
* 报到 — within 10 days of release (协议书 二), for persons released and not reported
  (not under 所外就医);
* 回访 — at least one per calendar month (9.3.1.1) for persons in care (在册照管, 所外就医):
  due at the end of the current month when there is none yet, and reported overdue for the
  previous month when that month had none while the person was in care at its end (only for
  persons still in the register). The month of 报到 owes none: the person was met at the
  station that month (9.2: registration and the 首次谈话, form X4), and a reminder of that
  month could only turn into an overdue item the clerk can no longer mend. (The statistics
  count 回访 records only; this reading changes nothing there.);
* 终止审批 — 3 months of 失联 / 拒访 without restored contact (5.3): the 指导站 may terminate
  (form X3);
* 期满鉴定 — care ends within 30 days, or has ended without a 期满 event: appraisal (form X2
  期满鉴定表) and closure (9.4); not for 典型培育 (unlimited care) nor for relapsed / sentenced
  persons;
* 月度统计 — P Q S of each station, N L of each 戒毒所, by the 8th of the next month (填报说明);
  R at the end of a quarter. A month counts as submitted once frozen (``docgen stats --freeze``).

An item is overdue (逾期) when its date is before the as-of date. Overdue items come first,
then by date.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from .period import Period
from ..records.load import Dataset
from .care import add_months
from .freeze import store_for
from .lifecycle import status_on, timeline

LOOK_AHEAD_DAYS = 30  # 照管期满 within 30 days


@dataclass(frozen=True)
class DueItem:
    date: dt.date
    kind: str  # 信息采集 | 对象信息表 | 报到 | 回访 | 终止审批 | 期满鉴定 | 月度统计
    unit: str  # the unit that owes it
    unit_name: str
    text: str
    overdue: bool
    person: str | None = None
    form: str | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        d["status"] = "逾期" if self.overdue else "待办"
        return d


def _month_end(day: dt.date) -> dt.date:
    return Period(day.year, month=day.month).last_day


def _visited(person, report: dt.date | None, first: dt.date, last: dt.date) -> bool:
    """A 回访 between ``first`` and ``last``, or the 报到 itself (the month's contact, see above)."""
    if report is not None and first <= report <= last:
        return True
    return any(e.kind == "回访" and first <= e.date <= last for e in person.events)


def due_items(ds: Dataset, as_of: dt.date, unit: str | None = None,
              sent: frozenset[str] | set[str] = frozenset()) -> list[DueItem]:
    """``sent``: persons whose 对象信息表 went to the 指导站 with a valid notice F (the notice
    register lives in a later stage of the pipeline: the caller reads it)."""
    items: list[DueItem] = []

    def add(date: dt.date, kind: str, owner: str, text: str, person: str | None = None,
            form: str | None = None) -> None:
        items.append(DueItem(date, kind, owner, ds.unit_name(owner), text, date < as_of, person, form))

    this_month = Period(as_of.year, month=as_of.month)
    prev_month = this_month.previous_month()
    for pid, p in sorted(ds.persons.items()):
        who = f"{pid}（{p.name}）"
        tl = timeline(p)
        st = status_on(p, as_of)
        inst = p.detention.institution
        if st.state == "预解戒":
            if pid in sent:
                continue
            release = p.detention.release
            add(add_months(release, -2), "信息采集", inst, f"{who} {release} 出所，解戒前2个月完成信息采集（9.1.1）", pid)
            before = add_months(dt.date(release.year, release.month, 1), -1)
            add(dt.date(before.year, before.month, 15), "对象信息表", inst,
                f"{who} {release} 出所，对象信息表须在解戒前一个月的15日前与指导站对接（附录D 注1）", pid, "D")
            continue
        if st.state in ("待报到", "尚未报到"):
            extra = "；已逾期，可依 5.3 报指导站终止协议（X3）" if st.state == "尚未报到" else ""
            add(tl.report_due, "报到", p.station, f"{who} {tl.release} 出所，应在十日内报到{extra}", pid)
        if st.state in ("在册照管", "所外就医"):
            if not _visited(p, tl.report, this_month.first_day, as_of):
                add(this_month.last_day, "回访", p.station, f"{who} 本月（{this_month}）尚无跟踪回访记录（每月不少于一次）",
                    pid, "I")
        prev_state = status_on(p, prev_month.last_day).state
        if st.in_register and prev_state in ("在册照管", "所外就医") and not _visited(p, tl.report, prev_month.first_day, prev_month.last_day):
            add(prev_month.last_day, "回访", p.station, f"{who} {prev_month} 没有跟踪回访记录（每月不少于一次）", pid, "I")
        if st.state in ("失联", "拒访") and st.since is not None:
            when = add_months(st.since, 3)
            if when <= as_of + dt.timedelta(days=LOOK_AHEAD_DAYS):
                add(when, "终止审批", p.station,
                    f"{who} 自 {st.since} 起{st.state}，连续3个月联系不上或拒绝回访的，可报指导站终止协议（5.3，X3）",
                    pid, "X3")
        has_closure = any(e.kind == "期满" for e in p.events)
        if tl.care_end is not None and tl.i_event is None and not has_closure and tl.leave_kind == "照管期满" \
                and tl.care_end <= as_of + dt.timedelta(days=LOOK_AHEAD_DAYS):
            add(tl.care_end, "期满鉴定", p.station,
                f"{who} 照管期限至 {tl.care_end} 届满，应作出鉴定并告知后续照管终结（9.4，X2 期满鉴定表）", pid, "X2")

    store = store_for(ds)
    for per, deadline in ((prev_month, dt.date(as_of.year, as_of.month, 8)),
                          (this_month, add_months(dt.date(as_of.year, as_of.month, 8), 1))):
        frozen = store is not None and store.snapshot(per.key) is not None
        if frozen:
            continue
        quarter = per.month is not None and per.month % 3 == 0
        for sid in sorted(ds.stations):
            forms = "P Q S" + (" R" if quarter else "")
            add(deadline, "月度统计", sid, f"{per}统计表（{forms}）须在 {deadline} 前上报", form=forms)
        for inst in sorted(ds.institutions):
            add(deadline, "月度统计", inst, f"{per}统计表（N L）须在 {deadline} 前上报省局", form="N L")

    if unit:
        scope = ds.units_under(unit)
        items = [i for i in items if i.unit in scope
                 or (i.person is not None and ds.persons[i.person].station in scope)]
    items.sort(key=lambda i: (not i.overdue, i.date, i.unit, i.person or "", i.kind))
    return items
