"""Compact embedding of TrueType faces for reportlab: one CID-keyed subset per face.

reportlab embeds a TrueType face as simple fonts of at most 256 glyphs each: a CJK
form needs two or three of them per face, and every one carries its own copy of the
font tables, a 256-entry ``Widths`` array and a ToUnicode CMap. ``CIDTTFont`` keeps
reportlab's text layout (it is a ``TTFont``) but writes, per face and document:

* one ``Type0`` font (``Identity-H``) whose descendant is a ``CIDFontType2``;
* one subset font program with only the tables PDF needs to draw TrueType glyphs
  (``head hhea hmtx loca glyf maxp``, plus the hinting tables when the face has them, or
  else a ``prep`` that turns on dropout control for PostScript printing), where glyph *n* is the glyph of code *n* (``CIDToGIDMap /Identity``);
* a ``W`` array that lists only the glyphs not as wide as ``DW`` (1000: CJK glyphs are
  all full-width);
* one ToUnicode CMap (UTF-16, so characters beyond the BMP extract correctly).

Codes are 2 bytes and assigned in order of first use; code 0 is ``.notdef``.
The subset tag (``ABCDEF+``) is derived from the characters and the font program of the
subset, so PDFs merged later (archive volumes) never carry two different subsets under one name.
"""
from __future__ import annotations

import hashlib
from struct import pack, unpack

from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import (GF_ARG_1_AND_2_ARE_WORDS, GF_MORE_COMPONENTS, GF_WE_HAVE_A_SCALE,
                                       GF_WE_HAVE_A_TWO_BY_TWO, GF_WE_HAVE_AN_X_AND_Y_SCALE, TTFont,
                                       TTFontMaker)

DEFAULT_WIDTH = 1000
_MAX_CODES = 0xFFFF
_CMAP_BLOCK = 100  # entries per begin/endbfchar block (the CMap format's limit)
# PUSHW 511, SCANCTRL (dropout control at every size), PUSHB 4, SCANTYPE (smart dropout control)
_DROPOUT_PREP = bytes([0xB8, 0x01, 0xFF, 0x85, 0xB0, 0x04, 0x8D])


class _State:
    """Codes assigned in one document: unicode → code, and the unicodes by code."""

    __slots__ = ("codes", "chars", "internal_name")

    def __init__(self):
        self.codes: dict[int, int] = {}
        self.chars: list[int] = [0]  # code 0: .notdef
        self.internal_name: str | None = None


class CIDTTFont(TTFont):
    """A reportlab TrueType font written to the PDF as one Type0/CIDFontType2 subset."""

    def __init__(self, name: str, filename, subfontIndex: int = 0):
        super().__init__(name, filename, subfontIndex=subfontIndex, asciiReadable=False, shapable=False)

    def _doc_state(self, doc) -> _State:
        state = self.state.get(doc)
        if state is None:
            state = self.state[doc] = _State()
        return state

    def splitString(self, text, doc, encoding="utf-8"):
        """The whole text as one run of 2-byte codes (the 'subset' is always 0)."""
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        state = self._doc_state(doc)
        codes = state.codes
        char_to_glyph = self.face.charToGlyph
        out = bytearray()
        for cp in map(ord, text):
            if cp == 0xA0:
                cp = 32
            code = codes.get(cp)
            if code is None:
                if cp not in char_to_glyph:
                    code = 0
                else:
                    code = len(state.chars)
                    if code > _MAX_CODES:
                        raise pdfdoc.PDFError(f"font {self.fontName}: more than {_MAX_CODES} glyphs in one document")
                    state.chars.append(cp)
                    codes[cp] = code
            out += code.to_bytes(2, "big")
        return [(0, bytes(out))]

    def getSubsetInternalName(self, subset, doc):
        state = self._doc_state(doc)
        if state.internal_name is None:
            state.internal_name = "F" + repr(len(doc.fontMapping) + 1)
            doc.fontMapping[self.fontName] = "/" + state.internal_name
            doc.delayedFonts.append(self)
        return "/" + state.internal_name

    def addObjects(self, doc):
        state = self._doc_state(doc)
        internal_name = self.getSubsetInternalName(0, doc)[1:]
        face = self.face
        chars = state.chars
        program = _subset_program(face, chars)
        tag = _subset_tag(face.name, chars, program)
        base_font = f"{tag}+{face.name.decode('latin-1')}"

        font_file = pdfdoc.PDFStream()
        font_file.content = program
        if doc.compression:
            font_file.filters = [pdfdoc.PDFZCompress]
        flags = (face.flags & ~(1 << 5)) | (1 << 2)  # symbolic, not nonsymbolic (as reportlab)
        descriptor = pdfdoc.PDFDictionary({
            "Type": "/FontDescriptor",
            "FontName": pdfdoc.PDFName(base_font),
            "Flags": flags,
            "FontBBox": pdfdoc.PDFArray(face.bbox),
            "ItalicAngle": face.italicAngle,
            "Ascent": face.ascent,
            "Descent": face.descent,
            "CapHeight": face.capHeight,
            "StemV": face.stemV,
            "FontFile2": doc.Reference(font_file),
        })
        cid_font = pdfdoc.PDFDictionary({
            "Type": "/Font",
            "Subtype": "/CIDFontType2",
            "BaseFont": pdfdoc.PDFName(base_font),
            "CIDSystemInfo": pdfdoc.PDFDictionary({
                "Registry": pdfdoc.PDFString("Adobe"), "Ordering": pdfdoc.PDFString("Identity"),
                "Supplement": 0}),
            "FontDescriptor": doc.Reference(descriptor),
            "DW": DEFAULT_WIDTH,
            "CIDToGIDMap": "/Identity",
        })
        widths = _w_array([face.getCharWidth(cp) if code else face.defaultWidth for code, cp in enumerate(chars)])
        if widths:
            cid_font.dict["W"] = pdfdoc.PDFArray(widths)
        to_unicode = pdfdoc.PDFStream()
        to_unicode.content = _to_unicode_cmap(chars)
        if doc.compression:
            to_unicode.filters = [pdfdoc.PDFZCompress]
        font = pdfdoc.PDFDictionary({
            "Type": "/Font",
            "Subtype": "/Type0",
            "BaseFont": pdfdoc.PDFName(base_font),
            "Encoding": "/Identity-H",
            "DescendantFonts": pdfdoc.PDFArray([doc.Reference(cid_font)]),
            "ToUnicode": doc.Reference(to_unicode),
        })
        doc.idToObject["BasicFonts"].dict[internal_name] = doc.Reference(font, internal_name)
        del self.state[doc]


def _subset_tag(face_name: bytes, chars: list[int], program: bytes) -> str:
    """Six letters from the characters (ToUnicode, and the codes) and the font program (outlines,
    advances): one name never stands for two different subsets, even in a volume that merges
    documents made from other conversions or versions of a face under the same name."""
    digest = hashlib.sha256(face_name + b"\0" + ",".join(map(str, chars)).encode() + b"\0" + program).digest()
    return "".join(chr(65 + b % 26) for b in digest[:6])


def _w_array(widths: list[float]) -> list:
    """``W`` entries (``first last width``) for the codes whose width is not ``DW``."""
    out: list = []
    code = 0
    n = len(widths)
    while code < n:
        w = widths[code]
        if round(w) == DEFAULT_WIDTH:
            code += 1
            continue
        last = code
        while last + 1 < n and widths[last + 1] == w:
            last += 1
        out += [code, last, _num(w)]
        code = last + 1
    return out


def _num(w: float):
    r = round(w, 3)
    return int(r) if r == int(r) else r


def _to_unicode_cmap(chars: list[int]) -> str:
    def utf16(cp: int) -> str:
        return chr(cp).encode("utf-16-be", "surrogatepass").hex().upper()

    entries = [f"<{code:04X}> <{utf16(cp)}>" for code, cp in enumerate(chars) if code]
    lines = ["/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap",
             "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             "/CMapName /Adobe-Identity-UCS def", "/CMapType 2 def",
             "1 begincodespacerange", "<0000> <FFFF>", "endcodespacerange"]
    for i in range(0, len(entries), _CMAP_BLOCK):
        block = entries[i:i + _CMAP_BLOCK]
        lines.append(f"{len(block)} beginbfchar")
        lines += block
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines)


def _subset_program(face, chars: list[int]) -> bytes:
    """A TrueType font whose glyph n draws code n; components of composite glyphs follow."""
    char_to_glyph = face.charToGlyph
    glyph_map = [0] + [char_to_glyph.get(cp, 0) for cp in chars[1:]]  # new index → old index
    glyph_pos = face.glyphPos
    glyf_data = face.get_table("glyf")
    new_index: dict[int, int] = {}
    glyphs: list[bytes] = []
    n = 0
    while n < len(glyph_map):  # glyph_map grows with components of composite glyphs
        old = glyph_map[n]
        data = glyf_data[glyph_pos[old]:glyph_pos[old + 1]]
        if len(data) > 2 and unpack(">h", data[:2])[0] < 0:
            data = _remap_components(data, glyph_map, new_index)
        new_index.setdefault(old, n)
        glyphs.append(data)
        n += 1

    out = TTFontMaker()
    hinted = False
    for tag in ("cvt ", "fpgm", "prep"):
        try:
            out.add(tag, face.get_table(tag))
        except KeyError:
            continue
        hinted = hinted or tag == "prep"
    if not hinted:
        # Unhinted faces (the CFF conversions) get a control program that only turns on
        # dropout control: PostScript interpreters rasterise Type 42 fonts (what pdftops and
        # ps2write send to printers) without it, and at 150-300 dpi the thin strokes of
        # the Song faces vanish (白 printed as 山).
        out.add("prep", _DROPOUT_PREP)
    hmetrics = _raw_hmetrics(face)
    metrics = [hmetrics[old] for old in glyph_map]
    count = len(metrics)
    # trailing glyphs of the same advance share the last full metric (hmtx's own compaction)
    full = count
    while full > 1 and metrics[full - 1][0] == metrics[full - 2][0]:
        full -= 1
    hmtx = b"".join(pack(">Hh", aw, lsb) for aw, lsb in metrics[:full])
    hmtx += b"".join(pack(">h", lsb) for _, lsb in metrics[full:])
    out.add("hmtx", hmtx)
    hhea = bytearray(face.get_table("hhea"))
    hhea[34:36] = pack(">H", full)
    out.add("hhea", bytes(hhea))
    maxp = bytearray(face.get_table("maxp"))
    maxp[4:6] = pack(">H", count)
    if not hinted and len(maxp) >= 32:  # version 1.0: room for the control program
        zones, = unpack(">H", maxp[14:16])
        stack, = unpack(">H", maxp[24:26])
        maxp[14:16] = pack(">H", max(zones, 1))
        maxp[24:26] = pack(">H", max(stack, 2))
    out.add("maxp", bytes(maxp))

    offsets = []
    pos = 0
    parts = []
    for data in glyphs:
        offsets.append(pos)
        parts.append(data)
        pos += len(data)
        if pos % 4:
            pad = 4 - pos % 4
            parts.append(b"\0" * pad)
            pos += pad
    offsets.append(pos)
    out.add("glyf", b"".join(parts))
    if pos >> 1 > 0xFFFF:
        loc_format = 1
        out.add("loca", pack(f">{len(offsets)}L", *offsets))
    else:
        loc_format = 0
        out.add("loca", pack(f">{len(offsets)}H", *(o >> 1 for o in offsets)))
    head = bytearray(face.get_table("head"))
    head[50:52] = pack(">H", loc_format)
    out.add("head", bytes(head))
    return out.makeStream()


def _raw_hmetrics(face) -> list[tuple[int, int]]:
    """(advance, left side bearing) of every glyph in font units, read from ``hmtx``.

    (reportlab's own ``hmetrics`` reads side bearings unsigned and stores the advances of
    glyphs past ``numberOfHMetrics`` scaled to 1000 units.)"""
    cached = face.__dict__.get("_docgen_hmetrics")
    if cached is not None:
        return cached
    count = unpack(">H", face.get_table("hhea")[34:36])[0]
    glyphs = unpack(">H", face.get_table("maxp")[4:6])[0]
    hmtx = face.get_table("hmtx")
    pairs = list(zip(*[iter(unpack(f">{2 * count}H", hmtx[:4 * count]))] * 2))
    metrics = [(aw, lsb - 0x10000 if lsb > 0x7FFF else lsb) for aw, lsb in pairs]
    rest = glyphs - count
    last = metrics[-1][0]
    metrics += [(last, lsb) for lsb in unpack(f">{rest}h", hmtx[4 * count:4 * count + 2 * rest])]
    face._docgen_hmetrics = metrics
    return metrics


def _remap_components(data: bytes, glyph_map: list[int], new_index: dict[int, int]) -> bytes:
    """Point a composite glyph's components at their new indices (appending new ones)."""
    buf = bytearray(data)
    pos = 10
    flags = GF_MORE_COMPONENTS
    while flags & GF_MORE_COMPONENTS:
        flags, old = unpack(">HH", buf[pos:pos + 4])
        idx = new_index.get(old)
        if idx is None:
            idx = len(glyph_map)
            glyph_map.append(old)
            new_index[old] = idx
        buf[pos + 2:pos + 4] = pack(">H", idx)
        pos += 4 + (4 if flags & GF_ARG_1_AND_2_ARE_WORDS else 2)
        if flags & GF_WE_HAVE_A_SCALE:
            pos += 2
        elif flags & GF_WE_HAVE_AN_X_AND_Y_SCALE:
            pos += 4
        elif flags & GF_WE_HAVE_A_TWO_BY_TWO:
            pos += 8
    return bytes(buf)
