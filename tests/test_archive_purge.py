"""Removing a disposed person's working data (``docgen archive purge``): after the personal
volumes are destroyed (dispose → two approvals → execute), the person's record and event
files, documents, manifest and state entries, parse cache entries, print bundles and print
register entries go; the removal is logged; a following build or the watch service does not
take the purged persons for vanished ones."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from test_archive import PERSONS, _person, by_subject, docgen, filed, filed_base  # noqa: F401

from docgen.documents.base import Period

# three more persons, closed in 2022 (due in 2025): with T001, T002 and T004 backdated, six
# personal volumes can be destroyed today
EXTRA = {
    "T005": ("戊五", "19840505", "501", "男"),
    "T006": ("己六", "19850606", "602", "女"),
    "T007": ("庚七", "19860707", "701", "男"),
}
GONE = ["T001", "T002", "T004", "T005", "T006", "T007"]
FORMS = "D,E,I,U"


def _old(text: str) -> str:
    return text.replace("2026-", "2022-").replace("2025-", "2021-")


def audit(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def manifest(ws: Path) -> dict:
    return json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))


def listed_persons(ws: Path) -> set[str]:
    return {e.get("person") for e in manifest(ws)["documents"] if e.get("person")}


def person_outputs(ws: Path, pid: str) -> list[Path]:
    return [p for p in (ws / "output").rglob("*") if p.is_file() and p.name.startswith(pid) or
            p.is_file() and any(part.startswith(f"{pid}-") for part in p.relative_to(ws / "output").parts)]


@pytest.fixture(scope="module")
def disposed_base(filed_base: Path, tmp_path_factory) -> Path:
    """Seven persons filed, the six closed ones destroyed by list XH-<year>-001, documents built
    (the record files of the six are still there)."""
    ws = tmp_path_factory.mktemp("purge") / "ws"
    shutil.copytree(filed_base, ws, symlinks=True)
    for pid, (name, birth, serial, sex) in EXTRA.items():
        text = _person(pid, name, birth, serial, sex, [
            "{类型: 报到, 日期: 2025-06-10}", "{类型: 期满, 日期: 2026-06-09, 鉴定意见: 保持操守}"])
        (ws / "records" / "persons" / f"{pid}.yaml").write_text(_old(text), encoding="utf-8")
    docgen(ws, "archive", "file", *(a for pid in EXTRA for a in ("--person", pid)), "--by", "刘芳",
           "--as-of", "2026-11-30")
    for pid in ("T001", "T002", "T004"):
        (ws / "records" / "persons" / f"{pid}.yaml").write_text(_old(PERSONS[pid]), encoding="utf-8")
    # an event file of its own for T001 (对象: T001)
    (ws / "records" / "events" / "T001-回访.yaml").write_text(
        "记录类型: 事件\n对象: T001\n事件:\n  - {类型: 回访, 日期: 2021-09-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n",
        encoding="utf-8")
    docgen(ws, "archive", "refresh")
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案")
    number = re.search(r"销毁清册 (XH-\d{4}-\d{3})", r.stdout)[1]
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    with pytest.MonkeyPatch.context() as mp:  # the second approver logs in with an account of their own
        mp.setenv("LOGNAME", "lijuzhang")
        docgen(ws, "archive", "approve", number, "--by", "李局长")
    docgen(ws, "build", "--forms", FORMS, "--format", "pdf,docx", "-q")
    r = docgen(ws, "archive", "execute", number, "--by", "监销员")
    (ws / "number.txt").write_text(number, encoding="utf-8")
    (ws / "execute.txt").write_text(r.stdout, encoding="utf-8")
    return ws


@pytest.fixture
def disposed(disposed_base: Path, tmp_path: Path) -> tuple[Path, str]:
    ws = tmp_path / "ws"
    shutil.copytree(disposed_base, ws, symlinks=True)
    # the build state names record files by absolute path: those of this copy (a person whose
    # files are all gone is a vanished person for build and watch)
    state = ws / "output" / ".docgen-state.json"
    state.write_text(state.read_text(encoding="utf-8").replace(str(disposed_base), str(ws)), encoding="utf-8")
    return ws, (ws / "number.txt").read_text(encoding="utf-8")


def test_execute_says_what_working_data_is_left(disposed):
    ws, number = disposed
    got = by_subject(ws)
    assert all(got[pid]["status"] == "disposed" for pid in GONE) and got["T003"]["status"] == "filed"
    said = (ws / "execute.txt").read_text(encoding="utf-8")
    # short: six persons, the first three named, the totals and the command
    assert "6 名照管对象（T001、T002、T004等）" in said and "T005" not in said
    assert "记录文件 7 个" in said  # six person files and T001's event file
    assert f"docgen archive purge --list {number} --by 姓名" in said and "--dry-run" in said
    # verify passes and reminds; due reminds
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and "6 名照管对象" in r.stdout and "docgen archive purge" in r.stdout
    assert "6 名照管对象" in docgen(ws, "archive", "due").stdout


def test_purge_removes_the_working_data_and_a_build_does_not_miss_it(disposed):
    ws, number = disposed
    out = ws / "output"
    docgen(ws, "print", "--person", "T001", "--person", "T003")  # a bundle with a purged and a kept person
    bundle = next((out / "打印").glob("*.pdf"))
    printed = json.loads((out / ".docgen-printed.json").read_text(encoding="utf-8"))["printed"]
    assert any(k.split("|")[1].startswith("T001") for k in printed)
    t001 = [f for f in (ws / "records").rglob("*.yaml") if f.stem.startswith("T001")]
    assert len(t001) == 2
    before_docs = person_outputs(ws, "T001")
    assert {p.suffix for p in before_docs} == {".pdf", ".docx"}
    log_before = audit(ws)

    # --dry-run lists and removes nothing
    r = docgen(ws, "archive", "purge", "--list", number, "--dry-run")
    assert "T001（个人档案" in r.stdout and "将删除" in r.stdout and "records/events/T001-回访.yaml" in r.stdout
    assert "打印包" in r.stdout and "未作任何改动" in r.stdout
    assert all(f.exists() for f in t001 + before_docs) and bundle.exists() and audit(ws) == log_before
    assert GONE[0] in listed_persons(ws)

    r = docgen(ws, "archive", "purge", "--list", number, "--by", "刘芳")
    assert "共清除 6 人的工作数据" in r.stdout and "下次 docgen build" in r.stdout
    # records, every format of every document, the bundle: gone; the others untouched
    assert not any(f.exists() for f in t001) and not person_outputs(ws, "T001")
    assert not any((ws / "records" / "persons" / f"{pid}.yaml").exists() for pid in GONE)
    assert (ws / "records" / "persons" / "T003.yaml").exists() and person_outputs(ws, "T003")
    assert not bundle.exists() and "已删除打印包" in r.stdout
    assert not (out / "I" / "T001-甲一").exists()  # the person's folder of per-event documents
    assert listed_persons(ws) == {"T003"}
    state = json.loads((out / ".docgen-state.json").read_text(encoding="utf-8"))["documents"]
    assert state and not any(k.split("|")[1].startswith(tuple(GONE)) for k in state)
    register = json.loads((out / ".docgen-printed.json").read_text(encoding="utf-8"))
    assert register["printed"] and not any(k.split("|")[1].startswith("T001") for k in register["printed"])
    cache = (out / ".docgen-records.cache").read_bytes()
    assert "T001".encode() not in cache and "甲一".encode("utf-8") not in cache and b"T003" in cache
    # the audit log: one entry per person, 编号 and counts, no name, after the disposal
    entries = [e for e in audit(ws)[len(log_before):] if e["action"] == "清除工作数据"]
    assert [e["after"]["对象"] for e in entries] == GONE
    first = entries[0]
    assert first["target"] == by_subject(ws)["T001"]["dh"] and first["who"] == "刘芳"
    assert first["after"]["清册"] == number and first["after"]["记录文件"] == 2
    assert first["after"]["文书文件"] == len(before_docs) and first["after"]["打印包"] == 1
    assert "甲一" not in json.dumps(entries, ensure_ascii=False)
    assert "核对通过" in docgen(ws, "archive", "verify").stdout
    assert "docgen archive purge" not in docgen(ws, "archive", "verify").stdout

    # the next build: no vanished persons, nothing of theirs made again
    r = docgen(ws, "build", "--forms", FORMS, "--format", "pdf,docx")
    assert "记录文件已不在记录目录中" not in r.stderr and "移出清单" not in r.stderr
    assert listed_persons(ws) == {"T003"} and not person_outputs(ws, "T001")
    # run again: nothing left, nothing logged
    count = len(audit(ws))
    r = docgen(ws, "archive", "purge", "--person", "T001", "--by", "刘芳")
    assert "已没有其工作数据" in r.stdout and len(audit(ws)) == count


def test_purge_is_refused_unless_the_volume_is_destroyed(disposed):
    ws, _ = disposed
    count = len(audit(ws))
    r = docgen(ws, "archive", "purge", "--person", "T003", "--person", "T001", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "T003" in r.stderr and "在库" in r.stderr and "销毁之后才能清除" in r.stderr
    r = docgen(ws, "archive", "purge", "--person", "NOBODY", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "没有个人档案" in r.stderr
    r = docgen(ws, "archive", "purge", "--person", "T001", ok=False)
    assert r.returncode != 0 and "--by" in r.stderr
    assert (ws / "records" / "persons" / "T001.yaml").exists() and person_outputs(ws, "T001")
    assert "T001" in listed_persons(ws) and len(audit(ws)) == count
    # the registry says destroyed, the audit log does not: refused (the log decides)
    import sqlite3

    db = sqlite3.connect(ws / "archive" / "registry.sqlite3")
    db.execute("UPDATE items SET status = 'disposed' WHERE subject = 'T003'")
    db.commit()
    db.close()
    r = docgen(ws, "archive", "purge", "--person", "T003", "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "登记簿被改动" in r.stderr
    assert (ws / "records" / "persons" / "T003.yaml").exists()


def test_an_interrupted_purge_completes_when_run_again(disposed, monkeypatch):
    """Logged and the manifest rewritten, then killed before the files went: a second run
    removes the rest and logs what it removed."""
    from docgen.archive import purge as purge_mod
    from docgen.archive.service import Archive
    from docgen.cli.core import load_workspace_records
    from docgen.workspace import Workspace

    ws, _ = disposed
    real = purge_mod._unlink
    calls = []

    def dying(path):
        calls.append(path)
        if len(calls) > 2:
            raise KeyboardInterrupt
        real(path)

    monkeypatch.setattr(purge_mod, "_unlink", dying)
    w = Workspace.locate(ws)
    arc = Archive(w)
    with pytest.raises(KeyboardInterrupt):
        purge_mod.purge(arc, w, load_workspace_records(w), ["T001"], "刘芳")
    arc.close()
    monkeypatch.setattr(purge_mod, "_unlink", real)
    assert "T001" not in listed_persons(ws) and person_outputs(ws, "T001")
    r = docgen(ws, "archive", "purge", "--person", "T001", "--by", "刘芳")
    assert "已清除 T001" in r.stdout
    assert not person_outputs(ws, "T001") and not (ws / "records" / "persons" / "T001.yaml").exists()
    assert [e["after"]["对象"] for e in audit(ws) if e["action"] == "清除工作数据"] == ["T001", "T001"]


def _fresh_output(ws: Path) -> None:
    """Start the output folder afresh with form D only: a D's record files are its person's own,
    so a person whose files are all gone counts as vanished for build and watch (forms that also
    read station files never make a person vanish)."""
    shutil.rmtree(ws / "output")


def test_the_watch_service_is_not_held_by_a_purge_of_many_persons(disposed, caplog):
    from docgen.documents.registry import parse_forms
    from docgen.watch import Change, WatchService
    from docgen.workspace import Workspace

    ws, number = disposed
    _fresh_output(ws)
    out = ws / "output"
    svc = WatchService(Workspace.locate(ws), out, Period.parse("2026-11"), {"pdf"}, parse_forms("D,P"), workers=1)
    assert svc.rebuild(None) is not None
    assert set(GONE) <= listed_persons(ws)
    files = {f.resolve() for f in (ws / "records").rglob("*.yaml") if f.stem.startswith(tuple(GONE))}
    docgen(ws, "archive", "purge", "--list", number, "--by", "刘芳")
    with caplog.at_level("INFO", logger="docgen.watch"):
        result = svc.rebuild(Change(records=files))
    assert result is not None and "同时不见了" not in caplog.text and "暂停" not in caplog.text
    assert listed_persons(ws) == {"T003"}
    assert [e.get("period") for e in manifest(ws)["documents"] if e["form"] == "P"]


def test_a_build_after_a_purge_does_not_report_vanished_persons(disposed):
    ws, number = disposed
    _fresh_output(ws)
    build = ("build", "--forms", "D,P", "--month", "2026-11", "--format", "pdf")
    docgen(ws, *build)
    docgen(ws, "archive", "purge", "--person", "T001", "--person", "T002", "--by", "刘芳")
    r = docgen(ws, *build)
    assert "记录文件已不在记录目录中" not in r.stderr and "移出清单" not in r.stderr
    assert "本次生成 0 份" in r.stdout  # nothing of theirs made again (and nobody else's changed)
    assert "T001" not in listed_persons(ws) and not person_outputs(ws, "T001")


def test_purge_finds_documents_the_manifest_no_longer_lists(disposed):
    """The record file moved away by hand and a build run since: the manifest no longer lists
    the person, the files are still in the output folder; purge finds and removes them."""
    ws, _ = disposed
    (ws / "records" / "persons" / "T002.yaml").unlink()
    docgen(ws, "build", "--forms", FORMS, "--format", "pdf,docx", "-q")
    left = person_outputs(ws, "T002")
    assert "T002" not in listed_persons(ws) and len(left) == 6  # D E U, PDF and DOCX
    assert "T002" in docgen(ws, "archive", "verify").stdout
    r = docgen(ws, "archive", "purge", "--person", "T002", "--by", "刘芳")
    assert "已清除 T002" in r.stdout and "6 个文件" in r.stdout
    assert not person_outputs(ws, "T002") and person_outputs(ws, "T003")
    entry = [e for e in audit(ws) if e["action"] == "清除工作数据"][-1]
    assert entry["after"]["对象"] == "T002" and entry["after"]["记录文件"] == 0 and entry["after"]["文书文件"] == 6


def test_purge_reports_the_notices_and_frozen_months_naming_the_person(disposed, monkeypatch):
    """The notice register keeps notices as sent (names included): purge leaves them and says so,
    telling a notice whose own volume is destroyed too from one still kept."""
    from docgen.archive import purge as purge_mod
    from docgen.archive.service import Archive
    from docgen.registry import notices
    from docgen.workspace import Workspace

    ws, _ = disposed
    sent = [{"number": "东湖戒[2021]3号", "kind": "F", "institution": "dh", "station": "nj-zdz", "month": "2021-05",
             "people_ids": ["T001", "T002"]},
            {"number": "东湖戒[2021]4号", "kind": "F", "institution": "dh", "station": "nj-zdz", "month": "2021-06",
             "people_ids": ["T003"]}]
    monkeypatch.setattr(notices, "list_notices", lambda data_dir: sent)
    w = Workspace.locate(ws)
    from docgen.registry import numbers

    assert numbers.assign(w.data, "H", "dh", 2021, "T001") == 1  # the H number given to the person
    arc = Archive(w)
    try:
        said = purge_mod.remains(w, arc, "T001", None)
    finally:
        arc.close()
    assert len(said) == 2 and "东湖戒[2021]3号" in said[0] and "尚未归入通知书卷" in said[0]
    assert "编号登记簿：H 2021 年第 1 号" in said[1]
