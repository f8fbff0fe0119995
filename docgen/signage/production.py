"""Production files of a sign: a 1:1 PDF for the sign maker and an SVG for engraving tools.

The PDF is written directly (a handful of objects), so that nothing but what is listed here
ends up in it:

* no fonts: every character is a filled path (glyph outlines);
* CMYK only: colours are set with ``k`` / ``K`` (DeviceCMYK) and, for the cut line of a
  plate, ``CS`` / ``SCN`` with a Separation colour space; never ``rg`` / ``RG`` / ``g`` / ``G``;
* page boxes: TrimBox = the finished size. A plate (etched, no bleed) has
  MediaBox = BleedBox = TrimBox and its outline as a 0.25 pt stroke in the spot colour
  "CutContour" (Separation, CMYK alternate 0/100/0/0, set to overprint as RIPs expect).
  An insert sign has BleedBox = TrimBox + 3 mm on every side, its background filling the
  BleedBox exactly, and K100 crop marks outside the bleed: MediaBox = TrimBox + mark offset
  + mark length on every side;
* white letters of an insert sign (6.3.2.2), for every substrate 6.3.2.1 allows: the letters
  are holes in the background path (overlaps removed, even-odd fill, overprint off), so on a
  white sheet they are the sheet; and the same letters are filled once more in a spot colour
  of white ink (Separation "White" of specs.toml, tint 1, overprinting), which a RIP with white
  ink prints on clear acrylic or bare aluminium. Its alternate is CMYK 0/0/0/0: a press without
  white ink prints nothing there. An insert sign's finished edge is a CutContour stroke on the
  TrimBox, as a plate's;
* the Info dictionary's Subject states the finished size, bleed, colours, spot colours and the
  face the outlines were made from (a substitute named), for a shop that receives only the PDF;
* deterministic: no dates, a document ID derived from the content.
"""
from __future__ import annotations

import hashlib
import zlib
from xml.sax.saxutils import quoteattr

from .layout import SignLayout
from .outline import union
from .spec import InsertSpec, PlateSpec, mm_to_pt


def num(v: float) -> str:
    text = f"{v:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pdf_string(text: str) -> str:
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _path_ops(contours, dx: float, dy: float, scale: float) -> list[str]:
    """PDF path construction operators of contours (mm) moved by (dx, dy) mm, in points."""
    ops = []

    def p(pt):
        return f"{num((pt[0] + dx) * scale)} {num((pt[1] + dy) * scale)}"

    for contour in contours:
        for seg in contour:
            op = seg[0]
            if op == "M":
                ops.append(f"{p(seg[1])} m")
            elif op == "L":
                ops.append(f"{p(seg[1])} l")
            elif op == "C":
                ops.append(f"{p(seg[1])} {p(seg[2])} {p(seg[3])} c")
            else:
                ops.append("h")
    return ops


def _rect_ops(x: float, y: float, w: float, h: float) -> str:
    """A rectangle (mm in, points out) as explicit segments, counter-clockwise."""
    k = mm_to_pt(1)
    x0, y0, x1, y1 = (num(v * k) for v in (x, y, x + w, y + h))
    return f"{x0} {y0} m {x1} {y0} l {x1} {y1} l {x0} {y1} l h"


def _cmyk(values, stroke: bool = False) -> str:
    return " ".join(num(v) for v in values) + (" K" if stroke else " k")


def _box(x0: float, y0: float, x1: float, y1: float) -> str:
    k = mm_to_pt(1)
    return "[" + " ".join(num(v * k) for v in (x0, y0, x1, y1)) + "]"


def write_pdf(content: str, media: tuple, trim: tuple, bleed: tuple, resources: str, title: str,
              subject: str = "") -> bytes:
    """A one-page PDF: boxes in mm (x0, y0, x1, y1), content in points."""
    stream = zlib.compress(content.encode("ascii"), 9)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        (f"<< /Type /Page /Parent 2 0 R /MediaBox {_box(*media)} /BleedBox {_box(*bleed)} "
         f"/TrimBox {_box(*trim)} /Resources {resources} /Contents 4 0 R >>"),
        None,  # the content stream
        (f"<< /Title {_pdf_string(title)} "
         + (f"/Subject {_pdf_string(subject)} " if subject else "")
         + "/Creator (docgen signage) /Producer (docgen) /Trapped /False >>"),
    ]
    out = bytearray(b"%PDF-1.6\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode()
        if obj is None:
            out += f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream"
        else:
            out += obj.encode("ascii")
        out += b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    doc_id = hashlib.md5(bytes(out)).hexdigest().upper()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 5 0 R /ID [<{doc_id}> <{doc_id}>] >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def _cmyk_text(values) -> str:
    return "/".join(num(v * 100) for v in values)


def _font_note(layout: SignLayout, font, requested: str) -> str:
    """The faces the outlines were made from; a substitute for the standard's face named."""
    faces = list(dict.fromkeys(g.font.face.label for g in layout.glyphs))
    note = f"文字已转曲线（不含字体），字形取自 {'、'.join(faces)}"
    if font is not None and font.role.substitute:
        note += f"（替代字体：标准要求{requested}，本机未安装）"
    elif font is not None and layout.fallback_chars:
        note += f"（“{''.join(layout.fallback_chars)}”为替代字体补字）"
    return note


def _spot(name: str, alternate) -> str:
    alt = " ".join(num(v) for v in alternate)
    return (f"[/Separation /{name} /DeviceCMYK "
            f"<< /FunctionType 2 /Domain [0 1] /C0 [0 0 0 0] /C1 [{alt}] /N 1 >>]")


def plate_pdf(layout: SignLayout, spec: PlateSpec, font=None) -> bytes:
    k = mm_to_pt(1)
    ops = ["q", _cmyk(spec.colour_cmyk)]
    for g in layout.glyphs:  # one path per character, non-zero fill
        if g.contours:
            ops.extend(_path_ops(g.contours, 0, 0, k))
            ops.append("f")
    ops.append("Q")
    # the plate's outline: a separate cut path in the spot colour CutContour, overprinting
    ops += ["q", "/GScut gs", "/CS0 CS", "1 SCN", f"{num(spec.cut_width_pt)} w", "0 j",
            _rect_ops(0, 0, layout.width, layout.height), "S", "Q"]
    resources = (f"<< /ColorSpace << /CS0 {_spot(spec.cut_name, spec.cut_alternate)} >> "
                 f"/ExtGState << /GScut << /Type /ExtGState /OP true /op true /OPM 1 >> >> >>")
    box = (0, 0, layout.width, layout.height)
    subject = (f"{layout.form} {spec.names[layout.form]}（规范 {spec.standard}）：成品 {num(layout.width)}×"
               f"{num(layout.height)} mm（TrimBox = BleedBox = MediaBox，蚀刻，无出血）；文字 {spec.colour_name} "
               f"CMYK {_cmyk_text(spec.colour_cmyk)}，{num(layout.size_pt)} pt；{_font_note(layout, font, spec.font_requested)}；"
               f"外框专色 {spec.cut_name}（{num(spec.cut_width_pt)} pt，叠印）为切割线，不印刷")
    return write_pdf("\n".join(ops) + "\n", box, box, box, resources,
                     f"{layout.form} {spec.names[layout.form]} {layout.name}", subject)


def insert_geometry(layout: SignLayout, spec: InsertSpec) -> dict:
    """Boxes of an insert sign in mm, in the PDF's coordinates (origin at the MediaBox corner)."""
    o = spec.mark_offset + spec.mark_length
    w, h, b = layout.width, layout.height, spec.bleed
    return {"offset": o, "media": (0, 0, w + 2 * o, h + 2 * o),
            "trim": (o, o, o + w, o + h), "bleed": (o - b, o - b, o + w + b, o + h + b)}


def insert_pdf(layout: SignLayout, spec: InsertSpec, font=None) -> bytes:
    k = mm_to_pt(1)
    geo = insert_geometry(layout, spec)
    o, (bx0, by0, bx1, by1) = geo["offset"], geo["bleed"]
    letters = _path_ops(union([c for g in layout.glyphs for c in g.contours]), o, o, k)
    # the ground fills the bleed box; the letters are holes in it (knocked out)
    ops = ["q", "/GSko gs", _cmyk(spec.background_cmyk), _rect_ops(bx0, by0, bx1 - bx0, by1 - by0), *letters,
           "f*", "Q"]
    # the white ink: the same letters in the spot colour White, overprinting
    ops += ["q", "/GSop gs", "/CSw cs", "1 scn", *letters, "f", "Q"]
    # the finished edge: a cut path on the trim in the spot colour CutContour, overprinting
    tx0, ty0, tx1, ty1 = geo["trim"]
    ops += ["q", "/GSop gs", "/CSc CS", "1 SCN", f"{num(spec.cut_width_pt)} w", "0 j",
            _rect_ops(tx0, ty0, tx1 - tx0, ty1 - ty0), "S", "Q"]
    # crop marks at the trim lines, outside the bleed
    ops += ["q", _cmyk(spec.mark_cmyk, stroke=True), f"{num(spec.mark_width_pt)} w", "0 J"]
    near, far = spec.mark_offset, spec.mark_offset + spec.mark_length
    segments = []
    for x in (tx0, tx1):
        segments += [((x, ty0 - far), (x, ty0 - near)), ((x, ty1 + near), (x, ty1 + far))]
    for y in (ty0, ty1):
        segments += [((tx0 - far, y), (tx0 - near, y)), ((tx1 + near, y), (tx1 + far, y))]
    for (x0, y0), (x1, y1) in segments:
        ops.append(f"{num(x0 * k)} {num(y0 * k)} m {num(x1 * k)} {num(y1 * k)} l S")
    ops.append("Q")
    resources = (f"<< /ColorSpace << /CSw {_spot(spec.white_name, (0, 0, 0, 0))} "
                 f"/CSc {_spot(spec.cut_name, spec.cut_alternate)} >> "
                 "/ExtGState << /GSko << /Type /ExtGState /OP false /op false /OPM 0 >> "
                 "/GSop << /Type /ExtGState /OP true /op true /OPM 1 >> >> >>")
    subject = (f"{layout.form} {spec.name}（规范 {spec.standard}）：成品 {num(layout.width)}×{num(layout.height)} mm"
               f"（TrimBox），出血 {num(spec.bleed)} mm（BleedBox，底色铺满），裁切线 K100 在出血之外；"
               f"底色 {spec.background_name} CMYK {_cmyk_text(spec.background_cmyk)}；"
               f"文字{spec.text_colour_name}：底色中镂空，另有专色 {spec.white_name}（叠印）为白墨范围，"
               f"白色基材可不印白墨，透明有机玻璃、铝合金等非白色基材须在此印白墨；"
               f"字号 {layout.size_pt:.1f} pt；{_font_note(layout, font, spec.font_requested)}；"
               f"专色 {spec.cut_name}（{num(spec.cut_width_pt)} pt，叠印）为成品切割线，不印刷")
    return write_pdf("\n".join(ops) + "\n", geo["media"], geo["trim"], geo["bleed"], resources,
                     f"{layout.form} {spec.name} {layout.name}", subject)


# --------------------------------------------------------------------------- SVG


def _svg_path(contours, height: float) -> str:
    parts = []

    def p(pt):
        return f"{num(pt[0])} {num(height - pt[1])}"

    for contour in contours:
        for seg in contour:
            op = seg[0]
            if op == "M":
                parts.append(f"M{p(seg[1])}")
            elif op == "L":
                parts.append(f"L{p(seg[1])}")
            elif op == "C":
                parts.append(f"C{p(seg[1])} {p(seg[2])} {p(seg[3])}")
            else:
                parts.append("Z")
    return " ".join(parts)


def _svg_head(layout: SignLayout, title: str) -> list[str]:
    from xml.sax.saxutils import escape

    w, h = num(layout.width), num(layout.height)
    return ['<?xml version="1.0" encoding="UTF-8"?>',
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}mm" height="{h}mm" '
            f'viewBox="0 0 {w} {h}">',
            f"<title>{escape(title)}</title>",
            "<desc>docgen signage: 1:1, units mm; text converted to outlines, no fonts.</desc>"]


def plate_svg(layout: SignLayout, spec: PlateSpec) -> bytes:
    lines = _svg_head(layout, f"{layout.form} {spec.names[layout.form]} {layout.name}")
    cmyk = ",".join(num(v * 100) for v in spec.colour_cmyk)  # as the PDF's k operator
    lines.append(f'<g id="text" fill="#000000" fill-rule="nonzero" data-cmyk="{cmyk}">')
    for g in layout.glyphs:
        if g.contours:
            lines.append(f'<path data-char={quoteattr(g.char)} d="{_svg_path(g.contours, layout.height)}"/>')
    lines.append("</g>")
    stroke = num(spec.cut_width_pt * 25.4 / 72)
    lines.append(f'<rect id="{spec.cut_name}" x="0" y="0" width="{num(layout.width)}" height="{num(layout.height)}" '
                 f'fill="none" stroke="#ff00ff" stroke-width="{stroke}"/>')
    lines.append("</svg>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def insert_svg(layout: SignLayout, spec: InsertSpec) -> bytes:
    """The insert sign at its finished size (no bleed, no marks): the background with the
    letters cut out of it (even-odd), the white ink layer (the letters) and the outline as a
    cut path."""
    lines = _svg_head(layout, f"{layout.form} {spec.name} {layout.name}")
    w, h = layout.width, layout.height
    rect = [[("M", (0, 0)), ("L", (w, 0)), ("L", (w, h)), ("L", (0, h)), ("Z",)]]
    contours = rect + union([c for g in layout.glyphs for c in g.contours])
    cmyk = ",".join(num(v * 100) for v in spec.background_cmyk)
    lines.append(f'<path id="background" fill="{spec.proof_background_rgb}" fill-rule="evenodd" '
                 f'data-cmyk="{cmyk}" d="{_svg_path(contours, h)}"/>')
    # the white ink (spot colour): exactly the letters cut out of the background
    lines.append(f'<path id="{spec.white_name}" fill="#ffffff" fill-rule="nonzero" data-spot="{spec.white_name}" '
                 f'd="{_svg_path(contours[1:], h)}"/>')
    lines.append(f'<rect id="{spec.cut_name}" x="0" y="0" width="{num(w)}" height="{num(h)}" fill="none" '
                 f'stroke="#ff00ff" stroke-width="{num(spec.cut_width_pt * 25.4 / 72)}"/>')
    lines.append("</svg>")
    return ("\n".join(lines) + "\n").encode("utf-8")
