"""Station signs (6.3, appendices B and C): `docgen signage` end to end.

Expectations are computed by hand from the standard: 136 pt type (47.98 mm per em), plates
600 x 400 mm (400 x 600 vertical), insert signs 300 x 120 mm with 3 mm bleed, K100 text on
plates, C100 M50 background with knocked-out letters on insert signs.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from conftest import EXAMPLES, pdf_text, run_cli

PT_PER_MM = 72 / 25.4
DATE = "2026-11-30"
# station id -> (form, name by the naming rules of 6.1), read off examples/records/stations
STATIONS = {
    "nj": ("B1", "江苏省南京市后续照管指导站"),
    "nj-xw": ("B2", "南京市玄武区后续照管工作站"),
    "nj-qh": ("B2", "南京市秦淮区后续照管工作站"),
    "nj-xw-my": ("B3", "玄武区梅园新村街道后续照管服务站"),
    "nj-xw-xlw": ("B3", "玄武区孝陵卫街道后续照管服务站"),
    "nj-qh-fzm": ("B3", "秦淮区夫子庙街道后续照管服务站"),
    "nj-qh-hwl": ("B3", "秦淮区洪武路街道后续照管服务站"),
}
COLOUR_OPS = {b"k", b"K", b"cs", b"CS", b"sc", b"SC", b"scn", b"SCN", b"rg", b"RG", b"g", b"G"}
FORBIDDEN = {b"rg", b"RG", b"g", b"G", b"sc", b"SC"}


def _copy_ws(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


@pytest.fixture(scope="module")
def signs(tmp_path_factory) -> Path:
    ws = _copy_ws(tmp_path_factory.mktemp("signage") / "ws")
    out = ws.parent / "out"
    out.mkdir()
    # an entry of another command, which signage must keep
    (out / "D").mkdir()
    (out / "D" / "x.pdf").write_bytes(b"%PDF-1.4\n")
    (out / "manifest.json").write_text(json.dumps({"documents": [
        {"form": "D", "key": "x", "files": {"pdf": "D/x.pdf"}, "sha256": {}}], "errors": []}), encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--date", DATE)
    assert done.returncode == 0, done.stderr
    return out


def _manifest(out: Path) -> list[dict]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]


def _entry(out: Path, form: str, key: str) -> dict:
    hits = [d for d in _manifest(out) if d["form"] == form and d["key"] == key]
    assert len(hits) == 1, (form, key)
    return hits[0]


def _page(path: Path):
    reader = PdfReader(str(path))
    assert len(reader.pages) == 1
    return reader, reader.pages[0]


def _mm(box) -> tuple[float, float, float, float]:
    return tuple(float(v) / PT_PER_MM for v in (box.left, box.bottom, box.right, box.top))


def _operations(path: Path) -> list[tuple[list, bytes]]:
    reader, page = _page(path)
    return [(ops, op if isinstance(op, bytes) else op.encode()) for ops, op in
            ContentStream(page.get_contents(), reader).operations]


def _filled_paths(ops) -> list[tuple[list[float], list[tuple[float, float]], bytes]]:
    """(fill colour, points of the path, fill operator) of every filled path."""
    colour, points, out = None, [], []
    for operands, op in ops:
        if op == b"k":
            colour = [float(v) for v in operands]
        elif op in (b"m", b"l", b"c"):
            nums = [float(v) for v in operands]
            points.extend(zip(nums[0::2], nums[1::2]))
        elif op in (b"f", b"f*", b"F", b"B", b"B*", b"b", b"b*"):
            out.append((colour, points, op))
            points = []
        elif op in (b"S", b"s", b"n"):
            points = []
    return out


def _path_bounds(ops) -> list[tuple[float, float, float, float]]:
    """The true bounding box (curve extrema, not control points) of every filled path."""
    from fontTools.pens.boundsPen import BoundsPen

    pen, out = BoundsPen(None), []
    for operands, op in ops:
        nums = [float(v) for v in operands] if op in (b"m", b"l", b"c") else []
        if op == b"m":
            pen.moveTo(tuple(nums))
        elif op == b"l":
            pen.lineTo(tuple(nums))
        elif op == b"c":
            pen.curveTo(tuple(nums[0:2]), tuple(nums[2:4]), tuple(nums[4:6]))
        elif op == b"h":
            pen.closePath()
        elif op in (b"f", b"f*"):
            out.append(pen.bounds)
            pen = BoundsPen(None)
    return out


def _font_glyph_bounds(role: str, char: str) -> tuple[float, float, int]:
    """(width, height, unitsPerEm) of a character's glyph in the font the role uses."""
    from fontTools.pens.boundsPen import BoundsPen
    from fontTools.ttLib import TTFont

    from docgen.render.fonts import role_font

    face = role_font(role).face
    font = TTFont(face.path, fontNumber=face.index if face.path.lower().endswith((".ttc", ".otc")) else -1)
    gs = font.getGlyphSet()
    pen = BoundsPen(gs)
    gs[font.getBestCmap()[ord(char)]].draw(pen)
    x0, y0, x1, y1 = pen.bounds
    return x1 - x0, y1 - y0, font["head"].unitsPerEm


# --------------------------------------------------------------------------- plates


@pytest.mark.parametrize("sid", sorted(STATIONS))
def test_plate_trim_box_is_600_by_400_mm(signs: Path, sid: str):
    form, name = STATIONS[sid]
    entry = _entry(signs, form, sid)
    assert entry["text"] == name
    _, page = _page(signs / entry["files"]["pdf"])
    x0, y0, x1, y1 = _mm(page.trimbox)
    assert abs((x1 - x0) - 600) <= 0.1 and abs((y1 - y0) - 400) <= 0.1
    # etched, no bleed: the page is the plate
    assert _mm(page.mediabox) == pytest.approx((x0, y0, x1, y1), abs=0.1)


@pytest.mark.parametrize("sid", sorted(STATIONS))
def test_plate_is_k100_outlines_without_fonts(signs: Path, sid: str):
    form, name = STATIONS[sid]
    path = signs / _entry(signs, form, sid)["files"]["pdf"]
    ops = _operations(path)
    used = {op for _, op in ops}
    assert not used & FORBIDDEN, used & FORBIDDEN
    assert b"Tj" not in used and b"TJ" not in used and b"BT" not in used
    fills = [(c, op) for c, pts, op in _filled_paths(ops)]
    # one filled path per character, every one K100 (0 0 0 1), non-zero fill
    assert len(fills) == len(name)
    assert all(c == [0, 0, 0, 1] and op == b"f" for c, op in fills)
    assert all(operands == [0, 0, 0, 1] for operands, op in ops if op == b"k")
    _, page = _page(path)
    assert "/Font" not in page["/Resources"]
    listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout.splitlines()
    assert len(listed) == 2  # the header only: no font at all


def test_plate_cut_contour_is_a_separation_stroke(signs: Path):
    path = signs / _entry(signs, "B1", "nj")["files"]["pdf"]
    _, page = _page(path)
    spaces = page["/Resources"]["/ColorSpace"]
    (cs,) = spaces.values()
    assert cs[0] == "/Separation" and cs[1] == "/CutContour" and cs[2] == "/DeviceCMYK"
    ops = _operations(path)
    i = [op for _, op in ops].index(b"SCN")
    assert [op for _, op in ops[i:]].count(b"S") == 1
    assert [float(v) for v in ops[i + 1][0]] == [0.25] and ops[i + 1][1] == b"w"


def test_plate_glyphs_are_136_pt(signs: Path):
    entry = _entry(signs, "B3", "nj-xw-my")
    text = "玄武区梅园新村街道后续照管服务站"
    ops = _operations(signs / entry["files"]["pdf"])
    fills, bounds = _filled_paths(ops), _path_bounds(ops)
    assert len(fills) == len(bounds) == len(text)
    for char, (x0, y0, x1, y1) in zip(text, bounds):
        width, height, upm = _font_glyph_bounds("plate", char)
        assert y1 - y0 == pytest.approx(height * 136 / upm, abs=0.1), char
        assert x1 - x0 == pytest.approx(width * 136 / upm, abs=0.1), char
    # two lines, broken after the place name: the 9 characters of line 1 share a baseline band
    tops = [max(p[1] for p in pts) for _, pts, _ in fills]
    assert min(tops[:9]) > max(tops[9:]) + 100  # line 2 lies a whole em (136 pt) lower
    # each line centred, the block centred: line 2 (7 em) centred on x = 300 mm
    line2 = [p for _, pts, _ in fills[9:] for p in pts]
    centre = (min(p[0] for p in line2) + max(p[0] for p in line2)) / 2
    assert centre / PT_PER_MM == pytest.approx(300, abs=3)


def test_vertical_plate_and_insert_size_setting(tmp_path: Path):
    ws = _copy_ws(tmp_path / "ws")
    cfg = ws / "docgen.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("insert_width_mm = 300", "insert_width_mm = 200")
                   .replace("insert_height_mm = 120", "insert_height_mm = 80"), encoding="utf-8")
    out = tmp_path / "out"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj", "--vertical", "--date", DATE)
    assert done.returncode == 0, done.stderr
    entry = _entry(out, "B1", "nj/竖版")
    _, page = _page(out / entry["files"]["pdf"])
    x0, y0, x1, y1 = _mm(page.trimbox)
    assert abs((x1 - x0) - 400) <= 0.1 and abs((y1 - y0) - 600) <= 0.1
    fills = _filled_paths(_operations(out / entry["files"]["pdf"]))
    assert len(fills) == len("江苏省南京市后续照管指导站")
    # columns right to left: the first column (江苏省南京市) is right of the second
    first = [p[0] for _, pts, _ in fills[:6] for p in pts]
    second = [p[0] for _, pts, _ in fills[6:] for p in pts]
    assert min(first) > max(second)
    # top to bottom within a column
    assert max(p[1] for p in fills[0][1]) > max(p[1] for p in fills[1][1])
    # the insert sign takes its size from docgen.toml [signage]
    _, page = _page(out / _entry(out, "C1", "nj")["files"]["pdf"])
    x0, y0, x1, y1 = _mm(page.trimbox)
    assert (x1 - x0, y1 - y0) == pytest.approx((200, 80), abs=0.1)


def test_name_too_long_for_the_plate_fails_clearly(tmp_path: Path):
    ws = _copy_ws(tmp_path / "ws")
    station = ws / "records" / "stations" / "nj-xw-my.yaml"
    station.write_text(station.read_text(encoding="utf-8").replace("梅园新村街道", "梅园新村东西南北中大街道"),
                       encoding="utf-8")
    out = tmp_path / "out"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--date", DATE)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    # "梅园新村东西南北中大街道" is 12 characters: 12 x 136 pt = 12 x 47.978 = 575.7 mm, against
    # 600 - 2 x 30 = 540 mm: 35.7 mm too long
    assert "nj-xw-my" in done.stderr and "136 pt" in done.stderr
    assert "575.7 mm" in done.stderr and "540.0 mm" in done.stderr and "超出 35.7 mm" in done.stderr
    assert "不会缩小" in done.stderr
    # nothing is written, not even the stations that fit
    assert not out.exists() or not any(out.rglob("*.pdf"))


# --------------------------------------------------------------------------- insert signs


@pytest.mark.parametrize("sid", ["nj", "nj-xw-my"])
def test_insert_sign_boxes_bleed_and_marks(signs: Path, sid: str):
    path = signs / _entry(signs, "C1", sid)["files"]["pdf"]
    _, page = _page(path)
    trim, bleed, media = _mm(page.trimbox), _mm(page.bleedbox), _mm(page.mediabox)
    assert trim[2] - trim[0] == pytest.approx(300, abs=0.1) and trim[3] - trim[1] == pytest.approx(120, abs=0.1)
    assert bleed == pytest.approx((trim[0] - 3, trim[1] - 3, trim[2] + 3, trim[3] + 3), abs=0.05)
    assert media[0] < bleed[0] and media[1] < bleed[1] and media[2] > bleed[2] and media[3] > bleed[3]
    ops = _operations(path)
    assert not {op for _, op in ops} & FORBIDDEN
    fills = _filled_paths(ops)
    # one background path with the letters as holes, then the letters in the white-ink spot
    # colour (test_signage_prepress.py checks that layer)
    assert [op for _, _, op in fills] == [b"f*", b"f"]
    colour, points, op = fills[0]
    assert colour == [1, 0.5, 0, 0] and op == b"f*"
    xs, ys = [p[0] / PT_PER_MM for p in points], [p[1] / PT_PER_MM for p in points]
    assert (min(xs), min(ys), max(xs), max(ys)) == pytest.approx(bleed, abs=0.05)  # fills the bleed box
    inside = [(x, y) for x, y in zip(xs, ys) if trim[0] + 1 < x < trim[2] - 1 and trim[1] + 1 < y < trim[3] - 1]
    assert len(inside) > 100  # the letters' contours
    assert all(operands != [0, 0, 0, 0] for operands, op in ops if op == b"k")  # no white ink
    # crop marks: 8 K100 strokes on the trim lines, entirely outside the bleed
    strokes, start = [], None
    for operands, op in ops:
        if op == b"m":
            start = tuple(float(v) / PT_PER_MM for v in operands)
        elif op == b"l" and start is not None:
            strokes.append((start, tuple(float(v) / PT_PER_MM for v in operands)))
        elif op in (b"f", b"f*"):
            strokes, start = [], None
    marks = [s for s in strokes if s[0][0] == pytest.approx(s[1][0]) or s[0][1] == pytest.approx(s[1][1])]
    marks = [s for s in marks if not (bleed[0] - 0.01 <= s[0][0] <= bleed[2] + 0.01 and
                                      bleed[1] - 0.01 <= s[0][1] <= bleed[3] + 0.01)]
    assert len(marks) == 8
    for (x0, y0), (x1, y1) in marks:
        on_trim = any(abs(v - t) < 0.01 for v in (x0,) for t in (trim[0], trim[2])) and x0 == pytest.approx(x1) \
            or any(abs(v - t) < 0.01 for v in (y0,) for t in (trim[1], trim[3])) and y0 == pytest.approx(y1)
        assert on_trim
        for x, y in ((x0, y0), (x1, y1)):
            assert not (bleed[0] < x < bleed[2] and bleed[1] < y < bleed[3])
    k_stroke = [operands for operands, op in ops if op == b"K"]
    assert k_stroke == [[0, 0, 0, 1]]


def test_insert_letters_render_white_on_blue(signs: Path, tmp_path: Path):
    from PIL import Image

    path = signs / _entry(signs, "C1", "nj-qh")["files"]["pdf"]
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", str(path), str(tmp_path / "c")], check=True)
    img = Image.open(tmp_path / "c.png").convert("RGB")
    # 72 dpi: 1 mm = 72 / 25.4 px; the media box is 320 x 140 mm (10 mm of marks around)
    px = 72 / 25.4

    def at(x_mm: float, y_mm_from_top: float):
        return img.getpixel((int(x_mm * px), int(y_mm_from_top * px)))

    blue = at(10 - 1.5, 70)  # inside the bleed, outside the trim
    assert blue[2] > 150 and blue[0] < 60 and blue[1] < blue[2]  # C100 M50 as poppler shows it
    assert at(3, 3) == (255, 255, 255)  # outside the bleed: paper
    trim = img.crop((int(11 * px), int(11 * px), int(309 * px), int(129 * px)))
    raw = trim.tobytes()
    pixels = [raw[i:i + 3] for i in range(0, len(raw), 3)]
    white = sum(1 for r, g, b in pixels if r > 230 and g > 230 and b > 230)
    assert 0.15 < white / len(pixels) < 0.6  # the letters, knocked out


# --------------------------------------------------------------------------- SVG, proofs, manifest


def test_svg_is_paths_in_millimetres(signs: Path):
    ns = "{http://www.w3.org/2000/svg}"
    plate = ET.parse(signs / _entry(signs, "B3", "nj-qh-fzm")["files"]["svg"]).getroot()
    assert plate.get("width") == "600mm" and plate.get("height") == "400mm"
    assert plate.get("viewBox") == "0 0 600 400"
    assert not list(plate.iter(f"{ns}text"))
    assert len([p for p in plate.iter(f"{ns}path") if p.get("d")]) == len("秦淮区夫子庙街道后续照管服务站")
    insert = ET.parse(signs / _entry(signs, "C1", "nj-qh-fzm")["files"]["svg"]).getroot()
    assert insert.get("width") == "300mm" and insert.get("viewBox") == "0 0 300 120"
    assert not list(insert.iter(f"{ns}text"))


def test_proofs_state_the_specification(signs: Path):
    from PIL import Image

    from docgen.render.fonts import role_font

    plate = _entry(signs, "B2", "nj-xw")
    text = pdf_text(signs / plate["files"]["proof_pdf"])
    for label in ("B2工作站铜牌", "南京市玄武区后续照管工作站", "600mm(宽)×400mm(高)", "铜、钛合金", "方正粗宋简",
                  "136pt", "CMYK0/0/0/100", "2026年11月30日"):
        assert label in text, label
    assert ("替代字体" in text) == role_font("plate").substitute
    insert = _entry(signs, "C1", "nj-xw")
    text = pdf_text(signs / insert["files"]["proof_pdf"])
    for label in ("C1工作机构插牌", "PVC、有机玻璃、铝合金", "方正大黑简", "CMYK100/50/0/0", "出血3mm", "300mm(宽)×120mm(高)"):
        assert label in text, label
    assert ("替代字体" in text) == role_font("insert").substitute
    with Image.open(signs / plate["files"]["proof_png"]) as img:
        assert img.format == "PNG" and img.height / img.width == pytest.approx(297 / 210, rel=0.01)


def test_manifest_lists_every_sign_and_keeps_other_entries(signs: Path):
    docs = _manifest(signs)
    assert any(d["form"] == "D" and d["key"] == "x" for d in docs)
    for sid, (form, _) in STATIONS.items():
        for code in (form, "C1"):
            entry = _entry(signs, code, sid)
            assert set(entry["files"]) == {"pdf", "svg", "proof_pdf", "proof_png"}
            assert all((signs / rel).is_file() for rel in entry["files"].values())
    assert sorted(d["form"] for d in docs if d["form"] != "D") == sorted(
        ["B1", "B2", "B2"] + ["B3"] * 4 + ["C1"] * 7)


def test_output_is_deterministic(signs: Path, tmp_path: Path):
    ws = _copy_ws(tmp_path / "ws")
    out = tmp_path / "out"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj-xw-my", "--date", DATE)
    assert done.returncode == 0, done.stderr
    for form in ("B3", "C1"):
        again = _entry(out, form, "nj-xw-my")
        first = _entry(signs, form, "nj-xw-my")
        for kind in ("pdf", "svg", "proof_pdf"):
            assert (out / again["files"][kind]).read_bytes() == (signs / first["files"][kind]).read_bytes(), kind


def test_bad_input_gives_chinese_messages(tmp_path: Path):
    ws = _copy_ws(tmp_path / "ws")
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "o"), "--station", "nope")
    assert done.returncode != 0 and "没有编号为 nope 的站点" in done.stderr and "Traceback" not in done.stderr
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "o"), "--date", "30.11.2026")
    assert done.returncode != 0 and "日期" in done.stderr and "Traceback" not in done.stderr
    cfg = ws / "docgen.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("insert_height_mm = 120", 'insert_height_mm = "高"'),
                   encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "o"))
    assert done.returncode != 0 and "insert_height_mm" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o").exists()


def test_licensed_font_in_fonts_dir_is_used(tmp_path: Path):
    """A font named 方正粗宋简体 dropped into the fonts folder serves the plate (no substitute
    warning); a character it lacks is set in the substitute and named on the proof."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    from docgen.render.fonts import cache_dir, role_font

    noto = role_font("plate").fallback or role_font("plate").face
    font = TTFont(noto.path, fontNumber=noto.index)
    options = subset.Options()
    options.name_IDs = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(text="玄武区园新村街道后续照管服务站")  # 梅 left out
    sub.subset(font)
    names = font["name"]
    names.names = [r for r in names.names if r.nameID not in (1, 4, 16, 17)]
    for nid, text in ((1, "方正粗宋简体"), (4, "方正粗宋简体"), (16, "方正粗宋简体")):
        names.setName(text, nid, 3, 1, 0x804)
        names.setName("FZCuSong-B09S", nid, 3, 1, 0x409)
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    font.save(fonts / "FZCuSong.otf")
    cache = tmp_path / "cache"
    cache.mkdir()
    # spare the child process a rescan of the system fonts and the conversion of the proof fonts
    index = cache_dir() / "font-index.json"
    if index.exists():
        shutil.copy(index, cache / "font-index.json")
    if (cache_dir() / "fonts").is_dir():
        (cache / "fonts").symlink_to(cache_dir() / "fonts")
    ws = _copy_ws(tmp_path / "ws")
    out = tmp_path / "out"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj-xw-my", "--date", DATE,
                   env={"DOCGEN_FONTS_DIR": str(fonts), "DOCGEN_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr
    entry = _entry(out, "B3", "nj-xw-my")
    assert entry["substitute_font"] is False and entry["font"].startswith("FZCuSong-B09S")
    assert entry["fallback_chars"] == "梅" and "梅" in done.stderr
    text = pdf_text(out / entry["files"]["proof_pdf"])
    assert "FZCuSong.otf" in text and "替代字体" not in text and "补字！" in text
    fills = _filled_paths(_operations(out / entry["files"]["pdf"]))
    assert len(fills) == len("玄武区梅园新村街道后续照管服务站")
