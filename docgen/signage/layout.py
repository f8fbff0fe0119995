"""Where each character of a sign goes.

Coordinates are millimetres, y upwards, origin at the lower left corner of the finished
sign (the trim). Lines are laid out on em boxes (the ideographic em box of the font: every
Chinese character fills one em square): each line (column) is centred, and the block of
lines is centred on the sign.

* 铜牌 (plate): the type size is fixed (136 pt, 6.3.1.3). The name is broken at natural
  boundaries: place | 后续照管X站, and when the place is too long, once more inside it
  (省 | 市, 市 | 县(市、区), 县(市、区) | 乡(镇、街道)). When no break fits within the margins the
  sign is refused with a message saying by how much it is too long: never shrunk.
* 插牌 (insert sign): no size is given; the text is set as large as fits with an even margin
  on every side, choosing among one line, two lines and three lines the one with the
  largest type (fewer lines on a tie).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import DocgenError
from ..records.model import Station
from .outline import Contour, FontOutlines, SignFont
from .spec import InsertSpec, PlateSpec, mm_to_pt, pt_to_mm

SUFFIX_LEN = len("后续照管指导站")


class SignTooLarge(DocgenError):
    """The station name does not fit on the sign at the prescribed type size."""


@dataclass
class PlacedGlyph:
    char: str
    contours: list[Contour]  # mm, y up, origin at the trim's lower left corner
    bounds: tuple[float, float, float, float] | None  # ink box, mm
    em_size: float  # mm per em
    font: FontOutlines


@dataclass
class SignLayout:
    kind: str  # "plate" | "insert"
    form: str
    station_id: str
    name: str  # the station name, as printed
    width: float  # finished size, mm
    height: float
    vertical: bool
    lines: list[str]
    em: float  # type size, mm per em
    glyphs: list[PlacedGlyph] = field(default_factory=list)
    margins: tuple[float, float, float, float] = (0, 0, 0, 0)  # left, right, bottom, top, mm (em boxes)
    fallback_chars: list[str] = field(default_factory=list)  # characters set in the fallback face

    @property
    def size_pt(self) -> float:
        return mm_to_pt(self.em)


FIELD_LABELS = (("city", "设区的市"), ("county", "县（市、区）"), ("township", "乡（镇、街道）"), ("name", "名称"))


def check_name(station: Station) -> None:
    """A station name with white space (an ideographic or no-break space typed into the record)
    would be engraved as a gap: refused, naming the field."""
    name = station.display_name
    for i, ch in enumerate(name):
        if ch.isspace():
            fields = [label for attr, label in FIELD_LABELS if ch in (getattr(station, attr) or "")]
            where = f"站点记录的“{fields[0]}”" if fields else "站点记录"
            raise DocgenError(f"站点 {station.id} 的站名“{name}”第 {i + 1} 个字是空格（U+{ord(ch):04X}），"
                              f"标牌上会留出空位。请在{where}中删去空格")


def name_lines(station: Station) -> tuple[list[str], str]:
    """(place parts, suffix): the name's natural boundaries by the naming rules of 6.1."""
    name = station.display_name
    place, suffix = name[:-SUFFIX_LEN], name[-SUFFIX_LEN:]
    if station.kind == "指导站":
        parts = ["江苏省", station.city]
    elif station.kind == "工作站":
        parts = [station.city, station.county or ""]
    else:
        parts = [station.county or "", station.township or ""]
    if "".join(parts) != place or not all(parts):
        parts = [place]
    return parts, suffix


def candidates(station: Station, max_lines: int, one_line: bool) -> list[list[str]]:
    parts, suffix = name_lines(station)
    place = "".join(parts)
    out = [[place + suffix]] if one_line else []
    if max_lines >= 2:
        out.append([place, suffix])
    if max_lines >= 3 and len(parts) == 2:
        out.append([parts[0], parts[1], suffix])
    return out


def _line_em(font: SignFont, line: str, tracking: float, vertical: bool, context: str) -> float:
    """Length of a line (column) in em."""
    if vertical:
        return len(line) + tracking * (len(line) - 1)
    total = 0.0
    for ch in line:
        fo = font.outlines(ch, context)
        total += fo.glyph(ch).advance / fo.upm
    return total + tracking * (len(line) - 1)


def _place(font: SignFont, lines: list[str], em: float, width: float, height: float, gap_em: float,
           tracking_em: float, vertical: bool, context: str) -> tuple[list[PlacedGlyph], tuple, list[str]]:
    gap, tracking = gap_em * em, tracking_em * em
    n = len(lines)
    block = n * em + (n - 1) * gap
    primary = font.primary
    glyphs: list[PlacedGlyph] = []
    fallback: list[str] = []
    extents = [_line_em(font, line, tracking_em, vertical, context) * em for line in lines]

    def put(ch: str, x: float, baseline: float) -> None:
        fo = font.outlines(ch, context)
        if fo is not primary and ch not in fallback:
            fallback.append(ch)
        g = fo.glyph(ch, vertical)
        k = em / fo.upm
        contours = [[(seg[0], *[(x + px * k, baseline + py * k) for px, py in seg[1:]]) for seg in c]
                    for c in g.contours]
        bounds = None
        if g.bounds:
            x0, y0, x1, y1 = g.bounds
            bounds = (x + x0 * k, baseline + y0 * k, x + x1 * k, baseline + y1 * k)
        glyphs.append(PlacedGlyph(ch, contours, bounds, em, fo))

    k0 = em / primary.upm
    if not vertical:
        top = height / 2 + block / 2
        for i, line in enumerate(lines):
            baseline = top - i * (em + gap) - primary.em_top * k0
            x = width / 2 - extents[i] / 2
            for ch in line:
                fo = font.outlines(ch, context)
                put(ch, x, baseline)
                x += fo.glyph(ch).advance * em / fo.upm + tracking
        widest = max(extents)
        margins = ((width - widest) / 2, (width - widest) / 2, (height - block) / 2, (height - block) / 2)
    else:
        right = width / 2 + block / 2
        for i, line in enumerate(lines):
            centre = right - em / 2 - i * (em + gap)
            top = height / 2 + extents[i] / 2
            for j, ch in enumerate(line):
                fo = font.outlines(ch, context)
                advance = fo.glyph(ch, True).advance * em / fo.upm
                put(ch, centre - advance / 2, top - j * (em + tracking) - fo.em_top * em / fo.upm)
        longest = max(extents)
        margins = ((width - block) / 2, (width - block) / 2, (height - longest) / 2, (height - longest) / 2)
    return glyphs, margins, fallback


def _fmt(v: float) -> str:
    return f"{v:.1f}"


def plate_layout(station: Station, spec: PlateSpec, font: SignFont, vertical: bool = False) -> SignLayout:
    check_name(station)
    form = spec.forms[station.kind]
    width, height = (spec.vertical_width, spec.vertical_height) if vertical else (spec.width, spec.height)
    em = pt_to_mm(spec.size_pt)
    gap = spec.line_gap_em * em
    context = f"站点 {station.id} 的铜牌"
    along = height if vertical else width  # the direction a line runs in
    across = width if vertical else height
    avail_along, avail_across = along - 2 * spec.margin, across - 2 * spec.margin
    tried = []
    for lines in candidates(station, spec.max_lines, one_line=False):
        extents = [_line_em(font, line, spec.tracking_em, vertical, context) * em for line in lines]
        block = len(lines) * em + (len(lines) - 1) * gap
        if max(extents) <= avail_along + 1e-9 and block <= avail_across + 1e-9:
            glyphs, margins, fallback = _place(font, lines, em, width, height, spec.line_gap_em,
                                               spec.tracking_em, vertical, context)
            return SignLayout("plate", form, station.id, station.display_name, width, height, vertical,
                              lines, em, glyphs, margins, fallback)
        tried.append((lines, extents, block))
    raise SignTooLarge(_too_large_message(station, spec, vertical, tried, em, font))


def _too_large_message(station: Station, spec: PlateSpec, vertical: bool, tried: list, em: float,
                       font: SignFont) -> str:
    lines, extents, block = tried[-1]  # the most broken layout: the best chance there was
    width, height = (spec.vertical_width, spec.vertical_height) if vertical else (spec.width, spec.height)
    along = height if vertical else width
    across = width if vertical else height
    avail_along, avail_across = along - 2 * spec.margin, across - 2 * spec.margin
    what_line, what_along, what_across = ("列", "高", "宽") if vertical else ("行", "宽", "高")
    sides_along, sides_across = ("上下", "左右") if vertical else ("左右", "上下")
    dim_along = "height" if vertical else "width"
    dim_across = "width" if vertical else "height"
    per_line = int((avail_along + spec.tracking_em * em) // (em * (1 + spec.tracking_em)))
    head = (f"站点 {station.id}（{station.display_name}）的{spec.names[spec.forms[station.kind]]}排不下："
            f"{'标准' if spec.size_rule == '按标准固定' else ''}字号 {spec.size_pt:g} pt（每字 {em:.2f} mm），")
    fixes = []
    worst = max(range(len(lines)), key=lambda i: extents[i])
    if extents[worst] > avail_along + 1e-9:
        over = extents[worst] - avail_along
        head += (f"第 {worst + 1} {what_line}“{lines[worst]}”（{len(lines[worst])} 字）{what_along} "
                 f"{_fmt(extents[worst])} mm，而{what_along} {along:g} mm 的牌面{sides_along}各留 {spec.margin:g} mm "
                 f"边距后只有 {_fmt(avail_along)} mm，超出 {_fmt(over)} mm（每{what_line}最多 {per_line} 字）。")
        need_margin = (along - extents[worst]) / 2
        if need_margin >= 0:
            fixes.append(f"在 signage/specs.toml 的 [plate] 中把边距 margin 减小到 {math.floor(need_margin)} mm 以下")
        fixes.append(f"与制作单位商定加大牌面，在 signage/specs.toml 的 [plate] 中把 "
                     f"{'vertical_' if vertical else ''}{dim_along} 改为至少 {math.ceil(extents[worst] + 2 * spec.margin)} mm")
    else:
        over = block - avail_across
        head += (f"排成 {len(lines)} {what_line}共{what_across} {_fmt(block)} mm，而{what_across} {across:g} mm 的牌面"
                 f"{sides_across}各留 {spec.margin:g} mm 边距后只有 {_fmt(avail_across)} mm，超出 {_fmt(over)} mm。")
        fixes.append(f"与制作单位商定加大牌面，在 signage/specs.toml 的 [plate] 中把 "
                     f"{'vertical_' if vertical else ''}{dim_across} 改为至少 {math.ceil(block + 2 * spec.margin)} mm")
    if not vertical:
        other = spec.vertical_height - 2 * spec.margin
        if max(_line_em(font, line, spec.tracking_em, True, "") * em for line in lines) <= other:
            fixes.insert(0, "改用竖版（--vertical）")
    fixes.append("核对站点记录中的地名是否写错")
    return head + f"铜牌字号{spec.size_rule}为 {spec.size_pt:g} pt，不会缩小。可以：" + "；或".join(fixes) + "。"


def insert_layout(station: Station, spec: InsertSpec, font: SignFont, width: float, height: float) -> SignLayout:
    check_name(station)
    context = f"站点 {station.id} 的插牌"
    margin = spec.margin_ratio * min(width, height)
    avail_w, avail_h = width - 2 * margin, height - 2 * margin
    if avail_w <= 0 or avail_h <= 0:
        raise DocgenError(f"插牌尺寸 {width:g} × {height:g} mm 太小，留出边距 {margin:.1f} mm 后没有排字的地方。"
                          "请在 docgen.toml 的 [signage] 中调整 insert_width_mm / insert_height_mm")
    best: tuple[float, list[str]] | None = None
    for lines in candidates(station, spec.max_lines, one_line=True):
        widest = max(_line_em(font, line, spec.tracking_em, False, context) for line in lines)
        block = len(lines) + (len(lines) - 1) * spec.line_gap_em
        em = min(avail_w / widest, avail_h / block, pt_to_mm(spec.max_size_pt))
        if best is None or em > best[0] + 1e-6:
            best = (em, lines)
    em, lines = best
    glyphs, margins, fallback = _place(font, lines, em, width, height, spec.line_gap_em, spec.tracking_em,
                                       False, context)
    return SignLayout("insert", spec.form, station.id, station.display_name, width, height, False, lines,
                      em, glyphs, margins, fallback)
