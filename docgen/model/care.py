"""The care period (照管期限) of a person, by 5.1 and 5.2 of the standard.

* 1 year from the day the person reported (报到);
* as long as the community rehabilitation (社区康复) when one was ordered;
* unlimited under a 典型培育 agreement.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..records.model import Person, add_months, term_months  # noqa: F401 (add_months is re-exported)


@dataclass(frozen=True)
class CarePeriod:
    start: dt.date | None  # the report date; None while the person has not reported
    end: dt.date | None  # last day of care; None when unlimited or not started
    basis: str  # 一年 | 社区康复 | 典型培育

    @property
    def text(self) -> str:
        if self.basis == "典型培育":
            start = f"自{self.start.year}年{self.start.month}月{self.start.day}日起，" if self.start else ""
            return f"{start}无期限（戒毒典型培育）"
        if not self.start or not self.end:
            return ""
        return (f"{self.start.year}年{self.start.month}月{self.start.day}日至"
                f"{self.end.year}年{self.end.month}月{self.end.day}日"
                + ("（与社区康复期限一致）" if self.basis == "社区康复" else ""))


def report_date(person: Person) -> dt.date | None:
    for e in person.events:
        if e.kind == "报到":
            return e.date
    return None


def care_period(person: Person) -> CarePeriod:
    start = report_date(person)
    if person.cultivation is not None:
        return CarePeriod(start, None, "典型培育")
    if person.rehab is not None:
        months = term_months(person.rehab.term) or 12
        return CarePeriod(start, add_months(start, months) - dt.timedelta(days=1) if start else None, "社区康复")
    return CarePeriod(start, add_months(start, 12) - dt.timedelta(days=1) if start else None, "一年")
