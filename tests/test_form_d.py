"""Fonts and form D end to end (issue 2)."""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from conftest import EXAMPLES, form_spec, normalise, pdf_text, run_cli

from docgen.records.load import load_records

D_NOTES = ["注1", "注2", "注3", "注4", "注5"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """The examples built once (form D only) into a private output folder."""
    tmp = tmp_path_factory.mktemp("d")
    ws = tmp / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    out = tmp / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "D")
    assert r.returncode == 0, r.stderr
    return ws, out


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def test_every_person_gets_pdf_and_docx(built):
    ws, out = built
    ds = load_records([ws / "records"])
    docs = [d for d in manifest(out)["documents"] if d["form"] == "D"]
    assert {d["person"] for d in docs} == set(ds.persons)
    for d in docs:
        assert set(d["files"]) == {"pdf", "docx"}
        for rel in d["files"].values():
            f = out / rel
            assert f.exists() and f.stat().st_mode & 0o077 == 0
    assert manifest(out)["errors"] == []


def test_pdf_holds_every_label_notes_and_the_name(built):
    ws, out = built
    ds = load_records([ws / "records"])
    labels = form_spec("D")["labels"]
    for d in manifest(out)["documents"]:
        if d["form"] != "D":
            continue
        text = pdf_text(out / d["files"]["pdf"])
        missing = [l for l in labels if normalise(l) not in text]
        assert not missing, (d["files"]["pdf"], missing)
        for note in form_spec("D")["notes"]:
            assert normalise(note) in text
        person = ds.persons[d["person"]]
        assert normalise(person.name) in text, person.id
        assert normalise("后续照管（戒毒典型培育）对象信息表") in text


def test_rare_characters_print_and_extract(built):
    """Names with 堃 / 𠮷 (outside the BMP) are drawn from an embedded font and extract back."""
    ws, out = built
    ds = load_records([ws / "records"])
    rare = [p for p in ds.persons.values() if any(ord(c) > 0xFFFF or c in "堃喆赟·" for c in p.name)]
    assert rare, "the examples must contain rare-character names"
    docs = {d["person"]: d for d in manifest(out)["documents"] if d["form"] == "D"}
    for p in rare:
        pdf = out / docs[p.id]["files"]["pdf"]
        assert normalise(p.name) in pdf_text(pdf)
        raw = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert p.name in raw


def test_fonts_are_embedded_subsets_and_nothing_else(built):
    """Each face is one Type0 font whose embedded TrueType program holds exactly the glyphs
    the page shows (glyph n draws code n), with a subset tag of its own."""
    _, out = built
    d = next(d for d in manifest(out)["documents"] if d["form"] == "D")
    reader = PdfReader(str(out / d["files"]["pdf"]))
    page = reader.pages[0]
    fonts = {}
    for key, f in page["/Resources"]["/Font"].items():
        f = f.get_object()
        assert f["/Subtype"] == "/Type0" and f["/Encoding"] == "/Identity-H"
        cid = f["/DescendantFonts"][0].get_object()
        assert cid["/Subtype"] == "/CIDFontType2" and cid["/CIDToGIDMap"] == "/Identity"
        program = cid["/FontDescriptor"].get_object()["/FontFile2"].get_data()
        fonts[key] = (str(f["/BaseFont"]), TTFont(io.BytesIO(program)))
    names = [name for name, _ in fonts.values()]
    assert all(re.match(r"/[A-Z]{6}\+", name) for name in names), names
    faces = [name.split("+", 1)[1] for name in names]
    assert len(faces) == len(set(faces)), faces  # one font per face, not one per 256 glyphs
    used = {key: set() for key in fonts}
    current = None
    content = page.get_contents().get_data()
    for m in re.finditer(rb"(/F\d+) [\d.]+ Tf|\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
        if m.group(1):
            current = m.group(1).decode()
            continue
        data = re.sub(rb"\\([0-7]{1,3}|.)",
                      lambda e: bytes([int(e.group(1), 8)]) if e.group(1)[:1].isdigit() else e.group(1),
                      m.group(2), flags=re.S)
        assert len(data) % 2 == 0  # 2-byte codes
        used[current] |= {int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)}
    for key, (name, tt) in fonts.items():
        glyphs = tt["maxp"].numGlyphs
        assert used[key] and max(used[key]) == glyphs - 1, name  # no glyph the page does not use
        assert 0 not in used[key], name  # nothing printed as .notdef
        assert tt["glyf"][tt.getGlyphOrder()[1]].numberOfContours > 0, name


def test_one_page_for_typical_data(built):
    ws, out = built
    for d in manifest(out)["documents"]:
        if d["form"] == "D":
            assert d["pages"] == 1, d["files"]["pdf"]


def test_docx_reopens_with_east_asian_fonts_and_merged_cells(built):
    _, out = built
    d = next(d for d in manifest(out)["documents"] if d["form"] == "D" and d["person"] == "NJ2026001")
    doc = Document(str(out / d["files"]["docx"]))
    text = "".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "王堃" in text and "家庭成员" in text and "None" not in text
    rfonts = list(doc.element.body.iter(qn("w:rFonts")))
    assert rfonts and all(r.get(qn("w:eastAsia")) for r in rfonts)
    xml = doc.element.xml
    assert "w:gridSpan" in xml and "w:vMerge" in xml
    # the family-relations loop: at least the five rows of the appendix
    table = doc.tables[0]
    assert any(r.cells[1].text == "母亲" for r in table.rows)


def test_long_text_wraps_inside_its_cell(tmp_path):
    """A very long 本人简历 makes the row grow (text stays inside the page, nothing clipped)."""
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    p = ws / "records" / "persons" / "NJ2026001.yaml"
    long_line = "在南京市某某区某某街道某某社区从事物流配送和仓储管理工作，期间多次调换岗位。" * 12
    text = p.read_text(encoding="utf-8").replace("2015年至入所前 无固定职业", "2015年至入所前 " + long_line)
    p.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "D", "--format", "pdf")
    assert r.returncode == 0, r.stderr
    d = next(d for d in manifest(out)["documents"] if d.get("person") == "NJ2026001")
    pdf = out / d["files"]["pdf"]
    # every character of the long text is in the PDF (nothing clipped)
    assert normalise(long_line) in pdf_text(pdf)
    # and the text stays within the table's side borders: pdftotext -bbox gives word boxes
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True).stdout
    xs = [float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox)]
    assert max(xs) < 595.3 - 16 * 72 / 25.4 + 1  # right margin of the page


def test_empty_optional_fields_print_empty_never_none(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    persons = ws / "records" / "persons"
    minimal = """记录类型: 照管对象
编号: NJ2026900
姓名: 测试空白
性别: 女
身份证号码: "320104199008222342"
户籍所在地: 江苏省南京市秦淮区夫子庙街道贡院街1号
服务站: nj-qh-fzm
强制隔离戒毒:
  戒毒所: ns
  出所时间: 2026-12-20
"""
    (persons / "NJ2026900.yaml").write_text(minimal, encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "D")
    assert r.returncode == 0, r.stderr
    d = next(d for d in manifest(out)["documents"] if d.get("person") == "NJ2026900")
    text = pdf_text(out / d["files"]["pdf"])
    assert "None" not in text and "测试空白" in text
    doc = Document(str(out / d["files"]["docx"]))
    assert "None" not in "".join(c.text for t in doc.tables for r in t.rows for c in r.cells)


def test_output_is_deterministic(built, tmp_path):
    ws, out = built
    out2 = tmp_path / "again"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out2), "--forms", "D")
    assert r.returncode == 0, r.stderr
    for d in manifest(out)["documents"]:
        if d["form"] != "D":
            continue
        for rel in d["files"].values():
            assert (out / rel).read_bytes() == (out2 / rel).read_bytes(), rel
    assert (out / "manifest.json").read_bytes() == (out2 / "manifest.json").read_bytes()


def test_character_no_font_has_is_an_error_naming_it(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    p = ws / "records" / "persons" / "NJ2026001.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("曾用名: 王小坤", "曾用名: 王小\U00030000"), encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "D")
    assert r.returncode == 1
    assert "U+30000" in r.stderr and "曾用名" in r.stderr and "NJ2026001" in r.stderr
    assert "Traceback" not in r.stderr
    m = manifest(out)
    assert any("U+30000" in e["message"] for e in m["errors"])
    # the others were still built, this person's D was not
    assert any(d["form"] == "D" for d in m["documents"])
    assert not any(d.get("person") == "NJ2026001" for d in m["documents"])


def test_wrong_check_digit_in_a_copy_fails_with_file_and_line(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    p = ws / "records" / "persons" / "NJ2026001.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("320102198503141235", "320102198503141230"),
                 encoding="utf-8")
    r = run_cli("validate", "--workspace", str(ws))
    assert r.returncode == 1
    line = next(i for i, l in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if "身份证号码" in l)
    assert f"records/persons/NJ2026001.yaml:{line}:" in r.stderr and "校验码" in r.stderr


def test_fonts_command_shows_roles_and_substitutes():
    r = run_cli("fonts")
    assert r.returncode == 0, r.stderr
    for label in ("标题", "正文", "表格", "铜牌", "插牌"):
        assert label in r.stdout
    assert "方正小标宋简体" in r.stdout and "Noto" in r.stdout


def test_dropped_in_licensed_font_is_used_by_family_name(tmp_path):
    """A font whose family name is 仿宋_GB2312, put into the fonts folder, serves the body role."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", fontNumber=2)
    sub = subset.Subsetter(subset.Options())
    sub.populate(text="仿宋测试后续照管服务协议书")
    sub.subset(font)
    for rec in font["name"].names:
        if rec.nameID in (1, 4, 16):
            rec.string = "仿宋_GB2312"
    fonts_dir = tmp_path / "fonts"
    fonts_dir.mkdir()
    font.save(fonts_dir / "fangsong.otf")
    r = run_cli("fonts", env={"DOCGEN_FONTS_DIR": str(fonts_dir)})
    assert r.returncode == 0, r.stderr
    body = next(l for l in r.stdout.splitlines() if l.startswith("正文"))
    assert "fangsong.otf" in body and "官方字体" in body and "替代" not in body
    # the same font in a workspace's own fonts/ folder is used for that workspace
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    shutil.copytree(fonts_dir, ws / "fonts")
    r = run_cli("fonts", "--workspace", str(ws), env={"DOCGEN_FONTS_DIR": ""})
    body = next(l for l in r.stdout.splitlines() if l.startswith("正文"))
    assert str(ws / "fonts" / "fangsong.otf") in body and "官方字体" in body
    r = run_cli("fonts", env={"DOCGEN_FONTS_DIR": ""})
    assert "fangsong.otf" not in r.stdout


def test_templates_are_current():
    r = run_cli("templates", "--check", "--forms", "D")
    assert r.returncode == 0, r.stderr + r.stdout


def test_blank_d(tmp_path, workspace):
    r = run_cli("blank", "D", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    pdf = next(tmp_path.glob("*.pdf"))
    # without --out, into the workspace's output folder; outside a workspace, a clear error
    r = run_cli("blank", "D", "--workspace", str(workspace), "--format", "pdf")
    assert r.returncode == 0, r.stderr
    assert list((workspace / "output" / "空白表").glob("D-*.pdf"))
    r = run_cli("blank", "D", cwd=tmp_path, env={"DOCGEN_WORKSPACE": ""})
    assert r.returncode == 2 and "--out" in r.stderr
    text = pdf_text(pdf)
    assert all(normalise(l) in text for l in form_spec("D")["labels"])
