"""Forms E G H I J M O T U V W: labels, column counts, pagination, blanks, XLSX, DOCX validity."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import form_spec, normalise, pdf_text, run_cli
from docgen.records.idcard import check_digit

MY_FORMS = "E,G,H,I,J,M,O,T,U,V,W"
TABULAR = {"G": 15, "M": 15, "O": 14}


def _labels(code: str) -> list[str]:
    return [normalise(x) for x in form_spec(code).get("labels", [])]


def _trim_examples(records: Path, keep_plain: int = 4) -> None:
    """Keep the example persons every form needs (agreement, 社区康复, 典型培育, visits, help)
    and a few others, so that the module fixture builds in seconds, not minutes."""
    import yaml

    keep: set[str] = set()
    plain = 0
    files = sorted((records / "persons").glob("*.yaml"))
    for f in files:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        special = any(k in data for k in ("社区康复", "典型培育"))
        if special or plain < keep_plain:
            keep.add(str(data["编号"]))
            plain += not special
        else:
            f.unlink()
    for f in sorted(records.rglob("*.yaml")):
        if f.parent.name == "persons":
            continue
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("记录类型") == "事件" and str(data.get("对象")) not in keep:
            f.unlink()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The example workspace built once for all my forms, month 2026-11."""
    from conftest import EXAMPLES

    root = tmp_path_factory.mktemp("forms")
    ws = root / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    _trim_examples(ws / "records")
    out = root / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", MY_FORMS, "--month", "2026-11")
    assert r.returncode == 0, r.stderr
    return out


def _pdfs(out: Path, code: str) -> list[Path]:
    return sorted((out / code).rglob("*.pdf"))


@pytest.mark.parametrize("code", MY_FORMS.split(","))
def test_every_form_is_built_with_all_labels(built: Path, code: str) -> None:
    pdfs = _pdfs(built, code)
    assert pdfs, f"no {code} produced"
    labels = _labels(code)
    for pdf in pdfs[:3]:
        text = pdf_text(pdf)
        missing = [lab for lab in labels if lab not in text]
        assert not missing, f"{pdf.name}: missing {missing}"
        title = form_spec(code).get("title", "")
        fixed = [normalise(p) for p in re.split(r"\{[^}]*\}", title) if p]
        assert all(part in text for part in fixed), f"{pdf.name}: title {title}"


def test_notes_printed_verbatim(built: Path) -> None:
    g = pdf_text(_pdfs(built, "G")[0])
    for note in form_spec("G")["notes"]:
        assert normalise(note) in g
    i = pdf_text(_pdfs(built, "I")[0])
    assert normalise("注4：以上谈话大纲可谈其中几点") in i and normalise("结束时给予美好祝福。") in i


@pytest.mark.parametrize("code,columns", sorted(TABULAR.items()))
def test_column_counts_in_docx_and_xlsx(built: Path, code: str, columns: int) -> None:
    import docx
    import openpyxl

    docx_file = sorted((built / code).rglob("*.docx"))[0]
    table = docx.Document(str(docx_file)).tables[0]
    assert len(table.columns) == columns
    grid = table._tbl.tblGrid.findall("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}gridCol")
    assert len(grid) == columns
    header = table.rows[0]._tr
    assert header.trPr is not None and header.trPr.find(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}tblHeader") is not None
    xlsx_file = docx_file.with_suffix(".xlsx")
    ws = openpyxl.load_workbook(xlsx_file).active
    assert ws.max_column == columns
    header_cells = [normalise(str(c.value or "")) for c in ws[2]]
    assert header_cells[:2] == ["序号", "姓名"] or header_cells[:2] == ["序号", "队别"]
    sheet_text = "".join(normalise(str(c.value)) for row in ws.iter_rows() for c in row if c.value is not None)
    missing = [lab for lab in _labels(code) if lab not in sheet_text]
    assert not missing, missing


def test_xlsx_headers_for_log(built: Path) -> None:
    import openpyxl

    xlsx = sorted((built / "T").rglob("*.xlsx"))
    assert xlsx
    ws = openpyxl.load_workbook(xlsx[0]).active
    values = [normalise(str(c.value or "")) for row in ws.iter_rows() for c in row]
    for label in ("日期", "工作内容", "备注"):
        assert label in values


def test_docx_convert_with_libreoffice(built: Path, tmp_path: Path) -> None:
    import docx

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("LibreOffice (soffice) 未安装，无法检查 DOCX 能否正常打开")
    files = [sorted((built / code).rglob("*.docx"))[0] for code in MY_FORMS.split(",")]
    for f in files:
        docx.Document(str(f))  # python-docx reopens every file
    r = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "pdf",
                        "--outdir", str(tmp_path / "pdf"), *map(str, files)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    for f in files:
        out = tmp_path / "pdf" / (f.stem + ".pdf")
        assert out.exists() and len(PdfReader(str(out)).pages) >= 1, f


# --------------------------------------------------------------------------- a synthetic workspace

STATIONS = """\
记录类型: 站点
编号: nj
类型: 指导站
设区的市: 南京市
联系人: 周文静
联系电话: 025-83591234
---
记录类型: 站点
编号: nj-xw
类型: 工作站
设区的市: 南京市
县（市、区）: 玄武区
上级: nj
---
记录类型: 站点
编号: nj-xw-my
类型: 服务站
设区的市: 南京市
县（市、区）: 玄武区
乡（镇、街道）: 梅园新村街道
上级: nj-xw
报到地址: {路: 汉府街, 号: 12号}
联系人: 刘芳
联系电话: "13813900001"
"""

INSTITUTION = """\
记录类型: 戒毒所
编号: dh
名称: 江苏省东湖强制隔离戒毒所
代字: 东湖
"""


def _id(n: int, birth: str = "19850314") -> str:
    first = f"320102{birth}{n:02d}1"  # 17th digit odd: male
    return first + check_digit(first)


def _person(n: int, release: str, household: str = "江苏省南京市玄武区长江后街1号", extra: str = "",
            events: str | None = "  - {类型: 报到, 日期: 2026-01-05}") -> str:
    """A person record; ``events=None`` leaves the events out (not yet reported)."""
    text = (f"记录类型: 照管对象\n编号: P{n:03d}\n姓名: 测试{n:03d}号\n性别: 男\n身份证号码: \"{_id(n)}\"\n"
            f"户籍所在地: {household}\n服务站: nj-xw-my\n联系方式: \"139{n:08d}\"\n"
            f"强制隔离戒毒:\n  戒毒所: dh\n  期限: 2年\n  入所时间: 2024-10-20\n  出所时间: {release}\n{extra}")
    return text + (f"事件:\n{events}\n" if events else "")


def _workspace(root: Path, persons: list[str]) -> Path:
    ws = root / "ws"
    rec = ws / "records"
    (rec / "persons").mkdir(parents=True)
    (ws / "docgen.toml").write_text('[paths]\nrecords = "records"\n', encoding="utf-8")
    for i, text in enumerate(STATIONS.split("---\n")):
        (rec / f"station{i}.yaml").write_text(text, encoding="utf-8")
    (rec / "dh.yaml").write_text(INSTITUTION, encoding="utf-8")
    for i, text in enumerate(persons):
        (rec / "persons" / f"p{i:03d}.yaml").write_text(text, encoding="utf-8")
    return ws


def test_sixty_person_roster_paginates_with_repeated_headers(tmp_path: Path) -> None:
    persons = [_person(n, "2026-01-01") for n in range(1, 60)]
    long_home = "江苏省南京市玄武区梅园新村街道长江后街十二号三幢五零二室（与母亲同住，另在秦淮区有一处租住房屋，每周往返）"
    persons.append(_person(60, "2026-01-01", extra=f"现居住地: {long_home}\n"))
    ws = _workspace(tmp_path, persons)
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "O", "--month", "2026-11")
    assert r.returncode == 0, r.stderr
    pdf = out / "O" / "2026-11" / "nj-xw-my-梅园新村街道.pdf"
    pages = [normalise(p.extract_text() or "") for p in PdfReader(str(pdf)).pages]
    n = len(pages)
    assert n >= 3  # 60 rows of at least 7.5 mm do not fit on two landscape pages
    # 后续照管＿＿站 filled as in P, Q and S
    assert pages[0].startswith("后续照管梅园新村街道服务站2026年度11月份在册后续照管人员花名册")
    for i, text in enumerate(pages, 1):
        for label in ("序号", "姓名", "身份证号", "原戒毒场所", "照管状况"):
            assert label in text, f"page {i} lacks header {label}"
        assert f"第{i}页共{n}页" in text
    everything = "".join(pages)
    assert normalise(long_home) in everything  # wrapped inside its cell, the row grows
    assert all(f"测试{k:03d}号" in everything for k in range(1, 61))
    # each row prints once: 60 persons plus nothing else numbered
    assert everything.count("在册照管") == 60
    # the 工作站 and 指导站 roll the same 60 people up
    assert "测试060号" in pdf_text(out / "O" / "2026-11" / "nj-南京市.pdf")


def test_release_roster_selects_city_and_month(tmp_path: Path) -> None:
    import openpyxl

    persons = [
        _person(1, "2026-11-05", events=None),
        _person(2, "2026-10-31", events=None),
        _person(3, "2026-11-20", household="江苏省苏州市姑苏区干将路1号", events=None),
        _person(4, "2026-11-30", extra="社区康复: {期限: 3年}\n服务协议: {签订日期: 2026-10-01}\n", events=None),
    ]
    ws = _workspace(tmp_path, persons)
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "G,H,E", "--month", "2026-11")
    assert r.returncode == 0, r.stderr
    g = out / "G" / "2026-11" / "nj-南京市.pdf"
    text = pdf_text(g)
    assert "2026年11月南京市籍预解戒人员信息汇总表" in text
    assert "测试001号" in text and "测试004号" in text
    assert "测试002号" not in text and "测试003号" not in text
    sheet = openpyxl.load_workbook(g.with_suffix(".xlsx")).active
    values = [c.value for row in sheet.iter_rows() for c in row if c.value is not None]
    # dates as text 0000-00-00 (注1): 强戒起日 and 强戒止日 (2 years from 2024-10-20, no reduction)
    assert "2024-10-20" in values and "2026-10-19" in values and "1985-03-14" in values
    assert "是" in values and "3年" in values  # agreement and 责令社康建议期限 of person 4
    # H: first proposal of 东湖 for release year 2026 is number 1, stable on rebuild
    h = out / "H" / "P004-测试004号.pdf"
    assert "司法东湖戒社康建议字[2026]1号" in pdf_text(h)
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "H", "--month", "2026-11")
    assert r.returncode == 0 and "司法东湖戒社康建议字[2026]1号" in pdf_text(h)
    # E: 社区康复 person, not yet reported: the clause is added, the care dates stay blank
    e = pdf_text(out / "E" / "P004-测试004号.pdf")
    assert "照管期限与社区康复期限一致" in e and "江苏省南京市后续照管指导站" in e
    assert "汉府街" in e and "刘芳" in e and "13813900001" in e


def test_visits_and_help_one_document_per_event(tmp_path: Path) -> None:
    events = ("  - {类型: 报到, 日期: 2026-01-05}\n"
              "  - {类型: 回访, 日期: 2026-02-01, 方式: 电话回访, 操守保持: 良好}\n"
              "  - {类型: 回访, 日期: 2026-03-01, 方式: 见面回访, 就业状况: 已就业}\n"
              "  - {类型: 帮扶, 日期: 2026-03-02, 事项类型: 救助财物, 帮扶救助需求: 生活困难, 金额（元）: 500}\n")
    ws = _workspace(tmp_path, [_person(1, "2026-01-01", events=events)])
    out = tmp_path / "out"
    r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "I,J")
    assert r.returncode == 0, r.stderr
    visits = sorted((out / "I").rglob("*.pdf"))
    assert [p.stem for p in visits] == ["2026-02-01", "2026-03-01"]
    assert "电话回访" in pdf_text(visits[0]) and "已就业" in pdf_text(visits[1])
    assert "梅园新村街道后续照管服务站跟踪回访记录表" in pdf_text(visits[0])
    helps = sorted((out / "J").rglob("*.pdf"))
    assert len(helps) == 1
    text = pdf_text(helps[0])
    assert "救助财物" in text and "500元" in text


@pytest.mark.parametrize("code", MY_FORMS.split(","))
def test_blank_forms(tmp_path: Path, code: str) -> None:
    """Every form prints empty (the view ``docgen blank`` uses), with all its labels."""
    from docgen.documents.registry import get_form

    form = get_form(code)
    pdf = tmp_path / f"{code}.pdf"
    pdf.write_bytes(form.render_pdf(form.blank_view()))
    text = pdf_text(pdf)
    assert all(lab in text for lab in _labels(code))
    assert "None" not in text
    docx_bytes = form.render_docx(form.blank_view())
    import docx

    docx.Document(io.BytesIO(docx_bytes))


def test_blank_roster_has_rows_to_write_in(tmp_path: Path) -> None:
    import docx

    r = run_cli("blank", "O", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    table = docx.Document(str(next(tmp_path.glob("*.docx")))).tables[0]
    # header + 15 empty rows + 备注
    assert len(table.rows) == 17
    assert all(not c.text.strip() for row in table.rows[1:16] for c in row.cells)
    assert "第1页共1页" in pdf_text(next(tmp_path.glob("*.pdf")))


def test_pdf_blanks_keep_their_width(tmp_path: Path) -> None:
    """Ideographic-space blanks must print as space, not collapse (the agreement's blanks)."""
    r = run_cli("blank", "E", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    raw = PdfReader(str(next(tmp_path.glob("*.pdf")))).pages[0].extract_text()
    m = re.search(r"号码(\s*)。", raw)
    assert m and len(m.group(1)) >= 10, repr(raw[:200])


def test_form_files_are_deterministic(tmp_path: Path) -> None:
    persons = [_person(n, "2026-01-01", extra="服务协议: {签订日期: 2025-12-20}\n") for n in range(1, 4)]
    ws = _workspace(tmp_path, persons)
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        r = run_cli("build", "--workspace", str(ws), "--out", str(out), "--forms", "O,E", "--month", "2026-11")
        assert r.returncode == 0, r.stderr
        outs.append(out)
    files = sorted(p for p in outs[0].rglob("*.*") if p.suffix in (".pdf", ".docx", ".xlsx"))
    assert len(files) >= 9
    for f in files:
        assert f.read_bytes() == (outs[1] / f.relative_to(outs[0])).read_bytes(), f
