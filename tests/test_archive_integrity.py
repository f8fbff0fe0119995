"""The archive's integrity controls as an archivist's review tested them: the registry against
the audit log, edits in the middle of the log, who may approve, the date of a destruction,
refused steps in the log, the state of a list, and an interrupted execution.

The workspace is the one of ``test_archive`` (four synthetic persons filed once on 2026-11-30 by
刘芳, checker 周文静); ``backdate`` moves a person's history four years back so that the volume
is due now. Lists are drafted by 档案员 as of today.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from test_archive import backdate, by_subject, docgen, filed, filed_base  # noqa: F401
from test_archive_audit import _approved, _draft, _kill_at, _killed, _second_approval

TODAY = dt.date.today()


def _sql(ws: Path, statement: str, *args) -> None:
    with sqlite3.connect(ws / "archive" / "registry.sqlite3") as db:
        db.execute(statement, args)


def _log(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def _approve_as(ws: Path, number: str, name: str, account: str, ok: bool = True):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOGNAME", account)
        return docgen(ws, "archive", "approve", number, "--by", name, ok=ok)


# ----------------------------------------------------------------------------- finding 1: registry against log


@pytest.mark.parametrize("column, value, label", [
    ("due_date", "2020-01-01", "到期日"),
    ("pages", 99, "页数"),
    ("title", "篡改", "题名"),
    ("trigger_date", "2020-01-01", "起算日"),
    ("trigger_reason", "篡改的事由", "起算事由"),
])
def test_verify_names_a_volume_field_edited_in_the_registry(filed, column, value, label):
    ws = filed
    dh = by_subject(ws)["T001"]["dh"]
    assert "核对通过" in docgen(ws, "archive", "verify").stdout
    _sql(ws, f"UPDATE items SET {column} = ? WHERE subject = 'T001'", value)
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{dh} 的{label}在登记簿中为“{value}”" in r.stderr and "登记簿被改动" in r.stderr


def test_a_hold_lifted_by_hand_is_reported_and_still_stops_the_destruction(filed):
    ws = filed
    number = _approved(ws, "T001")  # T001 due 2025-06-09, on an approved list
    dh = by_subject(ws)["T001"]["dh"]
    docgen(ws, "archive", "hold", dh, "--reason", "涉诉调阅", "--by", "档案员")
    _sql(ws, "UPDATE items SET hold_reason = NULL, held_by = NULL, held_at = NULL WHERE subject = 'T001'")
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and f"{dh} 的保全在登记簿中为“（无）”，审计日志最后记载为“涉诉调阅”" in r.stderr
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "登记簿被改动" in r.stderr and "涉诉调阅" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed" and (ws / "archive" / by_subject(ws)["T001"]["path"]).is_file()
    r = docgen(ws, "archive", "dispose", "--as-of", TODAY.isoformat(), "--by", "档案员", ok=False)
    assert r.returncode == 1 and "不能编制销毁清册" in r.stderr


def test_invented_approvals_count_for_nothing(filed):
    ws = filed
    number = _approved(ws, "T001")
    _sql(ws, "DELETE FROM approvals")
    _sql(ws, "INSERT INTO approvals VALUES (?, '假甲', '2026-11-30T10:00:00+00:00')", number)
    _sql(ws, "INSERT INTO approvals VALUES (?, '假乙', '2026-11-30T10:00:01+00:00')", number)
    r = docgen(ws, "archive", "verify", ok=False)
    assert f"销毁清册 {number} 的批准人“假甲”在登记簿中，审计日志却没有其批准记录" in r.stderr
    assert f"审计日志记载 张主任 批准了销毁清册 {number}，登记簿中却没有这条批准" in r.stderr
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "登记簿被改动" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed" and number not in by_subject(ws)
    refusal = _log(ws)[-1]
    assert refusal["action"] == "拒绝执行销毁" and "假甲" in json.dumps(refusal["after"], ensure_ascii=False)


def test_a_drafter_renamed_by_hand_cannot_approve(filed):
    ws = filed
    number = _draft(ws, "T001")  # drafted by 档案员
    _sql(ws, "UPDATE lists SET drafted_by = '张主任'")
    r = docgen(ws, "archive", "verify", ok=False)
    assert f"销毁清册 {number} 的编制人在登记簿中为“张主任”，审计日志最后记载为“档案员”" in r.stderr
    r = docgen(ws, "archive", "approve", number, "--by", "李局长", ok=False)
    assert r.returncode == 1 and "登记簿被改动" in r.stderr
    _sql(ws, "UPDATE lists SET drafted_by = '档案员'")  # put right: the log's 编制人 is the one compared
    r = docgen(ws, "archive", "approve", number, "--by", "档案员", ok=False)
    assert r.returncode == 1 and "不能批准自己编制的清册" in r.stderr
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    assert [a["批准人"] for a in json.loads(docgen(ws, "archive", "lists", number, "--json").stdout)["批准"]] == ["张主任"]


def test_a_due_date_edited_by_hand_and_then_recomputed_still_shows(filed):
    ws = filed
    dh = by_subject(ws)["T003"]["dh"]  # still in care: no due date
    _sql(ws, "UPDATE items SET due_date = '2020-01-01' WHERE subject = 'T003'")
    docgen(ws, "archive", "refresh", "--by", "档案员")  # recomputes (no due date) and logs the edited value as "before"
    assert by_subject(ws)["T003"]["due_date"] is None
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and dh in r.stderr and "到期日为“2020-01-01”" in r.stderr
    assert "登记簿在这次操作之前被改动过" in r.stderr


# ----------------------------------------------------------------------------- finding 9: the whole chain


def test_an_entry_changed_in_the_middle_of_the_log_stops_every_change(filed):
    ws = filed
    log = ws / "archive" / "audit.jsonl"
    original = log.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    assert len(lines) == 4 and "周文静" in lines[1]
    tampered = lines[0] + lines[1].replace("周文静", "王某") + "".join(lines[2:])
    log.write_text(tampered, encoding="utf-8")
    dh = by_subject(ws)["T003"]["dh"]
    r = docgen(ws, "archive", "hold", dh, "--reason", "调阅", ok=False)
    assert r.returncode == 1 and "第 2 行（序号 2）内容被改动" in r.stderr and "不能再改动档案库" in r.stderr
    assert by_subject(ws)["T003"]["hold_reason"] is None and log.read_text(encoding="utf-8") == tampered
    r = docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "不能再改动档案库" in r.stderr
    log.write_text(original, encoding="utf-8")  # restored from the backup
    docgen(ws, "archive", "hold", dh, "--reason", "调阅")
    assert "审计日志 5 条，散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout


# ----------------------------------------------------------------------------- finding 2: who approves


def test_approver_names_are_compared_without_spaces_and_case(filed):
    ws = filed
    number = _draft(ws, "T001")
    _approve_as(ws, number, "张主任", "zhang")
    r = _approve_as(ws, number, "张 主任", "other", ok=False)  # another login, the same person
    assert r.returncode == 1 and "已批准过" in r.stderr
    r = _approve_as(ws, number, "档\u3000案员", "other", ok=False)  # the drafter with a full-width space
    assert r.returncode == 1 and "不能批准自己编制的清册" in r.stderr
    number2 = _draft(ws, "T002")
    _approve_as(ws, number2, "ZHANG", "zhang")
    r = _approve_as(ws, number2, " zhang\u3000", "other", ok=False)
    assert r.returncode == 1 and "已批准过" in r.stderr


def test_two_approvals_from_one_account_are_refused(filed):
    ws = filed
    number = _draft(ws, "T001")
    _approve_as(ws, number, "张主任", "zhang")
    r = _approve_as(ws, number, "李局长", "zhang", ok=False)
    assert r.returncode == 1 and "两名批准人须由不同的账户操作" in r.stderr and "zhang" in r.stderr
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", TODAY.isoformat(), ok=False)
    assert r.returncode == 1 and "只有 1 人批准（张主任）" in r.stderr
    r = _approve_as(ws, number, "李局长", "li")
    assert "第 2 人" in r.stdout
    docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王")
    assert by_subject(ws)["T001"]["status"] == "disposed"


# ----------------------------------------------------------------------------- finding 3: no backdating


def test_execution_cannot_be_dated_before_the_cut_off_or_the_drafting(filed):
    ws = filed
    backdate(ws, "T001")  # due 2025-06-09
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-10-15", "--by", "档案员")  # drafted today, cut-off 2025-10-15
    number = r.stdout.split("销毁清册 ")[1].split("：")[0]
    _approve_as(ws, number, "张主任", "zhang")
    _approve_as(ws, number, "李局长", "li")
    r = docgen(ws, "archive", "execute", number, "--as-of", "2025-10-14", "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "销毁日期 2025-10-14 早于清册的鉴定截止日期 2025-10-15" in r.stderr
    r = docgen(ws, "archive", "execute", number, "--as-of", "2025-10-16", "--by", "监销人王", ok=False)
    assert r.returncode == 1 and f"销毁日期 2025-10-16 早于清册的编制日期 {TODAY.isoformat()}" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed"
    docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王")
    assert by_subject(ws)["T001"]["status"] == "disposed"


# ----------------------------------------------------------------------------- findings 17, 19, 18


def test_refused_approvals_and_executions_are_logged(filed):
    ws = filed
    number = _draft(ws, "T001")
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "无人批准" in r.stderr
    docgen(ws, "archive", "approve", number, "--by", "档案员", ok=False)
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    docgen(ws, "archive", "approve", number, "--by", "张主任", ok=False)
    tail = [(e["action"], e["target"], e["who"], e["after"]) for e in _log(ws)[-4:]]
    assert [t[:3] for t in tail] == [("拒绝执行销毁", number, "监销人王"), ("拒绝批准销毁", number, "档案员"),
                                     ("批准销毁", number, "张主任"), ("拒绝批准销毁", number, "张主任")]
    assert "无人批准" in tail[0][3]["原因"][0] and "编制人" in tail[1][3]["原因"] and "已批准过" in tail[3][3]["原因"]
    assert "散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout


def test_lists_shows_how_many_approvals_a_list_still_lacks(filed):
    ws = filed
    number = _draft(ws, "T001")
    assert f"{number}  待批准（0/2）" in docgen(ws, "archive", "lists").stdout
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    assert f"{number}  待批准（1/2）" in docgen(ws, "archive", "lists").stdout
    assert f"销毁清册 {number}（待批准（1/2））" in docgen(ws, "archive", "lists", number).stdout
    _second_approval(ws, number, "李局长")
    assert f"{number}  待执行" in docgen(ws, "archive", "lists").stdout


def test_an_interrupted_execution_is_reported_as_unfinished_not_as_a_failure(filed):
    ws = filed
    number = _approved(ws, "T001")
    r = _killed(ws, _kill_at("_append_audit"), "archive", "execute", number, "--by", "监销员", "--as-of", TODAY.isoformat(),
                "--by", "监销人王")
    assert r.returncode == -9, r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed"  # not committed
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and "未完成的操作（下次改动时自动完成）" in r.stderr and "执行销毁" in r.stderr
    docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王")
    assert by_subject(ws)["T001"]["status"] == "disposed"
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and "未完成" not in r.stderr


def test_names_are_normalised_as_an_archivist_compares_them():
    from docgen.archive.ledger import norm_name

    assert norm_name("ＺＨＡＮＧ\u3000") == norm_name(" zhang") == norm_name("Zhang\u200b") == "zhang"
    assert norm_name("张\u3000主 任\t") == "张主任" and norm_name("张主任") != norm_name("李局长")
    assert norm_name(" \u3000 ") == ""


def test_execution_cannot_be_dated_before_the_last_approval(filed):
    """An approval logged on a later day than the cut-off and the drafting (the clock of the log
    moved on by a day): the destruction cannot be dated before it."""
    ws = filed
    number = _draft(ws, "T001")  # cut-off and drafting today
    _approve_as(ws, number, "张主任", "zhang")
    later = TODAY + dt.timedelta(days=1)
    patch = ("from docgen.archive import store\n"
             f"store.now_utc = lambda: '{later.isoformat()}T12:00:00+00:00'\n"
             "os.environ['LOGNAME'] = 'li'")
    r = _killed(ws, patch, "archive", "approve", number, "--by", "李局长")
    assert r.returncode == 0, r.stderr
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY.isoformat(), "--by", "监销人王", ok=False)
    assert r.returncode == 1 and f"早于清册的最后一次批准的日期 {later.isoformat()}" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed"
