"""Station signs of 6.3 of the standard: brass plates (appendix B: B1 指导站, B2 工作站,
B3 服务站) and insert signs (appendix C: C1), as print-ready files.

``make_signs`` lays out every selected station's signs first and refuses the whole run when
a name does not fit (nothing is written then); otherwise it writes per sign a 1:1
production PDF (text as outlines, CMYK only), an SVG and a proof sheet (PDF + PNG), and
lists them in ``manifest.json`` next to the entries other commands put there.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..errors import DocgenError, os_reason
from ..fsutil import atomic_write, private_dir
from ..records.load import Dataset
from ..records.model import STATION_KINDS, Station
from .layout import SignLayout, SignTooLarge, insert_layout, plate_layout
from .outline import sign_font
from .production import insert_pdf, insert_svg, plate_pdf, plate_svg
from .proof import insert_proof, plate_proof, png_preview
from .spec import Specs, load_specs

__all__ = ["make_signs", "refresh_signs", "select_stations", "insert_size", "SignTooLarge", "load_specs",
           "plan_signs", "broken_station_files"]

SIGN_FORMS = ("B1", "B2", "B3", "C1")


def select_stations(ds: Dataset, ids: Iterable[str] = ()) -> list[Station]:
    ids = list(dict.fromkeys(ids))
    if not ds.stations:
        raise DocgenError("记录中没有站点（记录类型: 站点），无法制作标牌")
    unknown = [i for i in ids if i not in ds.stations]
    if unknown:
        broken = {i: broken_station_files(ds, i) for i in unknown}
        problems = [f"站点 {i} 的记录文件 {'、'.join(files)} 有错误（见上面的提示），改正后才能制作它的标牌"
                    for i, files in broken.items() if files]
        missing = [i for i, files in broken.items() if not files]
        if missing:
            problems.append(f"没有编号为 {'、'.join(missing)} 的站点。已有站点：{'、'.join(sorted(ds.stations))}")
        raise DocgenError("；".join(problems))
    chosen = [ds.stations[i] for i in ids] if ids else list(ds.stations.values())
    return sorted(chosen, key=lambda s: (STATION_KINDS.index(s.kind), s.id))


def broken_station_files(ds: Dataset, sid: str | None = None) -> list[str]:
    """Record files that did not load and hold a station: the station ``sid`` (by file name or
    its 编号 line), or any station (a 记录类型: 站点 line). Paths relative to the workspace."""
    if sid is None:
        own = re.compile(r"^\s*记录类型\s*:\s*['\"]?站点['\"]?\s*(#.*)?$", re.M)
    else:
        own = re.compile(rf"^\s*编号\s*:\s*['\"]?{re.escape(sid)}['\"]?\s*(#.*)?$", re.M)
    root = getattr(ds.workspace, "root", None)
    out = []
    for path in sorted(ds.bad_files):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            text = ""
        if (sid is not None and path.stem == sid) or own.search(text):
            try:
                out.append(str(path.resolve().relative_to(Path(root).resolve())) if root else str(path))
            except ValueError:
                out.append(str(path))
    return out


def insert_size(ws, specs: Specs) -> tuple[float, float]:
    """The insert-sign size: workspace setting [signage] insert_width_mm / insert_height_mm."""
    keys = ("insert_width_mm", "insert_height_mm")
    section = (getattr(ws, "settings", None) or {}).get("signage", {}) if ws is not None else {}
    if not isinstance(section, dict):
        raise DocgenError(f"docgen.toml 中 signage = {section!r} 无效：应为一节 [signage]，其中写 "
                          "insert_width_mm、insert_height_mm（插牌的宽、高，毫米）")
    unknown = sorted(set(section) - set(keys))
    if unknown:  # a misspelt key would silently leave the default size
        raise DocgenError(f"docgen.toml 的 [signage] 中有不认识的设置 {'、'.join(unknown)}；"
                          f"可用的设置：{'、'.join(keys)}（插牌的宽、高，毫米）")
    out = []
    for key, default in (("insert_width_mm", specs.insert.width), ("insert_height_mm", specs.insert.height)):
        value = ws.setting("signage", key, default) if ws is not None else default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 20 <= value <= 5000:
            raise DocgenError(f"docgen.toml 中 [signage] {key} = {value!r} 无效：应为 20～5000 之间的毫米数")
        out.append(float(value))
    return out[0], out[1]


@dataclass
class StationSigns:
    station: Station
    plate: SignLayout
    insert: SignLayout


def plan_signs(stations: list[Station], specs: Specs, insert_mm: tuple[float, float],
               vertical: bool = False) -> list[StationSigns]:
    """Lay out every sign; all names that do not fit are reported together."""
    plate_font, insert_font = sign_font(specs.plate.font_role), sign_font(specs.insert.font_role)
    plans, problems = [], []
    for st in stations:
        try:
            plans.append(StationSigns(st, plate_layout(st, specs.plate, plate_font, vertical),
                                      insert_layout(st, specs.insert, insert_font, *insert_mm)))
        except DocgenError as exc:
            problems.append(exc.message)
    if problems:
        raise SignTooLarge("\n".join(problems) + "\n没有生成任何标牌文件。")
    return plans


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _code_fingerprint() -> str:
    from .. import __version__

    pkg = Path(__file__).resolve().parent
    parts = [__version__] + [_sha(p.read_bytes()) for p in sorted(pkg.glob("*.py"))]
    return _sha("|".join(parts).encode())


def _inputs_fingerprint(specs_file: Path) -> str:
    """What every sign of a run is made with: the sign specifications, the sign fonts and
    the signage code (computed once per run)."""
    from ..build import fonts_fingerprint

    try:
        specs = _sha(specs_file.read_bytes())
    except OSError:
        specs = "-"
    return _sha("\0".join([specs, fonts_fingerprint(), _code_fingerprint()]).encode())


def sign_fingerprints(st: Station, inputs: str, insert_mm: tuple[float, float], vertical: bool) -> tuple[str, str]:
    """(plate, insert): what decides the bytes of a station's signs: its record, the run's
    ``inputs`` (``_inputs_fingerprint``) and, for the insert, the insert size setting. The
    proof date is not part of it: a sign is made again only when one of these changed."""
    common = [st.model_dump_json(), inputs]
    plate = _sha("\0".join(common + ["plate", str(vertical)]).encode())
    insert = _sha("\0".join(common + ["insert", f"{insert_mm[0]}x{insert_mm[1]}"]).encode())
    return plate, insert


def _write_sign(out_dir: Path, stem: str, outputs: dict[str, bytes]) -> tuple[dict, dict]:
    suffix = {"pdf": ".pdf", "svg": ".svg", "proof_pdf": "-校样.pdf", "proof_png": "-校样.png"}
    files, hashes = {}, {}
    for kind, data in outputs.items():
        rel = f"{stem}{suffix[kind]}"
        atomic_write(out_dir / rel, data)
        files[kind], hashes[kind] = rel, _sha(data)
    return files, hashes


def make_signs(ds: Dataset, out_dir: Path, station_ids: Iterable[str] = (), vertical: bool = False,
               date: dt.date | None = None, ws=None,
               progress: Callable[[str], None] | None = None) -> list[dict]:
    """Write the signs of the selected stations (all by default) into ``out_dir``; returns
    the manifest entries written."""
    from ..build import output_lock

    from .spec import SPECS_FILE

    specs = load_specs()
    date_text = f"{(date or dt.date.today()):%Y年%m月%d日}"
    insert_mm = insert_size(ws, specs)
    plans = plan_signs(select_stations(ds, station_ids), specs, insert_mm, vertical)
    try:
        private_dir(out_dir)
    except OSError as exc:
        raise DocgenError(f"无法创建输出目录 {out_dir}：{os_reason(exc)}。请换一个输出目录（--out）") from None
    plate_font, insert_font = sign_font(specs.plate.font_role), sign_font(specs.insert.font_role)
    inputs = _inputs_fingerprint(SPECS_FILE)
    jobs = []  # (layout, sign name, manifest key, file stem, outputs, font, fingerprint)
    for plan in plans:
        st, plate, insert = plan.station, plan.plate, plan.insert
        plate_fp, insert_fp = sign_fingerprints(st, inputs, insert_mm, vertical)
        stem = f"{plate.form}/{st.id}-铜牌{'-竖版' if vertical else ''}"
        names = {"pdf": f"{stem}.pdf", "svg": f"{stem}.svg"}
        outputs = {"pdf": plate_pdf(plate, specs.plate, plate_font), "svg": plate_svg(plate, specs.plate)}
        outputs["proof_pdf"] = plate_proof(plate, specs.plate, plate_font, names, date_text)
        jobs.append((plate, specs.plate.names[plate.form], f"{st.id}{'/竖版' if vertical else ''}", stem,
                     outputs, plate_font, plate_fp))
        stem = f"{insert.form}/{st.id}-插牌"
        names = {"pdf": f"{stem}.pdf", "svg": f"{stem}.svg"}
        outputs = {"pdf": insert_pdf(insert, specs.insert, insert_font), "svg": insert_svg(insert, specs.insert)}
        outputs["proof_pdf"] = insert_proof(insert, specs.insert, insert_font, names, date_text)
        jobs.append((insert, specs.insert.name, st.id, stem, outputs, insert_font, insert_fp))
    # PNG previews: pdftoppm runs in separate processes, several at a time
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        pngs = list(pool.map(png_preview, [job[4]["proof_pdf"] for job in jobs]))
    with output_lock(out_dir):  # one writer at a time in the output folder (the watch service, builds)
        return _write_signs(out_dir, jobs, pngs, progress)


def _write_signs(out_dir: Path, jobs: list, pngs: list, progress) -> list[dict]:
    from ..build import load_manifest, write_manifest

    entries = []
    for (layout, name, key, stem, outputs, font, fp), png in zip(jobs, pngs):
        outputs["proof_png"] = png
        try:
            files, hashes = _write_sign(out_dir, stem, outputs)
        except OSError as exc:
            raise DocgenError(f"无法写入标牌文件 {out_dir / stem}：{os_reason(exc)}") from None
        entries.append({**_entry(layout, name, key, files, hashes, font), "fp": fp})
        if progress:
            progress(f"{layout.form} {layout.station_id} {layout.name}")
    # keep the entries of other forms and other stations while their files exist; a station
    # whose kind changed (服务站 → 工作站) has a plate of another form now: the old one goes
    manifest = load_manifest(out_dir)
    built = {(e["form"], e["key"]) for e in entries}
    replaced = {e["key"] for e in entries if e["form"] != "C1"}
    kept = []
    documents, errors = manifest.get("documents"), manifest.get("errors")
    root = out_dir.resolve()
    for old in documents if isinstance(documents, list) else []:
        if not _is_entry(old) or (old.get("form"), old.get("key")) in built:
            continue  # a damaged or hand-edited entry is dropped; a sign made again is replaced
        if old.get("form") in SIGN_FORMS and old.get("form") != "C1" and old.get("key") in replaced:
            for rel in old.get("files", {}).values():
                path = (out_dir / rel).resolve()
                if path.is_relative_to(root):  # never delete outside the output folder
                    path.unlink(missing_ok=True)
            continue
        if all((out_dir / rel).exists() for rel in old.get("files", {}).values()):
            kept.append(old)
    write_manifest(out_dir, kept + entries, errors if isinstance(errors, list) else [])
    return entries


def _is_entry(entry) -> bool:
    """A manifest entry this code can keep: form, key and period as text, files (if any) as names."""
    if not isinstance(entry, dict) or not isinstance(entry.get("form"), str):
        return False
    files = entry.get("files", {})
    return (isinstance(entry.get("key", ""), str) and isinstance(entry.get("period") or "", str)
            and isinstance(files, dict) and all(isinstance(rel, str) and rel for rel in files.values()))


def refresh_signs(ds: Dataset, out_dir: Path, ws=None, date: dt.date | None = None) -> tuple[list[dict], list[str]]:
    """Make again the signs in ``out_dir`` (made earlier by ``make_signs``) whose station
    record, specifications, insert size, fonts or code changed; the others stay as they are.
    A station whose record is missing now (a broken or removed file) keeps its signs.

    Returns the manifest entries written and the problems (a name that no longer fits: its
    old signs stay)."""
    from ..build import read_manifest
    from .spec import SPECS_FILE

    signs = [e for e in read_manifest(out_dir).get("documents", [])
             if isinstance(e, dict) and e.get("form") in SIGN_FORMS and e.get("unit")]
    if not signs:
        return [], []
    inputs = _inputs_fingerprint(SPECS_FILE)
    insert_mm = insert_size(ws, load_specs())
    variants: dict[str, set[bool]] = {}
    for e in signs:
        flags = variants.setdefault(e["unit"], set())
        if e["form"] != "C1":
            flags.add(bool(e.get("vertical")))
    written: list[dict] = []
    problems: list[str] = []
    for sid in sorted(variants):
        st = ds.stations.get(sid)
        if st is None:
            continue
        for vertical in sorted(variants[sid] or {False}):
            plate_fp, insert_fp = sign_fingerprints(st, inputs, insert_mm, vertical)
            plates = [e for e in signs if e["unit"] == sid and e["form"] != "C1"
                      and bool(e.get("vertical")) == vertical]
            inserts = [e for e in signs if e["unit"] == sid and e["form"] == "C1"]
            if all(e.get("fp") == plate_fp for e in plates) and all(e.get("fp") == insert_fp for e in inserts) \
                    and all((out_dir / rel).exists() for e in plates + inserts for rel in e.get("files", {}).values()):
                continue
            try:
                written.extend(make_signs(ds, out_dir, [sid], vertical=vertical, date=date, ws=ws))
            except DocgenError as exc:
                problems.append(exc.message)
    return written, problems


def _entry(layout: SignLayout, name: str, key: str, files: dict, hashes: dict, font) -> dict:
    return {"form": layout.form, "name": name, "key": key, "unit": layout.station_id, "files": files,
            "sha256": hashes, "pages": 1, "text": layout.name, "lines": layout.lines,
            "size_mm": [layout.width, layout.height], "vertical": layout.vertical,
            "font_size_pt": round(layout.size_pt, 2), "font_requested": font.role.requested,
            "font": font.role.face.label,
            "substitute_font": font.role.substitute, "fallback_chars": "".join(layout.fallback_chars)}
