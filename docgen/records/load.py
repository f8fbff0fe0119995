"""Load and validate a workspace's records.

``load_records(paths)`` reads every ``*.yaml`` / ``*.yml`` file, validates each against the
record model and then across records (references, duplicates, event order). It never
stops at the first problem: every error of every file is collected as a ``Diagnostic``,
and a bad file is skipped while the good ones are kept.
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
import types
import typing
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .idcard import mask_id, mask_ids_in_text, normalize_id
from .model import (RECORD_TYPES, TERMINATION_GROUNDS, Event, EventFile, Institution, LogEntry, Person, Record,
                    Station, WorkLog, add_months, term_months)
from .yamlsrc import Position, YamlSource, YamlSyntaxError, load_yaml


@dataclass(frozen=True)
class Diagnostic:
    file: str
    line: int
    column: int
    field: str
    message: str
    severity: str = "错误"  # 错误 | 警告

    def __post_init__(self) -> None:
        # a message quotes what the clerk typed, which may hold an ID number (身份证号码：3201…:):
        # masked here, so that no report, manifest entry or log line made from it carries one
        object.__setattr__(self, "message", mask_ids_in_text(self.message))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        what = f"【{self.field}】" if self.field else ""
        return f"{where}: {self.severity}: {what}{self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "column": self.column, "field": self.field,
                "message": self.message, "severity": self.severity}


@dataclass
class Origin:
    """Where a record (or an event) came from."""

    path: Path
    loc: tuple
    position: Position


@dataclass
class Dataset:
    persons: dict[str, Person] = field(default_factory=dict)
    stations: dict[str, Station] = field(default_factory=dict)
    institutions: dict[str, Institution] = field(default_factory=dict)
    logs: dict[str, list[LogEntry]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # provenance: record id -> files it was read from (a person's own file plus event files)
    sources: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    files: list[Path] = field(default_factory=list)
    bad_files: set[Path] = field(default_factory=set)
    workspace: Any = None  # the Workspace the records came from (set by the CLI), for registries
    # size and modification time (ns) of each record file as it was read, when the loader
    # knows them (the watch service's record cache): spares the build a stat per file
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "错误"]

    # ---- navigation helpers used by documents and statistics
    def station_chain(self, station_id: str) -> list[Station]:
        """The station and its parents up to the 指导站."""
        chain: list[Station] = []
        seen: set[str] = set()
        sid: str | None = station_id
        while sid and sid in self.stations and sid not in seen:
            seen.add(sid)
            st = self.stations[sid]
            chain.append(st)
            sid = st.parent
        return chain

    def guidance_station(self, station_id: str) -> Station | None:
        for st in self.station_chain(station_id):
            if st.kind == "指导站":
                return st
        return None

    def children(self, station_id: str) -> list[Station]:
        return sorted((s for s in self.stations.values() if s.parent == station_id), key=lambda s: s.id)

    def service_stations_under(self, station_id: str) -> list[str]:
        st = self.stations.get(station_id)
        if st is None:
            return []
        if st.kind == "服务站":
            return [st.id]
        out: list[str] = []
        for child in self.children(station_id):
            out.extend(self.service_stations_under(child.id))
        return out

    def units_under(self, unit: str) -> set[str]:
        """The unit and every station under it, at any depth (a 戒毒所: itself)."""
        scope, stack = {unit}, [unit]
        while stack:
            for child in self.children(stack.pop()):
                if child.id not in scope:
                    scope.add(child.id)
                    stack.append(child.id)
        return scope

    def persons_of(self, station_id: str) -> list[Person]:
        ids = set(self.service_stations_under(station_id))
        return sorted((p for p in self.persons.values() if p.station in ids), key=lambda p: p.id)

    def unit_name(self, unit_id: str) -> str:
        if unit_id in self.stations:
            return self.stations[unit_id].display_name
        if unit_id in self.institutions:
            return self.institutions[unit_id].name
        return unit_id


RECORD_SUFFIXES = (".yaml", ".yml")


def iter_record_files(paths: list[Path], unreadable: list[Path] | None = None,
                      misnamed: list[Path] | None = None) -> list[Path]:
    """The record files under ``paths`` (hidden files and folders skipped), sorted per path.
    Folders that cannot be listed (no permission …) are appended to ``unreadable``; files that
    look meant as records but are not read for their name (``X.YAML``, ``X.yaml.txt`` as Windows
    Notepad saves them) to ``misnamed``."""
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found: list[Path] = []

            def failed(exc: OSError) -> None:
                if unreadable is not None and exc.filename:
                    unreadable.append(Path(exc.filename))

            for folder, dirs, names in os.walk(p, onerror=failed, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in names:
                    if not name.startswith(".") and name.endswith(RECORD_SUFFIXES):
                        f = Path(folder, name)
                        if f.is_file():
                            found.append(f)
                    elif misnamed is not None and not name.startswith(".") \
                            and name.lower().endswith(_MISNAMED_SUFFIXES):
                        misnamed.append(Path(folder, name))
            files.extend(sorted(found))
        elif p.exists():
            files.append(p)
    return files


_MISNAMED_SUFFIXES = (*RECORD_SUFFIXES, *(f"{s}.txt" for s in RECORD_SUFFIXES))


def misnamed_diagnostics(files: list[Path], base: Path | None) -> list[Diagnostic]:
    out = []
    for f in sorted(files):
        lower = f.name.lower()
        stem = f.name[: -len(".txt")] if lower.endswith(".txt") else f.name
        right = stem[: stem.lower().rindex(".y")] + ".yaml"
        out.append(Diagnostic(_display(f, base), 1, 1, "", f"此文件没有读入：记录文件名须以小写的 .yaml 结尾，"
                              f"请改名为 {right}", "警告"))
    return out


def unreadable_diagnostics(folders: list[Path], base: Path | None) -> list[Diagnostic]:
    return [Diagnostic(_display(d, base), 1, 1, "", "无法读取此目录（没有权限或已损坏），其中的记录文件都没有读入")
            for d in folders]


def _display(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)


# --------------------------------------------------------------------------- pydantic errors


def _unwrap(tp: Any) -> Any:
    """The model class behind Optional[...] / list[...] / Annotated[...]."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if args else tp
            if not args:
                return tp
        else:
            return tp


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    cls: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return None
        for fld in cls.model_fields.values():
            if fld.alias == part:
                cls = _unwrap(fld.annotation)
                break
        else:
            return None
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _aliases(cls: type[BaseModel] | None) -> list[str]:
    if cls is None:
        return []
    return [f.alias for f in cls.model_fields.values() if f.alias]


def _label(loc: tuple) -> str:
    parts = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"第{p + 1}项")
        else:
            parts.append(str(p))
    return " / ".join(parts)


def translate_error(root: type[BaseModel], err: dict[str, Any]) -> tuple[tuple, str]:
    """A pydantic error as (location, Chinese message)."""
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # pydantic puts Literal-union branch names into loc; strip anything that is not ours
    loc = tuple(p for p in loc if isinstance(p, int) or not p.startswith(("literal[", "union[")))
    kind = err["type"]
    inp = err.get("input")
    name = loc[-1] if loc and isinstance(loc[-1], str) else ""
    if kind == "missing":
        return loc, f"缺少必填项“{name}”"
    if kind == "extra_forbidden":
        candidates = _aliases(_model_at(root, loc[:-1]))
        close = difflib.get_close_matches(str(name), candidates, n=1, cutoff=0.4)
        hint = f"，是否想写“{close[0]}”？" if close else f"。此处可填写：{'、'.join(candidates)}"
        return loc, f"未知的项目“{name}”{hint}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        expected = expected.replace("'", "").replace(" or ", "、").replace(", ", "、")
        if loc and loc[-1] == "情形":  # the cases of 5.3 have commas of their own: number them
            listed = "；".join(f"{n}. {g}" for n, g in enumerate(TERMINATION_GROUNDS, 1))
            return loc, f"“{inp}”不是 5.3 的终止情形，应为：{listed}（可只写序号，或“失联”“复吸”“判刑”等简称）"
        return loc, f"“{inp}”不是有效的取值，应为：{expected}"
    if kind == "value_error":
        exc = err.get("ctx", {}).get("error")
        return loc, str(exc) if exc is not None else err["msg"]
    if kind == "string_pattern_mismatch":
        return loc, f"“{inp}”只能由英文字母、数字、连字符和下划线组成"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return loc, "此处应为若干“项目: 值”（映射），而不是单个值或列表"
    if kind == "list_type":
        if isinstance(inp, dict):
            return loc, "此处应为以“- ”开头的列表：每一项前加“- ”（只有一项也要加），该项的其他项目与第一个项目对齐"
        return loc, "此处应为以“- ”开头的列表"
    if kind in ("string_type", "str_type"):
        return loc, "此处应为文字，而不是列表或映射"
    if kind == "string_too_short":
        return loc, "不能为空"
    return loc, f"取值无效（{err.get('msg', kind)}）"


# --------------------------------------------------------------------------- loading


def _load_file(path: Path, base: Path | None, ds: Dataset,
               raw: bytes | None = None) -> tuple[Record, YamlSource] | None:
    """One file parsed and validated (``raw``: its bytes, when the caller read them)."""
    shown = _display(path, base)
    try:
        src = load_yaml(path, raw=raw)
    except YamlSyntaxError as exc:
        ds.diagnostics.append(Diagnostic(shown, exc.line, exc.column, "", exc.message))
        return None
    except OSError as exc:
        ds.diagnostics.append(Diagnostic(shown, 1, 1, "", f"无法读取文件：{exc.strerror}"))
        return None
    data = src.data
    if data == {} or data is None:
        ds.diagnostics.append(Diagnostic(shown, 1, 1, "", "文件是空的（或只有注释）：请填写记录，或删去此文件"))
        return None
    if not isinstance(data, dict):
        ds.diagnostics.append(Diagnostic(shown, 1, 1, "", "文件内容应为若干“项目: 值”（映射）"))
        return None
    kind = data.get("记录类型")
    if kind not in RECORD_TYPES:
        pos = src.position(("记录类型",))
        known = "、".join(RECORD_TYPES)
        guess = guess_record_type(data)
        if kind is None and guess is not None:
            msg = f"缺少“记录类型”：此文件像是{guess}的记录，请在第一行写“记录类型: {guess}”"
        elif kind is None:
            msg = f"缺少“记录类型”，应为：{known}（写在文件第一行，如“记录类型: 照管对象”）"
        else:
            msg = f"“{kind}”不是有效的记录类型，应为：{known}"
        ds.diagnostics.append(Diagnostic(shown, pos.line, pos.column, "记录类型", msg))
        if kind is None and guess is not None:  # the other problems of the file, in the same run
            try:
                RECORD_TYPES[guess].model_validate({"记录类型": guess, **data})
            except ValidationError as exc:
                _validation_errors(RECORD_TYPES[guess], exc, src, shown, ds)
        return None
    cls = RECORD_TYPES[kind]
    try:
        record = cls.model_validate(data)
    except ValidationError as exc:
        _validation_errors(cls, exc, src, shown, ds)
        return None
    return record, src


def _validation_errors(cls: type[Record], exc: ValidationError, src: YamlSource, shown: str, ds: Dataset) -> None:
    """The field errors of a ``cls`` record as diagnostics. A required item reported missing next
    to an unknown item that is most likely it misspelt (出所日期 for 出所时间) is said once, at the
    misspelt item."""
    found = [translate_error(cls, err) + (err["type"],) for err in exc.errors(include_url=False)]
    missing = {loc for loc, _, kind in found if kind == "missing"}
    meant = {loc[:-1] + (_closest(cls, loc),) for loc, _, kind in found if kind == "extra_forbidden"}
    for loc, msg, kind in found:
        if kind == "missing" and loc in meant:
            continue
        if kind == "extra_forbidden" and loc[:-1] + (_closest(cls, loc),) in missing:
            msg += "（这是必填项）"
        pos = src.position(loc)
        ds.diagnostics.append(Diagnostic(shown, pos.line, pos.column, _label(loc), msg))


def _closest(cls: type[Record], loc: tuple) -> str:
    """The item an unknown item ``loc`` was most likely meant to be ('' when none is close)."""
    close = difflib.get_close_matches(str(loc[-1]), _aliases(_model_at(cls, loc[:-1])), n=1, cutoff=0.4)
    return close[0] if close else ""


# Items only one kind of record has: what a file without 记录类型 most likely is
_TELLTALE = (("照管对象", ("身份证号码", "强制隔离戒毒", "户籍所在地", "服务站")),
             ("事件", ("对象",)),
             ("工作日志", ("日志",)),
             ("戒毒所", ("代字", "所长")),
             ("站点", ("上级", "站长", "设区的市", "乡（镇、街道）", "县（市、区）")))


def guess_record_type(data: dict) -> str | None:
    """The record type a file without 记录类型 is written as, when its items say so."""
    for kind, keys in _TELLTALE:
        if any(k in data for k in keys):
            return kind
    return None


def load_records(paths: list[Path], base: Path | None = None, parse=None) -> Dataset:
    """Load every record file under ``paths``; ``base`` makes file names relative in messages.
    ``parse``: what reads one file instead of ``_load_file`` (same arguments, same result: the
    persistent parse cache, ``records.cache``)."""
    ds = Dataset()
    unreadable: list[Path] = []
    misnamed: list[Path] = []
    files = iter_record_files(paths, unreadable, misnamed)
    ds.files = files
    ds.diagnostics.extend(unreadable_diagnostics(unreadable, base))
    ds.diagnostics.extend(misnamed_diagnostics(misnamed, base))
    for p in paths:
        if not p.exists():
            ds.diagnostics.append(Diagnostic(_display(p, base), 1, 1, "", "文件或目录不存在"))
    loaded: list[tuple[Record, YamlSource]] = []
    parse = parse or _load_file
    for path in files:
        result = parse(path, base, ds)
        if result is None:
            ds.bad_files.add(path)
        else:
            loaded.append(result)
    _assemble(loaded, base, ds)
    return ds


def _assemble(loaded: list[tuple[Record, YamlSource]], base: Path | None, ds: Dataset,
              memo: dict | None = None) -> None:
    """The cross-file checks, and event files joined to their persons.

    Without ``memo`` the person records of ``loaded`` are completed in place (their events
    receive the event files' events). With ``memo`` (a dict the caller keeps from one call
    to the next: the watch service's record cache) the records of ``loaded`` are left as
    they are: a person is assembled on a copy, and a person whose record and event files
    are the very same objects as in the previous call is taken from ``memo`` with the
    findings of its event checks, instead of being copied and checked again.
    """
    def diag(src: YamlSource, loc: tuple, msg: str, severity: str = "错误") -> None:
        pos = src.position(loc)
        ds.diagnostics.append(Diagnostic(_display(src.path, base), pos.line, pos.column, _label(loc), msg, severity))

    first_seen: dict[tuple[str, str], YamlSource] = {}
    unvalidated = sorted(ds.bad_files)  # (files refused below as duplicates are not among them)

    def claim(kind: str, key: str, src: YamlSource, loc: tuple, what: str) -> bool:
        prior = first_seen.get((kind, key))
        if prior is not None and prior.path != src.path:
            diag(src, loc, f"{what}与 {_display(prior.path, base)} 重复：同一{kind}只能有一个记录文件")
            ds.bad_files.add(src.path)
            return False
        first_seen[(kind, key)] = src
        return True

    person_src: dict[str, YamlSource] = {}
    event_origin: dict[int, tuple[YamlSource, tuple]] = {}
    event_files: list[tuple[EventFile, YamlSource]] = []
    log_files: list[tuple[WorkLog, YamlSource]] = []
    for record, src in loaded:
        if isinstance(record, Station):
            if claim("站点", record.id, src, ("编号",), f"站点编号“{record.id}”"):
                ds.stations[record.id] = record
                ds.sources[record.id].append(src.path)
        elif isinstance(record, Institution):
            if claim("戒毒所", record.id, src, ("编号",), f"戒毒所编号“{record.id}”") \
                    and claim("戒毒所代字", record.code, src, ("代字",),
                              f"代字“{record.code}”（印在通知书、建议书编号中）"):
                ds.institutions[record.id] = record
                ds.sources[record.id].append(src.path)
        elif isinstance(record, Person):
            ok = claim("照管对象", record.id, src, ("编号",), f"编号“{record.id}”")
            ok = ok and claim("照管对象身份证", record.id_number, src, ("身份证号码",),
                              f"身份证号码 {mask_id(record.id_number)} ")
            if ok:
                ds.persons[record.id] = record
                person_src[record.id] = src
                ds.sources[record.id].append(src.path)
        elif isinstance(record, EventFile):
            event_files.append((record, src))
        elif isinstance(record, WorkLog):
            log_files.append((record, src))

    def missing_unit(what: str, uid: str, hint: str = "") -> str:
        """Why a referenced station or institution is not there: its own file is broken (station
        and institution files are named by their 编号), else it does not exist."""
        broken = sorted(_display(b, base) for b in ds.bad_files if b.stem == uid)
        if broken:
            return f"{what}“{uid}”的记录文件 {'、'.join(broken)} 有错，先改正它"
        return f"{what}“{uid}”不存在{hint}"

    def check_station(src: YamlSource, station: str) -> None:
        """A person's 服务站: an existing service station."""
        st = ds.stations.get(station)
        if st is None:
            diag(src, ("服务站",), missing_unit("服务站", station, station_hint(ds, station, "服务站")))
        elif st.kind != "服务站":
            diag(src, ("服务站",), f"“{station}”是{st.kind}，此处应填写服务站的编号")

    def institution_hint(given: str) -> str:
        """A 戒毒所 written by its 代字 or name instead of its 编号."""
        for inst in ds.institutions.values():
            if given and (given == getattr(inst, "code", None) or given in inst.name):
                return f"（是否想写 {inst.id}？{inst.name}的编号是 {inst.id}）"
        return ""

    # units: parents and naming hierarchy
    for st in list(ds.stations.values()):
        src = first_seen[("站点", st.id)]
        if st.parent:
            parent = ds.stations.get(st.parent)
            want = {"工作站": "指导站", "服务站": "工作站"}.get(st.kind)
            if parent is None:
                diag(src, ("上级",), missing_unit("上级站点", st.parent, station_hint(ds, st.parent, want)))
            elif parent.kind != want:
                diag(src, ("上级",), f"{st.kind}的上级应为{want}，“{st.parent}”是{parent.kind}")
            elif parent.city != st.city:
                diag(src, ("设区的市",), f"与上级站点“{parent.id}”的设区的市（{parent.city}）不一致")
            elif st.kind == "服务站" and parent.county != st.county:
                diag(src, ("县（市、区）",), f"与上级工作站“{parent.id}”的县（市、区）（{parent.county}）不一致")
    # event files join their person
    joins: dict[str, list[tuple[EventFile, YamlSource]]] = defaultdict(list)
    for ef, src in event_files:
        if ef.person not in ds.persons:
            broken = sorted(_display(b, base) for b in ds.bad_files if b.stem.split("-")[0] == ef.person)
            if broken:
                diag(src, ("对象",), f"照管对象“{ef.person}”的记录文件 {'、'.join(broken)} 有错，"
                                     "先改正它，这些事件才能读入")
            else:
                diag(src, ("对象",), f"照管对象“{ef.person}”不存在{person_hint(ds, ef.person)}")
            continue
        joins[ef.person].append((ef, src))
        ds.sources[ef.person].append(src.path)
    for wl, src in log_files:
        if wl.station not in ds.stations:
            diag(src, ("站点",), missing_unit("站点", wl.station, station_hint(ds, wl.station)))
            continue
        ds.logs.setdefault(wl.station, []).extend(wl.entries)
        ds.sources[f"log:{wl.station}"].append(src.path)
    for entries in ds.logs.values():
        entries.sort(key=lambda e: e.date)

    # files that did not validate: their references and unique keys are checked as well, so
    # that a clerk sees every problem of a file in one run, not the next one after fixing the first
    flagged: dict[str, set[str]] = defaultdict(set)  # file -> fields that have an error of their own
    for d in ds.diagnostics:
        flagged[d.file].add(d.field)
    for path in unvalidated:
        _check_unvalidated(path, base, ds, first_seen, diag, missing_unit, institution_hint, check_station,
                           flagged[_display(path, base)])

    # persons: references and event consistency
    fresh_memo: dict[str, tuple] = {}
    today = dt.date.today()  # the warnings about future dates change at midnight
    for pid, record in list(ds.persons.items()):
        src = person_src[pid]
        person = record
        check_station(src, person.station)
        if person.detention.institution not in ds.institutions:
            diag(src, ("强制隔离戒毒", "戒毒所"),
                 missing_unit("戒毒所", person.detention.institution, institution_hint(person.detention.institution)))
        if person.cultivation and person.cultivation.unit not in ds.stations \
                and person.cultivation.unit not in ds.institutions:
            diag(src, ("典型培育", "培育单位"), f"培育单位“{person.cultivation.unit}”不是已有的戒毒所或站点")
        signature = (record, *(ef for ef, _ in joins.get(pid, ())))
        hit = memo.get(pid) if memo is not None else None
        if hit is not None and len(hit[0]) == len(signature) and hit[3] == today \
                and all(a is b for a, b in zip(hit[0], signature)):
            person, found = hit[1], hit[2]
        else:
            if memo is not None:  # the caller's records stay as they are
                person = record.model_copy(update={"events": list(record.events)})
            # where each event was written (a person's own file or an event file), for messages
            for i, ev in enumerate(record.events):
                event_origin[id(ev)] = (src, ("事件", i))
            for ef, esrc in joins.get(pid, ()):
                person.events.extend(ef.events)
                for i, ev in enumerate(ef.events):
                    event_origin[id(ev)] = (esrc, ("事件", i))
            start = len(ds.diagnostics)
            for msg, event, fld in check_events(person):
                esrc, eloc = event_origin.get(id(event), (src, ()))
                diag(esrc, eloc + (fld,), msg)
            for msg, event, fld in event_warnings(person, today):
                esrc, eloc = event_origin.get(id(event), (src, ()))
                diag(esrc, eloc + (fld,), msg, "警告")
            found = ds.diagnostics[start:]
            del ds.diagnostics[start:]
            person.events.sort(key=lambda e: (e.date, EVENT_ORDER.get(e.kind, 50)))
        ds.persons[pid] = person
        ds.diagnostics.extend(found)
        if memo is not None:
            fresh_memo[pid] = (signature, person, found, today)
    if memo is not None:
        memo.clear()
        memo.update(fresh_memo)


def _check_unvalidated(path: Path, base: Path | None, ds: Dataset, first_seen: dict, diag, missing_unit,
                       institution_hint, check_station, flagged: set[str]) -> None:
    """The cross-file checks of a person or event file whose fields did not validate, on what
    it says as written: 服务站, 戒毒所, 对象 that do not exist, 编号 or 身份证号码 already used by
    another file. Fields that already have an error of their own are left to it."""
    try:
        src = load_yaml(path)
    except (YamlSyntaxError, OSError):
        return  # not read as a record at all: its one error says why
    data = src.data
    if not isinstance(data, dict):
        return

    def text(*loc: str) -> str | None:
        value: Any = data
        for key in loc:
            if not isinstance(value, dict):
                return None
            value = value.get(key)
        if _label(loc) in flagged or not isinstance(value, (str, int)) or isinstance(value, bool):
            return None
        return str(value).strip() or None

    kind = data.get("记录类型") or guess_record_type(data)
    if kind == "照管对象":
        pid = text("编号")
        prior = first_seen.get(("照管对象", pid)) if pid else None
        if prior is not None and prior.path != path:
            diag(src, ("编号",), f"编号“{pid}”与 {_display(prior.path, base)} 重复：同一照管对象只能有一个记录文件")
        number = text("身份证号码")
        number = normalize_id(number) if number else None  # as the records that loaded are keyed
        prior = first_seen.get(("照管对象身份证", number)) if number else None
        if prior is not None and prior.path != path:
            diag(src, ("身份证号码",), f"身份证号码 {mask_id(number)} 与 {_display(prior.path, base)} 重复："
                                   "同一照管对象只能有一个记录文件")
        station = text("服务站")
        if station:
            check_station(src, station)
        inst = text("强制隔离戒毒", "戒毒所")
        if inst and inst not in ds.institutions:
            diag(src, ("强制隔离戒毒", "戒毒所"), missing_unit("戒毒所", inst, institution_hint(inst)))
    elif kind == "事件":
        pid = text("对象")
        if pid and pid not in ds.persons and not any(b.stem.split("-")[0] == pid for b in ds.bad_files):
            diag(src, ("对象",), f"照管对象“{pid}”不存在{person_hint(ds, pid)}")


_UNIT_WORDS = ("江苏省", "后续照管", "服务站", "工作站", "指导站", "站")


def _unit_core(text: str) -> str:
    for word in _UNIT_WORDS:
        text = text.replace(word, "")
    return text.strip()


def station_hint(ds: Dataset, given: str, kind: str | None = None) -> str:
    """A station written by its name (宁海路街道服务站, 南京市鼓楼区后续照管工作站) instead of its 编号:
    the 编号 of the one station (of ``kind``) the name fits, else where to look the 编号 up."""
    core = _unit_core(given or "")
    fits = []
    if core:
        for st in ds.stations.values():
            if kind is not None and st.kind != kind:
                continue
            names = {_unit_core(st.display_name), _unit_core(st.standard_name()), st.short}
            if core in names or any(core in n or n in core for n in names if n and len(n) >= 2):
                fits.append(st)
    if len(fits) == 1:
        st = fits[0]
        return f"（此处填写站点的编号，不是名称：是否想写 {st.id}？{st.display_name}的编号是 {st.id}）"
    return "（此处填写站点的编号，可用 docgen units 查看已有站点）"


def person_hint(ds: Dataset, given: str) -> str:
    """A person written by name instead of 编号 in an event file's 对象."""
    ids = sorted(p.id for p in ds.persons.values() if p.name == (given or "").strip())
    if len(ids) == 1:
        return f"（此处填写照管对象的编号，不是姓名：是否想写 {ids[0]}？）"
    if ids:
        return f"（此处填写照管对象的编号，不是姓名：叫{given}的有 {'、'.join(ids)}）"
    return ""


# Same-day events are ordered so that a report comes before the visits of that day, etc.
EVENT_ORDER = {"报到": 0, "恢复联系": 5, "回访": 10, "帮扶": 20, "就业": 30, "未就业": 30,
               "失联": 40, "拒访": 40, "复吸": 60, "强戒": 61, "判处刑罚": 62, "终止": 80,
               "期满": 85, "死亡": 90}


def check_events(person: Person) -> list[tuple[str, Event, str]]:
    """Contradictions between a person's events: (message, offending event, field)."""
    problems: list[tuple[str, Event, str]] = []
    release = person.detention.release
    events = sorted(person.events, key=lambda e: (e.date, EVENT_ORDER.get(e.kind, 50)))
    reports = [e for e in events if e.kind == "报到"]
    deaths = [e for e in events if e.kind == "死亡"]
    for e in reports:
        if e.date < release:
            problems.append((f"报到日期 {e.date} 早于出所时间 {release}", e, "日期"))
    if len(reports) > 1:
        problems.append(("同一人只能有一次“报到”", reports[1], "类型"))
    if len(deaths) > 1:
        problems.append(("同一人不能有两次“死亡”", deaths[1], "类型"))
    if deaths:
        died = deaths[0].date
        for e in events:
            if e.kind != "死亡" and e.date > died:
                problems.append((f"“{e.kind}”发生在死亡（{died}）之后", e, "日期"))
    for e in events:
        if e.kind in ("回访", "帮扶", "失联", "拒访", "恢复联系", "就业", "未就业", "期满", "终止", "复吸", "强戒") \
                and e.date < release:
            problems.append((f"“{e.kind}”日期 {e.date} 早于出所时间 {release}", e, "日期"))
        if e.kind == "期满" and not reports:
            problems.append(("没有“报到”就不能“期满”", e, "类型"))
    problems.extend(_check_contact_and_closure(events, release))
    # the same event entered twice (e.g. in the person's file and in an event file) would count twice;
    # events are compared field by field only with the earlier ones of the same kind and day
    same_day: dict[tuple, list[Event]] = {}
    for e in events:
        earlier = same_day.setdefault((e.kind, e.date), [])
        if earlier:
            key = _event_key(e)
            if any(_event_key(x) == key for x in earlier):
                problems.append((f"与同日的另一条“{e.kind}”完全相同（重复录入会重复统计）：删去其中一条", e, "类型"))
                continue
        earlier.append(e)
    return problems


def _event_key(e: Event) -> str:
    return repr(sorted(e.model_dump(exclude_none=True).items()))


def event_warnings(person: Person, today: dt.date | None = None) -> list[tuple[str, Event, str]]:
    """Likely slips that are not contradictions: (message, event, field), reported as 警告."""
    today = today or dt.date.today()
    warnings: list[tuple[str, Event, str]] = []
    events = sorted(person.events, key=lambda e: (e.date, EVENT_ORDER.get(e.kind, 50)))
    for e in events:
        if e.date > today:
            warnings.append((f"“{e.kind}”日期 {e.date} 晚于今天：尚未发生的事件不应录入", e, "日期"))
        elif e.recorded and e.recorded > today:
            warnings.append((f"“{e.kind}”的录入日期 {e.recorded} 晚于今天：请写实际录入的日期", e, "录入日期"))
    for e in events:
        stray = [label for attr, label in _EVENT_LABELS.items()
                 if attr in e.model_fields_set and attr not in _EVENT_FIELDS.get(e.kind, ())]
        if stray:
            names = "、".join(f"“{label}”" for label in stray)
            warnings.append((f"{names}不属于“{e.kind}”事件，不会印在任何表上：请检查事件类型，或删去此项", e,
                             stray[0]))
        if e.kind == "终止" and e.ground == "连续3个月联系不上或拒绝回访":
            lost = [x for x in events if x.kind in ("失联", "拒访") and x.date <= e.date]
            back = [x for x in events if x.kind == "恢复联系" and lost and lost[-1].date <= x.date <= e.date]
            since = lost[-1].date if lost and not back else None
            if since is None or e.date < add_months(since, 3):
                when = f"自{lost[-1].kind} {since} 起不满 3 个月" if since else "此前没有失联或拒访的记录"
                warnings.append((f"以“连续3个月联系不上或拒绝回访”终止，但{when}：请核对日期或情形", e, "情形"))
    report = next((e for e in events if e.kind == "报到"), None)
    months = (term_months(person.rehab.term) or 12) if person.rehab is not None else 12
    start = report.date if report else person.detention.release
    last = add_months(start, months) - dt.timedelta(days=1)
    for e in events:
        if e.kind == "期满" and e.date < last:
            warnings.append((f"“期满”日期 {e.date} 早于照管期限的最后一天 {last}"
                             f"（自{'报到' if report else '出所'} {start} 起 {months} 个月）：请核对日期", e, "日期"))
    return warnings


# What each kind of event may carry besides 类型, 日期 and 录入日期 (docs/records.md): anything
# else is printed on no form, and is most likely written under the wrong event.
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "报到": ("thoughts_state", "thoughts", "notes"),  # X4: the first talk
    "回访": ("method", "visitor", "abstinence", "thoughts", "family", "social", "employment"),
    "帮扶": ("help_kind", "need", "handler", "opinion", "responsible", "outcome", "amount", "notes"),
    **{k: ("facts", "notes") for k in ("失联", "拒访", "恢复联系", "复吸", "强戒", "判处刑罚", "所外就医", "死亡")},
    "终止": ("ground", "facts", "notes"),
    "期满": ("abstinence", "thoughts", "thoughts_state", "social", "appraisal", "notes"),
    "就业": ("job_kind", "referred", "notes"),
    "未就业": ("reason", "notes"),
    "典型培育结束": ("notes",),
    "典型培育延长": ("new_end", "notes"),
}
_EVENT_LABELS = {name: (info.alias or name) for name, info in Event.model_fields.items()
                 if name not in ("kind", "date", "recorded")}

# Events that mean the station still works with the person: none may follow a termination.
_CARE_EVENTS = ("报到", "回访", "帮扶", "失联", "拒访", "恢复联系", "就业", "未就业", "期满")


def _check_contact_and_closure(events: list[Event], release) -> list[tuple[str, Event, str]]:
    """恢复联系 needs an open 失联/拒访; one 终止 and one 期满 at most, nothing of care after 终止;
    所外就医 happens before release (lifecycle rules, see ``model.lifecycle``)."""
    problems: list[tuple[str, Event, str]] = []
    lost = False
    for e in events:
        if e.kind in ("失联", "拒访"):
            lost = True
        elif e.kind == "恢复联系":
            if not lost:
                problems.append(("“恢复联系”之前没有未恢复的“失联”或“拒访”", e, "类型"))
            lost = False
        elif e.kind == "所外就医" and e.date > release:
            problems.append((f"“所外就医”日期 {e.date} 晚于出所时间 {release}（所外就医发生在强制隔离戒毒期间）", e, "日期"))
    for kind in ("终止", "期满"):
        same = [e for e in events if e.kind == kind]
        if len(same) > 1:
            problems.append((f"同一人只能有一次“{kind}”", same[1], "类型"))
    ended = next((e for e in events if e.kind == "终止"), None)
    if ended is not None:
        for e in events:
            if e.kind in _CARE_EVENTS and e.date > ended.date:
                problems.append((f"“{e.kind}”发生在终止协议（{ended.date}）之后", e, "日期"))
    return problems
