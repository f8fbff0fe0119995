"""Filing rules an archivist's review asked for: re-filing never drops a filed document
silently, the retention of 典型培育 volumes, the 年度 of a personal 档号 and the 立卷日期, who is
filed (released and reported persons; destroyed volumes are skipped), named 立卷人 and 检查人,
the annual archive of a 戒毒所 and K notices, blank monthly forms, Chinese labels.

Expected values are worked out by hand from the test persons' dates (see ``test_archive``)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import normalise, run_cli
from test_archive import DH, PERSONS, _make_ws, _person, by_subject, docgen

TODAY = dt.date.today().isoformat()  # lists and executions are dated by the clock: an --as-of before it is refused


def _audit(ws: Path) -> list[dict]:
    return [json.loads(l) for l in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def _last_page(path: Path) -> str:
    return normalise(PdfReader(str(path)).pages[-1].extract_text() or "")


def _write(ws: Path, pid: str, text: str) -> None:
    (ws / "records" / "persons" / f"{pid}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return _make_ws(tmp_path / "ws")


# ---------------------------------------------------------------- finding 4: no silent drop

def test_refiling_refuses_to_drop_a_filed_document_unless_a_reason_is_given(ws):
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--checker", "周文静", "--as-of", TODAY)
    # a new visit only adds a document: version 2, no reason needed
    _write(ws, "T003", PERSONS["T003"] + "  - {类型: 回访, 日期: 2025-09-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n")
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)
    assert by_subject(ws)["T003"]["version"] == 2
    # the visit of 2025-08-01 disappears from the record: re-filing would drop a filed document
    text = PERSONS["T003"].replace("  - {类型: 回访, 日期: 2025-08-01, 方式: 见面回访, 回访人: 刘芳, 操守保持: 良好}\n", "")
    assert text != PERSONS["T003"]
    _write(ws, "T003", text + "  - {类型: 回访, 日期: 2025-09-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n")
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "跟踪回访记录表（2025-08-01）" in r.stderr and "--drop-reason" in r.stderr
    assert "2025-09-01）" not in r.stderr.split("下列文件")[1].split("已归档的文件")[0]
    row = by_subject(ws)["T003"]
    assert row["version"] == 2
    # --all-persons never drops either (the reason is given volume by volume)
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--as-of", TODAY,
               "--drop-reason", "x", ok=False)
    assert r.returncode == 2
    reason = "该次回访系误录（实为 9 月 1 日电话回访）"
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY, "--drop-reason", reason)
    row = by_subject(ws)["T003"]
    assert row["version"] == 3
    back = _last_page(ws / "archive" / row["path"])
    assert normalise("跟踪回访记录表（2025-08-01）") in back and normalise(reason) in back
    entry = [e for e in _audit(ws) if e["action"] == "重新归档"][-1]
    assert entry["after"]["去除文件"] == ["跟踪回访记录表（2025-08-01）"]
    assert entry["after"]["去除理由"] == reason and entry["who"] == "刘芳"
    out = docgen(ws, "archive", "show", row["dh"]).stdout
    assert f"第 1 版：{TODAY} 立卷，立卷人 刘芳，检查人 周文静" in out
    assert f"去除第 2 版中的文件：跟踪回访记录表（2025-08-01）（理由：{reason}）" in out


# ---------------------------------------------------------------- finding 5: 典型培育 retention

def test_cultivation_volume_is_kept_until_the_later_of_cultivation_end_and_closure(ws):
    docgen(ws, "archive", "file", "--person", "T004", "--by", "刘芳", "--as-of", TODAY)
    # fixture: cultivation ends 2026-12-31, care closed 2026-06-04 → 2026-12-31 + 3 years
    assert by_subject(ws)["T004"]["due_date"] == "2029-12-31"
    # cultivation ended 2025-12-31, care closed later (期满 2026-10-31) → 2029-10-31
    later = PERSONS["T004"].replace("结束日期: 2026-12-31", "结束日期: 2025-12-31").replace(
        "{类型: 期满, 日期: 2026-06-04", "{类型: 期满, 日期: 2026-10-31")
    _write(ws, "T004", later)
    docgen(ws, "archive", "refresh", "--by", "档案员")
    got = by_subject(ws)["T004"]
    assert (got["trigger_date"], got["due_date"]) == ("2026-10-31", "2029-10-31") and "期满" in got["trigger_reason"]
    # cultivation ended, care still open: not due
    _write(ws, "T004", later.replace("  - {类型: 期满, 日期: 2026-10-31, 鉴定意见: 保持操守}\n", ""))
    docgen(ws, "archive", "refresh", "--by", "档案员")
    got = by_subject(ws)["T004"]
    assert got["due_date"] is None and "照管尚未结束" in got["trigger_reason"]


def test_due_names_volumes_whose_care_ended_without_a_closure_event(ws):
    docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--as-of", TODAY)
    # T003 reported 2025-06-15: one year of care ends 2026-06-14; no 期满 was recorded
    r = docgen(ws, "archive", "due", "--as-of", TODAY)
    assert "另有 1 卷到期日未定" in r.stdout
    assert "丙三（T003）后续照管对象个人档案：照管期限已于 2026-06-14 届满" in r.stdout
    # looking ahead does not count care periods ending after today
    r = docgen(ws, "archive", "due", "--as-of", "2030-01-01")
    assert "另有 1 卷到期日未定" in r.stdout


# ---------------------------------------------------------------- finding 6: 年度 and 立卷日期

def test_year_of_a_personal_volume_follows_the_report_and_the_filing_day_follows_the_documents(ws):
    # T003 reported 2025-06-15 and was visited 2025-08-01
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", "2020-05-01", ok=False)
    assert r.returncode == 1 and "2020-05-01" in r.stderr and "尚未出所" in r.stderr
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", "2020-05-01", "--force", ok=False)
    assert r.returncode == 1 and "早于" in r.stderr and "--as-of" in r.stderr
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", "2025-07-20", ok=False)
    assert r.returncode == 1 and "2025-08-01" in r.stderr
    assert not (ws / "archive" / "registry.sqlite3").exists() or "T003" not in by_subject(ws)
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", "2025-08-01")
    assert DH.match(by_subject(ws)["T003"]["dh"])["year"] == "2025"
    # filed in 2026 the year stays that of the report (2025), not of the 立卷日期
    docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY)
    assert DH.match(by_subject(ws)["T001"]["dh"])["year"] == "2025"


# ---------------------------------------------------------------- finding 7: not released / reported

def test_persons_not_released_or_not_reported_are_skipped_unless_forced(ws):
    _write(ws, "T005", _person("T005", "戊五", "19850505", "501", "男", ["{类型: 回访, 日期: 2025-01-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}"])
           .replace("出所时间: 2025-06-01", "出所时间: 2027-01-10").replace("事件:\n  - {类型: 回访, 日期: 2025-01-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n", ""))
    _write(ws, "T006", _person("T006", "己六", "19860606", "602", "女", []).replace("事件:\n\n", "").replace("事件:\n", ""))
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--as-of", TODAY)
    assert "跳过 T005" in r.stdout and "尚未出所" in r.stdout
    assert "跳过 T006" in r.stdout and "尚未报到" in r.stdout
    assert "共归档 4 卷，跳过 2 卷。" in r.stdout
    assert set(by_subject(ws)) == {"T001", "T002", "T003", "T004"}
    r = docgen(ws, "archive", "file", "--person", "T005", "--by", "刘芳", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "--force" in r.stderr
    docgen(ws, "archive", "file", "--person", "T005", "--by", "刘芳", "--as-of", TODAY, "--force")
    assert DH.match(by_subject(ws)["T005"]["dh"])["year"] == "2027"  # not reported: the year of the release


# ---------------------------------------------------------------- finding 12: destroyed volumes

def test_monthly_run_skips_destroyed_volumes(ws):
    from test_archive import backdate

    docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--as-of", TODAY)
    backdate(ws, "T001")  # closed 2022-06-09: due 2025-06-09
    r = docgen(ws, "archive", "dispose", "--as-of", TODAY, "--by", "档案员")
    number = r.stdout.split("已编制销毁清册 ")[1].split("：")[0]
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    with pytest.MonkeyPatch.context() as mp:  # the second approver logs in with an account of their own
        mp.setenv("LOGNAME", "lijuzhang")
        docgen(ws, "archive", "approve", number, "--by", "李局长")
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    # the person's record file (full ID number) is still there: the archivist is told
    assert "照管对象 T001 的个人档案已销毁" in r.stdout and "records/persons/T001.yaml" in r.stdout
    # the plain audit log reads the states in Chinese (finding 14); --json keeps the entries as written
    out = docgen(ws, "archive", "audit").stdout
    assert '"状态": "已销毁"' in out and '"状态": "已执行"' in out
    for code in ('"filed"', '"disposed"', '"draft"', '"executed"', '"personal"'):
        assert code not in out
    assert '"disposed"' in docgen(ws, "archive", "audit", "--json").stdout
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--as-of", TODAY)
    assert "跳过 T001" in r.stdout and "销毁" in r.stdout and "错误" not in r.stderr
    assert "共归档 3 卷，跳过 1 卷。" in r.stdout
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "销毁" in r.stderr


# ---------------------------------------------------------------- findings 8, 22: named people

def test_filing_needs_a_named_filer_and_a_different_checker(ws):
    from docgen.archive.service import name_key

    r = docgen(ws, "archive", "file", "--person", "T003", "--as-of", TODAY, ok=False)
    assert r.returncode == 2 and "--by" in r.stderr
    for checker in ("刘芳", " 刘 芳", "刘\u3000芳"):
        r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--checker", checker, "--as-of", TODAY,
                   ok=False)
        assert r.returncode == 2 and "同一人" in r.stderr
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "zhang", "--checker", "ZHANG", "--as-of", TODAY,
               ok=False)
    assert r.returncode == 2 and "同一人" in r.stderr
    assert name_key("张 主任") == name_key("张主任") and name_key("Ｚhang") == name_key("zhang")
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--checker", "周文静", "--as-of", TODAY)
    back = _last_page(ws / "archive" / by_subject(ws)["T003"]["path"])
    assert "立卷人刘芳" in back and "检查人周文静" in back


# ---------------------------------------------------------------- finding 10: 戒毒所, K notices

def test_annual_archive_of_an_institution_and_k_notices_in_the_notices_volume(workspace):
    ws = workspace
    r = run_cli("notice", "issue", "--kind", "K", "--institution", "dh", "--station", "nj", "--month", "2026-11",
                "--date", "2026-11-05", "--format", "pdf", "--workspace", str(ws))
    assert r.returncode == 0, r.stderr
    r = docgen(ws, "archive", "file", "--notices", "dh", "--month", "2026-11", "--by", "周文静", "--as-of", TODAY)
    item = [i for i in by_subject(ws).values() if i["kind"] == "notices"][0]
    titles = [o.title for o in PdfReader(str(ws / "archive" / item["path"])).outline][2:-1]
    assert any(t.startswith("戒毒典型培育对象信息对接通知书 ") for t in titles)
    r = docgen(ws, "archive", "file", "--annual", "dh", "--year", "2026", "--by", "韩志刚", "--as-of", TODAY)
    row = [i for i in by_subject(ws).values() if i["kind"] == "annual" and i["subject"] == "dh"][0]
    m = DH.match(row["dh"])
    assert (m["fonds"], m["klass"], m["year"], m["org"]) == ("J201", "GZ", "2026", "DHJDS")
    titles = [o.title for o in PdfReader(str(ws / "archive" / row["path"])).outline][2:-1]
    assert any(t.startswith("戒毒典型培育对象信息对接通知书 ") for t in titles)  # the institution's copy
    for name in ("戒毒典型培育对象地区分布统计表（2026年11月）", "戒毒典型培育对象花名册（2026年11月）",
                 "戒毒典型培育操守保持情况统计表（2026年11月）"):
        assert name in titles
    # an institution without archive codes is told what to fill in
    r = docgen(ws, "archive", "file", "--annual", "ns", "--year", "2026", "--by", "韩志刚", "--as-of", TODAY)
    (ws / "records" / "institutions" / "ns.yaml").write_text(
        "\n".join(l for l in (ws / "records" / "institutions" / "ns.yaml").read_text(encoding="utf-8").splitlines()
                  if not l.startswith("全宗号")) + "\n", encoding="utf-8")
    r = docgen(ws, "archive", "file", "--annual", "ns", "--year", "2025", "--by", "韩志刚", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "全宗号" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------- finding 11: blank forms

def test_a_volume_of_blank_forms_only_is_not_filed(ws, tmp_path):
    from docgen.archive.policy import DEFAULT_POLICY

    policy = tmp_path / "policy.toml"
    policy.write_text(DEFAULT_POLICY.read_text(encoding="utf-8").replace(
        'contents = ["G", "O", "P", "Q", "R", "S", "M", "T"]', 'contents = ["T"]'), encoding="utf-8")
    # the station's only logs are of November 2026
    r = docgen(ws, "archive", "file", "--annual", "nj-xw-my", "--year", "2026", "--as-of", "2026-10-31",
               "--policy", str(policy), "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "空表" in r.stderr
    r = docgen(ws, "archive", "file", "--annual", "nj-xw-my", "--year", "2026", "--as-of", TODAY,
               "--policy", str(policy), "--by", "刘芳")
    row = by_subject(ws)["nj-xw-my"]
    back = _last_page(ws / "archive" / row["path"])
    assert "未附空表" in back and normalise("工作日志(2026年1月") in back and "2026年10月" in back


# ---------------------------------------------------------------- finding 14: Chinese labels

def test_show_and_list_print_chinese_labels(ws):
    docgen(ws, "archive", "file", "--all-persons", "--by", "刘芳", "--as-of", TODAY)
    rows = by_subject(ws)
    out = docgen(ws, "archive", "show", rows["T004"]["dh"]).stdout
    assert "类别：典型培育对象个人档案" in out and "状态：在库" in out and "保管期限：3年" in out
    out += docgen(ws, "archive", "show", rows["T001"]["dh"]).stdout
    assert "类别：照管对象个人档案" in out
    out += docgen(ws, "archive", "list", "--all").stdout
    out = "\n".join(l for l in out.splitlines() if not l.strip().startswith("文件："))  # the files' folders
    for code in ("personal", "cultivation", "filed", "disposed"):
        assert code not in out
    # JSON keeps the registry's codes (documented as stable keys)
    data = json.loads(docgen(ws, "archive", "list", "--json").stdout)
    assert {d["kind"] for d in data} == {"personal", "cultivation"}
