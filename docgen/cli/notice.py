"""``docgen notice``: the notice triples F and K, their numbers, receipts and register."""
from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path

import click

from ..errors import UsageError
from ..workspace import Workspace
from .app import echo, main, workspace_option


def _date(text: str | None, what: str) -> dt.date | None:
    if not text:
        return None
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", unicodedata.normalize("NFKC", text), re.ASCII)
    if not m:
        raise UsageError(f"{what}“{text}”格式不对，应写成 2026-11-30 这样的 年-月-日")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise UsageError(f"{what}“{text}”不存在（请核对月份和日子）") from None


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


class KindChoice(click.Choice):
    """F or K, typed in either case, shown as [F|K] (click shows a case-insensitive choice in
    lower case) and handed on in upper case."""

    def __init__(self) -> None:
        super().__init__(["F", "K"], case_sensitive=False)

    def get_metavar(self, param, ctx=None) -> str:  # click 8.2+ passes ctx
        return "[F|K]"

    def convert(self, value, param, ctx):
        if isinstance(value, str) and value.strip().upper() in ("F", "K"):
            return value.strip().upper()
        self.fail(f"“{value}”不是通知书种类，应为 F（预解戒人员）或 K（典型培育对象）", param, ctx)


KIND = KindChoice()


@main.group()
def notice() -> None:
    """对接通知书（附录 F 预解戒人员、附录 K 典型培育对象）：发出、回执、作废、登记簿。"""


@notice.command("issue")
@click.option("--kind", "kind", type=KIND, required=True,
              help="F：预解戒人员信息对接通知书；K：戒毒典型培育对象信息对接通知书")
@click.option("--institution", "institution", required=True, help="发出通知书的戒毒所编号，如 dh")
@click.option("--station", "station", required=True, help="收件的后续照管指导站编号，如 nj")
@click.option("--month", "month", required=True,
              help="发出通知书的月份 YYYY-MM；通知的是下一个月解除强制隔离戒毒的人员"
                   "（附录 F“我所下月解除强制隔离戒毒人员中”），如 --month 2026-11 通知 2026 年 12 月出所的人员")
@click.option("--date", "date", help="落款日期 YYYY-MM-DD（默认空白，手写；登记簿记今天为发出日期）")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="输出目录（默认：工作区配置的输出目录）")
@click.option("--format", "formats", default="pdf,docx", show_default=True, help="输出格式（pdf、docx）")
@workspace_option
def issue_cmd(ws: Workspace, kind: str, institution: str, station: str, month: str, date: str | None,
              out: Path | None, formats: str) -> None:
    """发出一份对接通知书：按户籍地所属的市和出所月份选出人员，取得编号，生成三联单
    （底联、通知书、回执，骑缝编号）以及所附花名册和文书（F：服务协议书 E、对象信息表 D）。

    同一戒毒所、指导站、月份再次发出时为补充通知，只列尚未通知的人员；没有需要通知的人员时
    拒绝发出，不占用编号。每所、每年、每种通知书各自连续编号：{代字}戒[{年}]{序号}号。
    """
    from ..registry import notices
    from .core import load_workspace_records

    want = {f.strip().lower() for f in formats.split(",") if f.strip()}
    bad = want - {"pdf", "docx"}
    if bad or not want:
        raise UsageError(f"不支持的格式：{'、'.join(sorted(bad)) or '（空）'}（可用 pdf、docx）")
    ds = load_workspace_records(ws)
    for d in ds.errors:
        echo(str(d), err=True)
    out_dir = out or ws.output
    row = notices.issue(ds, ws.data_dir(), out_dir, kind.upper(), institution, station, month,
                        date=_date(date, "落款日期"), formats=want)
    what = "补充通知书" if row["supplement"] else "通知书"
    echo(f"已发出{what} {row['number']}（{kind.upper()}，{row['people']} 人，"
         f"{row['release_month']} 出所）：{out_dir / (row['pdf'] or row['docx'])}")


@notice.command("receipt")
@click.argument("number")
@click.option("--date", "date", required=True, help="回执收回日期 YYYY-MM-DD")
@click.option("--by", "by", required=True, help="查收人（回执上签收的人）")
@click.option("--kind", "kind", type=KIND, help="F 或 K（编号同时属于两种通知书时须指明）")
@workspace_option
def receipt_cmd(ws: Workspace, number: str, date: str, by: str, kind: str | None) -> None:
    """登记收回的回执，如 docgen notice receipt '东湖戒[2026]3号' --date 2026-12-05 --by 周文静
    （回执日期不能晚于今天）。"""
    from ..registry import notices

    row = notices.record_receipt(ws.data_dir(), number, _date(date, "回执日期"), by, kind)
    echo(f"已登记通知书 {row['number']}（{row['kind']}）的回执：{row['receipt_date']}，查收人 {row['receipt_by']}。")


@notice.command("void")
@click.argument("number")
@click.option("--reason", "reason", required=True, help="作废原因")
@click.option("--date", "date", help="作废日期 YYYY-MM-DD（默认今天；不能晚于今天）")
@click.option("--kind", "kind", type=KIND, help="F 或 K（编号同时属于两种通知书时须指明）")
@workspace_option
def void_cmd(ws: Workspace, number: str, reason: str, date: str | None, kind: str | None) -> None:
    """作废一份通知书：编号留在登记簿中、不再使用，所列人员可重新通知。其 PDF 每页、DOCX 开头
    印上“作废”和作废日期、原因，文件留在输出目录中备查；docgen print 不再收入（--all 时连同作废标记收入）。"""
    from ..registry import notices

    row = notices.void_notice(ws.data_dir(), number, reason, kind, on=_date(date, "作废日期"))
    echo(f"已作废通知书 {row['number']}（{row['kind']}）：{row['void_reason']}；文件已印上“作废”标记。")


@notice.command("list")
@click.option("--outstanding", is_flag=True, help="只列回执未收回（且未作废）的通知书")
@click.option("--older-than", "older", type=click.IntRange(min=0), help="只列发出超过 DAYS 天的通知书")
@click.option("--today", "today", help="计算天数所用的今天日期 YYYY-MM-DD（默认：系统日期）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@workspace_option
def list_cmd(ws: Workspace, outstanding: bool, older: int | None, today: str | None, as_json: bool) -> None:
    """通知书登记簿：编号、种类、戒毒所、指导站、人数、发出日期、回执日期、作废。

    发出后的通知书保持发出时的内容；记录此后有变化、会使通知书内容不同的，在表后提示。
    """
    from ..registry import notices

    now = _date(today, "今天日期") or dt.date.today()
    rows = notices.list_notices(ws.data) if ws.data.exists() else []
    changed = _changes(ws) if rows else {}
    if outstanding:
        rows = [r for r in rows if not r["voided"] and not r["receipt_date"] and not r.get("redacted")]
    if older is not None:
        rows = [r for r in rows if (now - dt.date.fromisoformat(r["issued"])).days > older]
    if as_json:
        keys = ("number", "kind", "institution", "station", "month", "release_month", "supplement", "people",
                "signed", "people_ids", "issued", "dated", "pdf", "docx", "receipt_date", "receipt_by",
                "voided", "void_reason")
        click.echo(json.dumps([{**{k: r[k] for k in keys}, "changed_since_issue": changed.get((r["kind"], r["number"]), []),
                                "redacted": r.get("redacted"), "redacted_list": r.get("redacted_list"),
                                "status": notices.redacted_text(r) or None}
                               for r in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        echo("登记簿中没有符合条件的通知书。")
        return
    head = ["编号", "种类", "戒毒所", "指导站", "月份", "人数", "发出日期", "回执", "作废", "销毁或清除"]
    table = []
    for r in rows:
        receipt = f"{r['receipt_date']} {r['receipt_by']}" if r["receipt_date"] else \
            ("" if r["voided"] or r.get("redacted") else f"未收回（{(now - dt.date.fromisoformat(r['issued'])).days} 天）")
        voided = f"{r['voided']} {r['void_reason']}" if r["voided"] else ""
        kind = r["kind"] + ("补充" if r["supplement"] else "")
        table.append([r["number"], kind, r["institution"], r["station"], r["month"], str(r["people"]),
                      r["issued"], receipt, voided, notices.redacted_text(r)])
    if not any(r.get("redacted") for r in rows):  # the column only when a notice was destroyed
        head, table = head[:-1], [line[:-1] for line in table]
    widths = [max(_width(x) for x in col) for col in zip(head, *table)]
    echo("  ".join(_pad(h, w) for h, w in zip(head, widths)).rstrip())
    for line in table:
        echo("  ".join(_pad(x, w) for x, w in zip(line, widths)).rstrip())
    out = sum(1 for r in rows if not r["voided"] and not r["receipt_date"] and not r.get("redacted"))
    expired = sum(1 for r in rows if r.get("redacted") and r.get("redacted_list") == notices.EXPIRED)
    gone = sum(1 for r in rows if r.get("redacted")) - expired
    echo(f"共 {len(rows)} 份，其中回执未收回 {out} 份" + (f"，随通知书卷销毁（人员信息已清除）{gone} 份" if gone else "")
         + (f"，作废未入卷、保管期满已清除人员信息 {expired} 份" if expired else "") + "。")
    for r in rows:
        what = changed.get((r["kind"], r["number"]))
        if what:
            echo(notices.change_warning(r, what), err=True)


def _changes(ws: Workspace) -> dict:
    """What changed in the records since each notice was issued; {} when the records cannot
    be read now (their errors are for docgen validate)."""
    from ..errors import DocgenError
    from ..registry import notices
    from .core import load_workspace_records

    try:
        ds = load_workspace_records(ws)
        return notices.changes(ds, ws.data)
    except DocgenError:
        return {}
