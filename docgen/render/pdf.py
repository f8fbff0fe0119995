"""Layout -> PDF with reportlab (platypus).

Deterministic output: reportlab's invariant mode (fixed dates and IDs), fixed metadata.
Fonts are embedded as subsets; each text run is split over the role's faces so a rare
character missing from the primary face is taken from the substitute, and a character
no face has raises ``MissingGlyph``.
"""
from __future__ import annotations

import html
from functools import lru_cache
from dataclasses import replace
import io
import re

from reportlab import rl_config
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import Flowable, KeepTogether, PageBreak as RLPageBreak, Paragraph, SimpleDocTemplate
from reportlab.platypus import Spacer as RLSpacer, Table as RLTable, TableStyle
from reportlab.platypus import paragraph as _rl_paragraph
from reportlab.platypus.paragraph import ParaLines, cjkU, makeCJKParaLine
from reportlab.platypus.doctemplate import LayoutError
from reportlab.rl_config import _FUZZ

from ..documents.layout import Cell, Layout, Loop, PageBreak, Para, Row, Spacer, Table, eval_items, fill, para_texts
from ..errors import DocgenError
from . import objstreams
from .fonts import rl_font, split_runs

rl_config.invariant = 1
rl_config.useA85 = 0  # binary streams: ASCII85 only makes every page stream 25 % larger

_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT, "justify": TA_JUSTIFY}
_TAG = re.compile(r"(<u>|</u>|<br/>)")


@lru_cache(maxsize=None)
def _nbsp_per_em(font: str) -> int:
    """How many no-break spaces are as wide as one ideographic space (U+3000) in ``font``."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    nb = stringWidth("\u00a0", font, 10)
    return max(1, round(stringWidth("\u3000", font, 10) / nb)) if nb else 1


def rich(text: str, role: str, context: str = "") -> str:
    """Escaped, marked-up text -> reportlab paragraph markup with per-run fonts."""
    out = []
    for part in _TAG.split(text.replace("\r\n", "\n").replace("\n", "<br/>")):
        if not part:
            continue
        if _TAG.fullmatch(part):
            out.append(part)
            continue
        plain = html.unescape(part)
        for font, run in split_runs(plain, role, context):
            if "\u3000" in run:  # reportlab collapses ideographic spaces: blanks would vanish
                run = run.replace("\u3000", "\u00a0" * _nbsp_per_em(font))
            esc = html.escape(run, quote=False).replace("  ", " &nbsp;")
            out.append(f'<font name="{font}">{esc}</font>')
    return "".join(out)


# Line-breaking rules of Chinese typesetting (GB/T 15834, 禁则): closing punctuation never
# starts a line, opening punctuation never ends one, "——" and "……" are never split.
CANNOT_START = frozenset(
    "，。、；：？！）》」』”’〉】〕］｝〗〞·%‰℃°′″～,.;:?!)]}"
    "\uff09\uff3d\uff5d\uff05\u2030\u3009\u300b\u300d\u300f\u3011\u3015\u3017")
CANNOT_END = frozenset("（《「『“‘〈【〔［｛〖〝([{$￥#@§")
_UNSPLITTABLE = frozenset("…—")


def _word_char(ch: str) -> bool:
    """A character of a Latin word or number (an ID number, a date): not broken inside."""
    return "!" <= ch <= "~"


def _break_allowed(U, b: int) -> bool:
    """May a line end before ``U[b]``?"""
    prev, nxt = U[b - 1], U[b]
    if nxt in CANNOT_START or prev in CANNOT_END:
        return False
    if prev == nxt and prev in _UNSPLITTABLE:
        return False
    return not (_word_char(prev) and _word_char(nxt))


def _kinsoku_split(frags, maxWidths, calcBounds: bool, char_space: float, justify: bool) -> ParaLines:
    """reportlab's ``cjkFragSplit`` with the line-breaking rules and character spacing.

    Every glyph advances by its width plus ``char_space``. A line that overflows ends at the
    last allowed break (pulling the offending characters down to the next line); only when
    there is none does a closing mark hang in the margin. In a justified paragraph every full line is stretched to the measure by extra character
    spacing (PDF ``Tc``): CJK text has no word spaces for reportlab to widen.
    """
    U = []
    for f in frags:
        text = f.text.decode("utf8") if isinstance(f.text, bytes) else f.text
        U.extend(cjkU(t, f, "utf8") for t in text) if text else U.append(cjkU(text, f, "utf8"))
    widths = [u.width + (char_space if u else 0.0) for u in U]
    lines = []

    def emit(start: int, end: int, max_w: float, hard: bool) -> None:
        used = sum(widths[start:end])
        line = makeCJKParaLine(U[start:end], max_w, used, max_w - used, hard, calcBounds)
        cs = char_space
        visible = sum(1 for u in U[start:end] if u)
        if justify and not hard and end < len(U) and visible > 1 and line.extraSpace > 0:
            cs += line.extraSpace / (visible - 1)
            line.extraSpace = 0.0
        line._char_space = cs
        lines.append(line)

    n = len(U)
    i = start = 0
    used = 0.0
    while i < n:
        max_w = maxWidths[min(len(lines), len(maxWidths) - 1)]
        u = U[i]
        if hasattr(u.frag, "lineBreak"):
            emit(start, i + 1, max_w, True)
            i = start = i + 1
            used = 0.0
            continue
        used += widths[i]
        if used <= max_w + _FUZZ or i == start:
            i += 1
            continue
        # U[i] overflows: find where to end the line
        end = None
        for b in range(i, start, -1):
            if _break_allowed(U, b):
                end = b
                break
        if end is None:
            end = i + 1 if (u in CANNOT_START and (i + 1 >= n or _break_allowed(U, i + 1))) else i
        emit(start, end, max_w, False)
        i = start = end
        used = 0.0
    if start < n:
        emit(start, n, maxWidths[min(len(lines), len(maxWidths) - 1)], False)
    return ParaLines(kind=1, lines=lines)


class CJKParagraph(Paragraph):
    """A CJK paragraph that obeys the Chinese line-breaking rules.

    Lines are always broken by ``_kinsoku_split`` (reportlab's own CJK wrap knows only a
    few Japanese marks and lets "，" start a line or "（" end one). The style may carry
    ``cjkCharSpace`` (pt added to every glyph's advance). When ``split`` over a page has
    already computed the lines of a half, they are kept (re-wrapping them crashed at draw
    time: 'FragLine' object is not subscriptable).
    """

    def breakLinesCJK(self, maxWidths):
        if getattr(self, "_splitpara", 0) and getattr(self, "blPara", None) is not None:
            return self.blPara
        if not isinstance(maxWidths, (list, tuple)):
            maxWidths = [maxWidths]
        # a table wraps every cell at least twice at the same width (sizing, then drawing):
        # the lines depend on the widths only, so break them once
        memo = getattr(self, "_docgen_lines", None)
        key = tuple(maxWidths)
        if memo is not None and memo[0] == key:
            self.height = 0
            return memo[1]
        lines = self._break_cjk(maxWidths)
        self._docgen_lines = (key, lines)
        return lines

    def _break_cjk(self, maxWidths):
        style = self.style
        self.height = 0
        frags = self.frags
        if not frags:
            return ParaLines(kind=0, fontSize=style.fontSize, fontName=style.fontName,
                             textColor=style.textColor, lines=[], ascent=style.fontSize,
                             descent=-0.2 * style.fontSize)
        auto = getattr(self, "autoLeading", getattr(style, "autoLeading", ""))
        return _kinsoku_split(frags, maxWidths, auto not in ("", "off"),
                              getattr(style, "cjkCharSpace", 0.0), style.alignment == TA_JUSTIFY)

    def _get_split_blParaFunc(self):
        if self.blPara.kind == 1:
            return _split_cjk_lines
        return super()._get_split_blParaFunc()


def _split_cjk_lines(blPara, start: int, stop: int) -> list:
    """The fragments of lines ``start:stop``, for the halves of a split paragraph.

    reportlab's ``_split_blParaHard`` appends a space to the last word of every line (right
    for Latin words, wrong for CJK: stray spaces, a narrower measure after a page break) and
    does it in place, in the first half's lines too.
    """
    return [w.clone() for line in blPara.lines[start:stop] for w in line.words]


def _with_char_space(draw_line):
    """Wrap a reportlab line-drawing function: apply the line's character spacing (``Tc``)
    and make the canvas measure text with it, so underlines span the spaced glyphs."""
    if getattr(draw_line, "_docgen_char_space", False):
        return draw_line

    def wrapper(tx, offset, line, last=0):
        cs = getattr(line, "_char_space", 0.0)
        if not cs:
            return draw_line(tx, offset, line, last)
        canv = tx._canvas
        measure = canv.stringWidth
        canv.stringWidth = lambda text, font, size: measure(text, font, size) + cs * len(text)
        tx.setCharSpace(cs)
        try:
            return draw_line(tx, offset, line, last)
        finally:
            tx.setCharSpace(0)
            del canv.stringWidth

    wrapper._docgen_char_space = True
    return wrapper


for _name in ("_leftDrawParaLineX", "_centerDrawParaLineX", "_rightDrawParaLineX", "_justifyDrawParaLineX"):
    setattr(_rl_paragraph, _name, _with_char_space(getattr(_rl_paragraph, _name)))


class MinHeight(Flowable):
    """A cell flowable that is at least ``min_h`` high, content vertically aligned."""

    def __init__(self, inner: Flowable, min_h: float, valign: str):
        super().__init__()
        self.inner = inner
        self.min_h = min_h
        self.valign = valign
        self._ih = 0.0

    def wrap(self, aw, ah):
        w, h = self.inner.wrap(aw, ah)
        self._ih = h
        self.width = w
        return w, max(h, self.min_h)

    def draw(self):
        h = max(self._ih, self.min_h)
        if self.valign == "top":
            y = h - self._ih
        elif self.valign == "bottom":
            y = 0
        else:
            y = (h - self._ih) / 2
        self.inner.drawOn(self.canv, 0, y)

    def split(self, aw, ah):
        return []


def _para_style(role: str, size: float, align: str, leading: float | None = None,
                indent_chars: float = 0.0, char_space: float = 0.0) -> ParagraphStyle:
    style = ParagraphStyle(
        name=f"{role}-{size}-{align}", fontName=rl_font(role), fontSize=size,
        leading=leading or size * 1.35, alignment=_ALIGN[align], wordWrap="CJK",
        firstLineIndent=indent_chars * (size + char_space), allowWidows=1, allowOrphans=1)
    style.cjkCharSpace = char_space
    return style


def _expand(table: Table, ctx: dict) -> list[tuple[Row, dict]]:
    """Rows with loops unrolled; a cell with ``rowspan=-1`` spans through the next loop."""
    rows: list[tuple[Row, dict]] = []
    items = table.rows
    for i, item in enumerate(items):
        if isinstance(item, Loop):
            for value in eval_items(item.items, ctx, item.min_rows):
                rows.append((item.row, {**ctx, item.var: value}))
            continue
        if any(c.rowspan == -1 for c in item.cells):
            nxt = items[i + 1] if i + 1 < len(items) else None
            n = len(eval_items(nxt.items, ctx, nxt.min_rows)) if isinstance(nxt, Loop) else 0
            item = Row([replace(c, rowspan=1 + n) if c.rowspan == -1 else c for c in item.cells],
                       item.height, item.header)
        rows.append((item, ctx))
    return rows


def grid_positions(rows: list[Row], ncols: int) -> list[list[tuple[int, Cell]]]:
    """Column index of every cell, honouring row and column spans (HTML table rules)."""
    occupied: set[tuple[int, int]] = set()
    placed: list[list[tuple[int, Cell]]] = []
    for r, row in enumerate(rows):
        c = 0
        line = []
        for cell in row.cells:
            span = max(cell.rowspan, 1)
            while (r, c) in occupied:
                c += 1
            if c + cell.colspan > ncols:
                raise ValueError(f"row {r} overflows {ncols} columns")
            line.append((c, cell))
            for dr in range(span):
                for dc in range(cell.colspan):
                    occupied.add((r + dr, c + dc))
            c += cell.colspan
        placed.append(line)
    return placed


def _cell_para(cell: Cell, rctx: dict, table: Table, context: str) -> Paragraph:
    text = fill(cell.text, rctx)
    size = cell.size or table.size
    role = cell.role if cell.role != "table" else table.role
    return CJKParagraph(rich(text, role, context), _para_style(role, size, cell.align, size * 1.22))


CELL_PAD_X = 2.5 * 2  # left + right padding of a cell, pt
CELL_PAD_Y = 1.5 * 2


def _split_tall_rows(expanded: list[tuple[Row, dict]], table: Table, col_w: list[float], max_h: float,
                     context: str) -> tuple[list[tuple[Row, dict]], dict[int, Flowable]]:
    """Rows whose text is taller than ``max_h`` continue in rows inserted below them (the other
    cells of the row empty there, cells spanning over the row span the new rows too), so that
    reportlab, which never splits a row, can break the table between them. Returns the rows
    and the paragraph part each split cell prints (by ``id`` of the cell)."""
    rows = [Row([replace(c) for c in row.cells], row.height, row.header) for row, _ in expanded]
    ctxs = [rctx for _, rctx in expanded]
    parts: dict[int, Flowable] = {}
    r = 0
    while r < len(rows):
        placed = grid_positions(rows, table.columns)
        tall = None
        if not rows[r].header:
            for c, cell in placed[r]:
                if cell.rowspan > 1:
                    continue
                width = sum(col_w[c:c + cell.colspan]) - CELL_PAD_X
                para = parts.get(id(cell)) or _cell_para(cell, ctxs[r], table, context)
                if para.wrap(width, 1e9)[1] > max_h:
                    tall = (cell, para, width)
                    break
        if tall is None:
            r += 1
            continue
        cell, para, width = tall
        pieces = para.split(width, max_h)
        if len(pieces) < 2:
            break  # nothing to split: reportlab reports the row
        # the continuation row: the rest of the text under the split cell, empty cells
        # elsewhere. reportlab breaks a table only between rows that no span crosses, so a
        # cell spanning over this row is cut around it: it ends above this row (or with it,
        # if it starts here), and empty cells fill its column in this row, in the
        # continuation row and over the rows it spanned below
        lines = [list(line) for line in placed]
        cont = []
        for rr in range(r + 1):
            for col, other in placed[rr]:
                end = rr + max(other.rowspan, 1) - 1
                if end < r:
                    continue
                if other is cell:
                    new = replace(other, valign="top")
                    other.valign = "top"
                    parts[id(other)], parts[id(new)] = pieces[0], pieces[1]
                    cont.append((col, new))
                    continue
                blank = replace(other, text="", rowspan=1)
                cont.append((col, blank))
                if rr < r:
                    other.rowspan = r - rr
                    lines[r].append((col, replace(blank)))
                else:
                    other.rowspan = 1
                if end > r:
                    lines[r + 1].append((col, replace(blank, rowspan=end - r)))
        for k in (r, r + 1):
            if k < len(rows):
                rows[k] = Row([c for _, c in sorted(lines[k], key=lambda x: x[0])], rows[k].height, rows[k].header)
        rows.insert(r + 1, Row([c for _, c in sorted(cont, key=lambda x: x[0])], 0, False))
        ctxs.insert(r + 1, ctxs[r])
        r += 1
    return list(zip(rows, ctxs)), parts


def _table(table: Table, ctx: dict, frame_width: float, context: str, max_row_h: float | None = None) -> RLTable:
    """The reportlab table. ``max_row_h`` (pt): rows taller than this continue in rows below
    (``_split_tall_rows``); only used when the table cannot be laid out with whole rows."""
    expanded = _expand(table, ctx)
    total = sum(table.widths)
    col_w = [w / total * frame_width for w in table.widths]
    parts: dict[int, Flowable] = {}
    if max_row_h is not None:
        expanded, parts = _split_tall_rows(expanded, table, col_w, max_row_h, context)
    rows = [r for r, _ in expanded]
    ncols = table.columns
    placed = grid_positions(rows, ncols)
    data = [["" for _ in range(ncols)] for _ in rows]
    style = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("FONTNAME", (0, 0), (-1, -1), rl_font(table.role)),
             ("LEFTPADDING", (0, 0), (-1, -1), 2.5), ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
             ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]
    if table.border:
        style.append(("GRID", (0, 0), (-1, -1), 0.6, "black"))
    for r, ((row, rctx), line) in enumerate(zip(expanded, placed)):
        for c, cell in line:
            para = parts.get(id(cell)) or _cell_para(cell, rctx, table, context)
            min_h = row.height * mm - 3 if cell.rowspan == 1 else 0
            data[r][c] = MinHeight(para, max(min_h, 0), cell.valign)
            if cell.rowspan > 1 or cell.colspan > 1:
                style.append(("SPAN", (c, r), (c + cell.colspan - 1, r + cell.rowspan - 1)))
            if cell.valign != "middle":
                style.append(("VALIGN", (c, r), (c, r), cell.valign.upper()))
    header_rows = 0
    for row, _ in expanded:
        if not row.header:
            break
        header_rows += 1
    t = RLTable(data, colWidths=col_w, repeatRows=header_rows, style=TableStyle(style), hAlign="CENTER")
    return t


def document_canvas(buf, pagesize, role: str = "table") -> rl_canvas.Canvas:
    """A canvas for a form drawn directly (not from a layout): deterministic, compressed,
    written with object streams, and no reference to a non-embedded base font."""
    canv = rl_canvas.Canvas(buf, pagesize=pagesize, invariant=1, pageCompression=1, initialFontName=rl_font(role))
    objstreams.enable(canv)
    return canv


def _numbered_canvas(page_numbers: bool, footer: str, context: str):
    class NumberedCanvas(rl_canvas.Canvas):
        def __init__(self, *args, **kwargs):
            kwargs["invariant"] = 1
            kwargs["initialFontName"] = rl_font("table")  # never reference a non-embedded base font
            super().__init__(*args, **kwargs)
            objstreams.enable(self)
            self._saved = []

        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            w, _ = self._pagesize
            y = 9 * mm
            if page_numbers:
                self._draw_centred(w / 2, y, f"第 {self._pageNumber} 页 共 {total} 页", 9)
            if footer:
                self._draw_centred(w / 2, y - 4.2 * mm if page_numbers else y, footer, 7.5)

        def _draw_centred(self, x: float, y: float, text: str, size: float) -> None:
            from reportlab.pdfbase.pdfmetrics import stringWidth

            runs = split_runs(text, "table", context)
            width = sum(stringWidth(t, f, size) for f, t in runs)
            cx = x - width / 2
            for font, run in runs:
                self.setFont(font, size)
                self.drawString(cx, y, run)
                cx += stringWidth(run, font, size)

    return NumberedCanvas


def render_pdf(layout: Layout, ctx: dict, context: str = "") -> bytes:
    """Render a layout with its view to PDF bytes. ``context`` names the record in errors.

    Table rows are never split across pages. When a cell's text is taller than a page, the
    document is laid out again with such rows continued in rows below them; what still does
    not fit is reported (``DocgenError``, in Chinese) instead of reportlab's LayoutError."""
    try:
        return _render_pdf(layout, ctx, context)
    except (LayoutError, TypeError):  # reportlab 5.1 fails with a TypeError while describing
        pass                          # some of the tables it cannot lay out
    try:  # a text taller than a page: such rows continue in rows below (other documents unchanged)
        return _render_pdf(layout, ctx, context, split_tall_rows=True)
    except LayoutError:
        raise DocgenError("某一栏的文字太长，一页之内排不下（表格的一行不跨页），无法生成 PDF；"
                          "请精简该栏内容或分成几条记录后重新生成") from None


def _render_pdf(layout: Layout, ctx: dict, context: str, split_tall_rows: bool = False) -> bytes:
    pagesize = landscape(A4) if layout.landscape else A4
    top, right, bottom, left = (m * mm for m in layout.margins)
    buf = io.BytesIO()
    # reportlab frames pad their content by 6 pt: widen the frame by as much, so that text
    # starts and ends exactly at the layout's margins (GB/T 9704 type area for agreements)
    pad = 6.0
    doc = SimpleDocTemplate(
        buf, pagesize=pagesize, topMargin=top - pad, rightMargin=right - pad, bottomMargin=bottom - pad,
        leftMargin=left - pad,
        title=layout.doc_title or "docgen", author="docgen", subject="后续照管工作规范 表单",
        creator="docgen", producer="docgen", invariant=1, pageCompression=1)
    frame_width = pagesize[0] - left - right
    parts: list[tuple[object, list]] = []  # (block, its flowables)
    for block in layout.blocks:
        story: list = []
        parts.append((block, story))
        if isinstance(block, Para):
            style = _para_style(block.role, block.size, block.align, block.leading, block.indent, block.char_space)
            texts = para_texts(block, ctx)
            story.extend(CJKParagraph(rich(text, block.role, context), style) for text in texts)
            if texts and block.space_before:
                story.insert(0, RLSpacer(1, block.space_before * mm))
            if texts and block.space_after:
                story.append(RLSpacer(1, block.space_after * mm))
        elif isinstance(block, Table):
            max_row_h = None
            if split_tall_rows:  # the text area less the repeated header rows and some room
                header_h = sum(r.height * mm for r in block.rows if isinstance(r, Row) and r.header)
                max_row_h = pagesize[1] - top - bottom - header_h - 3 * block.size - CELL_PAD_Y
            t = _table(block, ctx, frame_width, context, max_row_h)
            story.append(KeepTogether([t]) if block.keep else t)
        elif isinstance(block, Spacer):
            story.append(RLSpacer(1, block.height * mm))
        elif isinstance(block, PageBreak):
            story.append(RLPageBreak())
    story = []
    kept: list | None = None  # a paragraph kept with the next block, and the spacers after it
    for block, flowables in parts:
        if kept is not None:
            kept.extend(flowables)
            if not isinstance(block, Spacer):
                story.append(KeepTogether(kept))
                kept = None
        elif isinstance(block, Para) and block.keep_with_next:
            kept = list(flowables)
        else:
            story.extend(flowables)
    story.extend(kept or [])  # kept with a next block that never came
    doc.build(story, canvasmaker=_numbered_canvas(layout.page_numbers, layout.footer, context))
    return buf.getvalue()
