"""Core commands: init, validate, schema, units, fonts, build, blank, templates."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import DocgenError, UsageError
from ..workspace import Workspace, init_workspace
from .app import echo, main, workspace_option


def load_workspace_records(ws: Workspace, paths: tuple[str, ...] = (), out_dir: Path | None = None,
                           refresh: bool = False):
    """The workspace's records (or those of ``paths``). The whole workspace is loaded with the
    parse cache of ``out_dir`` (a build's output folder; default: the workspace's, when it
    exists), ``refresh`` parsing every file anew (``build --force``); see ``records.cache``."""
    from ..records.cache import CACHE_NAME, load_records_cached
    from ..records.load import load_records

    targets = [Path(p) for p in paths] if paths else [ws.records]
    if not paths and not ws.records.is_dir():
        raise DocgenError(f"记录目录不存在：{ws.records}")
    cache_dir = out_dir if out_dir is not None else ws.output if ws.output.is_dir() else None
    if paths or cache_dir is None:
        ds = load_records(targets, base=Path.cwd() if paths else ws.root)
    else:
        ds = load_records_cached(targets, ws.root, Path(cache_dir) / CACHE_NAME, refresh=refresh)
    ds.workspace = ws
    return ds


def in_file_order(diagnostics):
    """Diagnostics file by file, top to bottom (the checks across files find theirs last)."""
    return sorted(diagnostics, key=lambda d: (d.file, d.line, d.column))


def report_diagnostics(ds, quiet: bool = False) -> int:
    for d in in_file_order(ds.diagnostics):
        echo(str(d), err=True)
    errors = len(ds.errors)
    warnings = len(ds.diagnostics) - errors
    if not quiet:
        bad = f"（另有 {len(ds.bad_files)} 个文件有错，未读入）" if ds.bad_files else ""
        echo(f"检查了 {len(ds.files)} 个文件：{len(ds.persons)} 名照管对象，{len(ds.stations)} 个站点，"
             f"{len(ds.institutions)} 个戒毒所{bad}；{errors} 个错误" + (f"，{warnings} 个警告。" if warnings else "。"))
    return errors


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def init(directory: Path) -> None:
    """新建工作区 DIRECTORY（含 docgen.toml 和记录、输出、数据、档案目录）。"""
    import datetime as dt

    ws = init_workspace(directory)
    from ..render.fonts import PACKAGE_ROOT

    shown = directory if not directory.is_absolute() else ws.root
    echo(f"已新建工作区 {ws.root}。记录放在 {ws.records}（照管对象、站点、戒毒所、事件、工作日志各一个子目录）。\n"
         f"记录格式见 {PACKAGE_ROOT / 'docs' / 'records.md'}；完整的示例记录在 {PACKAGE_ROOT / 'examples' / 'records'}，"
         "可复制后修改（docgen schema 输出 JSON Schema，供编辑器补全和检查）。\n"
         "下一步：\n"
         "  1. 在 records/stations/ 中写本站及其上级工作站、指导站的记录（“上级”填写上级站点的编号），"
         "在 records/institutions/ 中写戒毒所的记录；\n"
         "  2. 在 records/persons/ 中一人一个文件写照管对象；\n"
         f"  3. docgen validate -w {shown}    检查记录（docgen units -w {shown} 列出已有站点的编号）；\n"
         f"  4. docgen build -w {shown} --month {dt.date.today():%Y-%m}    生成本月的文书到 {ws.output}"
         "（docs/records.md 的“第一天”有完整步骤）。")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@workspace_option
def validate(ws: Workspace, paths: tuple[str, ...]) -> None:
    """检查工作区的记录，或给定的文件、目录；有错误时返回非零。

    每个错误注明“文件:行:列”、项目和原因。给出文件时对照整个工作区检查它，
    如 docgen validate records/persons/NJ2026001.yaml。
    """
    if not paths or not ws.records.is_dir():
        ds = load_workspace_records(ws, paths)
        if report_diagnostics(ds):
            sys.exit(1)
        return
    sys.exit(1 if _validate_some(ws, paths) else 0)


def _validate_some(ws: Workspace, paths: tuple[str, ...]) -> int:
    """Check the given files against the whole workspace (the stations, institutions and persons
    they refer to live in other files) and report only their problems; returns the error count."""
    from ..records.load import iter_record_files, load_records

    base = Path.cwd()
    given = [Path(p) for p in paths]
    chosen = {f.resolve() for f in iter_record_files(given)} | {p.resolve() for p in given}
    in_workspace = {f.resolve() for f in iter_record_files([ws.records])}
    extra = [p for p in given if not p.exists() or p.is_dir() or p.resolve() not in in_workspace]
    extra_files = [f for f in iter_record_files(extra) if f.resolve() not in in_workspace]
    missing = [p for p in given if not p.exists()]
    ds = load_records([ws.records, *extra_files, *missing], base=base)
    mine = in_file_order(d for d in ds.diagnostics if (base / d.file).resolve() in chosen)
    for d in mine:
        echo(str(d), err=True)
    errors = sum(1 for d in mine if d.severity == "错误")
    warnings = len(mine) - errors
    files = len([f for f in chosen if f.is_file()])
    echo(f"检查了 {files} 个文件（对照工作区的全部记录）；{errors} 个错误" + (f"，{warnings} 个警告。" if warnings else "。"))
    return errors


@main.command()
def schema() -> None:
    """输出记录格式的 JSON Schema（供 YAML 编辑器补全和检查）。

    在工作区目录中运行 docgen schema > docgen.schema.json，用法见 docs/records.md。
    """
    from ..records.schema import record_schema

    click.echo(json.dumps(record_schema(), ensure_ascii=False, indent=2))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@workspace_option
def units(ws: Workspace, as_json: bool) -> None:
    """列出站点和戒毒所（编号、类型、名称、上级）。"""
    ds = load_workspace_records(ws)
    rows = []
    for st in sorted(ds.stations.values(), key=lambda s: (("指导站", "工作站", "服务站").index(s.kind), s.id)):
        rows.append({"id": st.id, "kind": st.kind, "name": st.display_name, "parent": st.parent or ""})
    for inst in sorted(ds.institutions.values(), key=lambda i: i.id):
        rows.append({"id": inst.id, "kind": "戒毒所", "name": inst.name, "parent": "", "code": inst.code})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        echo(f"工作区中还没有站点和戒毒所的记录（{ws.records}）：站点写在 stations/，戒毒所写在 institutions/，"
             "格式见 docs/records.md。")
    else:
        width = max((len(r["id"]) for r in rows), default=4)
        width = max(width, 4)
        up = max([len(r["parent"]) for r in rows] + [4])
        # 编号 and 上级 take four columns of a terminal each (two CJK characters)
        echo(f"编号{' ' * (width - 4)}  类型    上级{' ' * (up - 4)}  名称")
        for r in rows:
            echo(f"{r['id'].ljust(width)}  {r['kind']}  {r['parent'].ljust(up)}  {r['name']}")
    for d in in_file_order(ds.errors):
        echo(str(d), err=True)
    if ds.errors:
        sys.exit(1)


def optional_workspace(explicit: str | None) -> Workspace | None:
    """The workspace when one is named (--workspace / DOCGEN_WORKSPACE) or the current folder is one."""
    import os

    from ..workspace import CONFIG_NAME

    if explicit or os.environ.get("DOCGEN_WORKSPACE") or Path(CONFIG_NAME).exists():
        return Workspace.locate(explicit)
    return None


@main.command()
@click.option("--prepare", is_flag=True, help="预先转换字体（每台机器一次，之后生成 PDF 不再转换）")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False), default=None,
              help="工作区目录（其 fonts/ 中的字体也会使用）")
def fonts(prepare: bool, workspace: str | None) -> None:
    """显示每个字体角色由哪个字体文件提供，以及是否为替代字体。"""
    optional_workspace(workspace)
    from ..render.fonts import all_roles, prepare_all

    for rf in all_roles():
        flag = "替代字体（官方字体未安装）" if rf.substitute else "官方字体"
        echo(f"{rf.label}：要求 {rf.requested}；使用 {rf.face.label}（{rf.face.path}"
             f"{'#' + str(rf.face.index) if rf.face.path.endswith(('.ttc', '.otc')) else ''}）—— {flag}")
        if rf.fallback is not None and rf.fallback != rf.face:
            echo(f"    缺字时改用：{rf.fallback.label}（{rf.fallback.path}）")
    if prepare:
        paths = prepare_all()
        echo(f"已准备 {len(paths)} 个字体文件（缓存）。")


def parse_formats(text: str, allowed: tuple[str, ...] = ("pdf", "docx", "xlsx")) -> set[str]:
    """The output formats of ``--format pdf,docx``: known ones, at least one."""
    want = {f.strip().lower() for f in (text or "").split(",") if f.strip()}
    bad = want - set(allowed)
    if bad or not want:
        raise UsageError(f"不支持的格式：{'、'.join(sorted(bad)) or '（空）'}（可用 {'、'.join(allowed)}）")
    return want


def parse_period(month: str | None):
    from ..documents.base import Period

    return Period.parse(month) if month else None


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), help="输出目录（默认：工作区配置的输出目录）")
@click.option("--forms", "forms", help="只生成这些表单，如 D,E,P（默认：全部）")
@click.option("--month", "month", help="期间：月份 2026-11、季度 2026-Q4 或年度 2026（按单位、按期间的表单需要）")
@click.option("--format", "formats", default="pdf,docx,xlsx", show_default=True, help="输出格式")
@click.option("--force", is_flag=True, help="全部重新生成（默认只生成内容有变化的文书）")
@click.option("--jobs", "-j", "jobs", type=click.IntRange(min=1), help="并行进程数（默认：全部 CPU 核）")
@click.option("--quiet", "-q", is_flag=True, help="只输出错误（不显示进度）")
@workspace_option
def build(ws: Workspace, out: Path | None, forms: str | None, month: str | None, formats: str, force: bool,
          jobs: int | None, quiet: bool) -> None:
    """生成文书：每人的表单，加 --month 时还有各单位该期间的表单，以及 manifest.json。

    如本月的全部文书：docgen build --month 2026-11。

    只重新生成内容有变化的文书（--force 全部重新生成）；使用全部 CPU 核。
    """
    import contextlib
    import time

    from ..build import build as run_build, vanished_persons
    from ..documents.registry import parse_forms
    from ..progress import RichProgress, stop_on_signals, want_progress_bar

    selected = parse_forms(forms)
    period = parse_period(month)
    want = parse_formats(formats)
    if forms and period is None and selected and all(f.periodic for f in selected):
        codes = " ".join(f.code for f in selected)
        raise UsageError(f"表单 {codes} 按单位和期间生成，请加 --month（月份 2026-11、季度 2026-Q4 或年度 2026）")
    out_dir = out or ws.output
    ds = load_workspace_records(ws, out_dir=out_dir, refresh=force)
    for d in ds.diagnostics:
        echo(str(d), err=True)
    skipped = [f.code for f in selected if f.periodic and period is None]
    started = time.monotonic()
    gone = vanished_persons(out_dir, ds)
    bar = RichProgress() if want_progress_bar(quiet) else None
    with stop_on_signals(), (bar or contextlib.nullcontext()):
        result = run_build(ds, selected, out_dir, period, want, bar, force=force, workers=jobs)
    elapsed = time.monotonic() - started
    still = set(vanished_persons(out_dir, ds)) if gone else set()  # a build of some forms keeps the others'
    gone = [pid for pid in gone if pid not in still]
    if gone:  # said even with -q: a records folder not mounted looks just like this
        shown = "、".join(gone[:5]) + ("等" if len(gone) > 5 else "")
        echo(f"注意：{len(gone)} 名照管对象（{shown}）的记录文件已不在记录目录中，他们的文书已移出清单 manifest.json"
             "（文件仍留在输出目录），此后生成的报表不再统计他们。若是误删、或记录目录（网络盘、同步目录）没有连上，"
             "请恢复记录后重新运行 docgen build。", err=True)
    if skipped and not quiet:
        month = time.strftime("%Y-%m")
        if forms:
            echo(f"提示：表单 {' '.join(skipped)} 按期间生成，请加 --month（如 --month {month}）。", err=True)
        else:
            echo(f"提示：没有给 --month，只生成了每人的文书；各单位按期间的报表（{' '.join(skipped)}）"
                 f"要加 --month 才生成，如本月：docgen build --month {month}。", err=True)
    for line in _period_notes(selected, period, result, bool(forms), quiet):
        echo(line, err=True)
    if not quiet and any(f.code in ("F", "K") for f in selected):
        from ..registry import notices

        for line in notices.outstanding_change_warnings(ds, ws.data):
            echo(line, err=True)
    for e in result.errors:
        if e.get("form"):
            echo(f"错误：表单 {e['form']}，{e['record']}：{e['message']}", err=True)
        elif "line" not in e:
            echo(f"错误：{e['record']}：{e['message']}", err=True)
    if not quiet:
        held = f"，{result.held} 份因记录文件有错保留原样" if result.held else ""
        echo(f"已生成 {len(result.documents)} 份文书到 {out_dir}（清单：{out_dir / 'manifest.json'}）："
             f"本次生成 {result.rendered} 份，{result.skipped} 份未变化跳过{held}；"
             f"{len(result.errors)} 个错误；用时 {elapsed:.1f} 秒。")
    if result.errors:
        sys.exit(1)


def _period_notes(selected, period, result, chosen: bool, quiet: bool) -> list[str]:
    """What a clerk should know about the period of the unit tables just made: a period not
    begun or not ended (the figures are not the ones to report), and a form asked for by name
    that has no document for it (a quarterly or annual form given a month)."""
    import datetime as dt

    from ..documents.base import Period

    periodic = [f for f in selected if f.periodic]
    if period is None or not periodic:
        return []
    notes = []
    today = dt.date.today()
    if period.first_day > today:
        notes.append(f"注意：{period}尚未开始（今天是 {today.isoformat()}），按单位、按期间的报表是按今天的记录推算的，"
                     "不是上报数字；请检查 --month。")
    elif period.last_day > today and not quiet:
        notes.append(f"提示：{period}尚未结束，报表中的数字截至今天（{today.isoformat()}），月底后会随记录更新。")
    if chosen and not quiet:
        made = {d.get("form") for d in result.documents if d.get("period") == period.key}
        for f in periodic:
            if f.code in made or not hasattr(f, "periods") or f.periods(period):
                continue
            quarter = Period(period.year, quarter=(period.as_month().month - 1) // 3 + 1)
            if f.periods(quarter):
                how = f"按季度生成：请用 --month {quarter.key} 或季末月份"
            elif f.periods(Period(period.year)):
                how = f"按年度生成：请用 --month {period.year}"
            else:
                how = "不按这一期间生成"
            notes.append(f"提示：表单 {f.code} 没有 {period} 的文书（{f.name}{how}）。")
    return notes


@main.command()
@click.argument("form")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="输出目录（默认：工作区输出目录下的“空白表”）")
@click.option("--format", "formats", default="pdf,docx,xlsx", show_default=True, help="输出格式")
@click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False), default=None,
              help="工作区目录（不给 --out 时输出到其输出目录）")
def blank(form: str, out: Path | None, formats: str, workspace: str | None) -> None:
    """打印空白表 FORM（供手工填写），如 docgen blank P --out 目录。"""
    ws = optional_workspace(workspace)
    if out is None:
        if ws is None:
            raise UsageError("请用 --out 指定输出目录（或在工作区中运行、用 --workspace 指定工作区）")
        out = ws.output / "空白表"
    from ..build import render_target
    from ..documents.base import Target
    from ..documents.registry import get_form

    f = get_form(form)
    want = parse_formats(formats)
    target = Target(form=f.code, key="blank", path=f"{f.code}-{f.name}-空白", view=f.blank_view(), context=f"空白表 {f.code}")
    entry = render_target(f, target, out, want)
    for rel in entry["files"].values():
        echo(str(out / rel))


@main.command()
@click.option("--check", is_flag=True, help="只检查 templates/ 是否与表单定义一致")
@click.option("--forms", "forms", help="只处理这些表单，如 E,V")
def templates(check: bool, forms: str | None) -> None:
    """由表单定义重新生成 templates/ 中的 DOCX 模板（开发用）。"""
    from ..documents.registry import parse_forms
    from ..fsutil import atomic_write
    from ..render.docx import build_template

    stale = []
    for form in parse_forms(forms):
        code = form.code
        data = build_template(form.layout)
        path = form.template_path
        if path.exists() and path.read_bytes() == data:
            continue
        stale.append(code)
        if not check:
            atomic_write(path, data)
            path.chmod(0o644)
    if check and stale:
        echo(f"模板与表单定义不一致：{' '.join(stale)}（运行 docgen templates 重新生成）", err=True)
        sys.exit(1)
    echo("模板已是最新。" if not stale else f"已重新生成模板：{' '.join(stale)}")
