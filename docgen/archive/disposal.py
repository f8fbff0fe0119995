"""The 档案销毁清册 (Jiangsu disposal procedure): 序号, 题名, 年度, 档号, 应保管期限, 已保管期限,
页数, 备注, with signature blocks for the appraisal head (鉴定小组负责人), the two approvers
(批准人) and the two witnesses (监销人). The draft leaves the approvals blank; the executed
list, filed permanently, records who approved in the registry and when it was carried out."""
from __future__ import annotations

import datetime as dt

from ..documents.layout import L, Layout, Loop, Para, Row, Spacer, Table, Title, V
from .volumes import render_pdf
from .policy import Policy


def _elapsed(start: dt.date | None, end: dt.date) -> str:
    if start is None:
        return ""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    months = max(months, 0)
    y, m = divmod(months, 12)
    return f"{y}年{m}个月" if m else f"{y}年"


def _cn(d: dt.date | None) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


_LAYOUT = Layout([
    Title("档案销毁清册", size=20, space_after=2),
    Para("{{ status }}", align="center", role="table", size=10.5, space_after=1.5),
    Para("全宗号：{{ fonds }}　　全宗名称：{{ fonds_name }}　　清册编号：{{ number }}　　"
         "鉴定截止日期：{{ drafted }}", role="table", size=10.5, space_after=0.5),
    Para("{{ dh_text }}", role="table", size=10.5, space_after=1.5),
    Table([9, 78, 12, 58, 23, 23, 10, 58], [
        Row([L("序号"), L("题　名"), L("年度"), L("档　号"), L("应保管期限"), L("已保管期限"), L("页数"), L("备　注")],
            10, header=True),
        Loop("r", "rows", Row([V("r.n", align="center"), V("r.title"), V("r.year", align="center"),
                               V("r.dh", align="center"), V("r.term", align="center"),
                               V("r.kept", align="center"), V("r.pages", align="center"), V("r.note")], 9),
             min_rows=5),
    ], size=9.5),
    Para("本清册共列档案 {{ count }} 卷，{{ pages }} 页。{{ approval_text }}", role="table", size=10.5,
         space_before=2, space_after=2),
    Table([34, 52, 34, 52], [
        Row([L("鉴定小组负责人<br/>（签名）"), V("appraiser", align="center"), L("日　期"), L("")], 13),
        Row([L("批准人（签名）"), V("approver1", align="center"), L("批准人（签名）"), V("approver2", align="center")], 13),
        Row([L("监销人（签名）"), L(""), L("监销人（签名）"), L("")], 13),
        Row([L("销毁日期"), V("executed", align="center"), L("销毁方式"), L("")], 10),
    ], size=10.5),
    Spacer(1),
    Para("{{ note }}", role="table", size=9),
], landscape=True, margins=(30, 15, 15, 15), page_numbers=True, doc_title="档案销毁清册")


def render_list(number: str, fonds: str, fonds_name: str, rows, as_of: dt.date, policy: Policy, *,
                drafted_by: str, approvers: list[str] | None = None, executed_on: dt.date | None = None,
                executed_by: str = "", dh: str = "", as_of_draft: dt.date | None = None,
                audit_head: tuple[int, str] | None = None) -> bytes:
    """``audit_head``: (number, SHA-256) of the audit log's last entry before the execution,
    printed on the executed list: signed by the witnesses and kept on paper, it anchors the
    log outside the archive (``docgen archive anchor --check``)."""
    drafted = as_of_draft or as_of
    items = []
    total = 0
    for i, r in enumerate(rows, start=1):
        series = policy.series.get(r["kind"])
        trigger = dt.date.fromisoformat(r["trigger_date"]) if r["trigger_date"] else None
        items.append({"n": str(i), "title": r["title"], "year": str(r["year"]), "dh": r["dh"],
                      "term": series.term_text if series else r["retention"],
                      "kept": _elapsed(trigger, executed_on or drafted), "pages": str(r["pages"]),
                      "note": f"起算：{r['trigger_reason']}；到期：{r['due_date']}"})
        total += int(r["pages"])
    approvers = approvers or []
    if executed_on:
        status = f"（已执行：{_cn(executed_on)}，执行人 {executed_by}）"
        approval_text = f"经 {'、'.join(approvers)} 批准（档案登记簿记载）。"
    else:
        status = "（草稿：待鉴定、待两名批准人批准后方可执行）"
        approval_text = ""
    note = "注：本清册永久保存；被销毁档案的档号、题名、SHA-256 散列值、销毁时间和清册编号作为存根永久保存在档案登记簿中。"
    if executed_on and audit_head:
        from .anchor import grouped_hash

        seq, digest = audit_head
        note += (f"执行前审计日志共 {seq} 条，第 {seq} 条的散列值为 {grouped_hash(digest)}"
                 f"（审计锚点：可用 docgen archive anchor --check 核对）。")
    view = {"note": note, "status": status, "fonds": fonds, "fonds_name": fonds_name, "number": number,
            "drafted": _cn(drafted), "dh_text": f"本清册档号：{dh}（永久保管）" if dh else "本清册档号：执行销毁后归档时编定", "rows": items,
            "count": str(len(items)), "pages": str(total), "approval_text": approval_text,
            "appraiser": "", "approver1": approvers[0] if len(approvers) > 0 else "",
            "approver2": approvers[1] if len(approvers) > 1 else "", "executed": _cn(executed_on)}
    return render_pdf(_LAYOUT, view, f"销毁清册 {number}")
