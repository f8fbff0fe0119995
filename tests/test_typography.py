"""CJK typography of the PDF renderer: line-breaking rules (禁则), justification, 公文 measure."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from docgen.documents.layout import Layout, Para
from docgen.render.pdf import render_pdf

# hand-picked from GB/T 15834: marks that must not start / must not end a line
FORBIDDEN_START = set("，。、；：？！）》」』”’")
FORBIDDEN_END = set("（《「『“‘")

PUNCTUATED = ("根据《禁毒法》、《戒毒条例》等规定，双方（甲方、乙方）在自愿、平等基础上签订协议：“一、甲方提供"
              "咨询；二、乙方报到！”是否履行？「照管」『服务』。‘戒毒’，（康复）。《条例》；“问”？"
              "（《条例》）。”“（《法》）”，") * 4
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext missing")


def _lines(pdf: bytes, tmp_path) -> list[str]:
    src = tmp_path / "t.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(src), "-"],
                         capture_output=True, check=True).stdout.decode("utf-8")
    return [ln.strip() for ln in out.splitlines() if ln.strip()]


def _layout(text: str, width_mm: float, size: float = 12.0, align: str = "left", **kw) -> Layout:
    side = (210 - width_mm) / 2
    return Layout([Para(text, align=align, size=size, **kw)], margins=(20.0, side, 20.0, side))


@pytest.mark.parametrize("width_mm", [41.0, 47.5, 53.0, 60.0, 77.0, 102.0])
@pytest.mark.parametrize("align", ["left", "justify"])
def test_no_line_starts_or_ends_with_forbidden_punctuation(tmp_path, width_mm, align):
    pdf = render_pdf(_layout(PUNCTUATED, width_mm, align=align), {})
    lines = _lines(pdf, tmp_path)
    assert len(lines) > 5
    for ln in lines:
        assert ln[0] not in FORBIDDEN_START, ln
        assert ln[-1] not in FORBIDDEN_END, ln
    # nothing lost or duplicated by the line breaking
    assert "".join(lines).replace(" ", "") == PUNCTUATED


def test_numbers_are_not_broken_inside(tmp_path):
    text = "身份证号码" + "甲" * 17 + "320102199001011234，登记日期2026年11月30日。"
    lines = _lines(render_pdf(_layout(text, 60.0), {}), tmp_path)
    assert any("320102199001011234" in ln for ln in lines), lines


def test_justified_paragraph_split_over_pages(tmp_path):
    # a justified paragraph longer than a page, with underlined blanks: renders without crash
    text = ("一、甲方为帮助乙方顺利融入社会，巩固戒毒成果，通过电话、面谈等方式提供<u>咨询　　</u>和辅导；") * 60
    pdf = render_pdf(Layout([Para(text, align="justify", size=16, leading=28.9, indent=2)]), {})
    lines = _lines(pdf, tmp_path)
    assert "".join(lines).replace(" ", "").count("巩固戒毒成果") == 60
    for ln in lines:
        assert ln[0] not in FORBIDDEN_START, ln


def test_gov_body_holds_28_characters_per_line(tmp_path):
    # GB/T 9704: 156 mm measure, 16 pt body, 28 characters a full line, 22 lines a page
    from docgen.documents._forms3 import GOV_BODY_PT, GOV_LEADING, GOV_MARGINS
    from docgen.documents.ev_agreements import GOV_BODY_CHAR_SPACE

    text = "国" * (28 * 30)
    layout = Layout([Para(text, align="justify", size=GOV_BODY_PT, leading=GOV_LEADING,
                          char_space=GOV_BODY_CHAR_SPACE)], margins=GOV_MARGINS)
    pdf = render_pdf(layout, {})
    lines = _lines(pdf, tmp_path)
    counts = [len(ln.replace(" ", "")) for ln in lines]
    assert counts[0] == 28 and set(counts) == {28}, counts
    import pypdf, io

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    first = reader.pages[0].extract_text()
    assert first.count("国") == 28 * 22


@pytest.mark.parametrize("code, title", [("F", "预解戒人员信息对接通知书"), ("K", "培育对象信息对接通知书")])
def test_counterfoil_mark_on_title_line(tmp_path, code, title):
    from conftest import run_cli

    r = run_cli("blank", code, "--out", str(tmp_path), "--format", "pdf")
    assert r.returncode == 0, r.stderr
    (pdf,) = tmp_path.glob(f"{code}-*.pdf")
    lines = _lines(pdf.read_bytes(), tmp_path)
    assert lines[0].startswith(title + "（底联）"), lines[0]
    assert not any(ln == "（底联）" for ln in lines)
    # the panels obey the line-breaking rules too (checked on the leftmost text of each line)
    for ln in lines:
        assert ln[0] not in FORBIDDEN_START, ln


def test_roster_number_columns_hold_numbers_in_substitute_fonts(tmp_path):
    """O roster DOCX: dates, the 18-character ID number and phone numbers fit on one line even
    in LibreOffice's substitute Latin font (DejaVu Sans: a digit is 1303/2048 em, "-" 739/2048,
    "X" 1403/2048), within Word's default cell margins (2 x 108 twips)."""
    import docx
    from conftest import run_cli

    r = run_cli("blank", "O", "--out", str(tmp_path), "--format", "docx")
    assert r.returncode == 0, r.stderr
    (path,) = tmp_path.glob("O-*.docx")
    table = docx.Document(str(path)).tables[0]
    header = [c.text.replace("\n", "") for c in table.rows[0].cells]
    body = table.rows[1]
    digit, hyphen, x = 1303 / 2048, 739 / 2048, 1403 / 2048
    needs = {"出生日期": 8 * digit + 2 * hyphen, "出所日期": 8 * digit + 2 * hyphen,
             "身份证号": 17 * digit + x, "联系方式": 11 * digit}
    for label, em in needs.items():
        cell = body.cells[header.index(label)]
        size = cell.paragraphs[0].runs[0].font.size.pt
        width = cell.width.pt - 2 * 108 / 20
        assert em * size <= width, (label, em * size, width)


def test_the_last_clause_of_an_agreement_stays_with_its_signatures(tmp_path):
    """GB/T 9704 sets the agreements at 22 lines a page, so E runs onto a second page: the
    clause that page begins with is the whole last one (四), on the page of the signatures that
    sign it, never a stray line or two above them; the DOCX asks Word for the same."""
    import docx
    from pypdf import PdfReader

    from conftest import EXAMPLES, run_cli

    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(EXAMPLES), "--out", str(out), "--forms", "E,V", "-q")
    assert r.returncode == 0, r.stderr
    for form, last in (("E", "四、本协议一式两份"), ("V", "四、本协议一式两份")):
        pdfs = sorted((out / form).glob("*.pdf"))
        assert pdfs
        for pdf in pdfs[:3]:
            pages = [p.extract_text().replace(" ", "").replace("\n", "") for p in PdfReader(pdf).pages]
            signed = next(i for i, text in enumerate(pages) if "乙方(签名)" in text)
            begins = next(i for i, text in enumerate(pages) if last in text)
            assert begins == signed, (pdf.name, begins, signed)
        doc = docx.Document(str(pdfs[0].with_suffix(".docx")))
        [para] = [p for p in doc.paragraphs if p.text.replace(" ", "").startswith(last)]
        assert para.paragraph_format.keep_with_next
    assert len(PdfReader(sorted((out / "E").glob("*.pdf"))[0]).pages) == 2  # (the case in point)
