"""Glyph outlines of a sign's text, taken from the font file with fontTools.

Signs carry no fonts: every character becomes a path. A glyph's contours are read in font
units, overlaps are removed with skia-pathops (clean outlines for engraving tools and for
cutting holes into a background), and quadratic segments (TrueType fonts) become cubic
ones, so every consumer only sees ``moveTo`` / ``lineTo`` / ``curveTo`` / ``close``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from fontTools.pens.basePen import BasePen

from ..errors import DocgenError
from ..render.fonts import Face, MissingGlyph, RoleFont, role_font

# A segment: ("M", (x, y)) | ("L", (x, y)) | ("C", (x1, y1), (x2, y2), (x3, y3)) | ("Z",)
Segment = tuple
Contour = list[Segment]


class _SegmentPen(BasePen):
    """Records contours as M/L/C/Z segments; BasePen turns quadratic curves into cubic ones."""

    def __init__(self):
        super().__init__(None)
        self.contours: list[Contour] = []
        self._current: Contour | None = None

    def _moveTo(self, pt):
        self._current = [("M", tuple(pt))]
        self.contours.append(self._current)

    def _lineTo(self, pt):
        self._current.append(("L", tuple(pt)))

    def _curveToOne(self, p1, p2, p3):
        self._current.append(("C", tuple(p1), tuple(p2), tuple(p3)))

    def _closePath(self):
        if self._current is not None:
            self._current.append(("Z",))
        self._current = None

    def _endPath(self):  # an open contour is closed: a sign has only filled shapes
        self._closePath()


@dataclass(frozen=True)
class GlyphOutline:
    char: str
    name: str  # glyph name in the font
    advance: int  # horizontal advance, font units
    contours: tuple  # tuple of contours (tuples of segments), font units, overlaps removed
    bounds: tuple[float, float, float, float] | None  # xMin, yMin, xMax, yMax, font units


class FontOutlines:
    """One face opened with fontTools: glyph outlines by character, vertical forms, em box."""

    def __init__(self, face: Face):
        from fontTools.ttLib import TTFont

        self.face = face
        try:
            collection = face.path.lower().endswith((".ttc", ".otc"))
            self.font = TTFont(face.path, fontNumber=face.index if collection else -1, lazy=True)
            self.glyph_set = self.font.getGlyphSet()
            self.cmap = self.font.getBestCmap() or {}
        except Exception as exc:  # unreadable font file
            raise DocgenError(f"字体文件 {face.path} 无法读取：{exc}") from None
        self.upm = self.font["head"].unitsPerEm
        self.em_bottom = self._em_bottom()
        self.em_top = self.em_bottom + self.upm
        self._vert = None

    def _em_bottom(self) -> float:
        """Bottom of the ideographic em box (font units): OS/2 typo descender when the typo
        ascender and descender span exactly one em (CJK fonts), else hhea scaled to one em."""
        os2 = self.font["OS/2"] if "OS/2" in self.font else None
        if os2 is not None and os2.sTypoAscender - os2.sTypoDescender == self.upm:
            return float(os2.sTypoDescender)
        hhea = self.font["hhea"]
        span = hhea.ascent - hhea.descent
        return hhea.descent * self.upm / span if span > 0 else -0.12 * self.upm

    def has(self, char: str) -> bool:
        return ord(char) in self.cmap

    def vertical_forms(self) -> dict[str, str]:
        """Glyph substitutions of the 'vert' feature (single substitutions), for columns."""
        if self._vert is not None:
            return self._vert
        mapping: dict[str, str] = {}
        if "GSUB" in self.font:
            table = self.font["GSUB"].table
            lookups: list[int] = []
            if table.ScriptList and table.FeatureList:
                for rec in table.ScriptList.ScriptRecord:
                    if rec.ScriptTag in ("hani", "DFLT") and rec.Script.DefaultLangSys is not None:
                        for fi in rec.Script.DefaultLangSys.FeatureIndex:
                            feature = table.FeatureList.FeatureRecord[fi]
                            if feature.FeatureTag == "vert":
                                lookups.extend(feature.Feature.LookupListIndex)
                        break
            for li in dict.fromkeys(lookups):
                lookup = table.LookupList.Lookup[li]
                for sub in lookup.SubTable:
                    if lookup.LookupType == 7:
                        sub = sub.ExtSubTable
                    if getattr(sub, "mapping", None):
                        for src, dst in sub.mapping.items():
                            mapping.setdefault(src, dst)
        self._vert = mapping
        return mapping

    @lru_cache(maxsize=512)
    def glyph(self, char: str, vertical: bool = False) -> GlyphOutline:
        import pathops

        name = self.cmap[ord(char)]
        if vertical:
            name = self.vertical_forms().get(name, name)
        path = pathops.Path()
        self.glyph_set[name].draw(path.getPen(glyphSet=self.glyph_set))
        path.simplify(fix_winding=True, keep_starting_points=True)
        pen = _SegmentPen()
        path.draw(pen)
        contours = tuple(tuple(c) for c in pen.contours)
        bounds = path.bounds if contours else None
        advance = self.font["hmtx"][name][0]
        return GlyphOutline(char, name, advance, contours, tuple(bounds) if bounds else None)


@lru_cache(maxsize=8)
def outlines_for(face: Face) -> FontOutlines:
    return FontOutlines(face)


@dataclass(frozen=True)
class SignFont:
    """The faces a sign role uses: the primary face, and a fallback for characters it lacks."""

    role: RoleFont
    primary: FontOutlines
    fallback: FontOutlines | None

    def outlines(self, char: str, context: str) -> FontOutlines:
        if self.primary.has(char):
            return self.primary
        if self.fallback is not None and self.fallback.has(char):
            return self.fallback
        raise MissingGlyph(char, self.role.role, context)


def sign_font(role: str) -> SignFont:
    rf = role_font(role)
    fallback = outlines_for(rf.fallback) if rf.fallback is not None and rf.fallback != rf.face else None
    return SignFont(rf, outlines_for(rf.face), fallback)


def union(contours: list[Contour]) -> list[Contour]:
    """The union of contours (overlaps removed), e.g. all letters of a sign cut out of a background."""
    import pathops

    path = pathops.Path()
    pen = path.getPen()
    for contour in contours:
        for seg in contour:
            if seg[0] == "M":
                pen.moveTo(seg[1])
            elif seg[0] == "L":
                pen.lineTo(seg[1])
            elif seg[0] == "C":
                pen.curveTo(*seg[1:])
            else:
                pen.closePath()
    path.simplify(fix_winding=True, keep_starting_points=True)
    out = _SegmentPen()
    path.draw(out)
    return out.contours
