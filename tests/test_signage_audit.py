"""Prepress audit of the station signs (6.3, appendices B and C): defects found when loading
the plates and insert signs into production, each pinned by a test.

Hand-computed expectations: 136 pt = 136 x 25.4 / 72 = 47.978 mm per em; plate 600 x 400 mm;
insert sign 300 x 120 mm, even margin 12 % of 120 mm = 14.4 mm, C100 M50 = CMYK 1 0.5 0 0.
"""
from __future__ import annotations

import dataclasses
import re
import shutil
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from conftest import EXAMPLES, run_cli
from docgen.errors import DocgenError
from docgen.signage.spec import SPECS_FILE, load_specs

PT_PER_MM = 72 / 25.4
DATE = "2026-11-30"
BASE = SPECS_FILE.read_text(encoding="utf-8")


def _copy_ws(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


def _specs_file(tmp_path: Path, old: str, new: str) -> Path:
    assert BASE.count(old) >= 1, old
    path = tmp_path / "specs.toml"
    path.write_text(BASE.replace(old, new, 1), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- specs.toml


# (what is changed, into what, a word the message must contain)
BAD_SPECS = {
    "negative type size": ("size_pt = 136", "size_pt = -136", "size_pt"),
    "zero type size": ("size_pt = 136", "size_pt = 0", "size_pt"),
    "NaN type size": ("size_pt = 136", "size_pt = nan", "size_pt"),
    "type size as text": ("size_pt = 136", 'size_pt = "136pt"', "size_pt"),
    "zero plate width": ("width = 600", "width = 0", "width"),
    "infinite plate width": ("width = 600", "width = inf", "width"),
    "negative vertical height": ("vertical_height = 600", "vertical_height = -600", "vertical_height"),
    "negative line gap": ("line_gap_em = 0.5 ", "line_gap_em = -5 ", "line_gap_em"),
    "station kind without form": (', "服务站" = "B3" }', " }", "服务站"),
    "unknown plate form": ('"服务站" = "B3" }', '"服务站" = "B9" }', "B9"),
    "form without name": (', B3 = "服务站铜牌" }', " }", "B3"),
    "cut name not a PDF name": ('name = "CutContour"', 'name = "Cut Contour"', "cut_contour"),
    "proof colour not hex": ('proof_material_rgb = "#d9bf77"', 'proof_material_rgb = "gold"',
                             "proof_material_rgb"),
    "insert proof colour not hex": ('proof_background_rgb = "#0068b7"', 'proof_background_rgb = "blue"',
                                    "proof_background_rgb"),
    "zero largest insert size": ("max_size_pt = 200", "max_size_pt = 0", "max_size_pt"),
    "negative bleed": ("bleed = 3 ", "bleed = -3 ", "bleed"),
    "negative crop mark length": ("length = 6.0", "length = -6.0", "crop_marks"),
    "insert margin of half the sign": ("margin_ratio = 0.12", "margin_ratio = 0.5", "margin_ratio"),
    "max_lines as text": ("max_lines = 3                        #", 'max_lines = "3" #', "max_lines"),
    "materials not a list": ('materials = ["铜", "钛合金"]', 'materials = "铜"', "materials"),
    "plate not a table": ("[plate]\n", "plate = 5\n[plate_x]\n", "plate"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_specs_value_is_refused_in_chinese(tmp_path: Path, case: str):
    old, new, key = BAD_SPECS[case]
    path = _specs_file(tmp_path, old, new)
    with pytest.raises(DocgenError) as err:
        load_specs(path)
    message = err.value.message
    assert str(path) in message  # the file that was read, not the package's default
    assert key in message
    assert re.search(r"[\u4e00-\u9fff]", message)
    # no Python exception text leaks through
    for english in ("could not convert", "invalid literal", "object", "Error", "subscriptable"):
        assert english not in message, message


def test_bad_cmyk_names_the_file_that_was_read(tmp_path: Path):
    path = _specs_file(tmp_path, "colour_cmyk = [0, 0, 0, 1]", "colour_cmyk = [0, 0, 0, 100]")
    with pytest.raises(DocgenError) as err:
        load_specs(path)
    assert str(path) in err.value.message and "colour_cmyk" in err.value.message
    assert str(SPECS_FILE) not in err.value.message


def test_bad_insert_size_in_specs_is_not_blamed_on_docgen_toml(tmp_path: Path):
    path = _specs_file(tmp_path, "width = 300", "width = -300")
    with pytest.raises(DocgenError) as err:
        load_specs(path)
    assert str(path) in err.value.message and "[insert] width" in err.value.message
    assert "docgen.toml" not in err.value.message


def test_edited_specs_are_read_again(tmp_path: Path):
    """The watch service runs for days and remakes the signs when specs.toml changes (its
    hash is in every sign's fingerprint): the values must be the new ones, not a cached copy."""
    path = _specs_file(tmp_path, "margin = 30 ", "margin = 30 ")
    assert load_specs(path).plate.margin == 30
    path.write_text(path.read_text(encoding="utf-8").replace("margin = 30 ", "margin = 25 ", 1), encoding="utf-8")
    assert load_specs(path).plate.margin == 25
    path.write_text(path.read_text(encoding="utf-8").replace("margin = 25 ", "margin = -5 ", 1), encoding="utf-8")
    with pytest.raises(DocgenError):
        load_specs(path)


def test_shipped_specs_hold_the_standard_values():
    """6.3.1.3: 方正粗宋简 136 pt 黑100 (K100); 6.3.2.2/6.3.2.3: 方正大黑简, white on C100 M50."""
    specs = load_specs()
    assert specs.plate.size_pt == 136 and specs.plate.colour_cmyk == (0, 0, 0, 1)
    assert specs.plate.font_requested == "方正粗宋简" and specs.insert.font_requested == "方正大黑简"
    assert specs.insert.background_cmyk == (1, 0.5, 0, 0)
    assert specs.plate.forms == {"指导站": "B1", "工作站": "B2", "服务站": "B3"} and specs.insert.form == "C1"
    assert set(specs.plate.materials) == {"铜", "钛合金"}
    assert set(specs.insert.materials) == {"PVC", "有机玻璃", "铝合金"}


# --------------------------------------------------------------------------- SVG and PDF agree


def test_plate_svg_states_the_colour_the_pdf_prints():
    """The SVG's CMYK note must come from the specification, as the PDF's ``k`` does: a plate
    specified in a rich black must not be labelled K100 in the SVG."""
    from docgen.records.load import load_records
    from docgen.signage.layout import plate_layout
    from docgen.signage.outline import sign_font
    from docgen.signage.production import plate_pdf, plate_svg

    ds = load_records([EXAMPLES / "records"], base=EXAMPLES)
    spec = dataclasses.replace(load_specs().plate, colour_cmyk=(0.6, 0.4, 0.4, 1.0))
    layout = plate_layout(ds.stations["nj"], spec, sign_font(spec.font_role))
    pdf = plate_pdf(layout, spec)
    svg = plate_svg(layout, spec).decode("utf-8")
    content = zlib.decompress(pdf.split(b"stream\n", 1)[1].split(b"\nendstream")[0])
    assert b"0.6 0.4 0.4 1 k" in content
    assert 'data-cmyk="60,40,40,100"' in svg and 'data-cmyk="0,0,0,100"' not in svg


def test_proof_states_where_a_changed_type_size_comes_from():
    """The standard fixes the plates at 136 pt; a proof made with another size in specs.toml
    must not claim that size is the standard's."""
    import io

    from docgen.records.load import load_records
    from docgen.signage.layout import plate_layout
    from docgen.signage.outline import sign_font
    from docgen.signage.proof import plate_proof

    ds = load_records([EXAMPLES / "records"], base=EXAMPLES)
    files = {"pdf": "x.pdf", "svg": "x.svg", "png": "x.png"}

    def proof_text(spec) -> str:
        font = sign_font(spec.font_role)
        pdf = plate_proof(plate_layout(ds.stations["nj"], spec, font), spec, font, files, DATE)
        return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))

    standard = load_specs().plate
    assert "136pt" in proof_text(standard) and "按标准固定" in proof_text(standard)
    text = proof_text(dataclasses.replace(standard, size_pt=120))
    assert "120pt" in text and "按标准固定" not in text and "按signage/specs.toml固定（标准为136pt）" in text


@pytest.fixture(scope="module")
def fzm(tmp_path_factory) -> Path:
    """The signs of nj-qh-fzm (秦淮区夫子庙街道后续照管服务站), made once for this module."""
    ws = _copy_ws(tmp_path_factory.mktemp("audit") / "ws")
    out = ws.parent / "out"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj-qh-fzm", "--date", DATE)
    assert done.returncode == 0, done.stderr
    return out


def test_proofs_embed_every_font_they_reference(fzm: Path):
    """A proof travels to the station and the sign maker: every font in it is embedded (no
    Helvetica left to the viewer's substitution)."""
    import subprocess

    for proof in ("B3/nj-qh-fzm-铜牌-校样.pdf", "C1/nj-qh-fzm-插牌-校样.pdf"):
        rows = subprocess.run(["pdffonts", str(fzm / proof)], capture_output=True, text=True,
                              check=True).stdout.splitlines()[2:]
        assert rows
        for row in rows:
            # columns: name type encoding emb sub uni id; "emb" is the 4th from the right
            assert row.split()[-5] == "yes", row


# --------------------------------------------------------------------------- records


def test_broken_station_file_is_named_when_its_signs_are_asked_for(tmp_path: Path):
    ws = _copy_ws(tmp_path / "ws")
    station = ws / "records" / "stations" / "nj-xw-my.yaml"
    station.write_text(station.read_text(encoding="utf-8").replace("乡（镇、街道）: 梅园新村街道\n", ""),
                       encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "o"), "--station", "nj-xw-my",
                   "--date", DATE)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "nj-xw-my.yaml" in last and "有错误" in last, last
    assert not (tmp_path / "o").exists()


def test_all_stations_run_names_the_station_left_out(tmp_path: Path):
    """Without --station the other stations' signs are made; the summary says which station
    record was left out (12 signs of 7 stations less one), not only the loader's lines above."""
    ws = _copy_ws(tmp_path / "ws")
    station = ws / "records" / "stations" / "nj-xw-my.yaml"
    station.write_text(station.read_text(encoding="utf-8").replace("乡（镇、街道）: 梅园新村街道\n", ""),
                       encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "o"), "--date", DATE)
    assert done.returncode == 0, done.stderr
    assert "已生成 12 块标牌" in done.stdout
    assert any("没有制作标牌" in line and "nj-xw-my.yaml" in line for line in done.stderr.splitlines())


@pytest.mark.parametrize("space", ["\u3000", "\u00a0"])
def test_space_inside_station_name_is_refused(tmp_path: Path, space: str):
    """An ideographic or no-break space typed into the township would be engraved as a gap."""
    ws = _copy_ws(tmp_path / "ws")
    station = ws / "records" / "stations" / "nj-xw-my.yaml"
    station.write_text(station.read_text(encoding="utf-8").replace("梅园新村街道", f"梅园{space}新村街道"),
                       encoding="utf-8")
    out = tmp_path / "o"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj-xw-my", "--date", DATE)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"U+{ord(space):04X}" in done.stderr and "第 6 个字是空格" in done.stderr
    assert "乡（镇、街道）" in done.stderr
    assert not out.exists() or not any(out.rglob("*.pdf"))


def test_damaged_manifest_neither_crashes_nor_deletes_outside_the_output(tmp_path: Path):
    """manifest.json is edited by hand or damaged: entries of the wrong shape are dropped, and
    a plate entry of the station's other kind (which signage removes with its files) cannot
    make it delete a file outside the output folder."""
    import json

    ws = _copy_ws(tmp_path / "ws")
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"documents": [
        {"form": "B3", "key": "nj", "unit": "nj", "files": {"pdf": "../victim.txt"}},
        {"form": "B2", "key": "nj-xw", "files": 5}, {"key": 3}, 7]}), encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj", "--date", DATE)
    assert done.returncode == 0, done.stderr
    assert victim.read_text(encoding="utf-8") == "keep me"
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    assert sorted((d["form"], d["key"]) for d in docs) == [("B1", "nj"), ("C1", "nj")]
    (out / "manifest.json").write_text('{"documents": 5, "errors": "x"}', encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", "nj", "--date", DATE)
    assert done.returncode == 0 and "内部错误" not in done.stderr, done.stderr


@pytest.mark.parametrize("edit, expected", [
    (("insert_width_mm = 300", "insert_widht_mm = 200"), "insert_widht_mm"),  # a typo: 300 mm would be used
    (("[signage]\ninsert_width_mm = 300\ninsert_height_mm = 120\n", ""), "signage = 5"),
])
def test_bad_signage_section_of_docgen_toml(tmp_path: Path, edit, expected):
    ws = _copy_ws(tmp_path / "ws")
    cfg = ws / "docgen.toml"
    text = cfg.read_text(encoding="utf-8")
    assert edit[0] in text
    text = text.replace(*edit)
    if expected == "signage = 5":
        text = "signage = 5\n" + text
    cfg.write_text(text, encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "o"), "--station", "nj", "--date", DATE)
    assert done.returncode == 1 and "内部错误" not in done.stderr and "Traceback" not in done.stderr
    assert expected in done.stderr and "insert_width_mm" in done.stderr
    assert not (tmp_path / "o").exists()


def test_output_folder_that_cannot_be_made_is_explained(tmp_path: Path):
    ws = _copy_ws(tmp_path / "ws")
    (tmp_path / "a-file").write_text("x", encoding="utf-8")
    done = run_cli("signage", "-w", str(ws), "--out", str(tmp_path / "a-file" / "signs"), "--station", "nj",
                   "--date", DATE)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "内部错误" not in done.stderr
    assert "无法创建输出目录" in done.stderr and "不是目录" in done.stderr


# --------------------------------------------------------------------------- insert type size


def test_insert_letters_are_sized_from_the_margin(fzm: Path):
    """秦淮区夫子庙街道 | 后续照管服务站 on 300 x 120 mm: margin 14.4 mm, the 8-character line
    spans 300 - 2 x 14.4 = 271.2 mm, so one em is 33.9 mm (96.09 pt); two lines with a 0.3 em
    gap are 2.3 em = 77.97 mm high, 21.0 mm from top and bottom. Measured on the letters cut
    out of the background: every hole lies inside the trim less the margin, and the ideographs'
    ink spans about 0.9-1 em."""
    from fontTools.pens.boundsPen import BoundsPen

    reader = PdfReader(str(fzm / "C1" / "nj-qh-fzm-插牌.pdf"))
    page = reader.pages[0]
    trim = [float(v) / PT_PER_MM for v in (page.trimbox.left, page.trimbox.bottom, page.trimbox.right,
                                            page.trimbox.top)]
    contours, pen, colour = [], None, None
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        nums = [float(v) / PT_PER_MM for v in operands] if op in (b"m", b"l", b"c") else []
        if op == b"k":
            colour = [float(v) for v in operands]
        if op == b"m":
            pen = BoundsPen(None)
            pen.moveTo(tuple(nums))
        elif op == b"l" and pen is not None:
            pen.lineTo(tuple(nums))
        elif op == b"c":
            pen.curveTo(tuple(nums[0:2]), tuple(nums[2:4]), tuple(nums[4:6]))
        elif op == b"h" and pen is not None:
            pen.closePath()
            contours.append(pen.bounds)
            pen = None
        elif op == b"f*":
            break
    assert colour == [1, 0.5, 0, 0]
    holes = [b for b in contours[1:] if b is not None]  # contours[0] is the background rectangle
    x0, y0 = min(b[0] for b in holes), min(b[1] for b in holes)
    x1, y1 = max(b[2] for b in holes), max(b[3] for b in holes)
    margin = 14.4
    assert x0 >= trim[0] + margin - 0.01 and x1 <= trim[2] - margin + 0.01
    assert y0 >= trim[1] + 21.0 - 0.1 and y1 <= trim[3] - 21.0 + 0.1
    em = (300 - 2 * margin) / 8
    assert em == pytest.approx(33.9)
    # the ink of line 1 spans nearly 8 em, the two lines nearly 2.3 em
    assert 7.8 * em <= x1 - x0 <= 8 * em
    assert 2.15 * em <= y1 - y0 <= 2.3 * em
