"""``docgen watch``: the watch service (see ``docgen.watch``)."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import UsageError
from ..workspace import Workspace
from .app import main, workspace_option


@main.command()
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), help="输出目录（默认：工作区配置的输出目录）")
@click.option("--month", "month", help="期间：月份 2026-11、季度 2026-Q4 或年度 2026（默认：随日历取本月，每月 8 日前还包括上月）")
@click.option("--forms", "forms", help="只生成这些表单，如 D,E,P（默认：全部）")
@click.option("--format", "formats", default="pdf,docx,xlsx", show_default=True, help="输出格式")
@click.option("--debounce", type=click.FloatRange(min=0.05, max=10), default=0.1, show_default=True,
              help="保存后等待文件静止的时间（秒）")
@click.option("--jobs", "-j", "jobs", type=click.IntRange(min=1), help="大批量生成时的并行进程数（默认：全部 CPU 核）")
@click.option("--verbose", "-v", is_flag=True, help="输出更多日志")
@workspace_option
def watch(ws: Workspace, out: Path | None, month: str | None, forms: str | None, formats: str, debounce: float,
          jobs: int | None, verbose: bool) -> None:
    """监视记录目录：记录保存后自动重新生成受影响的文书（Ctrl-C 或 SIGTERM 停止）。

    \b
    只重新生成内容有变化的文书：改一个人的记录，只更新此人的文书和含有此人的单位报表；
    记录文件有错时记入日志和 manifest.json，原有文书保持不变，服务继续运行。
    已做过标牌（docgen signage）的站点，站点记录变化后标牌也随之更新。
    启动时先补上停机期间的变化。同一输出目录只能运行一个监视服务；手动运行的 docgen build
    与服务轮流写输出目录，输出目录被手动改动（删除文件夹、手动生成）后服务核对全部文书。
    """
    from ..documents.base import Period
    from ..documents.registry import parse_forms
    from ..watch import WatchService, install_signal_handlers, setup_logging

    want = {f.strip().lower() for f in formats.split(",") if f.strip()}
    bad = want - {"pdf", "docx", "xlsx"}
    if bad:
        raise UsageError(f"不支持的格式：{'、'.join(sorted(bad))}（可用 pdf、docx、xlsx）")
    period = Period.parse(month) if month else None  # None: follow the calendar
    setup_logging(verbose)
    out_dir = out or ws.output
    service = WatchService(ws, out_dir, period, want, parse_forms(forms) if forms else None,
                           debounce=debounce, workers=jobs, after_build=_signs_hook(ws, out_dir))
    install_signal_handlers(service)
    service.run()


def _signs_hook(ws: Workspace, out_dir: Path):
    """After each build: the station signs made earlier (docgen signage) whose station record,
    specifications or fonts changed are made again."""
    from ..records.idcard import mask_ids_in_text
    from ..signage import refresh_signs
    from ..watch import log

    def hook(ds) -> None:
        written, problems = refresh_signs(ds, out_dir, ws)
        for message in problems:
            log.error("标牌未更新（原有标牌保持不变）：%s", mask_ids_in_text(message))
        if written:
            names = "、".join(f"{e['form']} {e['unit']}" for e in written)
            log.info("已更新 %d 块标牌：%s", len(written), names)

    return hook
