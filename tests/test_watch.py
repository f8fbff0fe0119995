"""The watch service, run as a user runs it (a subprocess), on a small copy of the examples."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, pdf_text
from test_build import PERSON, add_person, make_small_workspace, snapshot

from docgen.documents.base import Period

OTHER = "NJ2026901"


class Watcher:
    def __init__(self, ws: Path, *extra: str, forms: str | None = "D"):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "docgen", "watch", "-w", str(ws), "--format", "pdf",
             *(("--forms", forms) if forms else ()), "--month", "2026-11", "--debounce", "0.2", *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, predicate, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            assert self.proc.poll() is None, f"the service stopped: {self.log}"
            time.sleep(0.05)
        pytest.fail(f"timed out waiting for {what}; log:\n{self.log}")

    def wait_log(self, pattern: str, timeout: float = 60) -> None:
        self.wait_for(lambda: re.search(pattern, self.log), f"log line /{pattern}/", timeout)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        return rc


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = make_small_workspace(tmp_path / "ws")
    add_person(ws, OTHER, "赵大成", 1)
    return ws


def d_pdf(ws: Path, pid: str) -> Path:
    [pdf] = (ws / "output" / "D").glob(f"{pid}-*.pdf")
    return pdf


def editor_save(path: Path, text: str) -> None:
    """Save like an editor: write a temporary file, rename it over, then touch it again."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text[: len(text) // 2], encoding="utf-8")
    time.sleep(0.02)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    time.sleep(0.02)
    path.write_text(text, encoding="utf-8")


def test_watch_regenerates_only_the_changed_person_and_survives_a_broken_file(ws: Path):
    out = ws / "output"
    (out / "D").mkdir(parents=True)
    leftover = out / "D" / f".{PERSON}-王堃.pdf.x1y2.part"  # a writer killed mid-write
    leftover.write_bytes(b"%PDF-1.4 partial")
    w = Watcher(ws)
    try:
        w.wait_log("就绪")
        assert not leftover.exists()
        mine, other = d_pdf(ws, PERSON), d_pdf(ws, OTHER)
        before = snapshot(out)
        person = ws / "records" / "persons" / f"{PERSON}.yaml"
        good = person.read_text(encoding="utf-8")

        # 1. an edit: this person's PDF is regenerated, the other person's is untouched
        edited = good.replace("025-84561234", "025-84567777")
        editor_save(person, edited)
        w.wait_for(lambda: snapshot(out)[str(mine.relative_to(out))] != before[str(mine.relative_to(out))],
                   "the edited person's PDF")
        w.wait_log("已更新 1 份文书")
        assert "025-84567777" in pdf_text(mine)
        after_edit = snapshot(out)
        assert after_edit[str(other.relative_to(out))] == before[str(other.relative_to(out))]
        assert {k for k in after_edit if after_edit[k] != before.get(k)} == {str(mine.relative_to(out))}

        # 2. a broken file: reported with file and line, outputs kept, the service runs on
        lines = edited.splitlines()
        assert lines[4] == "性别: 男"
        lines[4] = "性别: [男"
        editor_save(person, "\n".join(lines) + "\n")
        w.wait_log(rf"records/persons/{PERSON}\.yaml:[56]:\d+: 错误")
        w.wait_log("保留原样")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        errs = [e for e in manifest["errors"] if e["record"].endswith(f"{PERSON}.yaml")]
        assert errs and errs[0]["line"] in (5, 6)  # the parser notices it there
        assert any(e["key"] == PERSON for e in manifest["documents"])
        assert snapshot(out) == after_edit  # the last good PDF is still there, unchanged
        assert w.proc.poll() is None

        # 3. fixed again: back to work
        editor_save(person, good.replace("025-84561234", "025-84568888"))
        w.wait_for(lambda: "025-84568888" in pdf_text(mine), "the fixed person's PDF")
        w.wait_log("已更正")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["errors"] == []
    finally:
        rc = w.stop()
    assert rc == 0, w.log
    assert "已停止监视" in w.log
    # every line has a timestamp, and no full ID number reaches the log
    assert all(re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ", line) for line in w.lines if line.strip()), w.log
    assert not re.search(r"\d{17}[\dX]", w.log)


def test_watch_catches_up_after_restart(ws: Path):
    out = ws / "output"
    w = Watcher(ws)
    w.wait_log("就绪")
    assert w.stop() == 0
    other_before = snapshot(out)[f"D/{d_pdf(ws, OTHER).name}"]
    # changed while the service was down
    person = ws / "records" / "persons" / f"{PERSON}.yaml"
    person.write_text(person.read_text(encoding="utf-8").replace("025-84561234", "025-84569999"), encoding="utf-8")
    w = Watcher(ws)
    try:
        w.wait_log("就绪")
        assert "025-84569999" in pdf_text(d_pdf(ws, PERSON))
        assert re.search(r"已更新 1 份文书（1 份未变化", w.log), w.log
        assert snapshot(out)[f"D/{d_pdf(ws, OTHER).name}"] == other_before
    finally:
        assert w.stop() == 0


def test_watch_on_the_full_examples_touches_only_what_the_edit_affects(workspace: Path):
    """The issue's scenario on a copy of all the examples and every form: one person's file is
    edited, then broken; only documents made from that file change, the rest keep mtime and hash."""
    ws, out = workspace, workspace / "output"
    pid = "NJ2024002"
    person = ws / "records" / "persons" / f"{pid}.yaml"
    w = Watcher(ws, forms=None)
    try:
        w.wait_log("就绪", timeout=300)
        before = snapshot(out)
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        state = json.loads((out / ".docgen-state.json").read_text(encoding="utf-8"))["documents"]

        def made_from_person(entry: dict) -> bool:
            deps = state[f"{entry['form']}|{entry['key']}|{entry.get('period') or ''}"]["deps"]
            return deps == "*" or any(d.endswith(f"/persons/{pid}.yaml") for d in deps)

        affected = {f for e in manifest["documents"] if made_from_person(e) for f in e["files"].values()}
        mine = {f for e in manifest["documents"] if e.get("person") == pid or e["key"] == pid
                for f in e["files"].values()}
        [d_file] = [f for f in mine if f.startswith("D/")]
        assert len(before) > 500 and d_file in affected and len(affected) < len(before) / 4

        good = person.read_text(encoding="utf-8")
        n = len(w.lines)
        editor_save(person, good.replace('联系方式: "19925452705"', '联系方式: "13912345678"'))
        w.wait_for(lambda: snapshot(out).get(d_file) != before[d_file], "the edited person's D")
        w.wait_for(lambda: any("已更新" in line for line in w.lines[n:]), "the batch to finish")
        assert "13912345678" in pdf_text(out / d_file)
        after = snapshot(out)
        changed = {k for k in after if after[k] != before.get(k)}
        assert d_file in changed and changed <= affected, changed - affected
        assert set(after) == set(before)

        # broken: reported with file and line, nothing touched, still running
        n = len(w.lines)
        editor_save(person, good + "姓名: [\n")
        w.wait_for(lambda: any(re.search(rf"records/persons/{pid}\.yaml:\d+:\d+: 错误", line)
                               for line in w.lines[n:]), "the error line")
        w.wait_for(lambda: any("保留原样" in line for line in w.lines[n:]), "the batch to finish")
        assert snapshot(out) == after
        errors = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["errors"]
        assert any(e["record"].endswith(f"{pid}.yaml") and e.get("line") for e in errors)
        assert w.proc.poll() is None
    finally:
        assert w.stop() == 0, w.log


def test_an_editor_save_is_a_change_of_that_one_file(ws: Path):
    """Temporary file, rename, rewrite: the change the service acts on is the saved file alone
    (not its folder, whose listing changed on the way), so the folder is not walked again and
    the changed person's documents are planned first."""
    from watchdog.observers import Observer

    from docgen.documents.base import Period
    from docgen.watch import WatchService, _Handler
    from docgen.workspace import Workspace

    w = Workspace.locate(ws)
    service = WatchService(w, ws / "output", Period.parse("2026-11"), {"pdf"}, debounce=0.3)
    observer = Observer()
    observer.schedule(_Handler(service), str(service.records_dir), recursive=True)
    observer.start()
    try:
        time.sleep(0.2)
        person = service.records_dir / "persons" / f"{PERSON}.yaml"
        editor_save(person, person.read_text(encoding="utf-8").replace("联系方式: 025-84561234",
                                                                       "联系方式: 025-84561235"))
        change = service._collect()
        assert change is not None and change.records == {person}
        assert not change.templates and not change.fonts and not change.signs
        # a file added to a new folder is still seen (the folder's creation is an event)
        new_dir = service.records_dir / "more"
        new_dir.mkdir()
        (new_dir / "x.yaml").write_text("记录类型: 事件\n", encoding="utf-8")
        change = service._collect()
        assert change is not None and new_dir in change.records
    finally:
        observer.stop()
        observer.join(timeout=5)


def test_without_a_month_the_unit_tables_follow_the_calendar(ws: Path):
    """No --month: the current month's tables, and up to the 8th (the standard's reporting
    day) also last month's; when the month turns the new tables are made without a save."""
    import datetime as dt

    from docgen.documents.registry import parse_forms
    from docgen.watch import Change, WatchService
    from docgen.workspace import Workspace

    day = [dt.date(2026, 11, 30)]
    service = WatchService(Workspace.locate(ws), ws / "output", None, {"pdf"}, parse_forms("D,Q"), workers=1,
                           today=lambda: day[0])
    person = ws / "records" / "persons" / f"{PERSON}.yaml"

    def q_periods() -> set[str]:
        manifest = json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))
        return {d["period"] for d in manifest["documents"] if d["form"] == "Q"}

    def q_file(month: str) -> Path:
        return next((ws / "output" / "Q" / month).glob("nj-xw-my-*.pdf"))

    def late_visit(date: str) -> set[str]:
        text = person.read_text(encoding="utf-8").rstrip("\n")
        person.write_text(text + f"\n  - {{类型: 回访, 日期: {date}, 方式: 电话回访, 回访人: 刘芳}}\n", encoding="utf-8")
        result = service.rebuild(Change(records={person}))
        assert result is not None and not result.errors, result and result.errors
        return set(result.changed)

    service.rebuild(None)
    assert q_periods() == {"2026-11"} and not service.calendar_moved()
    day[0] = dt.date(2026, 12, 1)
    assert service.calendar_moved()  # the service loop rebuilds on this, saves or not
    service.rebuild(None)
    assert q_periods() == {"2026-11", "2026-12"} and not service.calendar_moved()
    # up to the 8th a late entry for November still reaches November's tables
    day[0] = dt.date(2026, 12, 8)
    assert not service.calendar_moved()
    assert q_file("2026-11").relative_to(ws / "output").as_posix() in late_visit("2026-11-27")
    # from the 9th November is closed: its tables stay as they were, December goes on
    day[0] = dt.date(2026, 12, 9)
    assert service.calendar_moved()
    service.rebuild(None)
    november = q_file("2026-11").read_bytes()
    changed = late_visit("2026-11-28")
    assert not any(p.startswith("Q/2026-11/") for p in changed)
    assert q_file("2026-11").read_bytes() == november and "2026-12" in q_periods()
    # a fixed --month never moves
    fixed = WatchService(Workspace.locate(ws), ws / "output", Period.parse("2026-11"), {"pdf"}, parse_forms("Q"),
                         workers=1, today=lambda: dt.date(2027, 3, 1))
    assert fixed.periods() == [Period.parse("2026-11")]




def test_the_systemd_unit_runs_a_command_docgen_accepts():
    """The shipped unit must not drift from the CLI: its ExecStart parses as a docgen watch
    command line, and it stops the service the way the service stops cleanly (SIGTERM)."""
    import configparser
    import shlex

    from click.testing import CliRunner

    from docgen.cli import main

    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str
    unit.read(ROOT / "contrib" / "systemd" / "docgen-watch.service", encoding="utf-8")
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/docgen") and argv[1] == "watch"
    assert service["KillSignal"] == "SIGTERM" and service["UMask"] == "0077"
    from docgen.watch import AlreadyWatched  # a second service of one output folder: not a failure

    assert service["RestartPreventExitStatus"] == str(AlreadyWatched.exit_code)
    # every option is one `docgen watch` knows (the help lists it)
    help_text = CliRunner().invoke(main, ["watch", "--help"]).output
    for arg in argv[2:]:
        if arg.startswith("-"):
            assert arg in help_text, arg
    assert "WantedBy" in unit["Install"]
