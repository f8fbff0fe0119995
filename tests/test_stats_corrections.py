"""Corrections of frozen months printed on the tables that count them.

October 2026 of the scripted workspace (``_stats_fixture``) is frozen on 2026-11-05; then the
clerk enters what happened in October: P02 (s1) died on 10-28, a phone visit and a legal-aid
case of P02 in October, and the end of P09's 典型培育 (s2, cultivated by 戒毒所 i1) on 10-25.
The November tables count them (P: D, Q: the visit and help columns, S and N: 减少) and
must say so below the table; the tables of October (frozen) and the forms reading no frozen
month (L) print no note. Expectations are worked out by hand from those stories.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _stats_fixture import id_number, make_workspace
from conftest import normalise, pdf_text, run_cli

HEAD = normalise("注：本表含对已报月份的更正")
LATE = {
    "late-death.yaml": "记录类型: 事件\n对象: P02\n事件:\n  - {类型: 死亡, 日期: 2026-10-28, 录入日期: 2026-11-10}\n",
    # no 录入日期: the frozen month's list of counted events tells them apart
    "late-visits.yaml": "记录类型: 事件\n对象: P02\n事件:\n"
                        "  - {类型: 回访, 日期: 2026-10-20, 方式: 电话回访, 回访人: 甲}\n"
                        "  - {类型: 帮扶, 日期: 2026-10-21, 事项类型: 法律援助, 帮扶救助需求: 咨询, 受理人: 甲}\n",
    "late-cultivation.yaml": "记录类型: 事件\n对象: P09\n事件:\n"
                             "  - {类型: 典型培育结束, 日期: 2026-10-25, 录入日期: 2026-11-12}\n",
}


def cli_ok(*args: str) -> str:
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def build(ws: Path, out: Path, month: str, forms: str = "P,Q,S,N,L") -> None:
    cli_ok("build", "--workspace", str(ws), "--out", str(out), "--forms", forms, "--month", month, "-q")


def doc(out: Path, form: str, month: str, unit: str, ext: str = "pdf") -> Path:
    # <unit id>-<unit name>-<form name>: the name is Chinese (t-南京市… is not t-a-玄武区…)
    found = sorted(p for p in (out / form / month).glob(f"*.{ext}") if re.match(re.escape(unit) + r"-[^\x00-\x7f]", p.name))
    assert len(found) == 1, (form, month, unit, found)
    return found[0]


def note_count(text: str) -> int | None:
    m = re.search(re.escape(HEAD) + r"(\d+)项", text)
    return int(m[1]) if m else None


@pytest.fixture(scope="module")
def late(tmp_path_factory):
    """(workspace, output folder, November PDF texts before the late entries)."""
    root = tmp_path_factory.mktemp("corrections")
    ws = make_workspace(root / "ws")
    out = root / "out"
    cli_ok("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05", "--no-files")
    build(ws, out, "2026-11")
    before = {(f, u): pdf_text(doc(out, f, "2026-11", u)) for f in "PQS" for u in ("s1", "t-a")}
    for name, text in LATE.items():
        (ws / "records" / "events" / name).write_text(text, encoding="utf-8")
    build(ws, out, "2026-11")  # incremental: the same output folder
    build(ws, out, "2026-10")
    return ws, out, before


def test_no_note_before_anything_was_corrected(late) -> None:
    _, _, before = late
    for key, text in before.items():
        assert HEAD not in text, key


def test_p_of_the_next_month_lists_the_late_death(late) -> None:
    _, out, _ = late
    s1 = pdf_text(doc(out, "P", "2026-11", "s1"))
    assert note_count(s1) == 1
    assert normalise("1．2026年10月：1人冻结时为“在册（操守保持1-2年）”，按现有记录为“不在册”（冻结后补录死亡）") in s1
    assert normalise("本月减少人数(D)“死亡”栏") in s1
    # the 工作站 table counts both: P02 in the row of s1, P09 (care ended with 典型培育) in s2's
    ta = pdf_text(doc(out, "P", "2026-11", "t-a"))
    assert note_count(ta) == 2
    assert normalise("计入玄武区梅园新村街道后续照管服务站本月减少人数(D)“死亡”栏") in ta
    assert normalise("计入玄武区孝陵卫街道后续照管服务站本月减少人数(D)“照管期满”栏") in ta


def test_q_lists_the_late_visit_and_help(late) -> None:
    _, out, _ = late
    text = pdf_text(doc(out, "Q", "2026-11", "s1"))
    assert note_count(text) == 2
    assert normalise("2026年10月：冻结后补录回访1人次；计入玄武区梅园新村街道后续照管服务站本月跟踪回访人次数“电话回访”栏") in text
    assert normalise("“法律援助”栏") in text
    # s2 had no late visits: a note-less Q
    assert HEAD not in pdf_text(doc(out, "Q", "2026-11", "s2"))


def test_s_and_n_count_the_late_end_of_cultivation_l_does_not(late) -> None:
    _, out, _ = late
    s = pdf_text(doc(out, "S", "2026-11", "t-a"))
    assert note_count(s) == 1 and normalise("计入玄武区孝陵卫街道后续照管服务站本月减少人数") in s
    assert HEAD not in pdf_text(doc(out, "S", "2026-11", "s1"))  # P09 is in s2
    for unit in ("i1", "province"):
        n = pdf_text(doc(out, "N", "2026-11", unit))
        assert note_count(n) == 1 and normalise("计入江苏省甲强制隔离戒毒所本月减少人数") in n, unit
    assert HEAD not in pdf_text(doc(out, "N", "2026-11", "i2"))
    # L counts the month end only (P09, of Wuxi, has left it since: that is November's state, not a
    # correction) and reads no frozen month: no note
    for unit in ("i1", "province"):
        assert HEAD not in pdf_text(doc(out, "L", "2026-11", unit)), unit


def test_the_frozen_month_itself_prints_no_note(late) -> None:
    _, out, _ = late
    for form in "PQSN":
        for pdf in (out / form / "2026-10").glob("*.pdf"):
            assert HEAD not in pdf_text(pdf), pdf.name


def test_note_names_no_person(late) -> None:
    _, out, _ = late
    checked = 0
    for form in "PQSN":
        for pdf in (out / form / "2026-11").glob("*.pdf"):
            text = pdf_text(pdf)
            if HEAD not in text:
                continue
            checked += 1
            note = text[text.index(HEAD):]
            for pid in ("P02", "P09"):
                assert pid not in note and f"测试{pid[1:]}号" not in note, pdf.name
                assert id_number(int(pid[1:])) not in note and id_number(int(pid[1:]))[:6] + "19" not in note
    assert checked >= 8  # P s1 s2 t-a t, Q s1 t-a t, S t-a t, N i1 province


def test_docx_and_xlsx_carry_the_note(late) -> None:
    from docx import Document
    from openpyxl import load_workbook

    _, out, _ = late
    paras = [p.text for p in Document(str(doc(out, "Q", "2026-11", "s1", "docx"))).paragraphs]
    heads = [p for p in paras if p.startswith("注：本表含对已报月份的更正")]
    assert heads == ["注：本表含对已报月份的更正 2 项（已报月份的数字不变，差异计入本月）："]
    i = paras.index(heads[0])
    assert paras[i + 1].startswith("1．2026年10月：冻结后补录回访") and paras[i + 2].startswith("2．2026年10月：冻结后补录帮扶")
    assert paras[i + 3].startswith("站长：")
    # no correction: the table is followed by the signatures, no empty paragraph, no template tag
    docx = Document(str(doc(out, "Q", "2026-11", "s2", "docx")))
    body = [el.tag.rsplit("}", 1)[1] for el in docx.element.body]
    t = body.index("tbl")
    following = docx.element.body[t + 1]
    assert following.tag.endswith("}p") and "".join(following.itertext()).startswith("站长：")
    assert not any("{%" in p.text or "注：" in p.text for p in docx.paragraphs)
    cells = [c.value for row in load_workbook(doc(out, "P", "2026-11", "t-a", "xlsx")).active.iter_rows() for c in row]
    texts = [v for v in cells if isinstance(v, str)]
    assert "注：本表含对已报月份的更正 2 项（已报月份的数字不变，差异计入本月）：" in texts
    assert any(v.startswith("2．2026年10月：") for v in texts)
    cells = [c.value for row in load_workbook(doc(out, "P", "2026-11", "s2", "xlsx")).active.iter_rows() for c in row]
    assert sum(isinstance(v, str) and v.startswith("注：") for v in cells) == 1  # s2: P09 only


def test_stats_json_gives_each_table_its_corrections(late) -> None:
    ws, _, _ = late
    data = json.loads(cli_ok("stats", "--workspace", str(ws), "--unit", "s1", "--month", "2026-11", "--json",
                             "--no-files"))
    by_form = {t["form"]: t for t in data["tables"]}
    assert len(by_form["P"]["corrections"]) == 1 and by_form["P"]["corrections"][0].startswith("2026年10月：")
    assert len(by_form["Q"]["corrections"]) == 2 and by_form["S"]["corrections"] == []
    # the station's own list still names the persons (terminal and JSON, not the forms sent upward)
    assert any(c.startswith("更正 2026年10月：P02（测试02号）") and "已计入" in c for c in data["corrections"])
    assert sum("P02" in c and ("补录事件：回访" in c or "补录事件：帮扶" in c) for c in data["corrections"]) == 2
    october = json.loads(cli_ok("stats", "--workspace", str(ws), "--unit", "s1", "--month", "2026-10", "--json",
                                "--no-files"))
    assert all(t["corrections"] == [] for t in october["tables"])


def test_a_frozen_month_keeps_the_note_it_was_submitted_with(tmp_path: Path) -> None:
    """November is frozen with its note; a visit of October entered after that goes to December
    and November's documents stay as submitted."""
    ws = make_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    cli_ok("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05", "--no-files")
    (ws / "records" / "events" / "late-visits.yaml").write_text(LATE["late-visits.yaml"], encoding="utf-8")
    cli_ok("stats", "--workspace", str(ws), "--month", "2026-11", "--freeze", "--as-of", "2026-12-03", "--no-files")
    (ws / "records" / "events" / "later.yaml").write_text(
        "记录类型: 事件\n对象: P01\n事件:\n  - {类型: 回访, 日期: 2026-10-30, 方式: 见面回访, 回访人: 甲}\n",
        encoding="utf-8")
    build(ws, out, "2026-11", "Q")
    text = pdf_text(doc(out, "Q", "2026-11", "s1"))
    assert note_count(text) == 2 and normalise("“法律援助”栏") in text and normalise("“见面回访”栏") not in text
    build(ws, out, "2026-12", "Q")
    december = pdf_text(doc(out, "Q", "2026-12", "s1"))
    assert note_count(december) == 1 and normalise("2026年10月：冻结后补录回访1人次") in december
    assert normalise("“见面回访”栏") in december


def test_a_long_note_continues_on_the_next_page(tmp_path: Path) -> None:
    from pypdf import PdfReader

    ws = make_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    cli_ok("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05", "--no-files")
    # 40 visits of October entered in November (P01's own visits of 10-10 and 10-20 were counted
    # when October froze: none of these has the same date and method)
    visits = "".join(f"  - {{类型: 回访, 日期: 2026-10-{d:02d}, 方式: {m}, 回访人: 甲, 录入日期: 2026-11-{d:02d}}}\n"
                     for d in range(1, 21) for m in ("微信回访", "社区调查"))
    (ws / "records" / "events" / "many.yaml").write_text(f"记录类型: 事件\n对象: P01\n事件:\n{visits}", encoding="utf-8")
    build(ws, out, "2026-11", "Q")
    pdf = doc(out, "Q", "2026-11", "s1")
    pages = [normalise(p.extract_text() or "") for p in PdfReader(str(pdf)).pages]
    assert len(pages) >= 2
    text = "".join(pages)
    assert note_count(text) == 40
    # every line whole, once, on one page: numbered 1 … 40 across the pages, in order
    numbers = [int(n) for p in pages for n in re.findall(r"(?<![0-9])(\d+)．2026年10月:冻结后补录回访1人次；计入", p)]
    assert numbers == list(range(1, 41))
    assert all(re.search(r"(?<![0-9])\d+．2026年10月", p) for p in pages[-2:])  # the note spans the break
    assert normalise("站长：") in pages[-1] and normalise(f"第{len(pages)}页") in pages[-1]


def test_the_watch_services_build_remakes_the_next_months_tables(tmp_path: Path) -> None:
    """The watch service builds with the changed files only: the late entry is a person's file,
    yet the unit tables that count it are made again (their views hold the note)."""
    from _stats_fixture import load
    from docgen.build import build as run_build
    from docgen.documents.base import Period
    from docgen.documents.registry import get_form

    ws = make_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    nov = Period.parse("2026-11")
    forms = [get_form("P"), get_form("Q")]
    cli_ok("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05", "--no-files")
    run_build(load(ws), forms, out, nov, workers=1)
    q_before = doc(out, "Q", "2026-11", "s1").read_bytes()
    assert HEAD not in pdf_text(doc(out, "P", "2026-11", "s1"))
    (ws / "records" / "events" / "late-death.yaml").write_text(LATE["late-death.yaml"], encoding="utf-8")
    ds = load(ws)
    changed = {str(f) for f in ds.sources["P02"] if Path(f).name == "late-death.yaml"}
    assert changed
    run_build(ds, forms, out, nov, workers=1, changed=changed)
    for unit in ("s1", "t-a", "t"):
        assert note_count(pdf_text(doc(out, "P", "2026-11", unit))) == 1, unit
    assert doc(out, "Q", "2026-11", "s1").read_bytes() == q_before  # a death is no visit: Q unchanged
