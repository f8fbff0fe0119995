"""docgen print: the documents to print in one PDF, only what is new or changed, checked
against the manifest, in filing order."""
from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pypdf
import pytest

from conftest import pdf_text, run_cli
from test_build import PERSON, add_person, make_small_workspace

OTHER = "NJ2026901"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    ws = make_small_workspace(tmp_path_factory.mktemp("print") / "ws")
    add_person(ws, OTHER, "赵大成", 1)
    r = run_cli("build", "-w", str(ws), "--forms", "D,P,U", "--month", "2026-11", "--format", "pdf", "-q")
    assert r.returncode == 0, r.stderr
    return ws


@pytest.fixture
def ws(built: Path, tmp_path: Path) -> Path:
    import shutil

    dst = tmp_path / "ws"
    shutil.copytree(built, dst, symlinks=True)
    return dst


def docgen_print(ws: Path, *args: str):
    return run_cli("print", "-w", str(ws), *args)


def bundle_of(r) -> Path:
    m = re.search(r"已生成打印包 (\S+\.pdf)：(\d+) 份文书，(\d+) 页", r.stdout)
    assert m, r.stdout + r.stderr
    return Path(m.group(1))


def outline(pdf: Path) -> list:
    """The bookmark tree: [(title, first page, [children…]), …]."""
    reader = pypdf.PdfReader(pdf)

    def tree(items) -> list:
        out = []
        for item in items:
            if isinstance(item, list):
                out[-1][2].extend(tree(item))
            else:
                out.append((item.title, reader.get_destination_page_number(item), []))
        return out

    return tree(reader.outline)


def bookmarks(pdf: Path) -> list[tuple[str, int]]:
    """The documents' bookmarks (the leaves of the tree), in order."""
    def leaves(nodes):
        for title, page, children in nodes:
            if children:
                yield from leaves(children)
            else:  # (a unit or person bookmark always has documents under it)
                yield title, page
    return list(leaves(outline(pdf)))


def manifest(ws: Path) -> dict:
    return json.loads((ws / "output" / "manifest.json").read_text(encoding="utf-8"))


def stations(ws: Path) -> dict[str, str | None]:
    """Station id -> parent, read from the records (the tree the bundle follows)."""
    import yaml

    out = {}
    for p in (ws / "records" / "stations").glob("*.yaml"):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        out[str(data["编号"])] = data.get("上级")
    return out


def test_a_bundle_holds_each_new_document_once_then_only_what_changed(ws: Path):
    r = docgen_print(ws, "--forms", "D")
    assert r.returncode == 0, r.stderr
    pdf = bundle_of(r)
    assert pdf.parent == ws / "output" / "打印"
    assert stat.S_IMODE(pdf.stat().st_mode) == 0o600 and stat.S_IMODE(pdf.parent.stat().st_mode) == 0o700
    marks = bookmarks(pdf)
    assert [t for t, _ in marks] == [f"D 对象信息表：{PERSON}-王堃", f"D 对象信息表：{OTHER}-赵大成"]
    assert [p for _, p in marks] == [0, 1]  # each document's first page
    text = pdf_text(pdf)
    assert "王堃" in text and "赵大成" in text and len(pypdf.PdfReader(pdf).pages) == 2

    again = docgen_print(ws, "--forms", "D")
    assert again.returncode == 0 and "没有要打印的文书" in again.stdout and "2 份以前打过包" in again.stdout
    assert list((ws / "output" / "打印").iterdir()) == [pdf]

    # the other person's record changes: the next bundle has that document only, as it is now
    person = ws / "records" / "persons" / f"{OTHER}.yaml"
    person.write_text(re.sub(r"联系方式: \S+", "联系方式: 025-84560099", person.read_text(encoding="utf-8"), count=1),
                      encoding="utf-8")
    assert run_cli("build", "-w", str(ws), "--forms", "D", "--format", "pdf", "-q").returncode == 0
    changed = bundle_of(docgen_print(ws, "--forms", "D"))
    assert [t for t, _ in bookmarks(changed)] == [f"D 对象信息表：{OTHER}-赵大成"]
    assert "025-84560099" in pdf_text(changed)


def test_the_unit_takes_the_stations_under_it_tables_before_persons(ws: Path):
    tree = stations(ws)
    entries = [e for e in manifest(ws)["documents"] if e["form"] == "P"]
    import yaml

    person = yaml.safe_load((ws / "records" / "persons" / f"{PERSON}.yaml").read_text(encoding="utf-8"))
    leaf = person["服务站"]
    assert leaf in tree and leaf not in tree.values()  # a station with none under it
    parent = tree[leaf]
    under_parent = {leaf, parent} | {s for s, up in tree.items() if up == parent}
    r = docgen_print(ws, "--unit", parent, "--forms", "D,P", "--list")
    assert r.returncode == 0, r.stderr
    listed = [line for line in r.stdout.splitlines() if line.startswith(("D ", "P "))]
    expected_p = sorted(e["unit"] for e in entries if e["unit"] in under_parent)
    assert len([x for x in listed if x.startswith("P ")]) == len(expected_p) >= 2
    assert listed[0].startswith("P ") and parent in listed[0]  # the unit itself first
    # the persons of the leaf station come after the leaf's own table
    assert listed.index(next(x for x in listed if x.startswith("P ") and leaf in x)) \
        < listed.index(next(x for x in listed if PERSON in x))
    assert not (ws / "output" / "打印").exists()  # --list makes nothing
    only_leaf = docgen_print(ws, "--unit", leaf, "--forms", "P", "--list")
    assert [x for x in only_leaf.stdout.splitlines() if x.startswith("P ")] == \
        [x for x in listed if x.startswith("P ") and f" {leaf}-" in x]


def test_duplex_all_and_mark_only(ws: Path):
    assert "已把 2 份文书记为已打包" in docgen_print(ws, "--forms", "D", "--mark-only").stdout
    assert "没有要打印的文书" in docgen_print(ws, "--forms", "D").stdout
    pdf = bundle_of(docgen_print(ws, "--forms", "D", "--all", "--duplex"))
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 4  # two one-page documents, each on a sheet of its own
    assert [p for _, p in bookmarks(pdf)] == [0, 2]
    assert reader.pages[1].extract_text().strip() == "" and reader.pages[3].extract_text().strip() == ""


def test_a_file_changed_by_hand_is_left_out_and_said(ws: Path):
    [entry] = [e for e in manifest(ws)["documents"] if e["form"] == "D" and e["key"] == PERSON]
    path = ws / "output" / entry["files"]["pdf"]
    path.write_bytes(path.read_bytes() + b"\n% edited\n")
    r = docgen_print(ws, "--forms", "D")
    assert r.returncode == 1
    assert "未收入" in r.stderr and "文件与清单不符" in r.stderr and entry["files"]["pdf"] in r.stderr
    pdf = bundle_of(r)
    assert [t for t, _ in bookmarks(pdf)] == [f"D 对象信息表：{OTHER}-赵大成"]
    # not marked: once rebuilt it is in the next bundle
    assert run_cli("build", "-w", str(ws), "--forms", "D", "--format", "pdf", "-q").returncode == 0
    assert [t for t, _ in bookmarks(bundle_of(docgen_print(ws, "--forms", "D")))] == [f"D 对象信息表：{PERSON}-王堃"]


@pytest.mark.parametrize("args, message", [
    (("--unit", "no-such"), "没有编号为“no-such”的站点或戒毒所"),
    (("--person", "NJ1999999"), "没有编号为“NJ1999999”的照管对象"),
    (("--forms", "ZZ"), "ZZ"),
    (("--out", "bundle.txt"), "应以 .pdf 结尾"),
])
def test_bad_requests_say_what_is_wrong(ws: Path, args, message):
    r = docgen_print(ws, *args)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_an_output_folder_without_documents_is_explained(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    r = docgen_print(ws)
    assert r.returncode != 0 and "请先运行 docgen build" in r.stderr and "Traceback" not in r.stderr


def test_a_large_selection_is_split_between_persons(ws: Path, monkeypatch):
    from docgen import printing
    from docgen.records.load import load_records

    monkeypatch.setattr(printing, "PART_DOCUMENTS", 2)
    ds = load_records([ws / "records"], base=ws)
    bundle = printing.make_bundle(ws / "output", ds, forms={"D", "P"})
    # the unit tables of each station, then each person's D: never more than two in a file,
    # except that one unit's or one person's documents stay together
    per_file = [[t for t, _ in bookmarks(p)] for p in bundle.paths]
    assert sum(len(f) for f in per_file) == bundle.documents == len(
        [e for e in manifest(ws)["documents"] if e["form"] in ("D", "P")])
    assert all(len(f) <= 2 for f in per_file)
    assert [p.name.rsplit("-", 2)[1:] for p in bundle.paths] == \
        [[str(n), f"{len(per_file)}.pdf"] for n in range(1, len(per_file) + 1)]
    persons_d = [t for f in per_file for t in f if t.startswith("D ")]
    assert persons_d == [f"D 对象信息表：{PERSON}-王堃", f"D 对象信息表：{OTHER}-赵大成"]
    # each file was registered: nothing is left for the next bundle
    assert printing.make_bundle(ws / "output", ds, forms={"D", "P"}).paths == []


def test_parts_keep_a_persons_documents_together():
    from docgen.printing import Item, parts

    def items(*groups):
        out = []
        for n, size in enumerate(groups):
            out += [Item({"unit": "u", "person": f"p{n}", "files": {"pdf": f"D/{n}-{k}.pdf"}}, Path("x"))
                    for k in range(size)]
        return out

    assert [len(p) for p in parts(items(3, 2, 4), limit=5)] == [5, 4]
    assert [len(p) for p in parts(items(7, 1), limit=5)] == [7, 1]
    assert [len(p) for p in parts(items(1, 1, 1), limit=2)] == [2, 1]


def test_filing_order_and_bookmarks_unit_person_document(ws: Path):
    """A station's bundle: its own table first, then each person with the archive cover U
    before the 对象信息表 D (the order of the personal archive volume), bookmarked as
    unit > person > document."""
    import yaml

    station = yaml.safe_load((ws / "records" / "persons" / f"{PERSON}.yaml").read_text(encoding="utf-8"))["服务站"]
    record = yaml.safe_load((ws / "records" / "stations" / f"{station}.yaml").read_text(encoding="utf-8"))
    station_name = record["乡（镇、街道）"]  # (the name printed: "…街道后续照管服务站")
    pdf = bundle_of(docgen_print(ws, "--unit", station, "--forms", "D,P,U"))
    [(unit_title, unit_page, children)] = outline(pdf)
    assert station_name in unit_title and unit_page == 0
    assert children[0][0].startswith("P 后续照管数据统计表") and children[0][2] == []
    persons = [(title, [t.split("：")[0] for t, _, _ in docs]) for title, _, docs in children[1:]]
    assert persons == [(f"{PERSON} 王堃", ["U 个人档案封面", "D 对象信息表"]),
                       (f"{OTHER} 赵大成", ["U 个人档案封面", "D 对象信息表"])]
    pages = [page for _, page, _ in children[1:]]
    assert pages == sorted(pages) and pages[0] > 0  # each person's bookmark opens at their first page


def test_numbers_inside_keys_sort_by_value():
    from docgen.printing import natural

    keys = ["方山戒[2026]10号", "方山戒[2026]2号", "方山戒[2026]1号"]
    assert sorted(keys, key=natural) == ["方山戒[2026]1号", "方山戒[2026]2号", "方山戒[2026]10号"]


def test_a_bundle_is_named_after_what_it_holds(ws: Path):
    one = bundle_of(docgen_print(ws, "--person", PERSON))
    assert one.name.endswith(f"-{PERSON}.pdf"), one.name
    forms = bundle_of(docgen_print(ws, "--forms", "P,D", "--all"))
    assert forms.name.endswith("-D、P表.pdf"), forms.name
    everything = bundle_of(docgen_print(ws, "--all"))
    assert everything.name.endswith("-全部.pdf"), everything.name
