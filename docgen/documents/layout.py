"""A small layout language for the forms of the standard.

A form module describes its page once, as a ``Layout`` of blocks (paragraphs, grid tables
with merged cells, row loops, spacers). Texts are Jinja templates over the form's view
(a dict of display strings). From the one description:

* ``render.pdf`` draws the PDF with reportlab (data filled in),
* ``render.docx`` writes the DOCX *template* (``templates/<FORM>.docx``, Jinja tags kept)
  that docxtpl fills for the editable DOCX.

Inline markup in texts: ``<u>…</u>`` underline (blanks to fill in), ``<b>…</b>`` bold,
``<br/>`` line break. Data values may contain newlines; they become line breaks.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import jinja2
from markupsafe import Markup

FULL_SPACE = "\u3000"


@dataclass
class Cell:
    text: str = ""
    colspan: int = 1
    rowspan: int = 1
    align: str = "center"  # left | center | right
    valign: str = "middle"  # top | middle | bottom
    role: str = "table"
    size: float | None = None  # pt; default: the table's size


def L(text: str, colspan: int = 1, rowspan: int = 1, **kw) -> Cell:
    """A label cell (printed text of the form)."""
    return Cell(text, colspan, rowspan, **kw)


def V(expr: str, colspan: int = 1, rowspan: int = 1, align: str = "left", **kw) -> Cell:
    """A value cell filled from the view: ``V("p.name")`` prints ``{{ p.name }}``."""
    return Cell("{{ %s }}" % expr, colspan, rowspan, align=align, **kw)


@dataclass
class Row:
    cells: list[Cell]
    height: float = 8.0  # minimum height, mm; the row grows when its text needs more
    header: bool = False  # repeated at the top of every page


@dataclass
class Loop:
    """One row per item of ``items`` (a Jinja expression), at least ``min_rows`` rows."""

    var: str
    items: str
    row: Row
    min_rows: int = 0


@dataclass
class Table:
    widths: list[float]  # relative column widths
    rows: list[Union[Row, Loop]]
    size: float = 10.5  # pt
    border: bool = True
    role: str = "table"
    keep: bool = False  # never split across pages (e.g. a signature block)

    @property
    def columns(self) -> int:
        return len(self.widths)


@dataclass
class Para:
    text: str
    align: str = "left"  # left | center | right | justify
    role: str = "body"
    size: float = 12.0
    leading: float | None = None  # pt, default 1.5 x size
    indent: float = 0.0  # first-line indent in characters
    space_before: float = 0.0  # mm
    space_after: float = 0.0  # mm
    char_space: float = 0.0  # pt added to (negative: taken from) every character's advance
    keep_with_next: bool = False  # on the page of the next block (spacers between them included)
    # repeated: one paragraph per item of this Jinja expression (the item bound to ``var``);
    # no items, no paragraph (a note printed only when there is something to note)
    items: str = ""
    var: str = "item"


def Title(text: str, size: float = 18.0, space_after: float = 4.0) -> Para:
    return Para(text, align="center", role="title", size=size, space_after=space_after)


@dataclass
class Spacer:
    height: float  # mm


@dataclass
class PageBreak:
    pass


Block = Union[Para, Table, Spacer, PageBreak]


@dataclass
class Layout:
    blocks: list[Block]
    landscape: bool = False
    margins: tuple[float, float, float, float] = (20.0, 18.0, 18.0, 18.0)  # top right bottom left, mm
    page_numbers: bool = False  # "第 x 页 共 y 页" in the footer
    footer: str = ""  # fixed footer text (e.g. docgen designs)
    doc_title: str = ""  # PDF metadata title


# --------------------------------------------------------------------------- Jinja


def _blank(value, width: int = 6) -> str:
    """The value, or ``width`` full-width spaces: an underlined blank to write in."""
    text = "" if value is None else str(value)
    if not text:
        return FULL_SPACE * width
    return text


def _pad(items, n: int = 0):
    items = list(items or [])
    return items + [{}] * max(0, n - len(items))


def _finalize(value):
    return "" if value is None else value


def make_env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(autoescape=autoescape, finalize=_finalize, undefined=jinja2.ChainableUndefined,
                             keep_trailing_newline=False)
    env.filters["blank"] = _blank
    env.filters["pad"] = _pad
    return env


_PDF_ENV = make_env(True)
_template_cache: dict[str, jinja2.Template] = {}


def fill(text: str, ctx: dict) -> str:
    """Render a layout text for the PDF: data XML-escaped, markup kept."""
    if "{" not in text:
        return text
    tpl = _template_cache.get(text)
    if tpl is None:
        tpl = _template_cache[text] = _PDF_ENV.from_string(text)
    return str(tpl.render(ctx))


def eval_items(expr: str, ctx: dict, min_rows: int) -> list:
    value = _PDF_ENV.compile_expression(expr)(**ctx)
    return _pad(value, min_rows)


def para_texts(block: Para, ctx: dict) -> list[str]:
    """A paragraph's filled text (``fill``): one per item of ``block.items`` (none without
    items), else the one paragraph."""
    if not block.items:
        return [fill(block.text, ctx)]
    return [fill(block.text, {**ctx, block.var: item}) for item in eval_items(block.items, ctx, 0)]


__all__ = ["Cell", "L", "V", "Row", "Loop", "Table", "Para", "Title", "Spacer", "PageBreak", "Layout",
           "make_env", "fill", "eval_items", "para_texts", "FULL_SPACE", "Markup", "field"]
