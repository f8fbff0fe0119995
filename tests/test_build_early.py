"""The changed persons' documents are rendered first (watch latency), and a document whose
view turns out to depend on other persons is still made from the full data."""
from __future__ import annotations

from pathlib import Path

from conftest import pdf_text
from docgen.build import build, make_pool
from docgen.documents.base import Form, Target, person_label
from docgen.documents.layout import Layout, Para
from docgen.documents.registry import all_forms
from docgen.records.load import load_records
from test_build import PERSON, add_person, make_small_workspace


class CrowdForm(Form):
    """A person form that (unlike the forms of the standard) prints how many persons there are."""

    code = "ZZ"
    name = "人数"
    scope = "person"

    def build_layout(self) -> Layout:
        return Layout([Para("{{ z.name }}：共{{ z.n }}人，联系方式{{ z.phone }}")], doc_title=self.name)

    def targets(self, ds, period):
        for pid, p in sorted(ds.persons.items()):
            yield Target(form=self.code, key=pid, path=f"ZZ/{pid}", person=pid, context=person_label(p),
                         view={"z": {"name": p.name, "n": len(ds.persons), "phone": p.phone or ""}},
                         # the view counts every person: it is made from every person's files
                         deps=[f for q in sorted(ds.persons) for f in ds.sources.get(q, [])])


def _load(ws: Path):
    return load_records([ws / "records"], base=ws)


def _edit_phone(path: Path, phone: str) -> None:
    text = path.read_text(encoding="utf-8")
    lines = [f"联系方式: '{phone}'" if line.startswith("联系方式:") else line for line in text.splitlines()]
    assert lines != text.splitlines(), "the example person has a 联系方式 line"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_changed_person_first_and_views_from_full_data(tmp_path: Path, monkeypatch):
    # the render workers find forms in the registry (forked: they see this entry too)
    monkeypatch.setitem(all_forms(), "ZZ", CrowdForm())
    ws = make_small_workspace(tmp_path / "ws")
    other = add_person(ws, "NJ2026902", "赵一鸣", 7)
    out = tmp_path / "out"
    forms = [all_forms()["D"], all_forms()["ZZ"]]
    first = build(_load(ws), forms, out, None, {"pdf"}, workers=1)
    assert first.rendered == 4 and not first.errors
    d_other = out / "D" / f"NJ2026902-赵一鸣.pdf"
    other_stat = d_other.stat().st_mtime_ns

    person_file = ws / "records" / "persons" / f"{PERSON}.yaml"
    _edit_phone(person_file, "02587650001")
    pool = make_pool(2)
    try:
        result = build(_load(ws), forms, out, None, {"pdf"}, workers=2, pool=pool,
                       changed={str(person_file)}, clean=False)
    finally:
        pool.shutdown(wait=True)
    assert not result.errors
    # the changed person's two documents, nothing else
    assert result.rendered == 2, result
    assert d_other.stat().st_mtime_ns == other_stat
    assert "02587650001" in pdf_text(out / "ZZ" / f"{PERSON}.pdf")
    # made from the whole data (2 persons), not from the one-person early pass
    assert "共2人" in pdf_text(out / "ZZ" / f"{PERSON}.pdf")
    # the next build finds everything up to date: the state names what is on disk
    again = build(_load(ws), forms, out, None, {"pdf"}, workers=1)
    assert again.rendered == 0 and again.skipped == 4
    assert other.exists()
