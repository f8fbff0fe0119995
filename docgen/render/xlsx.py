"""Layout tables -> XLSX (openpyxl), for the tabular forms (G L M N O P Q R S T).

The sheet carries the same header rows and merged cells as the PDF, with typed values:
counts as numbers, rates as numbers formatted ``0.0%``, everything else (dates
``0000-00-00`` of form G 注1, ID and phone numbers) as text. Never formulas: 填报说明 1 of
form P forbids automatic sums, so totals are values computed by docgen.
"""
from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
import unicodedata

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from ..documents.layout import Layout, Para, Table, fill, para_texts
from .ooxml import normalise_zip
from .pdf import _expand, grid_positions

_INT = re.compile(r"^-?\d{1,9}$")
_FLOAT = re.compile(r"^-?\d{1,9}\.\d+$")
_PCT = re.compile(r"^(-?\d{1,3}(?:\.\d+)?)%$")
_TAGS = re.compile(r"<br/>|<u>|</u>")
_THIN = Side(style="thin", color="000000")


def typed(text: str):
    """A cell text as the value an XLSX cell should hold, and its number format."""
    t = text.strip()
    if _INT.match(t) and not (len(t.lstrip("-")) > 1 and t.lstrip("-").startswith("0")):
        return int(t), None
    if _FLOAT.match(t):
        return float(t), "0.00"
    m = _PCT.match(t)
    if m:
        return round(float(m[1]) / 100, 6), "0.0%"
    return t, None


def _wrapped_lines(text: str, width_mm: float) -> int:
    """How many lines ``text`` takes at 10 pt across ``width_mm`` (wide characters 3.6 mm, others 1.9 mm)."""
    used = sum(3.6 if unicodedata.east_asian_width(ch) in "WF" else 1.9 for ch in text)
    return max(1, math.ceil(used / width_mm))


def _plain(text: str) -> str:
    return html.unescape(_TAGS.sub(lambda m: "\n" if m.group(0) == "<br/>" else "", text)).strip()


def render_xlsx(layout: Layout, ctx: dict, sheet_title: str = "Sheet1") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = re.sub(r"[\[\]\*\?/\\:]", "", sheet_title)[:31] or "Sheet1"
    row_no = 1
    tables = [b for b in layout.blocks if isinstance(b, Table)]
    ncols_max = max((t.columns for t in tables), default=1)
    for block in layout.blocks:
        if isinstance(block, Para):
            texts = [_plain(text) for text in para_texts(block, ctx)]
            for text in texts:
                if not text:
                    continue
                ws.cell(row=row_no, column=1, value=text)
                if ncols_max > 1:
                    ws.merge_cells(start_row=row_no, start_column=1, end_row=row_no, end_column=ncols_max)
                c = ws.cell(row=row_no, column=1)
                c.alignment = Alignment(horizontal={"center": "center", "right": "right"}.get(block.align, "left"),
                                        vertical="center", wrap_text=True)
                c.font = Font(name="宋体", size=16 if block.role == "title" else 10, bold=block.role == "title")
                lines = text.count("\n") + 1
                if block.items:  # a repeated paragraph (a note) may be long: a merged cell does not grow by itself
                    lines = sum(_wrapped_lines(line, 260 if layout.landscape else 175) for line in text.split("\n"))
                ws.row_dimensions[row_no].height = 28 if block.role == "title" else max(15, 15 * lines)
                row_no += 1
        elif isinstance(block, Table):
            expanded = _expand(block, ctx)
            placed = grid_positions([r for r, _ in expanded], block.columns)
            header_end = row_no - 1
            for (row, rctx), line in zip(expanded, placed):
                if row.header:
                    header_end = row_no
                for c, cell in line:
                    text = _plain(fill(cell.text, rctx))
                    value, fmt = typed(text) if not row.header else (text, None)
                    xc = ws.cell(row=row_no, column=c + 1, value=value if value != "" else None)
                    if isinstance(value, str) and value:
                        xc.data_type = "s"
                    if fmt:
                        xc.number_format = fmt
                    xc.alignment = Alignment(horizontal=cell.align if cell.align != "justify" else "left",
                                             vertical="center", wrap_text=True)
                    xc.font = Font(name="宋体", size=10, bold=row.header)
                    rs = max(cell.rowspan, 1)
                    if block.border:
                        for dr in range(rs):
                            for dc in range(cell.colspan):
                                ws.cell(row=row_no + dr, column=c + 1 + dc).border = Border(
                                    left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
                    if rs > 1 or cell.colspan > 1:
                        ws.merge_cells(start_row=row_no, start_column=c + 1,
                                       end_row=row_no + rs - 1, end_column=c + cell.colspan)
                ws.row_dimensions[row_no].height = max(15, row.height * 2.83)
                row_no += 1
            if header_end >= 1:
                ws.print_title_rows = f"1:{header_end}"
            total = sum(block.widths)
            for i, w in enumerate(block.widths):
                letter = get_column_letter(i + 1)
                width = w / total * (260 if layout.landscape else 175) / 2.0
                ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, round(width, 1))
            row_no += 1
    ws.page_setup.orientation = "landscape" if layout.landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0
    wb.properties.creator = "docgen"
    wb.properties.created = wb.properties.modified = dt.datetime(2020, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())
