"""X1 后续照管服务联系卡 (docgen design, 9.1.2.2 and A.2.3 of the standard).

The 指导站 hands the card out when the agreement (form E) is signed, and has the
detox institutions hand it to people about to be released. It names the station to
report to, the reporting address, the contact person and phone, and the duty to report
within 十日内 of release (agreement E, clause 2).

* Card: business-card size, 90 × 54 mm.
* Sheet: A4 portrait, 2 columns × 5 rows of cards touching each other (180 × 270 mm,
  centred: 15 mm left and right, 13.5 mm top and bottom), with crop marks in the margins
  on the extension of every card edge (2 mm away from the cards, 5 mm long, all more
  than 5 mm from the paper edge so that any printer prints them). Printed at 100 %
  (“实际大小”), cutting along the marks gives cards of exactly 90 × 54 mm.
* ``docgen build`` makes one sheet per station (every 指导站, 工作站 and 服务站): ten
  identical cards with the station's own name, address (``地址``, else ``报到地址``),
  contact and phone, for handing out in bulk; the holder line is left blank.
* ``person_card_pdf(ds, person)`` makes one card for one person (for the notice
  bundle): their 服务站, its address and phone, their follow-up officer
  (``跟踪回访责任人``, else the station's contact) and their name as the holder, on an
  A4 page in the top-left position with its crop marks.

The PDF is drawn with the reportlab canvas (``sheet_geometry`` holds every position, so
tests can check the drawing against it); the DOCX comes from the layout: a 2 × 5 table of
90 × 54 mm cells on the same page geometry, for editing.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph

from ..errors import DocgenError
from ..records.load import Dataset
from ..records.model import Person, Station
from ..render.fonts import rl_font
from ..render.pdf import document_canvas, rich
from .base import Form, Period, Target, person_label, record_files, s, safe_name
from ._extras import designed_footer, gap, station_address
from .layout import Cell, Layout, Loop, Row, Table, fill

PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
CARD_W, CARD_H = 90.0, 54.0
COLS, ROWS = 2, 5
MARGIN_X = (PAGE_W - COLS * CARD_W) / 2  # 15 mm
MARGIN_Y = (PAGE_H - ROWS * CARD_H) / 2  # 13.5 mm
MARK_OFFSET = 2.0  # gap between a card edge and its crop mark, mm
MARK_LENGTH = 5.0
MARK_WIDTH = 0.25  # pt
PRINTABLE_MARGIN = 5.0  # what most printers cannot print, mm from the paper edge
PADDING = 4.0  # inside a card, mm
MIN_SCALE = 0.75  # long addresses shrink the card text down to 3/4 of its size, no further

TITLE = "后续照管服务联系卡"
DUTY = "请自解除强制隔离戒毒之日起十日内，携带《后续照管服务协议书》到上述地址报到。"
FOOTER = designed_footer("9.1.2.2").replace("本表", "本联系卡")
PRINT_NOTE = "A4 纸每页 10 张，每张 90×54 mm。请按“实际大小（100%）”打印，沿裁切标记裁切。"
SINGLE_PRINT_NOTE = "每张 90×54 mm。请按“实际大小（100%）”打印，沿裁切标记裁切。"


def _two_lines(text: str) -> str:
    """A bottom-margin note in two lines broken after its first sentence or clause, so that
    no line ends with a lone character between the crop marks."""
    for sep in ("。", "，"):
        head, found, tail = text.partition(sep)
        if found and tail:
            return f"{head}{found}<br/>{tail}"
    return text


@dataclass(frozen=True)
class SheetGeometry:
    """Positions on an A4 sheet in mm, origin at the bottom-left corner (PDF convention)."""

    cards: tuple[tuple[float, float, float, float], ...]  # (x, y, w, h) per card, row by row
    marks: tuple[tuple[float, float, float, float], ...]  # crop-mark segments (x1, y1, x2, y2)


def sheet_geometry(cols: int = COLS, rows: int = ROWS) -> SheetGeometry:
    """Card cells of the top-left ``cols`` × ``rows`` block of the sheet and their crop marks."""
    top = PAGE_H - MARGIN_Y
    cards = tuple((MARGIN_X + c * CARD_W, top - (r + 1) * CARD_H, CARD_W, CARD_H)
                  for r in range(rows) for c in range(cols))
    left, right = MARGIN_X, MARGIN_X + cols * CARD_W
    bottom = top - rows * CARD_H
    marks = []
    for c in range(cols + 1):  # vertical edges: marks above and below the block
        x = MARGIN_X + c * CARD_W
        marks.append((x, top + MARK_OFFSET, x, top + MARK_OFFSET + MARK_LENGTH))
        marks.append((x, bottom - MARK_OFFSET, x, bottom - MARK_OFFSET - MARK_LENGTH))
    for r in range(rows + 1):  # horizontal edges: marks left and right of the block
        y = top - r * CARD_H
        marks.append((left - MARK_OFFSET, y, left - MARK_OFFSET - MARK_LENGTH, y))
        marks.append((right + MARK_OFFSET, y, right + MARK_OFFSET + MARK_LENGTH, y))
    return SheetGeometry(cards, tuple(marks))


# --------------------------------------------------------------------------- views


def card_view(st: Station | None, contact: str = "", holder: str = "") -> dict:
    return {"station": st.display_name if st else "", "address": station_address(st),
            "contact": contact or s(st.contact if st else None), "phone": s(st.phone if st else None),
            "holder": holder}


def person_card_view(ds: Dataset, person: Person) -> dict:
    """The card of one person: their 服务站, its address and phone, their officer, their name."""
    st = ds.stations.get(person.station)
    return card_view(st, contact=s(person.officer), holder=person.name)


def sheet_view(cards: list[dict]) -> dict:
    cells = list(cards) + [{}] * (COLS * ROWS - len(cards))
    return {"cards": list(cards),
            "rows": [{"l": cells[2 * r], "r": cells[2 * r + 1]} for r in range(ROWS)]}


# --------------------------------------------------------------------------- drawing


def _style(role: str, size: float, align=TA_LEFT, leading: float | None = None) -> ParagraphStyle:
    return ParagraphStyle(name=f"x1-{role}-{size}", fontName=rl_font(role), fontSize=size,
                          leading=leading or size * 1.3, alignment=align, wordWrap="CJK")


def _card_paragraphs(card: dict, scale: float, context: str) -> list[tuple[Paragraph, float]]:
    """(paragraph, space before in pt) from top to bottom of one card."""
    def para(text: str, role: str, size: float, align=TA_LEFT) -> Paragraph:
        return Paragraph(rich(fill(text, {"c": card}), role, context), _style(role, size * scale, align))

    def value(key: str, blank: int) -> str:  # the value, or an underlined blank to write in
        return "{{ c.%s }}" % key if card.get(key) else f"<u>{gap(blank)}</u>"

    return [
        (para(TITLE, "title", 12.5, TA_CENTER), 0),
        (para(value("station", 80), "heading", 8.5, TA_CENTER), 5 * scale),
        (para("报到地址：" + value("address", 84), "table", 8.5), 5 * scale),
        (para("联系人：" + value("contact", 40), "table", 8.5), 1.5 * scale),
        (para("联系电话：" + value("phone", 50), "table", 8.5), 1.5 * scale),
        (para("持卡人：" + value("holder", 40), "table", 8.5), 1.5 * scale),
        (para(DUTY, "body", 7), 3 * scale),
    ]


def draw_card(canv, x: float, y: float, card: dict, context: str = "") -> None:
    """Draw one card with its bottom-left corner at (x, y) mm."""
    width = (CARD_W - 2 * PADDING) * mm
    avail = (CARD_H - 2 * PADDING) * mm
    scale = 1.0
    while True:
        paras = _card_paragraphs(card, scale, context)
        heights = [p.wrap(width, avail)[1] + before for p, before in paras]
        if sum(heights) <= avail or scale <= MIN_SCALE + 1e-9:
            break
        scale -= 0.05
    if sum(heights) > avail:
        raise DocgenError(f"联系卡内容太长，印不进 90×54 mm 的卡片（{context}）：请缩短站点地址或名称")
    cx = (x + PADDING) * mm
    cursor = (y + CARD_H - PADDING) * mm
    *upper, (duty, _) = paras
    for i, ((p, before), h) in enumerate(zip(upper, heights)):
        cursor -= h
        p.drawOn(canv, cx, cursor)
        if i == 0:  # a rule under the title, as the appendix forms rule their headings
            canv.setLineWidth(0.6)
            canv.line(cx, cursor - 2 * scale, cx + width, cursor - 2 * scale)
    duty.drawOn(canv, cx, (y + PADDING) * mm)  # the duty to report sits at the foot of the card


def _draw_note(canv, text: str, x0: float, x1: float, y: float, size: float, context: str) -> None:
    p = Paragraph(rich(text, "table", context), _style("table", size, TA_LEFT, size * 1.25))
    _, h = p.wrap((x1 - x0) * mm, 20 * mm)
    p.drawOn(canv, x0 * mm, y * mm - h)


def render_sheet(cards: list[dict], context: str = "", title: str = TITLE) -> bytes:
    """A4 sheet with up to ten cards (row by row) and crop marks around the filled block."""
    if len(cards) > COLS * ROWS:
        raise ValueError("at most ten cards per sheet")
    rows = max(1, -(-len(cards) // COLS))
    cols = COLS if len(cards) > 1 else 1
    geo = sheet_geometry(cols, rows)
    buf = io.BytesIO()
    canv = document_canvas(buf, A4, "table")
    canv.setTitle(title)
    canv.setAuthor("docgen")
    canv.setSubject("后续照管工作规范 表单")
    canv.setCreator("docgen")
    canv.setProducer("docgen")
    for card, (x, y, _, _) in zip(cards, geo.cards):
        draw_card(canv, x, y, card, context)
    canv.setLineWidth(MARK_WIDTH)
    canv.setStrokeColorRGB(0, 0, 0)
    for x1, y1, x2, y2 in geo.marks:
        canv.line(x1 * mm, y1 * mm, x2 * mm, y2 * mm)
    # footer in the bottom margin, between the crop marks (two lines each, clear of the marks)
    bottom_mark = geo.marks[1][1]  # y where the bottom marks start (just below the cards)
    text_top = bottom_mark - 0.3
    note = PRINT_NOTE if len(cards) > 1 else SINGLE_PRINT_NOTE
    _draw_note(canv, _two_lines(FOOTER), MARGIN_X + 5, MARGIN_X + CARD_W - 5, text_top, 5.5, context)
    _draw_note(canv, _two_lines(note), MARGIN_X + CARD_W + 5, MARGIN_X + 2 * CARD_W - 5, text_top, 5.5, context)
    canv.showPage()
    canv.save()
    return buf.getvalue()


def person_card_pdf(ds: Dataset, person: Person) -> bytes:
    """One person's contact card (A4 page, card top-left with crop marks), for the notice bundle."""
    return render_sheet([person_card_view(ds, person)], person_label(person), f"{TITLE}（{person.name}）")


# --------------------------------------------------------------------------- the form


CARD_TEXT = ("后续照管服务联系卡<br/>{{ %(v)s.station }}<br/>报到地址：{{ %(v)s.address }}<br/>"
             "联系人：{{ %(v)s.contact }}<br/>联系电话：{{ %(v)s.phone }}<br/>持卡人：{{ %(v)s.holder }}<br/>"
             + DUTY)


class ContactCard(Form):
    code = "X1"
    name = "后续照管服务联系卡"
    kind = "card"
    scope = "unit"
    designed = True

    def build_layout(self) -> Layout:
        row = Row([Cell(CARD_TEXT % {"v": "r.l"}, align="left", valign="top", size=8),
                   Cell(CARD_TEXT % {"v": "r.r"}, align="left", valign="top", size=8)], CARD_H)
        table = Table([CARD_W, CARD_W], [Loop("r", "rows", row, min_rows=ROWS)], size=8)
        # DOCX page: the same columns; top and bottom margins a little smaller than the PDF sheet's
        # so the 270 mm table and the paragraph a word processor adds after it stay on one page
        return Layout([table], margins=(10.0, MARGIN_X, 8.0, MARGIN_X), footer=FOOTER,
                      doc_title=self.name)

    def render_pdf(self, view: dict, context: str = "") -> bytes:
        cards = view.get("cards") or [{}] * (COLS * ROWS)
        return render_sheet(cards, context)

    def blank_view(self) -> dict:
        return sheet_view([{}] * (COLS * ROWS))

    def targets(self, ds: Dataset, period: Period | None):
        for sid, st in sorted(ds.stations.items()):
            view = sheet_view([card_view(st)] * (COLS * ROWS))
            yield Target(form=self.code, key=sid, path=f"X1/{safe_name(sid)}-{safe_name(st.display_name)}",
                         view=view, context=f"站点 {sid}（{st.display_name}）", unit=sid,
                         deps=record_files(ds, sid))
