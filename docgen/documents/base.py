"""What every form module provides, and helpers for building views.

A form module defines one ``Form`` subclass (or several) with a ``code`` (``D``, ``E`` …).
The registry (``documents.registry``) finds them by importing every module of this
package, so adding a form touches its module and its template only.

``targets(ds, period)`` yields one ``Target`` per document to produce: the view (a dict
of display strings the layout's Jinja texts read), where it goes, whom it is about and
which record files it was made from (for incremental builds and the watch service).

``Target.deps`` names every record file whose content the view was read from: the person's
own file and event files, and the files of every station (with the parents it names),
institution or work log it prints; a table lists the files of the units it covers and of
every person it counts or lists (``record_files``, ``person_deps``, ``station_tree``). A
record that is not part of a document yet but could join it by an edit (a person moving
to a station) is not a dependency: a unit's document is fingerprinted on every build, so
it changes when that edit comes. An empty list means "every record file".
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel

from ..model.period import Period  # noqa: F401  (re-exported: forms import it from here)
from ..records.load import Dataset
from ..records.model import Person
from ..render.fonts import PACKAGE_ROOT, MissingGlyph, missing_chars
from .layout import Layout

TEMPLATE_DIR = PACKAGE_ROOT / "templates"


@dataclass
class Target:
    form: str
    key: str  # unique within the form
    path: str  # output path stem relative to OUT_DIR, without suffix: "D/NJ001-张三"
    view: dict
    context: str  # names the record in messages: "照管对象 NJ001（张三）"
    person: str | None = None
    unit: str | None = None
    period: str | None = None
    deps: list[Path] = field(default_factory=list)


class Form:
    code: str = ""
    name: str = ""
    kind: str = "record_form"  # record_form | table | agreement | cover | triple | card
    scope: str = "person"  # person | unit | institution | none
    periodic: bool = False  # needs --month / period
    xlsx: bool = False  # also produce an XLSX (tables)
    designed: bool = False  # docgen design, not a form of the standard (X1-X4)

    def build_layout(self) -> Layout:  # pragma: no cover - every form overrides
        raise NotImplementedError

    @cached_property
    def layout(self) -> Layout:
        return self.build_layout()

    @property
    def template_path(self) -> Path:
        return TEMPLATE_DIR / f"{self.code}.docx"

    def blank_view(self) -> dict:
        return {}

    def targets(self, ds: Dataset, period: Period | None) -> Iterable[Target]:  # pragma: no cover
        raise NotImplementedError

    def render_pdf(self, view: dict, context: str = "") -> bytes:
        from ..render.pdf import render_pdf

        return render_pdf(self.layout, view, context)

    def render_docx(self, view: dict) -> bytes:
        from ..render.docx import render_docx

        return render_docx(self.template_path, view)

    def render_xlsx(self, view: dict) -> bytes | None:
        """XLSX of the form's tables (for ``xlsx = True`` forms)."""
        if not self.xlsx:
            return None
        from ..render.xlsx import render_xlsx

        return render_xlsx(self.layout, view, self.name)


# --------------------------------------------------------------------------- dependencies


def _path_parts(path: Path) -> tuple[str, ...]:
    return path.parts


def record_files(ds: Dataset, *record_ids: str | None) -> list[Path]:
    """Sorted unique files the named records were read from.

    An id is a person (own file and event files), a station, an institution or a station's
    work log (``"log:<station id>"``); an id whose record did not load adds nothing.
    """
    files: set[Path] = set()
    for rid in record_ids:
        if rid:
            files.update(ds.sources.get(rid, ()))
    # Path order (component by component), compared on the cached tuple of components: a
    # unit table lists thousands of files, and Path.__lt__ rebuilds its key on every comparison
    return sorted(files, key=_path_parts)


def station_tree(ds: Dataset, station_id: str) -> list[str]:
    """The station and every station below it (工作站 and 服务站), sorted by id: the records
    that decide which persons and rows a unit's table has."""
    below: dict[str, list[str]] = {}
    for st in ds.stations.values():
        if st.parent:
            below.setdefault(st.parent, []).append(st.id)
    out: set[str] = set()
    todo = [station_id] if station_id in ds.stations else []
    while todo:
        sid = todo.pop()
        if sid not in out:
            out.add(sid)
            todo.extend(below.get(sid, ()))
    return sorted(out)


def person_deps(ds: Dataset, person: Person, *, station: bool = False, chain: bool = False,
                institution: bool = False, cultivation: bool = False) -> list[Path]:
    """The files a document about ``person`` is made from: the person's own files and those of
    the records the document prints: their 服务站 (``station``), the 服务站 with its 工作站 and
    指导站 (``chain``), the detox institution (``institution``), the 典型培育 unit
    (``cultivation``)."""
    ids: list[str | None] = [person.id]
    if chain:
        ids.extend(st.id for st in ds.station_chain(person.station))
    if station or chain:
        ids.append(person.station)
    if institution:
        ids.append(person.detention.institution)
    if cultivation and person.cultivation is not None:
        ids.append(person.cultivation.unit)
    return record_files(ds, *ids)


# --------------------------------------------------------------------------- formatting


def s(value: Any) -> str:
    """Display string of a value: '' for None, never 'None'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def cn_date(d: dt.date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def iso(d: dt.date | None) -> str:
    return d.isoformat() if d else ""


def cn_month(ym: str | None) -> str:
    if not ym:
        return ""
    y, m = ym.split("-")
    return f"{int(y)}年{int(m)}月"


def person_label(p: Person) -> str:
    return f"照管对象 {p.id}（{p.name}）"


def safe_name(text: str) -> str:
    """A file-name-safe form of a name (keeps Chinese, drops path separators)."""
    return "".join("_" if ch in '/\\:*?"<>|\0' or ord(ch) < 32 else ch for ch in text).strip() or "_"


def check_record_chars(record: BaseModel, roles: Iterable[str], context: str, prefix: str = "") -> None:
    """Raise MissingGlyph naming the field when a text of ``record`` has a character no font has."""
    for name, fld in type(record).model_fields.items():
        value = getattr(record, name)
        label = f"{prefix}{fld.alias or name}"
        if isinstance(value, str):
            for role in roles:
                bad = missing_chars(value, role)
                if bad:
                    raise MissingGlyph(bad[0], role, f"{context}，字段“{label}”")
        elif isinstance(value, BaseModel):
            check_record_chars(value, roles, context, f"{label} / ")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    check_record_chars(item, roles, context, f"{label} / 第{i + 1}项 / ")
