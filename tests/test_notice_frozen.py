"""Issued notices F/K stay as they were sent; voided notices are marked 作废 and not printed;
receipt and void dates cannot lie in the future (clerk's review 2026-11-30, findings 2, 3, 6, 18)."""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import docx
import pytest
import yaml
from pypdf import PdfReader

from conftest import EXAMPLES, normalise, run_cli


def copy_examples(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


def cli_ok(*args: str):
    r = run_cli(*args)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r


def issue(ws: Path, kind: str, inst: str, month: str = "2026-11") -> str:
    """Issue a notice with the CLI; its printed number."""
    r = cli_ok("notice", "issue", "--kind", kind, "--institution", inst, "--station", "nj", "--month", month,
               "-w", str(ws))
    return re.search(r"已发出\S*通知书 (\S+号)", r.stdout)[1]


def manifest_entries(ws: Path, form: str) -> dict[str, dict]:
    manifest = json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))
    return {d["key"]: d for d in manifest["documents"] if d["form"] == form}


def pdf_pages(path: Path) -> list[str]:
    return [normalise(p.extract_text() or "") for p in PdfReader(str(path)).pages]


def set_phone(path: Path, new: str) -> str:
    """Replace the 联系电话 of a station or institution record; the old number."""
    text = path.read_text(encoding="utf-8")
    old = str(yaml.safe_load(text)["联系电话"])
    path.write_text(text.replace(old, new), encoding="utf-8")
    return old


def test_issued_notice_is_rendered_from_what_was_issued(tmp_path: Path):
    """After issue and receipt, a change of the 戒毒所's and a person's 服务站's phone leaves the
    notice's PDF and DOCX byte for byte as issued (sheet, agreement E and contact card alike);
    notice list says the records changed since."""
    ws = copy_examples(tmp_path / "ws")
    number = issue(ws, "F", "dh")
    entry = manifest_entries(ws, "F")["dh-2026-1"]
    pdf, docx_path = ws / "output" / entry["files"]["pdf"], ws / "output" / entry["files"]["docx"]
    issued_pdf, issued_docx = pdf.read_bytes(), docx_path.read_bytes()
    # the first person of the notice (released 2026-12 from dh) and their 服务站, read from the YAML
    person = next(yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((ws / "records" / "persons").glob("*.yaml"))
                  if (lambda d: d["强制隔离戒毒"]["戒毒所"] == "dh"
                      and str(d["强制隔离戒毒"]["出所时间"]).startswith("2026-12"))(
                          yaml.safe_load(p.read_text(encoding="utf-8"))))
    old_station_phone = set_phone(ws / "records" / "stations" / f"{person['服务站']}.yaml", "13900000077")
    old_inst_phone = set_phone(ws / "records" / "institutions" / "dh.yaml", "025-99998888")
    text = "".join(pdf_pages(pdf))
    assert old_station_phone in text and normalise(old_inst_phone) in text  # what was mailed
    cli_ok("notice", "receipt", number, "--kind", "F", "--date", dt.date.today().isoformat(), "--by", "周文静",
           "-w", str(ws))
    cli_ok("build", "--forms", "F,K", "-q", "-w", str(ws))  # renders it again (the build has no state of it yet)
    assert pdf.read_bytes() == issued_pdf
    assert docx_path.read_bytes() == issued_docx
    text = "".join(pdf_pages(pdf))
    assert "13900000077" not in text and "025-99998888" not in text
    assert manifest_entries(ws, "F")["dh-2026-1"]["sha256"]["pdf"] == entry["sha256"]["pdf"]
    # the register knows the records changed since
    r = cli_ok("notice", "list", "-w", str(ws))
    assert f"通知书 {number}（F）发出后记录有变化" in r.stderr
    assert "戒毒所联系电话" in r.stderr and "附件 E" in r.stderr
    listed = json.loads(cli_ok("notice", "list", "--json", "-w", str(ws)).stdout)
    assert "戒毒所联系电话" in listed[0]["changed_since_issue"]


def test_outstanding_changed_notice_says_void_and_reissue(tmp_path: Path):
    """A notice without its receipt whose records changed: the warning says to void it and issue
    a new one; the new one (after voiding) carries the new data, the voided one keeps the old."""
    ws = copy_examples(tmp_path / "ws")
    first = issue(ws, "K", "dh")
    old = set_phone(ws / "records" / "institutions" / "dh.yaml", "025-99997777")
    r = cli_ok("notice", "list", "-w", str(ws))
    assert f"通知书 {first}（K）发出后记录有变化" in r.stderr and "如需更正请作废后补发" in r.stderr
    cli_ok("notice", "void", first, "--kind", "K", "--reason", "联系电话有误", "-w", str(ws))
    second = issue(ws, "K", "dh")
    assert second != first
    entries = manifest_entries(ws, "K")
    texts = {e["number"]: "".join(pdf_pages(ws / "output" / e["files"]["pdf"])) for e in entries.values()}
    assert "025-99997777" in texts[second] and normalise(old) not in texts[second]
    assert normalise(old) in texts[first] and "025-99997777" not in texts[first]
    r = cli_ok("notice", "list", "-w", str(ws))
    assert "发出后记录有变化" not in r.stderr


def _colours(pdf: Path) -> set[tuple]:
    """(operator, operands) of every colour set on the pages."""
    from pypdf.generic import ContentStream

    reader = PdfReader(str(pdf))
    out = set()
    for page in reader.pages:
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op in (b"rg", b"RG", b"k", b"K", b"g", b"G", b"sc", b"SC", b"scn", b"SCN"):
                out.add((op.decode(), tuple(round(float(x), 3) for x in operands)))
    return out


def _neutral(colour: tuple) -> bool:
    op, values = colour
    if op in ("rg", "RG"):
        return len(set(values)) == 1
    if op in ("k", "K"):
        return values[:3] == (0, 0, 0)
    return op in ("g", "G")


def test_voided_notice_is_marked_listed_as_voided_and_left_out_of_print(tmp_path: Path):
    ws = copy_examples(tmp_path / "ws")
    keep = issue(ws, "F", "dh")
    wrong = issue(ws, "F", "dh", "2026-06")  # the wrong month, voided below
    key = {e["number"]: k for k, e in manifest_entries(ws, "F").items()}
    unmarked = pdf_pages(ws / "output" / manifest_entries(ws, "F")[key[wrong]]["files"]["pdf"])
    assert not any("作废" in t for t in unmarked)
    cli_ok("notice", "void", wrong, "--reason", "发文月份选错", "-w", str(ws))

    def check() -> None:
        entries = manifest_entries(ws, "F")
        e = entries[key[wrong]]
        assert e["voided"] is True and e["void_reason"] == "发文月份选错"
        assert not entries[key[keep]].get("voided")
        pdf = ws / "output" / e["files"]["pdf"]
        pages = pdf_pages(pdf)
        assert len(pages) == len(unmarked)
        for page in pages:  # every page: sheet (three parts), roster, enclosures
            assert "作废" in page and "发文月份选错" in page
        assert "底联" in pages[0] and "回执" in pages[0]
        colours = _colours(pdf)
        assert all(_neutral(c) for c in colours), colours  # black and grays only, like the forms
        assert any(op in ("g", "G") and 0 < v[0] < 1 for op, v in colours)  # the mark's gray
        d = docx.Document(str(ws / "output" / e["files"]["docx"]))
        header = "".join(p.text for section in d.sections for p in section.header.paragraphs)
        assert "作废" in header and "发文月份选错" in header
        sheet = d.tables[0].rows[0].cells
        assert len(sheet) == 3 and all("（作废）" in c.text for c in sheet)  # 底联, 通知书, 回执
        keep_pdf = ws / "output" / entries[key[keep]]["files"]["pdf"]
        assert not any("作废" in t for t in pdf_pages(keep_pdf))

    check()
    # a build keeps it in the output, marked (it is the only notice of its month)
    cli_ok("build", "--forms", "F,K", "-q", "-w", str(ws))
    check()
    # docgen print leaves it out; --all prints it with its mark
    listing = cli_ok("print", "--unit", "dh", "--list", "-w", str(ws)).stdout
    assert keep in listing and wrong not in listing
    listing = cli_ok("print", "--unit", "dh", "--list", "--all", "-w", str(ws)).stdout
    assert keep in listing and wrong in listing


def test_receipt_and_void_dates_cannot_be_in_the_future(tmp_path: Path):
    ws = copy_examples(tmp_path / "ws")
    number = issue(ws, "F", "dh")
    later = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    r = run_cli("notice", "receipt", number, "--kind", "F", "--date", later, "--by", "周敏", "-w", str(ws))
    assert r.returncode != 0 and "晚于今天" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("notice", "void", number, "--reason", "测试", "--date", later, "-w", str(ws))
    assert r.returncode != 0 and "晚于今天" in r.stderr and "Traceback" not in r.stderr
    rows = json.loads(cli_ok("notice", "list", "--json", "-w", str(ws)).stdout)
    assert rows[0]["receipt_date"] is None and rows[0]["voided"] is None
    cli_ok("notice", "receipt", number, "--kind", "F", "--date", dt.date.today().isoformat(), "--by", "周敏",
           "-w", str(ws))


def test_future_entry_date_warns(tmp_path: Path):
    """录入日期 after today is a warning, as 日期 after today is."""
    ws = copy_examples(tmp_path / "ws")
    today = dt.date.today()
    later = today + dt.timedelta(days=1)
    (ws / "records" / "events" / "NJ2026001-late.yaml").write_text(
        "记录类型: 事件\n对象: NJ2026001\n事件:\n"
        f"  - {{类型: 帮扶, 日期: {today.isoformat()}, 录入日期: {later.isoformat()}, 事项类型: 心理咨询, "
        "帮扶救助需求: 情绪低落, 受理人: 刘芳}\n", encoding="utf-8")
    r = run_cli("validate", "-w", str(ws))
    assert "Traceback" not in r.stderr
    out = r.stdout + r.stderr
    assert re.search(rf"NJ2026001-late\.yaml:4:.*录入日期 {later.isoformat()} 晚于今天", out), out


@pytest.mark.parametrize("command", [("issue",), ("receipt",), ("void",)])
def test_kind_option_shows_upper_case(command: tuple[str, ...]):
    r = cli_ok("notice", *command, "--help")
    if command == ("issue",) or "--kind" in r.stdout:
        assert "[F|K]" in r.stdout and "[f|k]" not in r.stdout


def test_register_from_before_stored_views_is_upgraded_and_frozen(tmp_path: Path):
    """A register written before views were stored (no view columns): the next build adds the
    columns, stores the view from the records as they are then, and keeps it afterwards."""
    import sqlite3

    ws = copy_examples(tmp_path / "ws")
    number = issue(ws, "F", "dh")
    db = ws / "data" / "registry.sqlite3"
    with sqlite3.connect(db) as conn:  # the register as the earlier docgen left it
        conn.execute("ALTER TABLE notices DROP COLUMN view_sha256")
        conn.execute("ALTER TABLE notices DROP COLUMN view")
    entry = manifest_entries(ws, "F")["dh-2026-1"]
    pdf = ws / "output" / entry["files"]["pdf"]
    before = pdf.read_bytes()
    cli_ok("build", "--forms", "F", "-q", "-w", str(ws))
    assert pdf.read_bytes() == before  # same records: same notice
    with sqlite3.connect(db) as conn:
        view, digest = conn.execute("SELECT view, view_sha256 FROM notices").fetchone()
    assert number in view and len(digest) == 64
    set_phone(ws / "records" / "institutions" / "dh.yaml", "025-99996666")
    cli_ok("build", "--forms", "F", "-q", "-w", str(ws))
    assert pdf.read_bytes() == before
    # a register whose stored view was altered is refused, not rendered
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE notices SET view = replace(view, '东湖', '西湖')")
    r = run_cli("build", "--forms", "F", "-q", "-w", str(ws))
    assert r.returncode != 0 and "散列值不符" in r.stderr and "Traceback" not in r.stderr
    assert pdf.read_bytes() == before


def test_build_and_watch_warn_about_an_outstanding_notice_whose_records_changed(tmp_path: Path, caplog):
    """Not only ``notice list``: ``docgen build`` and the watch service say when a notice still
    out no longer matches the records (the watch service once, not at every save); once its
    receipt is back the build is silent about it."""
    import logging

    from docgen.documents.base import Period
    from docgen.documents.registry import parse_forms
    from docgen.watch import WatchService
    from docgen.workspace import Workspace

    ws = copy_examples(tmp_path / "ws")
    number = issue(ws, "K", "dh")
    r = cli_ok("build", "--forms", "K", "-w", str(ws))
    assert "发出后记录有变化" not in r.stderr
    set_phone(ws / "records" / "institutions" / "dh.yaml", "025-99997777")
    r = cli_ok("build", "--forms", "K", "-w", str(ws))
    assert f"通知书 {number}（K）发出后记录有变化（戒毒所联系电话）" in r.stderr and "作废后补发" in r.stderr
    assert "发出后记录有变化" not in cli_ok("build", "--forms", "K", "-q", "-w", str(ws)).stderr

    svc = WatchService(Workspace.locate(ws), ws / "output", Period.parse("2026-11"), {"pdf"}, parse_forms("K"),
                       workers=1)
    with caplog.at_level(logging.INFO, logger="docgen.watch"):
        svc.rebuild(None)
        svc.rebuild(None)
    warned = [rec.getMessage() for rec in caplog.records if "发出后记录有变化" in rec.getMessage()]
    assert len(warned) == 1 and number in warned[0]
    # a save that cannot touch an outstanding notice (a person of the other institution) does
    # not look at the notices again; a save of the issuing institution's file does
    import docgen.registry.notices as register
    from docgen.watch import Change

    calls = []
    real = register.outstanding_change_warnings
    register.outstanding_change_warnings = lambda *a: calls.append(1) or real(*a)
    try:
        other = ws / "records" / "persons" / "NJ2024002.yaml"
        other.write_text(other.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        svc.rebuild(Change(records={other.resolve()}))
        assert calls == []
        dh = ws / "records" / "institutions" / "dh.yaml"
        dh.write_text(dh.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        svc.rebuild(Change(records={dh.resolve()}))
        assert calls == [1]
    finally:
        register.outstanding_change_warnings = real

    cli_ok("notice", "receipt", number, "--kind", "K", "--date", dt.date.today().isoformat(), "--by", "周文静",
           "-w", str(ws))
    assert "发出后记录有变化" not in cli_ok("build", "--forms", "K", "-w", str(ws)).stderr
    assert "回执已收回" in cli_ok("notice", "list", "-w", str(ws)).stderr
