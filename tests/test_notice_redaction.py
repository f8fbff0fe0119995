"""Notices F/K whose notice volume (TZ) was destroyed under an executed 销毁清册 lose their
personal data in the notice register (《戒毒条例》第七条): ``docgen archive execute`` clears
the people (编号 and name) and the stored view, marks the notice 已销毁 with the list, deletes
its files in the output folder and logs it; the register keeps number, dates, count and the
view's SHA-256. Builds do not make it again, receipts and voids are refused. A notice whose
volume is still kept is untouched. An execution interrupted before the redaction is completed
by ``docgen archive purge --notices``."""
from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import pytest

from test_archive import _make_ws, backdate, docgen
from test_archive_purge import audit
from test_notice_frozen import issue, manifest_entries

TODAY = dt.date.today().isoformat()  # notices are issued on the real date; filing may not be dated before them
GONE_NAMES = ("甲一", "乙二")  # T001, T002: released 2021-06 (backdated), notified in 2021-05
KEPT_NAMES = ("丙三", "丁四")  # T003, T004: released 2025-06, notified in 2025-05


def register(ws: Path) -> tuple[dict[str, dict], list[tuple]]:
    """The notice register, read directly (read-only): number -> row, and the people rows."""
    db = sqlite3.connect(f"file:{ws / 'data' / 'registry.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        rows = {r["number"]: dict(r) for r in db.execute("SELECT * FROM notices")}
        people = [tuple(r) for r in db.execute("SELECT number, person, name FROM notice_people "
                                               "JOIN notices USING (kind, institution, year, seq)")]
        return rows, people
    finally:
        db.close()


def _prepared(ws: Path) -> dict:
    """Two notices of 东湖 to 南京 (2021-05: T001, T002; 2025-05: T003, T004), each filed in its
    notice volume; the 2021 volume (due 2024-12-31) listed for destruction and approved twice."""
    _make_ws(ws)
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)  # the archive exists
    backdate(ws, "T001", "T002")
    old = issue(ws, "F", "dh", "2021-05")
    kept = issue(ws, "F", "dh", "2025-05")
    docgen(ws, "print", "--forms", "F")  # one print bundle holding both notices
    for month in ("2021-05", "2025-05"):
        docgen(ws, "archive", "file", "--notices", "dh", "--month", month, "--by", "周文静", "--as-of", TODAY)
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案")
    number = re.search(r"销毁清册 (XH-\d{4}-\d{3})", r.stdout)[1]
    assert "TZ·2021" in r.stdout and "TZ·2025" not in r.stdout
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    with pytest.MonkeyPatch.context() as mp:  # the second approver with an account of their own
        mp.setenv("LOGNAME", "lijuzhang")
        docgen(ws, "archive", "approve", number, "--by", "李局长")
    rows, people = register(ws)
    bundles = sorted(p.name for p in (ws / "output" / "打印").glob("*.pdf"))
    assert len(bundles) == 1
    return {"old": old, "kept": kept, "list": number, "before": rows, "people": people, "bundles": bundles,
            "files": {key: dict(e["files"]) for key, e in manifest_entries(ws, "F").items()}}


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[Path, dict]:
    ws = tmp_path_factory.mktemp("redaction") / "ws"
    info = _prepared(ws)
    r = docgen(ws, "archive", "execute", info["list"], "--by", "监销员")
    info["said"] = r.stdout
    return ws, info


def test_fixture_notices_name_their_people(executed):
    _, info = executed
    names = {(n, name) for n, _, name in info["people"]}
    assert {(info["old"], x) for x in GONE_NAMES} | {(info["kept"], x) for x in KEPT_NAMES} == names
    assert info["before"][info["old"]]["view"] and all(k.startswith("dh-2021-") or k.startswith("dh-2025-")
                                                      for k in info["files"])


def test_execute_clears_the_people_and_the_view_of_the_destroyed_notice(executed):
    ws, info = executed
    rows, people = register(ws)
    old, kept = rows[info["old"]], rows[info["kept"]]
    # no name, no 编号 of the destroyed notice is left; its view is gone
    assert [p for p in people if p[0] == info["old"]] == []
    text = json.dumps(rows[info["old"]], ensure_ascii=False)
    assert not any(name in text for name in GONE_NAMES) and "T001" not in text and "T002" not in text
    assert old["view"] is None
    assert (old["redacted"], old["redacted_list"]) == (TODAY, info["list"])
    # what the register needs as a register stays, with the proof of what was sent
    before = info["before"][info["old"]]
    for col in ("number", "kind", "institution", "station", "month", "release_month", "issued", "dated", "people",
                "view_sha256"):
        assert old[col] == before[col], col
    assert old["people"] == 2
    # the notice of the volume still kept is untouched
    assert kept == {**info["before"][info["kept"]], "redacted": None, "redacted_list": None}
    assert sorted(p[2] for p in people if p[0] == info["kept"]) == sorted(KEPT_NAMES)
    assert "已清除通知书" in info["said"] and info["old"] in info["said"]


def test_the_output_loses_the_destroyed_notice_and_a_build_does_not_make_it_again(executed):
    ws, info = executed
    old_key, kept_key = [k for k in info["files"] if k.startswith("dh-2021-")][0], \
        [k for k in info["files"] if k.startswith("dh-2025-")][0]
    for _ in range(2):  # right after execute, and after a build
        entries = manifest_entries(ws, "F")
        assert old_key not in entries and kept_key in entries
        assert not any((ws / "output" / rel).exists() for rel in info["files"][old_key].values())
        assert all((ws / "output" / rel).exists() for rel in info["files"][kept_key].values())
        docgen(ws, "build", "--forms", "F,K", "-q")
    state = json.loads((ws / "output" / ".docgen-state.json").read_text(encoding="utf-8"))
    assert not any(f"|{old_key}|" in key for key in state)
    # the print bundle holding it (and the other notice) is deleted whole; the register says so
    assert not (ws / "output" / "打印" / info["bundles"][0]).exists()
    printed = json.loads((ws / "output" / ".docgen-printed.json").read_text(encoding="utf-8"))
    assert not any(f"|{old_key}|" in key for key in printed["printed"])
    assert any(f"|{kept_key}|" in key for key in printed["printed"])
    assert [b.get("deleted") for b in printed["bundles"]] == ["清除通知书个人信息"]
    assert register(ws)[0][info["old"]]["view"] is None  # not frozen again from the records


def test_notice_list_shows_it_destroyed_without_names(executed):
    ws, info = executed
    out = docgen(ws, "notice", "list").stdout
    line = next(l for l in out.splitlines() if l.startswith(info["old"]))
    assert f"已销毁（清册 {info['list']}）" in line and "未收回" not in line
    kept = next(l for l in out.splitlines() if l.startswith(info["kept"]))
    assert "已销毁" not in kept
    data = {d["number"]: d for d in json.loads(docgen(ws, "notice", "list", "--json").stdout)}
    assert data[info["old"]]["people_ids"] == [] and data[info["old"]]["redacted_list"] == info["list"]
    assert data[info["old"]]["status"] == f"已销毁（清册 {info['list']}）"
    assert data[info["kept"]]["redacted"] is None and len(data[info["kept"]]["people_ids"]) == 2
    assert not any(name in out for name in GONE_NAMES)
    assert info["old"] not in docgen(ws, "notice", "list", "--outstanding").stdout


def test_receipt_void_and_a_new_notice_for_the_month_are_refused(executed):
    ws, info = executed
    for args in (("receipt", info["old"], "--date", TODAY, "--by", "周文静"), ("void", info["old"], "--reason", "误发")):
        r = docgen(ws, "notice", *args, ok=False)
        assert r.returncode == 1 and "Traceback" not in r.stderr
        assert f"已随通知书卷按销毁清册 {info['list']} 销毁" in r.stderr
    r = docgen(ws, "notice", "issue", "--kind", "F", "--institution", "dh", "--station", "nj", "--month", "2021-05",
               ok=False)
    assert r.returncode == 1 and "不能再为该月补发" in r.stderr


def test_the_audit_log_records_the_redaction_and_verify_is_clean(executed):
    ws, info = executed
    entries = [e for e in audit(ws) if e["action"] == "清除通知书个人信息"]
    assert len(entries) == 1
    e = entries[0]
    assert "TZ·2021" in e["target"] and e["after"]["清册"] == info["list"] and e["after"]["人数"] == 2
    assert e["after"]["通知书"] == [f"{info['old']}（F）"] and e["who"] == "监销员"
    assert not any(name in json.dumps(e, ensure_ascii=False) for name in GONE_NAMES)
    destroyed = [i for i, x in enumerate(audit(ws)) if x["action"] == "执行销毁"][0]
    assert audit(ws).index(e) > destroyed  # after the destruction was committed
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and "purge --notices" not in r.stdout
    r = docgen(ws, "archive", "purge", "--notices", "--by", "刘芳")  # nothing left: nothing changes
    assert "没有需要清除的通知书" in r.stdout
    assert len([e for e in audit(ws) if e["action"] == "清除通知书个人信息"]) == 1


def test_an_execution_interrupted_before_the_redaction_is_completed_by_purge(tmp_path):
    """The destruction committed, the redaction not done (the process died): verify reminds,
    ``purge --notices`` completes it and logs it; until then the names are there."""
    from docgen.archive.service import Archive, parse_date
    from docgen.cli.core import load_workspace_records
    from docgen.workspace import Workspace

    ws = tmp_path / "ws"
    info = _prepared(ws)
    w = Workspace.locate(ws)
    arc = Archive(w)
    try:  # what execute_cmd does before it redacts
        arc.execute(load_workspace_records(w), info["list"], parse_date(TODAY), "监销员")
    finally:
        arc.close()
    assert {p[2] for p in register(ws)[1] if p[0] == info["old"]} == set(GONE_NAMES)

    def remains() -> list[str]:  # what purge reports as left naming T001
        from docgen.archive.purge import remains as said

        arc = Archive(w)
        try:
            return [line for line in said(w, arc, "T001", None) if line.startswith("通知书登记簿")]
        finally:
            arc.close()

    left = remains()
    assert len(left) == 1 and info["old"] in left[0] and "purge --notices" in left[0]
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and "docgen archive purge --notices" in r.stdout and info["old"] in r.stdout
    r = docgen(ws, "archive", "purge", "--notices", "--dry-run")
    assert info["old"] in r.stdout and register(ws)[0][info["old"]]["view"] is not None
    r = docgen(ws, "archive", "purge", "--notices", "--by", "刘芳")
    assert "已清除通知书" in r.stdout and info["old"] in r.stdout
    rows, people = register(ws)
    assert rows[info["old"]]["view"] is None and not [p for p in people if p[0] == info["old"]]
    assert sorted(p[2] for p in people if p[0] == info["kept"]) == sorted(KEPT_NAMES)
    assert [e["who"] for e in audit(ws) if e["action"] == "清除通知书个人信息"] == ["刘芳"]
    assert "purge --notices" not in docgen(ws, "archive", "verify").stdout
    assert remains() == []  # the register no longer names T001
