"""Batch builds: incremental skip, --force, broken files hold their outputs, parallel
workers, and a killed build leaves no partial file."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, pdf_text, run_cli
from docgen.records.idcard import check_digit

PERSON = "NJ2026001"


def make_small_workspace(dst: Path) -> Path:
    """The example stations and institutions with one person (NJ2026001): small and fixed."""
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive", "events", "logs"))
    for p in (dst / "records" / "persons").glob("*.yaml"):
        if p.stem != PERSON:
            p.unlink()
    return dst


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return make_small_workspace(tmp_path / "ws")


def add_person(ws: Path, pid: str, name: str, seq: int) -> Path:
    """A second valid person, made from the example person (new 编号, 姓名, 身份证号码)."""
    src = (ws / "records" / "persons" / f"{PERSON}.yaml").read_text(encoding="utf-8")
    first17 = f"32010219850314{(seq * 2 + 1) % 1000:03d}"  # odd 17th digit: 男, like the example
    number = first17 + check_digit(first17)
    text = (src.replace(f"编号: {PERSON}", f"编号: {pid}").replace("姓名: 王堃", f"姓名: {name}")
            .replace('"320102198503141235"', f'"{number}"'))
    path = ws / "records" / "persons" / f"{pid}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def snapshot(out: Path) -> dict[str, tuple[int, str]]:
    """{relative path: (mtime_ns, sha256)} of every output file."""
    snap = {}
    for p in sorted(out.rglob("*")):
        if p.is_file() and not p.name.startswith(".") and p.name != "manifest.json":
            snap[str(p.relative_to(out))] = (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return snap


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def d_pdf(out: Path, pid: str) -> Path:
    [path] = [out / e["files"]["pdf"] for e in manifest(out)["documents"] if e["form"] == "D" and e["key"] == pid]
    return path


def build(ws: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli("build", "-w", str(ws), "--forms", "D", "--format", "pdf", *extra)


def test_incremental_build_renders_only_what_changed(workspace: Path):
    add_person(workspace, "NJ2026901", "赵大成", 1)
    out = workspace / "output"
    first = build(workspace)
    assert first.returncode == 0, first.stderr
    assert "本次生成 2 份" in first.stdout
    before = snapshot(out)
    assert len(before) == 2

    again = build(workspace)
    assert again.returncode == 0, again.stderr
    assert "本次生成 0 份，2 份未变化跳过" in again.stdout
    assert snapshot(out) == before  # same mtime and bytes: nothing was touched

    person = workspace / "records" / "persons" / f"{PERSON}.yaml"
    person.write_text(person.read_text(encoding="utf-8").replace("025-84561234", "025-84560000"), encoding="utf-8")
    third = build(workspace)
    assert "本次生成 1 份，1 份未变化跳过" in third.stdout, third.stdout
    after = snapshot(out)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {str(d_pdf(out, PERSON).relative_to(out))}
    assert "025-84560000" in pdf_text(d_pdf(out, PERSON))

    forced = build(workspace, "--force")
    assert "本次生成 2 份" in forced.stdout
    # deterministic: re-rendering gives the same bytes
    assert {k: v[1] for k, v in snapshot(out).items()} == {k: v[1] for k, v in after.items()}


def test_broken_file_keeps_last_good_output(workspace: Path):
    out = workspace / "output"
    assert build(workspace).returncode == 0
    pdf = d_pdf(out, PERSON)
    before = snapshot(out)
    person = workspace / "records" / "persons" / f"{PERSON}.yaml"
    good = person.read_text(encoding="utf-8")
    lines = good.splitlines()
    assert lines[4] == "性别: 男"
    lines[4] = "性别: [男"  # line 5: unclosed flow sequence
    person.write_text("\n".join(lines) + "\n", encoding="utf-8")

    res = build(workspace)
    assert res.returncode == 1
    assert "persons/NJ2026001.yaml:" in res.stderr
    data = manifest(out)
    errors = [e for e in data["errors"] if e["record"].endswith("NJ2026001.yaml")]
    assert errors and errors[0]["line"] >= 5
    # the document made from the broken file is still listed and untouched
    assert any(e["form"] == "D" and e["key"] == PERSON for e in data["documents"])
    assert snapshot(out) == before
    assert pdf.exists()

    person.write_text(good, encoding="utf-8")
    fixed = build(workspace)
    assert fixed.returncode == 0, fixed.stderr
    assert manifest(out)["errors"] == []
    assert "本次生成 0 份" in fixed.stdout  # same content as before the breakage


def test_parallel_build_matches_serial(workspace: Path, tmp_path: Path):
    for i in range(9):
        add_person(workspace, f"NJ20269{i:02d}", f"赵大{'一二三四五六七八九'[i]}", i)
    par = run_cli("build", "-w", str(workspace), "--forms", "D", "--format", "pdf", "-j", "2",
                  "--out", str(tmp_path / "par"))
    ser = run_cli("build", "-w", str(workspace), "--forms", "D", "--format", "pdf", "-j", "1", "-q",
                  "--out", str(tmp_path / "ser"))
    assert par.returncode == 0 and ser.returncode == 0, par.stderr + ser.stderr
    assert ser.stdout == ""  # -q: nothing but errors
    a, b = snapshot(tmp_path / "par"), snapshot(tmp_path / "ser")
    assert len(a) == 10
    assert {k: v[1] for k, v in a.items()} == {k: v[1] for k, v in b.items()}
    assert sum(e["pages"] for e in manifest(tmp_path / "par")["documents"]) == 10


def _many_people(ws: Path, n: int) -> None:
    for i in range(n):
        add_person(ws, f"NJ2027{i:03d}", f"钱{'甲乙丙丁戊己庚辛壬癸'[i % 10]}{i}", i)


def _no_partials(out: Path) -> None:
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    from pypdf import PdfReader

    for pdf in out.rglob("*.pdf"):
        assert len(PdfReader(str(pdf)).pages) >= 1  # every PDF in place is complete


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_build_leaves_no_partial_file(workspace: Path, sig):
    _many_people(workspace, 40)
    out = workspace / "output"
    proc = subprocess.Popen([sys.executable, "-m", "docgen", "build", "-w", str(workspace), "--forms", "D,E",
                             "--format", "pdf,docx", "-j", "2"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(out.rglob("*.pdf"))) < 12:
        time.sleep(0.05)
    assert proc.poll() is None, "the build finished before it could be interrupted"
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode != 0
    # the workers stop with the build (they remove their temporary files first)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("worker processes outlived the build")
    _no_partials(out)
    if sig == signal.SIGTERM:
        # what was finished is recorded; the next run renders only the rest
        done = len(manifest(out)["documents"])
        assert done >= 1
        res = run_cli("build", "-w", str(workspace), "--forms", "D,E", "--format", "pdf,docx")
        assert res.returncode == 0, res.stderr
        assert f"份，{done} 份未变化跳过" in res.stdout
        assert len(manifest(out)["documents"]) == 82  # 41 persons, forms D and E


_STOP_PROBE = """
import os, signal, sys, time
from docgen import build
build._STOP_GRACE_S = 1
build._in_job = {in_job}
signal.signal(signal.SIGTERM, build._worker_stop)
for i in range(3):
    try:  # code that swallows everything, as a __del__ or the pool's result sending does
        if i == 0:
            print("ready", flush=True)
        time.sleep(8)
    except BaseException:
        pass
sys.exit(0)
"""


def _stop(probe: str) -> tuple[int, float]:
    """Run ``probe`` (a script printing "ready" once its worker code runs), send it SIGTERM:
    its return code and how long it took to end."""
    proc = subprocess.Popen([sys.executable, "-c", probe], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=6)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the worker outlived its stop")
    return proc.returncode, time.monotonic() - started


@pytest.mark.parametrize("in_job", [False, True])
def test_stopped_worker_exits_even_where_the_stop_is_swallowed(in_job):
    """A worker told to stop (SIGTERM, also as the death signal of a killed build) is gone soon
    even when the code it is running swallows the SystemExit: idle at once, in a job after a
    short grace the kernel enforces. A worker that lingered would wait forever on a queue a
    killed build never writes again, holding the build's output pipes open."""
    returncode, took = _stop(_STOP_PROBE.format(in_job=in_job))
    if in_job:
        assert returncode == -signal.SIGALRM and took < 4
    else:
        assert returncode == 128 + signal.SIGTERM and took < 1


_CHUNK_PROBE = """
import signal, sys, time
from docgen import build
build._STOP_GRACE_S = 3
signal.signal(signal.SIGTERM, build._worker_stop)

def job(*args):
    print("ready", flush=True)
    time.sleep(8)

build._render_job = job
try:
    build._render_chunk([None], None, set())
except BaseException:  # as the pool does: the worker would go on waiting for work
    time.sleep(8)
sys.exit(0)
"""


def test_worker_stopped_in_a_job_exits_once_unwound():
    """A worker stopped in the middle of a document unwinds (removing its temporary file) and
    exits then, rather than handing the stop to the pool as a result and waiting for work until
    the grace alarm ends it: a build stopped by SIGINT/SIGTERM is not held up by its workers."""
    returncode, _ = _stop(_CHUNK_PROBE)
    assert returncode == 128 + signal.SIGTERM  # not -SIGALRM: it did not wait for the grace alarm


def test_output_folder_that_cannot_be_made_is_explained(workspace: Path, tmp_path: Path):
    """An --out below a plain file, or in a read-only place, gives a Chinese reason naming the
    path (exit 1), not an internal error."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    res = run_cli("build", "-w", str(workspace), "--forms", "D", "--format", "pdf", "--out", str(blocker / "out"))
    assert res.returncode == 1, res.stderr
    assert "内部错误" not in res.stderr and "Traceback" not in res.stderr
    assert f"{blocker / 'out'}" in res.stderr and "是文件而不是目录" in res.stderr
