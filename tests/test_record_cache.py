"""The watch service's record cache: an edit re-reads one file; files added, removed or
renamed are found (the folder is walked again)."""
from __future__ import annotations

from pathlib import Path

from docgen.watch import RecordCache
from test_build import PERSON, add_person, make_small_workspace


def test_cache_follows_edits_additions_and_removals(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    records = (ws / "records").resolve()
    cache = RecordCache(records, ws)
    ds = cache.load()
    assert set(ds.persons) == {PERSON}

    person = records / "persons" / f"{PERSON}.yaml"
    person.write_text(person.read_text(encoding="utf-8").replace("姓名: 王堃", "姓名: 王坤"), encoding="utf-8")
    ds = cache.load({person})
    assert ds.persons[PERSON].name == "王坤"

    new = add_person(ws, "NJ2026903", "周晓", 9).resolve()
    ds = cache.load({new})
    assert set(ds.persons) == {PERSON, "NJ2026903"}

    renamed = new.with_name("NJ2026903-周晓.yaml")
    new.rename(renamed)
    ds = cache.load({new, renamed})
    assert "NJ2026903" in ds.persons and renamed in ds.files and new not in ds.files

    renamed.unlink()
    ds = cache.load({renamed})
    assert set(ds.persons) == {PERSON} and renamed not in ds.files

    # an edit the watcher reported with the file list unchanged: same list, nothing walked
    ds = cache.load({person})
    assert ds.files == sorted(ds.files) and person in ds.files and not cache.files_changed


def _same_as_full_load(ds, records: Path, base: Path) -> None:
    """The cache gives what a fresh ``load_records`` of the folder gives."""
    from docgen.records.load import load_records

    full = load_records([records], base=base)
    assert set(ds.persons) == set(full.persons)
    for pid, person in full.persons.items():
        assert [(e.date, e.kind) for e in ds.persons[pid].events] == [(e.date, e.kind) for e in person.events]
        assert ds.persons[pid].model_dump() == person.model_dump()
    assert sorted(map(str, ds.diagnostics)) == sorted(map(str, full.diagnostics))
    assert ds.bad_files == full.bad_files


def test_unchanged_persons_are_reused_with_their_findings(tmp_path: Path):
    """Persons whose files did not change come from the previous load, with the problems their
    events have; an event file's change reaches its person; nothing is joined twice."""
    ws = make_small_workspace(tmp_path / "ws")
    records = (ws / "records").resolve()
    other = add_person(ws, "NJ2026903", "周晓", 9).resolve()
    events_dir = records / "events"
    events_dir.mkdir()
    event_file = events_dir / f"{PERSON}-2026-10-11.yaml"
    event_file.write_text(
        (Path(__file__).parents[1] / "examples" / "records" / "events" / "NJ2026001-2026-10-11.yaml")
        .read_text(encoding="utf-8"), encoding="utf-8")
    cache = RecordCache(records, ws)
    ds = cache.load()
    n_events = len(ds.persons[PERSON].events)
    own = len([e for e in ds.persons[PERSON].events if e.date.isoformat() in ("2026-10-14", "2026-10-22",
                                                                                   "2026-11-12", "2026-11-26")])
    assert own == 4 and not ds.errors
    _same_as_full_load(ds, records, ws)

    # a visit dated before release: reported on this load and on every later load
    text = event_file.read_text(encoding="utf-8")
    event_file.write_text(text.replace("日期: 2026-10-14", "日期: 2001-10-14"), encoding="utf-8")
    ds = cache.load({event_file})
    assert any("早于出所时间" in d.message for d in ds.errors)
    _same_as_full_load(ds, records, ws)

    other.write_text(other.read_text(encoding="utf-8").replace("姓名: 周晓", "姓名: 周骁"), encoding="utf-8")
    for _ in range(2):  # loads with PERSON's files unchanged
        ds = cache.load({other})
        assert ds.persons["NJ2026903"].name == "周骁"
        assert len(ds.persons[PERSON].events) == n_events  # never joined twice
        assert any("早于出所时间" in d.message for d in ds.errors)
        _same_as_full_load(ds, records, ws)

    event_file.write_text(text, encoding="utf-8")  # corrected
    ds = cache.load({event_file})
    assert not ds.errors
    _same_as_full_load(ds, records, ws)

    event_file.unlink()
    ds = cache.load({event_file})
    assert len(ds.persons[PERSON].events) == n_events - 4
    _same_as_full_load(ds, records, ws)
