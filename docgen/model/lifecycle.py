"""Case lifecycle: a person's state on any date, derived from their records and events.

``state_on(person, day)`` returns one of ``STATES``; ``status_on`` returns the same with
what the statistics need (in the register or not, the F / I group of form P, since when).
``timeline(person)`` holds the dates everything else is computed from.

Readings of the standard (后续照管工作规范) used here
------------------------------------------------------
* **预解戒** — the person is known (对象信息表) but not yet out: the day is before the
  出所时间 and before any 所外就医.
* **Register entry (form P, C)** — a person enters the register (在册) on the day they leave
  the institution: 出所时间 (C 解戒人员), or the date of a 所外就医 event on or before it
  (C 所外就医). Entry does not wait for the report: 尚未报到 is counted within E
  (填报说明 3).
* **所外就医** — left the institution for medical treatment (a 所外就医 event on or before the
  出所时间): from then until the report. Under treatment, the 10-day report rule is not applied;
  counted as actually cared for.
* **待报到** — released, not reported, at most 10 days after release (协议书 二：自解戒之日起
  十日内报到; day 10 is still in time). Counted as actually cared for (the deadline has not
  passed), not in F.
* **尚未报到** — released more than 10 days ago and not reported: F 尚未报到.
* **在册照管** — reported and in care.
* **失联 / 拒访** — from a 失联 / 拒访 event until a later 恢复联系 (F 失联 / F 拒访).
* **复吸/强戒**, **判处刑罚** — from a 复吸 / 强戒 / 判处刑罚 event, or a 终止 on the grounds
  照管期限内又吸食毒品 / 违法犯罪被判处刑罚, while in the register. These persons form
  I (未能保持操守) and, by 填报说明 3 and 4, stay in E for the rest of the year (a sentence
  without imprisonment is still care): they leave the register on 1 January of the year after
  their care period (1 year or the 社区康复 term from the report; from release when they never
  reported) has run, and are counted then under D 照管期满. I takes precedence over F (J=G-I
  requires I within G).
* **照管期满** — care period over (5.1): from the day after its last day, or from a 期满 event
  if that is recorded earlier. A 典型培育 agreement (5.2) makes care unlimited while the
  cultivation lasts; when the cultivation ends, care ends then or at the ordinary end,
  whichever is later.
* **终止** — the 指导站 terminated the agreement (5.3) on the grounds 未按期报到, 连续3个月
  联系不上或拒绝回访 or 其他违约: the person leaves the register on the 终止 date and form P
  counts the decrease under D 照管期满 (the appendix has no other decrease column;
  termination is the end of care). Termination for relapse / sentence keeps the person in I
  (above) and the state reads 复吸/强戒 or 判处刑罚 until they leave.
* **死亡** — from the 死亡 event; D 死亡.

典型培育 has its own span: it starts on 开始日期, else on the 出所时间 when an institution
cultivates, else on the 协议日期; it stops on a 典型培育结束 event, the day after the (extended)
结束日期, or on death, relapse, sentence or termination (``cultivation_span``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..records.model import Event, Person, term_months
from .care import add_months

STATES = ("预解戒", "待报到", "在册照管", "失联", "拒访", "尚未报到", "复吸/强戒", "判处刑罚", "所外就医",
          "照管期满", "终止", "死亡")
F_STATES = ("失联", "拒访", "尚未报到")  # form P, F 本月异动情况
I_STATES = ("复吸/强戒", "判处刑罚")  # form P, I 未能保持操守人数
REPORT_DAYS = 10  # 协议书 二：自解戒之日起十日内报到
RELAPSE_GROUND = "照管期限内又吸食毒品"
SENTENCE_GROUND = "违法犯罪被判处刑罚"
_ORDER = {"报到": 0, "恢复联系": 5, "回访": 10, "帮扶": 20, "就业": 30, "未就业": 30, "失联": 40, "拒访": 40,
          "复吸": 60, "强戒": 61, "判处刑罚": 62, "终止": 80, "期满": 85, "死亡": 90}


@dataclass(frozen=True)
class Status:
    state: str  # one of STATES
    in_register: bool  # counted in E of form P
    group: str  # "F", "I" or "" (actually cared for, abstinent)
    since: dt.date | None  # the day the state began


@dataclass(frozen=True)
class Timeline:
    release: dt.date
    entry: dt.date  # first day in the register
    entry_kind: str  # 解戒人员 | 所外就医
    report: dt.date | None
    report_due: dt.date  # last day to report
    care_end: dt.date | None  # last day of care (None: unlimited, or not reported)
    i_event: Event | None  # first relapse / sentence while in the register
    leave: dt.date | None  # first day out of the register (None: still in)
    leave_kind: str  # 死亡 | 终止 | 照管期满 | ""
    death: dt.date | None
    cultivation_start: dt.date | None
    cultivation_stop: dt.date | None  # first day no longer cultivated
    cultivation_stop_reason: str = ""  # 典型培育结束 (as planned) or the event kind that ended it


def _events(person: Person) -> list[Event]:
    return sorted(person.events, key=lambda e: (e.date, _ORDER.get(e.kind, 50)))


def regular_end(person: Person, report: dt.date | None, fallback_start: dt.date) -> dt.date:
    """Last day of the ordinary care period (5.1), ignoring 典型培育."""
    start = report or fallback_start
    months = (term_months(person.rehab.term) or 12) if person.rehab is not None else 12
    return add_months(start, months) - dt.timedelta(days=1)


def _i_state(e: Event) -> str | None:
    if e.kind in ("复吸", "强戒"):
        return "复吸/强戒"
    if e.kind == "判处刑罚":
        return "判处刑罚"
    if e.kind == "终止" and e.ground == RELAPSE_GROUND:
        return "复吸/强戒"
    if e.kind == "终止" and e.ground == SENTENCE_GROUND:
        return "判处刑罚"
    return None


def _cultivation_start(person: Person, release: dt.date) -> dt.date | None:
    c = person.cultivation
    if c is None:
        return None
    if c.start:
        return c.start
    return release if c.unit and c.unit == person.detention.institution else c.signed


def _timeline(person: Person) -> Timeline:
    events = _events(person)
    release = person.detention.release
    medical = next((e.date for e in events if e.kind == "所外就医" and e.date <= release), None)
    entry = min(release, medical) if medical else release
    entry_kind = "所外就医" if medical else "解戒人员"
    report = next((e.date for e in events if e.kind == "报到"), None)
    death = next((e.date for e in events if e.kind == "死亡"), None)
    base_end = regular_end(person, report, release)

    # cultivation span
    c_start = _cultivation_start(person, release)
    c_stop: dt.date | None = None
    c_reason = ""
    if person.cultivation is not None and c_start is not None:
        scheduled = person.cultivation.end
        for e in events:
            if e.kind == "典型培育延长" and e.new_end:
                scheduled = e.new_end
        stops = [(scheduled + dt.timedelta(days=1), "典型培育结束")] if scheduled else []
        for e in events:
            if e.date < c_start:
                continue
            if e.kind in ("典型培育结束", "死亡", "复吸", "强戒", "判处刑罚", "终止"):
                stops.append((e.date, e.kind))
                break
        if stops:
            c_stop, c_reason = min(stops, key=lambda t: (t[0], t[1] != "典型培育结束"))
            c_stop = max(c_stop, c_start)
    cultivated = c_start is not None and c_start <= base_end + dt.timedelta(days=1) and c_stop != c_start

    # care end
    if report is None:
        care_end = None
    elif cultivated:
        # a cultivation ended as planned ends care then (at the earliest at the ordinary end);
        # one cut short by death, relapse or termination leaves that event to decide
        if c_stop is None:
            care_end = None
        elif c_reason == "典型培育结束":
            care_end = max(base_end, c_stop - dt.timedelta(days=1))
        else:
            care_end = max(base_end, c_stop)
    else:
        care_end = base_end

    # the ordinary way out (expiry, 期满 event, termination), before any relapse
    expiry = care_end + dt.timedelta(days=1) if care_end else None
    i_event: Event | None = None
    leave: dt.date | None = None
    leave_kind = ""
    for e in events:
        if e.date < entry:
            continue
        if leave is not None and e.date >= leave:
            break
        if expiry is not None and e.date >= expiry:
            leave, leave_kind = expiry, "照管期满"
            break
        if e.kind == "死亡":
            leave, leave_kind = e.date, "死亡"
            break
        if _i_state(e):
            i_event = e
            break
        if e.kind == "终止":
            leave, leave_kind = e.date, "终止"
            break
        if e.kind == "期满":
            leave, leave_kind = e.date, "照管期满"
            break
    if leave is None and i_event is None and expiry is not None:
        leave, leave_kind = expiry, "照管期满"
    if i_event is not None:
        # 填报说明 4: stays in E (I) until January after the care period has run
        end = care_end if care_end is not None else base_end
        january = dt.date(max(end.year, i_event.date.year) + 1, 1, 1)
        leave, leave_kind = january, "照管期满"
        if death and i_event.date <= death < january:
            leave, leave_kind = death, "死亡"
    return Timeline(release=release, entry=entry, entry_kind=entry_kind, report=report,
                    report_due=release + dt.timedelta(days=REPORT_DAYS), care_end=care_end, i_event=i_event,
                    leave=leave, leave_kind=leave_kind, death=death, cultivation_start=c_start,
                    cultivation_stop=c_stop, cultivation_stop_reason=c_reason if c_stop else "")


_cache: dict[int, tuple[int, Timeline]] = {}


def _fingerprint(person: Person) -> int:
    return hash((person.detention.release, person.detention.institution,
                 person.rehab.term if person.rehab else None,
                 repr(person.cultivation) if person.cultivation else None,
                 tuple((e.kind, e.date, e.ground, e.new_end) for e in person.events)))


def timeline(person: Person) -> Timeline:
    """The person's lifecycle dates (cached while their events do not change)."""
    fp = _fingerprint(person)
    hit = _cache.get(id(person))
    if hit is not None and hit[0] == fp:
        return hit[1]
    tl = _timeline(person)
    if len(_cache) > 100_000:
        _cache.clear()
    _cache[id(person)] = (fp, tl)
    return tl


def status_on(person: Person, day: dt.date, tl: Timeline | None = None) -> Status:
    """The person's state on ``day`` with its meaning for the statistics (``tl``: the
    person's ``timeline``, when the caller has it)."""
    if tl is None:
        tl = timeline(person)
    if day < tl.entry:
        return Status("预解戒", False, "", None)
    if tl.leave is not None and day >= tl.leave:
        if tl.leave_kind == "死亡":
            return Status("死亡", False, "", tl.leave)
        if tl.leave_kind == "终止":
            return Status("终止", False, "", tl.leave)
        if tl.i_event is not None:
            term = next((e for e in _events(person) if e.kind == "终止" and e.date >= tl.i_event.date
                         and e.date < tl.leave), None)
            if term is not None:
                return Status("终止", False, "", term.date)
        return Status("照管期满", False, "", tl.leave)
    events = [e for e in _events(person) if e.date <= day]
    if tl.i_event is not None and tl.i_event.date <= day:
        latest, since = "复吸/强戒", tl.i_event.date
        for e in events:
            if e.date >= tl.i_event.date and _i_state(e):
                if _i_state(e) != latest or e is tl.i_event:
                    since = e.date
                latest = _i_state(e) or latest
        return Status(latest, True, "I", since)
    contact: Event | None = None
    for e in events:
        if e.kind in ("失联", "拒访"):
            contact = e
        elif e.kind == "恢复联系":
            contact = None
    if contact is not None:
        return Status(contact.kind, True, "F", contact.date)
    if tl.report is not None and tl.report <= day:
        return Status("在册照管", True, "", tl.report)
    if tl.entry_kind == "所外就医":
        return Status("所外就医", True, "", tl.entry)
    if day <= tl.report_due:
        return Status("待报到", True, "", tl.release)
    return Status("尚未报到", True, "F", tl.report_due + dt.timedelta(days=1))


def state_on(person: Person, day: dt.date) -> str:
    """The person's state on ``day``: one of ``STATES`` (see the module docstring)."""
    return status_on(person, day).state


def in_register(person: Person, day: dt.date) -> bool:
    return status_on(person, day).in_register


def cultivation_span(person: Person) -> tuple[dt.date | None, dt.date | None]:
    """(first day, first day no longer cultivated) of the person's 典型培育; (None, None) without one."""
    tl = timeline(person)
    return tl.cultivation_start, tl.cultivation_stop


def cultivating_on(person: Person, day: dt.date) -> bool:
    start, stop = cultivation_span(person)
    return start is not None and start <= day and (stop is None or day < stop)


def abstinence_start(person: Person) -> dt.date:
    """The day abstinence is counted from: leaving the institution (出所 or 所外就医)."""
    return timeline(person).entry


def full_months(start: dt.date, day: dt.date) -> int:
    """Completed months from ``start`` to ``day``."""
    months = (day.year - start.year) * 12 + day.month - start.month
    if add_months(start, months) > day:
        months -= 1
    return max(months, 0)


def contact_lost_since(person: Person, day: dt.date) -> dt.date | None:
    """Since when the person has been 失联 or 拒访 without restored contact (None: in contact)."""
    st = status_on(person, day)
    return st.since if st.state in ("失联", "拒访") else None

