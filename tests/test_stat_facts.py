"""The unit tables share per-person facts computed once per dataset (``model.facts``): in the
watch service every save loads a new dataset, so a record change reaches every unit table at
once, and undoing it brings the old figures back (nothing is served from a stale cache)."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from test_build import PERSON, add_person, make_small_workspace

from docgen.documents.base import Period
from docgen.documents.registry import parse_forms
from docgen.watch import Change, WatchService
from docgen.workspace import Workspace

OTHER = "NJ2026901"
STATION = "nj-xw-my"  # the 服务站 of both persons
PARENT = "nj-xw"  # its 工作站

# columns of a data row of form P (XLSX): 单位 A B 解戒人员 所外就医 C 照管期满 死亡 D E 失联 …
P_COL = {"A": 1, "D2": 7, "D": 8, "E": 9, "F1": 10, "F": 13, "G": 14}


def _rows(path: Path) -> list[tuple]:
    sheet = openpyxl.load_workbook(path).active
    return [row for row in sheet.iter_rows(values_only=True) if any(v not in (None, "") for v in row)]


def _table(out: Path, form: str, unit: str) -> Path:
    """The XLSX of ``form`` for ``unit`` in November, as the manifest lists it."""
    documents = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["documents"]
    [path] = [out / d["files"]["xlsx"] for d in documents
              if d["form"] == form and d.get("unit") == unit and d.get("period") == "2026-11"]
    return path


def p_figures(out: Path, unit: str, row_unit: str) -> dict[str, int]:
    """The figures of the row of ``row_unit`` (its name) in form P of ``unit``."""
    rows = _rows(_table(out, "P", unit))
    [row] = [r for r in rows if isinstance(r[1], int) and row_unit in str(r[0])]
    return {k: row[i] for k, i in P_COL.items()}


def o_states(out: Path, unit: str) -> dict[str, str]:
    """{姓名: 照管状况} of the roster O of ``unit``."""
    return {r[1]: r[13] for r in _rows(_table(out, "O", unit)) if isinstance(r[0], int)}


def test_a_saved_record_reaches_every_unit_table_and_undoing_it_restores_them(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    other = add_person(ws, OTHER, "赵大成", 1)
    original = other.read_text(encoding="utf-8")
    out = ws / "output"
    service = WatchService(Workspace.locate(ws), out, Period.parse("2026-11"), {"xlsx"}, parse_forms("P,O"),
                           workers=1)

    def save(text: str) -> None:
        other.write_text(text, encoding="utf-8")
        result = service.rebuild(Change(records={other}))
        assert result is not None and not result.errors, result and result.errors

    assert service.rebuild(None) is not None
    # both persons reported in July and are in care at the end of November
    service_row = "梅园新村"
    before = p_figures(out, STATION, service_row)
    assert before == {"A": 2, "D2": 0, "D": 0, "E": 2, "F1": 0, "F": 0, "G": 2}
    assert p_figures(out, PARENT, service_row) == before  # the 工作站's row of that 服务站
    assert o_states(out, STATION) == {"王堃": "在册照管", "赵大成": "在册照管"}

    # 赵大成 lost contact on 20 November: still in E, now in F (失联), no longer actually cared for
    save(original.rstrip("\n") + "\n  - {类型: 失联, 日期: 2026-11-20}\n")
    lost = {"A": 2, "D2": 0, "D": 0, "E": 2, "F1": 1, "F": 1, "G": 1}
    assert p_figures(out, STATION, service_row) == lost
    assert p_figures(out, PARENT, service_row) == lost
    assert o_states(out, STATION) == {"王堃": "在册照管", "赵大成": "失联"}
    assert o_states(out, PARENT) == {"王堃": "在册照管", "赵大成": "失联"}

    # … and then died on 25 November: out of the register, a decrease under D 死亡
    save(original.rstrip("\n") + "\n  - {类型: 失联, 日期: 2026-11-20}\n  - {类型: 死亡, 日期: 2026-11-25}\n")
    dead = {"A": 2, "D2": 1, "D": 1, "E": 1, "F1": 0, "F": 0, "G": 1}
    assert p_figures(out, STATION, service_row) == dead
    assert p_figures(out, PARENT, service_row) == dead
    assert o_states(out, STATION) == {"王堃": "在册照管"}

    # the entries were a mistake: the file as it was gives the first figures again
    save(original)
    assert p_figures(out, STATION, service_row) == before
    assert p_figures(out, PARENT, service_row) == before
    assert o_states(out, STATION) == {"王堃": "在册照管", "赵大成": "在册照管"}
    assert PERSON in {p.stem for p in (ws / "records" / "persons").glob("*.yaml")}


def test_a_dataset_is_freed_as_soon_as_it_is_dropped(tmp_path: Path):
    """The facts kept on a dataset do not hold it in a reference cycle: the watch service drops
    the previous dataset at every save and runs a full garbage collection only when saves pause,
    so a cycle would keep every replaced dataset (and its facts) in memory until then."""
    import gc
    import weakref

    from docgen.documents.registry import all_forms
    from docgen.records.load import load_records

    ws = make_small_workspace(tmp_path / "ws")
    add_person(ws, OTHER, "赵大成", 1)
    ds = load_records([ws / "records"], base=ws)
    for code in ("G", "L", "M", "N", "O", "P", "Q", "S"):  # every kind of unit table uses the facts
        assert list(all_forms()[code].targets(ds, Period.parse("2026-11")))
    gone = weakref.ref(ds)
    enabled = gc.isenabled()
    gc.disable()  # freed by reference counting alone, not by a collection
    try:
        del ds
        assert gone() is None
    finally:
        if enabled:
            gc.enable()
