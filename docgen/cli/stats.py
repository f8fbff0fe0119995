"""Statistics and deadlines: ``docgen stats`` and ``docgen due``."""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import click

from ..errors import DocgenError, UsageError
from ..workspace import Workspace
from .app import echo, main, workspace_option

# printed figures of each form: (key, label); the order of the appendix
P_ROWS = [("A", "上月在册人数(A)"), ("B", "上月实际照管人数(B)"), ("C1", "新增：解戒人员"), ("C2", "新增：所外就医"),
          ("C", "本月新增人数(C)"), ("D1", "减少：照管期满"), ("D2", "减少：死亡"), ("D", "本月减少人数(D)"),
          ("E", "本月在册人数(E)"), ("F1", "异动：失联"), ("F2", "异动：拒访"), ("F3", "异动：尚未报到"),
          ("F", "本月异动情况(F)"), ("G", "本月实际照管人数(G)"), ("H", "本月照管率(H)"),
          ("I1", "强戒或者复吸"), ("I2", "判处刑罚"), ("I", "未能保持操守人数(I)"), ("J1", "操守保持1年以内"),
          ("J2", "操守保持1-2年"), ("J3", "操守保持2-3年"), ("J4", "操守保持3年以上"), ("J", "操守保持人数(J)"),
          ("K", "操守保持率(K)")]
FORM_NAMES = {"P": "后续照管数据统计表", "Q": "回访帮扶情况统计表", "R": "照管对象再就业情况统计表",
              "S": "戒毒典型培育人数统计表", "N": "戒毒典型培育操守保持情况统计表", "L": "戒毒典型培育对象地区分布统计表"}


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _fmt(value) -> str:
    from ..model.stats import money

    if isinstance(value, float):
        return money(value)
    return "" if value is None else str(value)


def figure_rows(table, ds) -> list[tuple[str, str]]:
    from ..model.stats import JIANGSU_CITIES, N_BUCKETS, VISIT_COLUMNS
    from ..records.model import EMPLOYMENT_KINDS, HELP_KINDS, UNEMPLOYMENT_REASONS

    f = table.form
    if f == "P":
        return P_ROWS
    if f == "Q":
        helps = [(k, f"帮扶：{k}") for k in HELP_KINDS if k != "救助财物"]
        return ([(k, f"回访：{k}") for k in VISIT_COLUMNS] + [("回访合计", "跟踪回访人次数")] + helps[:-1]
                + [("救助财物人次", "帮扶：救助财物（人次）"), ("救助财物金额", "帮扶：救助财物（元）"), helps[-1],
                   ("帮扶合计", "帮扶救助人次数")])
    if f == "R":
        return ([("保持操守", "保持操守人数")] + [(k, f"已就业：{k}") for k in EMPLOYMENT_KINDS]
                + [("已就业", "已就业合计"), ("再就业率", "再就业率"), ("推荐就业", "推荐就业人数")]
                + [(k, f"未就业：{k}") for k in UNEMPLOYMENT_REASONS])
    if f == "S":
        return ([(f"上月末{k}", f"上月末：{k}") for k in ("戒毒所", "指导站", "工作站", "服务站")]
                + [("上月末合计", "上月末培育总数"), ("三级站新增", "三级站本月新增")]
                + [(f"新增:{i}", f"新增：{ds.unit_name(i)}") for i in table.columns]
                + [("减少", "本月减少人数"), ("月末", "月末培育总数"), ("一年以内", "一年以内人数"),
                   ("一年以上", "一年以上人数")])
    if f == "N":
        return ([("上月末", "上月末人数"), ("新增", "本月新增"), ("减少", "本月减少"), ("月末", "月末人数")]
                + [(b, f"操守保持{b}") for b in N_BUCKETS])
    return [(c, c) for c in JIANGSU_CITIES] + [("合计", "合计")]


def render_table(table, ds) -> str:
    """A stats table as readable Chinese text: one line per figure, one column per unit."""
    from ..model.stats import PROVINCE

    heads = [ds.stations[r["unit"]].short if r["unit"] in ds.stations else r["name"] for r in table.rows]
    cols = [r["values"] for r in table.rows]
    if table.total is not None and len(table.rows) != 1:
        heads.append("合计")
        cols.append(table.total)
    unit = "江苏省各戒毒所" if table.unit == PROVINCE else ds.unit_name(table.unit)
    state = f"（已冻结于 {table.frozen_on}，按冻结数据输出）" if table.frozen else ""
    lines = [f"【{FORM_NAMES[table.form]}】{unit} {table.period}{state}"]
    rows = figure_rows(table, ds)
    label_w = max(_width(lbl) for _, lbl in rows) + 2
    col_w = [max(_width(h), *(_width(_fmt(c.get(k, ""))) for k, _ in rows), 4) + 2 for h, c in zip(heads, cols)]
    lines.append(_pad("项目", label_w) + "".join(_pad(h, w, right=True) for h, w in zip(heads, col_w)))
    for key, lbl in rows:
        lines.append(_pad(lbl, label_w) + "".join(_pad(_fmt(c.get(key, "")), w, right=True)
                                                  for c, w in zip(cols, col_w)))
    notes = [c.get("备注") or c.get("减少原因") for c in cols if c.get("备注") or c.get("减少原因")]
    for note in notes:
        lines.append(f"  {note}")
    for w in table.warnings:
        lines.append(f"  提示：{w}")
    return "\n".join(lines)


def _load(ws: Workspace, unit: str | None = None, what: str = "统计"):
    """The records; with errors, refused unless they can be shown not to touch ``unit``: in a
    city's shared workspace one station's typo must not stop every other station's report."""
    from .core import load_workspace_records

    ds = load_workspace_records(ws)
    if ds.errors:
        for d in ds.errors:
            echo(str(d), err=True)
        touched = _stations_of_errors(ws, ds)
        scope = ds.units_under(unit) if unit and unit in ds.stations else None
        if scope is not None and touched is not None and not touched & scope:
            echo(f"注意：记录中有 {len(ds.errors)} 个错误，都在其他单位（{'、'.join(sorted(touched))}）的记录里，"
                 f"不影响本单位的{what}；请通知有关单位改正。", err=True)
            return ds
        raise DocgenError(f"记录中有 {len(ds.errors)} 个错误，{what}前请先改正（docgen validate 可查看）")
    return ds


def _stations_of_errors(ws: Workspace, ds) -> set[str] | None:
    """The stations whose figures the erroneous files could change; None when that cannot be
    told (a file that does not parse, an institution's file, a station that does not exist)."""
    import yaml

    out: set[str] = set()
    for d in ds.errors:
        try:
            data = yaml.load((ws.root / d.file).read_text(encoding="utf-8-sig"), Loader=yaml.BaseLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
        if not isinstance(data, dict):
            return None
        kind = data.get("记录类型")
        if kind == "照管对象":
            station = data.get("服务站")
        elif kind == "事件":
            person = ds.persons.get(data.get("对象"))
            station = person.station if person is not None else None
        elif kind in ("站点", "工作日志"):
            station = data.get("编号") if kind == "站点" else data.get("站点")
        else:
            return None
        if not isinstance(station, str) or station not in ds.stations:
            return None
        out.add(station)
    return out


def _as_of(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    import re

    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", unicodedata.normalize("NFKC", text).strip(), re.ASCII)
    if not m:
        raise UsageError(f"日期“{text}”格式不对，应写成 2026-11-30")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise UsageError(f"日期“{text}”不存在（请核对月份和日子）") from None


def _plan(ds, unit: str | None, period) -> list[tuple[str, str]]:
    """(form, unit) pairs to produce for ``--unit`` and the period."""
    from ..model.stats import PROVINCE

    quarterly = period.quarter is not None or (period.month is not None and period.month % 3 == 0)
    monthly = period.month is not None
    if period.month is None and period.quarter is None:
        raise UsageError("统计按月（--month 2026-11）或按季度（--month 2026-Q4，仅再就业情况统计表）进行")
    if unit is None:
        units = [s.id for s in sorted(ds.stations.values(), key=lambda s: s.id) if s.kind == "指导站"]
        units += sorted(ds.institutions) + ([PROVINCE] if ds.institutions else [])
    elif unit in ("province", "全省"):
        units = [PROVINCE]
    elif unit in ds.stations or unit in ds.institutions:
        units = [unit]
    else:
        raise UsageError(f"单位“{unit}”不存在（可用 docgen units 查看；全省的 N、L 表写 --unit 全省）")
    plan = []
    for u in units:
        if u in ds.stations:
            if monthly:
                plan += [("P", u), ("Q", u), ("S", u)]
            if quarterly:
                plan.append(("R", u))
        elif monthly:
            plan += [("N", u), ("L", u)]
    return plan


@main.command()
@click.option("--unit", "unit", help="站点或戒毒所编号（默认：各指导站和各戒毒所）；全省的 N、L 表写 全省")
@click.option("--month", "month", required=True, help="月份 2026-11；季度 2026-Q4 只统计再就业情况（表 R）")
@click.option("--freeze", is_flag=True, help="冻结该月全部单位的统计数据（上报后执行；以后重新生成仍按冻结数据）")
@click.option("--as-of", "as_of", help="冻结日期（默认今天），写成 2026-12-05")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), help="输出目录（默认：工作区输出目录）")
@click.option("--format", "formats", default="pdf,docx,xlsx", show_default=True, help="输出格式")
@click.option("--no-files", is_flag=True, help="只显示数字，不生成表格文件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出数字")
@workspace_option
def stats(ws: Workspace, unit: str | None, month: str, freeze: bool, as_of: str | None, out: Path | None,
          formats: str, no_files: bool, as_json: bool) -> None:
    """按单位、按月统计（表 P Q S，季度表 R，戒毒所表 N L），核对公式，生成表格。

    \b
    例：docgen stats --unit nj-xw --month 2026-11
        docgen stats --unit nj --month 2026-Q4
        docgen stats --month 2026-10 --freeze     （冻结 10 月全部单位的数据）
    """
    from ..build import MANIFEST, load_manifest, output_lock, render_target, write_manifest
    from ..documents.base import Period
    from ..documents.registry import get_form
    from ..model.stats import Statistics

    from .core import parse_formats

    period = Period.parse(month)
    want = parse_formats(formats)
    today = dt.date.today()
    if period.first_day > today:  # a mistyped month gives a plausible, false report
        raise UsageError(f"{period}尚未开始（今天是 {today.isoformat()}），没有可统计的数字；请检查 --month")
    ds = _load(ws, None if freeze else unit)
    engine = Statistics(ds)
    if freeze:
        if period.month is None:
            raise UsageError("冻结按月进行，请写月份，如 --month 2026-10（季度表随季末月份一并冻结）")
        n = engine.freeze(period, _as_of(as_of))
        echo(f"已冻结 {period} 的统计数据（{n} 张表）。以后生成该月报表一律按冻结数据，补录的事件作为更正列出。")
    plan = _plan(ds, unit, period)
    getters = {"P": engine.table_p, "Q": engine.table_q, "S": engine.table_s, "N": engine.table_n,
               "L": engine.table_l}
    tables = []
    for form, u in plan:  # compute (and check) everything before printing anything
        if form == "R":
            quarter = period if period.quarter else Period(period.year, quarter=period.month // 3)
            tables.append(engine.table_r(u, quarter))
        else:
            tables.append(getters[form](u, period))
    corrections = engine.corrections(period, unit if unit in ds.stations else None) if period.month else []
    if as_json:
        click.echo(json.dumps({"period": period.key, "tables": [
            {**t.as_data(), "frozen": t.frozen, "frozen_on": t.frozen_on} for t in tables],
            "corrections": corrections}, ensure_ascii=False, indent=2))
    else:
        for t in tables:
            echo(render_table(t, ds))
            echo()
        for c in corrections:
            echo(c)
    if period.last_day > today:
        echo(f"注意：{period}尚未结束，以上数字截至今天（{today.isoformat()}），不是上报数字；"
             f"{period.last_day.month}月{period.last_day.day}日以后再统计、上报。", err=True)
    if period.month is not None and not freeze and period.last_day < dt.date.today():
        if engine.store is not None and not engine.frozen(period):
            echo(f"提示：{period}已结束，上报后请运行 docgen stats --month {period.key} --freeze 冻结数据。", err=True)
    if no_files:
        return
    out_dir = out or ws.output
    written, entries = [], []
    wanted = {(f, u) for f, u in plan}
    with output_lock(out_dir):  # one writer at a time in the output folder (the watch service, builds)
        for code in dict.fromkeys(f for f, _ in plan):
            form = get_form(code)
            for target in form.targets(ds, period):
                if (code, target.unit) in wanted:
                    entry = render_target(form, target, out_dir, want)
                    entries.append(entry)
                    written += [out_dir / rel for rel in entry["files"].values()]
        built = {(e["form"], e["key"], e.get("period")) for e in entries}
        manifest = load_manifest(out_dir)
        kept = [d for d in manifest.get("documents", [])
                if (d.get("form"), d.get("key"), d.get("period")) not in built]
        write_manifest(out_dir, kept + entries, manifest.get("errors", []))
    if not as_json:
        echo(f"已生成 {len(written)} 个文件到 {out_dir}（清单：{out_dir / MANIFEST}）。")


def _sent_information_sheets(ws: Workspace, day) -> set[str]:
    """Persons named in a notice F dated (or, undated, issued) by ``day`` and not voided: their
    对象信息表 went with it."""
    from ..registry import notices

    sent: set[str] = set()
    for n in notices.list_notices(ws.data):  # reading only: no data folder is created
        if n["kind"] == "F" and not n["voided"] and (n["dated"] or n["issued"]) <= day.isoformat():
            sent.update(n["people_ids"])
    return sent


@main.command()
@click.option("--unit", "unit", help="站点或戒毒所编号：只列出该单位（含下级站点）的事项")
@click.option("--as-of", "as_of", help="以哪一天为准（默认今天），写成 2026-11-30")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@workspace_option
def due(ws: Workspace, unit: str | None, as_of: str | None, as_json: bool) -> None:
    """列出各单位应办事项及期限（逾期的在前）：信息采集、对象信息表、报到、回访、终止审批、期满鉴定、月度统计。"""
    from ..model.due import due_items

    day = _as_of(as_of)
    ds = _load(ws, unit, "应办事项")
    if unit and unit not in ds.stations and unit not in ds.institutions:
        raise UsageError(f"单位“{unit}”不存在（可用 docgen units 查看）")
    items = due_items(ds, day, unit, sent=_sent_information_sheets(ws, day))
    if as_json:
        click.echo(json.dumps({"as_of": day.isoformat(), "items": [i.as_dict() for i in items]},
                              ensure_ascii=False, indent=2))
        return
    if not items:
        echo(f"截至 {day}，没有应办事项。")
        return
    # with --unit: what the unit (and the units under it) owes; what another unit owes for the
    # unit's persons (a 戒毒所's information sheet) is listed apart, for information
    scope = ds.units_under(unit) if unit else None
    own = [i for i in items if scope is None or i.unit in scope]
    others = [i for i in items if scope is not None and i.unit not in scope]
    name_w = max(_width(i.unit_name) for i in items)
    kind_w = max(_width(i.kind) for i in items)

    def show(rows) -> None:
        for i in rows:
            flag = "逾期" if i.overdue else "待办"
            echo(f"{i.date}  {flag}  {_pad(i.kind, kind_w)}  {_pad(i.unit_name, name_w)}  {i.text}")

    overdue = sum(1 for i in own if i.overdue)
    if own or not others:
        echo(f"截至 {day}：共 {len(own)} 项应办事项，其中逾期 {overdue} 项。")
    else:
        echo(f"截至 {day}，本单位没有应办事项。")
    show(own)
    if others:
        echo()
        echo(f"供参考：其他单位对本单位照管对象的应办事项 {len(others)} 项（不是本单位的事项）：")
        show(others)
    if any(i.kind == "月度统计" for i in items):  # how a month leaves the list: frozen once reported
        echo()
        echo("提示：月度统计上报后，运行 docgen stats --month 月份（如 2026-10）--freeze 冻结该月数据，即记为已报、不再列出。")
