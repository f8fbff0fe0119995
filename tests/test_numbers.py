"""The number registry (docgen.registry.numbers): gap-free, never reused, concurrent-safe."""
from __future__ import annotations

import multiprocessing as mp
import os
import stat
from pathlib import Path

import pytest

from docgen.errors import DocgenError
from docgen.registry import numbers


def test_sequences_are_separate_per_series_issuer_year(tmp_path: Path):
    d = tmp_path / "data"
    assert [numbers.allocate(d, "F", "dh", 2026) for _ in range(3)] == [1, 2, 3]
    assert numbers.allocate(d, "K", "dh", 2026) == 1
    assert numbers.allocate(d, "F", "ns", 2026) == 1
    assert numbers.allocate(d, "F", "dh", 2027) == 1
    assert numbers.allocate(d, "F", "dh", 2026) == 4


def test_database_is_private(tmp_path: Path):
    d = tmp_path / "data"
    numbers.allocate(d, "F", "dh", 2026)
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(d / numbers.DB_NAME).st_mode) == 0o600


def test_assign_is_idempotent_and_void_is_never_reused(tmp_path: Path):
    d = tmp_path / "data"
    a = numbers.assign(d, "H", "dh", 2026, "NJ2026001")
    b = numbers.assign(d, "H", "dh", 2026, "NJ2026002")
    assert (a, b) == (1, 2)
    assert numbers.assign(d, "H", "dh", 2026, "NJ2026001") == 1
    # allocate in the same series continues after assigned numbers
    assert numbers.allocate(d, "H", "dh", 2026) == 3
    numbers.void(d, "H", "dh", 2026, 1, "填写错误")
    # the voided number stays in the register; the subject gets a new number, no gap, no reuse
    assert numbers.assign(d, "H", "dh", 2026, "NJ2026001") == 4
    rows = numbers.list_numbers(d, series="H")
    assert [r["seq"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["voided"] and rows[0]["void_reason"] == "填写错误"
    with pytest.raises(DocgenError, match="已于"):
        numbers.void(d, "H", "dh", 2026, 1, "再次")
    with pytest.raises(DocgenError, match="尚未发出"):
        numbers.void(d, "H", "dh", 2026, 99, "不存在")
    with pytest.raises(DocgenError, match="原因"):
        numbers.void(d, "H", "dh", 2026, 2, "  ")


def test_bad_arguments_are_refused(tmp_path: Path):
    with pytest.raises(DocgenError):
        numbers.allocate(tmp_path, "f", "dh", 2026)
    with pytest.raises(DocgenError):
        numbers.allocate(tmp_path, "F", "d h", 2026)
    with pytest.raises(DocgenError):
        numbers.allocate(tmp_path, "F", "dh", 26)


def test_formatting_and_parsing():
    assert numbers.format_number("F", "东湖", 2026, 12) == "东湖戒[2026]12号"
    assert numbers.format_number("H", "南山", 2027, 1) == "司法南山戒社康建议字〔2027〕1号"
    assert numbers.parse_notice_number("编号：东湖戒[2026]12号") == ("东湖", 2026, 12)
    assert numbers.parse_notice_number("南山戒［2026］3") == ("南山", 2026, 3)
    with pytest.raises(DocgenError):
        numbers.parse_notice_number("东湖2026-3")


def _hammer(args) -> list[int]:
    data_dir, kind, count = args
    if kind == "assign":
        return [numbers.assign(Path(data_dir), "H", "dh", 2026, f"P{i % 5}") for i in range(count)]
    return [numbers.allocate(Path(data_dir), "F", "dh", 2026) for _ in range(count)]


def test_twenty_processes_get_distinct_gap_free_numbers(tmp_path: Path):
    d = tmp_path / "data"
    ctx = mp.get_context("fork")
    with ctx.Pool(20) as pool:
        results = pool.map(_hammer, [(str(d), "allocate", 10)] * 20, chunksize=1)
    got = sorted(n for r in results for n in r)
    assert got == list(range(1, 201))
    # and each process saw its own numbers increase
    assert all(r == sorted(r) for r in results)


def test_concurrent_assign_gives_one_number_per_subject(tmp_path: Path):
    d = tmp_path / "data"
    ctx = mp.get_context("fork")
    with ctx.Pool(20) as pool:
        results = pool.map(_hammer, [(str(d), "assign", 10)] * 20, chunksize=1)
    per_subject: dict[str, set[int]] = {}
    for r in results:
        for i, n in enumerate(r):
            per_subject.setdefault(f"P{i % 5}", set()).add(n)
    assert all(len(v) == 1 for v in per_subject.values())
    assert sorted(next(iter(v)) for v in per_subject.values()) == [1, 2, 3, 4, 5]
    assert len(numbers.list_numbers(d, series="H")) == 5
