"""``docgen print``: the documents to print, merged into one PDF (see ``docgen.printing``)."""
from __future__ import annotations

from pathlib import Path

import click

from ..workspace import Workspace
from .app import echo, main, workspace_option


@main.command(name="print")
@click.option("--unit", "unit", help="只要此站点（含其下各站）或戒毒所的文书，如 nj-xw-my（编号见 docgen units）")
@click.option("--forms", "forms", help="只要这些表单，如 I,J,P")
@click.option("--person", "persons", multiple=True, help="只要此照管对象的文书（编号，可重复）")
@click.option("--all", "everything", is_flag=True, help="也包括以前打过包、没有变化的文书")
@click.option("--duplex", is_flag=True, help="双面打印：页数为单数的文书后加一页空白，每份文书从新的一张纸开始")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="打印包文件（默认：输出目录下“打印/日期-时间-所选单位、人员、表单.pdf”）")
@click.option("--list", "dry_run", is_flag=True, help="只列出会打包的文书，不生成文件、不记为已打包")
@click.option("--mark-only", is_flag=True, help="只把选中的文书记为已打包（已用别的方式打印过），不生成文件")
@click.option("--output-dir", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="文书所在的输出目录（默认：工作区配置的输出目录）")
@workspace_option
def print_bundle(ws: Workspace, unit: str | None, forms: str | None, persons: tuple[str, ...], everything: bool,
                 duplex: bool, out: Path | None, dry_run: bool, mark_only: bool, out_dir: Path | None) -> None:
    """打印包：把要打印的文书合成一个 PDF（每份文书一个书签）。

    \b
    默认只收新生成的和有变化的文书（以前打过包、没有变化的不再收）；按单位（指导站、工作站、
    服务站，再戒毒所）、单位内先单位的报表，再逐人按附录顺序和日期排列，便于打印后归入一人一档。
    每份文书先与清单 manifest.json 核对，被改动或不见了的不收并列出。
    例：docgen print --unit nj-xw-my --duplex
    """
    from ..documents.registry import parse_forms
    from ..printing import PART_DOCUMENTS, make_bundle, parts
    from .core import load_workspace_records

    if dry_run and mark_only:
        raise click.UsageError("--list 与 --mark-only 不能同时使用")
    codes = {f.code for f in parse_forms(forms)} if forms else None
    ds = load_workspace_records(ws)
    target_dir = out_dir or ws.output
    bundle = make_bundle(target_dir, ds, unit=unit, forms=codes, persons=set(persons) or None,
                         everything=everything, duplex=duplex, target=out, mark_only=mark_only, dry_run=dry_run)
    sel = bundle.selection
    for problem in sel.problems:
        echo(f"未收入：{problem}", err=True)
    if dry_run:
        for item in sel.items:
            echo(f"{item.title}（{item.entry.get('pages', '?')} 页）")
    if not sel.items:
        more = f"（{sel.already} 份以前打过包、没有变化；加 --all 也收入）" if sel.already else ""
        echo(f"没有要打印的文书{more}。")
    elif dry_run:
        pages = sum(int(i.entry.get("pages") or 0) for i in sel.items)
        echo(f"共 {len(sel.items)} 份文书，约 {pages} 页（仅列出，未生成打印包）。")
    elif mark_only:
        echo(f"已把 {len(sel.items)} 份文书记为已打包，下次不再收入（除非有变化）。")
    else:
        note = "（双面打印，已补空白页）" if duplex else ""
        for path, pages, chunk in zip(bundle.paths, bundle.pages, parts(sel.items)):
            echo(f"已生成打印包 {path}：{len(chunk)} 份文书，{pages} 页{note}。")
        if len(bundle.paths) > 1:
            echo(f"共 {bundle.documents} 份文书，分成 {len(bundle.paths)} 个文件（每个最多 {PART_DOCUMENTS} 份，"
                 "同一人的文书不拆开）。")
    if sel.problems:
        raise SystemExit(1)
