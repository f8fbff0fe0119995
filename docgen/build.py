"""``docgen build``: render the selected forms for the workspace into OUT_DIR.

Every output is written atomically; ``manifest.json`` lists each document (form, person or
unit, period, files relative to OUT_DIR, SHA-256) and the errors of the run. Entries of
forms not built in this run are kept while their files exist, so partial builds (one
form, one period) add to the manifest instead of replacing it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import __version__
from .documents.base import Form, Period, Target, check_record_chars
from .errors import DocgenError
from .fsutil import atomic_write, private_dir
from .records.load import Dataset
from .render.fonts import MissingGlyph

MANIFEST = "manifest.json"


@dataclass
class BuildResult:
    documents: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_manifest(out_dir: Path) -> dict:
    path = out_dir / MANIFEST
    if not path.exists():
        return {"documents": [], "errors": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError
        return data
    except (ValueError, OSError):
        return {"documents": [], "errors": []}


def write_manifest(out_dir: Path, documents: list[dict], errors: list[dict]) -> None:
    docs = sorted(documents, key=lambda d: (d["form"], d.get("key", ""), d.get("period") or ""))
    data = {"generator": f"docgen {__version__}", "documents": docs, "errors": errors}
    atomic_write(out_dir / MANIFEST, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))


def render_target(form: Form, target: Target, out_dir: Path, want: set[str]) -> dict:
    """Render one target in every wanted format; returns its manifest entry."""
    outputs: dict[str, bytes] = {}
    if "pdf" in want:
        outputs["pdf"] = form.render_pdf(target.view, target.context)
    if "docx" in want:
        outputs["docx"] = form.render_docx(target.view)
    if "xlsx" in want and form.xlsx:
        data = form.render_xlsx(target.view)
        if data is not None:
            outputs["xlsx"] = data
    files, hashes = {}, {}
    for ext, data in outputs.items():
        rel = f"{target.path}.{ext}"
        atomic_write(out_dir / rel, data)
        files[ext] = rel
        hashes[ext] = sha256(data)
    entry = {"form": form.code, "name": form.name, "key": target.key, "files": files, "sha256": hashes}
    if target.person:
        entry["person"] = target.person
    if target.unit:
        entry["unit"] = target.unit
    if target.period:
        entry["period"] = target.period
    if "pdf" in outputs:
        entry["pages"] = count_pages(outputs["pdf"])
    return entry


def count_pages(pdf: bytes) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def error_entry(form: str | None, context: str, message: str, **extra) -> dict:
    entry = {"form": form, "record": context, "message": message}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def build(ds: Dataset, forms: Iterable[Form], out_dir: Path, period: Period | None,
          formats: set[str] | None = None, progress: Callable[[str], None] | None = None) -> BuildResult:
    """Build ``forms`` for the records of ``ds`` into ``out_dir``."""
    want = formats or {"pdf", "docx", "xlsx"}
    private_dir(out_dir)
    result = BuildResult()
    forms = list(forms)
    # record-level errors go to the manifest too
    for d in ds.diagnostics:
        if d.severity == "错误":
            result.errors.append(error_entry(None, d.file, d.message, line=d.line, column=d.column, field=d.field))
    # characters no font has: one error per person, naming the field
    bad_persons: dict[str, str] = {}
    for pid, person in ds.persons.items():
        try:
            check_record_chars(person, ("table", "body"), f"照管对象 {pid}（{person.name}）")
        except MissingGlyph as exc:
            bad_persons[pid] = exc.message
            result.errors.append(error_entry(None, f"照管对象 {pid}", exc.message, person=pid))
    for form in forms:
        if form.periodic and period is None:
            continue
        if not form.template_path.exists() and "docx" in want:
            raise DocgenError(f"缺少表单 {form.code} 的 DOCX 模板 {form.template_path}（请运行 docgen templates 重新生成）")
        try:
            targets = list(form.targets(ds, period))
        except DocgenError as exc:
            result.errors.append(error_entry(form.code, "", exc.message))
            continue
        for target in targets:
            if target.person in bad_persons:
                continue
            if progress:
                progress(f"{form.code} {target.path}")
            try:
                result.documents.append(render_target(form, target, out_dir, want))
            except MissingGlyph as exc:
                result.errors.append(error_entry(form.code, target.context, exc.message,
                                                 person=target.person, unit=target.unit))
            except DocgenError as exc:
                result.errors.append(error_entry(form.code, target.context, exc.message,
                                                 person=target.person, unit=target.unit))
    # merge with entries of other forms / periods that still exist
    built = {(d["form"], d["key"], d.get("period")) for d in result.documents}
    codes = {f.code for f in forms}
    kept = []
    for old in load_manifest(out_dir).get("documents", []):
        ident = (old.get("form"), old.get("key"), old.get("period"))
        if ident in built or (old.get("form") in codes and old.get("period") == (period.key if period else None)):
            continue
        if all((out_dir / rel).exists() for rel in old.get("files", {}).values()):
            kept.append(old)
    write_manifest(out_dir, kept + result.documents, result.errors)
    return result
