"""Signs follow their station record: ``refresh_signs`` (used by the watch service after each
build) makes again exactly the signs whose station changed, and the watch service does it."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, run_cli
from docgen.records.load import load_records
from docgen.signage import refresh_signs
from docgen.workspace import Workspace

DATE = "2026-11-30"
STATION = "nj-xw-my"


def _files(out: Path) -> dict[str, tuple[int, str]]:
    return {str(p.relative_to(out)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(out.rglob("*")) if p.is_file() and p.parent != out}


def _signs(out: Path) -> dict[tuple[str, str], dict]:
    docs = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    return {(e["form"], e["unit"]): e for e in docs if e["form"] in ("B1", "B2", "B3", "C1")}


def _load(ws: Path):
    w = Workspace.locate(ws)
    ds = load_records([w.records], base=w.root)
    ds.workspace = w
    return ds, w


def _rename(station: Path, old: str, new: str) -> None:
    text = station.read_text(encoding="utf-8")
    assert old in text
    station.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path]:
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    out = tmp_path / "out"
    done = run_cli("signage", "-w", str(ws), "--out", str(out), "--station", STATION, "--station", "nj",
                   "--date", DATE)
    assert done.returncode == 0, done.stderr
    return ws, out


def test_only_the_changed_station_signs_are_made_again(made):
    ws, out = made
    ds, w = _load(ws)
    before = _files(out)
    assert refresh_signs(ds, out, w) == ([], [])  # nothing changed: nothing written
    assert _files(out) == before
    assert _signs(out)[("B3", STATION)]["text"].startswith("玄武区梅园新村街道")

    _rename(ws / "records" / "stations" / f"{STATION}.yaml", "梅园新村街道", "梅园街道")
    ds, w = _load(ws)
    written, problems = refresh_signs(ds, out, w)
    assert problems == []
    assert sorted((e["form"], e["unit"]) for e in written) == [("B3", STATION), ("C1", STATION)]
    signs = _signs(out)
    assert signs[("B3", STATION)]["text"].startswith("玄武区梅园街道")
    after = _files(out)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed and all(f"/{STATION}-" in f"/{k}" for k in changed), changed
    assert all(after[k] == v for k, v in before.items() if f"/nj-铜牌" in f"/{k}" or "/nj-插牌" in f"/{k}")
    # and once made, nothing to do again
    assert refresh_signs(ds, out, w) == ([], [])


def test_a_name_that_no_longer_fits_keeps_the_old_signs(made):
    ws, out = made
    before = _files(out)
    _rename(ws / "records" / "stations" / f"{STATION}.yaml", "梅园新村街道", "梅园新村东西南北中大街道")
    ds, w = _load(ws)
    written, problems = refresh_signs(ds, out, w)
    assert written == [] and len(problems) == 1
    assert STATION in problems[0] and "超出" in problems[0]
    assert _files(out) == before


def test_a_broken_station_file_keeps_its_signs(made):
    ws, out = made
    before = _files(out)
    station = ws / "records" / "stations" / f"{STATION}.yaml"
    station.write_text(station.read_text(encoding="utf-8") + "乡（镇、街道）: [\n", encoding="utf-8")
    ds, w = _load(ws)
    assert STATION not in ds.stations
    assert refresh_signs(ds, out, w) == ([], [])
    assert _files(out) == before


def test_watch_service_remakes_the_signs_of_an_edited_station(made):
    from test_watch import Watcher

    ws, out = made
    shutil.rmtree(ws / "records" / "persons")  # the stations alone: a quick start
    shutil.rmtree(ws / "records" / "events", ignore_errors=True)
    w = Watcher(ws, "--out", str(out))
    try:
        w.wait_log("就绪")
        assert "标牌" not in w.log  # nothing changed since the signs were made
        _rename(ws / "records" / "stations" / f"{STATION}.yaml", "梅园新村街道", "梅园街道")
        w.wait_log(rf"已更新 2 块标牌：B3 {STATION}、C1 {STATION}")
        assert _signs(out)[("C1", STATION)]["text"].startswith("玄武区梅园街道")
    finally:
        assert w.stop() == 0


def test_a_station_that_changed_kind_gets_the_plate_of_its_new_kind(made):
    ws, out = made
    old_plate = out / _signs(out)[("B3", STATION)]["files"]["pdf"]
    assert old_plate.exists()
    station = ws / "records" / "stations" / f"{STATION}.yaml"
    _rename(station, "类型: 服务站", "类型: 工作站")
    _rename(station, "上级: nj-xw", "上级: nj")
    ds, w = _load(ws)
    assert ds.stations[STATION].kind == "工作站"
    written, problems = refresh_signs(ds, out, w)
    assert problems == [] and {(e["form"], e["unit"]) for e in written} == {("B2", STATION), ("C1", STATION)}
    signs = _signs(out)
    assert ("B3", STATION) not in signs and ("B2", STATION) in signs
    assert not old_plate.exists()
    assert (out / signs[("B2", STATION)]["files"]["pdf"]).exists()
