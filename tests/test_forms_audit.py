"""Audit of the generated forms against the standard's appendices: defects found by looking at
every form with long values (the longest name the record model accepts, long addresses and
remarks) and many rows. Each test failed before its fix."""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from pypdf import PdfReader

from conftest import EXAMPLES, normalise, pdf_text, run_cli
from docgen.documents.registry import get_form

# 30 characters: the longest 姓名 the record model accepts (records/model.py, Person._name)
LONG_NAME = "阿卜杜热合曼·买买提明·艾力·阿不都热西提·吐尔逊江·阿布拉"
assert len(LONG_NAME) == 30


def _pages(pdf: bytes) -> list[str]:
    return [normalise(p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages]


def _mini_workspace(tmp_path: Path, persons: dict[str, str]) -> Path:
    """The example stations and institutions with the given person records only."""
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive", "persons", "events",
                                                                 "logs"))
    (ws / "records" / "persons").mkdir()
    for name, text in persons.items():
        (ws / "records" / "persons" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return ws


PERSON = """\
记录类型: 照管对象
编号: A001
姓名: {name}
性别: 男
身份证号码: "320104198003071552"
户籍所在地: 江苏省南京市秦淮区夫子庙街道贡院西街114号8幢604室
联系方式: "13814132114"
服务站: nj-qh-fzm
强制隔离戒毒:
  戒毒所: dh
  期限: 2年
  入所时间: 2024-11-20
  出所时间: 2026-11-10
{extra}事件:
  - {{类型: 报到, 日期: 2026-11-13}}
{events}"""


# --------------------------------------------------------------------------- U


def test_person_cover_stays_on_one_page_with_the_longest_name() -> None:
    """U is a cover: one page even when the name (30 characters) and the 培育人 wrap to two
    lines; before, the year was pushed onto a second page."""
    form = get_form("U")
    view = {"u": {"name": LONG_NAME, "mentor": "阿卜杜热合曼·买买提明·艾力·阿不都热西提·吐尔逊江",
                  "unit": "秦淮区夫子庙街道后续照管服务站", "year": "2026"}}
    pages = _pages(form.render_pdf(view))
    assert len(pages) == 1
    text = pages[0]
    assert normalise(LONG_NAME) in text and "2026年" in text and "秦淮区夫子庙街道后续照管服务站" in text
    # the short name of the examples keeps the same single page
    assert len(_pages(form.render_pdf({"u": {"name": "钱国栋", "unit": "x", "year": "2024"}}))) == 1


# --------------------------------------------------------------------------- J


def test_help_record_prints_the_events_remark(tmp_path: Path) -> None:
    """J has a 备注 row; the 备注 of the 帮扶 event was dropped (only 注5–注7 printed there)."""
    import docx

    events = ("  - 类型: 帮扶\n    日期: 2026-11-18\n    事项类型: 心理咨询\n    帮扶救助需求: 情绪低落\n"
              "    备注: 已转介市心理援助中心跟进\n")
    ws = _mini_workspace(tmp_path, {"A001": PERSON.format(name="钱国栋", extra="", events=events)})
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "J")
    assert r.returncode == 0, r.stderr
    pdf = out / "J" / "A001-钱国栋" / "2026-11-18.pdf"
    text = pdf_text(pdf)
    assert "已转介市心理援助中心跟进" in text
    # the remark sits in the 备注 row, before the notes of the appendix
    assert text.index("备注") < text.index("已转介市心理援助中心跟进") < text.index(normalise("注5："))
    doc_text = "".join(c.text for t in docx.Document(str(pdf.with_suffix(".docx"))).tables
                       for row in t.rows for c in row.cells)
    assert "已转介市心理援助中心跟进" in doc_text and "注5" in doc_text


# --------------------------------------------------------------------------- F / K


def _docx_text(path: Path) -> str:
    import docx

    d = docx.Document(str(path))
    body = d.element.body
    return normalise("".join(t.text or "" for t in body.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t")))


def test_notice_docx_carries_its_roster(tmp_path: Path) -> None:
    """The notice says the roster (花名册) is sent with it, and the PDF prints it after the
    sheet; the editable DOCX held the sheet only."""
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    out = tmp_path / "out"
    for kind in ("F", "K"):
        r = run_cli("notice", "issue", "--workspace", str(ws), "--kind", kind, "--institution", "dh",
                    "--station", "nj", "--month", "2026-11", "--date", "2026-11-30", "--out", str(out))
        assert r.returncode == 0, r.stderr
    f_pdf, = (out / "F").glob("*.pdf")
    k_pdf, = (out / "K").glob("*.pdf")
    # the example records: 东湖 releases 钟文杰, 夏雨桐 and 田永福 (南京 households) in 2026-12,
    # 钟文杰 is cultivated (K)
    for pdf, title, names in ((f_pdf, "预解戒人员花名册", ["钟文杰", "夏雨桐", "田永福"]),
                              (k_pdf, "戒毒典型培育对象花名册", ["钟文杰"])):
        assert title in pdf_text(pdf)
        text = _docx_text(pdf.with_suffix(".docx"))
        assert title in text, pdf.name
        assert all(n in text for n in names), pdf.name
        assert "东湖戒[2026]1号附件" in text and "身份证号码" in text and "户籍所在地" in text
    assert "共3人" in _docx_text(f_pdf.with_suffix(".docx"))


def test_blank_notice_docx_has_the_roster_page() -> None:
    """docgen blank F / K: the PDF stays the one-page sheet; the DOCX (one layout with the
    roster) names the notice on its roster page instead of printing 《》 and 共人."""
    import docx

    for code, title in (("F", "预解戒人员花名册"), ("K", "戒毒典型培育对象花名册")):
        form = get_form(code)
        assert len(_pages(form.render_pdf(form.blank_view()))) == 1
        d = docx.Document(io.BytesIO(form.render_docx(form.blank_view())))
        raw = "".join(t.text or "" for t in d.element.body.iter(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"))
        assert title in raw and f"《{form.name}》" in raw and "None" not in raw
        # the blanks are full-width spaces to write in, not nothing
        assert "《》" not in raw and "共人" not in raw and "发文单位：；" not in raw


# --------------------------------------------------------------------------- a cell taller than a page


def test_text_taller_than_a_page_continues_on_the_next_pages(tmp_path: Path) -> None:
    """Rows are never split across pages; a single 帮扶救助需求 of 4,000 characters (about 125
    lines of 12 pt in a 140 mm cell: taller than the 250 mm text area) ended in
    "内部错误：LayoutError: Flowable <Table@0x…>" and no document. Now the text continues in
    rows below, on the next pages, and nothing is lost."""
    phrase = "家庭困难，需要帮助。"
    seen = normalise(phrase)  # full-width comma read as half-width
    events = ("  - 类型: 帮扶\n    日期: 2026-11-18\n    事项类型: 心理咨询\n    帮扶救助需求: "
              + phrase * 400 + "\n    受理意见: 同意受理\n    负责人: 张伟\n    备注: 已转介\n")
    ws = _mini_workspace(tmp_path, {"A001": PERSON.format(name="钱国栋", extra="", events=events)})
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "J")
    assert r.returncode == 0, r.stderr
    pdf = out / "J" / "A001-钱国栋" / "2026-11-18.pdf"
    pages = [normalise(p.extract_text() or "") for p in PdfReader(str(pdf)).pages]
    text = "".join(pages)
    # 4,000 characters of 12 pt in a 140 mm wide cell need about 125 lines: 3 pages or more
    assert len(pages) >= 3
    assert text.count(seen) == 400
    # the rest of the form follows the text, in order, once
    assert text.index(seen) < text.index("受理意见") < text.index("同意受理") < text.index("负责人签名:张伟")
    assert text.count("受理意见") == 1 and text.index("负责人签名:张伟") < text.index("已转介") < text.index("注5")


def test_long_log_entry_keeps_the_repeated_header() -> None:
    """T: one entry of 4,500 characters continues over pages, each page starting with the
    header row of the log; the entries after it follow."""
    form = get_form("T")
    entry = "走访照管对象家庭。" * 500
    view = {"t": {"unit": "梅园新村街道", "year": "2026", "month": "11",
                  "entries": [{"date": "11月2日", "content": entry, "notes": ""},
                              {"date": "11月3日", "content": "参加例会", "notes": ""}]}}
    pages = _pages(form.render_pdf(view))
    assert len(pages) >= 3
    for i, page in enumerate(pages[1:], 2):
        assert "工作内容" in page, f"page {i} without the header row"
    # the page footers and repeated headers taken out, the text reads on across the breaks
    text = re.sub(r"第\d+页共\d+页|日期工作内容备注", "", "".join(pages))
    assert text.count("走访照管对象家庭。") == 500
    assert text.index("11月2日") < text.rindex("走访照管对象家庭。") < text.index("参加例会")


def test_long_text_inside_a_spanned_label_and_in_the_family_rows(tmp_path: Path) -> None:
    """The tall row sits under a label spanning several rows (I: 回访主要内容 over five
    rows; D: 家庭成员及主要社会关系 over the relation rows): the span is cut around the
    break. Before, I failed with a LayoutError and D with reportlab's own TypeError."""
    form = get_form("I")
    view = {"i": {"name": "钱国栋", "abstinence": "保持操守", "thoughts": "稳定", "family": "家庭和睦，" * 700,
                  "social": "交往正常", "employment": "在快餐店工作"}}
    pages = _pages(form.render_pdf(view))
    text = "".join(pages)
    assert len(pages) >= 3 and text.count(normalise("家庭和睦，")) == 700
    order = ["回访主要内容", "操守保持", "个人思想", "家庭关系", "社会交往", "交往正常", "就业状况", "在快餐店工作", "注1"]
    positions = [text.index(normalise(x)) for x in order]
    assert positions == sorted(positions)
    # D through the CLI: a relation whose 工作单位 alone is taller than a page
    extra = ("家庭成员及主要社会关系:\n  - {与本人关系: 母亲, 姓名: 吴雅琴, 联系电话: \"15171510119\"}\n"
             "  - 与本人关系: 妻子\n    姓名: 徐丽娟\n    工作单位: " + "南京市秦淮区某某公司，" * 300 + "\n"
             "  - {与本人关系: 儿子, 姓名: 钱天佑}\n后续照管建议: 建议关注就业\n")
    ws = _mini_workspace(tmp_path, {"A001": PERSON.format(name="钱国栋", extra=extra, events="")})
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "D")
    assert r.returncode == 0, r.stderr
    text = pdf_text(out / "D" / "A001-钱国栋.pdf")
    assert text.count(normalise("某某公司，")) == 300
    assert text.index("吴雅琴") < text.index("徐丽娟") < text.index("钱天佑") < text.index("建议关注就业")
