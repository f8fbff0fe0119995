"""What a sign shop needs of the insert sign (6.3.2, appendix C) beyond the artwork itself.

6.3.2.2 asks for white letters and 6.3.2.1 allows PVC, 有机玻璃 and 铝合金: on a white PVC
sheet letters knocked out of the C100 M50 ground come out white, on clear acrylic or bare
aluminium they would come out clear or silver. The artwork therefore carries the white ink
as its own spot colour (Separation "White", overprinting, over exactly the knocked-out
letters), whose alternate is CMYK 0/0/0/0 so that a press without white ink prints nothing
there. The finished edge is a CutContour path on the TrimBox, as on the plates and in the
insert's SVG. Expectations are hand-computed: 300 x 120 mm trim, 3 mm bleed, marks from
4 to 10 mm outside the trim, margin 14.4 mm.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from conftest import EXAMPLES, pdf_text, run_cli
from docgen.errors import DocgenError
from docgen.signage.spec import SPECS_FILE, load_specs

PT_PER_MM = 72 / 25.4
DATE = "2026-11-30"
SID = "nj-qh-fzm"
NAME = "秦淮区夫子庙街道后续照管服务站"


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prepress")
    ws = root / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    done = run_cli("signage", "-w", str(ws), "--out", str(root / "out"), "--station", SID, "--date", DATE)
    assert done.returncode == 0, done.stderr
    return root / "out"


def _entry(out: Path, form: str) -> dict:
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    (hit,) = [d for d in docs if d["form"] == form and d["key"] == SID]
    return hit


def _page(out: Path, form: str):
    reader = PdfReader(str(out / _entry(out, form)["files"]["pdf"]))
    assert len(reader.pages) == 1
    return reader, reader.pages[0]


def _mm(box) -> tuple[float, ...]:
    return tuple(float(v) / PT_PER_MM for v in (box.left, box.bottom, box.right, box.top))


def _painted(reader, page) -> list[dict]:
    """Every painted path: its paint operator, the graphics state name, colour space and colour
    in force, and the points of its segments (mm)."""
    state = {"gs": None, "fill_cs": "DeviceCMYK", "stroke_cs": "DeviceCMYK", "fill": None, "stroke": None}
    stack, points, out = [], [], []
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        op = op if isinstance(op, bytes) else op.encode()
        if op == b"q":
            stack.append(dict(state))
        elif op == b"Q":
            state = stack.pop()
        elif op == b"gs":
            state["gs"] = str(operands[0])
        elif op == b"cs":
            state["fill_cs"] = str(operands[0])
        elif op == b"CS":
            state["stroke_cs"] = str(operands[0])
        elif op in (b"k", b"scn"):
            state["fill"] = [float(v) for v in operands]
            if op == b"k":
                state["fill_cs"] = "DeviceCMYK"
        elif op in (b"K", b"SCN"):
            state["stroke"] = [float(v) for v in operands]
            if op == b"K":
                state["stroke_cs"] = "DeviceCMYK"
        elif op in (b"m", b"l", b"c"):
            nums = [float(v) / PT_PER_MM for v in operands]
            points.extend(zip(nums[0::2], nums[1::2]))
        elif op in (b"f", b"f*", b"S"):
            stroke = op == b"S"
            out.append({"op": op, "gs": state["gs"], "points": points,
                        "cs": state["stroke_cs" if stroke else "fill_cs"],
                        "colour": state["stroke" if stroke else "fill"]})
            points = []
    return out


def _separation(page, resource: str):
    cs = page["/Resources"]["/ColorSpace"][resource]
    assert cs[0] == "/Separation" and cs[2] == "/DeviceCMYK"
    return str(cs[1]), cs[3].get_object()


def _overprints(page, gs: str) -> bool:
    state = page["/Resources"]["/ExtGState"][gs]
    return state["/OP"].value is True and state["/op"].value is True


def _bounds(points) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def test_insert_white_ink_is_a_spot_colour_over_the_knocked_out_letters(out: Path):
    reader, page = _page(out, "C1")
    trim = _mm(page.trimbox)
    paths = _painted(reader, page)
    (ground,) = [p for p in paths if p["op"] == b"f*"]
    assert ground["cs"] == "DeviceCMYK" and ground["colour"] == [1, 0.5, 0, 0]
    assert not _overprints(page, ground["gs"])  # the ground knocks out
    whites = [p for p in paths if p["op"] in (b"f", b"f*") and p["cs"] != "DeviceCMYK"]
    assert len(whites) == 1
    white = whites[0]
    name, tint = _separation(page, white["cs"])
    assert name == "/White" and white["colour"] == [1]
    # a press without white ink uses the alternate: CMYK 0/0/0/0, nothing printed
    assert [float(v) for v in tint["/C1"]] == [0, 0, 0, 0]
    assert _overprints(page, white["gs"])
    # exactly the holes of the ground: the ground's points less its bleed rectangle
    holes = ground["points"][4:]
    assert sorted(white["points"]) == sorted(holes)  # the same numbers, written by the same code path
    # inside the trim less the 14.4 mm margin
    x0, y0, x1, y1 = _bounds(white["points"])
    assert x0 >= trim[0] + 14.4 - 0.01 and x1 <= trim[2] - 14.4 + 0.01
    assert y0 >= trim[1] + 14.4 - 0.01 and y1 <= trim[3] - 14.4 + 0.01
    # no process white anywhere
    assert all(p["colour"] != [0, 0, 0, 0] for p in paths if p["cs"] == "DeviceCMYK")


def test_insert_has_a_cut_contour_on_the_trim(out: Path):
    reader, page = _page(out, "C1")
    trim = _mm(page.trimbox)
    cuts = [p for p in _painted(reader, page) if p["op"] == b"S" and p["cs"] != "DeviceCMYK"]
    assert len(cuts) == 1
    name, tint = _separation(page, cuts[0]["cs"])
    assert name == "/CutContour" and cuts[0]["colour"] == [1]
    assert _overprints(page, cuts[0]["gs"])
    assert _bounds(cuts[0]["points"]) == pytest.approx(trim, abs=0.01)
    # the crop marks stay K100, between the bleed (3 mm) and the MediaBox (10 mm) outside the trim
    media = _mm(page.mediabox)
    assert media == pytest.approx((trim[0] - 10, trim[1] - 10, trim[2] + 10, trim[3] + 10), abs=0.01)
    marks = [p for p in _painted(reader, page) if p["op"] == b"S" and p["cs"] == "DeviceCMYK"]
    assert len(marks) == 8 and all(p["colour"] == [0, 0, 0, 1] for p in marks)
    for p in marks:
        x0, y0, x1, y1 = _bounds(p["points"])
        assert media[0] - 0.01 <= x0 and x1 <= media[2] + 0.01 and media[1] - 0.01 <= y0 and y1 <= media[3] + 0.01
        gap = max(trim[0] - x1, x0 - trim[2], trim[1] - y1, y0 - trim[3])  # distance outside the trim
        assert gap >= 4 - 0.01, p  # 1 mm clear of the 3 mm bleed


def test_insert_has_no_fonts_and_no_text(out: Path):
    path = out / _entry(out, "C1")["files"]["pdf"]
    listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert len(listed.splitlines()) == 2  # the header only
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert text.strip() == ""
    reader, page = _page(out, "C1")
    ops = {op for _, op in ContentStream(page.get_contents(), reader).operations}
    assert not ops & {b"BT", b"Tj", b"TJ", b"Do", b"sh", b"rg", b"RG", b"g", b"G", b"sc", b"SC"}


def test_production_files_say_what_they_hold(out: Path):
    """A sign maker opening only the production PDF (Document Properties) learns the finished
    size, the colours, the spot colours and the face the outlines were made from."""
    from docgen.render.fonts import role_font

    for form, must in (("B3", ["600×400 mm", "CMYK 0/0/0/100", "CutContour", "136 pt"]),
                       ("C1", ["300×120 mm", "出血 3 mm", "CMYK 100/50/0/0", "White", "CutContour"])):
        reader, _ = _page(out, form)
        subject = reader.metadata["/Subject"]
        for text in must:
            assert text in subject, (form, text, subject)
        role = role_font("plate" if form == "B3" else "insert")
        assert role.face.label in subject
        assert ("替代" in subject) == role.substitute
    # the insert's type size (fitted to the sign) is labelled as such, not appended to the face's name
    subject = _page(out, "C1")[0].metadata["/Subject"]
    assert re.search(r"；字号 \d+\.\d pt；", subject), subject


def test_insert_proof_tells_when_white_ink_is_needed(out: Path):
    text = pdf_text(out / _entry(out, "C1")["files"]["proof_pdf"])
    for label in ("专色White", "白墨", "有机玻璃", "铝合金", "CutContour"):
        assert label in text, label
    assert "(不印白墨,不叠印)" not in text  # the old note: true only on a white substrate


def test_insert_svg_has_the_white_ink_layer(out: Path):
    ns = "{http://www.w3.org/2000/svg}"
    svg = ET.parse(out / _entry(out, "C1")["files"]["svg"]).getroot()
    white = [p for p in svg.iter(f"{ns}path") if p.get("id") == "White"]
    assert len(white) == 1 and white[0].get("d")
    background = [p for p in svg.iter(f"{ns}path") if p.get("id") == "background"][0]
    # the background's path is the 300 x 120 rectangle followed by the letters the White layer fills
    assert background.get("d").split("Z", 1)[1].strip() == white[0].get("d")


@pytest.mark.parametrize("name, word", [("Cut Contour", "white_ink"), ("CutContour", "white_ink"),
                                        ("Black", "white_ink"), ("All", "white_ink")])
def test_white_ink_name_is_checked(tmp_path: Path, name: str, word: str):
    base = SPECS_FILE.read_text(encoding="utf-8")
    old = 'white_ink = { name = "White" }'
    assert old in base
    path = tmp_path / "specs.toml"
    path.write_text(base.replace(old, f'white_ink = {{ name = "{name}" }}'), encoding="utf-8")
    with pytest.raises(DocgenError) as err:
        load_specs(path)
    assert word in err.value.message and str(path) in err.value.message


def test_insert_render_keeps_white_letters_on_blue(out: Path, tmp_path: Path):
    """With the spot layers added, a viewer or proofing RIP still shows white letters, the
    blue ground, and paper outside the bleed."""
    from PIL import Image

    path = out / _entry(out, "C1")["files"]["pdf"]
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", str(path), str(tmp_path / "c")], check=True)
    img = Image.open(tmp_path / "c.png").convert("RGB")
    px = 72 / 25.4
    assert img.size[0] == pytest.approx(320 * px, abs=1) and img.size[1] == pytest.approx(140 * px, abs=1)
    trim = img.crop((int(11 * px), int(11 * px), int(309 * px), int(129 * px)))
    raw = trim.tobytes()
    pixels = [raw[i:i + 3] for i in range(0, len(raw), 3)]
    white = sum(1 for r, g, b in pixels if r > 230 and g > 230 and b > 230)
    blue = sum(1 for r, g, b in pixels if b > 150 and r < 60)
    assert 0.15 < white / len(pixels) < 0.6 and white + blue > 0.97 * len(pixels)
