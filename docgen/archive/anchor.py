"""Anchors of the audit log: its head on a given day, printed and kept outside the archive.

The audit log's hash chain shows a change to any entry, and the registry records the
chain's head; but whoever can write the archive can rewrite the whole log and that record
together. An anchor -- the number and SHA-256 of the log's last committed entry -- printed
on a sheet, signed, and kept where the archive's writers cannot reach it (the 档案室's paper
file, the superior unit) closes the gap: ``check`` tells whether the log still holds that
entry at that place, with an intact chain from the first entry through it to today's head.

Issuing an anchor is itself logged (``签发审计锚点``, recording the anchored entry), so the
log shows when anchors were taken; the anchor is the head *before* that entry.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from ..documents.layout import L, Layout, Para, Row, Spacer, Table, Title, V
from ..errors import DocgenError, UsageError
from .store import AUDIT_NAME, Store
from .volumes import render_pdf

ACTION = "签发审计锚点"
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Anchor:
    seq: int  # the anchored entry's number (1 = the first entry)
    hash: str  # its SHA-256, as the log records it
    at: str  # when it was written (the log's UTC stamp)

    @property
    def text(self) -> str:
        """What ``--check`` takes: ``N:HASH``."""
        return f"{self.seq}:{self.hash}"

    @property
    def grouped(self) -> str:
        """The hash in eight groups of eight, as printed (easier to read back and compare)."""
        return grouped_hash(self.hash)


def grouped_hash(digest: str) -> str:
    """A SHA-256 in groups of eight hexadecimal digits, as anchor sheets and executed 销毁清册 print it."""
    return " ".join(digest[i:i + 8] for i in range(0, len(digest), 8))


def parse(text: str) -> tuple[int, str]:
    """``N:HASH`` as printed on an anchor sheet: the number, then the 64 hexadecimal digits,
    which may be written in groups (spaces) and in either case."""
    m = re.fullmatch(r"\s*第?\s*(\d+)\s*条?\s*[:：]?\s*([0-9a-fA-F\s]+)", text or "")
    digits = re.sub(r"\s+", "", m.group(2)).lower() if m else ""
    if not m or not _HEX.fullmatch(digits):
        raise UsageError(f"锚点“{text}”的格式不对：应为“条目序号:散列值”，如 12:3f5a…（散列值为锚点单上的 64 位十六进制数，"
                         "可带空格）")
    return int(m.group(1)), digits


def _intact(store: Store) -> list[dict]:
    """The committed entries, refusing a log whose chain is already broken."""
    entries, problems, _ = store.audit_chain()  # the log read once
    if problems:
        raise DocgenError("审计日志的散列链已不完整：" + "；".join(problems[:3])
                          + "。先运行 docgen archive audit --verify 查明问题")
    return entries[:int(store.meta("audit_count", "0"))]


def current(store: Store) -> Anchor:
    """The head of the log as the registry commits it."""
    entries = _intact(store)
    if not entries:
        raise DocgenError("审计日志还没有条目（档案库尚无任何操作），无需签发锚点")
    last = entries[-1]
    return Anchor(int(last["seq"]), str(last["hash"]), str(last.get("at") or ""))


def issue(store: Store, by: str) -> Anchor:
    """Anchor the head and log that it was anchored (under the archive's lock: no change
    comes between reading the head and logging the anchor)."""
    with store.action(by) as act:
        anchor = current(store)
        act.log(ACTION, AUDIT_NAME, None, {"序号": anchor.seq, "散列": anchor.hash})
    return anchor


def check(store: Store, seq: int, digest: str) -> list[str]:
    """Why the log does not hold the anchored entry (none: it does, with an intact chain
    from the first entry through it to the head)."""
    entries, problems, _ = store.audit_chain()  # the log read once
    out = list(problems)
    if seq < 1:
        return out + ["锚点的条目序号应从 1 起"]
    if seq > len(entries):
        return out + [f"审计日志现有 {len(entries)} 条，锚点记的是第 {seq} 条：日志被截短，或整本被换成了别的日志"]
    entry = entries[seq - 1]
    have = entry.get("hash") if isinstance(entry, dict) else None
    if have != digest:
        out.append(f"审计日志第 {seq} 条的散列值为 {grouped_hash(str(have))}，锚点单记为 {grouped_hash(digest)}："
                   "这一条或它之前的日志被改写过（或整本日志被换掉）")
    return out


# --------------------------------------------------------------------------- the sheet

_SHEET = Layout([
    Title("档案库审计日志锚点单", size=20, space_after=4),
    Table([30, 70], [
        Row([L("档案库"), V("root")], 10),
        Row([L("签发时间"), V("issued")], 10),
        Row([L("锚定条目"), V("entry")], 10),
        Row([L("该条写入时间"), V("written")], 10),
        Row([L("散列值<br/>（SHA-256）"), V("grouped", align="center")], 14),
        Row([L("核对命令"), V("command")], 14),
    ], size=11),
    Spacer(4),
    Para("本单记下审计日志在签发时的最后一条（其序号和散列值）。散列链使日志中任何一条被改动都能查出；本单存放在档案库以外"
         "（档案室纸质卷宗、上级单位），使整本日志连同登记簿被改写也能查出。以后核对时运行上面的命令：日志仍在原位含有这一条、"
         "散列链从第 1 条经过它一直完整，即为相符。", role="table", size=10.5, leading=18, indent=2),
    Spacer(6),
    Table([25, 25, 25, 25], [
        Row([L("签发人（签名）"), V("by", align="center"), L("日　期"), L("")], 14),
        Row([L("见证人（签名）"), L(""), L("保存单位"), L("")], 14),
    ], size=11, keep=True),
], margins=(30, 25, 25, 25), doc_title="档案库审计日志锚点单")


def sheet_pdf(anchor: Anchor, root: Path, by: str, issued: dt.datetime) -> bytes:
    written = anchor.at
    try:
        written = dt.datetime.fromisoformat(anchor.at.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        pass
    view = {"root": str(root), "issued": issued.strftime("%Y-%m-%d %H:%M"), "entry": f"第 {anchor.seq} 条",
            "written": written, "grouped": anchor.grouped, "by": by,
            "command": f'docgen archive anchor --check "{anchor.seq}:{anchor.grouped}"'}
    return render_pdf(_SHEET, view, "审计日志锚点单")
