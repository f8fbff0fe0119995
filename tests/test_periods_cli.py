"""Unit tables asked for a period that has not begun or not ended, or a form that is not made
for the period given: the clerk is told, and a report for a month not begun is refused."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import run_cli
from test_build import make_small_workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    return make_small_workspace(tmp_path_factory.mktemp("periods") / "ws")


def _month_after(day: dt.date) -> str:
    return f"{day.year + (day.month == 12)}-{day.month % 12 + 1:02d}"


def test_stats_for_a_month_not_begun_is_refused(ws: Path):
    next_month = _month_after(dt.date.today())
    r = run_cli("stats", "-w", str(ws), "--unit", "nj", "--month", next_month, "--no-files")
    assert r.returncode != 0 and "尚未开始" in r.stderr and "Traceback" not in r.stderr


def test_a_month_cannot_be_frozen_before_it_ends(ws: Path):
    r = run_cli("stats", "-w", str(ws), "--month", "2026-11", "--freeze", "--as-of", "2026-11-20", "--no-files")
    assert r.returncode != 0 and "尚未结束" in r.stderr and "Traceback" not in r.stderr


def test_build_says_when_the_month_has_not_begun(ws: Path, tmp_path: Path):
    next_month = _month_after(dt.date.today())
    r = run_cli("build", "-w", str(ws), "--out", str(tmp_path / "out"), "--forms", "P", "--month", next_month,
                "--format", "pdf", "-q")
    assert r.returncode == 0, r.stderr
    assert "尚未开始" in r.stderr and "不是上报数字" in r.stderr  # said even with -q
    past = run_cli("build", "-w", str(ws), "--out", str(tmp_path / "out"), "--forms", "P", "--month", "2026-10",
                   "--format", "pdf")
    assert "尚未" not in past.stderr


def test_a_quarterly_form_asked_for_a_month_gets_a_hint(ws: Path, tmp_path: Path):
    r = run_cli("build", "-w", str(ws), "--out", str(tmp_path / "out"), "--forms", "R", "--month", "2026-10",
                "--format", "pdf")
    assert r.returncode == 0, r.stderr
    assert "表单 R 没有 2026年10月 的文书" in r.stderr and "--month 2026-Q4" in r.stderr
    quarter_end = run_cli("build", "-w", str(ws), "--out", str(tmp_path / "out"), "--forms", "R", "--month", "2026-09",
                          "--format", "pdf")
    assert "表单 R 没有" not in quarter_end.stderr


def test_one_stations_broken_record_does_not_stop_the_other_stations_reports(tmp_path: Path):
    """In a city's shared workspace a typo in one 服务站's person file stops the reports that
    could include that person (the station, the units above it, a freeze), not the others."""
    import re
    import shutil

    from conftest import EXAMPLES

    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    broken = next(p for p in sorted((ws / "records" / "persons").glob("*.yaml"))
                  if "服务站: nj-qh-fzm" in p.read_text(encoding="utf-8"))
    text = broken.read_text(encoding="utf-8")
    broken.write_text(re.sub(r"性别: 男|性别: 女", "性别: 未知", text, count=1), encoding="utf-8")
    other = run_cli("stats", "-w", str(ws), "--unit", "nj-xw", "--month", "2026-11", "--no-files")
    assert other.returncode == 0, other.stderr
    assert "不影响本单位的统计" in other.stderr and "nj-qh-fzm" in other.stderr
    assert "后续照管数据统计表" in other.stdout or "本月在册人数" in other.stdout
    for args in (("--unit", "nj-qh"), ("--unit", "nj-qh-fzm"), ("--unit", "nj"), ()):
        r = run_cli("stats", "-w", str(ws), *args, "--month", "2026-11", "--no-files")
        assert r.returncode != 0 and "统计前请先改正" in r.stderr, args
    due = run_cli("due", "-w", str(ws), "--unit", "nj-xw-my", "--as-of", "2026-11-30")
    assert due.returncode == 0 and "不影响本单位的应办事项" in due.stderr
