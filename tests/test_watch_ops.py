"""The watch service in long operation: other writers in its output folder, folders moved or
deleted by hand, a full disk, and what its log shows over weeks."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from conftest import ROOT, pdf_text
from test_build import PERSON, add_person, make_small_workspace
from test_watch import OTHER, Watcher, d_pdf, editor_save

from docgen.documents.base import Period

PHONE = "025-84561234"  # the example person's 联系方式


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = make_small_workspace(tmp_path / "ws")
    add_person(ws, OTHER, "赵大成", 1)
    return ws


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def d_keys(out: Path) -> set[str]:
    try:
        return {e["key"] for e in manifest(out)["documents"] if e["form"] == "D"}
    except (OSError, ValueError):
        return set()


def person_file(ws: Path) -> Path:
    return ws / "records" / "persons" / f"{PERSON}.yaml"


def new_phone(ws: Path, phone: str) -> None:
    path = person_file(ws)
    text = re.sub(r"联系方式: \S+", f"联系方式: {phone}", path.read_text(encoding="utf-8"), count=1)
    editor_save(path, text)


def service(ws: Path, forms: str = "D"):
    from docgen.documents.registry import parse_forms
    from docgen.watch import WatchService
    from docgen.workspace import Workspace

    return WatchService(Workspace.locate(ws), ws / "output", Period.parse("2026-11"), {"pdf"}, parse_forms(forms),
                        workers=1)


# --------------------------------------------------------------------------- two writers


def test_a_build_by_hand_waits_while_another_docgen_writes_the_output_folder(ws: Path):
    """The service's batch holds the output folder's lock: a clerk's docgen build on the same
    folder says so and waits, instead of writing manifest, state and PDFs at the same time."""
    from docgen.build import output_lock

    out = ws / "output"
    with output_lock(out):
        proc = subprocess.Popen([sys.executable, "-m", "docgen", "build", "-w", str(ws), "--forms", "D",
                                 "--format", "pdf", "-q", "-j", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not any("正由另一个 docgen 进程写入" in line for line in err):
            assert proc.poll() is None, f"the build did not wait: {err}"
            assert time.monotonic() < deadline, "no waiting message"
            time.sleep(0.05)
        time.sleep(0.5)
        assert proc.poll() is None and not (out / "manifest.json").exists() and not (out / "D").exists()
    assert proc.wait(timeout=60) == 0, err
    assert d_keys(out) == {PERSON, OTHER}


def test_a_second_watch_on_the_same_output_folder_is_refused(ws: Path):
    w = Watcher(ws)
    try:
        w.wait_log("就绪")
        second = subprocess.run([sys.executable, "-m", "docgen", "watch", "-w", str(ws), "--format", "pdf",
                                 "--forms", "D", "--month", "2026-11"], cwd=ROOT, capture_output=True, text=True,
                                timeout=60)
        # its own exit status: the systemd unit does not restart a refused service
        assert second.returncode == 75, second.stdout + second.stderr
        assert "已有一个监视服务" in second.stderr and "Traceback" not in second.stderr
        assert w.proc.poll() is None
    finally:
        assert w.stop() == 0, w.log


# --------------------------------------------------------------------------- changed by hand


def test_a_save_after_the_manifest_was_deleted_keeps_every_document_listed(ws: Path):
    """The service takes unchanged persons' documents from what its last batch wrote: once
    another program replaced the manifest (deleted, emptied, a build by hand) that is no
    guide, and every document is checked again."""
    svc, out = service(ws), ws / "output"
    svc.rebuild(None)
    assert d_keys(out) == {PERSON, OTHER}
    (out / "manifest.json").unlink()
    new_phone(ws, "025-84560001")
    result = svc.rebuild(_change(ws))
    assert result is not None and d_keys(out) == {PERSON, OTHER}
    shutil.rmtree(out)  # the whole output folder
    new_phone(ws, "025-84560002")
    svc.rebuild(_change(ws))
    assert d_keys(out) == {PERSON, OTHER}
    assert d_pdf(ws, OTHER).is_file() and "025-84560002" in pdf_text(d_pdf(ws, PERSON))


def _change(ws: Path):
    from docgen.watch import Change

    return Change(records={person_file(ws).resolve()})


def test_the_service_restores_what_was_deleted_from_its_output_folder_without_a_save(ws: Path):
    out = ws / "output"
    w = Watcher(ws)
    try:
        w.wait_log("就绪")
        n = len(w.lines)
        (out / "manifest.json").unlink()
        w.wait_for(lambda: any("已更新" in line for line in w.lines[n:]), "the batch checking everything")
        assert d_keys(out) == {PERSON, OTHER}
        time.sleep(2)  # the batch has finished (its log line comes shortly before the end)
        shutil.rmtree(out / "D")
        w.wait_for(lambda: (out / "D").is_dir() and len(list((out / "D").glob("*.pdf"))) == 2, "the D folder again")
        for e in manifest(out)["documents"]:
            assert hashlib.sha256((out / e["files"]["pdf"]).read_bytes()).hexdigest() == e["sha256"]["pdf"]
        assert "已被其他程序改动" in w.log
    finally:
        assert w.stop() == 0, w.log


def test_a_records_folder_replaced_by_another_is_watched_again(ws: Path):
    """Records moved away and restored from a copy: the service says so and follows the new folder."""
    records = ws / "records"
    w = Watcher(ws)
    try:
        w.wait_log("就绪")
        before = d_keys(ws / "output")
        records.rename(ws / "records.old")
        w.wait_log("记录目录 .* 不见了")
        assert d_keys(ws / "output") == before  # nothing dropped meanwhile
        shutil.copytree(ws / "records.old", records)
        w.wait_log("已恢复")
        new_phone(ws, "025-84567770")
        w.wait_for(lambda: "025-84567770" in pdf_text(d_pdf(ws, PERSON)), "the PDF from the new folder")
    finally:
        assert w.stop() == 0, w.log


# --------------------------------------------------------------------------- a full disk


FULL_DISK = """
import errno, os
_fsync = os.fsync
def fsync(fd):
    mode = open(FLAG).read() if os.path.exists(FLAG) else ""
    if mode == "all" or (mode == "pdf" and ".pdf." in os.readlink(f"/proc/self/fd/{fd}")):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return _fsync(fd)
os.fsync = fsync
"""


class FullDiskWatcher(Watcher):
    """The service with every write failing (ENOSPC) while ``flag`` says so."""

    def __init__(self, ws: Path, flag: Path):
        self.lines = []
        script = (f"FLAG = {str(flag)!r}\n" + FULL_DISK + "import sys\nfrom docgen.cli import main\n"
                  f"sys.argv = ['docgen', 'watch', '-w', {str(ws)!r}, '--format', 'pdf', '--forms', 'D', "
                  "'--month', '2026-11', '--debounce', '0.2', '--jobs', '1']\nmain()\n")
        self.proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()


def test_a_full_disk_is_reported_the_last_good_documents_stay_and_the_next_save_recovers(ws: Path, tmp_path: Path):
    flag, out = tmp_path / "disk-full", ws / "output"
    w = FullDiskWatcher(ws, flag)
    try:
        w.wait_log("就绪")
        pdf = d_pdf(ws, PERSON)
        good = pdf.read_bytes()
        # the PDF cannot be written: reported in Chinese, the last good PDF stays listed
        flag.write_text("pdf")
        new_phone(ws, "025-84561111")
        w.wait_log("磁盘空间已满")
        w.wait_log("已更新 0 份文书（1 份未变化，1 份因记录文件有错或无法写入保留原样）")
        assert "无须更新" not in w.log
        assert pdf.read_bytes() == good
        [entry] = [e for e in manifest(out)["documents"] if e["form"] == "D" and e["key"] == PERSON]
        assert entry["sha256"]["pdf"] == hashlib.sha256(good).hexdigest()
        # nothing can be written, the manifest neither
        n = len(w.lines)
        flag.write_text("all")
        new_phone(ws, "025-84562222")
        w.wait_for(lambda: any("文书未全部更新" in line for line in w.lines[n:]), "the failed batch")
        assert w.proc.poll() is None and pdf.read_bytes() == good
        # space again: the next save brings everything up to date, the error is corrected
        flag.unlink()
        new_phone(ws, "025-84563333")
        w.wait_for(lambda: "025-84563333" in pdf_text(pdf), "the PDF after the disk was freed")
        w.wait_log("已更正：表单 D")
        assert manifest(out)["errors"] == []
        assert d_keys(out) == {PERSON, OTHER}
    finally:
        flag.unlink(missing_ok=True)
        assert w.stop() == 0, w.log
    assert "内部错误" not in w.log and "Traceback" not in w.log
    assert all(re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ", line) for line in w.lines if line.strip()), w.log


# --------------------------------------------------------------------------- the log over weeks


def test_warnings_and_thread_errors_reach_the_log_masked(capsys):
    import logging

    from docgen.watch import setup_logging

    hook = threading.excepthook
    try:
        setup_logging()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("记录 320102198503141235 的回调已存在", RuntimeWarning)
        t = threading.Thread(target=lambda: (_ for _ in ()).throw(ValueError("身份证 320102198503141235")),
                             name="watcher")
        t.start()
        t.join()
    finally:
        threading.excepthook = hook
        logging.captureWarnings(False)
    err = capsys.readouterr().err
    assert "320102198503141235" not in err and "Traceback" not in err
    assert re.search(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} .*回调已存在", err, re.M), err
    assert re.search(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} 内部错误（线程 watcher）：ValueError", err, re.M), err


def test_many_saves_keep_one_character_set_per_record_file(ws: Path):
    """The glyph check kept the characters of every version of every saved file: a service
    running for weeks grew by tens of kilobytes per save."""
    from docgen import build

    svc = service(ws)
    svc.rebuild(None)
    for i in range(25):
        new_phone(ws, f"025-845{i:05d}")
        svc.rebuild(_change(ws))
    files = {str(p) for p in (ws / "records").rglob("*.yaml")}
    kept = [k for k in build._chars_of_file if k.startswith(str(ws))]
    assert len(kept) <= len(files)


@pytest.mark.parametrize("command", [
    ("stats", "--unit", "nj-xw-my", "--month", "2026-11", "--format", "pdf"),
    ("signage", "--station", "nj-xw-my", "--date", "2026-11-30"),
    ("notice", "issue", "--kind", "F", "--institution", "dh", "--station", "nj", "--month", "2026-06",
     "--format", "pdf"),
], ids=["stats", "signage", "notice"])
def test_other_commands_that_write_the_output_folder_take_their_turn(ws: Path, command):
    """docgen stats, signage and notice issue add to manifest.json as builds do: while another
    writer (the watch service, a build) holds the output folder they wait, then add their
    entries without losing the other writer's."""
    from docgen.build import output_lock

    out = ws / "output"
    proc = None
    with output_lock(out):
        proc = subprocess.Popen([sys.executable, "-m", "docgen", *command, "-w", str(ws), "--out", str(out)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 15  # time enough to finish, had it not waited
        while time.monotonic() < deadline and proc.poll() is None and not (out / "manifest.json").exists():
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()
        assert not (out / "manifest.json").exists()  # nothing written while the folder was held
        (out / "manifest.json").write_text(json.dumps({"documents": [
            {"form": "ZZ", "key": "held", "files": {}}], "errors": []}), encoding="utf-8")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "正由另一个 docgen 进程写入" in stderr
    keys = {(d["form"], d["key"]) for d in manifest(out)["documents"]}
    assert ("ZZ", "held") in keys and len(keys) > 1  # the other writer's entry is kept



# --------------------------------------------------------------------------- files vanishing en masse


def _six_persons(ws: Path) -> list[str]:
    pids = [PERSON, OTHER]
    for seq, name in enumerate(["钱小东", "孙立平", "周海文", "吴建新"], start=2):
        pid = f"NJ20269{seq:02d}"
        add_person(ws, pid, name, seq)
        pids.append(pid)
    return pids


def _outputs(out: Path) -> dict[str, tuple[int, str]]:
    from test_build import snapshot

    return snapshot(out)


def test_person_files_vanishing_at_once_hold_the_updates_until_they_are_back(ws: Path, caplog):
    """A records subfolder moved away (a sync tool, a network drive gone): the unit table is not
    made without those persons, their documents stay listed and untouched; when the files are
    back the service goes on, and makes what was saved while it waited."""
    from docgen.watch import Change

    pids = _six_persons(ws)
    svc, out = service(ws, "D,E,P"), ws / "output"  # (E reads the station's file, which stays)
    assert svc.rebuild(None) is not None
    assert d_keys(out) == set(pids)
    before, listed = _outputs(out), manifest(out)["documents"]
    persons = ws / "records" / "persons"
    away = ws / "persons.away"
    persons.rename(away)
    gone = Change(records={(persons / f"{pid}.yaml").resolve() for pid in pids} | {persons.resolve()})
    with caplog.at_level("INFO", logger="docgen.watch"):
        assert svc.rebuild(gone) is None
        assert "6 名照管对象的记录文件同时不见了" in caplog.text and "暂停更新" in caplog.text
        assert manifest(out)["documents"] == listed and _outputs(out) == before
        # the service keeps waiting (a second batch, or a restarted service, holds as well)
        assert svc.rebuild(gone) is None
        assert caplog.text.count("同时不见了") == 1  # said once
        assert service(ws, "D,E,P").rebuild(None) is None
        assert _outputs(out) == before
        # a save of a file that is still there while the others are away is not lost
        away.rename(persons)
        new_phone(ws, "025-84567771")
        assert svc.rebuild(_change(ws)) is not None
        assert "已恢复" in caplog.text
    assert "025-84567771" in pdf_text(d_pdf(ws, PERSON))
    assert d_keys(out) == set(pids)
    after = _outputs(out)
    unchanged = [k for k in before if k.startswith("D/") and PERSON not in k]
    assert unchanged and all(after[k] == before[k] for k in unchanged)


def test_a_clerk_confirms_removing_many_persons_with_one_build_by_hand(ws: Path, caplog):
    """Removals meant by the clerk: held like a vanished folder until one docgen build by hand;
    then the service takes the output folder as it is and goes on. One person removed and one
    person's file broken in a batch hold nothing."""
    from conftest import run_cli
    from docgen.watch import Change

    pids = _six_persons(ws)
    for seq, name in ((6, "郑小兰"), (7, "冯国强")):
        pids.append(f"NJ20269{seq:02d}")
        add_person(ws, pids[-1], name, seq)
    svc, out = service(ws, "D,P"), ws / "output"
    assert svc.rebuild(None) is not None
    persons = ws / "records" / "persons"

    def batch(ids):
        return Change(records={(persons / f"{p}.yaml").resolve() for p in ids})

    (persons / f"{pids[2]}.yaml").unlink()
    (persons / f"{pids[3]}.yaml").write_text("姓名: [\n", encoding="utf-8")
    with caplog.at_level("INFO", logger="docgen.watch"):
        assert svc.rebuild(batch(pids[2:4])) is not None
    assert "同时不见了" not in caplog.text
    assert pids[2] not in d_keys(out) and pids[3] in d_keys(out)  # the broken one keeps its last good PDF

    removed = [OTHER, *pids[4:]]
    for pid in removed:
        (persons / f"{pid}.yaml").unlink()
    with caplog.at_level("INFO", logger="docgen.watch"):
        assert svc.rebuild(batch(removed)) is None
    assert "5 名照管对象的记录文件同时不见了" in caplog.text and "docgen build" in caplog.text
    assert set(removed) <= d_keys(out)

    r = run_cli("build", "-w", str(ws), "--forms", "D,P", "--month", "2026-11", "--format", "pdf", "-q")
    assert r.returncode == 1 and f"{pids[3]}.yaml:2:1" in r.stderr  # the broken file, still reported
    assert "注意：5 名照管对象" in r.stderr and "已移出清单" in r.stderr  # the hand build says what it dropped
    assert all(pid in r.stderr for pid in removed)
    assert not set(removed) & d_keys(out)
    new_phone(ws, "025-84567772")
    with caplog.at_level("INFO", logger="docgen.watch"):
        assert svc.rebuild(_change(ws)) is not None
    assert "已恢复" in caplog.text
    assert "025-84567772" in pdf_text(d_pdf(ws, PERSON))


def test_a_restarted_service_takes_unchanged_files_from_the_parse_cache(ws: Path, monkeypatch):
    """docgen build leaves the records' parse results in the output folder: the service's first
    load reads only the file edited since, and writes the cache back for the next start."""
    from conftest import run_cli
    from docgen.records import cache

    assert run_cli("build", "-w", str(ws), "--forms", "D", "--format", "pdf", "-q").returncode == 0
    assert (ws / "output" / cache.CACHE_NAME).is_file()
    new_phone(ws, "025-84567773")
    parsed = []
    real = cache._load_file
    monkeypatch.setattr(cache, "_load_file", lambda path, *a, **kw: parsed.append(path.name) or real(path, *a, **kw))
    svc = service(ws)
    ds = svc.cache.load(None)
    assert parsed == [person_file(ws).name]
    assert ds.persons[PERSON].phone == "025-84567773" and OTHER in ds.persons
    parsed.clear()
    assert service(ws).cache.load(None) and parsed == []  # written back: nothing to parse now


def test_printing_a_bundle_is_not_a_change_to_the_output_folder(ws: Path):
    """``docgen print`` writes its bundle into OUT_DIR/打印/ and its register, and reads the
    documents: the service's next save builds only what the save affects."""
    from conftest import run_cli

    svc, out = service(ws), ws / "output"
    svc.rebuild(None)
    printed = run_cli("print", "-w", str(ws), "--output-dir", str(out))
    assert printed.returncode == 0, printed.stderr
    assert any((out / "打印").glob("*.pdf"))
    assert not svc.outputs_moved()
    shutil.rmtree(out / "D")  # a form folder deleted by hand still counts
    assert svc.outputs_moved()
