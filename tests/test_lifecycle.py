"""Case lifecycle: states derived from the scripted persons of ``_stats_fixture`` (expected
states worked out by hand from their stories), and the event contradictions of check_events."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from _stats_fixture import load, make_workspace
from conftest import run_cli
from docgen.model.lifecycle import STATES, cultivating_on, cultivation_span, state_on, status_on


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load(make_workspace(tmp_path_factory.mktemp("lc") / "ws"))


D = dt.date

CASES = [
    # person, day, expected state
    ("P14", D(2026, 12, 4), "预解戒"),
    ("P14", D(2026, 12, 5), "待报到"),
    ("P03", D(2026, 9, 24), "预解戒"),
    ("P03", D(2026, 10, 5), "待报到"),  # release + 10 days: still in time
    ("P03", D(2026, 10, 6), "尚未报到"),
    ("P04", D(2026, 10, 11), "待报到"),
    ("P04", D(2026, 10, 12), "在册照管"),
    ("P05", D(2026, 10, 2), "预解戒"),
    ("P05", D(2026, 10, 31), "所外就医"),  # under treatment: no 10-day rule
    ("P06", D(2026, 10, 2), "在册照管"),  # reported 2025-10-03: last day of care 2026-10-02
    ("P06", D(2026, 10, 3), "照管期满"),
    ("P07", D(2026, 8, 19), "在册照管"),
    ("P07", D(2026, 9, 30), "失联"),
    ("P07", D(2026, 10, 8), "在册照管"),
    ("P11", D(2026, 10, 31), "拒访"),
    ("P08", D(2026, 10, 14), "在册照管"),
    ("P08", D(2026, 10, 15), "复吸/强戒"),
    ("P12", D(2026, 10, 1), "判处刑罚"),
    ("P10", D(2026, 10, 19), "在册照管"),
    ("P10", D(2026, 10, 20), "死亡"),
    ("P13", D(2026, 10, 17), "在册照管"),
    ("P13", D(2026, 10, 18), "终止"),
    ("P09", D(2030, 1, 1), "在册照管"),  # 典型培育: care without end
    ("P15", D(2026, 10, 30), "在册照管"),  # care lasted while cultivated, long past 1 year
    ("P15", D(2026, 10, 31), "照管期满"),
    # 填报说明 4: a relapsed person stays (in I) until January after their care period ran
    ("P18", D(2026, 11, 30), "复吸/强戒"),  # care period ended 2026-11-30
    ("P18", D(2026, 12, 31), "复吸/强戒"),
    ("P18", D(2027, 1, 1), "照管期满"),
    ("P08", D(2027, 12, 31), "复吸/强戒"),  # care until 2027-02-02: stays through 2027
    ("P08", D(2028, 1, 1), "照管期满"),
]


@pytest.mark.parametrize("pid,day,expected", CASES)
def test_state_on(ds, pid: str, day: dt.date, expected: str) -> None:
    assert expected in STATES
    assert state_on(ds.persons[pid], day) == expected


def test_register_membership_and_groups(ds) -> None:
    day = D(2026, 10, 31)
    groups = {pid: (status_on(p, day).in_register, status_on(p, day).group) for pid, p in ds.persons.items()}
    assert groups["P03"] == (True, "F")  # 尚未报到 is counted within E
    assert groups["P11"] == (True, "F")
    assert groups["P08"] == (True, "I") and groups["P12"] == (True, "I")
    assert groups["P05"] == (True, "")  # 所外就医: actually cared for
    assert groups["P14"] == (False, "") and groups["P10"] == (False, "") and groups["P13"] == (False, "")
    # a person waiting within the 10 days is cared for, not 异动
    assert status_on(ds.persons["P03"], D(2026, 9, 30)).group == ""


def test_cultivation_spans(ds) -> None:
    # institution cultivates from release, a station from the signing date
    assert cultivation_span(ds.persons["P09"]) == (D(2024, 5, 1), None)
    assert cultivation_span(ds.persons["P16"])[0] == D(2026, 10, 20)
    assert cultivation_span(ds.persons["P17"])[0] == D(2026, 10, 10)
    assert cultivation_span(ds.persons["P15"]) == (D(2023, 6, 1), D(2026, 10, 31))
    assert cultivating_on(ds.persons["P15"], D(2026, 10, 30))
    assert not cultivating_on(ds.persons["P15"], D(2026, 10, 31))
    assert not cultivating_on(ds.persons["P17"], D(2026, 10, 9))
    assert cultivation_span(ds.persons["P01"]) == (None, None)


def test_contradictory_events_are_reported_with_file_and_line(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    bad = root / "records" / "persons" / "P01.yaml"
    text = bad.read_text(encoding="utf-8")
    text += ("  - {类型: 恢复联系, 日期: 2026-10-21}\n"   # no open 失联/拒访
             "  - {类型: 终止, 日期: 2026-10-22, 情形: 有其他违反后续照管服务协议行为}\n"
             "  - {类型: 回访, 日期: 2026-10-25, 方式: 电话回访}\n"  # care after termination
             "  - {类型: 终止, 日期: 2026-10-26, 情形: 有其他违反后续照管服务协议行为}\n")
    bad.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    r = run_cli("validate", "--workspace", str(root))
    assert r.returncode == 1
    err = r.stderr
    line_of = {kind: next(i + 1 for i, ln in enumerate(lines) if kind in ln) for kind in ("恢复联系", "2026-10-25")}
    assert f"P01.yaml:{line_of['恢复联系']}:" in err and "没有未恢复的“失联”或“拒访”" in err
    assert f"P01.yaml:{line_of['2026-10-25']}:" in err and "发生在终止协议（2026-10-22）之后" in err
    assert "同一人只能有一次“终止”" in err


def test_medical_release_after_release_is_an_error(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    p = root / "records" / "persons" / "P05.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("所外就医, 日期: 2026-10-03", "所外就医, 日期: 2026-10-09"),
                 encoding="utf-8")
    r = run_cli("validate", "--workspace", str(root))
    assert r.returncode == 1 and "P05.yaml" in r.stderr and "晚于出所时间" in r.stderr
