"""Helpers shared by the forms E G H I J M O T U V W (views, dates, unit names, states)."""
from __future__ import annotations

import datetime as dt

from ..model.care import add_months
from ..records.load import Dataset
from ..records.model import Person, split_address, term_months
from .base import Period, iso

# GB/T 9704 (公文): type area 156 x 225 mm, 三号 body (16 pt), 22 lines of 28 characters
GOV_MARGINS = (37.0, 26.0, 35.0, 28.0)  # top right bottom left, mm
GOV_BODY_PT = 16.0
GOV_TITLE_PT = 22.0
GOV_LEADING = 225 / 22 / 25.4 * 72  # pt: 22 lines fill the 225 mm type area


def ymd(d: dt.date | None) -> tuple[str, str, str]:
    """(year, month, day) display strings of a date, '' when unknown."""
    if d is None:
        return "", "", ""
    return str(d.year), str(d.month), str(d.day)


def strip_suffix(text: str | None, suffixes: tuple[str, ...]) -> str:
    """``玄武区`` -> ``玄武`` when the printed form already says 区 after the blank."""
    t = text or ""
    for suf in suffixes:
        if t.endswith(suf) and len(t) > len(suf) + 1:
            return t[: -len(suf)]
    return t


def household_city(p: Person) -> str:
    return split_address(p.household)[1]


def household_county(p: Person) -> str:
    return split_address(p.household)[2]


def term_end(start: dt.date | None, term: str | None, less_months: int = 0) -> dt.date | None:
    """Last day of a term of months starting on ``start``."""
    months = term_months(term)
    if start is None or months is None:
        return None
    return add_months(start, months - less_months) - dt.timedelta(days=1)


def detention_end(p: Person) -> dt.date | None:
    """强戒止日 after the proposed reduction (form G 注2); the release date when unknown."""
    d = p.detention
    end = term_end(d.begin, d.term, d.reduction_months or 0)
    return end or d.release


def iso_or_blank(d: dt.date | None) -> str:
    return iso(d)


def unit_name(ds: Dataset, unit_id: str | None) -> str:
    if not unit_id:
        return ""
    return ds.unit_name(unit_id)


def family_contact(p: Person) -> str:
    """家庭联系人及联系方式: the first relation with a phone number, else the first relation."""
    rels = [r for r in p.relations if r.name]
    if not rels:
        return ""
    with_phone = [r for r in rels if r.phone]
    r = (with_phone or rels)[0]
    who = f"{r.relation}{r.name}" if r.relation else r.name
    return f"{who} {r.phone}" if r.phone else who


# --------------------------------------------------------------------------- person state


def state_on(p: Person, day: dt.date) -> str:
    """The person's state (Chinese name) on ``day``, by model.lifecycle."""
    from ..model.lifecycle import state_on as _state_on

    return _state_on(p, day)


def in_register(p: Person, day: dt.date) -> bool:
    from ..model.lifecycle import in_register as _in_register

    return _in_register(p, day)


def cultivating_on(p: Person, day: dt.date) -> bool:
    from ..model.lifecycle import cultivating_on as _cultivating_on

    return _cultivating_on(p, day)


def period_or_error(period: Period | None, code: str) -> Period:
    from ..errors import UsageError

    if period is None:
        raise UsageError(f"表单 {code} 按期间生成，请加 --month（如 --month 2026-11）")
    return period
