"""Voided notices that no notice volume holds (a month whose notices were all voided never gets
a notice volume, TZ) keep their people no longer than that month's notice volume would have
(《戒毒条例》第七条): once its term (policy: year_end + 3 years) has run, ``docgen archive due``
lists them and ``docgen archive purge --notices`` clears them, logged without names.

Dates, by hand: a notice of 2021-05 belongs to the volume year 2021, term starts 2021-12-31 and
runs out 2024-12-31 (before today); one of 2025-05 runs out 2028-12-31 (after today)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from test_archive import _make_ws, backdate, docgen, items
from test_archive import PERSONS
from test_notice_frozen import issue
from test_notice_redaction import register

TODAY = dt.date.today().isoformat()
ACTION = "清除作废通知书个人信息"


def _audit(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def voided(tmp_path_factory) -> tuple[Path, dict]:
    """东湖's notices to 南京: 2021-05 (T001) issued twice and voided twice, no TZ; 2025-05
    (T003, T004) issued and voided, no TZ, term still running; 2020-05 (T002, five years back)
    one voided, one kept and filed in a TZ. Then due and purge --notices (twice)."""
    ws = tmp_path_factory.mktemp("voided") / "ws"
    _make_ws(ws)
    docgen(ws, "archive", "file", "--person", "T004", "--by", "刘芳", "--as-of", TODAY)
    backdate(ws, "T001")
    text = PERSONS["T002"].replace("2026-", "2021-").replace("2025-", "2020-")
    (ws / "records" / "persons" / "T002.yaml").write_text(text, encoding="utf-8")
    docgen(ws, "archive", "refresh")
    info: dict = {"old": [], "new": [], "tz_month": []}
    for _ in range(2):
        n = issue(ws, "F", "dh", "2021-05")
        docgen(ws, "notice", "void", n, "--reason", "收件站点填错")
        info["old"].append(n)
    n = issue(ws, "F", "dh", "2025-05")
    docgen(ws, "notice", "void", n, "--reason", "收件站点填错")
    info["new"].append(n)
    n = issue(ws, "F", "dh", "2020-05")
    docgen(ws, "notice", "void", n, "--reason", "收件站点填错")
    info["tz_month"].append(n)
    info["kept"] = issue(ws, "F", "dh", "2020-05")
    docgen(ws, "archive", "file", "--notices", "dh", "--month", "2020-05", "--by", "周文静", "--as-of", TODAY)
    info["rows_before"], info["people_before"] = register(ws)
    info["due"] = docgen(ws, "archive", "due").stdout
    info["due_json"] = json.loads(docgen(ws, "archive", "due", "--json").stdout)
    info["due_2028"] = json.loads(docgen(ws, "archive", "due", "--json", "--as-of", "2028-12-31").stdout)
    info["due_2028_eve"] = json.loads(docgen(ws, "archive", "due", "--json", "--as-of", "2028-12-30").stdout)
    info["log_before"] = len(_audit(ws))
    info["dry"] = docgen(ws, "archive", "purge", "--notices", "--dry-run").stdout
    info["log_dry"] = len(_audit(ws))
    info["purge"] = docgen(ws, "archive", "purge", "--notices", "--by", "刘芳").stdout
    info["log_after"] = len(_audit(ws))
    info["rows"], info["people"] = register(ws)
    info["list"] = docgen(ws, "notice", "list").stdout
    info["again"] = docgen(ws, "archive", "purge", "--notices", "--by", "刘芳").stdout
    info["log_again"] = len(_audit(ws))
    info["due_after"] = json.loads(docgen(ws, "archive", "due", "--json").stdout)
    return ws, info


def _voided_items(due: list[dict]) -> dict[str, dict]:
    return {d["number"]: d for d in due if d.get("kind") == "voided_notice"}


def test_due_lists_voided_notices_of_a_month_without_volume_once_its_term_has_run(voided):
    ws, info = voided
    listed = _voided_items(info["due_json"])
    assert sorted(listed) == sorted(info["old"])  # 2025-05 not yet, 2020-05 has its TZ
    for n in info["old"]:
        assert listed[n]["due_date"] == "2024-12-31" and listed[n]["trigger_date"] == "2021-12-31"
        assert listed[n]["month"] == "2021-05" and "purge --notices" in listed[n]["command"]
        assert f"{n}（F）  2021-05  期满 2024-12-31" in info["due"]
    assert "docgen archive purge --notices --by 姓名" in info["due"]
    # the 2025-05 notice: due on 2028-12-31, not the day before
    assert info["new"][0] in _voided_items(info["due_2028"])
    assert _voided_items(info["due_2028"])[info["new"][0]]["due_date"] == "2028-12-31"
    assert info["new"][0] not in _voided_items(info["due_2028_eve"])
    assert info["tz_month"][0] not in _voided_items(info["due_2028"])


def test_purge_clears_voided_notices_whose_term_has_run(voided):
    ws, info = voided
    assert info["log_dry"] == info["log_before"]  # --dry-run changes nothing
    assert all(n in info["dry"] for n in info["old"])
    before, rows = info["rows_before"], info["rows"]
    for n in info["old"]:
        assert before[n]["view"] is not None and before[n]["redacted"] is None
        assert rows[n]["view"] is None and rows[n]["redacted"] and rows[n]["redacted_list"] == "期满清除"
        assert rows[n]["view_sha256"] == before[n]["view_sha256"] and rows[n]["voided"]
        assert f"已清除通知书 {n}（F）的人员信息" in info["purge"]
        assert before[n]["pdf"] and not (Path(before[n]["out_dir"]) / before[n]["pdf"]).exists()
    named = {p[0] for p in info["people"]}
    assert not named & set(info["old"])
    assert {p[0] for p in info["people_before"]} >= set(info["old"])
    # the term of 2025-05 still runs: untouched, and purge says when it falls due
    new = info["new"][0]
    assert rows[new]["view"] is not None and rows[new]["redacted"] is None and new in named
    assert f"{new}（F）（2025-05）" in info["purge"] and "2028-12-31" in info["purge"]
    # logged once, before, without names or ID numbers
    entries = [e for e in _audit(ws) if e["action"] == ACTION]
    assert len(entries) == 1
    after = entries[0]["after"]
    assert sorted(after["通知书"]) == sorted(f"{n}（F）" for n in info["old"])
    assert after["月份"] == "2021-05" and after["份数"] == 2 and after["期满日"] == "2024-12-31"
    assert after["起算"] == "2021-12-31" and "3年" in after["期限"]
    log = (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8")
    assert "甲一" not in log and "19800101" not in log
    assert "核对通过" in docgen(ws, "archive", "verify").stdout


def test_cleared_voided_notices_show_as_cleared_and_are_not_built_again(voided):
    ws, info = voided
    for line in info["list"].splitlines():
        if any(n in line for n in info["old"]):
            assert "已清除" in line and "期满" in line, line
    # the summary counts them as cleared after the term, not as destroyed with a notice volume
    summary = info["list"].splitlines()[-1]
    assert f"作废未入卷、保管期满已清除人员信息 {len(info['old'])} 份" in summary and "随通知书卷销毁" not in summary
    assert "销毁或清除" in info["list"].splitlines()[0]
    docgen(ws, "build")
    before = info["rows_before"]
    for n in info["old"]:
        assert not (Path(before[n]["out_dir"]) / before[n]["pdf"]).exists()
    rows, _ = register(ws)
    assert all(rows[n]["view"] is None for n in info["old"])


def test_a_second_purge_clears_nothing_and_logs_nothing(voided):
    ws, info = voided
    assert info["log_after"] > info["log_before"]
    assert info["log_again"] == info["log_after"]
    assert "已清除通知书" not in info["again"] and "没有需要清除的通知书人员信息" in info["again"]
    assert not _voided_items(info["due_after"])


def test_a_month_with_a_notice_volume_is_not_cleared_by_this_path(voided):
    ws, info = voided
    tz = [i for i in items(ws) if i["kind"] == "notices"]
    assert [i["period"] for i in tz] == ["2020-05"] and tz[0]["status"] == "filed"
    rows = info["rows"]
    for n in (info["tz_month"][0], info["kept"]):
        assert rows[n]["view"] is not None and rows[n]["redacted"] is None
        assert n in {p[0] for p in info["people"]}
    # the same run cleared the voided notices of 2021-05 (no TZ), not the one of 2020-05 (TZ kept)
    assert all(f"已清除通知书 {n}（F）" in info["purge"] for n in info["old"])
    assert info["tz_month"][0] not in info["purge"]
