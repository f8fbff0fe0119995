"""The retention policy: which series exist, their 档号 codes, how long they are kept and
from what day the term runs. Data, not code: ``archive/policy.toml`` at the repository top
(or the file given by ``--policy`` / ``[archive] policy`` in ``docgen.toml``)."""
from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DocgenError
from ..render.fonts import PACKAGE_ROOT

DEFAULT_POLICY = PACKAGE_ROOT / "archive" / "policy.toml"
TRIGGERS = ("closure", "cultivation_end", "year_end", "none")
SERIES_KINDS = ("personal", "cultivation", "annual", "notices", "disposal")
CLOSURE_EVENTS = ("期满", "终止", "死亡")  # events that end the care (5.1, 5.3)
MIN_YEARS = 3  # 规范 10.3: personal and annual archives are kept 3 years
_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,5}$")


@dataclass(frozen=True)
class Series:
    kind: str
    label: str
    klass: str  # 门类 code in the 档号
    retention: str  # 保管期限 code in the 档号 (D3, Y)
    years: int  # 0: permanent
    trigger: str
    events: tuple[str, ...] = ()
    contents: tuple[str, ...] = ()
    institution_contents: tuple[str, ...] = ()  # an annual volume of a 戒毒所 (10.1)

    @property
    def term_text(self) -> str:
        return "永久" if self.years == 0 else f"{self.years}年"

    def due(self, trigger: dt.date | None) -> dt.date | None:
        if trigger is None or self.years == 0:
            return None
        return add_years(trigger, self.years)


@dataclass(frozen=True)
class Policy:
    path: Path
    series: dict[str, Series] = field(default_factory=dict)
    approvals_required: int = 2

    def get(self, kind: str) -> Series:
        try:
            return self.series[kind]
        except KeyError:
            raise DocgenError(f"保管策略 {self.path} 中没有 [series.{kind}] 一节") from None


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def policy_path(ws=None, explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    if ws is not None:
        configured = ws.setting("archive", "policy", None)
        if configured:
            p = Path(os.path.expanduser(str(configured)))
            return p if p.is_absolute() else ws.root / p
    return DEFAULT_POLICY


def load_policy(path: Path) -> Policy:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DocgenError(f"找不到保管策略文件 {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DocgenError(f"{path}: 保管策略文件格式错误：{exc}") from None
    table = raw.get("series")
    if not isinstance(table, dict):
        raise DocgenError(f"{path}: 缺少 [series.…] 各节")
    series: dict[str, Series] = {}
    for kind in SERIES_KINDS:
        spec = table.get(kind)
        if not isinstance(spec, dict):
            raise DocgenError(f"{path}: 缺少 [series.{kind}] 一节")
        where = f"{path}: [series.{kind}]"
        klass, retention = spec.get("class"), spec.get("retention")
        for name, value in (("class", klass), ("retention", retention)):
            if not isinstance(value, str) or not _CODE.match(value):
                raise DocgenError(f"{where} {name} 应为 1–6 位大写字母或数字的代码，如 GR、D3")
        years = spec.get("years")
        if not isinstance(years, int) or isinstance(years, bool) or not 0 <= years <= 100:
            raise DocgenError(f"{where} years 应为 0–100 的整数（0 表示永久）")
        trigger = spec.get("trigger")
        if trigger not in TRIGGERS:
            raise DocgenError(f"{where} trigger 应为 {'、'.join(TRIGGERS)} 之一")
        if (years == 0) != (trigger == "none"):
            raise DocgenError(f"{where} 永久保管（years = 0）与 trigger = \"none\" 须同时使用")
        if kind == "disposal" and years != 0:
            raise DocgenError(f"{where} 销毁清册是销毁的凭证，须永久保管（years = 0，trigger = \"none\"）")
        if 0 < years < MIN_YEARS:
            raise DocgenError(f"{where} years = {years} 短于规范 10.3 规定的保存期限 {MIN_YEARS} 年"
                              "（可以更长，不能更短）")
        events = spec.get("events", [])
        contents = spec.get("contents", [])
        inst_contents = spec.get("institution_contents", [])
        for name, value in (("events", events), ("contents", contents), ("institution_contents", inst_contents)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DocgenError(f"{where} {name} 应为文字列表")
        if trigger == "closure" and not events:
            raise DocgenError(f"{where} trigger = \"closure\" 须列出结案事件 events")
        if trigger == "closure" and not set(events) <= set(CLOSURE_EVENTS):
            other = "、".join(e for e in events if e not in CLOSURE_EVENTS)
            raise DocgenError(f"{where} events 只能是结案事件（{'、'.join(CLOSURE_EVENTS)}），“{other}”不是："
                              "照管尚未结束的档案不能开始计算保管期限")
        series[kind] = Series(kind, str(spec.get("label", kind)), klass, retention, years, trigger,
                              tuple(events), tuple(c.upper() for c in contents),
                              tuple(c.upper() for c in inst_contents))
    approvals = raw.get("disposal", {}).get("approvals_required", 2)
    if not isinstance(approvals, int) or approvals < 2:
        raise DocgenError(f"{path}: [disposal] approvals_required 至少为 2（须两名不同的批准人）")
    return Policy(path, series, approvals)
