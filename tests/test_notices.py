"""Notice triples F and K: numbering, the sheet (three panels, cut lines, 骑缝 numbers),
roster and counts, supplementary notices, receipts, voids and the register."""
from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader
from pypdf.generic import ContentStream

from conftest import EXAMPLES, form_spec, normalise, pdf_text, run_cli

SPEC = yaml.safe_load((Path(__file__).parent / "spec" / "forms.yaml").read_text(encoding="utf-8"))["forms"]


# --------------------------------------------------------------------------- helpers


def example_people(institution: str, release_month: str, city: str = "南京市", cultivated: bool = False,
                   records: Path = EXAMPLES / "records") -> list[dict]:
    """Expected people of a notice, read straight from the YAML (independent of docgen)."""
    out = []
    for path in sorted((records / "persons").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        det = doc["强制隔离戒毒"]
        if det["戒毒所"] != institution or not str(det["出所时间"]).startswith(release_month):
            continue
        if not doc["户籍所在地"].startswith("江苏省" + city):
            continue
        if cultivated and (doc.get("典型培育") or {}).get("培育单位") != institution:
            continue
        out.append({"id": doc["编号"], "name": doc["姓名"], "signed": "服务协议" in doc})
    return out


def issue(ws: Path, kind: str, inst: str, month: str, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("notice", "issue", "--kind", kind, "--institution", inst, "--station", "nj",
                   "--month", month, "-w", str(ws), *extra)


def api_issue(ws: Path, kind: str, inst: str, month: str, **kw) -> dict:
    """Issue in this process (public API; fonts stay registered between calls, so it is fast)."""
    from docgen.records.load import load_records
    from docgen.registry import notices
    from docgen.workspace import Workspace

    w = Workspace.locate(ws)
    ds = load_records([w.records], base=w.root)
    ds.workspace = w
    return notices.issue(ds, w.data_dir(), w.output, kind, inst, "nj", month, formats={"pdf"}, **kw)


def register(ws: Path, *args: str) -> list[dict]:
    r = run_cli("notice", "list", "--json", "-w", str(ws), *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def page_texts(pdf: Path) -> list[str]:
    return [normalise(p.extract_text() or "") for p in PdfReader(str(pdf)).pages]


def words(pdf: Path, page: int = 1) -> list[tuple[float, float, float, float, str]]:
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                         capture_output=True, text=True, check=True).stdout
    return [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in
            re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]


def dashed_lines(pdf: Path) -> list[tuple[float, float, float, float]]:
    """Line segments stroked while a dash pattern is set, in page coordinates (page 1)."""
    reader = PdfReader(str(pdf))
    page = reader.pages[0]
    dashed, ctm, stack, pending, out = False, [1, 0, 0, 1, 0, 0], [], None, []
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"q":
            stack.append((dashed, ctm))
        elif op == b"Q":
            dashed, ctm = stack.pop()
        elif op == b"cm":
            a, b, c, d, e, f = (float(x) for x in operands)
            A, B, C, D, E, F = ctm
            ctm = [a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F]
        elif op == b"d":
            dashed = len(operands[0]) > 0
        elif op == b"m":
            pending = (float(operands[0]), float(operands[1]))
        elif op == b"l" and dashed and pending:
            x0, y0 = pending
            x1, y1 = float(operands[0]), float(operands[1])
            tx = lambda x, y: (ctm[0] * x + ctm[2] * y + ctm[4], ctm[1] * x + ctm[3] * y + ctm[5])  # noqa: E731
            out.append((*tx(x0, y0), *tx(x1, y1)))
    return out


@pytest.fixture(scope="module")
def issued(tmp_path_factory) -> Path:
    """A copy of the examples with F (dh, ns) and K (dh) issued for 2026-11."""
    import shutil

    ws = tmp_path_factory.mktemp("notices") / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    r = issue(ws, "F", "dh", "2026-11", "--date", "2026-11-30")
    assert r.returncode == 0, r.stderr
    assert "东湖戒[2026]1号" in r.stdout
    api_issue(ws, "K", "dh", "2026-11")
    api_issue(ws, "F", "ns", "2026-11")
    return ws


def notice_of(ws: Path, kind: str, inst: str, seq: int = 1) -> dict:
    rows = [r for r in register(ws) if r["kind"] == kind and r["institution"] == inst]
    return next(r for r in rows if r["number"].endswith(f"]{seq}号"))


# --------------------------------------------------------------------------- the sheet


@pytest.mark.parametrize("kind,inst", [("F", "dh"), ("K", "dh")])
def test_sheet_has_three_parts_and_the_number_on_each_panel_and_cut_line(issued: Path, kind: str, inst: str):
    row = notice_of(issued, kind, inst)
    code = "东湖"
    assert row["number"] == f"{code}戒[2026]1号"
    pdf = issued / "output" / row["pdf"]
    page1 = page_texts(pdf)[0]
    for part in SPEC[kind]["parts"]:
        assert normalise(part["title"]) in page1
        assert normalise(part["keep"]) in page1
    assert "(底联)" in page1
    # two dashed vertical cut lines dividing the landscape page in three
    reader = PdfReader(str(pdf))
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert width > height
    cuts = sorted({round(x0, 1) for x0, y0, x1, y1 in dashed_lines(pdf) if abs(x0 - x1) < 0.01 and abs(y1 - y0) > height / 2})
    assert len(cuts) == 2 and cuts[0] < width / 2 < cuts[1]
    ws_ = words(pdf)
    # the number on every panel
    panels = [(0, cuts[0]), (cuts[0], cuts[1]), (cuts[1], width)]
    for lo, hi in panels:
        inside = [w for w in ws_ if lo < w[0] and w[2] < hi]
        text = normalise("".join(w[4] for w in sorted(inside, key=lambda w: (w[1], w[0]))))
        assert normalise(row["number"]) in text, (lo, hi, text)
    # and across each cut line (骑缝): characters straddling the line, read top to bottom
    for x in cuts:
        across = [w for w in ws_ if w[0] < x < w[2]]
        seam = "".join(w[4] for w in sorted(across, key=lambda w: w[1]))
        assert normalise(row["number"]) in normalise(seam), seam


def test_counts_agree_with_roster_and_records(issued: Path):
    expected = example_people("dh", "2026-12")
    assert expected, "the examples should have people released by dh in 2026-12"
    row = notice_of(issued, "F", "dh")
    pdf = issued / "output" / row["pdf"]
    texts = page_texts(pdf)
    n, m = len(expected), sum(p["signed"] for p in expected)
    assert f"共有{n}人属于你站后续照管对象" in texts[0]
    assert f"其中有{m}人在我所已签订了《后续照管服务协议书》" in texts[0]
    assert "如有疑问,请及时与我所韩志刚联系,联系电话:025-86101234" in texts[0]
    assert "2026年11月30日" in texts[0]
    roster = texts[1]
    assert "预解戒人员花名册" in roster and f"共{n}人" in roster
    assert sorted(row["people_ids"]) == sorted(p["id"] for p in expected)
    for p in expected:
        assert p["name"] in roster
    # nobody else from the examples is on the roster
    others = [p for p in example_people("dh", "2026") + example_people("ns", "2026")
              if p["id"] not in row["people_ids"]]
    assert not [p["name"] for p in others if p["name"] in roster]
    assert row["people"] == n and row["signed"] == m
    # the enclosures: one information sheet (D) per person, after the roster
    rest = "".join(texts[2:])
    assert rest.count("对象信息表") == n
    from docgen.documents.registry import all_forms

    if "E" in all_forms():  # the agreements of those who signed
        assert rest.count("后续照管服务协议书") >= m
    if "X1" in all_forms():  # each person's contact card, ten to a sheet, after the enclosed forms
        cards = "".join(t for t in texts[2:] if "持卡人" in t)
        for p in expected:
            assert f"持卡人:{p['name']}" in cards


def test_k_lists_the_cultivated_people_only(issued: Path):
    expected = example_people("dh", "2026-12", cultivated=True)
    row = notice_of(issued, "K", "dh")
    texts = page_texts(issued / "output" / row["pdf"])
    assert f"等{len(expected)}人已被我所列为典型培育对象" in texts[0]
    assert expected[0]["name"] in texts[0]
    assert "戒毒典型培育对象花名册" in texts[1] and f"共{len(expected)}人" in texts[1]
    assert sorted(row["people_ids"]) == sorted(p["id"] for p in expected)
    assert len(texts) == 2  # appendix K encloses the roster only


def test_check_labels_and_manifest_and_register(issued: Path):
    reg = register(issued)
    assert [(r["number"], r["kind"]) for r in reg] == [
        ("东湖戒[2026]1号", "F"), ("东湖戒[2026]1号", "K"), ("南山戒[2026]1号", "F")]
    manifest = json.loads((issued / "output" / "manifest.json").read_text(encoding="utf-8"))
    entries = {(d["form"], d["number"]): d for d in manifest["documents"] if d["form"] in ("F", "K")}
    assert set(entries) == {("F", "东湖戒[2026]1号"), ("K", "东湖戒[2026]1号"), ("F", "南山戒[2026]1号")}
    for r in reg:
        pdf = issued / "output" / r["pdf"]
        assert entries[(r["kind"], r["number"])]["files"]["pdf"] == r["pdf"]
        # every label of forms.yaml, and each part's keep-note, is printed
        spec = form_spec(r["kind"])
        text = pdf_text(pdf)
        missing = [l for l in spec["labels"] + [p["keep"] for p in spec["parts"]] if normalise(l) not in text]
        assert not missing, (r["number"], missing)
    # the database is private
    db = issued / "data" / "registry.sqlite3"
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(issued / "data").st_mode) == 0o700
    # the DOCX of the sheet reopens with the three parts
    import docx

    d = docx.Document(str(issued / "output" / reg[0]["docx"]))
    text = "".join(c.text for t in d.tables for row in t.rows for c in row.cells)
    for part in SPEC["F"]["parts"]:
        assert part["keep"] in text
    assert "东湖戒[2026]1号" in text
    assert reg[1]["docx"] is None  # issued with formats={"pdf"}


def test_list_notices_for_the_archive(issued: Path):
    from docgen.registry.notices import list_notices

    rows = list_notices(issued / "data")
    assert len(rows) == 3
    for r in rows:
        for key in ("number", "kind", "institution", "station", "month", "issued", "pdf", "receipt", "voided"):
            assert key in r
        assert r["month"] == "2026-11" and r["release_month"] == "2026-12" and r["station"] == "nj"
        assert (issued / "output" / r["pdf"]).is_file()


def test_rebuild_reproduces_the_issued_notice(issued: Path):
    from docgen.documents.registry import get_form
    from docgen.records.load import load_records
    from docgen.workspace import Workspace

    w = Workspace.locate(issued)
    ds = load_records([w.records], base=w.root)
    ds.workspace = w
    form = get_form("F")
    targets = {t.key: t for t in form.targets(ds, None)}
    assert set(targets) == {"dh-2026-1", "ns-2026-1"}
    row = notice_of(issued, "F", "dh")
    t = targets["dh-2026-1"]
    assert f"{t.path}.pdf" == row["pdf"]
    assert form.render_pdf(t.view, t.context) == (issued / "output" / row["pdf"]).read_bytes()


# --------------------------------------------------------------------------- numbering and lifecycle


def test_lifecycle_supplement_refusal_receipt_void(workspace: Path):
    from docgen.errors import DocgenError
    from docgen.registry import notices

    ws = workspace
    data = ws / "data"
    assert api_issue(ws, "F", "dh", "2026-11")["number"] == "东湖戒[2026]1号"
    # nobody left: refused, no number used
    r = issue(ws, "F", "dh", "2026-11")
    assert r.returncode != 0 and "未使用编号" in r.stderr and "Traceback" not in r.stderr
    assert len(notices.list_notices(data)) == 1
    # a person whose release moves into December is notified by a supplementary notice
    late = example_people("dh", "2027-01")[0]
    path = ws / "records" / "persons" / f"{late['id']}.yaml"
    text = path.read_text(encoding="utf-8")
    new = re.sub(r"出所时间: *\S+", "出所时间: 2026-12-30", text, count=1)
    assert new != text
    path.write_text(new, encoding="utf-8")
    supp = api_issue(ws, "F", "dh", "2026-11")
    assert supp["number"] == "东湖戒[2026]2号"
    assert supp["supplement"] == 1 and supp["people_ids"] == [late["id"]] and supp["people"] == 1
    texts = page_texts(ws / "output" / supp["pdf"])
    assert "(补充)" in texts[0] and "共有1人属于你站" in texts[0]
    assert late["name"] in texts[1] and "共1人" in texts[1]
    # a month with nobody released: refused
    with pytest.raises(DocgenError, match="未使用编号"):
        api_issue(ws, "K", "ns", "2026-06")
    # receipt (CLI) and void
    # (issued today: a receipt cannot be dated later than today, see test_notice_frozen)
    day = dt.date.today()
    r = run_cli("notice", "receipt", "东湖戒[2026]1号", "--date", day.isoformat(), "--by", "周文静", "-w", str(ws))
    assert r.returncode == 0, r.stderr
    notices.void_notice(data, "东湖戒[2026]2号", "人数填写错误")
    with pytest.raises(DocgenError, match="回执"):
        notices.void_notice(data, "东湖戒[2026]1号", "x")
    with pytest.raises(DocgenError, match="已于"):
        notices.void_notice(data, "东湖戒[2026]2号", "再次")
    manifest = json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))
    assert [d.get("void_reason") for d in manifest["documents"] if d["form"] == "F"] == [None, "人数填写错误"]
    reg = notices.list_notices(data)
    assert reg[0]["receipt_date"] == day.isoformat() and reg[0]["receipt_by"] == "周文静"
    assert reg[1]["voided"] and reg[1]["void_reason"] == "人数填写错误"
    # the voided number is never reused; its person is notified again under number 3
    again = api_issue(ws, "F", "dh", "2026-11")
    assert again["number"] == "东湖戒[2026]3号" and again["people_ids"] == [late["id"]]
    assert [x["number"] for x in register(ws, "--outstanding")] == ["东湖戒[2026]3号"]
    table = run_cli("notice", "list", "-w", str(ws))
    assert table.returncode == 0
    assert "人数填写错误" in table.stdout and "周文静" in table.stdout and "东湖戒[2026]3号" in table.stdout
    # K shares the printed number 东湖戒[2026]1号: receipts must name the kind
    api_issue(ws, "K", "dh", "2026-11")
    with pytest.raises(DocgenError, match="--kind"):
        notices.record_receipt(data, "东湖戒[2026]1号", day, "周文静")
    later = day + dt.timedelta(days=7)  # the API takes "today" for receipts entered later
    notices.record_receipt(data, "东湖戒[2026]1号", day + dt.timedelta(days=6), "李明", kind="K", today=later)
    with pytest.raises(DocgenError, match="已于"):
        notices.record_receipt(data, "东湖戒[2026]1号", later, "李明", kind="K", today=later)
    with pytest.raises(DocgenError, match="没有编号"):
        notices.record_receipt(data, "东湖戒[2026]9号", day, "李明")
    with pytest.raises(DocgenError, match="早于"):
        notices.record_receipt(data, "东湖戒[2026]3号", dt.date(2025, 1, 1), "李明")
    # the numbers registry shows the void too
    from docgen.registry import numbers

    nums = numbers.list_numbers(data, series="F", issuer="dh")
    assert [(n["seq"], bool(n["voided"])) for n in nums] == [(1, False), (2, True), (3, False)]


def test_outstanding_older_than(issued: Path):
    rows = register(issued, "--outstanding", "--older-than", "10", "--today", "2026-12-31")
    assert len(rows) == 3
    assert register(issued, "--outstanding", "--older-than", "10", "--today", "2026-12-01") == []


def test_consecutive_numbers_and_concurrent_issues(workspace: Path):
    ws = workspace
    jobs = [("F", "dh", "2026-11"), ("F", "dh", "2026-12"), ("F", "ns", "2026-11"), ("K", "ns", "2026-11"),
            ("F", "dh", "2026-11")]  # the same notice twice at once: one of them must refuse
    for kind, inst, month in jobs[:-1]:
        y, m = map(int, month.split("-"))
        rel = f"{y + (m == 12)}-{m % 12 + 1:02d}"
        assert example_people(inst, rel, cultivated=kind == "K"), (kind, inst, month)
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda j: issue(ws, *j, "--format", "pdf"), jobs))
    failed = [r for r in results if r.returncode != 0]
    assert len(failed) == 1 and "未使用编号" in failed[0].stderr
    reg = register(ws)
    assert len(reg) == 4
    seqs: dict[tuple[str, str], list[int]] = {}
    for r in reg:
        seqs.setdefault((r["kind"], r["institution"]), []).append(int(re.search(r"\](\d+)号", r["number"])[1]))
    assert {k: sorted(v) for k, v in seqs.items()} == {("F", "dh"): [1, 2], ("F", "ns"): [1], ("K", "ns"): [1]}
    # the issue month decides the number's year: a December notice of 2026 is numbered 2026
    assert all("[2026]" in r["number"] for r in reg)
    # every person of every notice is notified once
    ids = [(r["kind"], pid) for r in reg for pid in r["people_ids"]]
    assert len(ids) == len(set(ids))
    manifest = json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))
    assert len([d for d in manifest["documents"] if d["form"] in ("F", "K")]) == 4


def test_blank_triples(tmp_path: Path):
    from docgen.documents.registry import get_form

    r = run_cli("blank", "F", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert next(tmp_path.glob("F-*.docx")).is_file()
    pdfs = {"F": next(tmp_path.glob("F-*.pdf")).read_bytes(), "K": get_form("K").render_pdf(get_form("K").blank_view())}
    for code, data in pdfs.items():
        reader = PdfReader(io.BytesIO(data))
        assert len(reader.pages) == 1
        text = normalise(reader.pages[0].extract_text())
        for part in SPEC[code]["parts"]:
            assert normalise(part["keep"]) in text and normalise(part["title"]) in text
        assert "戒[20" in text


def test_bad_input_gives_chinese_messages(workspace: Path):
    from docgen.errors import DocgenError

    r = run_cli("notice", "issue", "--kind", "F", "--institution", "xx", "--station", "nj", "--month", "2026-11",
                "-w", str(workspace))
    assert r.returncode != 0 and "没有编号为“xx”的戒毒所" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("notice", "receipt", "乱写", "--date", "2026-12-01", "--by", "x", "-w", str(workspace))
    assert r.returncode != 0 and "格式不对" in r.stderr
    from docgen.records.load import load_records
    from docgen.registry import notices

    ds = load_records([workspace / "records"], base=workspace)
    with pytest.raises(DocgenError, match="指导站"):
        notices.issue(ds, workspace / "data", workspace / "output", "F", "dh", "nj-xw", "2026-11")
    with pytest.raises(DocgenError, match="月份"):
        notices.issue(ds, workspace / "data", workspace / "output", "F", "dh", "nj", "2026-13")
    assert notices.list_notices(workspace / "data") == []
