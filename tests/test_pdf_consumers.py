"""Document PDFs as their receivers handle them: the print shop (pdftops / Ghostscript, what
CUPS and PostScript printers get), the records office (pypdf merging and stamping, text
search, font lists) and anyone re-reading them (qpdf, pypdf strict).

The documents are drawn with ``render.pdf.document_canvas`` and ``fonts.split_runs`` (the
path of every form): a CID-keyed subset per face, object streams, a cross-reference stream.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

NAME = "杨𠮷祥"  # 𠮷 U+20BB7: beyond the BMP (the example person NJ2026002)
TEXT_LINES = [
    f"姓名 {NAME} 户籍所在地 江苏省南京市白下区 曾用名",
    "☑ 无正当理由，未按期报到 ☐ 连续 3 个月联系不上 2026 年 11 月",
    "身份证号码 320104197506144456 ABCxyz (1), 12.5%",
]


def _document(lines=TEXT_LINES, size: float = 10.5, pagesize=(420, 200)) -> bytes:
    from docgen.render.fonts import split_runs
    from docgen.render.pdf import document_canvas
    from reportlab.pdfbase.pdfmetrics import stringWidth

    buf = io.BytesIO()
    c = document_canvas(buf, pagesize)
    y = pagesize[1] - 40
    for line in lines:
        x = 20.0
        for font, run in split_runs(line, "table"):
            c.setFont(font, size)
            c.drawString(x, y, run)
            x += stringWidth(run, font, size)
        y -= size * 2
    c.showPage()
    c.save()
    return buf.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _type0_fonts(pdf: bytes) -> dict[str, dict]:
    """BaseFont → {program, W, DW, tounicode} of every Type0 font on any page."""
    from pypdf import PdfReader

    out = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            assert font["/Subtype"] == "/Type0", font
            cid = font["/DescendantFonts"][0].get_object()
            out[str(font["/BaseFont"])] = {
                "program": cid["/FontDescriptor"]["/FontFile2"].get_object().get_data(),
                "W": list(cid.get("/W", [])), "DW": cid.get("/DW", 1000),
                "tounicode": font["/ToUnicode"].get_object().get_data().decode("ascii"),
                "cid": cid,
            }
    return out


def _widths(w_array: list, dw: float, count: int) -> list[float]:
    widths = [float(dw)] * count
    i = 0
    while i < len(w_array):
        first = int(w_array[i])
        if isinstance(w_array[i + 1], list) or hasattr(w_array[i + 1], "__iter__"):
            for k, w in enumerate(w_array[i + 1]):
                widths[first + k] = float(w)
            i += 2
        else:
            for code in range(first, int(w_array[i + 1]) + 1):
                widths[code] = float(w_array[i + 2])
            i += 3
    return widths


def _tounicode(cmap: str) -> dict[int, str]:
    out = {}
    for code, uni in re.findall(r"<([0-9A-F]{4})>\s*<([0-9A-F]+)>", cmap.split("endcodespacerange", 1)[1]):
        out[int(code, 16)] = bytes.fromhex(uni).decode("utf-16-be")
    return out


def _pdffonts(path: Path) -> list[list[str]]:
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


# ------------------------------------------------------------------ print path (PostScript)

def test_unhinted_subsets_carry_dropout_control():
    """The CFF conversions and the symbol font have no hinting: their subsets get a control
    program that turns dropout control on, or PostScript interpreters (pdftops → printer)
    drop the thin strokes of the Song faces at 150–300 dpi (白 printed as 山)."""
    from fontTools.ttLib import TTFont

    fonts = _type0_fonts(_document())
    assert len(fonts) >= 2  # a CJK face and the symbol font
    for name, f in fonts.items():
        tt = TTFont(io.BytesIO(f["program"]))
        assert "prep" in tt, name
        assembly = " ".join(tt["prep"].program.getAssembly())
        assert "SCANCTRL" in assembly and "SCANTYPE" in assembly, (name, assembly)
        assert tt["maxp"].maxStackElements >= 2 and tt["maxp"].maxZones >= 1, name


def _gs_render(path: Path, out: Path, dpi: int = 150) -> "Image":
    from PIL import Image

    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pnggray", f"-r{dpi}",
                    "-dTextAlphaBits=1", "-dGraphicsAlphaBits=1", f"-sOutputFile={out}", str(path)],
                   check=True, capture_output=True)
    return Image.open(out)


def _dark_pixels_differing(a, b) -> int:
    from PIL import ImageChops

    box = (0, 0, min(a.width, b.width), min(a.height, b.height))
    best = None
    for dy in (0, 1):  # pdftops rounds the page height up to whole points
        diff = ImageChops.difference(a.crop(box), b.crop((0, dy, box[2], box[3] + dy)))
        count = sum(diff.point(lambda v: 1 if v > 64 else 0).histogram()[1:])
        best = count if best is None else min(best, count)
    return best


@pytest.mark.skipif(shutil.which("gs") is None, reason="needs Ghostscript (scripts/setup-system.sh installs it)")
def test_postscript_from_pdftops_prints_the_same_glyphs(tmp_path):
    """What CUPS sends a PostScript printer (poppler's pdftops) rasterises to the same pixels
    as the PDF itself: no stroke lost, 𠮷 and ☐☑ included."""
    pdf = _write(tmp_path, "doc.pdf", _document())
    ps = tmp_path / "doc.ps"
    subprocess.run(["pdftops", "-origpagesizes", "-level3", str(pdf), str(ps)], check=True)
    direct = _gs_render(pdf, tmp_path / "direct.png", dpi=300)
    printed = _gs_render(ps, tmp_path / "printed.png", dpi=300)
    inked = sum(direct.point(lambda v: 1 if v < 128 else 0).histogram()[1:])
    assert inked > 10000  # the text is there
    # without dropout control some 16 % of the ink differs (strokes lost); with it next to none
    assert _dark_pixels_differing(direct, printed) < inked // 50


@pytest.mark.skipif(shutil.which("gs") is None, reason="needs Ghostscript (scripts/setup-system.sh installs it)")
def test_ghostscript_pdfwrite_round_trip_keeps_text_and_glyphs(tmp_path):
    pdf = _write(tmp_path, "doc.pdf", _document())
    again = tmp_path / "again.pdf"
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite",
                    f"-sOutputFile={again}", str(pdf)], check=True, capture_output=True)
    text = re.sub(r"\s", "", subprocess.run(["pdftotext", str(again), "-"], capture_output=True, text=True).stdout)
    # (Ghostscript 10.00 rewrites the ToUnicode entry of 𠮷 wrongly, for any producer's
    # PDF: cairo's too. The glyph stays right: the pixels are compared below.)
    for line in TEXT_LINES[1:]:
        assert re.sub(r"\s", "", line) in text
    direct = _gs_render(pdf, tmp_path / "a.png")
    inked = sum(direct.point(lambda v: 1 if v < 128 else 0).histogram()[1:])
    assert _dark_pixels_differing(direct, _gs_render(again, tmp_path / "b.png")) < inked // 100


# ------------------------------------------------------------------ structure, fonts, text

def test_valid_for_qpdf_and_strict_pypdf(tmp_path):
    from pypdf import PdfReader

    data = _document()
    assert data.startswith(b"%PDF-1.5")
    path = _write(tmp_path, "doc.pdf", data)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout
    reader = PdfReader(io.BytesIO(data), strict=True)
    assert NAME in reader.pages[0].extract_text()


def test_text_extracts_as_written(tmp_path):
    from pypdf import PdfReader

    path = _write(tmp_path, "doc.pdf", _document())
    expected = [re.sub(r"\s", "", line) for line in TEXT_LINES]
    poppler = re.sub(r"\s", "", subprocess.run(["pdftotext", "-raw", str(path), "-"],
                                                capture_output=True, text=True).stdout)
    pypdf_text = re.sub(r"\s", "", PdfReader(str(path)).pages[0].extract_text())
    for line in expected:
        assert line in poppler
        assert line in pypdf_text


def test_fonts_embedded_subset_with_tounicode(tmp_path):
    path = _write(tmp_path, "doc.pdf", _document())
    rows = _pdffonts(path)
    assert rows
    for row in rows:
        # name type... encoding emb sub uni object-id generation
        assert row[-5:-2] == ["yes", "yes", "yes"], row
        assert re.match(r"[A-Z]{6}\+", row[0]), row
        assert row[-6] == "Identity-H", row


def test_widths_and_codes_agree_with_the_embedded_glyphs():
    """W/DW give every code the advance its glyph has in the embedded program, and the code
    ToUnicode names draws that character's glyph of the face (outline compared point by point)."""
    from fontTools.ttLib import TTFont
    from reportlab.pdfbase.pdfmetrics import getFont

    from docgen.render.fonts import split_runs

    faces = {}
    for font_name, _ in split_runs("".join(TEXT_LINES), "table"):
        face = getFont(font_name).face
        faces[face.name.decode("latin-1")] = face
    fonts = _type0_fonts(_document())
    assert {name.split("+", 1)[1] for name in fonts} == set(faces)
    for base, f in fonts.items():
        sub = TTFont(io.BytesIO(f["program"]))
        order = sub.getGlyphOrder()
        upm = sub["head"].unitsPerEm
        widths = _widths(f["W"], f["DW"], len(order))
        for gid, glyph in enumerate(order):
            assert widths[gid] == pytest.approx(sub["hmtx"][glyph][0] * 1000 / upm, abs=0.5), (base, gid)
        face = faces[base.split("+", 1)[1]]
        if Path(str(face.filename)).is_file():  # a converted face in the font cache
            source = TTFont(face.filename, fontNumber=0)
        else:  # the symbol font, built in memory
            from docgen.render.symbols import font_bytes

            source = TTFont(io.BytesIO(font_bytes()))
        cmap = source.getBestCmap()
        codes = _tounicode(f["tounicode"])
        assert codes
        for code, char in codes.items():
            src_glyph = source["glyf"][cmap[ord(char)]]
            sub_glyph = sub["glyf"][order[code]]
            src_coords = list(src_glyph.getCoordinates(source["glyf"])[0]) if src_glyph.numberOfContours else []
            sub_coords = list(sub_glyph.getCoordinates(sub["glyf"])[0]) if sub_glyph.numberOfContours else []
            assert src_coords == sub_coords, (base, code, char)
    names = {char for f in fonts.values() for char in _tounicode(f["tounicode"]).values()}
    assert {"𠮷", "☐", "☑", "白"} <= names


def test_same_bytes_twice():
    assert _document() == _document()


# ------------------------------------------------------------------ records office (pypdf)

_DRAW_BOXES = """
import io, sys
from docgen.render import symbols
if sys.argv[1] == "redrawn":  # another docgen version drew the box 20 units wider
    from fontTools.ttLib import TTFont
    font = TTFont(io.BytesIO(symbols.font_bytes()))
    box = font["glyf"]["box"]
    box.coordinates[0] = (box.coordinates[0][0] - 20, box.coordinates[0][1])
    out = io.BytesIO()
    font.save(out)
    symbols.font_bytes = lambda data=out.getvalue(): data
from docgen.render.fonts import split_runs
from docgen.render.pdf import document_canvas
buf = io.BytesIO()
c = document_canvas(buf, (200, 100))
(font, run), = [r for r in split_runs("☐☑", "table")]
c.setFont(font, 12)
c.drawString(10, 50, run)
c.showPage()
c.save()
sys.stdout.buffer.write(buf.getvalue())
"""


def test_one_subset_name_stands_for_one_font_program():
    """A volume merges documents made by other docgen versions or from other conversions of
    a face (the font cache keeps them per converter version) under the same PostScript name:
    the subset tag must differ when the embedded program differs, and stay the same when
    everything is the same (reportlab lets one process hold only one face of a name, hence
    one process per version)."""
    import sys

    def base_font(version: str) -> str:
        done = subprocess.run([sys.executable, "-c", _DRAW_BOXES, version], capture_output=True, check=True)
        (name,) = _type0_fonts(done.stdout)
        return name

    first = base_font("current")
    assert first.endswith("+DocgenSymbols-Regular")
    assert base_font("current") == first
    assert base_font("redrawn") != first


def test_pypdf_split_merge_rotate_overlay_keep_text_and_fonts(tmp_path):
    from pypdf import PdfReader, PdfWriter, Transformation

    a = _document()
    b = _document(["备注 白 ☐ 第二份文书", f"{NAME} ☑"])
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(a)))
    writer.append(PdfReader(io.BytesIO(b)))
    writer.pages[1].rotate(90)
    writer.pages[0].merge_transformed_page(PdfReader(io.BytesIO(b)).pages[0],
                                           Transformation().scale(0.5).translate(200, 0))
    out = io.BytesIO()
    writer.write(out)
    merged = _write(tmp_path, "merged.pdf", out.getvalue())
    assert subprocess.run(["qpdf", "--check", str(merged)], capture_output=True).returncode == 0
    text = subprocess.run(["pdftotext", "-raw", str(merged), "-"], capture_output=True, text=True).stdout
    assert text.count(NAME) == 3 and "第二份文书" in text and text.count("☑") == 3
    rows = _pdffonts(merged)
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in rows), rows
    # same name ⇒ same subset: the records office's tools may merge fonts by name
    programs: dict[str, bytes] = {}
    for part in (a, b):
        for name, f in _type0_fonts(part).items():
            key = f["program"] + f["tounicode"].encode() + repr(f["W"]).encode()
            assert programs.setdefault(name, key) == key, name
    # split: one page out keeps its text and fonts
    single = PdfWriter()
    single.add_page(PdfReader(str(merged)).pages[1])
    buf = io.BytesIO()
    single.write(buf)
    page = _write(tmp_path, "page.pdf", buf.getvalue())
    assert "第二份文书" in subprocess.run(["pdftotext", str(page), "-"], capture_output=True, text=True).stdout
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in _pdffonts(page))


def test_archive_stamp_embeds_every_font(tmp_path):
    """The 归档章 drawn on a volume's first page references no non-embedded base font
    (reportlab's initial Helvetica): pdffonts of a volume lists embedded fonts only."""
    from docgen.archive.volumes import Stamp, stamp_overlay

    stamp = Stamp(fonds="J101", year=2026, seq=2, org_code="12320000MB0000000X", retention="30年",
                  pages=22, dh="J101-GR·2026-D3-XWGZZ-0002")
    path = _write(tmp_path, "stamp.pdf", stamp_overlay(595.28, 841.89, stamp))
    rows = _pdffonts(path)
    assert rows
    for row in rows:
        assert row[-5:-3] == ["yes", "yes"], row
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "保管期限" in text and "J101-GR·2026-D3-XWGZZ-0002" in text
