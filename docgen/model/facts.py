"""Per-dataset facts the unit tables share: which persons each service station has, which
service stations lie below a station, each person's state at a month end, who was in the
register or in 典型培育 during a month, the month-end snapshot …

Every unit table (forms G L M N O P Q R S) of every unit used to walk all persons for each of
these; with 10,000 persons and ~480 tables that was most of the time of a build. ``facts_for(ds)``
computes each fact once per dataset and hands it to every table and unit.

The facts live on the ``Dataset`` object itself: a dataset is built anew by every load (the
watch service included), so what is cached here can never outlive the records it was computed
from. A dataset whose ``persons`` or ``stations`` mapping was replaced or resized is given new
facts as well.
"""
from __future__ import annotations

import datetime as dt
import weakref
from pathlib import Path
from typing import Any, Callable

from ..records.load import Dataset
from ..records.model import Event, Person, split_address
from .lifecycle import Status, Timeline, status_on, timeline

_ATTR = "_derived_facts"


class Facts:
    """The derived facts of one dataset (computed on first use)."""

    def __init__(self, ds: Dataset):
        # a weak reference: the dataset holds its facts, and a cycle between them would keep a
        # replaced dataset alive until a full collection (the watch service does one only when
        # saves pause)
        self._ds = weakref.ref(ds)
        self._key = self._identity(ds)
        self._memo: dict[Any, Any] = {}
        self._status: dict[tuple[str, dt.date], Status] = {}
        self._timelines: dict[str, Timeline] = {}
        self._kept: list = []  # objects whose id() is part of a memo key, kept alive

    @staticmethod
    def _identity(ds: Dataset) -> tuple:
        return (id(ds.persons), len(ds.persons), id(ds.stations), len(ds.stations), id(ds.institutions),
                len(ds.institutions))

    @property
    def ds(self) -> Dataset:
        ds = self._ds()
        assert ds is not None, "facts of a dataset no longer in use"
        return ds

    def valid_for(self, ds: Dataset) -> bool:
        return self._ds() is ds and self._key == self._identity(ds)

    def memo(self, key, compute: Callable[[], Any]):
        """``compute()`` once per dataset and ``key``."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    # ---- stations
    def children_of(self) -> dict[str, list[str]]:
        """Station id -> the ids of its child stations, sorted."""
        def compute():
            below: dict[str, list[str]] = {}
            for st in self.ds.stations.values():
                if st.parent:
                    below.setdefault(st.parent, []).append(st.id)
            return {k: sorted(v) for k, v in below.items()}
        return self.memo("children", compute)

    def leaves(self, unit: str) -> tuple[str, ...]:
        """The 服务站 at or below ``unit`` (``Dataset.service_stations_under``, in its order)."""
        return self.memo(("leaves", unit), lambda: tuple(self.ds.service_stations_under(unit)))

    def station_tree(self, unit: str) -> tuple[str, ...]:
        """The station and every station below it, sorted (``documents.base.station_tree``)."""
        def compute():
            below = self.children_of()
            out: set[str] = set()
            todo = [unit] if unit in self.ds.stations else []
            while todo:
                sid = todo.pop()
                if sid not in out:
                    out.add(sid)
                    todo.extend(below.get(sid, ()))
            return tuple(sorted(out))
        return self.memo(("tree", unit), compute)

    # ---- persons by station
    def by_station(self) -> dict[str, list[Person]]:
        """服务站 id -> its persons, by 编号."""
        def compute():
            index: dict[str, list[Person]] = {}
            for pid in sorted(self.ds.persons):
                p = self.ds.persons[pid]
                index.setdefault(p.station, []).append(p)
            return index
        return self.memo("by_station", compute)

    def persons_in(self, leaves) -> list[Person]:
        """The persons of the service stations ``leaves``, by 编号 (shared: not to be changed)."""
        leaves = frozenset(leaves)

        def compute():
            index = self.by_station()
            found = [p for sid in leaves for p in index.get(sid, ())]
            found.sort(key=_person_id)
            return found
        return self.memo(("persons_in", leaves), compute)

    def persons_of(self, unit: str) -> list[Person]:
        """``Dataset.persons_of``: the persons of the 服务站 at or below ``unit``, by 编号."""
        return self.memo(("persons_of", unit), lambda: self.persons_in(self.leaves(unit)))

    def cultivated_by(self) -> dict[str, list[Person]]:
        """Cultivating unit id -> the persons whose 典型培育 names it (in the dataset's order)."""
        def compute():
            index: dict[str, list[Person]] = {}
            for p in self.ds.persons.values():
                if p.cultivation:
                    index.setdefault(p.cultivation.unit, []).append(p)
            return index
        return self.memo("cultivated_by", compute)

    # ---- record files
    def record_files(self, *record_ids: str | None) -> list[Path]:
        """``documents.base.record_files``: the sorted unique files the named records were read
        from. Every file gets its rank in that order once per dataset; a table's files are then
        gathered and sorted as numbers (a unit table of a city lists thousands of files)."""
        by_id, files = self.memo("file_ranks", self._file_ranks)
        found: set[int] = set()
        for rid in record_ids:
            if rid:
                found.update(by_id.get(rid, ()))
        return [files[i] for i in sorted(found)]

    def _file_ranks(self) -> tuple[dict[str, tuple[int, ...]], list[Path]]:
        sources = self.ds.sources
        files = sorted({f for paths in sources.values() for f in paths}, key=_path_parts)
        rank = {f: i for i, f in enumerate(files)}
        return {rid: tuple(rank[f] for f in paths) for rid, paths in sources.items()}, files

    # ---- per person
    def timeline(self, person: Person) -> Timeline:
        """``lifecycle.timeline`` of a person of this dataset."""
        tl = self._timelines.get(person.id)
        if tl is None:
            tl = self._timelines[person.id] = timeline(person)
        return tl

    def status(self, person: Person, day: dt.date) -> Status:
        """``lifecycle.status_on`` of a person of this dataset."""
        key = (person.id, day)
        st = self._status.get(key)
        if st is None:
            st = self._status[key] = status_on(person, day, self.timeline(person))
        return st

    def cultivating(self, person: Person, day: dt.date) -> bool:
        """``lifecycle.cultivating_on`` of a person of this dataset."""
        tl = self.timeline(person)
        start, stop = tl.cultivation_start, tl.cultivation_stop
        return start is not None and start <= day and (stop is None or day < stop)

    def household(self, person: Person) -> tuple[str, str, str]:
        """``split_address`` of the person's 户籍所在地: (province, city, county)."""
        key = ("household", person.id)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = split_address(person.household)
        return hit

    # ---- per month
    def registered_during(self, first: dt.date, last: dt.date) -> frozenset[str]:
        """The persons in the register on some day of ``first`` … ``last``."""
        def compute():
            out = set()
            for pid, p in self.ds.persons.items():
                tl = self.timeline(p)
                if tl.entry <= last and (tl.leave is None or tl.leave > first) \
                        and (tl.leave is None or tl.entry < tl.leave):
                    out.add(pid)
            return frozenset(out)
        return self.memo(("registered_during", first, last), compute)

    def cultivated_during(self, first: dt.date, last: dt.date) -> dict[str, str]:
        """{person id: cultivating unit} of the persons in 典型培育 on some day of ``first`` … ``last``."""
        def compute():
            out: dict[str, str] = {}
            for pid, p in self.ds.persons.items():
                if not p.cultivation:
                    continue
                tl = self.timeline(p)
                start, stop = tl.cultivation_start, tl.cultivation_stop
                if start is not None and start <= last and (stop is None or stop > first) \
                        and (stop is None or start < stop):
                    out[pid] = p.cultivation.unit
            return out
        return self.memo(("cultivated_during", first, last), compute)

    def events_between(self, first: dt.date, last: dt.date) -> dict[str, list[Event]]:
        """{person id: their events dated ``first`` … ``last``, in the order of their records}."""
        def compute():
            out: dict[str, list[Event]] = {}
            for pid, p in self.ds.persons.items():
                found = [e for e in p.events if first <= e.date <= last]
                if found:
                    out[pid] = found
            return out
        return self.memo(("events_between", first, last), compute)

    # ---- snapshots ({person id: {"st": station, "p": class, "c": unit}}, computed or frozen)
    def _snapshot_index(self, snap: dict, field: str) -> dict[str, list[tuple[str, dict]]]:
        key = ("snap_index", id(snap), field)
        hit = self._memo.get(key)
        if hit is None:
            self._kept.append(snap)  # its id stays its own while the facts live
            hit = {}
            for pid, m in snap.items():
                hit.setdefault(m.get(field), []).append((pid, m))
            self._memo[key] = hit
        return hit

    def snapshot_items(self, snap: dict, leaves) -> list[tuple[str, dict]]:
        """The (person id, entry) of ``snap`` whose service station is one of ``leaves``."""
        index = self._snapshot_index(snap, "st")
        return [item for sid in set(leaves) for item in index.get(sid, ())]

    def snapshot_cultivated(self, snap: dict, unit: str) -> list[tuple[str, dict]]:
        """The (person id, entry) of ``snap`` cultivated by ``unit``."""
        return self._snapshot_index(snap, "c").get(unit, [])


def _person_id(person: Person) -> str:
    return person.id


def _path_parts(path: Path) -> tuple[str, ...]:
    return path.parts  # Path order: component by component


def facts_for(ds: Dataset) -> Facts:
    """The facts of ``ds``, kept on the dataset object (never shared between datasets)."""
    facts = ds.__dict__.get(_ATTR)
    if facts is None or not facts.valid_for(ds):
        facts = Facts(ds)
        setattr(ds, _ATTR, facts)
    return facts
