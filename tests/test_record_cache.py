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
