"""Print bundles (``docgen print``): the documents a clerk has to print, in one PDF.

A station produces its paperwork one document at a time (each visit record, each monthly
table is its own PDF). To print it, the clerk asks for a bundle: the documents of the output
folder's manifest that were not in an earlier bundle (new, or changed since), of a unit and
the units under it, of some forms or persons, merged into one PDF in filing order, with a
bookmark per document.

* Selection comes from ``manifest.json``; each file is checked against the hash the manifest
  holds (a file edited or lost by hand is reported and left out, never printed as if it were
  docgen's).
* Order: unit by unit (the station tree: a 指导站, then each 工作站 and its 服务站; the
  detox institutions after the stations), in a unit first its own documents (tables,
  notices, in number order), then person by person, each person's documents in the order
  of the personal archive volume (``PERSON_ORDER``) and by date. Bookmarks follow it:
  unit > person > document.
* ``duplex``: a blank page after each document with an odd number of pages, so that on a
  double-sided printer every document starts on a sheet of its own.
* The print register ``OUT_DIR/.docgen-printed.json`` remembers what went into a bundle (by
  the PDF's hash): the next bundle holds only what is new or changed. It is written after
  the bundle, under the output folder's writer lock (``build.output_lock``), as the bundle
  is made: the watch service cannot replace a document between the check and the copy.
* Bundles go to ``OUT_DIR/打印/`` (0600 files in a 0700 folder, written atomically); more
  than ``PART_DOCUMENTS`` documents are split into several files, between persons.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .build import entry_ident, output_lock, read_manifest
from .documents.registry import all_forms
from .errors import DocgenError
from .fsutil import atomic_write, private_dir
from .records.load import Dataset

PRINT_DIR = "打印"
REGISTER = ".docgen-printed.json"
REGISTER_VERSION = 1


@dataclass
class Item:
    """One document of a bundle."""

    entry: dict
    path: Path
    unit_name: str = ""  # for the bookmarks: the unit's and the person's names
    person_name: str = ""

    @property
    def ident(self) -> str:
        return entry_ident(self.entry)

    @property
    def title(self) -> str:
        """The bookmark: form, name, and what the file is of (person or unit, date)."""
        rel = Path(self.entry["files"]["pdf"])
        name = self.entry.get("name", "")
        what = " ".join(rel.with_suffix("").parts[1:]) or rel.stem
        if name:  # unit tables repeat the form's name in their file name
            what = what.replace(f"-{name}", "").replace(name, "").strip(" -") or what
        return f"{self.entry.get('form', '')} {name}：{what}"


@dataclass
class Selection:
    items: list[Item] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # documents left out, in Chinese
    already: int = 0  # matching documents left out because an earlier bundle has them as they are


def _register_path(out_dir: Path) -> Path:
    return out_dir / REGISTER


def load_register(out_dir: Path) -> dict:
    """The print register: ``printed`` (document ident -> hash of the PDF as bundled) and
    ``bundles`` (what was made when). A damaged register counts as empty (everything is new:
    printing twice is better than not at all)."""
    try:
        data = json.loads(_register_path(out_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"version": REGISTER_VERSION, "printed": {}, "bundles": []}
    if not isinstance(data, dict) or data.get("version") != REGISTER_VERSION \
            or not isinstance(data.get("printed"), dict) or not isinstance(data.get("bundles"), list):
        return {"version": REGISTER_VERSION, "printed": {}, "bundles": []}
    return data


def units_under(ds: Dataset, unit: str) -> set[str]:
    """The unit and every station under it (a detox institution is a unit of its own)."""
    if unit in ds.institutions:
        return {unit}
    if unit not in ds.stations:
        known = "、".join(sorted([*ds.stations, *ds.institutions])[:12])
        raise DocgenError(f"没有编号为“{unit}”的站点或戒毒所（可用 docgen units 查看；已有：{known}…）")
    return ds.units_under(unit)


def _unit_order(ds: Dataset) -> dict[str, int]:
    """Units in the order of the station tree (depth first, by id), then the institutions."""
    order: dict[str, int] = {}

    def visit(sid: str) -> None:
        if sid in order:
            return
        order[sid] = len(order)
        for child in ds.children(sid):
            visit(child.id)

    for sid in sorted(s.id for s in ds.stations.values() if not s.parent or s.parent not in ds.stations):
        visit(sid)
    for sid in sorted(ds.stations):
        visit(sid)
    for iid in sorted(ds.institutions):
        order.setdefault(iid, len(order))
    return order


# a person's documents in the order of the personal archive volume (``archive/policy.toml``,
# series personal: cover, agreements, 对象信息表, 报到, visits, help, closure): the printed
# pages file straight into 一人一档; the person's other documents follow in appendix order
PERSON_ORDER = ("U", "E", "V", "D", "X4", "I", "J", "X2", "X3")


def natural(text: str) -> tuple:
    """Sort key that orders the numbers inside text by value (2号 before 10号)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def select(out_dir: Path, ds: Dataset, unit: str | None = None, forms: set[str] | None = None,
           persons: set[str] | None = None, everything: bool = False) -> Selection:
    """The documents a bundle would hold now (call under ``output_lock`` to keep them so).
    Voided notices (``"voided": true`` in the manifest) only with ``everything``."""
    units = units_under(ds, unit) if unit else None
    unknown = sorted((persons or set()) - set(ds.persons))
    if unknown:
        raise DocgenError(f"没有编号为“{'、'.join(unknown)}”的照管对象")
    printed = load_register(out_dir)["printed"]
    form_order = {code: n for n, code in enumerate(all_forms())}
    unit_order = _unit_order(ds)
    sel = Selection()
    chosen: list[Item] = []
    for entry in read_manifest(out_dir).get("documents", []):
        if not isinstance(entry, dict) or not isinstance(entry.get("files"), dict):
            continue
        rel = entry["files"].get("pdf")
        if not rel:
            continue  # a document made without its PDF (--format docx)
        if forms is not None and entry.get("form") not in forms:
            continue
        if persons is not None and entry.get("person") not in persons:
            continue
        if units is not None and entry.get("unit") not in units:
            continue
        if entry.get("voided") and not everything:
            continue  # a voided notice (stamped 作废) is printed only when asked for everything
        digest = (entry.get("sha256") or {}).get("pdf")
        if not everything and digest and printed.get(entry_ident(entry)) == digest:
            sel.already += 1
            continue
        pid, uid = entry.get("person"), entry.get("unit") or ""
        chosen.append(Item(entry, out_dir / rel, unit_name=ds.unit_name(uid) if uid else "",
                           person_name=ds.persons[pid].name if pid in ds.persons else ""))

    def key(item: Item) -> tuple:
        e = item.entry
        person, code = e.get("person") or "", e.get("form") or ""
        within = (PERSON_ORDER.index(code), 0) if person and code in PERSON_ORDER else \
            (len(PERSON_ORDER), form_order.get(code, len(form_order)))
        return (unit_order.get(e.get("unit") or "", len(unit_order)), e.get("unit") or "", person != "", person,
                within, code, e.get("period") or "", natural(e.get("key") or ""))

    for item in sorted(chosen, key=key):
        try:
            data = item.path.read_bytes()
        except FileNotFoundError:
            sel.problems.append(f"{item.entry['files']['pdf']}：文件不见了（请先运行 docgen build 补上）")
            continue
        except OSError as exc:
            sel.problems.append(f"{item.entry['files']['pdf']}：无法读取（{exc.strerror or exc}）")
            continue
        if hashlib.sha256(data).hexdigest() != (item.entry.get("sha256") or {}).get("pdf"):
            sel.problems.append(f"{item.entry['files']['pdf']}：文件与清单不符（被手工改动或替换过？"
                                "请运行 docgen build 重新生成）")
            continue
        sel.items.append(item)
    return sel


def merge(items: list[Item], duplex: bool = False) -> tuple[bytes, int]:
    """One PDF of the documents, a bookmark per document; (bytes, pages). Read under the
    output folder's lock, like the selection: the files are the ones it checked."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    unit_mark = person_mark = None
    last_unit = last_person = None
    for item in items:
        reader = PdfReader(io.BytesIO(item.path.read_bytes()))
        first = len(writer.pages)
        writer.append(reader, import_outline=False)
        size = reader.pages[0].mediabox
        if duplex and len(reader.pages) % 2:
            writer.add_blank_page(width=float(size.width), height=float(size.height))
        # bookmarks: unit > person > document (a unit's own tables directly under the unit)
        unit, person = item.entry.get("unit") or "", item.entry.get("person") or ""
        if unit != last_unit:
            unit_mark = writer.add_outline_item(title=item.unit_name or unit or "其他", page_number=first)
            last_unit, last_person, person_mark = unit, None, None
        if person and person != last_person:
            person_mark = writer.add_outline_item(title=f"{person} {item.person_name}".strip(), page_number=first,
                                                  parent=unit_mark, is_open=False)
            last_person = person
        writer.add_outline_item(title=item.title, page_number=first, parent=person_mark if person else unit_mark)
    writer.add_metadata({"/Title": "docgen 打印包", "/Producer": "docgen"})
    writer.page_mode = "/UseOutlines"
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue(), len(writer.pages)


# a bundle holds at most this many documents (a person's documents are never split): printers
# and viewers take a 500-document job in their stride, a city's whole output (15,000) not
PART_DOCUMENTS = 500


def parts(items: list[Item], limit: int | None = None) -> list[list[Item]]:
    """The items in bundles of at most ``limit`` (``PART_DOCUMENTS``) documents, cut only
    between persons (or units): one person's documents more than the limit stay together."""
    limit = limit or PART_DOCUMENTS
    out: list[list[Item]] = [[]]
    group: list[Item] = []
    last = None
    for item in [*items, None]:
        key = None if item is None else (item.entry.get("unit"), item.entry.get("person"))
        if item is None or key != last:
            if group and out[-1] and len(out[-1]) + len(group) > limit:
                out.append([])
            out[-1].extend(group)
            group, last = [], key
        if item is not None:
            group.append(item)
    return [part for part in out if part]


@dataclass
class Bundle:
    paths: list[Path]
    documents: int
    pages: list[int]  # of each file
    selection: Selection


def _bundle_name(unit: str | None, forms: set[str] | None, persons: set[str] | None) -> str:
    """What the bundle holds, for its file name: the unit, the persons (up to three), the forms."""
    parts = [unit] if unit else []
    if persons:
        chosen = sorted(persons)
        parts.append("、".join(chosen[:3]) + (f"等{len(chosen)}人" if len(chosen) > 3 else ""))
    if forms:
        parts.append("、".join(sorted(forms)) + "表")
    return "-".join(parts) or "全部"


def _bundle_paths(out_dir: Path, name: str, target: Path | None, count: int, now: dt.datetime) -> list[Path]:
    if target is not None:
        target = Path(target)
        if target.suffix.lower() != ".pdf":
            raise DocgenError(f"打印包文件名应以 .pdf 结尾：{target}")
        folder, stem = target.parent, target.stem
    else:
        folder, stem = out_dir / PRINT_DIR, f"{now:%Y-%m-%d-%H%M%S}-{name}"
    private_dir(folder)
    names = [f"{stem}.pdf"] if count == 1 else [f"{stem}-{n}-{count}.pdf" for n in range(1, count + 1)]
    if target is None:  # never over an earlier bundle
        n = 2
        base = names
        while any((folder / name).exists() for name in names):
            names = [name.replace(stem, f"{stem}-{n}", 1) for name in base]
            n += 1
    return [folder / name for name in names]


def make_bundle(out_dir: Path, ds: Dataset, unit: str | None = None, forms: set[str] | None = None,
                persons: set[str] | None = None, everything: bool = False, duplex: bool = False,
                target: Path | None = None, mark_only: bool = False, dry_run: bool = False,
                now: dt.datetime | None = None) -> Bundle:
    """Select, merge and register a print bundle (see the module's description); more than
    ``PART_DOCUMENTS`` documents make several files (…-1-3.pdf, …-2-3.pdf, …), each
    registered as soon as it is written.

    ``mark_only``: register the selection as printed without making a file (the documents
    printed before docgen kept a register). ``dry_run``: select only."""
    out_dir = Path(out_dir)
    if not (out_dir / "manifest.json").exists():
        raise DocgenError(f"输出目录 {out_dir} 中还没有文书清单 manifest.json（请先运行 docgen build）")
    now = now or dt.datetime.now()
    with output_lock(out_dir):
        sel = select(out_dir, ds, unit, forms, persons, everything)
        bundle = Bundle([], len(sel.items), [], sel)
        if dry_run or not sel.items:
            return bundle
        listed = {entry_ident(e) for e in read_manifest(out_dir).get("documents", []) if isinstance(e, dict)}
        if mark_only:
            _register(out_dir, sel.items, listed, {"time": now.isoformat(timespec="seconds"), "file": None,
                                                    "unit": unit, "forms": sorted(forms) if forms else None,
                                                    "documents": len(sel.items), "pages": 0, "marked_only": True})
            return bundle
        chunks = parts(sel.items)
        for path, chunk in zip(_bundle_paths(out_dir, _bundle_name(unit, forms, persons), target, len(chunks), now), chunks):
            data, pages = merge(chunk, duplex)
            atomic_write(path, data)
            bundle.paths.append(path)
            bundle.pages.append(pages)
            _register(out_dir, chunk, listed, {
                "time": now.isoformat(timespec="seconds"),
                "file": path.name if path.parent == out_dir / PRINT_DIR else str(path),
                "unit": unit, "forms": sorted(forms) if forms else None, "documents": len(chunk), "pages": pages,
                "marked_only": False})
    return bundle


def _register(out_dir: Path, items: list[Item], listed: set[str], bundle: dict) -> None:
    """Note ``items`` as bundled; documents gone from the manifest leave the register."""
    register = load_register(out_dir)
    for item in items:
        register["printed"][item.ident] = item.entry["sha256"]["pdf"]
    register["printed"] = {k: v for k, v in sorted(register["printed"].items()) if k in listed}
    register["bundles"].append(bundle)
    atomic_write(_register_path(out_dir), json.dumps(register, ensure_ascii=False, indent=1).encode("utf-8"))
