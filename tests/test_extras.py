"""X1-X4: the four documents the standard requires without giving a template.

Everything goes through the CLI (``docgen build`` / ``docgen blank``) on a copy of the
example workspace, or through ``person_card_pdf`` (the public function the notice
bundle uses). Expectations are read off the records or computed by hand (A4 is
210 × 297 mm; ten 90 × 54 mm cards in 2 columns and 5 rows leave 15 mm left and right
and 13.5 mm top and bottom).
"""
from __future__ import annotations

import re
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import ContentStream

from docgen.records.idcard import check_digit
from docgen.records.load import load_records
from docgen.records.model import TERMINATION_GROUNDS

from conftest import EXAMPLES, form_spec, normalise, pdf_text, run_cli

MM = 72 / 25.4
CODES = ("X1", "X2", "X3", "X4")

# a person added to the workspace copy: released 2025-11-20, reported 2025-12-10 (late:
# the ten days end on 2025-11-30), so the care period runs 2025-12-10 .. 2026-12-09 and
# the 期满 appraisal falls due in December 2026
LATE_ID = "320102199001011230"[:17]
LATE_ID += check_digit(LATE_ID)
LATE = f"""记录类型: 照管对象
编号: TX0001
姓名: 测试甲
性别: 男
身份证号码: "{LATE_ID}"
户籍所在地: 江苏省南京市玄武区梅园新村街道测试路1号
服务站: nj-xw-my
跟踪回访责任人: 刘芳
强制隔离戒毒:
  戒毒所: dh
  出所时间: 2025-11-20
服务协议:
  签订日期: 2025-10-30
事件:
  - {{类型: 报到, 日期: 2025-12-10, 思想状况: 情绪低落，愿意配合}}
"""


def _copy_examples(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The examples plus the late person, X1-X4 built once (PDF and DOCX)."""
    ws = _copy_examples(tmp_path_factory.mktemp("extras") / "ws")
    (ws / "records" / "persons" / "TX0001.yaml").write_text(LATE, encoding="utf-8")
    r = run_cli("build", "--forms", "X1,X2,X3,X4", "--format", "pdf,docx", "-q", "--workspace", str(ws))
    assert r.returncode == 0, r.stderr
    return ws


@pytest.fixture(scope="module")
def ds(built):
    data = load_records([built / "records"], base=built)
    assert data.errors == []
    return data


def manifest(ws: Path) -> list[dict]:
    return json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))["documents"]


def entries(ws: Path, code: str) -> list[dict]:
    return [d for d in manifest(ws) if d["form"] == code]


def labels_missing(code: str, text: str) -> list[str]:
    return [lab for lab in form_spec(code)["labels"] if normalise(lab) not in text]


# --------------------------------------------------------------------------- what is built


def test_one_document_per_case(built, ds):
    reported = {pid for pid, p in ds.persons.items() if any(e.kind == "报到" for e in p.events)}
    ended = {pid for pid, p in ds.persons.items() if any(e.kind == "期满" for e in p.events)}
    terminated = {pid for pid, p in ds.persons.items() if any(e.kind == "终止" for e in p.events)}
    assert ended and terminated and "TX0001" in reported
    assert {d["person"] for d in entries(built, "X4")} == reported
    assert {d["person"] for d in entries(built, "X2")} == ended  # no --month: no pre-filled ones
    assert {d["person"] for d in entries(built, "X3")} == terminated
    assert {d["unit"] for d in entries(built, "X1")} == set(ds.stations)
    for code in CODES:
        for d in entries(built, code):
            assert set(d["files"]) == {"pdf", "docx"}
            for rel in d["files"].values():
                assert (built / "output" / rel).stat().st_size > 0


@pytest.mark.parametrize("code", CODES)
def test_every_pdf_prints_the_labels_and_the_design_footer(built, code):
    for d in entries(built, code):
        text = pdf_text(built / "output" / d["files"]["pdf"])
        assert labels_missing(code, text) == [], d["files"]["pdf"]
        assert "非标准附录表式" in text and "docgen" in text


def test_x2_is_filled_from_the_expiry_event(built, ds):
    for d in entries(built, "X2"):
        p = ds.persons[d["person"]]
        e = next(e for e in p.events if e.kind == "期满")
        text = pdf_text(built / "output" / d["files"]["pdf"])
        for value in (p.name, p.id_number, e.appraisal, e.abstinence, e.social, e.thoughts_state or e.thoughts):
            if value:
                assert normalise(value) in text, value
        assert f"{e.date.year}年{e.date.month}月{e.date.day}日" in text  # seal date


def test_x2_prefilled_when_owed_in_the_period(built, ds, tmp_path):
    out = tmp_path / "out"
    r = run_cli("build", "--forms", "X2", "--month", "2026-12", "--format", "pdf", "-q", "--out", str(out),
                "--workspace", str(built))
    assert r.returncode == 0, r.stderr
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    pre = [d for d in docs if d.get("period") == "2026-12"]
    assert "TX0001" in {d["person"] for d in pre}
    # people already appraised get no second one, and keep their filled one
    ended = {pid for pid, p in ds.persons.items() if any(e.kind == "期满" for e in p.events)}
    assert not ended & {d["person"] for d in pre}
    assert ended == {d["person"] for d in docs if not d.get("period")}
    mine = next(d for d in pre if d["person"] == "TX0001")
    assert mine["files"]["pdf"].startswith("X2/待鉴定/2026-12/")
    text = pdf_text(out / mine["files"]["pdf"])
    assert "测试甲" in text and "2026年12月9日" in text  # care ends a year after 2025-12-10, less a day
    assert labels_missing("X2", text) == []


def test_appraisal_owed_from_the_last_day_of_care(ds):
    from docgen.documents.x2_appraisal import appraisal_owed

    late = ds.persons["TX0001"]  # reported 2025-12-10: care ends 2026-12-09
    assert not appraisal_owed(late, dt.date(2026, 12, 8))
    assert appraisal_owed(late, dt.date(2026, 12, 9))
    ended = [p for p in ds.persons.values() if any(e.kind == "期满" for e in p.events)]
    terminated = [p for p in ds.persons.values() if any(e.kind == "终止" for e in p.events)]
    assert not any(appraisal_owed(p, dt.date(2030, 1, 1)) for p in ended + terminated)


def test_due_list_names_x2_when_owed(built, ds):
    from docgen.documents.x2_appraisal import appraisal_owed

    r = run_cli("due", "--as-of", "2026-11-30", "--json", "--workspace", str(built))
    assert r.returncode == 0, r.stderr
    due = {i["person"] for i in json.loads(r.stdout)["items"] if i.get("form") == "X2"}
    assert "TX0001" in due  # care ends 2026-12-09, within the 30 days the due list looks ahead
    # the due list and the pre-filled X2 agree on who owes an appraisal
    assert due == {pid for pid, p in ds.persons.items() if appraisal_owed(p, dt.date(2026, 12, 30))}


def test_x3_ticks_the_recorded_ground(built, ds):
    assert entries(built, "X3")
    for d in entries(built, "X3"):
        p = ds.persons[d["person"]]
        e = next(e for e in p.events if e.kind == "终止")
        text = pdf_text(built / "output" / d["files"]["pdf"])
        for ground in TERMINATION_GROUNDS:
            box = "☑" if ground == e.ground else "☐"
            assert box + normalise(ground) in text, (d["person"], ground)
        assert sum(("☑" + normalise(g)) in text for g in TERMINATION_GROUNDS) == 1
        assert "☑同意终止" not in text  # the 指导站's decision is written by hand
        if e.facts:
            assert normalise(e.facts) in text


def test_check_boxes_are_real_text_in_an_embedded_font(built):
    d = entries(built, "X3")[0]
    reader = PdfReader(str(built / "output" / d["files"]["pdf"]))
    fonts = reader.pages[0]["/Resources"]["/Font"]
    names = {str(f.get_object()["/BaseFont"]) for f in fonts.values()}
    assert any("DocgenSymbols" in n for n in names)
    for f in fonts.values():
        desc = f.get_object().get("/FontDescriptor") or f.get_object()["/DescendantFonts"][0].get_object().get("/FontDescriptor")
        if desc is not None:
            desc = desc.get_object()
            assert any(k in desc for k in ("/FontFile2", "/FontFile3", "/FontFile")), "font not embedded"


def test_x4_report_on_time_and_late(built, ds):
    d = next(d for d in entries(built, "X4") if d["person"] == "TX0001")
    text = pdf_text(built / "output" / d["files"]["pdf"])
    # released 2025-11-20: the ten days run to 2025-11-30; reported 2025-12-10, ten days late
    assert "2025年11月30日" in text and "否(逾期10日)" in text
    assert "2025年12月10日至2026年12月9日" in text
    assert "情绪低落,愿意配合" in text and "刘芳" in text
    # an example person who reported within the ten days
    for d in entries(built, "X4"):
        p = ds.persons[d["person"]]
        rep = next(e for e in p.events if e.kind == "报到").date
        if (rep - p.detention.release).days <= 10:
            assert "按期报到是" in pdf_text(built / "output" / d["files"]["pdf"])
            break
    else:
        pytest.fail("no example person reported on time")


def test_docx_reopens_with_the_data(built, ds):
    from docx import Document

    d = next(d for d in entries(built, "X2"))
    doc = Document(str(built / "output" / d["files"]["docx"]))
    text = normalise("".join(c.text for t in doc.tables for row in t.rows for c in row.cells))
    assert normalise(ds.persons[d["person"]].name) in text and "鉴定意见" in text
    assert "{{" not in text and "None" not in text
    footer = "".join(p.text for p in doc.sections[0].footer.paragraphs)
    assert "非标准附录表式" in footer
    card = next(d for d in entries(built, "X1") if d["unit"] == "nj-xw-my")
    doc = Document(str(built / "output" / card["files"]["docx"]))
    t = doc.tables[0]
    assert len(t.rows) == 5 and len(t.columns) == 2
    assert all(abs(row.height.mm - 54) < 0.1 for row in t.rows)
    assert all(abs(col.width.mm - 90) < 0.1 for col in t.columns)
    assert "汉府街12号" in t.cell(4, 1).text and "{{" not in t.cell(4, 1).text


@pytest.mark.parametrize("code", CODES)
def test_blank_forms(tmp_path, code):
    r = run_cli("blank", code, "--out", str(tmp_path), "--format", "pdf,docx")
    assert r.returncode == 0, r.stderr
    pdf = next(tmp_path.glob(f"{code}-*.pdf"))
    text = pdf_text(pdf)
    assert labels_missing(code, text) == []
    assert "None" not in text
    assert next(tmp_path.glob(f"{code}-*.docx")).stat().st_size > 0
    if code == "X3":
        assert all("☐" + normalise(g) in text for g in TERMINATION_GROUNDS)


# --------------------------------------------------------------------------- the card sheet


def _drawing(pdf: bytes) -> tuple[list[tuple[float, float, float, float]], list[tuple[str, float, float]], tuple]:
    """Stroked line segments and text fragments (with their start points), in mm."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    ops = ContentStream(page.get_contents(), reader).operations
    ctm = [1, 0, 0, 1, 0, 0]
    stack, path, segments = [], [], []

    def apply(m, x, y):
        return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]

    def mul(a, b):  # a then b
        return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5]]

    for operands, op in ops:
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop()
        elif op == b"cm":
            ctm = mul([float(v) for v in operands], ctm)
        elif op == b"m":
            path = [apply(ctm, float(operands[0]), float(operands[1]))]
        elif op == b"l":
            path.append(apply(ctm, float(operands[0]), float(operands[1])))
        elif op == b"S":
            for (x1, y1), (x2, y2) in zip(path, path[1:]):
                segments.append((x1 / MM, y1 / MM, x2 / MM, y2 / MM))
            path = []
        elif op == b"n":
            path = []
    texts = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x, y = apply(cm, tm[4], tm[5])
            texts.append((text, x / MM, y / MM))

    page.extract_text(visitor_text=visit)
    box = tuple(float(v) / MM for v in page.mediabox)
    return segments, texts, box


def _card_of(x: float, y: float, xs: list[float], ys: list[float]) -> tuple[int, int] | None:
    for c in range(len(xs) - 1):
        for r in range(len(ys) - 1):
            if xs[c] < x < xs[c + 1] and ys[r] < y < ys[r + 1]:
                return c, r
    return None


def _check_sheet(pdf: bytes, cols: int, rows: int) -> list[tuple[str, float, float]]:
    segments, texts, box = _drawing(pdf)
    assert box[2] - box[0] == pytest.approx(210, abs=0.05) and box[3] - box[1] == pytest.approx(297, abs=0.05)
    xs = [15 + 90 * c for c in range(cols + 1)]  # card edges, by hand: (210 - 2 * 90) / 2 = 15
    ys = [283.5 - 54 * r for r in range(rows + 1)][::-1]  # (297 - 5 * 54) / 2 = 13.5 from the top
    inside = lambda x, y: xs[0] - 0.01 <= x <= xs[-1] + 0.01 and ys[0] - 0.01 <= y <= ys[-1] + 0.01
    marks = [s for s in segments if not (inside(s[0], s[1]) and inside(s[2], s[3]))]
    for x1, y1, x2, y2 in marks:
        for x, y in ((x1, y1), (x2, y2)):  # inside the printable area (5 mm from the paper edge)
            assert 5 <= x <= 205 and 5 <= y <= 292, (x, y)
        if x1 == pytest.approx(x2, abs=0.01):  # vertical mark: on a card edge, above or below the block
            assert any(x1 == pytest.approx(x, abs=0.01) for x in xs)
            assert min(y1, y2) >= ys[-1] or max(y1, y2) <= ys[0]
        else:
            assert y1 == pytest.approx(y2, abs=0.01)
            assert any(y1 == pytest.approx(y, abs=0.01) for y in ys)
            assert min(x1, x2) >= xs[-1] or max(x1, x2) <= xs[0]
        assert abs(x2 - x1) + abs(y2 - y1) == pytest.approx(5, abs=0.01)
    # every card edge is marked at both ends
    v = {(round(s[0], 2), min(s[1], s[3]) > ys[-1]) for s in marks if s[0] == pytest.approx(s[2], abs=0.01)}
    h = {(round(s[1], 2), min(s[0], s[2]) > xs[-1]) for s in marks if s[1] == pytest.approx(s[3], abs=0.01)}
    assert v == {(round(x, 2), side) for x in xs for side in (True, False)}
    assert h == {(round(y, 2), side) for y in ys for side in (True, False)}
    # decorations drawn inside the cards stay 4 mm inside the card edges
    for s in segments:
        if s not in marks:
            cell = _card_of((s[0] + s[2]) / 2, s[1], xs, ys)
            assert cell is not None
            c, r = cell
            assert xs[c] + 3.9 <= min(s[0], s[2]) and max(s[0], s[2]) <= xs[c + 1] - 3.9
    # each card holds one title; card text starts inside its card with the padding
    titles = [t for t in texts if "后续照管服务联系卡" in t[0]]
    assert len({_card_of(x, y, xs, ys) for _, x, y in titles}) == len(titles) == cols * rows
    for text, x, y in texts:
        if y > ys[0]:
            cell = _card_of(x, y, xs, ys)
            assert cell is not None, (text, x, y)
            c, r = cell
            assert xs[c] + 3.9 <= x and ys[r] + 3.9 <= y <= ys[r + 1] - 3.9, (text, x, y)
        else:  # the footer, below the cards and above the printable limit
            assert 5 <= y and 5 <= x <= 205
    return texts


def test_card_sheet_geometry(built):
    d = next(d for d in entries(built, "X1") if d["unit"] == "nj-xw-my")
    texts = _check_sheet((built / "output" / d["files"]["pdf"]).read_bytes(), 2, 5)
    text = normalise("".join(t for t, _, _ in texts))
    assert text.count("南京市玄武区汉府街12号") == 10 and text.count("13813900001") == 10


def test_geometry_function_matches_hand_computation():
    from docgen.documents.x1_card import sheet_geometry

    geo = sheet_geometry()
    assert geo.cards[0] == (15, 229.5, 90, 54) and geo.cards[-1] == (105, 13.5, 90, 54)
    assert len(geo.marks) == 2 * 3 + 2 * 6


def test_person_card_for_the_notice_bundle(ds):
    from docgen.documents.x1_card import person_card_pdf

    p = ds.persons["TX0001"]
    pdf = person_card_pdf(ds, p)
    assert pdf == person_card_pdf(ds, p)  # deterministic
    texts = _check_sheet(pdf, 1, 1)
    text = normalise("".join(t for t, _, _ in texts))
    st = ds.stations[p.station]
    for value in ("测试甲", p.officer, st.phone, st.display_name, "十日内"):
        assert normalise(value) in text


def test_builds_are_byte_identical(built, tmp_path):
    out = tmp_path / "again"
    r = run_cli("build", "--forms", "X1,X3", "--format", "pdf", "-q", "--out", str(out), "--workspace", str(built))
    assert r.returncode == 0, r.stderr
    again = {(d["form"], d["key"]): d["sha256"]["pdf"]
             for d in json.loads((out / "manifest.json").read_text())["documents"]}
    first = {(d["form"], d["key"]): d["sha256"]["pdf"] for d in manifest(built) if d["form"] in ("X1", "X3")}
    assert again == first


def test_long_address_shrinks_to_fit_the_card():
    from docgen.documents.x1_card import render_sheet

    card = {"station": "苏州工业园区金鸡湖街道后续照管服务站", "contact": "欧阳·阿依古丽", "phone": "0512-66881234",
            "address": "江苏省苏州市苏州工业园区金鸡湖街道星海街与现代大道交叉口东北角综合服务中心三楼东侧312室（后续照管服务站）",
            "holder": ""}
    texts = _check_sheet(render_sheet([card] * 10), 2, 5)  # every text fragment still inside its card
    assert normalise("".join(t for t, _, _ in texts)).count("312室") == 10
    with pytest.raises(Exception) as exc:
        render_sheet([{**card, "address": card["address"] * 6}])
    assert "联系卡内容太长" in str(exc.value)


def test_x4_medical_release_is_not_held_to_ten_days(built, ds):
    medical = [pid for pid, p in ds.persons.items()
               if any(e.kind == "所外就医" for e in p.events) and any(e.kind == "报到" for e in p.events)]
    assert medical
    for d in entries(built, "X4"):
        if d["person"] in medical:
            assert "按期报到所外就医,不适用" in pdf_text(built / "output" / d["files"]["pdf"])


def test_x1_bottom_notes_break_at_a_clause_and_name_the_sheet_they_are_on(built, ds):
    """The two notes under the cards: each in two lines broken after its first clause (not a
    lone character on the second line), and a single card's page does not speak of ten."""
    import subprocess

    from docgen.documents.x1_card import person_card_pdf

    [sheet] = [d for d in entries(built, "X1")][:1]
    text = subprocess.run(["pdftotext", "-layout", str(built / "output" / sheet["files"]["pdf"]), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert re.search(r"第 9\.1\.2\.2 条设计的样式，\s+A4 纸每页 10 张，每张 90×54 mm。\n\s*非标准附录表式\s+请按", text), text[-400:]
    person = next(iter(ds.persons.values()))
    one = built / "one-card.pdf"
    one.write_bytes(person_card_pdf(ds, person))
    single = pdf_text(one)
    assert "每张90×54mm" in single and "每页10张" not in single
