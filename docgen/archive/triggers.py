"""Retention triggers: the day from which an item's retention term runs, computed from
the current records so that a later change (a cultivation extended by 典型培育延长 with a
新结束日期) moves the due date. Each trigger comes with a reason for the audit log."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .policy import CLOSURE_EVENTS, Series

if TYPE_CHECKING:
    from ..records.model import Person


@dataclass(frozen=True)
class Trigger:
    date: dt.date | None
    reason: str


def person_series_kind(person: Person) -> str:
    """个人档案 of a 典型培育 person run from the end of cultivation (10.3)."""
    return "cultivation" if person.cultivation is not None else "personal"


def person_trigger(series: Series, person: Person) -> Trigger:
    events = sorted(person.events, key=lambda e: e.date)
    if series.trigger == "closure":
        for e in events:
            if e.kind in series.events:
                return Trigger(e.date, f"{e.date.isoformat()} {e.kind}（结案）")
        return Trigger(None, "尚未结案（无" + "、".join(series.events) + "事件）")
    if series.trigger == "cultivation_end":
        planned = cultivation_end(person)
        if planned.date is None:
            return planned
        # one person, one volume: it holds the 照管 records up to the closure of the care too,
        # which are kept 3 years from that closure (10.3), so the later of the two days counts
        closed = next((e for e in events if e.kind in CLOSURE_EVENTS), None)
        if closed is None:
            return Trigger(None, f"照管尚未结束（无{'、'.join(CLOSURE_EVENTS)}事件；{planned.reason}）")
        if closed.date > planned.date:
            return Trigger(closed.date, f"{closed.date.isoformat()} {closed.kind}（照管结束晚于培育期结束：{planned.reason}）")
        return planned
    if series.trigger == "none":
        return Trigger(None, "永久保管")
    raise ValueError(series.trigger)


def cultivation_end(person: Person) -> Trigger:
    """The end of the cultivation by the records (death ends it too), with its reason."""
    events = sorted(person.events, key=lambda e: e.date)
    planned = _cultivation_end(person, events)
    died = next((e for e in events if e.kind == "死亡"), None)
    if died is not None and (planned.date is None or died.date < planned.date):
        return Trigger(died.date, f"{died.date.isoformat()} 死亡（培育期随之结束）")
    return planned


def _cultivation_end(person: Person, events: list) -> Trigger:
    ended = [e for e in events if e.kind == "典型培育结束"]
    if ended:
        return Trigger(ended[-1].date, f"{ended[-1].date.isoformat()} 典型培育结束")
    extended = [e for e in events if e.kind == "典型培育延长" and e.new_end]
    if extended:
        e = extended[-1]
        return Trigger(e.new_end, f"典型培育延长至 {e.new_end.isoformat()}（{e.date.isoformat()} 登记）")
    c = person.cultivation
    if c is not None and c.end:
        return Trigger(c.end, f"典型培育协议结束日期 {c.end.isoformat()}")
    return Trigger(None, "培育期尚未确定结束日期")


def year_trigger(series: Series, year: int) -> Trigger:
    if series.trigger == "none":
        return Trigger(None, "永久保管")
    end = dt.date(year, 12, 31)
    return Trigger(end, f"{year}年度终了（{end.isoformat()}）")
