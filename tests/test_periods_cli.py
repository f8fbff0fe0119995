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
