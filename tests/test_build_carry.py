"""Builds told which persons' files changed (the watch service) keep the other persons'
documents of a person form without planning them again, unless they are not as the last
complete build left them."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import pdf_text
from docgen.build import build
from docgen.documents.base import Form, Target, person_label
from docgen.documents.layout import Layout, Para
from docgen.documents.registry import all_forms
from docgen.records.load import load_records
from test_build import PERSON, add_person, make_small_workspace
from test_build_early import _edit_phone

BROKEN = "NJ2026903"


class PickyForm(Form):
    """Prints a character no font has for one person: that person's document always fails."""

    code = "ZY"
    name = "测试"
    scope = "person"

    def build_layout(self) -> Layout:
        return Layout([Para("{{ y.name }} {{ y.mark }}")], doc_title=self.name)

    def targets(self, ds, period):
        for pid, p in sorted(ds.persons.items()):
            yield Target(form=self.code, key=pid, path=f"ZY/{pid}", person=pid, context=person_label(p),
                         view={"y": {"name": p.name, "mark": "\U000F0001" if pid == BROKEN else "好"}},
                         deps=list(ds.sources.get(pid, [])))


def _load(ws: Path):
    return load_records([ws / "records"], base=ws)


def test_unchanged_persons_kept_unless_touched(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(all_forms(), "ZY", PickyForm())
    ws = make_small_workspace(tmp_path / "ws")
    add_person(ws, "NJ2026902", "赵一鸣", 7)
    add_person(ws, BROKEN, "钱多多", 8)
    out = tmp_path / "out"
    forms = [all_forms()["D"], all_forms()["ZY"]]
    first = build(_load(ws), forms, out, None, {"pdf"}, workers=1)
    assert first.rendered == 5 and len(first.errors) == 1 and first.errors[0]["person"] == BROKEN

    # another person's D was deleted meanwhile; the saved person is PERSON
    d_other = out / "D" / "NJ2026902-赵一鸣.pdf"
    d_other.unlink()
    d_third = out / "D" / f"{BROKEN}-钱多多.pdf"
    third_mtime = d_third.stat().st_mtime_ns
    person_file = ws / "records" / "persons" / f"{PERSON}.yaml"
    _edit_phone(person_file, "02587650002")
    res = build(_load(ws), forms, out, None, {"pdf"}, workers=1, changed={str(person_file)}, clean=False)
    # PERSON's D (its ZY does not print the phone), and the deleted D made again; BROKEN's ZY
    # tried again and still failing
    assert res.rendered == 2, res
    assert sorted(res.changed) == ["D/NJ2026001-王堃.pdf", "D/NJ2026902-赵一鸣.pdf"]
    assert d_other.exists() and d_third.stat().st_mtime_ns == third_mtime
    assert "02587650002" in pdf_text(out / "D" / f"{PERSON}-王堃.pdf")
    assert [e["person"] for e in res.errors] == [BROKEN]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["documents"]) == 5 and [e["person"] for e in manifest["errors"]] == [BROKEN]

    # a full plan agrees that everything is in place
    again = build(_load(ws), forms, out, None, {"pdf"}, workers=1)
    assert again.rendered == 0 and again.skipped == 5 and len(again.errors) == 1
