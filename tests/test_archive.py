"""The archive: filing volumes with 档号, retention, holds, two-approver disposal, fixity, audit.

The tests use a small workspace of their own (the example stations and institutions, four
synthetic persons with hand-chosen dates), so the expected due dates are computed by hand:
retention runs 3 years from the trigger, and an item is due from the day trigger + 3 years.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import EXAMPLES, normalise, run_cli
from docgen.records.idcard import check_digit

DH = re.compile(r"^(?P<fonds>[A-Z0-9]+)-(?P<klass>[A-Z]+)·(?P<year>\d{4})-(?P<ret>[A-Z0-9]+)-(?P<org>[A-Z0-9]+)-(?P<seq>\d{4})$")


def _id(birth: str, serial: str) -> str:
    first17 = f"320102{birth}{serial}"
    return first17 + check_digit(first17)


def _person(pid: str, name: str, birth: str, serial: str, sex: str, events: list[str], extra: str = "") -> str:
    ev = "\n".join(f"  - {e}" for e in events)
    return f"""记录类型: 照管对象
编号: {pid}
姓名: {name}
性别: {sex}
身份证号码: "{_id(birth, serial)}"
户籍所在地: 江苏省南京市玄武区梅园新村街道长江后街1号
服务站: nj-xw-my
跟踪回访责任人: 刘芳
强制隔离戒毒:
  戒毒所: dh
  期限: 2年
  出所时间: 2025-06-01
服务协议:
  签订日期: 2025-05-20
  甲方代表: 周文静
{extra}事件:
{ev}
"""


PERSONS = {
    # closed by 期满 on 2026-06-09: due 2029-06-09
    "T001": _person("T001", "甲一", "19800101", "101", "男", [
        "{类型: 报到, 日期: 2025-06-10}",
        "{类型: 回访, 日期: 2025-07-15, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}",
        "{类型: 期满, 日期: 2026-06-09, 鉴定意见: 保持操守}"]),
    # terminated on 2026-10-15: due 2029-10-15
    "T002": _person("T002", "乙二", "19810202", "202", "女", [
        "{类型: 报到, 日期: 2025-06-12}",
        "{类型: 终止, 日期: 2026-10-15, 情形: 照管期限内又吸食毒品}"]),
    # still in care: never due
    "T003": _person("T003", "丙三", "19820303", "301", "男", [
        "{类型: 报到, 日期: 2025-06-15}",
        "{类型: 回访, 日期: 2025-08-01, 方式: 见面回访, 回访人: 刘芳, 操守保持: 良好}"]),
    # 典型培育 ending 2026-12-31, care closed earlier (期满 2026-06-04): due 2029-12-31
    "T004": _person("T004", "丁四", "19830404", "401", "男", [
        "{类型: 报到, 日期: 2025-06-05}", "{类型: 期满, 日期: 2026-06-04, 鉴定意见: 保持操守}"],
        extra="典型培育:\n  培育单位: nj-xw-my\n  培育人: 赵磊\n  协议日期: 2025-06-05\n  结束日期: 2026-12-31\n"),
}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return _make_ws(tmp_path / "ws")


def _make_ws(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    for sub in ("persons", "events"):
        shutil.rmtree(dst / "records" / sub, ignore_errors=True)
        (dst / "records" / sub).mkdir()
    for pid, text in PERSONS.items():
        (dst / "records" / "persons" / f"{pid}.yaml").write_text(text, encoding="utf-8")
    return dst


@pytest.fixture(scope="module")
def filed_base(tmp_path_factory) -> Path:
    """The small workspace with all four persons filed once (copied by ``filed``)."""
    base = tmp_path_factory.mktemp("archive") / "ws"
    _make_ws(base)
    file_all(base)
    return base


@pytest.fixture
def filed(filed_base: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "ws"
    shutil.copytree(filed_base, dst, symlinks=True)
    return dst


def docgen(ws: Path, *args: str, ok: bool = True):
    r = run_cli(*args, "--workspace", str(ws))
    if ok:
        assert r.returncode == 0, r.stderr + r.stdout
    return r


def items(ws: Path) -> list[dict]:
    """The registry's items, read directly (read-only) from the archive's SQLite file."""
    db = sqlite3.connect(f"file:{ws / 'archive' / 'registry.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM items ORDER BY id")]
    finally:
        db.close()


def by_subject(ws: Path) -> dict[str, dict]:
    return {i["subject"]: i for i in items(ws)}


def first_page_text(path: Path) -> str:
    return normalise(PdfReader(str(path)).pages[0].extract_text() or "")


def pdf_all_text(path: Path) -> str:
    return normalise("".join(p.extract_text() or "" for p in PdfReader(str(path)).pages))


FILED_ON = "2026-11-30"  # the filing date of ``file_all`` (the 立卷 date printed on the volumes)


def file_all(ws: Path) -> None:
    docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--checker", "周文静", "--as-of", FILED_ON)


def backdate(ws: Path, *pids: str) -> None:
    """Move these persons' whole history four years back (closed in 2022, due in 2025: in the
    past, so the disposal can be executed now) and recompute the due dates."""
    for pid in pids:
        text = PERSONS[pid].replace("2026-", "2022-").replace("2025-", "2021-")
        (ws / "records" / "persons" / f"{pid}.yaml").write_text(text, encoding="utf-8")
    docgen(ws, "archive", "refresh")


# ----------------------------------------------------------------------------- filing


def test_validate_fixture(ws):
    r = run_cli("validate", "--workspace", str(ws))
    assert r.returncode == 0, r.stderr


def test_personal_volume_structure_and_stamp(filed):
    ws = filed
    item = by_subject(ws)["T001"]
    m = DH.match(item["dh"])
    assert m, item["dh"]
    # 全宗号 from the 指导站 nj, 机构代码 inherited from the 工作站 nj-xw (the 服务站 has none)
    # 年度: the file is opened in the year of the report (2025-06-10)
    assert (m["fonds"], m["klass"], m["year"], m["ret"], m["org"]) == ("J101", "GR", "2025", "D3", "XWGZZ")
    root = ws / "archive"
    pdf = root / item["path"]
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(pdf.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "registry.sqlite3").stat().st_mode) == 0o600
    reader = PdfReader(str(pdf))
    assert len(reader.pages) == item["pages"]
    # 归档章 on the first page: labels and values, the page count is the real one
    first = first_page_text(pdf)
    for label in ("全宗号", "年度", "件号", "机构代码", "保管期限", "页数"):
        assert label in first
    assert f"档号{item['dh']}" in first
    assert f"全宗号J101年度2025件号{m['seq']}" in first
    assert f"机构代码XWGZZ保管期限D3页数{len(reader.pages)}" in first
    assert "对象个人档案" in first and "甲一" in first  # the cover
    text = pdf_all_text(pdf)
    assert "卷内文件目录" in text and "卷内备考表" in text
    assert text.index("卷内文件目录") < text.index("卷内备考表")
    # the 备考表 is the last page, with 立卷人, 检查人 and the date passed with --as-of
    last = normalise(reader.pages[-1].extract_text())
    assert "卷内备考表" in last and "立卷人刘芳" in last and "检查人周文静" in last and "2026年11月30日" in last
    assert "保管期限3年" in last
    # the outline names cover, 目录, each document and the 备考表
    outline = [o.title for o in reader.outline]
    assert outline[0] == "封面" and outline[1] == "卷内文件目录" and outline[-1] == "卷内备考表"
    docs = outline[2:-1]
    assert docs, "the volume holds no documents"
    toc = normalise(reader.pages[1].extract_text())
    assert "卷内文件目录" in toc and item["dh"] in toc
    for title in docs:
        assert normalise(title) in toc
    from docgen.documents.registry import all_forms

    forms = all_forms()
    if "E" in forms:  # the agreement opens the personal archive
        assert docs[0] == forms["E"].name
    if "D" in forms:
        assert forms["D"].name in docs
    if "I" in forms:  # one 回访记录 per visit, dated
        assert f"{forms['I'].name}" in docs or any(d.startswith(forms["I"].name) for d in docs)


def test_refile_keeps_dh_and_history(filed):
    ws = filed
    first = by_subject(ws)["T003"]
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--checker", "周文静",
               "--as-of", "2026-11-30")
    assert "未建新版本" in r.stdout
    assert by_subject(ws)["T003"]["version"] == 1
    # care goes on: a new visit is recorded, the volume is updated under the same 档号
    p = ws / "records" / "persons" / "T003.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "  - {类型: 回访, 日期: 2025-09-01, 方式: 电话回访, 回访人: 刘芳}\n",
                 encoding="utf-8")
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", "2026-11-30")
    now = by_subject(ws)["T003"]
    assert now["dh"] == first["dh"] and now["version"] == 2 and now["sha256"] != first["sha256"]
    show = docgen(ws, "archive", "show", now["dh"]).stdout
    assert "第 1 版" in show and "第 2 版" in show and "被取代" in show
    last = normalise(PdfReader(str(ws / "archive" / now["path"])).pages[-1].extract_text())
    assert "本卷为第2版" in last
    assert len(items(ws)) == 4  # no new item


def test_dh_unique_and_gap_free(filed):
    got = items(filed)
    assert len(got) == 4
    dhs = [i["dh"] for i in got]
    assert len(set(dhs)) == 4
    series: dict[tuple, list[int]] = {}
    for dh in dhs:
        m = DH.match(dh)
        assert m, dh
        series.setdefault((m["fonds"], m["klass"], m["year"], m["ret"], m["org"]), []).append(int(m["seq"]))
    for seqs in series.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))


def test_missing_fonds_is_a_clear_error(ws):
    nj = ws / "records" / "stations" / "nj.yaml"
    nj.write_text("\n".join(l for l in nj.read_text(encoding="utf-8").splitlines() if not l.startswith("全宗号")),
                  encoding="utf-8")
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "全宗号" in r.stderr and "Traceback" not in r.stderr


def test_file_usage_errors(ws):
    r = docgen(ws, "archive", "file", "--by", "刘芳", ok=False)
    assert r.returncode == 2 and "--person" in r.stderr
    r = docgen(ws, "archive", "file", "--person", "NOPE", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "NOPE" in r.stderr
    r = docgen(ws, "archive", "file", "--annual", "nj-xw-my", "--by", "刘芳", ok=False)
    assert "--year" in r.stderr


# ----------------------------------------------------------------------------- retention


def test_due_lists_exactly_the_items_past_their_term(filed):
    ws = filed
    r = docgen(ws, "archive", "due", "--as-of", "2029-10-15")
    assert "保管期满 2 卷" in r.stdout
    arc, ds, _ = _archive(ws)

    def due(day: str) -> set[str]:
        return {row["subject"] for row in arc.due(dt.date.fromisoformat(day))}

    assert due("2029-06-08") == set()
    assert due("2029-06-09") == {"T001"}
    assert due("2029-10-14") == {"T001"}
    assert due("2029-10-15") == {"T001", "T002"}
    assert due("2029-12-30") == {"T001", "T002"}
    assert due("2029-12-31") == {"T001", "T002", "T004"}
    assert due("2040-01-01") == {"T001", "T002", "T004"}  # T003 is still in care
    arc.close()
    got = by_subject(ws)
    assert (got["T001"]["trigger_date"], got["T001"]["due_date"]) == ("2026-06-09", "2029-06-09")
    assert (got["T002"]["trigger_date"], got["T002"]["due_date"]) == ("2026-10-15", "2029-10-15")
    assert got["T004"]["kind"] == "cultivation" and got["T004"]["due_date"] == "2029-12-31"
    assert got["T003"]["due_date"] is None


def test_cultivation_extension_moves_due_date_with_audit(filed):
    ws = filed
    (ws / "records" / "events" / "T004-ext.yaml").write_text(
        "记录类型: 事件\n对象: T004\n事件:\n  - {类型: 典型培育延长, 日期: 2026-11-20, 新结束日期: 2027-06-30}\n",
        encoding="utf-8")
    r = docgen(ws, "archive", "refresh", "--by", "档案员")
    assert "2029-12-31 → 2030-06-30" in r.stdout
    assert by_subject(ws)["T004"]["due_date"] == "2030-06-30"
    r = docgen(ws, "archive", "due", "--as-of", "2029-12-31", "--json")
    assert "T004" not in {i["subject"] for i in json.loads(r.stdout)}
    log = [json.loads(l) for l in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    entry = [e for e in log if e["action"] == "重算保管期限"][-1]
    assert entry["who"] == "档案员" and entry["target"] == by_subject(ws)["T004"]["dh"]
    assert entry["before"]["到期日"] == "2029-12-31" and entry["after"]["到期日"] == "2030-06-30"
    assert "典型培育延长至 2027-06-30" in entry["note"]


def test_policy_file_is_data(filed, tmp_path):
    from docgen.archive.policy import DEFAULT_POLICY

    ws = filed
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    custom = tmp_path / "policy.toml"
    custom.write_text(text.replace("years = 3\ntrigger = \"closure\"", "years = 5\ntrigger = \"closure\""),
                      encoding="utf-8")
    r = docgen(ws, "archive", "due", "--policy", str(custom), "--as-of", "2031-06-08", "--json")
    assert {i["subject"] for i in json.loads(r.stdout)} == {"T004"}  # the cultivation rule is unchanged
    assert by_subject(ws)["T001"]["due_date"] == "2031-06-09"
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace('trigger = "closure"', 'trigger = "whenever"'), encoding="utf-8")
    r = docgen(ws, "archive", "due", "--policy", str(broken), ok=False)
    assert r.returncode == 1 and "trigger" in r.stderr and "Traceback" not in r.stderr


# ----------------------------------------------------------------------------- disposal


def test_disposal_procedure(filed):
    ws = filed
    backdate(ws, "T001", "T002")  # a disposal is carried out today at the latest: terms that ended in 2025
    got = by_subject(ws)
    t1, t2 = got["T001"]["dh"], got["T002"]["dh"]
    # hold T002, draft as of 2025-10-15 (both due): the held item is left out
    docgen(ws, "archive", "hold", t2, "--reason", "涉诉调阅", "--by", "档案员")
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-10-15", "--by", "档案员")
    number = re.search(r"销毁清册 (XH-\d{4}-\d{3})", r.stdout)[1]
    assert t1 in r.stdout and t2 not in r.stdout
    draft = ws / "archive" / "disposal" / "drafts" / f"{number}.pdf"
    text = pdf_all_text(draft)
    for label in ("档案销毁清册", "序号", "题名", "年度", "档号", "应保管期限", "已保管期限", "页数", "备注",
                  "鉴定小组负责人", "批准人(签名)", "监销人(签名)", "草稿"):
        assert normalise(label) in text, label
    assert t1 in text and "3年4个月" in text  # kept from 2026-06-09 to 2025-10-15
    # no approval, then the same approver twice: refused
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", "2025-10-15", ok=False)
    assert r.returncode == 1 and "2 名不同的批准人" in r.stderr and "无人批准" in r.stderr
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    r = docgen(ws, "archive", "approve", number, "--by", "张主任", ok=False)
    assert r.returncode == 1 and "不同的批准人" in r.stderr
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", "2025-10-15", ok=False)
    assert r.returncode == 1 and "只有 1 人批准" in r.stderr
    with pytest.MonkeyPatch.context() as mp:  # the second approver logs in with an account of their own
        mp.setenv("LOGNAME", "lijuzhang")
        docgen(ws, "archive", "approve", number, "--by", "李局长")
    # dated before the list was drawn up (cut-off 2025-10-15, drafted today): refused, nothing deleted
    today = dt.date.today().isoformat()
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", "2025-06-08", ok=False)
    assert r.returncode == 1 and "早于清册的鉴定截止日期 2025-10-15" in r.stderr
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", "2025-10-15", ok=False)
    assert r.returncode == 1 and f"早于清册的编制日期 {today}" in r.stderr
    assert (ws / "archive" / got["T001"]["path"]).exists()
    # a held item is never disposed of, even on an approved list
    docgen(ws, "archive", "hold", t1, "--reason", "审计调阅")
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", today, ok=False)
    assert r.returncode == 1 and "保全" in r.stderr and t1 in r.stderr
    assert (ws / "archive" / got["T001"]["path"]).exists()
    docgen(ws, "archive", "release", t1)
    # now: two approvers, due, not held
    log = [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    r = docgen(ws, "archive", "execute", number, "--as-of", today, "--by", "监销人王")
    assert f"已销毁 {t1}" in r.stdout
    after = by_subject(ws)
    tomb = after["T001"]
    assert tomb["status"] == "disposed" and tomb["path"] is None
    assert tomb["dh"] == t1 and tomb["sha256"] == got["T001"]["sha256"] and tomb["disposal_list"] == number
    assert tomb["title"] == got["T001"]["title"] and tomb["disposed_at"]
    assert not (ws / "archive" / got["T001"]["path"]).exists()
    assert after["T002"]["status"] == "filed"  # held, kept
    record = after[number]
    assert record["kind"] == "disposal" and record["due_date"] is None and record["retention"] == "Y"
    assert DH.match(record["dh"])["klass"] == "XH" and DH.match(record["dh"])["org"] == "NJZDZ"
    final = ws / "archive" / record["path"]
    text = pdf_all_text(final)
    assert t1 in text and "张主任" in text and "李局长" in text and "已执行" in text
    assert record["dh"] in first_page_text(final)
    # the signed list anchors the audit log as it stood before the execution
    assert f"执行前审计日志共{len(log)}条" in text and log[-1]["hash"] in text
    r = docgen(ws, "archive", "anchor", "--check", f"{len(log)}:{log[-1]['hash']}")
    assert "相符" in r.stdout
    # executing twice, or filing the disposed person again, is refused
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", "2025-10-15", ok=False)
    assert r.returncode == 1 and "已执行" in r.stderr
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "已于" in r.stderr and "销毁" in r.stderr
    # the archive is consistent afterwards, and the audit trail tells the story
    assert "核对通过" in docgen(ws, "archive", "verify").stdout
    actions = [json.loads(l)["action"] for l in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    for a in ("保全", "编制销毁清册", "批准销毁", "拒绝执行销毁", "解除保全", "销毁", "执行销毁"):
        assert a in actions


def test_dispose_before_due_finds_nothing(filed):
    r = docgen(filed, "archive", "dispose", "--by", "李档案", "--as-of", "2026-11-30")  # the first term ends 2029-06-09
    assert "没有可列入销毁清册的案卷" in r.stdout


# ----------------------------------------------------------------------------- fixity


def test_verify_names_changed_missing_and_stray_files(filed):
    ws = filed
    root = ws / "archive"
    assert "核对通过" in docgen(ws, "archive", "verify").stdout
    got = by_subject(ws)
    p1, p2 = root / got["T001"]["path"], root / got["T002"]["path"]
    data = bytearray(p1.read_bytes())
    data[len(data) // 2] ^= 0x01
    p1.write_bytes(bytes(data))
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and got["T001"]["path"] in r.stderr and "改动" in r.stderr
    p2.unlink()
    stray = root / "personal" / "stray.pdf"
    stray.write_bytes(b"%PDF-1.4 stray")
    stray.chmod(0o600)
    r = docgen(ws, "archive", "verify", ok=False)
    assert got["T002"]["path"] in r.stderr and "缺失" in r.stderr
    assert "personal/stray.pdf" in r.stderr and "多余" in r.stderr


def test_verify_reports_loose_permissions(filed):
    path = filed / "archive" / by_subject(filed)["T001"]["path"]
    path.chmod(0o644)
    r = docgen(filed, "archive", "verify", ok=False)
    assert r.returncode == 1 and "权限" in r.stderr


def test_damaged_or_missing_registry_is_an_error(filed):
    db = filed / "archive" / "registry.sqlite3"
    db.write_bytes(b"this is not a database" * 200)
    r = docgen(filed, "archive", "verify", ok=False)
    assert r.returncode != 0 and "损坏" in r.stderr and "核对通过" not in r.stdout
    db.unlink()
    r = docgen(filed, "archive", "verify", ok=False)
    assert r.returncode != 0 and "登记簿缺失" in r.stderr


def test_registry_tampering_with_rows_is_detected(filed):
    with sqlite3.connect(filed / "archive" / "registry.sqlite3") as db:
        db.execute("UPDATE items SET sha256 = ? WHERE subject = 'T002'", ("0" * 64,))
    r = docgen(filed, "archive", "verify", ok=False)
    assert r.returncode == 1 and "改动" in r.stderr


# ----------------------------------------------------------------------------- audit


def _audit_ws(ws: Path) -> Path:
    dh = by_subject(ws)["T001"]["dh"]
    docgen(ws, "archive", "hold", dh, "--reason", "调阅", "--by", "档案员")
    docgen(ws, "archive", "release", dh, "--by", "档案员")
    log = ws / "archive" / "audit.jsonl"
    assert len(log.read_text(encoding="utf-8").splitlines()) == 6
    return log


def test_audit_entries_record_who_what_before_after(filed):
    log = _audit_ws(filed)
    assert "散列链完整" in docgen(filed, "archive", "audit", "--verify").stdout
    entries = [json.loads(l) for l in log.read_text(encoding="utf-8").splitlines()]
    assert [e["action"] for e in entries] == ["归档"] * 4 + ["保全", "解除保全"]
    assert entries[0]["who"] == "刘芳" and entries[4]["who"] == "档案员"
    assert entries[4]["before"] == {"保全": None} and entries[4]["after"] == {"保全": "调阅"}
    assert all(e["at"] for e in entries)
    assert [e["seq"] for e in entries] == list(range(1, 7))
    assert all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:]))


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder", "truncate"])
def test_audit_verify_detects_tampering(filed, tamper):
    log = filed / "archive" / "audit.jsonl"
    assert "散列链完整" in docgen(filed, "archive", "audit", "--verify").stdout
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) == 4
    if tamper == "edit":
        lines[1] = lines[1].replace("刘芳", "别人")
    elif tamper == "delete":
        del lines[1]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    else:
        del lines[-1]
    log.write_text("".join(lines), encoding="utf-8")
    r = docgen(filed, "archive", "audit", "--verify", ok=False)
    assert r.returncode == 1 and "审计日志有问题" in r.stderr
    if tamper == "edit":
        assert "第 2 行" in r.stderr
        assert docgen(filed, "archive", "verify", ok=False).returncode == 1


# ----------------------------------------------------------------------------- annual and notice volumes
# (in-process, with a stand-in ledger form, so they do not depend on other forms being finished)


def _fake_form(code: str, periodic: bool):
    from docgen.documents.base import Form, Target
    from docgen.documents.layout import Layout, Para, Title

    class Ledger(Form):
        name = "测试台帐"
        kind = "table"
        scope = "unit"

        def build_layout(self):
            return Layout([Title("测试台帐"), Para("{{ unit }} {{ period }}")])

        def targets(self, ds, period):
            for sid in sorted(ds.stations):
                yield Target(form=code, key=sid, path=f"{code}/{sid}", view={"unit": sid, "period": str(period)},
                             context=sid, unit=sid, period=period.key if period else None)

    # ``code`` is set on the instance, not the class: the registry never lists this stand-in
    form = Ledger()
    form.code = code
    form.periodic = periodic
    return form


def _archive(ws: Path, policy_text: str | None = None, tmp: Path | None = None, forms=None):
    from docgen.archive import Archive
    from docgen.records.load import load_records
    from docgen.workspace import Workspace

    w = Workspace.locate(ws)
    policy = None
    if policy_text is not None:
        policy = tmp / "policy.toml"
        policy.write_text(policy_text, encoding="utf-8")
    arc = Archive(w, policy, create=True, forms=forms)
    ds = load_records([w.records], base=w.root)
    return arc, ds, w


def test_annual_volume_binds_each_month_by_category(ws, tmp_path, monkeypatch):
    from docgen.archive.policy import DEFAULT_POLICY

    text = DEFAULT_POLICY.read_text(encoding="utf-8").replace('contents = ["G", "O", "P", "Q", "R", "S", "M", "T"]',
                                                               'contents = ["ZA", "ZB"]')
    fakes = {"ZA": _fake_form("ZA", True), "ZB": _fake_form("ZB", True)}
    arc, ds, _ = _archive(ws, text, tmp_path, forms=fakes)
    filed = arc.file_annual(ds, "nj-xw-my", 2026, "刘芳", "周文静", dt.date(2026, 3, 20))
    assert filed.documents == 6  # two ledgers x January-March
    reader = PdfReader(str(filed.path))
    titles = [o.title for o in reader.outline][2:-1]
    assert titles == [f"测试台帐（2026年{m}月）" for m in (1, 2, 3)] * 2
    assert DH.match(filed.dh)["klass"] == "GZ"
    row = arc.item(filed.dh)
    assert row["trigger_date"] == "2026-12-31" and row["due_date"] == "2029-12-31"
    last = normalise(reader.pages[-1].extract_text())
    assert "2026年度尚未结束" in last
    arc.close()


def test_notice_volume_per_institution_and_month(ws, tmp_path, monkeypatch):
    import sys
    import types

    from docgen.archive.volumes import fallback_cover_pdf

    out = ws / "output"
    (out / "F").mkdir(parents=True)
    notices = []
    for n, (inst, month, voided) in enumerate([("dh", "2026-11", False), ("dh", "2026-11", False),
                                                ("dh", "2026-11", True), ("dh", "2026-10", False),
                                                ("ns", "2026-11", False)], start=1):
        rel = f"F/notice-{n}.pdf"
        (out / rel).write_bytes(fallback_cover_pdf(f"通知书{n}", "", [], "", ""))
        notices.append({"number": f"东湖戒[2026]{n}号", "kind": "F", "institution": inst, "station": "nj",
                        "month": month, "issued": f"{month}-05", "pdf": rel, "receipt": n == 1,
                        "voided": voided})
    fake = types.ModuleType("docgen.registry.notices")
    fake.list_notices = lambda data_dir: notices
    monkeypatch.setitem(sys.modules, "docgen.registry.notices", fake)
    arc, ds, _ = _archive(ws, forms={})
    filed = arc.file_notices(ds, "dh", "2026-11", "周文静", "", dt.date(2026, 11, 30))
    assert len(filed) == 1
    f = filed[0]
    titles = [o.title for o in PdfReader(str(f.path)).outline][2:-1]
    assert titles == ["预解戒人员信息对接通知书 东湖戒[2026]1号", "预解戒人员信息对接通知书 东湖戒[2026]2号"]
    m = DH.match(f.dh)
    assert (m["fonds"], m["klass"], m["org"]) == ("J101", "TZ", "NJZDZ")
    with pytest.raises(Exception) as exc:
        arc.file_notices(ds, "dh", "2026-09", "周文静", "", dt.date(2026, 11, 30))
    assert "没有" in str(exc.value)
    # the issued notices moved to another output folder (and their DOCX recorded): same content
    (out / "notices").mkdir()
    for n in notices:
        (out / n["pdf"]).rename(out / "notices" / Path(n["pdf"]).name)
        n["pdf"] = f"notices/{Path(n['pdf']).name}"
        n["docx"] = n["pdf"].replace(".pdf", ".docx")
    again = arc.file_notices(ds, "dh", "2026-11", "周文静", "", dt.date(2026, 11, 30))
    assert again[0].unchanged and again[0].version == 1
    arc.close()


# ----------------------------------------------------------------------------- with the real forms and register


def test_annual_volume_with_the_work_log_form(ws, tmp_path):
    """The CLI files an annual volume from the registry's real ledgers (here the work log T only)."""
    from docgen.archive.policy import DEFAULT_POLICY
    from docgen.documents.registry import all_forms

    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        'contents = ["G", "O", "P", "Q", "R", "S", "M", "T"]', 'contents = ["T"]'), encoding="utf-8")
    # the station logged only in November 2026: the months before have no log to file
    r = docgen(ws, "archive", "file", "--annual", "nj-xw-my", "--year", "2026", "--as-of", "2026-11-30",
               "--policy", str(policy), "--by", "刘芳")
    item = by_subject(ws)["nj-xw-my"]
    assert DH.match(item["dh"])["klass"] == "GZ" and item["period"] == "2026"
    reader = PdfReader(str(ws / "archive" / item["path"]))
    name = all_forms()["T"].name
    assert [o.title for o in reader.outline][2:-1] == [f"{name}（2026年11月）"]
    assert "后续照管工作档案" in first_page_text(ws / "archive" / item["path"])
    assert item["dh"] in r.stdout


def test_notice_volume_from_the_notice_register(ws):
    """Notices issued with ``docgen notice issue`` are bound by sending institution and month."""
    # the four test persons leave 东湖 in 2025-06: the notice goes out in 2025-05
    r = run_cli("notice", "issue", "--kind", "F", "--institution", "dh", "--station", "nj", "--month", "2025-05",
                "--date", "2025-05-10", "--format", "pdf", "--workspace", str(ws))
    assert r.returncode == 0, r.stderr
    number = re.search(r"东湖戒\[2025\]\d+号", r.stdout)[0]
    r = docgen(ws, "archive", "file", "--notices", "dh", "--month", "2025-05", "--by", "周文静", "--as-of", "2025-06-30")
    item = [i for i in items(ws) if i["kind"] == "notices"][0]
    m = DH.match(item["dh"])
    assert (m["klass"], m["year"], m["org"]) == ("TZ", "2025", "NJZDZ")
    assert item["due_date"] == "2028-12-31"
    titles = [o.title for o in PdfReader(str(ws / "archive" / item["path"])).outline][2:-1]
    assert titles[0] == f"预解戒人员信息对接通知书 {number}"
    r = docgen(ws, "archive", "file", "--notices", "dh", "--month", "2025-04", "--by", "周文静", ok=False)
    assert r.returncode == 1 and "没有" in r.stderr


def test_concurrent_filing_keeps_numbers_unique(ws):
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-m", "docgen", "archive", "file", "--person", a, "--person", b,
                               "--as-of", "2026-11-30", "--by", "刘芳", "--workspace", str(ws)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for a, b in (("T001", "T002"), ("T003", "T004"))]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    seqs = sorted(int(DH.match(i["dh"])["seq"]) for i in items(ws) if DH.match(i["dh"])["year"] == "2025")
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 4
    log = [json.loads(l) for l in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert "散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout


def test_archive_root_is_configurable(ws):
    cfg = ws / "docgen.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('archive = "archive"', 'archive = "vault/archive"'),
                   encoding="utf-8")
    docgen(ws, "archive", "file", "--person", "T003", "--as-of", "2026-11-30", "--by", "刘芳")
    assert (ws / "vault" / "archive" / "registry.sqlite3").exists() and not (ws / "archive").exists()
    assert stat.S_IMODE((ws / "vault" / "archive").stat().st_mode) == 0o700
    assert "核对通过" in docgen(ws, "archive", "verify").stdout


@pytest.mark.parametrize("change, message", [
    (("approvals_required = 2", "approvals_required = 1"), "两名不同的批准人"),
    (('retention = "D3"', 'retention = "d-3"'), "retention"),
    (("[series.annual]", "[series.yearly]"), "series.annual"),
    (('years = 0\ntrigger = "none"', 'years = 0\ntrigger = "year_end"'), "永久"),
    # the policy cannot shorten the terms of the standard
    (('years = 3\ntrigger = "closure"', 'years = 1\ntrigger = "closure"'), "短于规范 10.3 规定的保存期限 3 年"),
    (('years = 0\ntrigger = "none"', 'years = 3\ntrigger = "year_end"'), "销毁清册是销毁的凭证，须永久保管"),
    (('events = ["期满", "终止", "死亡"]', 'events = ["期满", "报到"]'), "“报到”不是"),
])
def test_policy_errors_are_clear(tmp_path, change, message):
    from docgen.archive.policy import DEFAULT_POLICY, load_policy
    from docgen.errors import DocgenError

    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "p.toml"
    path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(DocgenError) as exc:
        load_policy(path)
    assert message in exc.value.message and str(path) in exc.value.message


def test_default_policy_matches_the_standard():
    """规范 10.3: personal and annual archives 3 years; 典型培育 3 years after cultivation ends."""
    from docgen.archive.policy import DEFAULT_POLICY, load_policy

    p = load_policy(DEFAULT_POLICY)
    assert (p.get("personal").years, p.get("personal").trigger) == (3, "closure")
    assert set(p.get("personal").events) == {"期满", "终止", "死亡"}
    assert (p.get("cultivation").years, p.get("cultivation").trigger) == (3, "cultivation_end")
    assert (p.get("annual").years, p.get("annual").trigger) == (3, "year_end")
    assert p.get("disposal").years == 0 and p.approvals_required == 2
    assert p.get("annual").due(dt.date(2026, 12, 31)) == dt.date(2029, 12, 31)
    assert p.get("personal").due(dt.date(2028, 2, 29)) == dt.date(2031, 2, 28)
