"""How document PDFs are built: one Type0 font per face with every glyph the right one,
and the objects packed in a compressed object stream with a cross-reference stream."""
from __future__ import annotations

import io
import os
import re
import time
import zlib
from pathlib import Path
from struct import unpack

from fontTools.pens.recordingPen import RecordingPen
from fontTools.ttLib import TTFont
from pypdf import PdfReader, PdfWriter

from docgen.documents.layout import Layout, Para
from docgen.render import fonts
from docgen.render.pdf import render_pdf

# more than 256 distinct characters (reportlab's own subsets hold 256), one beyond the BMP,
# ASCII and a check box from docgen's symbol font
MANY = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 300))
TEXT = "后续照管 ABC 123 杨𠮷祥 ☑ " + MANY


def _pdf(text: str) -> bytes:
    return render_pdf(Layout(blocks=[Para(text=text, role="table", size=10)]), {})


def _fonts(pdf: bytes) -> dict[str, tuple[dict, TTFont]]:
    reader = PdfReader(io.BytesIO(pdf))
    found = {}
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            cid = f["/DescendantFonts"][0].get_object()
            program = cid["/FontDescriptor"].get_object()["/FontFile2"].get_data()
            found[str(f["/BaseFont"])] = (f, TTFont(io.BytesIO(program)))
    return found


def _to_unicode(font: dict) -> dict[int, str]:
    cmap = font["/ToUnicode"].get_object().get_data().decode().split("endcodespacerange", 1)[1]
    return {int(code, 16): bytes.fromhex(uni).decode("utf-16-be")
            for code, uni in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)}


def _outline(glyph_set, name) -> list:
    pen = RecordingPen()
    glyph_set[name].draw(pen)
    return pen.value


def test_each_face_is_one_cid_font_whose_glyph_n_draws_code_n():
    pdf = _pdf(TEXT)
    embedded = _fonts(pdf)
    faces = [name.split("+", 1)[1] for name in embedded]
    assert len(faces) == len(set(faces)), faces
    body = fonts.role_font("table").face
    source = TTFont(fonts.truetype_path(body)[0])
    source_glyphs = source.getGlyphSet()
    cmap = source.getBestCmap()
    checked = set()
    for name, (font, program) in embedded.items():
        codes = _to_unicode(font)
        order = program.getGlyphOrder()
        glyphs = program.getGlyphSet()
        assert program["maxp"].numGlyphs == len(codes) + 1, name  # .notdef + the characters used
        if "DocgenSymbols" in name:
            assert "☑" in codes.values() and set(codes.values()) <= {"☑", " "}
            continue
        for code, char in codes.items():
            if ord(char) in cmap:  # the body face (others: the substitute face)
                assert _outline(glyphs, order[code]) == _outline(source_glyphs, cmap[ord(char)]), (name, char)
                checked.add(char)
    assert len(checked) > 256 and "杨" in checked


def test_text_extracts_as_written_including_characters_beyond_the_bmp():
    text = PdfReader(io.BytesIO(_pdf(TEXT))).pages[0].extract_text()
    flat = re.sub(r"\s+", "", text)
    assert "后续照管ABC123杨𠮷祥☑" in flat
    assert re.sub(r"\s+", "", MANY) in flat


def test_widths_give_every_glyph_its_advance():
    embedded = _fonts(_pdf("一二 ABC 12"))
    font, _ = next(v for k, v in embedded.items() if "DocgenSymbols" not in k)
    cid = font["/DescendantFonts"][0].get_object()
    assert cid["/DW"] == 1000
    codes = _to_unicode(font)
    w = list(cid.get("/W", []))
    narrow = {}
    while w:
        first, last, width = w[:3]
        narrow.update({c: width for c in range(first, last + 1)})
        w = w[3:]
    for code, char in codes.items():
        if char in "一二":
            assert code not in narrow  # full-width: DW
        else:
            assert 0 < narrow[code] < 1000, char


def test_subsets_of_one_face_in_different_documents_have_different_names():
    """Archive volumes merge documents: two subsets must never share a name."""
    a, b = _pdf("后续照管"), _pdf("对象信息")
    names_a, names_b = set(_fonts(a)), set(_fonts(b))
    assert not names_a & names_b
    assert set(_fonts(_pdf("后续照管"))) == names_a  # the same text: the same bytes
    writer = PdfWriter()
    for pdf in (a, b):
        writer.append(PdfReader(io.BytesIO(pdf)))
    merged = io.BytesIO()
    writer.write(merged)
    pages = PdfReader(io.BytesIO(merged.getvalue())).pages
    assert [p.extract_text().strip() for p in pages] == ["后续照管", "对象信息"]


def _xref_entries(pdf: bytes) -> tuple[dict, dict[int, tuple[int, int, int]]]:
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf).group(1))
    m = re.match(rb"(\d+) 0 obj\s*<<(.*?)>>\s*stream\n", pdf[start:], re.S)
    assert m, "startxref does not point at a cross-reference stream"
    head = m.group(2).decode("latin-1")
    length = int(re.search(r"/Length (\d+)", head).group(1))
    body = pdf[start + m.end():start + m.end() + length]
    rows = zlib.decompress(body)
    assert "/W [1 4 2]" in head
    size = int(re.search(r"/Size (\d+)", head).group(1))
    assert len(rows) == 7 * size
    return head, {n: unpack(">BIH", rows[7 * n:7 * n + 7]) for n in range(size)}


def test_documents_are_written_with_object_and_cross_reference_streams():
    pdf = _pdf(TEXT)
    assert pdf.startswith(b"%PDF-1.5")
    head, entries = _xref_entries(pdf)
    assert "/Root" in head and "/Info" in head and "/ID" in head
    streams = {}
    for n, (kind, a, b) in entries.items():
        if kind == 1:  # in the file at offset a
            assert pdf[a:].startswith(b"%d 0 obj" % n), n
        elif kind == 2:  # object b of object stream a
            streams.setdefault(a, []).append((b, n))
        else:
            assert n == 0
    assert len(streams) == 1
    (number, members), = streams.items()
    kind, offset, _ = entries[number]
    m = re.match(rb"\d+ 0 obj\n<< /Type /ObjStm /N (\d+) /First (\d+) /Filter /FlateDecode /Length (\d+) >>\nstream\n",
                 pdf[offset:])
    n, first, length = map(int, m.groups())
    data = zlib.decompress(pdf[offset + m.end():offset + m.end() + length])
    pairs = list(map(int, data[:first].split()))
    listed = dict(zip(pairs[1::2], pairs[0::2]))  # offset → object number
    assert n == len(members) == len(listed)
    for index, number in sorted(members):
        assert pairs[2 * index] == number
        assert not data[first + pairs[2 * index + 1]:].lstrip().startswith(b"stream")
    # every page dictionary and font dictionary is in the object stream, and a reader agrees
    assert b"/Type /Page" not in pdf and b"/Type0" not in pdf
    reader = PdfReader(io.BytesIO(pdf), strict=True)
    assert "后续照管" in reader.pages[0].extract_text()
    assert reader.metadata.creator == "docgen"


def test_signs_for_print_production_keep_the_classic_structure(tmp_path):
    from conftest import EXAMPLES, run_cli
    import shutil

    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws)
    r = run_cli("signage", "--workspace", str(ws), "--out", str(tmp_path / "signs"))
    assert r.returncode == 0, r.stderr
    plates = sorted((tmp_path / "signs").rglob("*.pdf"))
    assert plates
    for path in plates:
        data = path.read_bytes()
        assert b"/ObjStm" not in data and b"\nxref\n" in data, path.name


def test_conversions_of_a_face_unused_for_a_month_are_removed(tmp_path, monkeypatch):
    """Conversions of an older converter or an older version of the font file (each tens of
    MB for a CJK face) go once unused for 30 days; one used lately (another installation
    sharing the cache) stays, and so do those of other faces."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    pen = T2CharStringPen(600, None)
    pen.moveTo((100, 0)), pen.lineTo((500, 0)), pen.lineTo((300, 700)), pen.closePath()
    fb = FontBuilder(1000, isTTF=False)
    fb.setupGlyphOrder([".notdef", "A"])
    fb.setupCharacterMap({ord("A"): "A"})
    fb.setupCFF("TinyCFF-Regular", {"FullName": "Tiny CFF"}, {".notdef": T2CharStringPen(600, None).getCharString(),
                                                                "A": pen.getCharString()}, {})
    fb.setupHorizontalMetrics({".notdef": (600, 0), "A": (600, 100)})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Tiny CFF", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    source = tmp_path / "fonts" / "TinyCFF-Regular.otf"
    source.parent.mkdir()
    fb.save(str(source))
    monkeypatch.setenv("DOCGEN_CACHE_DIR", str(tmp_path / "cache"))
    face = fonts.Face(str(source), 0, ("Tiny CFF",), "Tiny CFF", "Regular", True)
    cache = tmp_path / "cache" / "fonts"
    cache.mkdir(parents=True)
    stale = [cache / "TinyCFF-Regular-0-0123456789abcdef.ttf", cache / "TinyCFF-Regular-0-fedcba9876543210.ttf"]
    others = [cache / "TinyCFF-Regular-1-0123456789abcdef.ttf",  # another face of a collection
              cache / "TinyCFF-Regular-Extra-0-0123456789abcdef.ttf"]  # another font file
    recent = cache / "TinyCFF-Regular-0-00000000aaaaaaaa.ttf"
    month_ago = time.time() - 31 * 86400
    for p in stale + others + [recent]:
        p.write_bytes(b"old")
        if p != recent:
            os.utime(p, (month_ago, month_ago))
    path, index = fonts.truetype_path(face)
    assert Path(path).is_file() and index == 0 and TTFont(path)["glyf"]["A"].numberOfContours == 1
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in others + [recent])
    # the conversion in use is marked as such: a later run elsewhere does not take it for unused
    os.utime(path, (month_ago, month_ago))
    fonts.truetype_path(face)
    assert time.time() - Path(path).stat().st_mtime < 60
