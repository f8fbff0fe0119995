"""The archive reviewed for an audit: crashes around the commit, readers without write access,
several processes opening an old registry, and what the audit log says about content keys;
the notices of a destroyed notice volume (voided ones redacted with it, later ones holding it
back, a 戒毒所's annual volume filed again naming them); what a walk through the lifecycle
found (altered or truncated files and logs, lists of a 戒毒所's fonds, records gone at execution).

The workspace is the one of ``test_archive`` (four synthetic persons filed once, checker 周文静).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from test_archive import by_subject, docgen, filed, filed_base  # noqa: F401
from test_archive_audit import _add_visit, _kill_at, _killed

TODAY = dt.date.today().isoformat()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _refile_killed_after_commit(ws: Path) -> dict:
    """Re-file T003 with a new visit; the writer is killed after the commit, before its file is
    moved in. Returns the registry row of the committed version 2."""
    _add_visit(ws, "T003")
    r = _killed(ws, _kill_at("_settle", after_original=False), "archive", "file", "--person", "T003",
                "--by", "刘芳", "--as-of", TODAY)
    assert r.returncode == -9, r.stderr
    now = by_subject(ws)["T003"]
    assert now["version"] == 2 and (ws / "archive" / ".pending").is_dir()
    return now


# ----------------------------------------------------------------------------- crashes around the commit


def test_committed_change_whose_journal_is_damaged_is_still_completed(filed):
    """The registry records version 2; the journal naming its staged file is damaged. The
    staged file goes where the registry records its hash, instead of being thrown away
    (which left version 2's bytes lost and verify calling the volume 内容被改动)."""
    ws = filed
    now = _refile_killed_after_commit(ws)
    (ws / "archive" / ".pending" / "journal.json").write_text("[{\"path\": ", encoding="utf-8")
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and "内容被改动" not in r.stderr
    assert _sha(ws / "archive" / now["path"]) == now["sha256"]
    assert not (ws / "archive" / ".pending").exists()


def test_staged_file_without_a_registered_hash_is_dropped_even_without_a_journal(filed):
    """The hash fallback puts nothing in place that the registry does not record."""
    ws = filed
    first = by_subject(ws)["T003"]
    pending = ws / "archive" / ".pending"
    pending.mkdir(mode=0o700)
    (pending / "0000.tmp").write_bytes(b"%PDF-1.7 an uncommitted volume")
    r = docgen(ws, "archive", "verify")
    assert "核对通过" in r.stdout and not pending.exists()
    assert _sha(ws / "archive" / first["path"]) == first["sha256"]


# ----------------------------------------------------------------------------- several processes, old registries


def _as_version_1(registry: Path) -> None:
    with sqlite3.connect(registry) as db:  # as docgen before content keys left it
        db.execute("ALTER TABLE items DROP COLUMN content_key")
        db.execute("ALTER TABLE versions DROP COLUMN content_key")
        db.execute("ALTER TABLE versions DROP COLUMN path")  # (kept superseded versions came later still)
        db.execute("PRAGMA user_version = 1")


def test_old_registry_opened_by_several_processes_at_once_is_migrated_once(filed):
    """A second opener read version 1, waited for the first one's migration and then added the
    column again: 'duplicate column name', reported as a damaged registry."""
    from docgen.archive.store import Store

    root = filed / "archive"
    _as_version_1(root / "registry.sqlite3")
    other = sqlite3.connect(root / "registry.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another docgen is migrating right now
    result: dict = {}

    def open_store():
        try:
            store = Store(root)
            result["version"] = store.db.execute("PRAGMA user_version").fetchone()[0]
            result["keys"] = store.db.execute("SELECT count(content_key) FROM items").fetchone()[0]
            store.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    t = threading.Thread(target=open_store)
    t.start()
    time.sleep(0.5)  # it has read version 1 and waits for the write lock
    other.execute("ALTER TABLE items ADD COLUMN content_key TEXT")
    other.execute("ALTER TABLE versions ADD COLUMN content_key TEXT")
    other.execute("PRAGMA user_version = 2")
    other.execute("COMMIT")
    other.close()
    t.join(30)
    assert "error" not in result, result.get("error")
    assert result == {"version": 3, "keys": 0}  # the other one took it to 2, this one from 2 to 3
    assert docgen(filed, "archive", "verify").returncode == 0


def test_registry_of_a_newer_docgen_asks_for_an_upgrade(filed):
    registry = filed / "archive" / "registry.sqlite3"
    with sqlite3.connect(registry) as db:
        db.execute("PRAGMA user_version = 4")
    before = registry.read_bytes()
    r = docgen(filed, "archive", "list", ok=False)
    assert r.returncode == 1 and "较新版本的 docgen" in r.stderr and "升级 docgen" in r.stderr
    assert "Traceback" not in r.stderr and registry.read_bytes() == before


# ----------------------------------------------------------------------------- readers without write access


def _reader_copy(ws: Path) -> Path:
    """A copy of the workspace the reader account can read but not write."""
    top = Path(tempfile.mkdtemp(prefix="docgen-reader-", dir="/tmp"))
    dst = top / "ws"
    shutil.copytree(ws, dst, symlinks=True)
    os.chmod(top, 0o755)
    if os.getuid() == 0:  # another account: read and traverse, no write
        for p in [dst, *dst.rglob("*")]:
            mode = p.stat().st_mode
            p.chmod(mode | stat.S_IROTH | (stat.S_IXOTH if p.is_dir() else 0))
    else:  # the owner itself, without write permission
        for p in [*dst.rglob("*"), dst]:
            p.chmod(p.stat().st_mode & ~0o222)
    return dst


def _reader(ws: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "docgen", "archive", *args, "--workspace", str(ws)]
    if os.getuid() == 0:  # as the unprivileged account 65534
        if not shutil.which("setpriv"):
            pytest.skip("setpriv (util-linux) is needed to run as another account")
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
    env = {**os.environ, "HOME": "/tmp"}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)


def _cleanup(ws: Path) -> None:
    for p in [ws.parent, *ws.parent.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o700)
    shutil.rmtree(ws.parent)


def test_a_reader_lists_shows_checks_due_dates_and_verifies(filed):
    ws = filed
    t1 = by_subject(ws)["T001"]
    # T001's record now closes in 2022: due 2025-06-09, which the registry does not know yet
    p = ws / "records" / "persons" / "T001.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("2026-", "2022-").replace("2025-", "2021-"), encoding="utf-8")
    ro = _reader_copy(ws)
    try:
        registry = ro / "archive" / "registry.sqlite3"
        before = registry.read_bytes()
        r = _reader(ro, "show", t1["dh"])
        assert r.returncode == 0 and t1["sha256"] in r.stdout, r.stderr
        r = _reader(ro, "list")
        assert r.returncode == 0 and "共 4 卷" in r.stdout, r.stderr
        r = _reader(ro, "due", "--as-of", "2026-01-01")
        assert r.returncode == 0, r.stderr
        assert t1["dh"] in r.stdout and "2025-06-09" in r.stdout and "只有读权限" in r.stderr
        r = _reader(ro, "audit", "--verify")
        assert r.returncode == 0 and "散列链完整" in r.stdout, r.stderr
        r = _reader(ro, "verify")
        assert "Traceback" not in r.stderr and "散列值不符" not in r.stderr and "无法读写" not in r.stderr, r.stderr
        r = _reader(ro, "hold", t1["dh"], "--reason", "调阅")
        assert r.returncode == 1 and "没有写权限" in r.stderr and "Traceback" not in r.stderr
        assert registry.read_bytes() == before
    finally:
        _cleanup(ro)


def test_a_reader_is_told_when_an_interrupted_change_must_be_completed_first(filed):
    ws = filed
    now = _refile_killed_after_commit(ws)
    ro = _reader_copy(ws)
    try:
        r = _reader(ro, "verify")
        assert r.returncode == 1 and "被中断的改动尚未完成" in r.stderr and "没有写权限" in r.stderr, r.stderr
        assert "内容被改动" not in r.stderr and "Traceback" not in r.stderr
        r = _reader(ro, "show", now["dh"])  # the registry itself is readable
        assert r.returncode == 0 and "第 2 版" in r.stdout, r.stderr
    finally:
        _cleanup(ro)
    r = docgen(ws, "archive", "verify")  # the archivist's account completes it
    assert "核对通过" in r.stdout and _sha(ws / "archive" / now["path"]) == now["sha256"]


# ----------------------------------------------------------------------------- content keys on the record


def test_content_key_and_checker_are_in_the_log_and_shown(filed):
    ws = filed
    first = by_subject(ws)["T003"]
    _add_visit(ws, "T003")
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--checker", "王检查", "--as-of", TODAY)
    now = by_subject(ws)["T003"]
    entries = [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    filing = next(e for e in entries if e["action"] == "归档" and e["target"] == first["dh"])
    assert filing["after"]["内容散列"] == first["content_key"] and filing["after"]["检查人"] == "周文静"
    refiling = entries[-1]
    assert refiling["action"] == "重新归档" and refiling["target"] == now["dh"]
    assert refiling["before"]["内容散列"] == first["content_key"]
    assert refiling["after"]["内容散列"] == now["content_key"] != first["content_key"]
    assert refiling["after"]["检查人"] == "王检查"
    r = docgen(ws, "archive", "show", now["dh"])
    assert f"内容散列：{now['content_key']}" in r.stdout
    assert f"内容散列 {first['content_key'][:16]}" in r.stdout
    assert docgen(ws, "archive", "verify").returncode == 0


def _file_with_another_encoder(ws: Path) -> subprocess.CompletedProcess:
    """File every person again with a docgen that encodes the same documents into other bytes."""
    script = ("from docgen.render import pdf\n"
              "_render = pdf.render_pdf\n"
              "pdf.render_pdf = lambda *a, **k: _render(*a, **k) + b'%% another encoder\\n'\n"
              "from docgen.cli import main\n"
              f"main(['archive', 'file', '--all-persons', '--by', '刘芳', '--checker', '周文静', '--as-of', {TODAY!r}, "
              f"'--workspace', {str(ws)!r}])\n")
    r = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def test_a_volume_found_unchanged_by_its_bytes_is_keyed_for_later_upgrades(filed):
    """A volume of a registry from before content keys, found unchanged by its bytes, gets its
    content key recorded; otherwise the next docgen that encodes documents differently made a
    new version of every such volume after all."""
    ws = filed
    _as_version_1(ws / "archive" / "registry.sqlite3")
    first = by_subject(ws)
    # filed by 刘芳 with checker 周文静 (which that registry did not keep: the 备考表 tells); now no checker is named
    r = docgen(ws, "archive", "file", "--all-persons", "--by", "王档案", "--as-of", TODAY)
    assert r.stdout.count("未建新版本") == 4, r.stdout
    keyed = by_subject(ws)
    assert all(keyed[p]["content_key"] and keyed[p]["version"] == 1 and keyed[p]["sha256"] == first[p]["sha256"]
               for p in first)
    entries = [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]
    recorded = {e["target"]: e["after"]["内容散列"] for e in entries if e["action"] == "登记内容散列"}
    assert recorded == {keyed[p]["dh"]: keyed[p]["content_key"] for p in keyed}
    r = _file_with_another_encoder(ws)
    assert r.stdout.count("未建新版本") == 4, r.stdout
    assert by_subject(ws) == keyed
    assert docgen(ws, "archive", "verify").returncode == 0


def test_a_form_is_defined_by_its_module_and_the_helper_modules_it_uses(tmp_path, monkeypatch):
    """X2 takes its signature rows and footer from documents/_extras.py: a changed label there
    changes what X2 says. The layout language and base module (how forms are drawn) do not."""
    from docgen.archive import service
    from docgen.documents.registry import all_forms

    x2 = type(all_forms()["X2"])
    service._form_source.cache_clear()
    before = service._form_source(x2)
    real = service._module_file

    def changed(which: str):
        def module_file(name: str):
            path = real(name)
            if name == which:
                copy = tmp_path / f"{name}.py"
                copy.write_bytes(path.read_bytes() + "\n# 签名 → 签字\n".encode("utf-8"))
                return copy
            return path
        return module_file

    try:
        monkeypatch.setattr(service, "_module_file", changed("docgen.documents._extras"))
        service._form_source.cache_clear()
        assert service._form_source(x2) != before
        monkeypatch.setattr(service, "_module_file", changed("docgen.documents.layout"))
        service._form_source.cache_clear()
        assert service._form_source(x2) == before
        monkeypatch.setattr(service, "_module_file", changed("docgen.documents.base"))
        service._form_source.cache_clear()
        assert service._form_source(x2) == before
    finally:
        monkeypatch.undo()
        service._form_source.cache_clear()


def test_a_reader_meeting_a_registry_write_to_roll_back_is_told_why(filed):
    """A writer killed inside its transaction leaves SQLite's journal: only a writer can roll it back."""
    ws = filed
    script = ("import sqlite3, os\n"
              f"db = sqlite3.connect({str(ws / 'archive' / 'registry.sqlite3')!r}, isolation_level=None)\n"
              "db.execute('PRAGMA cache_size=1')\n"
              "db.execute('BEGIN IMMEDIATE')\n"
              "for i in range(100):\n"
              "    db.execute('UPDATE items SET title = title || ?', ('x' * 50,))\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (ws / "archive" / "registry.sqlite3-journal").is_file()
    ro = _reader_copy(ws)
    try:
        r = _reader(ro, "list")
        assert r.returncode == 1 and "需要回滚" in r.stderr and "没有写权限" in r.stderr, r.stderr
        assert "已损坏" not in r.stderr and "Traceback" not in r.stderr
    finally:
        _cleanup(ro)
    r = docgen(ws, "archive", "verify")  # the archivist's account rolls it back
    assert "核对通过" in r.stdout and "x" * 50 not in docgen(ws, "archive", "list").stdout


# ----------------------------------------------------------------------------- notices of a destroyed notice volume

REHAB = ("社区康复:\n  期限: 3年\n  起始日期: 2021-06-01\n  建议理由: 诊断评估合格，有稳定住所和家庭监护条件\n"
         "  大队意见: 同意\n  管理科意见: 同意\n  戒毒所意见: 同意\n")


def _second_account(ws: Path, *args: str) -> subprocess.CompletedProcess:
    """A command run under another login account (the second approver)."""
    from conftest import run_cli

    r = run_cli(*args, "--workspace", str(ws), env={"LOGNAME": "lijuzhang", "USER": "lijuzhang"})
    assert r.returncode == 0, r.stderr + r.stdout
    return r


def _approve_twice(ws: Path, number: str) -> None:
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    _second_account(ws, "archive", "approve", number, "--by", "李局长")


def _list_number(text: str) -> str:
    import re

    return re.search(r"销毁清册 (XH-\d{4}-\d{3})", text)[1]


def _late_person(ws: Path, pid: str = "T005", name: str = "戊五", first17: str = "32010219850505504") -> None:
    """T005, released from 东湖 in 2021-06 like T001 and T002, entered after their notice was filed."""
    import re

    from test_archive import PERSONS

    from docgen.records.idcard import check_digit

    # first17: a woman (17th digit even), synthetic
    text = re.sub(r'身份证号码: "\d+"', f'身份证号码: "{first17 + check_digit(first17)}"', PERSONS["T002"])
    text = text.replace("T002", pid).replace("乙二", name).replace("2026-", "2022-").replace("2025-", "2021-")
    (ws / "records" / "persons" / f"{pid}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def month_destroyed(tmp_path_factory) -> tuple[Path, dict]:
    """东湖's notices to 南京 of 2021-05: one voided before the month's volume (TZ) was filed, one
    filed in it, one supplementary notice issued after the volume was listed for destruction, and
    one issued after the volume was filed again and voided since.
    东湖's annual volume (GZ) of 2021 holds the filed notice and T001's 责令社区康复建议书 (H) and
    is held (保全) while the TZ is destroyed."""
    from test_archive import _make_ws, backdate
    from test_notice_frozen import issue

    ws = tmp_path_factory.mktemp("review-notices") / "ws"
    _make_ws(ws)
    docgen(ws, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)
    backdate(ws, "T001", "T002")
    p = ws / "records" / "persons" / "T001.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("事件:\n", REHAB + "事件:\n"), encoding="utf-8")
    info: dict = {"voided": issue(ws, "F", "dh", "2021-05")}
    docgen(ws, "notice", "void", info["voided"], "--reason", "收件站点填错")
    info["kept"] = issue(ws, "F", "dh", "2021-05")
    docgen(ws, "archive", "file", "--notices", "dh", "--month", "2021-05", "--by", "周文静", "--as-of", TODAY)
    docgen(ws, "archive", "file", "--annual", "dh", "--year", "2021", "--by", "韩志刚", "--as-of", TODAY)
    info["gz"] = next(i for i in by_subject_all(ws) if i["kind"] == "annual")
    info["tz"] = next(i for i in by_subject_all(ws) if i["kind"] == "notices")
    docgen(ws, "archive", "hold", info["gz"]["dh"], "--reason", "涉诉调阅")
    first = _list_number(docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案").stdout)
    _late_person(ws)
    info["late"] = issue(ws, "F", "dh", "2021-05")  # a supplementary notice, after the listing
    _approve_twice(ws, first)
    info["refused"] = docgen(ws, "archive", "execute", first, "--by", "监销员", ok=False)
    info["due"] = docgen(ws, "archive", "due", "--as-of", "2025-12-31").stdout
    docgen(ws, "archive", "cancel", first, "--reason", "通知书卷须重新归档")
    info["dispose_early"] = docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案").stdout
    docgen(ws, "archive", "file", "--notices", "dh", "--month", "2021-05", "--by", "周文静", "--as-of", TODAY)
    _late_person(ws, "T006", "己六", "32010219850606604")
    info["voided_late"] = issue(ws, "F", "dh", "2021-05")  # issued after the filing, then voided
    docgen(ws, "notice", "void", info["voided_late"], "--reason", "收件站点填错")
    info["list"] = second = _list_number(
        docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案").stdout)
    _approve_twice(ws, second)
    info["executed"] = docgen(ws, "archive", "execute", second, "--by", "监销员").stdout
    return ws, info


def by_subject_all(ws: Path) -> list[dict]:
    from test_archive import items

    return items(ws)


def test_a_notice_volume_lacking_a_later_notice_is_not_destroyed_until_filed_again(month_destroyed):
    """A supplementary notice of the month issued after the TZ was filed is in no version of it:
    destroying the volume would leave that notice's names in the register for ever. execute
    refuses (logged), due and dispose say the volume must be filed again first."""
    ws, info = month_destroyed
    tz, late = info["tz"]["dh"], info["late"]
    r = info["refused"]
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{tz} 没有收入立卷后发出的通知书 {late}" in r.stderr and "--notices dh --month 2021-05" in r.stderr
    refusals = [e for e in _audit(ws) if e["action"] == "拒绝执行销毁"]
    assert len(refusals) == 1 and any(late in why for why in refusals[0]["after"]["原因"])
    assert "暂不能列入销毁清册" in info["due"] and "先重新归档该卷" in info["due"] and late in info["due"]
    assert f"未列入：{tz}" in info["dispose_early"]


def test_voided_and_filed_notices_of_a_destroyed_volume_lose_their_names(month_destroyed):
    """Once the TZ (filed again with the supplementary notice) is destroyed, every notice of its
    month loses its people and view: the filed ones and the one voided before the filing
    (never in the volume, kept no longer than the month's notices), logged as such."""
    from test_notice_redaction import register

    ws, info = month_destroyed
    rows, people = register(ws)
    for number in (info["voided"], info["kept"], info["late"], info["voided_late"]):
        assert rows[number]["view"] is None and rows[number]["redacted_list"] == info["list"], number
    assert not people
    logged = [e for e in _audit(ws) if e["action"] == "清除通知书个人信息"]
    assert len(logged) == 1
    assert sorted(logged[0]["after"]["作废未入卷"]) == sorted(f"{n}（F）" for n in (info["voided"], info["voided_late"]))
    # voided, never in the volume; not claimed to be voided before the filing (the later one was issued after it)
    gone = [line for line in info["executed"].splitlines() if info["voided_late"] in line]
    assert gone and all("已作废、未入卷" in line and "立卷前" not in line for line in gone), gone
    log = (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8")
    assert "戊五" not in log and "己六" not in log


def test_the_institution_volume_is_filed_again_naming_the_destroyed_notices(month_destroyed, tmp_path):
    """东湖's GZ of 2021 (held) is filed again after its notice's TZ was destroyed: the new
    version keeps H, states on its 备考表 which notice was destroyed with which volume under which
    list (no traceback, no PDF asked for), the old version is kept, the log names the notice."""
    from test_archive import pdf_all_text

    src, info = month_destroyed
    ws = tmp_path / "ws"
    shutil.copytree(src, ws, symlinks=True)
    docgen(ws, "archive", "file", "--annual", "dh", "--year", "2021", "--by", "韩志刚", "--as-of", TODAY)
    gz = next(i for i in by_subject_all(ws) if i["kind"] == "annual")
    assert gz["version"] == 2 and gz["dh"] == info["gz"]["dh"]
    text = pdf_all_text(ws / "archive" / gz["path"])
    assert f"预解戒人员信息对接通知书{info['kept']}" in text.replace(" ", "")
    assert info["tz"]["dh"] in text and info["list"] in text and "责令社区康复建议书" in text
    entry = [e for e in _audit(ws) if e["action"] == "重新归档"][-1]
    assert entry["after"]["已销毁未收入"] == [f"预解戒人员信息对接通知书 {n}" for n in (info["kept"], info["late"])]
    assert "去除文件" not in entry["after"]
    assert (ws / "archive" / "annual" / "versions" / f"{gz['dh']}.v1.pdf").is_file()
    assert "核对通过" in docgen(ws, "archive", "verify").stdout


def _audit(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


# ----------------------------------------------------------------------------- found walking the lifecycle


def test_filing_an_unchanged_volume_whose_file_was_altered_warns(filed):
    """The monthly run finds T001's records unchanged (no new version) while its current file
    no longer matches the registered hash: the archivist is told now, not only by verify."""
    ws = filed
    t1 = by_subject(ws)["T001"]
    path = ws / "archive" / t1["path"]
    path.write_bytes(path.read_bytes() + b"%")
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY)
    assert "未建新版本" in r.stdout and by_subject(ws)["T001"]["version"] == 1
    assert f"警告：{t1['dh']} 现行第 1 版的文件 {t1['path']} 与登记的散列值不符" in r.stderr
    assert "从备份恢复" in r.stderr
    path.write_bytes(path.read_bytes()[:-1])  # restored: no warning
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY)
    assert "警告" not in r.stderr


def test_audit_tail_takes_no_negative_count(filed):
    """``--tail -1`` showed every entry but the first; it is refused in Chinese."""
    r = docgen(filed, "archive", "audit", "--tail", "-1", ok=False)
    assert r.returncode == 2 and "--tail" in r.stderr and "Traceback" not in r.stderr and "#1 " not in r.stdout
    r = docgen(filed, "archive", "audit", "--tail", "1")
    assert len(r.stdout.strip().splitlines()) == 1


def test_a_notice_volume_is_not_listed_while_the_notice_register_cannot_be_read(filed):
    """Whether a due notice volume holds every notice of its month is read in the notice
    register; while that cannot be read, due says so (and still lists), dispose leaves it out."""
    from test_archive import backdate
    from test_notice_frozen import issue

    ws = filed
    backdate(ws, "T001", "T002")
    issue(ws, "F", "dh", "2021-05")
    docgen(ws, "archive", "file", "--notices", "dh", "--month", "2021-05", "--by", "周文静", "--as-of", TODAY)
    tz = next(i for i in by_subject_all(ws) if i["kind"] == "notices")["dh"]
    (ws / "data" / "registry.sqlite3").write_bytes(b"not a database")
    r = docgen(ws, "archive", "due", "--as-of", "2025-12-31")
    assert tz in r.stdout and "暂不能列入销毁清册" in r.stdout and "无法核对是否收入了当月的全部通知书" in r.stdout
    rows = json.loads(docgen(ws, "archive", "due", "--as-of", "2025-12-31", "--json").stdout)
    held = {row["dh"]: row.get("held_back") for row in rows}
    assert "无法核对是否收入了当月的全部通知书" in held[tz]
    assert all(why is None for dh, why in held.items() if dh != tz)
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案")
    assert f"未列入：{tz} 无法核对" in r.stdout and "Traceback" not in r.stderr
    listed = [e for e in _audit(ws) if e["action"] == "编制销毁清册"]
    assert all(tz not in e["after"]["案卷"] for e in listed)


def test_a_disposal_list_belongs_to_its_fonds(filed):
    """A 戒毒所's fonds (J201) gets a 销毁清册 naming the 戒毒所 as 全宗名称 (it was blank: only
    stations were looked at), and an executed list is registered under the unit holding the
    fonds (the 指导站 nj for J101), not under the unit of its first volume."""
    from test_archive import backdate, pdf_all_text
    from test_notice_frozen import issue

    ws = filed
    backdate(ws, "T001", "T002")
    issue(ws, "F", "dh", "2021-05")
    docgen(ws, "archive", "file", "--annual", "dh", "--year", "2021", "--by", "韩志刚", "--as-of", TODAY)
    r = docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案")
    import re

    numbers = re.findall(r"已编制销毁清册 (XH-\d{4}-\d{3})", r.stdout)
    lists = {n: json.loads(docgen(ws, "archive", "lists", n, "--json").stdout) for n in numbers}
    by_fonds = {v["全宗号"]: n for n, v in lists.items()}
    j201, j101 = by_fonds["J201"], by_fonds["J101"]
    text = pdf_all_text(ws / "archive" / "disposal" / "drafts" / f"{j201}.pdf").replace(" ", "")
    assert "全宗名称:江苏省东湖强制隔离戒毒所" in text
    _approve_twice(ws, j101)
    docgen(ws, "archive", "execute", j101, "--by", "监销员")
    record = next(i for i in by_subject_all(ws) if i["kind"] == "disposal")
    assert record["unit"] == "nj" and record["subject"] == j101


def test_a_personal_volume_whose_record_is_gone_is_not_destroyed(filed):
    """Execution checks each term against the current records; a person whose record file was
    removed (not purged: the volume is still in the archive) cannot be checked, so the list is
    refused (logged) until the record is back."""
    from test_archive import backdate

    ws = filed
    backdate(ws, "T001")
    number = _list_number(docgen(ws, "archive", "dispose", "--as-of", "2025-12-31", "--by", "李档案").stdout)
    _approve_twice(ws, number)
    record = ws / "records" / "persons" / "T001.yaml"
    kept = record.read_bytes()
    record.unlink()
    r = docgen(ws, "archive", "execute", number, "--by", "监销员", ok=False)
    assert r.returncode == 1 and "T001 的记录不在记录目录中" in r.stderr and "Traceback" not in r.stderr
    assert by_subject(ws)["T001"]["status"] == "filed"
    assert _audit(ws)[-1]["action"] == "拒绝执行销毁"
    record.write_bytes(kept)
    docgen(ws, "archive", "execute", number, "--by", "监销员")
    assert by_subject(ws)["T001"]["status"] == "disposed"


def test_a_truncated_or_deleted_log_refuses_even_a_filing_that_changes_nothing(filed):
    """A filing found unchanged writes no log entry; with the log's last entry cut off, or the
    log deleted, it said 已归档 and exit 0 all the same. Now it is refused like any change."""
    ws = filed
    log = ws / "archive" / "audit.jsonl"
    whole = log.read_bytes()
    log.write_bytes(b"".join(whole.splitlines(keepends=True)[:-1]))
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "日志只有" in r.stderr and "从备份恢复审计日志" in r.stderr
    log.unlink()
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "日志不见了" in r.stderr
    # a log of as many entries whose last one was rewritten with its hash made anew (an intact
    # chain, another head): the message does not claim the log is shorter than it is
    from docgen.archive.store import entry_hash

    lines = whole.splitlines(keepends=True)
    last = json.loads(lines[-1])
    last["who"] = "某人"
    last["hash"] = entry_hash(last)
    log.write_bytes(b"".join(lines[:-1]) + json.dumps(last, ensure_ascii=False).encode("utf-8") + b"\n")
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY, ok=False)
    assert r.returncode == 1 and "日志只有" not in r.stderr, r.stderr
    assert f"日志第 {len(lines)} 条与登记簿记载的链头不符" in r.stderr
    log.write_bytes(whole)  # restored from the backup
    r = docgen(ws, "archive", "file", "--person", "T001", "--by", "刘芳", "--as-of", TODAY)
    assert "未建新版本" in r.stdout


def test_a_notice_kind_the_policy_files_elsewhere_does_not_hold_the_notice_volume_back(workspace, tmp_path):
    """A policy whose notice volumes take F only (K filed elsewhere): the month's K notice is in
    no TZ by design, and re-filing would never add it; the volume is not held back for it."""
    from test_archive import pdf_all_text

    ws = workspace
    policy = tmp_path / "policy.toml"
    base = (ROOT / "archive" / "policy.toml").read_text(encoding="utf-8")
    assert 'contents = ["F", "K", "M"]' in base
    policy.write_text(base.replace('contents = ["F", "K", "M"]', 'contents = ["F", "M"]'), encoding="utf-8")
    for kind in ("F", "K"):
        docgen(ws, "notice", "issue", "--kind", kind, "--institution", "dh", "--station", "nj", "--month", "2026-11",
               "--date", "2026-11-05", "--format", "pdf")
    docgen(ws, "archive", "file", "--notices", "dh", "--month", "2026-11", "--by", "周文静", "--as-of", TODAY,
           "--policy", str(policy))
    tz = next(i for i in by_subject_all(ws) if i["kind"] == "notices")
    assert "戒毒典型培育对象信息对接通知书" not in pdf_all_text(ws / "archive" / tz["path"]).replace(" ", "")
    r = docgen(ws, "archive", "due", "--as-of", "2029-12-31", "--policy", str(policy))
    assert tz["dh"] in r.stdout and "暂不能列入销毁清册" not in r.stdout, r.stdout
    # the default policy files K in the TZ: the same volume lacks it there
    r = docgen(ws, "archive", "due", "--as-of", "2029-12-31")
    assert f"{tz['dh']} 没有收入立卷后发出的通知书" in r.stdout


@pytest.mark.parametrize("failure", ["os", "sqlite"])
def test_a_raw_register_failure_is_told_in_chinese(tmp_path, monkeypatch, failure):
    """Should the notice register fail below its own Chinese messages (a disk error, a damaged
    page met mid-read), the reason a notice volume is held back is still Chinese."""
    import errno
    import sqlite3
    from types import SimpleNamespace

    from docgen.archive import purge
    from docgen.registry import notices

    (tmp_path / "registry.sqlite3").write_bytes(b"")
    raised = {"os": OSError(errno.EIO, "Input/output error", str(tmp_path / "registry.sqlite3")),
              "sqlite": sqlite3.DatabaseError("database disk image is malformed")}[failure]

    def fail(data):
        raise raised

    monkeypatch.setattr(notices, "list_notices", fail)
    rows = [{"kind": "notices", "status": "filed", "dh": "J101-TZ·2021-D3-NJZDZ-0001", "key": "k"}]
    why = purge.unfiled_notices(SimpleNamespace(), SimpleNamespace(data=tmp_path), rows)
    text = why["J101-TZ·2021-D3-NJZDZ-0001"]
    if failure == "os":
        assert text == f"无法读写 {tmp_path / 'registry.sqlite3'}：读写出错（磁盘或网络盘故障）"
    else:
        assert text.startswith("通知书登记簿读不出（数据库错误：")
