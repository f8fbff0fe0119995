"""Assembling a filed volume (案卷) as one PDF: cover, 卷内文件目录, the documents in order,
卷内备考表, and the 归档章 stamped on the first page (reportlab drawing merged with pypdf).

The cover is the form of the standard (U 个人档案封面, W 后续照管工作档案封面) when the
registry has it, else a plain cover with the same title. The table of contents and the
备考表 are drawn with the layout language, so they use the same fonts as the forms.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from ..documents.layout import L, Layout, Loop, Para, Row, Spacer, Table, Title, V

MM = 72 / 25.4  # points per millimetre


def render_pdf(layout, view: dict, context: str) -> bytes:
    from ..render.pdf import render_pdf as render  # reportlab is loaded only when drawing

    return render(layout, view, context)


@dataclass
class Doc:
    """One document of a volume."""

    code: str  # form code
    title: str
    date: str  # display date or date range
    pdf: bytes
    pages: int
    note: str = ""
    key: str = ""  # hash of what the document says (its form and data), not of its bytes
    ident: str = ""  # which document this is, across versions: form name and event date, period or number
    blank: bool = False  # a form with no underlying records (a month without log entries, zero counts)
    gone: str = ""  # a document destroyed under a 销毁清册 (a redacted notice): why it is not in the volume

    @property
    def name(self) -> str:
        return self.ident or self.title


@dataclass(frozen=True)
class Stamp:
    """The 归档章 (DA/T 22): 全宗号 年度 件号 / 机构代码 保管期限 页数, and the full 档号."""

    fonds: str
    year: int
    seq: int
    org_code: str
    retention: str
    pages: int
    dh: str


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


# ---------------------------------------------------------------------------- layouts

_TOC = Layout([
    Title("卷内文件目录", size=18, space_after=2),
    Para("{{ heading }}", align="center", role="table", size=10.5, space_after=1),
    Para("档号：{{ dh }}", align="left", role="table", size=10, space_after=1.5),
    Table([10, 70, 32, 12, 12, 24], [
        Row([L("序号"), L("文件题名"), L("日期"), L("页数"), L("页号"), L("备注")], 9, header=True),
        Loop("d", "docs", Row([V("d.n", align="center"), V("d.title"), V("d.date", align="center"),
                               V("d.pages", align="center"), V("d.start", align="center"), V("d.note")], 9),
             min_rows=12),
    ], size=10.5),
    Para("注：页号为该文件第一页在卷内文件中的顺序号（封面、目录、备考表不编页号）。", role="table", size=9,
         space_before=1.5),
], margins=(20, 18, 18, 20), doc_title="卷内文件目录")

_BACKNOTE = Layout([
    Title("卷内备考表", size=18, space_after=4),
    Para("档号：{{ dh }}", role="table", size=10.5, space_after=2),
    Table([1], [
        Row([V("summary", valign="top")], 30),
        Row([L("说　明", align="left")], 8),
        Row([V("notes", valign="top")], 95),
    ], size=11),
    Spacer(6),
    Table([20, 40, 20, 40], [
        Row([L("立卷人"), V("by", align="center"), L("检查人"), V("checker", align="center")], 11),
        Row([L("立卷时间"), V("filed_on", align="center"), L("检查时间"), V("checked_on", align="center")], 11),
    ], size=11),
], margins=(20, 18, 18, 20), doc_title="卷内备考表")

_COVER = Layout([
    Spacer(28),
    Title("{{ title }}", size=24, space_after=2),
    Para("{{ subtitle }}", align="center", role="title", size=16, space_after=40),
    Table([52, 78], [
        Loop("f", "fields", Row([V("f.label", align="right", role="heading"), V("f.value", align="left")], 13),
             min_rows=1),
    ], size=15, border=False),
    Spacer(60),
    Para("{{ unit }}", align="center", role="heading", size=18, space_after=6),
    Para("{{ year }}", align="center", role="heading", size=16),
], margins=(25, 25, 25, 25), doc_title="档案封面")


def toc_pdf(dh: str, heading: str, docs: list[Doc]) -> bytes:
    rows, start = [], 1
    for i, d in enumerate(docs, start=1):
        rows.append({"n": str(i), "title": d.title, "date": d.date, "pages": str(d.pages),
                     "start": str(start) if d.pages == 1 else f"{start}–{start + d.pages - 1}",
                     "note": d.note})
        start += d.pages
    return render_pdf(_TOC, {"dh": dh, "heading": heading, "docs": rows}, f"卷内文件目录 {dh}")


def backnote_pdf(dh: str, docs: list[Doc], notes: list[str], by: str, checker: str, filed_on: str) -> bytes:
    pages = sum(d.pages for d in docs)
    summary = f"本卷共有文件 {len(docs)} 件，共 {pages} 页（不含封面、卷内文件目录和本备考表）。"
    view = {"dh": dh, "summary": summary,
            "notes": "\n".join(f"{i}. {n}" for i, n in enumerate(notes, start=1)) if notes else "无。",
            "by": by, "checker": checker, "filed_on": filed_on, "checked_on": filed_on if checker else ""}
    return render_pdf(_BACKNOTE, view, f"卷内备考表 {dh}")


def fallback_cover_pdf(title: str, subtitle: str, fields: list[tuple[str, str]], unit: str, year: str) -> bytes:
    view = {"title": title, "subtitle": subtitle, "unit": unit, "year": year,
            "fields": [{"label": f"{k}：", "value": v} for k, v in fields]}
    return render_pdf(_COVER, view, f"档案封面 {title}")


# ---------------------------------------------------------------------------- stamp

def _text(c, x: float, y: float, text: str, size: float, centre: bool = True) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from ..render.fonts import split_runs

    runs = split_runs(text, "table", "归档章")
    width = sum(stringWidth(t, f, size) for f, t in runs)
    cx = x - width / 2 if centre else x
    for font, run in runs:
        c.setFont(font, size)
        c.drawString(cx, y, run)
        cx += stringWidth(run, font, size)


def stamp_overlay(width: float, height: float, s: Stamp) -> bytes:
    """One page of the given size with the 归档章 at the top right (red, 2 x 3 cells)."""
    from reportlab.pdfgen import canvas as rl_canvas

    from ..render.fonts import rl_font

    mm = MM
    buf = io.BytesIO()
    # initialFontName: no reference to reportlab's non-embedded Helvetica on the volume's first page
    c = rl_canvas.Canvas(buf, pagesize=(width, height), invariant=1, pageCompression=1,
                         initialFontName=rl_font("table"))
    cw, ch = 20 * mm, 10 * mm
    x0 = width - 12 * mm - 3 * cw
    y0 = height - 6 * mm - 2 * ch
    c.setStrokeColorRGB(0.75, 0, 0)
    c.setFillColorRGB(0.75, 0, 0)
    c.setLineWidth(0.8)
    cells = [[("全宗号", s.fonds), ("年度", str(s.year)), ("件号", f"{s.seq:04d}")],
             [("机构代码", s.org_code), ("保管期限", s.retention), ("页数", str(s.pages))]]
    for r, line in enumerate(cells):
        for col, (label, value) in enumerate(line):
            x, y = x0 + col * cw, y0 + (1 - r) * ch
            c.rect(x, y, cw, ch, stroke=1, fill=0)
            _text(c, x + cw / 2, y + ch - 3.6 * mm, label, 6.5)
            size = 9 if len(value) <= 9 else 7
            _text(c, x + cw / 2, y + 1.8 * mm, value, size)
    _text(c, x0 + 1.5 * cw, y0 - 4 * mm, f"档号 {s.dh}", 8)
    c.showPage()
    c.save()
    return buf.getvalue()


# ---------------------------------------------------------------------------- assembly

def assemble(title: str, cover: bytes, toc: bytes, docs: list[Doc], backnote: bytes,
             stamp: Stamp | None) -> bytes:
    """The volume PDF; ``stamp.pages`` is ignored and replaced by the real page count."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    outline: list[tuple[str, int]] = []
    parts = [("封面", cover), ("卷内文件目录", toc)] + [(d.title, d.pdf) for d in docs] + [("卷内备考表", backnote)]
    for name, data in parts:
        outline.append((name, len(writer.pages)))
        writer.append(PdfReader(io.BytesIO(data)), import_outline=False)
    total = len(writer.pages)
    if stamp is not None:
        first = writer.pages[0]
        w, h = float(first.mediabox.width), float(first.mediabox.height)
        overlay = PdfReader(io.BytesIO(stamp_overlay(w, h, Stamp(**{**stamp.__dict__, "pages": total})))).pages[0]
        first.merge_page(overlay)
    for name, index in outline:
        writer.add_outline_item(title=name, page_number=index)
    writer.add_metadata({"/Title": title, "/Producer": "docgen", "/Creator": "docgen archive"})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
