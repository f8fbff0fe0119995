"""Monthly statistics computed from the case records: forms P Q R S (stations) and N L
(戒毒所), with the formulas of the standard checked on every row.

Units and rows
--------------
A station's table has one row per child unit (a 工作站's 服务站, a 指导站's 工作站) and a
合计 row; a 服务站's table has its own row. Every row is computed from the persons of the
服务站 below it, so a higher level is exactly the roll-up of the lower ones. Forms N and L
have one row per 戒毒所 (one table per 戒毒所, and a province table with all of them and a
合计 row).

Form P (后续照管数据统计表) — how each figure is read (see ``lifecycle`` for the states)
----------------------------------------------------------------------------------------
* E 本月在册人数: persons in the register at the end of the month. A and B are E and G of the
  previous month's end (its frozen snapshot when that month was frozen).
* C 本月新增 = persons in E now, or in the register at some day of the month, who were not in
  last month's E: 解戒人员 (entered on release) or 所外就医 (entered by 所外就医).
* D 本月减少 = persons in last month's E, or in the register at some day of the month, who
  are not in E now: 死亡, else 照管期满 — which also counts the terminations of 5.3 for
  未按期报到 / 失联拒访 / 其他违约 (the appendix has no other decrease column) and, in January,
  the relapsed or sentenced persons whose care period ran in the previous year (填报说明 4).
  Because C and D are the differences between last month's and this month's register,
  E = A + C − D holds on every row by construction; it is still checked.
* F = 失联 + 拒访 + 尚未报到 (more than 10 days after release without report); persons still
  within the 10 days (待报到) count as actually cared for.
* I = 复吸/强戒 + 判处刑罚 (persons who relapsed or were sentenced while in the register; they stay
  in E for the year, 填报说明 3-4, and are not in F).
* G = E − F, H = G ÷ E, J = G − I, K = J ÷ E; J is split by abstinence time counted from
  leaving the institution to the month end (completed years: 1年以内 < 1, 1-2年, 2-3年,
  3年以上 ≥ 3). Rates are percentages with one decimal (half up); "—" when E is 0.

Q counts the month's 回访 events by the three groups of ``VISIT_GROUPS`` and the 帮扶 events
by category, 救助财物 with person-times and yuan. R (quarterly) takes J at the quarter end
as 保持操守人数 and each such person's latest 就业 / 未就业 event by then. S counts 典型培育
objects of the area by who cultivates them; N and L count those a 戒毒所 cultivates, N by
months of abstinence (3个月以内 = months 1-3 … 10-12个月, then 1年以上 = the second year …
5年以上 = from the sixth year on; the buckets add up to 月末人数), L by the city of the
household register (the 13 cities of Jiangsu; 合计 is their sum).

Frozen months (``freeze``): a frozen month's figures are read back unchanged; records entered
later that change it are reported by ``corrections`` and counted in the next open month, whose
tables P Q S N list what they count of them (``included_corrections``: the note below the
table, frozen with the figures when that month is frozen in turn).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from .period import Period
from ..errors import DocgenError
from ..records.load import Dataset
from ..records.model import (EMPLOYMENT_KINDS, HELP_KINDS, UNEMPLOYMENT_REASONS, VISIT_GROUPS, Event,
                             Person, split_address)
from .facts import Facts, facts_for
from .freeze import StatsStore, store_for
from .lifecycle import full_months, status_on, timeline

JIANGSU_CITIES = ("南京市", "无锡市", "徐州市", "常州市", "苏州市", "南通市", "连云港市", "淮安市", "盐城市",
                  "扬州市", "镇江市", "泰州市", "宿迁市")

P_KEYS = ("A", "B", "C1", "C2", "C", "D1", "D2", "D", "E", "F1", "F2", "F3", "F", "G", "H", "I1", "I2", "I",
          "J1", "J2", "J3", "J4", "J", "K")
P_RATES = ("H", "K")
P_LABELS = {"A": "在册人数(A)", "B": "实际照管人数(B)", "C1": "解戒人员", "C2": "所外就医", "C": "本月新增人数(C)",
            "D1": "照管期满", "D2": "死亡", "D": "本月减少人数(D)", "E": "本月在册人数(E)", "F1": "失联",
            "F2": "拒访", "F3": "尚未报到", "F": "本月异动情况(F)", "G": "本月实际照管人数(G)",
            "H": "本月照管率(H)", "I1": "强戒或者复吸", "I2": "判处刑罚", "I": "未能保持操守人数(I)",
            "J1": "1年以内", "J2": "1-2年", "J3": "2-3年", "J4": "3年以上", "J": "操守保持人数(J)",
            "K": "操守保持率(K)"}
CLASS_NAMES = {"F1": "失联", "F2": "拒访", "F3": "尚未报到", "I1": "复吸/强戒", "I2": "判处刑罚",
               "J1": "在册（操守保持1年以内）", "J2": "在册（操守保持1-2年）", "J3": "在册（操守保持2-3年）",
               "J4": "在册（操守保持3年以上）", None: "不在册"}
VISIT_COLUMNS = ("电话回访", "见面回访", "其他形式")
N_BUCKETS = ("3个月以内", "4-6个月", "7-9个月", "10-12个月", "1年以上", "2年以上", "3年以上", "4年以上", "5年以上")
STOP_REASONS = {"典型培育结束": "培育结束", "死亡": "死亡", "复吸": "复吸", "强戒": "强戒", "判处刑罚": "判处刑罚",
                "终止": "终止协议"}
PROVINCE = "province"  # unit key of the province-wide N and L tables


# --------------------------------------------------------------------------- helpers


def pct(num: int, den: int) -> str:
    """A rate as a percentage with one decimal, half up: 85.0%; — when the base is 0."""
    if not den:
        return "—"
    value = (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def money(value: float) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def p_class(person: Person, day: dt.date, facts: Facts | None = None) -> str | None:
    """The person's class in form P at the end of ``day``: F1-F3, I1-I2, J1-J4, or None (not in E)."""
    st = facts.status(person, day) if facts is not None else status_on(person, day)
    if not st.in_register:
        return None
    if st.group == "F":
        return {"失联": "F1", "拒访": "F2", "尚未报到": "F3"}[st.state]
    if st.group == "I":
        return "I1" if st.state == "复吸/强戒" else "I2"
    years = full_months((facts.timeline(person) if facts is not None else timeline(person)).entry, day) // 12
    return f"J{min(years, 3) + 1}"


def in_register_during(person: Person, first: dt.date, last: dt.date) -> bool:
    tl = timeline(person)
    return tl.entry <= last and (tl.leave is None or tl.leave > first) and (tl.leave is None or tl.entry < tl.leave)


def cultivated_during(person: Person, first: dt.date, last: dt.date) -> bool:
    tl = timeline(person)
    start, stop = tl.cultivation_start, tl.cultivation_stop
    return start is not None and start <= last and (stop is None or stop > first) and (stop is None or start < stop)


def event_key(e: Event) -> str:
    """What identifies a 回访 or 帮扶 event in the figures of its month (kept when the month is
    frozen): its date, kind, and the column it counts in."""
    return f"{e.date.isoformat()}|{e.kind}|{e.method or ''}|{e.help_kind or ''}|{e.amount or ''}"


def compute_snapshot(ds: Dataset, day: dt.date) -> dict:
    """{person id: {"st": station, "p": form-P class, "c": cultivating unit}} at the end of ``day``
    (computed once per dataset and day: shared, never to be changed by the caller)."""
    facts = facts_for(ds)

    def compute() -> dict:
        snap: dict[str, dict] = {}
        for pid, person in sorted(ds.persons.items()):
            p = p_class(person, day, facts)
            c = person.cultivation.unit if person.cultivation and facts.cultivating(person, day) else None
            if p or c:
                snap[pid] = {"st": person.station, "p": p, "c": c}
        return snap
    return facts.memo(("snapshot", day), compute)


@dataclass
class StatTable:
    """One statistical form for one unit and period: rows, a total and what the clerk should know."""

    form: str
    unit: str
    period: str
    rows: list[dict]  # {"unit": id, "name": label, "values": {...}}
    total: dict | None  # values of the 合计 row (None: the form has no 合计 row here)
    columns: list[str] = field(default_factory=list)  # form S: the 戒毒所 ids of the 各所新增 columns
    frozen: bool = False
    frozen_on: str | None = None
    # the corrections of frozen months that these figures count (``Statistics.included_corrections``):
    # printed below the table, stored with the figures when the month is frozen
    corrections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_data(self) -> dict:
        return {"form": self.form, "unit": self.unit, "period": self.period, "rows": self.rows,
                "total": self.total, "columns": self.columns, "warnings": self.warnings,
                "corrections": self.corrections}

    @classmethod
    def from_data(cls, data: dict) -> "StatTable":
        return cls(form=data["form"], unit=data["unit"], period=data["period"], rows=data["rows"],
                   total=data.get("total"), columns=data.get("columns", []), warnings=data.get("warnings", []),
                   corrections=data.get("corrections", []))


def _sum_rows(rows: list[dict], keys) -> dict:
    total: dict = {}
    for k in keys:
        vals = [r["values"].get(k, 0) for r in rows]
        if all(isinstance(v, (int, float)) for v in vals):
            total[k] = sum(vals)
    return total


# --------------------------------------------------------------------------- formula checks


def check_p(values: dict, where: str) -> None:
    """The formulas of form P (填报说明 2) and the sub-totals; a failure is a hard error."""
    v = values
    checks = [
        ("C=解戒人员+所外就医", v["C"] == v["C1"] + v["C2"]),
        ("D=照管期满+死亡", v["D"] == v["D1"] + v["D2"]),
        ("F=失联+拒访+尚未报到", v["F"] == v["F1"] + v["F2"] + v["F3"]),
        ("I=强戒或者复吸+判处刑罚", v["I"] == v["I1"] + v["I2"]),
        ("J=1年以内+1-2年+2-3年+3年以上", v["J"] == v["J1"] + v["J2"] + v["J3"] + v["J4"]),
        ("E=A+C-D", v["E"] == v["A"] + v["C"] - v["D"]),
        ("G=E-F", v["G"] == v["E"] - v["F"]),
        ("J=G-I", v["J"] == v["G"] - v["I"]),
        ("H=G÷E", v["H"] == pct(v["G"], v["E"])),
        ("K=J÷E", v["K"] == pct(v["J"], v["E"])),
        ("B=上月G", v["B"] <= v["A"]),
    ]
    for name, ok in checks:
        if not ok:
            shown = "，".join(f"{k}={v[k]}" for k in P_KEYS if k in v)
            raise DocgenError(f"后续照管数据统计表 {where}：公式 {name} 不成立（{shown}）。请检查记录后重新统计")
    if any(isinstance(v[k], int) and v[k] < 0 for k in P_KEYS if k not in P_RATES):
        raise DocgenError(f"后续照管数据统计表 {where}：出现负数，请检查记录后重新统计")


def check_table(table: StatTable) -> None:
    """Every formula of the table's form, on every row and the 合计 row; totals add up."""
    rows = [(r["name"], r["values"]) for r in table.rows]
    if table.total is not None:
        rows.append(("合计", table.total))
    f = table.form
    for name, v in rows:
        where = f"{table.period} {name}"
        if f == "P":
            check_p(v, where)
        elif f == "R":
            ok = v["已就业"] == sum(v[k] for k in EMPLOYMENT_KINDS) and v["再就业率"] == pct(v["已就业"], v["保持操守"]) \
                and v["已就业"] + sum(v[k] for k in UNEMPLOYMENT_REASONS) <= v["保持操守"] and v["推荐就业"] <= v["已就业"]
            if not ok:
                raise DocgenError(f"照管对象再就业情况统计表 {where}：再就业率=已就业合计数÷保持操守人数×100 等公式不成立")
        elif f == "S":
            new = v["三级站新增"] + sum(v.get(f"新增:{i}", 0) for i in table.columns)
            ok = v["上月末合计"] == sum(v[k] for k in ("上月末戒毒所", "上月末指导站", "上月末工作站", "上月末服务站")) \
                and v["月末"] == v["上月末合计"] + new - v["减少"] and v["一年以内"] + v["一年以上"] == v["月末"]
            if not ok:
                raise DocgenError(f"戒毒典型培育人数统计表 {where}：公式 月末培育总数=上月末人数(合计)+本站新增人数+"
                                  "各所新增人数-本月减少人数 不成立")
        elif f == "N":
            ok = v["月末"] == v["上月末"] + v["新增"] - v["减少"] and sum(v[b] for b in N_BUCKETS) == v["月末"]
            if not ok:
                raise DocgenError(f"戒毒典型培育操守保持情况统计表 {where}：月末人数=上月末人数+本月新增-本月减少 不成立")
        elif f == "L":
            if v["合计"] != sum(v[c] for c in JIANGSU_CITIES):
                raise DocgenError(f"戒毒典型培育对象地区分布统计表 {where}：合计与各市之和不符")
        elif f == "Q":
            if any(isinstance(x, (int, float)) and x < 0 for x in v.values()):
                raise DocgenError(f"回访帮扶情况统计表 {where}：出现负数")
    if table.total is not None and table.rows:
        summed = _sum_rows(table.rows, table.total.keys())
        for k, val in summed.items():
            if k in table.total and isinstance(val, (int, float)) and round(val, 2) != round(table.total[k], 2):
                raise DocgenError(f"表 {f} {table.period}：合计行“{k}”不等于各行之和")


# --------------------------------------------------------------------------- the engine


class Statistics:
    """Statistics of one dataset; frozen months come from ``store`` (the workspace database)."""

    def __init__(self, ds: Dataset, store: StatsStore | None = None, use_store: bool = True):
        self.ds = ds
        self.store = store if store is not None else (store_for(ds) if use_store else None)
        self._snapshots: dict[str, dict] = {}
        self._computed: dict[str, dict] = {}
        self._frozen_dates: dict[str, dt.date] | None = None
        self._late: dict[tuple, list] = {}
        self._diffs: dict[str, list[tuple[str, dict, dict]]] = {}

    @property
    def facts(self) -> Facts:
        """What the records say, derived once per dataset and shared by every table and unit."""
        return facts_for(self.ds)

    # ---- units
    def row_units(self, unit: str) -> list[str]:
        st = self.ds.stations.get(unit)
        if st is None:
            raise DocgenError(f"单位“{unit}”不存在（可用 docgen units 查看已有站点）")
        if st.kind == "服务站":
            return [unit]
        return [c.id for c in self.ds.children(unit)]

    def leaves(self, unit: str) -> set[str]:
        return set(self.facts.leaves(unit))

    def institutions(self) -> list[str]:
        return sorted(self.ds.institutions)

    def unit_kind(self, uid: str | None) -> str:
        if uid in self.ds.institutions:
            return "戒毒所"
        st = self.ds.stations.get(uid or "")
        return st.kind if st else "服务站"

    # ---- snapshots
    def frozen(self, period: Period) -> bool:
        return self.store is not None and self.store.snapshot(period.key) is not None

    def computed_snapshot(self, month: Period) -> dict:
        key = month.key
        if key not in self._computed:
            self._computed[key] = compute_snapshot(self.ds, month.last_day)
        return self._computed[key]

    def frozen_dates(self) -> dict[str, dt.date]:
        """{month key: the day it was frozen} of every frozen month."""
        if self._frozen_dates is None:
            months = self.store.months() if self.store is not None else []
            self._frozen_dates = {key: dt.date.fromisoformat(on) for key, on in months}
        return self._frozen_dates

    def late_events(self, month: Period, kinds: tuple[str, ...] = ("回访", "帮扶"),
                    leaves: set[str] | None = None) -> list[tuple[Person, Event, Period]]:
        """(person, event, its frozen month) of the events of ``kinds`` dated in a frozen month
        before ``month`` and recorded (录入日期) after that month was frozen, whose first open
        month is ``month``: the frozen figures do not have them, so they count here (README:
        冻结后补录的事件……计入下一个未冻结月份). Counted only when recorded strictly later than the
        freeze: what was entered on the day of freezing was in the frozen figures."""
        frozen = self.frozen_dates()
        if not frozen or month.month is None or month.key in frozen:
            return []
        key = (month.key, kinds)
        if key not in self._late:  # once per month: every row of every table asks
            self._late[key] = self._find_late_events(month, kinds, frozen)
        return [t for t in self._late[key] if leaves is None or t[0].station in leaves]

    def _find_late_events(self, month: Period, kinds: tuple[str, ...],
                          frozen: dict[str, dt.date]) -> list[tuple[Person, Event, Period]]:
        out = []
        lists: dict[tuple[str, str], dict | None] = {}  # (table, frozen month) -> {person: [event key]}
        left: dict[tuple[str, str], list[str]] = {}  # (table, frozen month) -> this person's keys not yet matched

        def take(table: str, key: str, pid: str, e: Event) -> bool | None:
            """Whether the frozen month ``key`` counted ``e`` (dated in it: ``counted``; late from an
            earlier month: ``carried``), each stored key matching one event; None: not kept."""
            if (table, key) not in lists:
                store = self.store
                lists[(table, key)] = None if store is None else (
                    store.counted(key) if table == "counted" else store.carried(key))
            known = lists[(table, key)]
            if known is None:
                return None
            keys = left.setdefault((table, key), list(known.get(pid, [])))
            if event_key(e) in keys:
                keys.remove(event_key(e))
                return True
            return False

        for pid, person in sorted(self.ds.persons.items()):
            left.clear()
            for e in sorted(person.events, key=lambda e: (e.date, e.kind)):
                if e.kind not in kinds or e.date >= month.first_day:
                    continue
                home = Period(e.date.year, month=e.date.month)
                on = frozen.get(home.key)
                if on is None:
                    continue
                # the frozen figures name what they counted: whatever else is dated in that
                # month came in later, whatever its 录入日期 says (a clerk adding a forgotten
                # visit rarely writes one)
                known = take("counted", home.key, pid, e)
                if known or (known is None and (e.recorded is None or e.recorded <= on)):
                    continue  # counted; or a month frozen before the counted events were kept: by 录入日期
                # the first open month after ``home`` counts it; a month frozen since then has
                target = _next_month(home)
                while target.key in frozen:
                    taken = take("carried", target.key, pid, e)
                    if taken or (taken is None and e.recorded is not None and e.recorded <= frozen[target.key]):
                        break  # (a month frozen before docgen kept what it carried: by 录入日期)
                    target = _next_month(target)
                else:
                    if target == month:
                        out.append((person, e, home))
        return out

    def snapshot(self, month: Period) -> dict:
        """The month-end snapshot: as frozen, else computed from the records."""
        key = month.key
        if key not in self._snapshots:
            frozen = self.store.snapshot(key) if self.store is not None else None
            self._snapshots[key] = frozen if frozen is not None else self.computed_snapshot(month)
        return self._snapshots[key]

    def _persons_in(self, leaves: set[str]) -> list[Person]:
        """The persons of the service stations ``leaves``, by 编号."""
        return self.facts.persons_in(leaves)

    # ---- P
    def p_values(self, leaves: set[str], month: Period, cur_snap: dict | None = None) -> dict:
        first, last = month.first_day, month.last_day
        prev = self.snapshot(month.previous_month())
        cur = cur_snap if cur_snap is not None else self.computed_snapshot(month)
        facts = self.facts
        prev_in = {pid: m["p"] for pid, m in facts.snapshot_items(prev, leaves) if m["p"]}
        cur_in = {pid: m["p"] for pid, m in facts.snapshot_items(cur, leaves) if m["p"]}
        registered = facts.registered_during(first, last)
        during = {p.id for p in self._persons_in(leaves) if p.id in registered}
        touched = set(prev_in) | set(cur_in) | during
        v = {k: 0 for k in P_KEYS if k not in P_RATES}
        v["A"] = len(prev_in)
        v["B"] = sum(1 for c in prev_in.values() if not c.startswith("F"))
        for pid in touched - set(prev_in):
            person = self.ds.persons.get(pid)
            kind = self.facts.timeline(person).entry_kind if person is not None else "解戒人员"
            v["C2" if kind == "所外就医" else "C1"] += 1
        for pid in touched - set(cur_in):
            person = self.ds.persons.get(pid)
            tl = self.facts.timeline(person) if person is not None else None
            died = tl is not None and tl.leave_kind == "死亡" and tl.leave is not None and tl.leave <= last
            v["D2" if died else "D1"] += 1
        for c in cur_in.values():
            v[c] += 1
        return _p_derive(v)

    def table_p(self, unit: str, month: Period) -> StatTable:
        return self._table("P", unit, month, lambda leaves: self.p_values(leaves, month))

    # ---- Q
    def q_values(self, leaves: set[str], month: Period) -> dict:
        first, last = month.first_day, month.last_day
        v: dict = {k: 0 for k in VISIT_COLUMNS}
        v.update({k: 0 for k in HELP_KINDS if k != "救助财物"})
        v["救助财物人次"] = 0
        v["救助财物金额"] = 0.0

        def count(e: Event) -> None:
            if e.kind == "回访" and e.method:
                v[VISIT_GROUPS[e.method]] += 1
            elif e.kind == "帮扶" and e.help_kind:
                if e.help_kind == "救助财物":
                    v["救助财物人次"] += 1
                    v["救助财物金额"] = round(v["救助财物金额"] + (e.amount or 0.0), 2)
                else:
                    v[e.help_kind] += 1

        dated = self.facts.events_between(first, last)
        for p in self._persons_in(leaves):
            for e in dated.get(p.id, ()):
                count(e)
        for _, e, _ in self.late_events(month, leaves=leaves):  # recorded after their month was frozen
            count(e)
        v["回访合计"] = sum(v[k] for k in VISIT_COLUMNS)
        v["帮扶合计"] = sum(v[k] for k in HELP_KINDS if k != "救助财物") + v["救助财物人次"]
        return v

    def table_q(self, unit: str, month: Period) -> StatTable:
        return self._table("Q", unit, month, lambda leaves: self.q_values(leaves, month))

    # ---- R
    def r_values(self, leaves: set[str], quarter: Period) -> dict:
        month = quarter.as_month()
        day = month.last_day
        snap = self.snapshot(month)
        keep = [pid for pid, m in snap.items() if m["st"] in leaves and m["p"] and m["p"].startswith("J")]
        v: dict = {"保持操守": len(keep)}
        v.update({k: 0 for k in EMPLOYMENT_KINDS})
        v.update({k: 0 for k in UNEMPLOYMENT_REASONS})
        v["推荐就业"] = 0
        for pid in keep:
            person = self.ds.persons.get(pid)
            if person is None:
                continue
            latest = None
            for e in sorted(person.events, key=lambda e: e.date):
                if e.date <= day and e.kind in ("就业", "未就业"):
                    latest = e
            if latest is None:
                continue
            if latest.kind == "就业" and latest.job_kind:
                v[latest.job_kind] += 1
                v["推荐就业"] += 1 if latest.referred else 0
            elif latest.kind == "未就业" and latest.reason:
                v[latest.reason] += 1
        v["已就业"] = sum(v[k] for k in EMPLOYMENT_KINDS)
        v["再就业率"] = pct(v["已就业"], v["保持操守"])
        return v

    def table_r(self, unit: str, quarter: Period) -> StatTable:
        if quarter.quarter is None:
            raise DocgenError("照管对象再就业情况统计表按季度统计，请写季度，如 --month 2026-Q4")
        return self._table("R", unit, quarter, lambda leaves: self.r_values(leaves, quarter))

    # ---- S
    def s_values(self, leaves: set[str], month: Period, cur_snap: dict | None = None) -> dict:
        first, last = month.first_day, month.last_day
        prev = self.snapshot(month.previous_month())
        cur = cur_snap if cur_snap is not None else self.computed_snapshot(month)
        facts = self.facts
        prev_c = {pid: m["c"] for pid, m in facts.snapshot_items(prev, leaves) if m["c"]}
        cur_c = {pid: m["c"] for pid, m in facts.snapshot_items(cur, leaves) if m["c"]}
        cultivated = facts.cultivated_during(first, last)
        during = {p.id: cultivated[p.id] for p in self._persons_in(leaves) if p.id in cultivated}
        touched = {**during, **prev_c, **cur_c}
        v: dict = {"上月末戒毒所": 0, "上月末指导站": 0, "上月末工作站": 0, "上月末服务站": 0}
        for uid in prev_c.values():
            v[f"上月末{self.unit_kind(uid)}"] += 1
        v["上月末合计"] = len(prev_c)
        v["三级站新增"] = 0
        for inst in self.institutions():
            v[f"新增:{inst}"] = 0
        for pid in sorted(set(touched) - set(prev_c)):
            uid = touched[pid]
            if uid in self.ds.institutions:
                v[f"新增:{uid}"] = v.get(f"新增:{uid}", 0) + 1
            else:
                v["三级站新增"] += 1
        gone = sorted(set(touched) - set(cur_c))
        v["减少"] = len(gone)
        v["月末"] = len(cur_c)
        v["一年以内"] = v["一年以上"] = 0
        for pid in cur_c:
            person = self.ds.persons.get(pid)
            months = full_months(self.facts.timeline(person).entry, last) if person is not None else 0
            v["一年以内" if months < 12 else "一年以上"] += 1
        v["备注"] = self._reasons(gone, last)
        return v

    def _reasons(self, gone: list[str], last: dt.date) -> str:
        if not gone:
            return ""
        parts = []
        for pid in gone:
            person = self.ds.persons.get(pid)
            if person is None:
                parts.append(f"{pid}（记录已删除）")
                continue
            tl = self.facts.timeline(person)
            if tl.cultivation_stop is not None and tl.cultivation_stop <= last + dt.timedelta(days=1):
                why = STOP_REASONS.get(tl.cultivation_stop_reason, "培育结束")
            else:
                why = "记录更正"
            parts.append(f"{person.name}（{why}）")
        return "减少：" + "、".join(parts)

    def table_s(self, unit: str, month: Period) -> StatTable:
        t = self._table("S", unit, month, lambda leaves: self.s_values(leaves, month))
        return t

    # ---- N and L (戒毒所)
    def n_values(self, inst: str, month: Period) -> dict:
        first, last = month.first_day, month.last_day
        prev = self.snapshot(month.previous_month())
        cur = self.computed_snapshot(month)
        facts = self.facts
        prev_c = {pid for pid, _ in facts.snapshot_cultivated(prev, inst)}
        cur_c = {pid for pid, _ in facts.snapshot_cultivated(cur, inst)}
        during = {pid for pid, unit in facts.cultivated_during(first, last).items() if unit == inst}
        touched = prev_c | cur_c | during
        v: dict = {"上月末": len(prev_c), "新增": len(touched - prev_c), "减少": len(touched - cur_c),
                   "月末": len(cur_c)}
        for b in N_BUCKETS:
            v[b] = 0
        for pid in cur_c:
            person = self.ds.persons[pid]
            m = full_months(self.facts.timeline(person).entry, last)
            idx = m // 3 if m < 12 else min(3 + m // 12, 8)
            v[N_BUCKETS[idx]] += 1
        v["减少原因"] = self._reasons(sorted(touched - cur_c), last)
        return v

    def l_values(self, inst: str, month: Period) -> tuple[dict, list[str]]:
        cur = self.computed_snapshot(month)
        v: dict = {c: 0 for c in JIANGSU_CITIES}
        outside = []
        for pid, _ in self.facts.snapshot_cultivated(cur, inst):
            person = self.ds.persons[pid]
            _, city, _ = split_address(person.household)
            if city in v:
                v[city] += 1
            else:
                outside.append(f"{pid}（户籍{split_address(person.household)[0] or '不详'}）")
        v["合计"] = sum(v[c] for c in JIANGSU_CITIES)
        return v, outside

    def _inst_table(self, form: str, unit: str, month: Period) -> StatTable:
        insts = self.institutions() if unit == PROVINCE else [unit]
        if unit != PROVINCE and unit not in self.ds.institutions:
            raise DocgenError(f"戒毒所“{unit}”不存在（可用 docgen units 查看）")
        rows, warnings = [], []
        for inst in insts:
            if form == "N":
                values = self.n_values(inst, month)
            else:
                values, outside = self.l_values(inst, month)
                if outside:
                    warnings.append(f"{self.ds.unit_name(inst)}：{len(outside)} 名培育对象户籍不在江苏省，未计入地区分布："
                                    + "、".join(outside))
            rows.append({"unit": inst, "name": self.ds.unit_name(inst), "values": values})
        total = _sum_rows(rows, rows[0]["values"].keys()) if unit == PROVINCE and rows else None
        if total is not None and form == "N":
            total["减少原因"] = ""
        return StatTable(form, unit, month.key, rows, total, warnings=warnings,
                         corrections=self.included_corrections(form, unit, month))

    def table_n(self, unit: str, month: Period) -> StatTable:
        return self._frozen_or("N", unit, month, lambda: self._inst_table("N", unit, month))

    def table_l(self, unit: str, month: Period) -> StatTable:
        return self._frozen_or("L", unit, month, lambda: self._inst_table("L", unit, month))

    # ---- assembling
    def _table(self, form: str, unit: str, period: Period, values) -> StatTable:
        def compute() -> StatTable:
            rows = [{"unit": u, "name": self.ds.unit_name(u), "values": values(self.leaves(u))}
                    for u in self.row_units(unit)]
            keys = rows[0]["values"].keys() if rows else values(set()).keys()
            total = _sum_rows(rows, keys) if rows else {k: (0 if isinstance(x, int) else x)
                                                         for k, x in values(set()).items()}
            if form == "P":
                total = _p_derive({k: total.get(k, 0) for k in P_KEYS if k not in P_RATES})
            if form == "R":
                total["再就业率"] = pct(total["已就业"], total["保持操守"])
            if form == "Q":
                total["救助财物金额"] = round(total.get("救助财物金额", 0.0), 2)
            if form == "S":
                total["备注"] = ""
            return StatTable(form, unit, period.key, rows, total,
                             columns=self.institutions() if form == "S" else [],
                             corrections=self.included_corrections(form, unit, period))

        frozen_period = period.as_month() if form == "R" else period
        return self._frozen_or(form, unit, period, compute, frozen_period)

    def _frozen_or(self, form: str, unit: str, period: Period, compute,
                   frozen_period: Period | None = None) -> StatTable:
        fp = frozen_period or period
        stored = self.store.figures(period.key, form, unit) if self.store is not None and self.frozen(fp) else None
        if stored is not None:
            table = StatTable.from_data(stored)
            table.frozen = True
            table.frozen_on = str(self.store.frozen_on(fp.key))
            check_table(table)
            return table
        table = compute()
        check_table(table)
        return table

    # ---- freezing and corrections
    def freeze(self, month: Period, frozen_on: dt.date) -> int:
        """Freeze ``month`` for every unit; returns the number of tables stored."""
        if self.store is None:
            raise DocgenError("没有工作区，无法冻结统计数据")
        if month.month is None:
            raise DocgenError("按月冻结：请写月份，如 --month 2026-10")
        if self.frozen(month):
            raise DocgenError(f"{month} 的统计数据已于 {self.store.frozen_on(month.key)} 冻结，不能重复冻结")
        if frozen_on <= month.last_day:
            raise DocgenError(f"{month} 尚未结束（{month.last_day} 之后才能冻结）")
        if self.ds.errors:
            raise DocgenError(f"记录中有 {len(self.ds.errors)} 个错误，请先用 docgen validate 检查并改正，再冻结统计数据")
        figures: list[tuple[str, str, str, dict]] = []
        stations = sorted(self.ds.stations)
        for sid in stations:
            for form, fn in (("P", self.table_p), ("Q", self.table_q), ("S", self.table_s)):
                figures.append((month.key, form, sid, fn(sid, month).as_data()))
        for inst in [*self.institutions(), PROVINCE]:
            figures.append((month.key, "N", inst, self.table_n(inst, month).as_data()))
            figures.append((month.key, "L", inst, self.table_l(inst, month).as_data()))
        if month.month % 3 == 0:
            quarter = Period(month.year, quarter=month.month // 3)
            for sid in stations:
                figures.append((quarter.key, "R", sid, self.table_r(sid, quarter).as_data()))
        snap = self.computed_snapshot(month)
        counted: dict[str, list[str]] = {}
        for pid, person in sorted(self.ds.persons.items()):
            keys = sorted(event_key(e) for e in person.events
                          if e.kind in ("回访", "帮扶") and month.first_day <= e.date <= month.last_day)
            if keys:
                counted[pid] = keys
        carried: dict[str, list[str]] = {}  # late events of earlier frozen months this month's Q counted
        for person, e, _ in self.late_events(month):
            carried.setdefault(person.id, []).append(event_key(e))
        self.store.freeze(month.key, frozen_on, snap, figures, counted,
                          {pid: sorted(keys) for pid, keys in carried.items()})
        self._snapshots.pop(month.key, None)
        self._frozen_dates = None
        self._late.clear()
        self._diffs.clear()
        return len(figures)

    def _snapshot_diffs(self, month: Period) -> list[tuple[str, dict, dict]]:
        """(person id, frozen entry, entry by the records now) of every person whom the frozen
        month-end snapshot of ``month`` places differently from the records (form-P class,
        cultivating unit or service station), by 编号; {} where a snapshot has no entry."""
        key = month.key
        if key not in self._diffs:
            frozen = self.store.snapshot(key) if self.store is not None else None
            fresh = self.computed_snapshot(month) if frozen is not None else {}
            frozen = frozen or {}
            out = []
            for pid in sorted(set(frozen) | set(fresh)):
                a, b = frozen.get(pid, {}), fresh.get(pid, {})
                if (a.get("p"), a.get("c"), a.get("st")) != (b.get("p"), b.get("c"), b.get("st")):
                    out.append((pid, a, b))
            self._diffs[key] = out
        return self._diffs[key]

    @staticmethod
    def _late_records(person: Person | None, month: Period, frozen_on: dt.date | None) -> list[Event]:
        """The person's events dated by the end of ``month`` and recorded (录入日期) on or after the
        day it was frozen."""
        if person is None or frozen_on is None:
            return []
        return [e for e in person.events if e.date <= month.last_day and e.recorded_on >= frozen_on]

    def included_corrections(self, form: str, unit: str, month: Period) -> list[str]:
        """The corrections of frozen months that the table ``form`` of ``unit`` for the open
        ``month`` counts, one line each, for the note below the table (the receiving unit sees
        why the figures differ from what the frozen reports imply).

        A line names the month corrected, what changed, why, and which row and column of this
        table count it; never the person (the tables sent upward print counts only; the station
        sees who in ``docgen stats``). Which tables count corrections:

        * P, S and N start from the frozen snapshot of the previous month (A and B, 上月末), so a
          person that snapshot places differently from the records counts in this month's
          新增 or 减少 (P: register membership per row; S: 典型培育 per row; N: per 戒毒所).
          A change of class alone (P: 操守保持 → 失联) or of the kind of cultivating unit
          changes no figure of the open month and is not listed.
        * Q counts the 回访 and 帮扶 of frozen months recorded after freezing (``late_events``).
        * R and L read no frozen month but their own: never.
        """
        if form not in ("P", "Q", "S", "N") or month.month is None or self.store is None or self.frozen(month):
            return []
        if form == "Q":
            return self._q_included(unit, month)
        prev = month.previous_month()
        if not self.frozen(prev):
            return []
        ds, facts = self.ds, self.facts
        first, last = month.first_day, month.last_day
        cur = self.computed_snapshot(month)
        frozen_on = self.frozen_dates().get(prev.key)  # (kept: no database opened per table)
        if form == "N":
            rows = [(inst, {inst}) for inst in (self.institutions() if unit == PROVINCE else [unit])]
        else:
            rows = [(u, set(self.leaves(u))) for u in self.row_units(unit)]
        registered = facts.registered_during(first, last)
        cultivated = facts.cultivated_during(first, last)
        reach = set().union(*(scope for _, scope in rows))  # the stations (N: 戒毒所) of the table
        field = "c" if form == "N" else "st"
        out = []
        for pid, a, b in self._snapshot_diffs(prev):
            if a.get(field) not in reach and b.get(field) not in reach:
                continue
            person = ds.persons.get(pid)
            now = cur.get(pid, {})
            effects = []
            for u, scope in rows:
                name = ds.unit_name(u)
                if form == "P":
                    was = bool(a.get("p")) and a.get("st") in scope
                    is_ = bool(b.get("p")) and b.get("st") in scope
                    here = (bool(now.get("p")) and now.get("st") in scope) or (
                        pid in registered and person is not None and person.station in scope)
                elif form == "S":
                    was = bool(a.get("c")) and a.get("st") in scope
                    is_ = bool(b.get("c")) and b.get("st") in scope
                    here = (bool(now.get("c")) and now.get("st") in scope) or (
                        pid in cultivated and person is not None and person.station in scope)
                else:
                    was, is_ = a.get("c") == u, b.get("c") == u
                    here = now.get("c") == u or cultivated.get(pid) == u
                if was == is_:
                    continue
                if was and not here:  # in last month's frozen figures, gone by the records: 减少
                    effects.append(f"计入{name}本月减少人数" + self._decrease_column(form, person, last))
                elif was:  # frozen figures had the person already: not new this month
                    effects.append(f"{name}上月末人数已含，本月不计入新增人数")
                elif here:  # missing from the frozen figures, present by the records: 新增
                    effects.append(f"计入{name}本月新增人数" + self._increase_column(form, person, now, cultivated))
            if not effects:
                continue
            if form == "P":
                change = f"冻结时为“{CLASS_NAMES.get(a.get('p'))}”，按现有记录为“{CLASS_NAMES.get(b.get('p'))}”"
            else:
                change = (f"典型培育冻结时为“{ds.unit_name(a['c']) if a.get('c') else '无'}”，"
                          f"按现有记录为“{ds.unit_name(b['c']) if b.get('c') else '无'}”")
            if a and b and a.get("st") != b.get("st"):
                change += f"，服务站由{ds.unit_name(a.get('st') or '')}变为{ds.unit_name(b.get('st') or '')}"
            kinds = list(dict.fromkeys(e.kind for e in self._late_records(person, prev, frozen_on)))
            why = f"冻结后补录{'、'.join(kinds)}" if kinds else ("记录已删除" if person is None else "记录更正")
            out.append(f"{prev}：1人{change}（{why}）；{'；'.join(effects)}")
        return out

    def _decrease_column(self, form: str, person: Person | None, last: dt.date) -> str:
        if form != "P":
            return ""
        tl = self.facts.timeline(person) if person is not None else None
        died = tl is not None and tl.leave_kind == "死亡" and tl.leave is not None and tl.leave <= last
        return "(D)“死亡”栏" if died else "(D)“照管期满”栏"

    def _increase_column(self, form: str, person: Person | None, now: dict, cultivated: dict) -> str:
        if form == "P":
            kind = self.facts.timeline(person).entry_kind if person is not None else "解戒人员"
            return "(C)“所外就医”栏" if kind == "所外就医" else "(C)“解戒人员”栏"
        if form == "S":
            uid = now.get("c") or cultivated.get(person.id if person is not None else "")
            return f"“{self.ds.unit_name(uid)}新增”栏" if uid in self.ds.institutions else "“三级站本月新增”栏"
        return ""

    def _q_included(self, unit: str, month: Period) -> list[str]:
        """Form Q: the 回访 and 帮扶 of frozen months recorded after freezing that it counts."""
        out = []
        for u in self.row_units(unit):
            name = self.ds.unit_name(u)
            for _, e, home in self.late_events(month, leaves=self.leaves(u)):
                if e.kind == "回访" and e.method:
                    where = f"跟踪回访人次数“{VISIT_GROUPS[e.method]}”栏"
                elif e.kind == "帮扶" and e.help_kind == "救助财物":
                    where = f"帮扶救助“救助财物”栏（1人次，{money(e.amount or 0.0)}元）"
                elif e.kind == "帮扶" and e.help_kind:
                    where = f"帮扶救助人次数“{e.help_kind}”栏"
                else:
                    continue  # not counted by q_values either
                out.append(f"{home}：冻结后补录{e.kind} 1人次；计入{name}本月{where}")
        return out

    def corrections(self, month: Period, unit: str | None = None) -> list[str]:
        """What the records now say differently about frozen months, as Chinese sentences.

        For a frozen ``month``: its own differences (the frozen figures stand). For an open month
        whose previous month is frozen: the differences of that month, which this month's C and D
        (and S, N) count.
        """
        out: list[str] = []
        leaves = self.leaves(unit) if unit and unit in self.ds.stations else None
        targets = []
        listed: set[tuple[str, str, str]] = set()  # (month, person, event key) of the late events already named
        if self.frozen(month):
            targets.append((month, "（冻结数据保持不变，差异将计入下一个未冻结月份）"))
        prev = month.previous_month()
        if month.month is not None and self.frozen(prev):
            targets.append((prev, f"（已计入 {month} 的本月新增、本月减少）"))
        for m, note in targets:
            frozen_on = self.store.frozen_on(m.key)
            for pid, a, b in self._snapshot_diffs(m):
                st = b.get("st") or a.get("st")
                if leaves is not None and st not in leaves and a.get("st") not in leaves:
                    continue
                person = self.ds.persons.get(pid)
                who = f"{pid}（{person.name}）" if person else f"{pid}（记录已删除）"
                parts = []
                if a.get("p") != b.get("p"):
                    parts.append(f"冻结时为“{CLASS_NAMES.get(a.get('p'))}”，按现有记录为“{CLASS_NAMES.get(b.get('p'))}”")
                if a.get("c") != b.get("c"):
                    parts.append(f"典型培育冻结时为“{a.get('c') or '无'}”，现为“{b.get('c') or '无'}”")
                if a.get("st") != b.get("st") and a and b:
                    parts.append(f"服务站由 {a.get('st')} 变为 {b.get('st')}")
                late_events = self._late_records(person, m, frozen_on)
                late = [f"{e.kind} {e.date}（录入 {e.recorded_on}）" for e in late_events]
                why = f"；补录事件：{'、'.join(late)}" if late else ""
                out.append(f"更正 {m}：{who}{'，'.join(parts)}{why}{note}")
                listed.update((m.key, pid, event_key(e)) for e in late_events)
        # visits and help cases recorded after their month was frozen: form Q counts them in the
        # first open month after it
        if self.frozen(month):
            nxt = _next_month(month)
            while self.frozen(nxt):
                nxt = _next_month(nxt)
            carried = [(p, e, home) for p, e, home in self.late_events(nxt, leaves=leaves) if home == month]
            where = nxt
        else:
            carried = self.late_events(month, leaves=leaves)
            where = month
        for person, e, home in carried:
            if (home.key, person.id, event_key(e)) in listed:
                continue
            note = (f"（冻结数据保持不变，计入 {where} 的回访帮扶情况统计表）" if where != month
                    else f"（已计入 {month} 的回访帮扶情况统计表）")
            out.append(f"更正 {home}：{person.id}（{person.name}）补录事件：{e.kind} {e.date}（录入 {e.recorded_on}）{note}")
        return out


def _next_month(month: Period) -> Period:
    return Period(month.year + (month.month == 12), month=month.month % 12 + 1)


def _p_derive(v: dict) -> dict:
    v = dict(v)
    v["C"] = v["C1"] + v["C2"]
    v["D"] = v["D1"] + v["D2"]
    v["F"] = v["F1"] + v["F2"] + v["F3"]
    v["I"] = v["I1"] + v["I2"]
    v["J"] = v["J1"] + v["J2"] + v["J3"] + v["J4"]
    v["E"] = sum(v[k] for k in ("F1", "F2", "F3", "I1", "I2", "J1", "J2", "J3", "J4"))
    v["G"] = v["E"] - v["F"]
    v["H"] = pct(v["G"], v["E"])
    v["K"] = pct(v["J"], v["E"])
    return {k: v[k] for k in P_KEYS}
