"""Anchors of the audit log (``docgen archive anchor``): the head printed on a sheet kept
outside the archive finds a log rewritten as a whole, which the hash chain alone cannot."""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import pdf_text, run_cli
from test_build import PERSON, make_small_workspace

from docgen.archive.store import entry_hash


def cli(ws: Path, *args: str):
    r = run_cli("archive", *args, "-w", str(ws))
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    ws = make_small_workspace(tmp_path / "ws")
    r = cli(ws, "file", "--person", PERSON, "--by", "刘芳")
    assert r.returncode == 0, r.stderr
    return ws


def log_entries(ws: Path) -> list[dict]:
    return [json.loads(line) for line in (ws / "archive" / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def issue(ws: Path) -> tuple[int, str, Path]:
    r = cli(ws, "anchor", "--by", "刘芳")
    assert r.returncode == 0, r.stderr
    m = re.search(r'--check "(\d+):([0-9a-f ]+)"', r.stdout)
    sheet = Path(re.search(r"锚点单：(\S+)", r.stdout)[1])
    return int(m[1]), m[2].replace(" ", ""), sheet


def test_an_anchor_names_the_last_entry_is_logged_and_printed_on_a_sheet(ws: Path):
    before = log_entries(ws)
    seq, digest, sheet = issue(ws)
    assert (seq, digest) == (before[-1]["seq"], before[-1]["hash"])
    last = log_entries(ws)[-1]
    assert last["action"] == "签发审计锚点" and last["after"] == {"序号": seq, "散列": digest}
    assert sheet.parent == ws and sheet.stat().st_mode & 0o777 == 0o600
    text = pdf_text(sheet)
    assert "档案库审计日志锚点单" in text and "刘芳" in text and f"第{seq}条" in text
    assert digest in text  # grouped by eight on the sheet: white space removed by pdf_text
    # later changes do not disturb the anchor; the archive's own check still passes
    assert cli(ws, "hold", log_entries(ws)[0]["target"], "--reason", "审计", "--by", "刘芳").returncode == 0
    grouped = " ".join(digest[i:i + 8] for i in range(0, 64, 8)).upper()
    r = cli(ws, "anchor", "--check", f"{seq}:{grouped}")
    assert r.returncode == 0 and "相符" in r.stdout
    assert cli(ws, "verify").returncode == 0


def test_a_log_rewritten_as_a_whole_passes_its_chain_but_not_the_anchor(ws: Path):
    seq, digest, _ = issue(ws)
    # someone with write access forges who filed the volume and re-chains the whole log,
    # and records the new head in the registry
    entries = log_entries(ws)
    entries[0]["who"] = "张某"
    prev = entries[0]["prev"]
    for e in entries:
        e["prev"] = prev
        e["hash"] = entry_hash(e)
        prev = e["hash"]
    (ws / "archive" / "audit.jsonl").write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    db = sqlite3.connect(ws / "archive" / "registry.sqlite3")
    db.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (prev,))
    db.commit()
    db.close()
    assert cli(ws, "audit", "--verify").returncode == 0  # the chain alone cannot tell
    r = cli(ws, "anchor", "--check", f"{seq}:{digest}")
    assert r.returncode == 1 and "不符" in r.stderr and "被改写" in r.stderr


def test_a_truncated_log_and_malformed_anchors(ws: Path):
    seq, digest, _ = issue(ws)
    r = cli(ws, "anchor", "--check", f"{seq + 5}:{digest}")
    assert r.returncode == 1 and "被截短" in r.stderr
    r = cli(ws, "anchor", "--check", f"{seq}:{digest[:40]}")
    assert r.returncode == 2 and "格式不对" in r.stderr
    r = cli(ws, "anchor")
    assert r.returncode == 2 and "--by" in r.stderr


def test_no_anchor_for_an_empty_archive(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    r = cli(ws, "anchor", "--by", "刘芳")
    assert r.returncode != 0 and "尚未建立" in r.stderr
