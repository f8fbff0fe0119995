"""Every filed version is kept, and only listed approvers approve.

1. A volume filed again (动态更新) keeps the version it supersedes, byte for byte, under
   ``<kind>/versions/<档号>.v<N>.pdf``; the current one stays at ``<kind>/<档号>.pdf``.
   ``verify`` checks superseded versions' hashes, ``show`` lists each version's file and
   exports any of them, a disposal destroys every version's file, and an archive of the old
   layout (schema 2: superseded files overwritten) keeps working.
2. ``docgen.toml`` ``[archive] approvers``: a roster of the persons who may approve a
   disposal list; anybody else is refused (and the refusal is logged).

The workspace is the one of ``test_archive`` (four synthetic persons).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from test_archive import FILED_ON, backdate, by_subject, docgen, filed, filed_base  # noqa: F401

TODAY = dt.date.today().isoformat()
VISIT = "  - {类型: 回访, 日期: 2025-09-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _log(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def _versions(ws: Path, dh: str) -> list[dict]:
    db = sqlite3.connect(f"file:{ws / 'archive' / 'registry.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT v.* FROM versions v JOIN items i ON i.id = v.item_id "
                                            "WHERE i.dh = ? ORDER BY v.version", (dh,))]
    finally:
        db.close()


def _refile(ws: Path, pid: str, extra: str = VISIT, ok: bool = True):
    """Add an event to ``pid``'s record and file the person again (a new version)."""
    p = ws / "records" / "persons" / f"{pid}.yaml"
    p.write_text(p.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return docgen(ws, "archive", "file", "--person", pid, "--by", "刘芳", "--as-of", TODAY, ok=ok)


def _approve_as(ws: Path, number: str, name: str, account: str, ok: bool = True):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOGNAME", account)
        return docgen(ws, "archive", "approve", number, "--by", name, ok=ok)


def _draft(ws: Path, *pids: str) -> str:
    backdate(ws, *pids)
    r = docgen(ws, "archive", "dispose", "--as-of", TODAY, "--by", "档案员")
    return re.search(r"销毁清册 (XH-\d{4}-\d{3})", r.stdout)[1]


# ----------------------------------------------------------------------------- versions kept


def test_refiling_keeps_the_superseded_version_as_filed(filed, tmp_path):
    ws = filed
    root = ws / "archive"
    first = by_subject(ws)["T003"]
    v1_bytes = (root / first["path"]).read_bytes()
    _refile(ws, "T003")
    now = by_subject(ws)["T003"]
    assert now["version"] == 2 and now["path"] == first["path"]  # the current version where it always was
    assert _sha(root / now["path"]) == now["sha256"] != first["sha256"]
    kept = root / "personal" / "versions" / f"{first['dh']}.v1.pdf"
    assert kept.read_bytes() == v1_bytes  # the superseded version, byte for byte
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    rows = _versions(ws, first["dh"])
    assert [r["path"] for r in rows] == [f"personal/versions/{first['dh']}.v1.pdf", None]
    assert rows[0]["superseded_at"] and rows[0]["sha256"] == first["sha256"]
    # a third version keeps the second too
    _refile(ws, "T003", "  - {类型: 回访, 日期: 2025-10-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n")
    assert _sha(root / "personal" / "versions" / f"{first['dh']}.v2.pdf") == now["sha256"]
    assert kept.read_bytes() == v1_bytes
    entry = [e for e in _log(ws) if e["action"] == "重新归档"][-1]
    assert entry["after"]["旧版文件"] == f"personal/versions/{first['dh']}.v2.pdf"
    r = docgen(ws, "archive", "verify")
    assert "核对通过：6 个文件" in r.stdout  # four current volumes and the two superseded versions of T003


def test_show_lists_each_version_and_exports_any_of_them(filed, tmp_path):
    ws = filed
    first = by_subject(ws)["T003"]
    v1_bytes = (ws / "archive" / first["path"]).read_bytes()
    _refile(ws, "T003")
    now = by_subject(ws)["T003"]
    out = docgen(ws, "archive", "show", first["dh"]).stdout
    assert "历次版本（2 版）" in out
    line1 = next(line for line in out.splitlines() if "第 1 版：" in line)
    assert f"{FILED_ON} 立卷，立卷人 刘芳，检查人 周文静" in line1 and f"sha256 {first['sha256']}" in line1
    assert f"{first['pages']} 页" in line1 and "被取代" in line1
    assert f"文件：personal/versions/{first['dh']}.v1.pdf（旧版本，原样保存）" in out
    assert f"文件：{now['path']}（现行版本）" in out
    dst = tmp_path / "old.pdf"
    r = docgen(ws, "archive", "show", first["dh"].replace("·", "."), "--version", "1", "--out", str(dst))
    assert dst.read_bytes() == v1_bytes and "第 1 版（旧版本" in r.stdout
    assert stat.S_IMODE(dst.stat().st_mode) == 0o600
    cur = tmp_path / "current.pdf"
    docgen(ws, "archive", "show", first["dh"], "--out", str(cur))
    assert _sha(cur) == now["sha256"]
    # refusals: an existing file, a version that does not exist, a place inside the archive, --version alone
    r = docgen(ws, "archive", "show", first["dh"], "--version", "1", "--out", str(dst), ok=False)
    assert r.returncode == 1 and "已存在，未覆盖" in r.stderr
    r = docgen(ws, "archive", "show", first["dh"], "--version", "3", "--out", str(tmp_path / "x.pdf"), ok=False)
    assert r.returncode == 1 and "没有第 3 版" in r.stderr and "第 1 版、第 2 版" in r.stderr
    r = docgen(ws, "archive", "show", first["dh"], "--out", str(ws / "archive" / "x.pdf"), ok=False)
    assert r.returncode == 1 and "不能放在档案库" in r.stderr and not (ws / "archive" / "x.pdf").exists()
    r = docgen(ws, "archive", "show", first["dh"], "--version", "1", ok=False)
    assert r.returncode == 2 and "--out" in r.stderr
    assert "核对通过" in docgen(ws, "archive", "verify").stdout


def test_verify_checks_superseded_versions(filed, tmp_path):
    ws = filed
    dh = by_subject(ws)["T003"]["dh"]
    _refile(ws, "T003")
    kept = ws / "archive" / "personal" / "versions" / f"{dh}.v1.pdf"
    rel = f"personal/versions/{dh}.v1.pdf"
    original = kept.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0x01
    kept.write_bytes(bytes(data))
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"内容被改动（散列值不符）：{rel}（{dh} 第 1 版，旧版本，{TODAY} 被取代）" in r.stderr
    # an altered version is not exported as if it were the original
    r = docgen(ws, "archive", "show", dh, "--version", "1", "--out", str(tmp_path / "v1.pdf"), ok=False)
    assert r.returncode == 1 and "与登记的散列值不符" in r.stderr and not (tmp_path / "v1.pdf").exists()
    kept.unlink()
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and f"文件缺失：{rel}（{dh} 第 1 版，旧版本" in r.stderr
    # a superseded version's registered hash edited to match a forged file: the log still knows the hash
    kept.write_bytes(bytes(data))
    with sqlite3.connect(ws / "archive" / "registry.sqlite3") as db:
        db.execute("UPDATE versions SET sha256 = ? WHERE version = 1 AND item_id = (SELECT id FROM items WHERE dh = ?)",
                   (hashlib.sha256(bytes(data)).hexdigest(), dh))
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and f"{dh} 第 1 版登记的散列值与审计日志记载的不符：登记簿被改动" in r.stderr
    with sqlite3.connect(ws / "archive" / "registry.sqlite3") as db:
        db.execute("UPDATE versions SET sha256 = ? WHERE version = 1 AND item_id = (SELECT id FROM items WHERE dh = ?)",
                   (hashlib.sha256(original).hexdigest(), dh))
    kept.write_bytes(original)
    kept.chmod(0o600)
    assert "核对通过" in docgen(ws, "archive", "verify").stdout


def test_refiling_over_an_altered_current_file_is_refused(filed):
    ws = filed
    root = ws / "archive"
    first = by_subject(ws)["T003"]
    path = root / first["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    r = _refile(ws, "T003", ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"现行第 1 版的文件 {first['path']} 与登记的散列值不符" in r.stderr and "从备份恢复" in r.stderr
    assert by_subject(ws)["T003"]["version"] == 1 and path.read_bytes() == bytes(data)  # the evidence stays
    assert not (root / "personal" / "versions").exists()
    assert "重新归档" not in [e["action"] for e in _log(ws)]


def test_refiling_when_the_current_file_is_missing_records_it_missing(filed):
    ws = filed
    root = ws / "archive"
    first = by_subject(ws)["T003"]
    (root / first["path"]).unlink()
    r = _refile(ws, "T003")
    assert "警告" in r.stderr and "未能作为旧版本保存" in r.stderr
    assert by_subject(ws)["T003"]["version"] == 2 and (root / first["path"]).is_file()
    entry = [e for e in _log(ws) if e["action"] == "重新归档"][-1]
    assert entry["after"]["旧版文件状态"] == "缺失"
    r = docgen(ws, "archive", "verify", ok=False)  # the loss is not hidden: restore it from a backup
    assert f"文件缺失：personal/versions/{first['dh']}.v1.pdf" in r.stderr


# SIGKILL right after the first staged file of a committed change is moved into place
KILL_AFTER_FIRST_MOVE = ("_replace = os.replace\n"
                         "def replace(src, dst, *a, **k):\n"
                         "    _replace(src, dst, *a, **k)\n"
                         "    if '.pending' in str(src) and str(src).endswith('.tmp'):  # not while staging\n"
                         "        os.kill(os.getpid(), signal.SIGKILL)\n"
                         "os.replace = replace\n")
# SIGKILL after the commit of a change that has files, before they are moved in or deleted
KILL_BEFORE_SETTLING = ("from docgen.archive import store\n"
                        "_settle = store.Store._settle\n"
                        "def settle(self):\n"
                        "    if (self.root / store.PENDING_DIR).exists():\n"
                        "        os.kill(os.getpid(), signal.SIGKILL)\n"
                        "    _settle(self)\n"
                        "store.Store._settle = settle\n")


def test_a_writer_killed_between_moving_the_new_version_and_the_old_one_loses_nothing(filed):
    """Killed after the new current file was moved in, before the superseded one was: the old
    version survives in ``.pending/`` and the next command puts it in place."""
    from test_archive_audit import _killed

    ws = filed
    root = ws / "archive"
    first = by_subject(ws)["T003"]
    v1_bytes = (root / first["path"]).read_bytes()
    p = ws / "records" / "persons" / "T003.yaml"
    p.write_text(p.read_text(encoding="utf-8") + VISIT, encoding="utf-8")
    r = _killed(ws, KILL_AFTER_FIRST_MOVE, "archive", "file", "--person", "T003", "--by", "刘芳", "--as-of", TODAY)
    assert r.returncode == -9, r.stderr
    assert (root / ".pending").is_dir() and by_subject(ws)["T003"]["version"] == 2  # committed
    assert _sha(root / first["path"]) == by_subject(ws)["T003"]["sha256"]  # the new version is in place …
    assert not (root / "personal" / "versions" / f"{first['dh']}.v1.pdf").exists()  # … the old one still staged
    r = docgen(ws, "archive", "verify")  # a writer's opening completes the change
    assert "核对通过" in r.stdout
    assert (root / "personal" / "versions" / f"{first['dh']}.v1.pdf").read_bytes() == v1_bytes
    assert _sha(root / first["path"]) == by_subject(ws)["T003"]["sha256"]


# ----------------------------------------------------------------------------- an archive of the old layout


def _to_schema_2(ws: Path, dh: str) -> None:
    """Make the archive what docgen before kept versions left: no ``versions.path`` column,
    the superseded version's file overwritten (gone), registry version 2."""
    root = ws / "archive"
    for p in (root / "personal" / "versions").glob(f"{dh}.v*.pdf"):
        p.unlink()
    (root / "personal" / "versions").rmdir()
    with sqlite3.connect(root / "registry.sqlite3") as db:
        db.execute("ALTER TABLE versions DROP COLUMN path")
        db.execute("PRAGMA user_version = 2")


def test_an_archive_of_the_old_layout_keeps_working(filed, tmp_path):
    ws = filed
    first = by_subject(ws)["T003"]
    _refile(ws, "T003")
    current = by_subject(ws)["T003"]
    _to_schema_2(ws, first["dh"])
    r = docgen(ws, "archive", "verify")  # migrated on opening: the current files pass, nothing is lost
    assert "核对通过：4 个文件" in r.stdout
    db = sqlite3.connect(ws / "archive" / "registry.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert [r[0] for r in db.execute("SELECT v.path FROM versions v JOIN items i ON i.id = v.item_id WHERE i.dh = ? "
                                     "ORDER BY v.version", (first["dh"],))] == [None, None]
    db.close()
    out = docgen(ws, "archive", "show", first["dh"]).stdout
    assert "文件未保留（由旧版 docgen 重新归档时被新版本替换）" in out
    dst = tmp_path / "cur.pdf"
    docgen(ws, "archive", "show", first["dh"], "--out", str(dst))
    assert _sha(dst) == current["sha256"]
    r = docgen(ws, "archive", "show", first["dh"], "--version", "1", "--out", str(tmp_path / "v1.pdf"), ok=False)
    assert r.returncode == 1 and "文件未保留" in r.stderr
    # from now on a superseded version is kept
    _refile(ws, "T003", "  - {类型: 回访, 日期: 2025-10-01, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n")
    assert _sha(ws / "archive" / "personal" / "versions" / f"{first['dh']}.v2.pdf") == current["sha256"]
    assert "核对通过：5 个文件" in docgen(ws, "archive", "verify").stdout


# ----------------------------------------------------------------------------- disposal destroys every version


def test_disposal_destroys_every_version(filed):
    ws = filed
    root = ws / "archive"
    first = by_subject(ws)["T001"]
    _refile(ws, "T001", "  - {类型: 回访, 日期: 2025-08-15, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n")
    kept = root / "personal" / "versions" / f"{first['dh']}.v1.pdf"
    assert kept.is_file()
    number = _draft(ws, "T001")  # the volume listed is version 2
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    _approve_as(ws, number, "李局长", "lijuzhang")
    docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    assert not (root / first["path"]).exists() and not kept.exists()
    rows = _versions(ws, first["dh"])
    assert [r["version"] for r in rows] == [1, 2] and all(r["path"] is None for r in rows)  # tombstones
    assert rows[0]["sha256"] == first["sha256"]
    entry = next(e for e in _log(ws) if e["action"] == "销毁" and e["target"] == first["dh"])
    assert entry["after"]["销毁文件"] == [first["path"], f"personal/versions/{first['dh']}.v1.pdf"]
    assert entry["before"]["旧版本"] == [{"版本": 1, "sha256": first["sha256"],
                                        "文件": f"personal/versions/{first['dh']}.v1.pdf"}]
    assert "核对通过" in docgen(ws, "archive", "verify").stdout  # gone after disposal: expected
    out = docgen(ws, "archive", "show", first["dh"]).stdout
    assert out.count("文件已随案卷按销毁清册") == 2
    # a superseded version's file that survived the disposal is reported
    kept.write_bytes(b"%PDF-1.4 survived")
    kept.chmod(0o600)
    r = docgen(ws, "archive", "verify", ok=False)
    assert r.returncode == 1 and f"personal/versions/{first['dh']}.v1.pdf（{first['dh']} 已按销毁清册 {number} 销毁，" \
                                 "文件却仍在" in r.stderr


def test_a_disposal_killed_after_the_commit_still_destroys_every_version(filed):
    from test_archive_audit import _killed

    ws = filed
    root = ws / "archive"
    first = by_subject(ws)["T001"]
    _refile(ws, "T001", "  - {类型: 回访, 日期: 2025-08-15, 方式: 电话回访, 回访人: 刘芳, 操守保持: 良好}\n")
    kept = root / "personal" / "versions" / f"{first['dh']}.v1.pdf"
    number = _draft(ws, "T001")
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    _approve_as(ws, number, "李局长", "lijuzhang")
    r = _killed(ws, KILL_BEFORE_SETTLING, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    assert r.returncode == -9, r.stderr
    assert by_subject(ws)["T001"]["status"] == "disposed"
    assert kept.exists()  # committed, not yet removed
    assert "核对通过" in docgen(ws, "archive", "verify").stdout
    assert not kept.exists() and not (root / first["path"]).exists()


# ----------------------------------------------------------------------------- roster of approvers


def _set_roster(ws: Path, text: str) -> None:
    cfg = ws / "docgen.toml"
    body = cfg.read_text(encoding="utf-8")
    body = re.sub(r"(?ms)^\[archive\].*?(?=^\[|\Z)", "", body)  # one [archive] section, ours
    cfg.write_text(body.rstrip() + "\n\n[archive]\n" + text + "\n", encoding="utf-8")


def test_roster_refuses_an_approver_not_on_it(filed):
    ws = filed
    number = _draft(ws, "T001")
    _set_roster(ws, 'approvers = ["张主任", "李 局长"]')
    r = docgen(ws, "archive", "approve", number, "--by", "王科员", ok=False)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "王科员 不在审批人名单上" in r.stderr and "张主任、李 局长" in r.stderr
    refused = [e for e in _log(ws) if e["action"] == "拒绝批准销毁"]
    assert refused and refused[-1]["after"]["批准人"] == "王科员" and "不在审批人名单上" in refused[-1]["after"]["原因"]
    assert refused[-1]["who"] == "王科员"
    # names on the roster, compared normalised (blanks, full-width letters, case)
    docgen(ws, "archive", "approve", number, "--by", "张 主任")
    _approve_as(ws, number, "李局长", "lijuzhang")
    out = docgen(ws, "archive", "lists", number).stdout
    assert "待执行" in out and "审批人名单（docgen.toml [archive] approvers）：张主任、李 局长" in out
    docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王")
    assert by_subject(ws)["T001"]["status"] == "disposed"


def test_approvals_given_before_the_roster_do_not_count_unless_listed(filed):
    ws = filed
    number = _draft(ws, "T001")
    docgen(ws, "archive", "approve", number, "--by", "张主任")
    _approve_as(ws, number, "王科员", "wang")
    out = docgen(ws, "archive", "lists").stdout
    assert "待执行" in out and "审批人名单：未配置（docgen.toml [archive] approvers）" in out
    _set_roster(ws, 'approvers = ["张主任", "李局长"]')
    out = docgen(ws, "archive", "lists", number).stdout
    assert "待批准（1/2）" in out and "不计：王科员 不在审批人名单上，其批准不计" in out
    r = docgen(ws, "archive", "execute", number, "--as-of", TODAY, "--by", "监销人王", ok=False)
    assert r.returncode == 1 and "只有 1 人批准" in r.stderr and by_subject(ws)["T001"]["status"] == "filed"
    rec = json.loads(docgen(ws, "archive", "lists", number, "--json").stdout)
    assert rec["审批人名单"] == ["张主任", "李局长"]


@pytest.mark.parametrize("text, message", [
    ('approvers = []', "是空的"),
    ('approvers = "张主任"', "应为姓名的列表"),
    ('approvers = ["张主任", "张 主任"]', "是同一姓名"),
    ('"审批人" = ["张主任"]', "未知的项目：审批人"),
])
def test_a_faulty_roster_is_an_error_not_an_open_door(filed, text, message):
    ws = filed
    number = _draft(ws, "T001")
    _set_roster(ws, text)
    r = docgen(ws, "archive", "approve", number, "--by", "王科员", ok=False)
    assert r.returncode == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert "批准销毁" not in [e["action"] for e in _log(ws)]


def test_a_reader_uses_an_archive_of_the_old_layout_without_changing_it(filed, tmp_path):
    """A read-only account cannot migrate: it lists, shows, exports and verifies by schema 2."""
    import os
    import tempfile

    from test_archive_review import _cleanup, _reader, _reader_copy

    ws = filed
    first = by_subject(ws)["T003"]
    _refile(ws, "T003")
    current = by_subject(ws)["T003"]
    _to_schema_2(ws, first["dh"])
    ro = _reader_copy(ws)
    out_dir = Path(tempfile.mkdtemp(prefix="docgen-export-", dir="/tmp"))
    os.chmod(out_dir, 0o777)  # the reader account's own place to export to
    try:
        registry = ro / "archive" / "registry.sqlite3"
        before = registry.read_bytes()
        r = _reader(ro, "show", first["dh"])
        assert r.returncode == 0 and "文件未保留" in r.stdout and "历次版本（2 版）" in r.stdout, r.stderr
        r = _reader(ro, "show", first["dh"], "--out", str(out_dir / "cur.pdf"))
        assert r.returncode == 0, r.stderr
        assert _sha(out_dir / "cur.pdf") == current["sha256"]
        r = _reader(ro, "verify")
        assert "Traceback" not in r.stderr and "文件缺失" not in r.stderr and "散列值不符" not in r.stderr, r.stderr
        assert "登记簿与审计日志不符" not in r.stderr, r.stderr
        assert registry.read_bytes() == before
    finally:
        _cleanup(ro)
        for p in out_dir.iterdir():
            p.unlink()
        out_dir.rmdir()
