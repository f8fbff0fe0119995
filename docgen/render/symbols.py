"""Check-box glyphs the CJK faces lack: ☐ U+2610, ☑ U+2611, ☒ U+2612.

Noto Serif/Sans CJK have □ but not the ballot boxes that forms print for choices
(form X3 ticks one of the five grounds of 5.3). Rather than depend on whatever
symbol font a machine happens to have, docgen draws the three boxes itself as a tiny
TrueType font built in memory with fontTools (same bytes on every machine) and adds
it as the last fallback of every font role, so the boxes are real text: they are
extracted and searched like any other character.

Glyphs are full-width (1000 units, like the ideographs) and sit on the ideographic
centre line (ascent 880, descent -120, as in Noto CJK).
"""
from __future__ import annotations

import io
from functools import lru_cache

FONT_NAME = "DocgenSymbols"
BOX, BOX_CHECKED, BOX_CROSSED = "\u2610", "\u2611", "\u2612"
CHARS = {0x2610: "box", 0x2611: "boxcheck", 0x2612: "boxcross"}

ADVANCE = 1000
ASCENT, DESCENT = 880, -120
# the square: 740 units wide, centred on x = 500 and on the ideographic centre y = 380
LEFT, RIGHT, BOTTOM, TOP = 130, 870, 10, 750
STROKE = 55
SPACE_ADVANCE = 224  # as in Noto CJK


def _area(points: list[tuple[int, int]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1])) / 2


def _contour(pen, points: list[tuple[int, int]], clockwise: bool) -> None:
    """Draw a closed polygon with the given orientation (y up: clockwise = filled outer)."""
    if (_area(points) < 0) != clockwise:
        points = list(reversed(points))
    pen.moveTo(points[0])
    for p in points[1:]:
        pen.lineTo(p)
    pen.closePath()


def _square(pen) -> None:
    outer = [(LEFT, BOTTOM), (LEFT, TOP), (RIGHT, TOP), (RIGHT, BOTTOM)]
    s = STROKE
    inner = [(LEFT + s, BOTTOM + s), (LEFT + s, TOP - s), (RIGHT - s, TOP - s), (RIGHT - s, BOTTOM + s)]
    _contour(pen, outer, clockwise=True)
    _contour(pen, inner, clockwise=False)


def _bar(x0: float, y0: float, x1: float, y1: float, width: float) -> list[tuple[int, int]]:
    """A straight stroke from (x0, y0) to (x1, y1) as a quadrilateral."""
    dx, dy = x1 - x0, y1 - y0
    length = (dx * dx + dy * dy) ** 0.5
    nx, ny = -dy / length * width / 2, dx / length * width / 2
    return [(round(x0 + nx), round(y0 + ny)), (round(x1 + nx), round(y1 + ny)),
            (round(x1 - nx), round(y1 - ny)), (round(x0 - nx), round(y0 - ny))]


def _glyphs() -> dict:
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    out = {}
    pen = TTGlyphPen(None)
    out[".notdef"] = pen.glyph()
    out["space"] = TTGlyphPen(None).glyph()
    pen = TTGlyphPen(None)
    _square(pen)
    out["box"] = pen.glyph()
    pen = TTGlyphPen(None)
    _square(pen)
    # a tick: short arm down to the vertex, long arm up to the right (inside the square)
    _contour(pen, _bar(250, 400, 445, 190, 95), clockwise=True)
    _contour(pen, _bar(410, 205, 760, 640, 95), clockwise=True)
    out["boxcheck"] = pen.glyph()
    pen = TTGlyphPen(None)
    _square(pen)
    _contour(pen, _bar(260, 140, 740, 620, 80), clockwise=True)
    _contour(pen, _bar(260, 620, 740, 140, 80), clockwise=True)
    out["boxcross"] = pen.glyph()
    return out


@lru_cache(maxsize=1)
def font_bytes() -> bytes:
    """The symbol font as TrueType bytes (deterministic: fixed dates, fixed glyphs)."""
    from fontTools.fontBuilder import FontBuilder

    fb = FontBuilder(1000, isTTF=True)
    order = [".notdef", "space", *CHARS.values()]
    fb.setupGlyphOrder(order)
    # a space that follows a box is set in this font too (fonts.split_runs): give it a glyph
    fb.setupCharacterMap({0x20: "space", **CHARS})
    glyphs = _glyphs()
    fb.setupGlyf(glyphs)
    metrics = {}
    glyf = fb.font["glyf"]
    for name in order:
        g = glyf[name]
        advance = SPACE_ADVANCE if name == "space" else ADVANCE
        metrics[name] = (advance, getattr(g, "xMin", 0) if g.numberOfContours else 0)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=ASCENT, descent=DESCENT)
    fb.setupNameTable({"familyName": "docgen Symbols", "styleName": "Regular",
                       "uniqueFontIdentifier": "docgen Symbols Regular 1.0",
                       "fullName": "docgen Symbols Regular", "psName": "DocgenSymbols-Regular",
                       "version": "Version 1.000"})
    fb.setupOS2(sTypoAscender=ASCENT, sTypoDescender=DESCENT, sTypoLineGap=0, usWinAscent=ASCENT,
                usWinDescent=-DESCENT, fsType=0, achVendID="DGEN")
    fb.setupPost()
    head = fb.font["head"]
    head.created = head.modified = 3_600_000_000  # fixed timestamp (2018): same bytes everywhere
    buf = io.BytesIO()
    fb.save(buf)
    return buf.getvalue()


@lru_cache(maxsize=1)
def symbol_font() -> tuple[str, frozenset]:
    """Register the symbol font with reportlab: (font name, code points it covers)."""
    from reportlab.pdfbase import pdfmetrics
    from .cidfont import CIDTTFont

    pdfmetrics.registerFont(CIDTTFont(FONT_NAME, io.BytesIO(font_bytes())))
    return FONT_NAME, frozenset(CHARS)
