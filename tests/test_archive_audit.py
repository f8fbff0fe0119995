"""The archive under audit: dates that lie ahead, separation of duties, writers killed half-way,
a tampered audit log, readers racing a writer, and the records an auditor asks for.

The workspace is the one of ``test_archive`` (four synthetic persons). ``backdate`` moves a
person's history four years back: T001 closed by 期满 on 2022-06-09 is due on 2025-06-09,
T002 terminated on 2022-10-15 is due on 2025-10-15 -- both in the past, so a disposal can be
carried out now. "Tomorrow" is the first day that lies ahead, whenever the tests run.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from test_archive import DH, PERSONS, _id, backdate, by_subject, docgen, filed, filed_base  # noqa: F401

TODAY = dt.date.today().isoformat()
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
FULL_IDS = [_id("19800101", "101"), _id("19810202", "202"), _id("19820303", "301"), _id("19830404", "401")]


def _draft(ws: Path, *pids: str) -> str:
    """Backdate ``pids`` and draft a disposal list as of today (by 档案员); its number."""
    backdate(ws, *pids)
    r = docgen(ws, "archive", "dispose", "--as-of", TODAY, "--by", "档案员")
    return re.search(r"销毁清册 (XH-\d{4}-\d{3})", r.stdout)[1]


def _approved(ws: Path, *pids: str) -> str:
    number = _draft(ws, *pids)
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    _second_approval(ws, number, "李局长")
    return number


def _second_approval(ws: Path, number: str, name: str, account: str = "lijuzhang", ok: bool = True):
    """An approval typed in at another login account (two approvals from one account do not count)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOGNAME", account)
        return docgen(ws, "archive", "approve", number, "--by", name, ok=ok)


def _killed(ws: Path, patch: str, *args: str) -> subprocess.CompletedProcess:
    """Run the CLI with ``patch`` applied first; the patch kills the process (SIGKILL) at a chosen point."""
    script = ("import os, signal, pathlib\n" + patch +
              "\nfrom docgen.cli import main\nmain([" + ", ".join(repr(a) for a in args) +
              f", '--workspace', {str(ws)!r}])\n")
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)


# ----------------------------------------------------------------------------- dates ahead of today


def test_execution_cannot_be_dated_ahead(filed):
    ws = filed
    number = _approved(ws, "T001")
    t1 = by_subject(ws)["T001"]
    r = docgen(ws, "archive", "execute", number, "--as-of", TOMORROW, "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "销毁日期" in r.stderr and "晚于今天" in r.stderr and "Traceback" not in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed" and (ws / "archive" / t1["path"]).is_file()
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    assert f"已销毁 {t1['dh']}" in r.stdout


def test_disposal_list_and_filing_cannot_be_dated_ahead(filed):
    ws = filed
    backdate(ws, "T001")
    r = docgen(ws, "archive", "dispose", "--by", "李档案", "--as-of", TOMORROW, ok=False)
    assert r.returncode == 1 and "鉴定截止日期" in r.stderr and "晚于今天" in r.stderr
    assert "XH-" not in docgen(ws, "archive", "lists").stdout
    r = docgen(ws, "archive", "file", "--person", "T003", "--as-of", TOMORROW, "--by", "刘芳", ok=False)
    assert r.returncode == 1 and "立卷日期" in r.stderr and "晚于今天" in r.stderr
    assert by_subject(ws)["T003"]["version"] == 1
    # looking ahead stays possible: T002 (not backdated) is due on 2029-10-15
    r = docgen(ws, "archive", "due", "--as-of", "2099-12-31")
    assert by_subject(ws)["T002"]["dh"] in r.stdout and "2029-10-15" in r.stdout


# ----------------------------------------------------------------------------- separation of duties


def test_drafter_cannot_approve_own_list(filed):
    ws = filed
    number = _draft(ws, "T001")
    r = docgen(ws, "archive", "approve", number, "--by", "档案员", ok=False)
    assert r.returncode == 1 and "编制人" in r.stderr and "不能批准自己编制的清册" in r.stderr
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    # a drafter's approval put into the registry by hand has no audit entry: the execution is refused
    with sqlite3.connect(ws / "archive" / "registry.sqlite3") as db:
        db.execute("INSERT INTO approvals VALUES (?, '档案员', '2026-01-01T00:00:00+00:00')", (number,))
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "登记簿被改动" in r.stderr and "“档案员”" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed"
    with sqlite3.connect(ws / "archive" / "registry.sqlite3") as db:  # put right
        db.execute("DELETE FROM approvals WHERE approver = '档案员'")
    _second_approval(ws, number, "李局长")
    docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", TODAY)
    assert by_subject(ws)["T001"]["status"] == "disposed"


# ----------------------------------------------------------------------------- killed half-way


def test_execution_killed_after_first_deletion_loses_nothing_registered(filed):
    ws = filed
    number = _approved(ws, "T001", "T002")
    before = by_subject(ws)
    patch = ("_unlink = pathlib.Path.unlink\n"
             "def unlink(self, *a, **k):\n"
             "    _unlink(self, *a, **k)\n"
             "    os.kill(os.getpid(), signal.SIGKILL)\n"
             "pathlib.Path.unlink = unlink")
    r = _killed(ws, patch, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    assert r.returncode == -9, r.stderr
    # whatever the registry still calls filed is there, unchanged; the log covers every change
    after = by_subject(ws)
    for pid in ("T001", "T002", "T003", "T004"):
        if after[pid]["status"] == "filed":
            assert (ws / "archive" / after[pid]["path"]).is_file(), pid
            assert after[pid]["sha256"] == before[pid]["sha256"]
    # the execution was committed (both disposed), one file deleted when the writer was killed
    assert after["T001"]["status"] == after["T002"]["status"] == "disposed"
    left = [pid for pid in ("T001", "T002") if (ws / "archive" / before[pid]["path"]).exists()]
    assert len(left) == 1
    # whatever opens the archive next completes the committed disposal: nothing of it is left
    assert "散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout
    assert not any((ws / "archive" / before[pid]["path"]).exists() for pid in ("T001", "T002"))
    r = docgen(ws, "archive", "verify")
    assert "文件却仍在" not in r.stdout + r.stderr


def test_write_killed_before_commit_leaves_a_recoverable_log(filed):
    ws = filed
    dh = by_subject(ws)["T003"]["dh"]
    patch = ("from docgen.archive import store\n"
             "_append = store.Store._append_audit\n"
             "def append(self, act):\n"
             "    _append(self, act)\n"
             "    os.kill(os.getpid(), signal.SIGKILL)\n"
             "store.Store._append_audit = append")
    r = _killed(ws, patch, "archive", "hold", dh, "--reason", "调阅", "--by", "档案员")
    assert r.returncode == -9, r.stderr
    assert by_subject(ws)["T003"]["hold_reason"] is None  # not committed
    r = docgen(ws, "archive", "audit", "--verify", ok=False)
    assert r.returncode == 0 and "日志有 5 条，登记簿记有 4 条" in r.stderr and "未生效" in r.stderr
    assert "未完成的操作（下次改动时自动完成）" in r.stderr
    # the next change carries the stray entry into the chain as a retraction, and the chain is whole
    docgen(ws, "archive", "hold", dh, "--reason", "审计调阅", "--by", "档案员")
    assert "审计日志 6 条，散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout
    entries = [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["action"] for e in entries[4:]] == ["撤回未生效的日志条目", "保全"]
    assert entries[4]["before"][0]["after"] == {"保全": "调阅"} and entries[5]["after"] == {"保全": "审计调阅"}


def _add_visit(ws: Path, pid: str) -> None:
    p = ws / "records" / "persons" / f"{pid}.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "  - {类型: 回访, 日期: 2025-09-01, 方式: 电话回访, 回访人: 刘芳}\n",
                 encoding="utf-8")


def _kill_at(method: str, after_original: bool = True) -> str:
    """A patch that SIGKILLs the process when ``store.Store.<method>`` runs (after it did its work)."""
    return ("from docgen.archive import store\n"
            f"_orig = store.Store.{method}\n"
            "def patched(self, *a, **k):\n"
            + ("    _orig(self, *a, **k)\n" if after_original else "") +
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            f"store.Store.{method} = patched")


def test_refiling_killed_after_the_commit_is_completed_by_the_next_command(filed):
    """The registry records version 2; its file is put in place by whatever opens the archive next."""
    ws = filed
    first = by_subject(ws)["T003"]
    _add_visit(ws, "T003")
    r = _killed(ws, _kill_at("_settle", after_original=False), "archive", "file", "--person", "T003",
                "--by", "刘芳", "--as-of", TODAY)
    assert r.returncode == -9, r.stderr
    now = by_subject(ws)["T003"]
    assert now["version"] == 2 and now["sha256"] != first["sha256"]  # committed
    volume = ws / "archive" / now["path"]
    assert hashlib.sha256(volume.read_bytes()).hexdigest() == first["sha256"]  # not yet moved in
    assert (ws / "archive" / ".pending").is_dir()
    r = docgen(ws, "archive", "verify")  # opening the archive completes the move
    assert "内容被改动" not in r.stdout + r.stderr
    assert hashlib.sha256(volume.read_bytes()).hexdigest() == now["sha256"]
    assert not (ws / "archive" / ".pending").exists()
    assert "未建新版本" in docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY).stdout


def test_refiling_killed_before_the_commit_leaves_the_filed_version_as_it_was(filed):
    ws = filed
    first = by_subject(ws)["T003"]
    volume = ws / "archive" / first["path"]
    _add_visit(ws, "T003")
    r = _killed(ws, _kill_at("_stage"), "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)
    assert r.returncode == -9, r.stderr
    assert by_subject(ws)["T003"]["version"] == 1
    assert hashlib.sha256(volume.read_bytes()).hexdigest() == first["sha256"]  # never touched
    assert (ws / "archive" / ".pending").is_dir()  # the new version waits there, uncommitted
    r = docgen(ws, "archive", "verify", ok=False)  # the log holds the uncommitted 重新归档 entry
    assert "内容被改动" not in r.stdout + r.stderr and "未登记" not in r.stdout + r.stderr
    assert not (ws / "archive" / ".pending").exists()  # dropped: its change was not committed
    assert hashlib.sha256(volume.read_bytes()).hexdigest() == first["sha256"]
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)
    now = by_subject(ws)["T003"]
    assert now["version"] == 2 and hashlib.sha256(volume.read_bytes()).hexdigest() == now["sha256"]
    assert docgen(ws, "archive", "verify").returncode == 0


# ----------------------------------------------------------------------------- versions only for new content


def test_filing_again_later_or_by_someone_else_is_no_new_version(filed):
    """A monthly `archive file --all-persons` must not make a new version of every volume:
    a version is made when what the volume says changed, not the day or the filer."""
    ws = filed
    first = by_subject(ws)  # filed on 2026-11-30 by 刘芳, checked by 周文静
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "王档案", "--as-of", "2026-11-29")
    assert r.stdout.count("未建新版本") == 4, r.stdout
    assert by_subject(ws) == first
    _add_visit(ws, "T003")
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "王档案", "--as-of", TODAY)
    now = by_subject(ws)
    assert now["T003"]["version"] == 2 and now["T003"]["content_key"] != first["T003"]["content_key"]
    assert all(now[p] == first[p] for p in ("T001", "T002", "T004"))


def test_a_docgen_that_encodes_documents_differently_makes_no_new_versions(filed):
    """After an upgrade that renders the same documents into other bytes (fonts, PDF
    structure), filing again changes nothing; a changed form definition would."""
    ws = filed
    first = by_subject(ws)
    patch = ("from docgen.render import pdf\n"
             "_render = pdf.render_pdf\n"
             "pdf.render_pdf = lambda *a, **k: _render(*a, **k) + b'%% another encoder\\n'\n")
    script = ("import os, signal, pathlib\n" + patch + "\nfrom docgen.cli import main\n"
              f"main(['archive', 'file', '--all-persons', '--by', '刘芳', '--as-of', {TODAY!r}, "
              f"'--workspace', {str(ws)!r}])\n")
    r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("未建新版本") == 4, r.stdout
    assert by_subject(ws) == first


def test_a_registry_from_before_content_keys_is_upgraded_and_compared_as_filed(filed):
    ws = filed
    registry = ws / "archive" / "registry.sqlite3"
    with sqlite3.connect(registry) as db:  # as docgen before content keys left it
        db.execute("ALTER TABLE items DROP COLUMN content_key")
        db.execute("ALTER TABLE versions DROP COLUMN content_key")
        db.execute("ALTER TABLE versions DROP COLUMN path")  # (kept superseded versions came later still)
        db.execute("PRAGMA user_version = 1")
    first = by_subject(ws)
    # the same volumes, filed again on another day by someone else: compared as they were
    # filed (that registry did not keep the checker: the same one is named)
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "王档案", "--checker", "周文静",
               "--as-of", "2026-11-29")
    assert r.stdout.count("未建新版本") == 4, r.stdout
    with sqlite3.connect(registry) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3  # content keys, then versions' paths
    _add_visit(ws, "T003")
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)
    now = by_subject(ws)["T003"]
    assert now["version"] == 2 and now["content_key"] and first["T003"]["sha256"] != now["sha256"]
    assert docgen(ws, "archive", "verify").returncode == 0


# ----------------------------------------------------------------------------- tampered log


def test_tampered_log_stops_every_change(filed):
    ws = filed
    log = ws / "archive" / "audit.jsonl"
    original = log.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    dh = by_subject(ws)["T003"]["dh"]
    tampered = {
        "garbage": original + "not a log entry\n",
        "truncated": "".join(lines[:-1]),
        "last edited": "".join(lines[:-1]) + lines[-1].replace("刘芳", "别人"),
        "emptied": "",
    }
    for how, text in tampered.items():
        log.write_text(text, encoding="utf-8")
        r = docgen(ws, "archive", "hold", dh, "--reason", "调阅", ok=False)
        assert r.returncode == 1 and "不能再改动档案库" in r.stderr and "Traceback" not in r.stderr, how
        assert log.read_text(encoding="utf-8") == text, how
        assert by_subject(ws)["T003"]["hold_reason"] is None, how
    log.write_text(original, encoding="utf-8")  # restored from the backup: work goes on
    docgen(ws, "archive", "hold", dh, "--reason", "调阅")
    assert "散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout


# ----------------------------------------------------------------------------- readers and writers


def test_verify_waits_for_a_writer_in_progress(filed):
    ws = filed
    root = ws / "archive"
    fd = os.open(root / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer holds the lock and has put its new volume in place
    stray = root / "personal" / "new-volume.pdf"
    stray.write_bytes(b"%PDF-1.4 not committed yet")
    stray.chmod(0o600)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "docgen", "archive", "verify", "--workspace", str(ws)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, "verify did not wait for the writer: " + proc.stderr.read()
        stray.unlink()  # the writer rolls back
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "核对通过" in out, err


# ----------------------------------------------------------------------------- what the auditor asks for


def test_register_and_disposal_record(filed):
    ws = filed
    number = _approved(ws, "T001")
    before = by_subject(ws)
    docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    rec = json.loads(docgen(ws, "archive", "lists", number, "--json").stdout)
    assert rec["清册编号"] == number and rec["状态"] == "executed" and rec["鉴定截止日期"] == TODAY
    assert rec["编制人"] == "档案员" and [a["批准人"] for a in rec["批准"]] == ["张主任", "李局长"]
    assert all(a["时间"] for a in rec["批准"]) and rec["编制时间"]
    assert rec["执行人"] == "监销人王" and rec["销毁日期"] == TODAY and DH.match(rec["清册档号"])["klass"] == "XH"
    [entry] = rec["案卷"]
    assert entry["档号"] == before["T001"]["dh"] and entry["sha256"] == before["T001"]["sha256"]
    assert entry["到期日"] == "2025-06-09" and entry["状态"] == "disposed" and entry["列入版本"] == 1
    text = docgen(ws, "archive", "lists", number).stdout
    for part in ("档案员", "张主任", "李局长", "监销人王", before["T001"]["sha256"], rec["清册档号"]):
        assert part in text, part
    assert "编制人：档案员" in docgen(ws, "archive", "lists").stdout
    # the register: every volume with its due date and status, the destroyed one as a stub
    register = {r["subject"]: r for r in json.loads(docgen(ws, "archive", "list", "--all", "--json").stdout)}
    assert register["T001"]["status"] == "disposed" and register["T001"]["disposal_list"] == number
    assert register["T002"]["due_date"] == "2029-10-15" and register["T003"]["due_date"] is None
    assert register["T004"]["due_date"] == "2029-12-31" and register[number]["retention"] == "Y"
    assert "散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout
    # nothing an auditor reads carries a full ID number
    outputs = [docgen(ws, "archive", *a).stdout for a in
               (("list", "--all", "--json"), ("lists", number), ("audit", "--json"), ("show", before["T001"]["dh"]))]
    outputs.append((ws / "archive" / "audit.jsonl").read_text(encoding="utf-8"))
    with sqlite3.connect(ws / "archive" / "registry.sqlite3") as db:
        outputs.append(json.dumps([list(r) for t in ("items", "versions", "lists", "approvals", "list_entries")
                                   for r in db.execute(f"SELECT * FROM {t}")], ensure_ascii=False))
    for out in outputs:
        for full in FULL_IDS:
            assert full not in out


def test_registry_changed_together_with_a_file_is_detected(filed):
    ws = filed
    root = ws / "archive"
    got = by_subject(ws)
    # a volume replaced, and its registered hash updated to match; another marked destroyed and deleted
    path = root / got["T001"]["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with sqlite3.connect(root / "registry.sqlite3") as db:
        db.execute("UPDATE items SET sha256 = ? WHERE subject = 'T001'", (hashlib.sha256(bytes(data)).hexdigest(),))
        db.execute("UPDATE items SET status = 'disposed', path = NULL WHERE subject = 'T002'")
    (root / got["T002"]["path"]).unlink()
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{got['T001']['dh']} 登记的散列值与审计日志最后记载的不符" in r.stderr
    assert f"{got['T002']['dh']} 在登记簿中为“已销毁”，审计日志记载为“在库”" in r.stderr


def test_volume_swapped_for_a_symlink_and_stray_folders_are_reported(filed, tmp_path):
    ws = filed
    root = ws / "archive"
    rel = by_subject(ws)["T001"]["path"]
    outside = tmp_path / "outside.pdf"
    outside.write_bytes((root / rel).read_bytes())  # the same bytes, kept outside the archive
    (root / rel).unlink()
    (root / rel).symlink_to(outside)
    (root / "personal" / "extra").mkdir(mode=0o700)
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{rel}（{by_subject(ws)['T001']['dh']}）被换成了指向 {outside} 的符号链接" in r.stderr
    assert "personal/extra/（未登记的目录）" in r.stderr


def test_a_record_with_errors_moves_no_due_date_and_allows_no_destruction(filed):
    ws = filed
    # T002 (terminated 2026-10-15, due 2029-10-15) gets a 期满 before the release of 2025-06-01: an error
    p = ws / "records" / "persons" / "T002.yaml"
    p.write_text(PERSONS["T002"] + "  - {类型: 期满, 日期: 2020-01-01, 鉴定意见: 保持操守}\n", encoding="utf-8")
    r = docgen(ws, "archive", "refresh")
    assert "T002.yaml" in r.stderr and "错误" in r.stderr and "0 卷的保管期限有变动" in r.stdout
    assert by_subject(ws)["T002"]["due_date"] == "2029-10-15"
    r = docgen(ws, "archive", "dispose", "--as-of", TODAY, "--by", "档案员")
    assert "没有可列入销毁清册的案卷" in r.stdout
    # T001, due and on an approved list, gets an error afterwards: the execution is refused
    number = _approved(ws, "T001")
    p = ws / "records" / "persons" / "T001.yaml"
    p.write_text(p.read_text(encoding="utf-8") + "  - {类型: 终止, 日期: 2020-01-01, 情形: 照管期限内又吸食毒品}\n",
                 encoding="utf-8")
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "T001 的记录有错误" in r.stderr and "不得销毁" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed"


def test_audit_entries_name_the_login_beside_the_typed_name(filed):
    import getpass

    ws = filed
    number = _draft(ws, "T001")
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    _second_approval(ws, number, "李局长", account="lijuzhang")
    entries = [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    approvals = [e for e in entries if e["action"] == "批准销毁"]
    assert [e["who"] for e in approvals] == ["张主任", "李局长"]
    assert [e["account"] for e in approvals] == [getpass.getuser(), "lijuzhang"]
    assert f"张主任（账户 {getpass.getuser()}）" in docgen(ws, "archive", "audit", "--tail", "2").stdout
    assert "散列链完整" in docgen(ws, "archive", "audit", "--verify").stdout


def test_death_ends_the_cultivation_period(filed):
    ws = filed
    p = ws / "records" / "persons" / "T004.yaml"
    assert by_subject(ws)["T004"]["due_date"] == "2029-12-31"  # agreement end 2026-12-31
    p.write_text(PERSONS["T004"] + "  - {类型: 死亡, 日期: 2026-09-10}\n", encoding="utf-8")
    docgen(ws, "archive", "refresh")
    got = by_subject(ws)["T004"]
    assert got["trigger_date"] == "2026-09-10" and got["due_date"] == "2029-09-10" and "死亡" in got["trigger_reason"]
    # no end date in the agreement: the volume was never due; death makes it due 3 years on
    open_ended = PERSONS["T004"].replace("  结束日期: 2026-12-31\n", "")
    p.write_text(open_ended, encoding="utf-8")
    docgen(ws, "archive", "refresh")
    assert by_subject(ws)["T004"]["due_date"] is None
    p.write_text(open_ended + "  - {类型: 死亡, 日期: 2026-08-02}\n", encoding="utf-8")  # after the 期满 of 2026-06-04
    docgen(ws, "archive", "refresh")
    assert by_subject(ws)["T004"]["due_date"] == "2029-08-02"


def test_registry_restored_from_an_older_backup_is_not_taken_for_an_interrupted_write(filed):
    ws = filed
    db = ws / "archive" / "registry.sqlite3"
    backup = db.read_bytes()  # 4 entries registered
    dh = by_subject(ws)["T003"]["dh"]
    docgen(ws, "archive", "hold", dh, "--reason", "调阅", "--by", "档案员")
    docgen(ws, "archive", "release", dh, "--by", "档案员")
    db.write_bytes(backup)  # the registry goes back two operations; the log keeps them
    r = docgen(ws, "archive", "audit", "--verify", ok=False)
    assert r.returncode == 1 and "旧的备份" in r.stderr
    r = docgen(ws, "archive", "hold", dh, "--reason", "再次调阅", ok=False)
    assert r.returncode == 1 and "旧的备份" in r.stderr and "不能再改动档案库" in r.stderr
    assert len((ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()) == 6


def test_a_volume_that_cannot_be_deleted_is_reported_not_a_traceback(filed):
    ws = filed
    number = _approved(ws, "T001")
    rel = by_subject(ws)["T001"]["path"]
    patch = ("import errno\n"
             "def unlink(self, *a, **k):\n"
             "    raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))\n"
             "pathlib.Path.unlink = unlink")
    r = _killed(ws, patch, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    assert r.returncode == 0 and "Traceback" not in r.stderr and "内部错误" not in r.stderr
    assert f"已登记为销毁，但文件未能删除：{rel}" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "disposed" and (ws / "archive" / rel).exists()
    # the deletion stays pending: once the file can be deleted, the next command completes it
    r = docgen(ws, "archive", "verify")
    assert "文件却仍在" not in r.stdout + r.stderr and not (ws / "archive" / rel).exists()


def test_disposal_list_prints_the_cut_off_date_for_what_it_is(filed):
    from test_archive import pdf_all_text

    ws = filed
    backdate(ws, "T001")
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-07-01", "--by", "档案员")  # drafted today, cut off earlier
    number = re.search(r"销毁清册 (XH-\d{4}-\d{3})", r.stdout)[1]
    text = pdf_all_text(ws / "archive" / "disposal" / "drafts" / f"{number}.pdf")
    assert "鉴定截止日期:2025年7月1日" in text and "编制日期" not in text


def test_execution_without_the_records_is_refused(filed, tmp_path):
    ws = filed
    number = _approved(ws, "T001")
    rel = by_subject(ws)["T001"]["path"]
    (ws / "records").rename(tmp_path / "records-away")
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "记录目录不存在" in r.stderr and "再次核对" in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed" and (ws / "archive" / rel).is_file()
