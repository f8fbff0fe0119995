"""``docgen due``: what each unit owes, overdue first, on the examples and the scripted workspace."""
from __future__ import annotations

import re
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from _stats_fixture import load, make_workspace
from conftest import EXAMPLES, run_cli
from docgen.model.due import due_items

KINDS = {"信息采集", "对象信息表", "报到", "回访", "终止审批", "期满鉴定", "月度统计"}


@pytest.fixture(scope="module")
def example_ws(tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("due") / "ws"
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


def test_examples_list_every_kind_sorted(example_ws: Path) -> None:
    r = run_cli("due", "--workspace", str(example_ws), "--as-of", "2026-11-30", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    items = data["items"]
    assert data["as_of"] == "2026-11-30"
    assert {i["kind"] for i in items} == KINDS
    flags = [i["overdue"] for i in items]
    assert flags == sorted(flags, reverse=True)  # overdue first
    for group in (True, False):
        dates = [i["date"] for i in items if i["overdue"] is group]
        assert dates == sorted(dates)
    assert all(i["overdue"] == (i["date"] < "2026-11-30") for i in items)
    assert all(i["status"] in ("逾期", "待办") for i in items)
    assert any(i["kind"] == "期满鉴定" and i["form"] == "X2" for i in items)


def test_table_output_and_unit_filter(example_ws: Path) -> None:
    r = run_cli("due", "--workspace", str(example_ws), "--as-of", "2026-11-30", "--unit", "nj-xw")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("截至 2026-11-30：共")
    body = lines[1:]
    assert body and all("秦淮区" not in ln for ln in body)
    assert any("玄武区" in ln for ln in body)
    r = run_cli("due", "--workspace", str(example_ws), "--unit", "nope")
    assert r.returncode != 0 and "不存在" in r.stderr


def test_scripted_items_by_hand(tmp_path: Path) -> None:
    ds = load(make_workspace(tmp_path / "ws"))
    items = due_items(ds, dt.date(2026, 10, 31))
    got = {(i.kind, i.person): (i.date, i.overdue) for i in items if i.person}
    # P03 released 09-25, never reported: due 10-05, overdue
    assert got[("报到", "P03")] == (dt.date(2026, 10, 5), True)
    # P14 leaves on 12-05: collection by 10-05, form D by 11-15
    assert got[("信息采集", "P14")] == (dt.date(2026, 10, 5), True)
    assert got[("对象信息表", "P14")] == (dt.date(2026, 11, 15), False)
    # in care without an October visit (due 10-31): P05 (所外就医); P16 reported on 10-22 and was
    # met then (registration and first talk), P17 was visited 10-25; relapsed/refusing persons owe none
    october = {i.person for i in items if i.kind == "回访" and i.date == dt.date(2026, 10, 31)}
    assert october == {"P05"}
    # ... and September (overdue, 09-30): persons in care then, without a September visit, still in
    # the register (not P06 whose care ended, P10 who died, P13 terminated, P15 whose care ended)
    september = {i.person for i in items if i.kind == "回访" and i.date == dt.date(2026, 9, 30)}
    assert all(i.overdue for i in items if i.kind == "回访" and i.date == dt.date(2026, 9, 30))
    assert september == {"P02", "P08", "P09", "P17"}
    # P01's care ends 2027-03-02: not yet within 30 days; P13 was terminated: nothing owed
    assert ("期满鉴定", "P01") not in got and not any(p == "P13" for (_, p) in got)
    # September's statistics were due on 10-08 and are not frozen: overdue for every unit
    stats = [i for i in items if i.kind == "月度统计" and i.overdue]
    assert {i.unit for i in stats} == {"t", "t-a", "s1", "s2", "i1", "i2"}
    assert all(i.date == dt.date(2026, 10, 8) for i in stats)
    # 3 months 拒访: P11 since 09-10 -> candidate on 12-10, listed from 30 days before
    later_items = due_items(ds, dt.date(2026, 11, 15))
    later = {(i.kind, i.person): i.date for i in later_items if i.person}
    assert later[("终止审批", "P11")] == dt.date(2026, 12, 10)
    # P16's month of 报到 (October) owes no visit, not even overdue in November; November does
    p16 = sorted((i.date, i.overdue) for i in later_items if i.kind == "回访" and i.person == "P16")
    assert p16 == [(dt.date(2026, 11, 30), False)]


def test_information_sheet_sent_with_a_notice_is_done(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))

    def sheets() -> dict[str, set[str]]:
        r = run_cli("due", "--workspace", str(ws), "--as-of", "2026-11-30", "--json")
        assert r.returncode == 0, r.stderr
        out: dict[str, set[str]] = {}
        for i in json.loads(r.stdout)["items"]:
            if i["kind"] in ("信息采集", "对象信息表"):
                out.setdefault(i["kind"], set()).add(i["person"])
        return out

    before = sheets()
    # 东湖 (dh) notifies 南京 (nj) in 2026-11 of its people released in 2026-12
    r = run_cli("notice", "issue", "--kind", "F", "--institution", "dh", "--station", "nj", "--month", "2026-11",
                "--date", "2026-11-20", "--format", "pdf", "-w", str(ws))
    assert r.returncode == 0, r.stderr
    [notice] = json.loads(run_cli("notice", "list", "--json", "-w", str(ws)).stdout)
    listed = set(notice["people_ids"])
    assert listed and listed <= {"NJ2026031", "NJ2026032", "NJ2026033"}  # 东湖, released in December
    after = sheets()
    assert before["对象信息表"] - after["对象信息表"] == listed
    assert before["信息采集"] - after["信息采集"] == listed
    # 南山 (ns) and January releases still owe theirs
    assert {"NJ2026034", "NJ2026035", "NJ2026036", "NJ2026037", "NJ2026038"} <= after["对象信息表"]

    # a voided notice sent nothing
    r = run_cli("notice", "void", notice["number"], "--kind", "F", "--reason", "地址有误", "-w", str(ws))
    assert r.returncode == 0, r.stderr
    assert sheets() == before


def test_a_stations_list_puts_other_units_duties_apart():
    """docgen due --unit <服务站>: the station's own duties; what a 戒毒所 owes for the station's
    persons (information sheets) comes after, under its own heading, and is not counted as the
    station's overdue work."""
    from conftest import EXAMPLES, run_cli

    r = run_cli("due", "-w", str(EXAMPLES), "--unit", "nj-xw-my", "--as-of", "2026-11-30")
    assert r.returncode == 0, r.stderr
    head, _, tail = r.stdout.partition("供参考：其他单位对本单位照管对象的应办事项")
    assert tail, r.stdout
    assert "强制隔离戒毒所" not in head and "强制隔离戒毒所" in tail
    own = [line for line in head.splitlines()[1:] if line.strip()]
    m = re.match(r"截至 2026-11-30：共 (\d+) 项应办事项，其中逾期 (\d+) 项。", head)
    assert m and int(m[1]) == len(own) and int(m[2]) == sum(" 逾期 " in line for line in own)


def test_the_list_says_how_a_reported_month_leaves_it(example_ws: Path) -> None:
    r = run_cli("due", "--workspace", str(example_ws), "--as-of", "2026-11-30")
    assert r.returncode == 0, r.stderr
    assert "月度统计" in r.stdout and "--freeze" in r.stdout
