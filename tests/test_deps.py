"""``Target.deps`` is complete: a document lists every record file its view is read from.

Checked by perturbation on the example workspace: a record is changed (its names, contact
data, codes …) and every document whose deps do not name that record's files must keep
its view; the documents whose view changed must all name the file. A real file edit (a
服务站 renamed, an institution renamed) reaches the person forms, H and the tables; a broken
station file holds the documents made from it (``docgen build``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest

from docgen.documents.base import Period
from docgen.documents.registry import all_forms
from docgen.records.load import Dataset, load_records
from docgen.workspace import Workspace

from conftest import EXAMPLES, run_cli

PERIODS = ("2026-11", "2026-09")  # R is quarterly: 2026-09 gives its third quarter


def _copy_examples(dst: Path) -> Path:
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


def _load(root: Path) -> Dataset:
    ws = Workspace.locate(root)
    ds = load_records([ws.records], base=ws.root)
    ds.workspace = ws
    return ds


def _plain(obj):
    return getattr(obj, "code", None) or str(obj)  # F/K enclosures carry the enclosed form


def all_targets(ds: Dataset) -> dict[tuple, tuple[str, frozenset[str]]]:
    """(form, key, period) -> (view as JSON, deps as strings) of every form and period."""
    out = {}
    for code, form in all_forms().items():
        for per in (PERIODS if form.periodic else (None,)):
            for t in form.targets(ds, Period.parse(per) if per else None):
                view = json.dumps(t.view, sort_keys=True, ensure_ascii=False, default=_plain)
                out[(code, t.key, t.period)] = (view, frozenset(str(p) for p in t.deps))
    return out


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example workspace with one F and one K notice in its register."""
    from docgen.registry import notices

    root = _copy_examples(tmp_path_factory.mktemp("deps") / "ws")
    ds = _load(root)
    day = dt.date(2026, 11, 20)
    for kind, inst in (("F", "dh"), ("K", "ns")):
        notices.issue(ds, ds.workspace.data, ds.workspace.output, kind, inst, "nj", "2026-11", date=day,
                      formats={"pdf"}, today=day)
    assert not ds.errors
    return ds, all_targets(ds)


# --------------------------------------------------------------------------- perturbations


def _perturb_station(st):
    return st.model_copy(update={"name": f"改名{st.id}后续照管站", "contact": "改联系人", "phone": "02500000000",
                                 "address": "改地址1号", "head": "改站长", "road_address": None})


def _perturb_institution(inst):
    return inst.model_copy(update={"name": f"改名{inst.id}戒毒所", "code": "改", "contact": "改联系人",
                                   "phone": "02500000000", "address": "改地址1号", "head": "改所长"})


def _perturb_person(p):
    events = [e.model_copy(update={"thoughts": "改思想", "need": "改需求" if e.need else None}) for e in p.events]
    return p.model_copy(update={"name": p.name + "改", "phone": "13900000000", "residence": "改住址",
                                "officer": "改责任人", "former_name": "改曾用名", "advice": "改建议",
                                "events": events})


def perturbed(ds: Dataset, rid: str) -> Dataset:
    """A copy of ``ds`` in which the record ``rid`` (its texts) is changed."""
    new = dataclasses.replace(ds, persons=dict(ds.persons), stations=dict(ds.stations),
                              institutions=dict(ds.institutions), logs=dict(ds.logs))
    if rid in ds.stations:
        new.stations[rid] = _perturb_station(ds.stations[rid])
    elif rid in ds.institutions:
        new.institutions[rid] = _perturb_institution(ds.institutions[rid])
    elif rid in ds.persons:
        new.persons[rid] = _perturb_person(ds.persons[rid])
    else:
        sid = rid.removeprefix("log:")
        new.logs[sid] = [e.model_copy(update={"content": e.content + "改", "notes": "改备注"}) for e in ds.logs[sid]]
    return new


def _sample_persons(ds: Dataset, base: dict) -> list[str]:
    """One person of each person form (the first target), and the owner of an event file."""
    picked: list[str] = []
    for code in ("D", "E", "H", "I", "J", "V", "U", "X2", "X3", "X4"):
        key = min(key for (c, key, _) in base if c == code)
        pid = max((p for p in ds.persons if key.startswith(p)), key=len)  # keys are "<pid>…"
        if pid not in picked:
            picked.append(pid)
    for pid, files in ds.sources.items():
        if pid in ds.persons and len(files) > 1 and pid not in picked:
            picked.append(pid)
            break
    cultivated = sorted(pid for pid, p in ds.persons.items() if p.cultivation and p.cultivation.unit in ds.stations)
    picked += [pid for pid in cultivated[:1] if pid not in picked]
    return picked


def changed(base: dict, new: dict) -> set[tuple]:
    assert set(new) == set(base)  # a change of texts neither adds nor removes documents
    return {k for k in base if new[k][0] != base[k][0]}


def test_deps_name_existing_files_sorted(example):
    ds, base = example
    files = {str(f) for f in ds.files}
    codes = {code for code, _, _ in base}
    assert {"D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W",
            "X1", "X2", "X3", "X4"} <= codes
    for code, form in all_forms().items():
        for per in (PERIODS if form.periodic else (None,)):
            for t in form.targets(ds, Period.parse(per) if per else None):
                deps = [str(p) for p in t.deps]
                assert deps, (code, t.key)  # empty would mean "every file"
                assert deps == sorted(set(deps)), (code, t.key)
                assert set(deps) <= files, (code, t.key)


def test_changing_a_record_changes_only_documents_that_name_its_files(example):
    ds, base = example
    records = [*sorted(ds.stations), *sorted(ds.institutions), *sorted(f"log:{s}" for s in ds.logs),
               *_sample_persons(ds, base)]
    assert len(records) >= 15
    for rid in records:
        files = {str(f) for f in ds.sources[rid]}
        assert files, rid
        diff = changed(base, all_targets(perturbed(ds, rid)))
        assert diff, f"{rid}: the perturbation changed no document"
        missing = sorted(k for k in diff if not base[k][1] & files)
        assert not missing, f"{rid} ({sorted(files)}) changes these documents, whose deps do not name it: {missing}"


def test_parent_stations_are_dependencies(example):
    """E prints the 指导站 (甲方单位), X3 the 工作站 and 指导站 above the person's 服务站, and a
    指导站's tables have a row per 工作站."""
    ds, base = example
    guide = {str(f) for f in ds.sources["nj"]}
    diff = changed(base, all_targets(perturbed(ds, "nj")))
    for code in ("E", "X3"):  # not F: an issued notice stays as it was sent (test_notice_frozen)
        hits = [k for k in diff if k[0] == code]
        assert hits and all(base[k][1] >= guide for k in hits), code
    x3_stations = {ds.persons[k[1]].station for k in base if k[0] == "X3"}
    work = next(sid for sid, st in sorted(ds.stations.items())
                if st.kind == "工作站" and x3_stations & set(ds.service_stations_under(sid)))
    files = {str(f) for f in ds.sources[work]}
    diff = changed(base, all_targets(perturbed(ds, work)))
    hits = [k for k in diff if k[0] == "X3"]
    assert hits and all(base[k][1] >= files for k in hits)
    assert ("P", f"{ds.stations[work].parent}@2026-11", "2026-11") in diff


def test_frozen_month_keeps_a_moved_person_in_the_old_station_tables(tmp_path):
    """A frozen month-end snapshot still places a person at the station they left; that
    station's tables of the next month count them (A, D …), so their files stay deps."""
    from docgen.model.stats import Statistics

    ds = _load(_copy_examples(tmp_path / "ws"))
    october = Period.parse("2026-10")
    Statistics(ds).freeze(october, dt.date(2026, 11, 5))
    snap = Statistics(ds).snapshot(october)
    pid, old = next((pid, m["st"]) for pid, m in sorted(snap.items()) if m["p"])
    new = next(sid for sid, st in sorted(ds.stations.items()) if st.kind == "服务站" and sid != old)
    moved = dataclasses.replace(ds, persons={**ds.persons, pid: ds.persons[pid].model_copy(update={"station": new})})
    files = set(ds.sources[pid])
    for code in ("P", "S"):
        tables = {t.unit: t for t in all_forms()[code].targets(moved, Period.parse("2026-11"))}
        assert files <= set(tables[old].deps), code  # counted in 上月末 / 本月减少 there
        assert files <= set(tables[new].deps), code


# --------------------------------------------------------------------------- real file edits


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_renamed_service_station_reaches_person_forms_and_tables(tmp_path):
    root = _copy_examples(tmp_path / "ws")
    before = all_targets(load_records([root / "records"]))
    station = root / "records" / "stations" / "nj-xw-my.yaml"
    _edit(station, "乡（镇、街道）: 梅园新村街道", "乡（镇、街道）: 梅园新区街道")
    ds = load_records([root / "records"])
    assert not ds.errors
    after = all_targets(ds)
    diff = changed(before, after)
    assert all(str(station) in before[k][1] for k in diff)
    people = {pid for pid, p in ds.persons.items() if p.station == "nj-xw-my"}
    assert people
    for code in ("I", "U", "E", "X4"):  # forms that print the person's 服务站
        mine = {k for k in before if k[0] == code and k[1].split("/")[0] in people}
        assert mine and mine <= diff, code
        for k in mine:
            assert "梅园新区街道后续照管服务站" in after[k][0] or code == "E"
    assert ("O", "nj-xw-my", "2026-11") in diff and ("X1", "nj-xw-my", None) in diff
    # the same person's D prints no station: unchanged
    assert not any(k[0] == "D" for k in diff)


def test_institution_change_reaches_h_and_institution_tables(tmp_path):
    root = _copy_examples(tmp_path / "ws")
    before = all_targets(load_records([root / "records"]))
    inst = root / "records" / "institutions" / "dh.yaml"
    _edit(inst, "名称: 江苏省东湖强制隔离戒毒所", "名称: 江苏省东河强制隔离戒毒所")
    _edit(inst, "代字: 东湖", "代字: 东河")
    ds = load_records([root / "records"])
    assert not ds.errors
    after = all_targets(ds)
    diff = changed(before, after)
    assert all(str(inst) in before[k][1] for k in diff)
    h = {k for k in before if k[0] == "H" and ds.persons[k[1]].detention.institution == "dh"}
    assert h and h <= diff
    for k in h:
        assert json.loads(after[k][0])["h"]["code"] == "东河"
    for code in ("L", "N"):
        for unit in ("dh", "province"):
            k = (code, f"{unit}@2026-11", "2026-11")
            assert k in diff and "江苏省东河强制隔离戒毒所" in after[k][0]
    # the other institution's own tables do not print dh
    assert ("L", "ns@2026-11", "2026-11") not in diff and ("N", "ns@2026-11", "2026-11") not in diff


# --------------------------------------------------------------------------- held documents


def _persons_of_station(records: Path, sid: str) -> set[str]:
    out = set()
    for f in (records / "persons").glob("*.yaml"):
        text = f.read_text(encoding="utf-8")
        if re.search(rf"^服务站: {re.escape(sid)}\s*$", text, re.M):
            out.add(re.search(r"^编号: (\S+)", text, re.M).group(1))
    return out


def test_broken_station_file_holds_the_documents_made_from_it(workspace):
    out = workspace / "output"
    args = ("build", "-w", str(workspace), "--format", "pdf", "--month", "2026-11", "--forms", "U,X4,O,T",
            "--out", str(out))
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    people = _persons_of_station(workspace / "records", "nj-xw-my")
    assert len(people) >= 5
    # documents made from nj-xw-my.yaml: the covers and report records of its persons, the rosters
    # of the station and the two above it (O), its work log (T)
    held = [e for e in manifest["documents"]
            if (e["form"] in ("U", "X4") and e["person"] in people)
            or (e["form"] == "O" and e["key"] in ("nj-xw-my", "nj-xw", "nj"))
            or (e["form"] == "T" and e["key"].startswith("nj-xw-my/"))]
    assert {e["form"] for e in held} == {"U", "X4", "O", "T"}
    cover = next(e for e in held if e["form"] == "U")
    from conftest import pdf_text

    assert "梅园新村街道后续照管服务站" in pdf_text(out / cover["files"]["pdf"])
    before = {e["files"]["pdf"]: (out / e["files"]["pdf"]).read_bytes() for e in held}

    station = workspace / "records" / "stations" / "nj-xw-my.yaml"
    good = station.read_text(encoding="utf-8")
    station.write_text(good.replace("上级: nj-xw", "上级: [nj-xw"), encoding="utf-8")  # a YAML syntax error
    second = run_cli(*args)
    assert second.returncode == 1
    assert "nj-xw-my.yaml" in second.stderr
    assert f"{len(held)} 份因记录文件有错保留原样" in second.stdout + second.stderr
    after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    entries = {e["files"]["pdf"]: e for e in after["documents"]}
    old = {e["files"]["pdf"]: e for e in held}
    for rel, data in before.items():
        assert (out / rel).read_bytes() == data, rel
        assert entries[rel]["sha256"] == old[rel]["sha256"], rel
    # another station's persons are not held: their documents are simply up to date
    other = [e for e in manifest["documents"] if e["form"] == "U" and e["person"] not in people]
    assert other and all(entries[e["files"]["pdf"]]["sha256"] == e["sha256"] for e in other)

    station.write_text(good, encoding="utf-8")  # fixed: nothing to render, the held outputs are current
    third = run_cli(*args)
    assert third.returncode == 0, third.stderr
    assert "本次生成 0 份" in third.stdout + third.stderr
