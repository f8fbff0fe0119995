"""``docgen signage``: print-ready station signs (铜牌 B1–B3, 插牌 C1)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..errors import UsageError
from ..workspace import Workspace
from .app import echo, main, workspace_option


def _parse_date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"日期“{value}”格式不对，应写成 2026-11-30 这样的 年-月-日") from None


@main.command()
@click.option("--station", "stations", multiple=True, metavar="编号",
              help="只做这个站点的标牌（可重复；默认：记录中的全部站点）")
@click.option("--vertical", is_flag=True, help="铜牌做成竖牌（400 × 600 mm，竖排、从右到左）；默认方牌 600 × 400 mm 横排")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="输出目录（默认：工作区的输出目录）")
@click.option("--date", "date", default=None, metavar="年-月-日", help="校样日期（默认：今天）")
@workspace_option
def signage(ws: Workspace, stations: tuple[str, ...], vertical: bool, out: Path | None, date: str | None) -> None:
    """制作站点标牌：铜牌（B1 指导站、B2 工作站、B3 服务站）和插牌（C1）。

    \b
    每块牌生成：1:1 生产 PDF（文字转曲线、不含字体；仅 CMYK 和专色：切割线 CutContour，
    插牌另有白墨 White）、SVG（单位 mm）、校样 PDF 和 PNG，并登记在输出目录的 manifest.json 中。
    铜牌字号按规范 6.3 固定为 136 pt；站名排不下时报错并说明超出多少，不会缩小字号。
    """
    from ..signage import broken_station_files, make_signs
    from .core import load_workspace_records

    when = _parse_date(date)
    ds = load_workspace_records(ws)
    for d in ds.errors:
        echo(str(d), err=True)
    out_dir = out or ws.output
    entries = make_signs(ds, out_dir, stations, vertical=vertical, date=when, ws=ws,
                         progress=lambda line: echo(f"  {line}"))
    substitutes = sorted({(e["font_requested"], e["font"]) for e in entries if e["substitute_font"]})
    echo(f"已生成 {len(entries)} 块标牌（每块含生产 PDF、SVG、校样 PDF 和 PNG），在 {out_dir}。")
    if not stations:
        skipped = broken_station_files(ds)
        if skipped:
            echo(f"注意：站点记录 {'、'.join(skipped)} 有错误（见上面的提示），这些站点没有制作标牌；"
                 "改正后重新运行 docgen signage。", err=True)
    for e in entries:
        if e["fallback_chars"]:
            echo(f"注意：{e['form']} {e['unit']} 中“{e['fallback_chars']}”在标准字体中没有，改用替代字体补字（见校样）。",
                 err=True)
    if substitutes:
        used = "；".join(f"{want}未安装，改用 {got}" for want, got in substitutes)
        echo(f"注意：使用了替代字体（{used}）。校样上已标明。需要标准字体时，请把已获授权的字体文件放入 "
             "fonts/ 目录后重新生成。", err=True)
