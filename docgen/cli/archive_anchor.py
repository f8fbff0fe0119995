"""``docgen archive anchor``: the audit log's head, printed to be kept outside the archive."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from ..workspace import Workspace
from .app import echo, workspace_option
from .archive import _open, archive


@archive.command("anchor")
@click.option("--by", "by", default=None, help="签发人姓名（印在锚点单上；签发时必填）")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="锚点单 PDF（默认：工作区目录下“审计锚点单-日期-序号.pdf”；锚点单不放在档案库里）")
@click.option("--check", "checks", multiple=True, metavar="序号:散列值",
              help="核对锚点单上记的锚点（可重复），不签发新的")
@workspace_option
def anchor_cmd(ws: Workspace, by: str | None, out: Path | None, checks: tuple[str, ...]) -> None:
    """审计日志锚点：签发锚点单，或按锚点单核对日志。

    \b
    docgen archive anchor --by 刘芳                     签发：记下日志最后一条的序号和散列值，生成锚点单 PDF
    docgen archive anchor --check "12:3f5a1b2c 9d0e…"   核对：日志仍含这一条、散列链完整

    锚点单签字后存放在档案库以外（档案室纸质卷宗、上级单位）：散列链只能查出个别条目被改，
    整本日志连同登记簿被改写，只有对照库外的锚点才查得出。建议每次执行销毁后和每季度各签发一次。
    """
    from ..archive import anchor as anchors
    from ..errors import UsageError
    from ..fsutil import atomic_write

    arc = _open(ws)
    if checks:
        if by or out:
            raise UsageError("--check 只核对，不与 --by、--out 同用")
        failed = 0
        for text in checks:
            seq, digest = anchors.parse(text)
            problems = anchors.check(arc.store, seq, digest)
            if problems:
                failed += 1
                echo(f"不符：锚点 第 {seq} 条", err=True)
                for p in problems:
                    echo(f"  {p}", err=True)
            else:
                echo(f"相符：审计日志第 {seq} 条的散列值与锚点单一致，散列链从第 1 条到最后一条完整。")
        if failed:
            echo(f"{failed} 个锚点不符：审计日志或登记簿可能被改写，请从备份和锚点单查明，在此之前不要再改动档案库。", err=True)
            sys.exit(1)
        return
    if not by or not by.strip():
        raise UsageError("签发锚点单须写明签发人：--by 姓名（印在锚点单上）")
    now = dt.datetime.now().astimezone()
    anchor = anchors.issue(arc.store, by.strip())
    target = out or ws.root / f"审计锚点单-{now:%Y%m%d-%H%M%S}-{anchor.seq}.pdf"
    atomic_write(target, anchors.sheet_pdf(anchor, arc.root, by.strip(), now))
    echo(f"已签发审计日志锚点：第 {anchor.seq} 条，散列值 {anchor.grouped}")
    echo(f"锚点单：{target}")
    echo("请打印、签字，存放在档案库以外；核对时运行：")
    echo(f'  docgen archive anchor --check "{anchor.seq}:{anchor.grouped}"')
