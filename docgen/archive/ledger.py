"""What the audit log says the registry should hold: the log replayed entry by entry.

The registry (SQLite) can be edited with any SQLite tool; the audit log cannot be changed
without breaking its hash chain. So every field the log records -- a volume's title, version,
pages, hashes, trigger, due date, status and hold; a disposal list's drafter, cut-off date,
volumes, approvals and execution -- is taken from the log's last entry about it, and the
registry is compared with that (``mismatches``). Commands whose safety rests on these fields
(drafting, approving and executing a disposal) act only on what the log supports.

A field an entry changes without recording it (``重新归档`` sets the title and trigger date
but records neither) becomes unknown until a later entry records it, and is not compared.
Entries that record the state *before* their change are checked against the replay too
(``history``): a change made by hand to the registry and then carried into the log by a
later command (``refresh`` recomputing a due date edited by hand) still shows.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# log key → registry column (items)
ITEM_FIELDS = {"题名": "title", "版本": "version", "页数": "pages", "sha256": "sha256", "内容散列": "content_key",
               "起算日": "trigger_date", "到期日": "due_date", "起算事由": "trigger_reason", "类别": "kind",
               "保全": "hold_reason", "状态": "status"}
# what a filing (重新归档) sets in the registry, recorded or not
FILING_SETS = ("title", "version", "pages", "sha256", "content_key", "trigger_date", "due_date", "trigger_reason",
               "kind")
LABELS = {"title": "题名", "version": "版本", "pages": "页数", "sha256": "散列值", "content_key": "内容散列",
          "trigger_date": "起算日", "due_date": "到期日", "trigger_reason": "起算事由", "kind": "类别",
          "hold_reason": "保全", "held_by": "保全人", "status": "状态"}
STATUS_TEXT = {"filed": "在库", "disposed": "已销毁", "draft": "草稿", "executed": "已执行", "cancelled": "已撤销"}
# a log that writes kinds and statuses in words means the registry's codes
_CODES = {"在库": "filed", "已销毁": "disposed", "照管对象个人档案": "personal", "后续照管对象个人档案": "personal",
          "典型培育对象个人档案": "cultivation", "年度工作档案": "annual", "信息对接通知书": "notices",
          "档案销毁清册": "disposal"}


def _code(col: str, value: Any) -> Any:
    return _CODES.get(value, value) if col in ("status", "kind") and isinstance(value, str) else value


def norm_name(name: str | None) -> str:
    """A person's name as compared: NFKC (full-width letters and spaces as ordinary ones), with
    every space, control and format character removed, case folded. “张 主任” is “张主任”,
    “ZHANG” is “zhang”."""
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] not in "CZ").casefold()


def local_day(stamp: str | None) -> dt.date | None:
    """The local calendar day of a UTC timestamp of the registry or the log."""
    if not stamp:
        return None
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone().date()


@dataclass
class Approval:
    name: str
    account: str | None
    at: str | None
    seq: Any


@dataclass
class ListState:
    number: str
    seq: Any
    drafted_by: str | None = None
    drafted_at: str | None = None
    account: str | None = None
    as_of: str | None = None
    volumes: list | None = None
    sha256: str | None = None
    status: str = "draft"
    approvals: list[Approval] = field(default_factory=list)
    executed_by: str | None = None
    executed_on: str | None = None
    record: str | None = None


@dataclass
class Ledger:
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)  # 档号 → column → value (known ones)
    lists: dict[str, ListState] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # entries whose recorded "before" the replay contradicts
    # 档号 → version → SHA-256 as filed: superseded versions' files are checked against the registry's
    # ``versions`` rows, so these rows are compared with the log too
    version_hashes: dict[str, dict[int, str]] = field(default_factory=dict)


def _show(column: str, value: Any) -> str:
    if value is None or value == "":
        return "（无）"
    if column == "status":
        return STATUS_TEXT.get(str(value), str(value))
    return str(value)


def replay(entries: list[dict]) -> Ledger:
    led = Ledger()
    for e in entries:
        if not isinstance(e, dict):
            continue
        action, target = e.get("action"), e.get("target")
        before = e.get("before") if isinstance(e.get("before"), dict) else {}
        after = e.get("after") if isinstance(e.get("after"), dict) else {}
        if not isinstance(target, str):
            continue
        if action in ("归档", "重新归档") and isinstance(after.get("版本"), int) and isinstance(after.get("sha256"), str):
            if action == "归档":
                led.version_hashes[target] = {}
            led.version_hashes.setdefault(target, {})[after["版本"]] = after["sha256"]
        if action == "归档":
            state: dict[str, Any] = {"status": "filed", "hold_reason": None, "held_by": None}
            for key, col in ITEM_FIELDS.items():
                if key in after and col not in ("status", "hold_reason"):
                    state[col] = _code(col, after[key])
            if after.get("保管期限") == "永久":  # the executed 清册: kept for ever
                state.setdefault("due_date", None)
            led.volumes[target] = state
            continue
        if target in led.volumes and not str(action).startswith("拒绝"):
            # 重新归档, 登记内容散列, 重算保管期限, 保全, 解除保全, 销毁 -- and any later kind of change
            # to a volume: what it records after the change is the volume's state from then on
            state = led.volumes[target]
            for key, value in before.items():
                col = ITEM_FIELDS.get(key)
                if col == "content_key" and value is None:
                    continue  # a registry from before content keys were kept (migrated: the column is empty)
                if col in state and state[col] != _code(col, value):
                    led.history.append(
                        f"审计日志第 {e.get('seq')} 条（{action} {target}）记载改动前的{LABELS[col]}为“{_show(col, value)}”，"
                        f"此前的日志却记载为“{_show(col, state[col])}”：登记簿在这次操作之前被改动过")
            if action == "重新归档":
                for col in FILING_SETS:
                    state.pop(col, None)
            for key, value in after.items():
                col = ITEM_FIELDS.get(key)
                if col is not None:
                    state[col] = _code(col, value)
            if action == "保全":
                state["held_by"] = e.get("who")
            elif action == "解除保全":
                state["hold_reason"] = state["held_by"] = None
            elif action == "销毁":
                state["status"] = "disposed"
            continue
        if action == "编制销毁清册":
            led.lists[target] = ListState(
                target, e.get("seq"), drafted_by=e.get("who"), drafted_at=e.get("at"), account=e.get("account"),
                as_of=after.get("截止日期"), volumes=after.get("案卷") if isinstance(after.get("案卷"), list) else None,
                sha256=after.get("sha256"))
            continue
        lst = led.lists.get(target)
        if lst is None:
            continue
        if action == "批准销毁" and isinstance(after.get("批准人"), str):
            lst.approvals.append(Approval(after["批准人"], e.get("account"), e.get("at"), e.get("seq")))
        elif action == "撤销销毁清册":
            lst.status = "cancelled"
        elif action == "执行销毁":
            lst.status = "executed"
            lst.executed_by = e.get("who")
            lst.executed_on = after.get("销毁日期")
            lst.record = after.get("清册档号")
    return led


def mismatches(db: sqlite3.Connection, led: Ledger) -> list[str]:
    """The registry's fields that differ from the log's last record of them (登记簿被改动)."""
    problems = []
    volumes = dict(led.volumes)
    for r in db.execute("SELECT * FROM items ORDER BY dh").fetchall():
        want = volumes.pop(r["dh"], None)
        if want is None:
            problems.append(f"{r['dh']} 在登记簿中，审计日志却没有它的归档记录")
            continue
        if want.get("status", r["status"]) != r["status"]:
            problems.append(f"{r['dh']} 在登记簿中为“{_show('status', r['status'])}”，审计日志记载为"
                            f"“{_show('status', want['status'])}”：状态未经规定程序改变，登记簿被改动")
            continue
        for col, value in want.items():
            if col == "status" or r[col] == value or (col == "content_key" and r[col] is None):
                continue  # (a registry from before content keys were kept has none)
            if col == "sha256":
                problems.append(f"{r['dh']} 登记的散列值与审计日志最后记载的不符：登记簿被改动")
            else:
                problems.append(f"{r['dh']} 的{LABELS[col]}在登记簿中为“{_show(col, r[col])}”，审计日志最后记载为"
                                f"“{_show(col, value)}”：登记簿被改动")
    for dh in sorted(volumes):
        problems.append(f"审计日志记载归档的 {dh} 不在登记簿中：登记簿中的记录被删除")
    for r in db.execute("SELECT i.dh, v.version, v.sha256 FROM versions v JOIN items i ON i.id = v.item_id "
                        "ORDER BY i.dh, v.version").fetchall():
        logged = led.version_hashes.get(r[0], {}).get(r[1])
        if logged is not None and logged != r[2]:
            problems.append(f"{r[0]} 第 {r[1]} 版登记的散列值与审计日志记载的不符：登记簿被改动")
    lists = dict(led.lists)
    for r in db.execute("SELECT * FROM lists ORDER BY number").fetchall():
        number = r["number"]
        want = lists.pop(number, None)
        if want is None:
            problems.append(f"销毁清册 {number} 在登记簿中，审计日志却没有它的编制记录：登记簿被改动")
            continue
        problems += _list_mismatches(db, r, want)
    for number in sorted(lists):
        problems.append(f"审计日志记载编制的销毁清册 {number} 不在登记簿中：登记簿中的记录被删除")
    return problems


def _list_mismatches(db: sqlite3.Connection, r: sqlite3.Row, want: ListState) -> list[str]:
    number = r["number"]
    out = []

    def differ(label: str, have: Any, logged: Any) -> None:
        out.append(f"销毁清册 {number} 的{label}在登记簿中为“{have if have not in (None, '') else '（无）'}”，"
                   f"审计日志最后记载为“{logged if logged not in (None, '') else '（无）'}”：登记簿被改动")

    if r["drafted_by"] != want.drafted_by:
        differ("编制人", r["drafted_by"], want.drafted_by)
    if want.as_of is not None and r["as_of"] != want.as_of:
        differ("鉴定截止日期", r["as_of"], want.as_of)
    if r["status"] != want.status:
        differ("状态", STATUS_TEXT.get(r["status"], r["status"]), STATUS_TEXT.get(want.status, want.status))
    if want.sha256 is not None and r["sha256"] != want.sha256:
        differ("草稿散列值", r["sha256"], want.sha256)
    if want.volumes is not None:
        have = [row[0] for row in db.execute("SELECT i.dh FROM list_entries e LEFT JOIN items i ON i.id = e.item_id "
                                             "WHERE e.number = ? ORDER BY e.pos", (number,)).fetchall()]
        if have != want.volumes:
            differ("列入案卷", "、".join(d or "（登记簿中的记录被删除）" for d in have), "、".join(want.volumes))
    have_names = [row[0] for row in db.execute("SELECT approver FROM approvals WHERE number = ? ORDER BY approved_at, "
                                               "approver", (number,)).fetchall()]
    logged = [a.name for a in want.approvals]
    for name in have_names:
        if name not in logged:
            out.append(f"销毁清册 {number} 的批准人“{name}”在登记簿中，审计日志却没有其批准记录：登记簿被改动")
    for name in logged:
        if name not in have_names:
            out.append(f"审计日志记载 {name} 批准了销毁清册 {number}，登记簿中却没有这条批准：登记簿被改动")
    if want.status == "executed":
        if r["executed_by"] != want.executed_by:
            differ("执行人", r["executed_by"], want.executed_by)
        if want.executed_on is not None and r["executed_on"] != want.executed_on:
            differ("销毁日期", r["executed_on"], want.executed_on)
        if want.record is not None:
            row = db.execute("SELECT dh FROM items WHERE id = ?", (r["record_item"],)).fetchone() \
                if r["record_item"] is not None else None
            if (row[0] if row else None) != want.record:
                differ("清册档号", row[0] if row else None, want.record)
    return out
