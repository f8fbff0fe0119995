"""What the four docgen-designed documents X1-X4 share.

The standard names these documents in its workflow (9.1.2.2, 9.2, 9.4, 5.3; A.2.3, A.4.2)
but gives no appendix for them. docgen designs them in the visual language of the
appendix forms (form D): the same title face and size, 宋体 tables with 0.6 pt rules, and
a footer that says they are docgen designs, not forms of the standard.
"""
from __future__ import annotations

import datetime as dt

from ..model.care import care_period, report_date
from ..records.load import Dataset
from ..records.model import Event, Person, Station
from .base import cn_date, cn_month, s
from .layout import Cell, L, Row

# Blanks to write in are made of no-break spaces: the PDF renderer collapses runs of
# ordinary or ideographic spaces, but keeps no-break spaces (about a quarter em each).
NBSP = "\u00a0"


def gap(n: int) -> str:
    return NBSP * n


# the date blank printed under signatures and seals (as in appendix H: 年　月　日)
DATE_BLANK = f"{gap(10)}年{gap(6)}月{gap(6)}日"


def designed_footer(clause: str) -> str:
    return f"本表为 docgen 依据《后续照管工作规范》第 {clause} 条设计的样式，非标准附录表式"


def station_of(ds: Dataset, person: Person) -> Station | None:
    return ds.stations.get(person.station)


def station_address(st: Station | None) -> str:
    """The reporting address of a station: its full address, else built from 报到地址 (路、号)."""
    if st is None:
        return ""
    if st.address:
        return st.address
    if st.road_address and (st.road_address.road or st.road_address.number):
        return (f"{st.city}{st.county or ''}{st.township or ''}"
                f"{st.road_address.road or ''}{st.road_address.number or ''}")
    return ""


def date_or_blank(d: dt.date | None) -> str:
    return cn_date(d) if d else DATE_BLANK


def person_basics(ds: Dataset, p: Person) -> dict:
    """Identity and care data every X form prints about a person (display strings)."""
    st = station_of(ds, p)
    care = care_period(p)
    inst = ds.institutions.get(p.detention.institution)
    return {
        "name": p.name, "sex": p.sex, "birth": cn_month(p.birth_month), "id_number": p.id_number,
        "phone": s(p.phone), "household": s(p.household), "residence": s(p.residence),
        "station": st.display_name if st else p.station, "officer": s(p.officer),
        "institution": inst.name if inst else p.detention.institution,
        "release": cn_date(p.detention.release), "report": cn_date(report_date(p)),
        "signed": cn_date(p.agreement.signed) if p.agreement else "",
        "care_term": care.text, "care_end": cn_date(care.end),
    }


def events_of(p: Person, kind: str) -> list[Event]:
    return sorted((e for e in p.events if e.kind == kind), key=lambda e: e.date)


def text_cell(text: str, colspan: int = 1, **kw) -> Cell:
    """A left-aligned cell of printed text with blanks (a label that reads as a sentence)."""
    return L(text, colspan, align="left", **kw)


def signature_rows(label: str, body: str, sign: str, body_height: float, sign_height: float = 14.0,
                   colspan: int = 5) -> list[Row]:
    """An opinion block as the appendix forms print it: the label spans the body (left, top)
    and a right-aligned strip with the signature, seal and date blanks."""
    return [Row([L(label, rowspan=2), text_cell(body, colspan, valign="top")], body_height),
            Row([L(sign, colspan, align="right", valign="bottom")], sign_height)]


def seal_line(signer: str, unit: str, date: str = DATE_BLANK) -> str:
    """``负责人（签名）：…… 服务站（印章）`` over the date."""
    return f"{signer}（签名）：{gap(36)}{unit}（印章）{gap(4)}<br/>{date}{gap(4)}"
