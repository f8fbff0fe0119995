"""``docgen archive``: filing, retention, disposal, fixity and audit of the archive."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys

import click

from ..errors import DocgenError, UsageError
from ..workspace import Workspace
from .app import echo, main, workspace_option

policy_option = click.option("--policy", "policy", type=click.Path(dir_okay=False, path_type=str), default=None,
                             help="保管策略文件（默认：docgen.toml 的 [archive] policy，或项目的 archive/policy.toml）")
by_option = click.option("--by", "by", default=None, help="经办人姓名（默认：操作系统用户名）")


def _open(ws: Workspace, policy: str | None = None, create: bool = False):
    from ..archive import Archive

    return Archive(ws, policy, create=create)


def _records(ws: Workspace, required: bool = True):
    from .core import load_workspace_records

    if not ws.records.is_dir():
        if required:
            raise DocgenError(f"记录目录不存在：{ws.records}")
        echo(f"警告：记录目录 {ws.records} 不存在，保管期限按登记簿现有记载。", err=True)
        return None
    ds = load_workspace_records(ws)
    for d in ds.errors:
        echo(str(d), err=True)
    return ds


def _date(text: str | None, what: str):
    from ..archive.service import parse_date

    return parse_date(text, what)


def _row_line(r) -> str:
    from ..archive.service import label

    flag = f"  【保全：{r['hold_reason']}】" if r["hold_reason"] else ""
    due = r["due_date"] or ("永久" if r["kind"] == "disposal" else "未定")
    if r["status"] == "disposed":
        state = f"已于 {str(r['disposed_at'] or '')[:10]} 按销毁清册 {r['disposal_list']} 销毁"
    else:
        state = f"到期 {due}" + (f"（{r['trigger_reason']}）" if r["trigger_reason"] and r["due_date"] else "")
    return f"{r['dh']}  {r['title']}  {label(r['kind'])}  {r['pages']}页  第{r['version']}版  {state}{flag}"


@main.group()
def archive() -> None:
    """档案：归档（档号、封面、目录、备考表）、保管期限、保全、销毁、核对与审计。

    \b
    docgen archive file --person NJ2026001 --by 刘芳     归档一人的个人档案（再次归档即更新版本）
    docgen archive file --all-persons --by 刘芳          归档全部已报到照管对象的个人档案
    docgen archive file --annual nj-xw-my --year 2026 --by 刘芳   归档站点（或戒毒所）的年度工作档案
    docgen archive file --notices dh --month 2026-11 --by 周文静  归档某戒毒所某月寄送的通知书
    docgen archive due --as-of 2029-12-31                列出保管期满的案卷
    docgen archive hold 档号 --reason 理由 / release 档号  保全 / 解除保全
    docgen archive dispose --as-of 日期 --by 姓名        编制销毁清册（草稿）
    docgen archive lists [清册编号]                      销毁清册：编制、批准、执行和各卷散列值
    docgen archive approve 清册编号 --by 姓名             批准（编制人以外的两名不同的批准人，各用本人的账户；
                                                         docgen.toml [archive] approvers 为审批人名单时只限名单上的人）
    docgen archive execute 清册编号 --by 姓名             执行销毁（保留存根，清册永久归档）
    docgen archive purge --list 清册编号 --by 姓名        清除已销毁个人档案的对象留在工作区的记录、文书和打印包
                                                         （及该清册销毁的通知书卷中通知书的人员信息）
    docgen archive show 档号                             登记信息和历次版本（旧版本原样保存）
    docgen archive show 档号 --version 1 --out 旧版.pdf  导出某一版本的原件
    docgen archive verify                                逐件核对散列值（含旧版本），发现改动、缺失、多余文件
    docgen archive audit --verify                        核对审计日志的散列链
    docgen archive anchor --by 姓名                      签发审计日志锚点单（存放在档案库以外）；--check 序号:散列值 核对
    """


@archive.command("file")
@click.option("--person", "persons", multiple=True, help="照管对象编号（可重复）")
@click.option("--all-persons", is_flag=True, help="全部照管对象（尚未出所、尚未报到的和已销毁的跳过）")
@click.option("--annual", "annual", multiple=True, help="站点或戒毒所编号：归档其年度工作档案（可重复）")
@click.option("--all-stations", is_flag=True, help="全部站点和戒毒所的年度工作档案（配合 --year）")
@click.option("--year", "year", type=int, help="年度（配合 --annual / --all-stations）")
@click.option("--notices", "notices", help="戒毒所编号：归档其寄送的信息对接通知书（配合 --month）")
@click.option("--month", "month", help="月份，如 2026-11（配合 --notices）")
@click.option("--by", "by", required=True, help="立卷人姓名（印在备考表上；必填，不用操作系统账户名）")
@click.option("--checker", default="", help="检查人姓名（印在备考表上；须是立卷人以外的人）")
@click.option("--as-of", "as_of", help="立卷日期（默认今天），印在备考表上；年度档案收至该日所在月份")
@click.option("--force", is_flag=True, help="为尚未出所或尚未报到的人员提前建档（配合 --person）")
@click.option("--drop-reason", "drop_reason", default=None,
              help="重新归档时去除现行版本中已归档文件的理由（写在备考表和审计日志中；配合 --person / --annual / --notices）")
@policy_option
@workspace_option
def file_cmd(ws: Workspace, persons, all_persons, annual, all_stations, year, notices, month, by, checker, as_of,
             force, drop_reason, policy) -> None:
    """归档：每卷一个 PDF（封面、卷内文件目录、文件、备考表），首页盖归档章，登记档号和散列值。"""
    from ..archive.service import (NothingToFile, NotYetOpened, VolumeDisposed, clean_name, name_key,
                                   not_future)

    chosen = sum(bool(x) for x in (persons or all_persons, annual or all_stations, notices))
    if chosen != 1:
        raise UsageError("请选择且只选择一种：--person 编号 / --all-persons、--annual 站点 / --all-stations "
                         "--year 年度，或 --notices 戒毒所 --month 月份")
    if (annual or all_stations) and not year:
        raise UsageError("年度工作档案须写明年度：--year 2026")
    if notices and not month:
        raise UsageError("通知书按寄送单位、月份装订：须写明 --month 2026-11")
    if force and not persons:
        raise UsageError("--force 只能配合 --person 编号 使用：提前建档须逐人决定")
    if drop_reason is not None and (all_persons or all_stations):
        raise UsageError("--drop-reason 只能逐卷使用（--person、--annual 或 --notices），不能配合 --all-persons / --all-stations")
    if drop_reason is not None and not drop_reason.strip():
        raise UsageError("--drop-reason 须写明理由")
    by = clean_name(by, "立卷人")
    if checker and name_key(checker) == name_key(by):
        raise UsageError(f"检查人“{checker.strip()}”与立卷人“{by}”是同一人：检查人须由立卷人以外的人担任")
    day = _date(as_of, "立卷日期")
    not_future(day, "立卷日期")  # once, not once per volume
    ds = _records(ws)
    arc = _open(ws, policy, create=True)
    filed = []
    failures = skipped = 0

    def skip(what: str, exc: DocgenError) -> None:
        nonlocal skipped
        skipped += 1
        echo(f"跳过{what}：{exc.message}")

    try:
        if persons or all_persons:
            ids = sorted(ds.persons) if all_persons else list(persons)
            if all_persons and not ids:
                raise DocgenError("没有可归档的照管对象记录")
            for pid in ids:
                try:
                    filed.append(arc.file_person(ds, pid, by, checker, day, force=force, drop_reason=drop_reason))
                except (NotYetOpened, VolumeDisposed) as exc:
                    if not all_persons:
                        raise
                    skip(f" {pid}", exc)
                except DocgenError as exc:
                    if not all_persons:
                        raise
                    failures += 1
                    echo(f"错误：照管对象 {pid}：{exc.message}", err=True)
        elif annual or all_stations:
            units = sorted(ds.stations) + sorted(ds.institutions) if all_stations else list(annual)
            for sid in units:
                try:
                    filed.append(arc.file_annual(ds, sid, year, by, checker, day, drop_reason=drop_reason))
                except (NothingToFile, VolumeDisposed) as exc:
                    if not all_stations:
                        raise
                    skip("", exc)
                except DocgenError as exc:
                    if not all_stations:
                        raise
                    failures += 1
                    echo(f"错误：{sid}：{exc.message}", err=True)
        else:
            filed.extend(arc.file_notices(ds, notices, month, by, checker, day, drop_reason=drop_reason))
    finally:
        arc.close()
    for f in filed:
        ver = "" if f.version == 1 else f"（第 {f.version} 版，取代旧版）"
        if f.unchanged:
            ver = f"（内容与现行第 {f.version} 版相同，未建新版本）"
        echo(f"已归档 {f.dh}  {f.title}：{f.documents} 件文件，共 {f.pages} 页{ver} → {f.path}")
        for n in f.notes:
            if "未能生成" in n:
                echo(f"  提示：{n}", err=True)
        for w in f.warnings:
            echo(f"  警告：{w}", err=True)
    echo(f"共归档 {len(filed)} 卷" + (f"，跳过 {skipped} 卷" if skipped else "")
         + (f"，{failures} 卷失败" if failures else "") + "。")
    if failures:
        sys.exit(1)


def _working_data_left(ws: Workspace, arc, ds, persons: list[str] | None = None) -> list:
    """Disposed persons (or these) whose records, documents or print bundles are still in the
    workspace: ``docgen archive purge`` removes them. Never fails the command it reminds in."""
    from ..archive.purge import pending

    try:
        return pending(ws, arc, ds, persons)
    except (DocgenError, OSError) as exc:
        echo(f"提示：未能检查已销毁人员的工作数据（{getattr(exc, 'message', None) or exc}）", err=True)
        return []


def _readable(value) -> str:
    """An audit entry's before/after state for reading: the registry's codes of kind and status
    (personal, filed, executed …) in Chinese; ``audit --json`` keeps the entries as written."""
    from ..archive.service import label

    def walk(v, key=None):
        if isinstance(v, dict):
            return {k: walk(x, k) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return label(v) if key in ("状态", "类别") else v

    return "（无）" if value is None else json.dumps(walk(value), ensure_ascii=False)


@archive.command("list")
@click.option("--all", "show_all", is_flag=True, help="也列出已销毁的案卷（存根）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@workspace_option
def list_cmd(ws: Workspace, show_all: bool, as_json: bool) -> None:
    """列出档案库中的案卷（档号、题名、页数、版本、到期日、保全）。"""
    arc = _open(ws)
    try:
        rows = [r for r in arc.items() if show_all or r["status"] == "filed"]
        if as_json:
            click.echo(json.dumps([dict(r) for r in rows], ensure_ascii=False, indent=2))
            return
        for r in rows:
            echo(_row_line(r))
        echo(f"共 {len(rows)} 卷。")
    finally:
        arc.close()


@archive.command("show")
@click.argument("ref")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="把某一版本的案卷 PDF 导出到此文件（先核对散列值；不改动档案库）")
@click.option("--version", "version", type=click.IntRange(min=1), default=None,
              help="导出第几版（配合 --out；默认现行版本）")
@workspace_option
def show_cmd(ws: Workspace, ref: str, out: str | None, version: int | None) -> None:
    """显示一卷的登记信息和历次版本（立卷日期、立卷人、页数、散列值、被取代时间、文件）；
    --out 文件 [--version N] 导出某一版本的原件。"""
    from pathlib import Path

    from ..archive.service import label

    if version is not None and out is None:
        raise UsageError("--version 须配合 --out 文件 使用：导出第几版")
    arc = _open(ws)
    try:
        if out is not None:
            item, v = arc.export_version(ref, version, Path(out))
            current = "现行版本" if v["version"] == item["version"] else "旧版本"
            echo(f"已导出 {item['dh']} 第 {v['version']} 版（{current}，{v['filed_on']} 立卷，{v['pages']} 页，"
                 f"sha256 {v['sha256']}）→ {Path(out).absolute()}")
            return
        r = arc.item(ref)
        labels = [("档号", "dh"), ("题名", "title"), ("类别", "kind"), ("对象/单位", "subject"), ("立卷单位", "unit"),
                  ("期间", "period"), ("状态", "status"), ("文件", "path"), ("SHA-256", "sha256"), ("页数", "pages"),
                  ("立卷日期", "filed_on"), ("归档时间", "filed_at"), ("立卷人", "filed_by"),
                  ("起算日", "trigger_date"), ("起算事由", "trigger_reason"), ("到期日", "due_date"),
                  ("保全", "hold_reason"), ("销毁时间", "disposed_at"), ("销毁清册", "disposal_list")]
        if "content_key" in r.keys():  # what the volume says; a new version only when it changes
            labels.insert(labels.index(("页数", "pages")), ("内容散列", "content_key"))
        for name, key in labels:
            if r[key] not in (None, ""):
                echo(f"{name}：{label(r[key]) if key in ('kind', 'status') else r[key]}")
        if r["kind"] != "disposal":
            try:
                echo(f"保管期限：{arc.policy.get(r['kind']).term_text}（档号中的代码 {r['retention']}）")
            except DocgenError:
                echo(f"保管期限：档号中的代码 {r['retention']}")
        logged: dict = {}  # what the audit log says of each version: 检查人, documents dropped and why
        for e in arc.store.audit_entries():
            after = e.get("after") if isinstance(e.get("after"), dict) else {}
            if e.get("target") == r["dh"] and e.get("action") in ("归档", "重新归档") and "版本" in after:
                logged[after["版本"]] = after
        versions = arc.versions(r["id"])
        echo(f"历次版本（{len(versions)} 版）：")
        for v in versions:
            current = v["version"] == r["version"] and r["status"] == "filed"
            sup = f"，{v['superseded_at']} 被取代" if v["superseded_at"] else ("（现行）" if current else "（已销毁）")
            ckey = v["content_key"] if "content_key" in v.keys() else None
            entry = logged.get(v["version"], {})
            checker = f"，检查人 {entry['检查人']}" if entry.get("检查人") else ""
            rel, how = arc.version_file(r, v)
            echo(f"  第 {v['version']} 版：{v['filed_on']} 立卷，立卷人 {v['filed_by']}{checker}，{v['pages']} 页，"
                 f"sha256 {v['sha256']}" + (f"，内容散列 {ckey[:16]}…" if ckey else "") + f"，登记于 {v['filed_at']}" + sup)
            echo(f"    文件：{rel}（{how}）" if rel else f"    文件：{how}")
            if entry.get("去除文件"):
                echo(f"    去除第 {v['version'] - 1} 版中的文件：{'、'.join(entry['去除文件'])}（理由：{entry.get('去除理由')}）")
    finally:
        arc.close()


@archive.command("refresh")
@by_option
@policy_option
@workspace_option
def refresh_cmd(ws: Workspace, by, policy) -> None:
    """按当前记录和保管策略重算各卷的起算日和到期日（如典型培育延长），变动记入审计日志。"""
    ds = _records(ws)
    arc = _open(ws, policy)
    try:
        changes = arc.refresh(ds, by)
    finally:
        arc.close()
    for c in changes:
        echo(f"{c['dh']}  {c['title']}：到期日 {c['before'] or '未定'} → {c['after'] or '未定'}（{c['reason']}）")
    echo(f"重算完毕：{len(changes)} 卷的保管期限有变动。")


@archive.command("due")
@click.option("--as-of", "as_of", help="截止日期（默认今天）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@by_option
@policy_option
@workspace_option
def due_cmd(ws: Workspace, as_of, as_json, by, policy) -> None:
    """列出截至某日保管期满的案卷（先按当前记录重算保管期限）。"""
    day = _date(as_of, "截止日期")
    ds = _records(ws, required=False)
    arc = _open(ws, policy)
    try:
        arc.refresh(ds, by, readonly_ok=True)
        if not arc.store.writable:
            echo("提示：本账户对档案库只有读权限，到期日按当前记录计算，未记入登记簿。", err=True)
        rows = arc.due(day)
        from ..archive.purge import unfiled_notices, unfiled_text

        unfiled = unfiled_notices(arc, ws, rows)
        voided, voided_error = _voided_due(arc, ws, day)
        if as_json:  # a notice volume that cannot be listed yet says why (held_back)
            click.echo(json.dumps([{**dict(r), **({"held_back": unfiled_text(r, unfiled[r["dh"]])}
                                                  if r["dh"] in unfiled else {})} for r in rows]
                                  + [_voided_item(g) for g in voided],
                                  ensure_ascii=False, indent=2))
            return
        for r in rows:
            echo(f"{r['dh']}  {r['title']}  到期 {r['due_date']}（{r['trigger_reason']}）"
                 + (f"  【保全：{r['hold_reason']}，不得销毁】" if r["hold_reason"] else ""))
        echo(f"截至 {day.isoformat()}，保管期满 {len(rows)} 卷。")
        if unfiled:
            echo(f"其中 {len(unfiled)} 卷通知书卷暂不能列入销毁清册：")
            for r in rows:
                if r["dh"] in unfiled:
                    echo(f"  {unfiled_text(r, unfiled[r['dh']])}")
        if voided:
            echo(f"另有 {len(voided)} 份已作废、未收入通知书卷的通知书（该月没有通知书卷）保管期满，"
                 "须清除其在通知书登记簿中的人员信息：")
            for g in voided:
                echo(f"  {g.label}  {g.row.get('month')}  期满 {g.due}（该月通知书卷的保管期限，自 {g.start} 起算）")
            echo(f"  清除：{VOIDED_COMMAND}（先加 --dry-run 查看）")
        if voided_error:
            echo(f"提示：无法核对已作废、未入卷的通知书（{voided_error}）", err=True)
        stuck = arc.undetermined(ds, day)
        if stuck:
            echo(f"另有 {len(stuck)} 卷到期日未定，补录结案事件、运行 docgen archive refresh 后才能确定：")
            for r, why in stuck:
                echo(f"  {r['dh']}  {r['title']}：{why}")
        from ..archive.purge import reminder

        for line in reminder(ws, _working_data_left(ws, arc, ds)):
            echo(line)
    finally:
        arc.close()


VOIDED_COMMAND = "docgen archive purge --notices --by 姓名"


def _voided_due(arc, ws: Workspace, day: dt.date) -> tuple[list, str | None]:
    """Voided notices no notice volume holds, whose term ran out by ``day`` and whose personal
    data is still there; (those, why they could not be read)."""
    from ..archive.purge import expired_voided, register_failure

    try:
        return expired_voided(arc, ws, day)[0], None
    except (DocgenError, OSError, sqlite3.Error) as exc:
        return [], register_failure(exc)


def _voided_item(g) -> dict:
    """A voided notice to clear, as ``due --json`` lists it next to the volumes."""
    return {"dh": None, "kind": "voided_notice", "title": f"已作废、未入卷的通知书 {g.row['number']}",
            "number": g.row["number"], "notice_kind": g.row["kind"], "institution": g.row.get("institution"),
            "station": g.row.get("station"), "month": g.row.get("month"), "trigger_date": g.start,
            "due_date": g.due, "trigger_reason": "该月通知书卷的保管期限（该月没有通知书卷）",
            "action": "清除通知书个人信息", "command": VOIDED_COMMAND}


@archive.command("hold")
@click.argument("ref")
@click.option("--reason", required=True, help="保全理由（如：涉诉、审计调阅）")
@by_option
@workspace_option
def hold_cmd(ws: Workspace, ref, reason, by) -> None:
    """保全一卷：保全中的案卷不会列入、也不会执行销毁。"""
    arc = _open(ws)
    try:
        r = arc.hold(ref, reason, by)
    finally:
        arc.close()
    echo(f"已保全 {r['dh']}（{r['title']}）：{r['hold_reason']}")


@archive.command("release")
@click.argument("ref")
@by_option
@workspace_option
def release_cmd(ws: Workspace, ref, by) -> None:
    """解除一卷的保全。"""
    arc = _open(ws)
    try:
        r = arc.release(ref, by)
    finally:
        arc.close()
    echo(f"已解除保全 {r['dh']}（{r['title']}）")


@archive.command("dispose")
@click.option("--as-of", "as_of", required=True, help="鉴定截止日期：列入此日已保管期满、未保全的案卷")
@click.option("--by", "by", required=True, help="清册编制人姓名（印在销毁清册上；必填，不用操作系统账户名）")
@policy_option
@workspace_option
def dispose_cmd(ws: Workspace, as_of, by, policy) -> None:
    """编制销毁清册（草稿 PDF）；须经两名不同的批准人批准后才能执行。"""
    day = _date(as_of, "截止日期")
    ds = _records(ws, required=False)
    arc = _open(ws, policy)
    try:
        numbers = arc.draft_disposal(ds, day, by)
        for n in numbers:
            lst = arc._list(n)
            entries = arc.list_entries(n)
            echo(f"已编制销毁清册 {n}：{len(entries)} 卷 → {arc.root / lst['path']}")
            for r in entries:
                echo(f"  {r['dh']}  {r['title']}")
            echo(f"  下一步：docgen archive approve {n} --by 批准人（两名不同的批准人），再 docgen archive execute {n}")
        for r, why in arc.held_back:
            echo(f"未列入：{why}")
        if not numbers:
            echo(f"截至 {day.isoformat()} 没有可列入销毁清册的案卷（未到期、保全中或已列入其他清册）。")
    finally:
        arc.close()


@archive.command("lists")
@click.argument("number", required=False)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@workspace_option
def lists_cmd(ws: Workspace, number: str | None, as_json: bool) -> None:
    """列出销毁清册及其批准、执行情况；写明清册编号 NUMBER 时显示其完整记录（编制、批准、执行、各卷散列值）。"""
    arc = _open(ws)
    try:
        led = arc.ledger()
        if number is None:
            rows = arc.lists()
            if as_json:
                click.echo(json.dumps([_list_record(arc, lst) for lst in rows], ensure_ascii=False, indent=2))
                return
            for lst in rows:
                apps = "、".join(a["approver"] for a in arc.approvals(lst["number"])) or "无"
                echo(f"{lst['number']}  {arc.list_state_text(lst, led)}  截止 {lst['as_of']}  "
                     f"{len(arc.list_entries(lst['number']))} 卷  编制人：{lst['drafted_by']}  批准人：{apps}")
            echo(f"共 {len(rows)} 份销毁清册。" if rows else "档案库中还没有销毁清册。")
            _roster_line(arc)
            return
        lst = arc._list(number)
        rec = _list_record(arc, lst)
        if as_json:
            click.echo(json.dumps(rec, ensure_ascii=False, indent=2))
            return
        echo(f"销毁清册 {rec['清册编号']}（{arc.list_state_text(lst, led)}）  全宗号 {rec['全宗号']}  鉴定截止日期 {rec['鉴定截止日期']}")
        echo(f"编制：{rec['编制人']}，{rec['编制时间']}；草稿 {rec['草稿']['文件']}，sha256 {rec['草稿']['sha256']}")
        for a in rec["批准"] or [{"批准人": "无", "时间": ""}]:
            echo(f"批准：{a['批准人']}  {a['时间']}")
        if lst["status"] == "draft":
            for why in arc.counted_approvals(lst["number"], led)[1]:
                echo(f"  不计：{why}")
        _roster_line(arc)
        if rec["状态"] == "executed":
            echo(f"执行：{rec['执行人']}，销毁日期 {rec['销毁日期']}，登记时间 {rec['执行时间']}；"
                 f"清册本身归档为 {rec['清册档号']}（永久保管）")
        echo(f"列入案卷 {len(rec['案卷'])} 卷：")
        for i, e in enumerate(rec["案卷"], start=1):
            echo(f"  {i}. {e['档号']}  {e['题名']}  第{e['列入版本']}版  {e['页数']}页  到期 {e['到期日'] or '未定'}  "
                 f"{'已销毁' if e['状态'] == 'disposed' else '在库'}  sha256 {e['sha256']}")
    finally:
        arc.close()


def _roster_line(arc) -> None:
    """Who may approve: the roster of docgen.toml, or a note that none is configured."""
    from ..archive.service import ROSTER_KEY

    roster = arc.roster()
    if roster is None:
        echo(f"审批人名单：未配置（docgen.toml [archive] {ROSTER_KEY}），编制人以外的任何姓名均可批准。")
    else:
        echo(f"审批人名单（docgen.toml [archive] {ROSTER_KEY}）：{'、'.join(roster)}")


def _list_record(arc, lst) -> dict:
    """What an auditor asks of a disposal: who drafted, who approved and when, who carried it out,
    and which volumes (档号, 题名, version, pages, SHA-256) were destroyed."""
    record = None
    if lst["record_item"] is not None:
        row = arc.db.execute("SELECT dh FROM items WHERE id = ?", (lst["record_item"],)).fetchone()
        record = row["dh"] if row else None
    entries = []
    for r in arc.list_entries(lst["number"]):
        listed = arc.db.execute("SELECT sha256, pages FROM versions WHERE item_id = ? AND version = ?",
                                (r["id"], r["listed_version"])).fetchone()
        entries.append({"档号": r["dh"], "题名": r["title"], "列入版本": r["listed_version"],
                        "页数": listed["pages"] if listed else r["pages"],
                        "sha256": listed["sha256"] if listed else r["sha256"], "到期日": r["due_date"],
                        "起算事由": r["trigger_reason"], "状态": r["status"], "销毁时间": r["disposed_at"]})
    return {"清册编号": lst["number"], "状态": lst["status"], "全宗号": lst["fonds"], "鉴定截止日期": lst["as_of"],
            "编制人": lst["drafted_by"], "编制时间": lst["drafted_at"],
            "草稿": {"文件": lst["path"], "sha256": lst["sha256"]},
            "批准": [{"批准人": a["approver"], "时间": a["approved_at"]} for a in arc.approvals(lst["number"])],
            "执行人": lst["executed_by"], "执行时间": lst["executed_at"], "销毁日期": lst["executed_on"],
            "清册档号": record, "审批人名单": arc.roster(), "案卷": entries}


@archive.command("approve")
@click.argument("number")
@click.option("--by", "by", required=True, help="批准人姓名")
@workspace_option
def approve_cmd(ws: Workspace, number, by) -> None:
    """批准销毁清册 NUMBER（须编制人以外的两名不同的批准人，各用本人的登录账户；姓名比较时不计空格和大小写；
    docgen.toml 配置了 [archive] approvers 审批人名单时，只有名单上的人可以批准）。"""
    arc = _open(ws)
    try:
        n = arc.approve(number, by)
        need = arc.policy.approvals_required
    finally:
        arc.close()
    more = f"还需 {need - n} 名不同的批准人。" if n < need else f"批准人数已够，可执行：docgen archive execute {number} --by 执行人姓名"
    echo(f"{by} 已批准销毁清册 {number}（第 {n} 人）。{more}")


@archive.command("cancel")
@click.argument("number")
@click.option("--reason", required=True, help="撤销理由")
@by_option
@workspace_option
def cancel_cmd(ws: Workspace, number, reason, by) -> None:
    """撤销尚未执行的销毁清册（清册中的案卷可重新鉴定）。"""
    arc = _open(ws)
    try:
        arc.cancel(number, reason, by)
    finally:
        arc.close()
    echo(f"已撤销销毁清册 {number}。")


@archive.command("execute")
@click.argument("number")
@click.option("--as-of", "as_of", help="销毁日期（默认今天）；执行时再次核对到期日和保全")
@click.option("--by", "by", required=True, help="执行人（监销人）姓名（印在销毁清册上；必填，不用操作系统账户名）")
@policy_option
@workspace_option
def execute_cmd(ws: Workspace, number, as_of, by, policy) -> None:
    """执行销毁清册 NUMBER：删除案卷内容，保留存根（档号、题名、散列值、销毁时间、清册编号），清册永久归档。"""
    day = _date(as_of, "销毁日期")
    if not ws.records.is_dir():  # destruction cannot be undone: the terms are checked against the records
        raise DocgenError(f"记录目录不存在：{ws.records}。执行销毁前须按当前记录再次核对每卷的保管期限，"
                          "没有记录不能执行")
    ds = _records(ws)
    arc = _open(ws, policy)
    try:
        result = arc.execute(ds, number, day, by)
        left = _working_data_left(ws, arc, ds, arc.persons_of(result["disposed"]))
        redacted, redact_error = _redact_after_execute(ws, arc, by)
    finally:
        arc.close()
    for dh in result["disposed"]:
        echo(f"已销毁 {dh}（存根保留在登记簿）")
    for line in _redacted_lines(redacted):
        echo(line)
    if redact_error:
        echo(f"警告：通知书卷已销毁，但未能清除通知书登记簿中的人员信息：{redact_error}；"
             "请运行 docgen archive purge --notices --by 姓名 补完", err=True)
    from ..archive.purge import reminder

    for line in reminder(ws, left, number):
        echo(line)
    for left in result.get("left", []):
        echo(f"警告：已登记为销毁，但文件未能删除：{left}；请手工删除（docgen archive verify 会列出）", err=True)
    echo(f"销毁清册 {number} 已执行，并作为永久档案归档：{result['dh']} → {result['path']}")


def _redact_after_execute(ws: Workspace, arc, by: str) -> tuple[list, str | None]:
    """The notices of the destroyed notice volumes lose their personal data (after the
    destruction is committed: a failure here leaves it for ``purge --notices``)."""
    from ..archive.purge import redact_notices

    try:
        return redact_notices(arc, ws, by), None
    except DocgenError as exc:
        return [], exc.message
    except (OSError, sqlite3.Error) as exc:  # the notice register (another database) not writable now
        return [], str(exc)


def _redacted_lines(gone: list, dry_run: bool = False) -> list[str]:
    out = []
    for g in gone:
        if g.expired:
            why = (f"已作废、未收入通知书卷（{g.row.get('month')} 没有通知书卷），该月通知书卷的保管期限"
                   f"（自 {g.start} 起算）已于 {g.due} 届满")
            if dry_run:
                out.append(f"通知书 {g.label}（{why}）：将清除登记簿中的人员和内容，删除输出目录中的通知书文书")
                continue
            res = g.result or {}
            files = f"，删除文书文件 {res['files']} 个" if res.get("files") else ""
            if g.bundles:
                files += f"，删除含此通知书的打印包 {len(g.bundles)} 个（也含其他文书；需要时重新运行 docgen print）"
            out.append(f"已清除通知书 {g.label}的人员信息（{why}；登记簿保留编号、日期、人数和内容散列值{files}；"
                       "已记入审计日志）")
            continue
        if dry_run:
            out.append(f"通知书 {g.label}（通知书卷 {g.dh}，销毁清册 {g.number}{'' if g.filed else '；已作废、未入卷'}）："
                       "将清除登记簿中的人员和内容，删除输出目录中的通知书文书")
            continue
        res = g.result or {}
        files = f"，删除文书文件 {res['files']} 个" if res.get("files") else ""
        if g.bundles:
            files += f"，删除含此通知书的打印包 {len(g.bundles)} 个（也含其他文书；需要时重新运行 docgen print）"
        voided = "" if g.filed else "；已作废、未入卷，随该月的通知书卷一并清除"
        out.append(f"已清除通知书 {g.label}的人员信息（通知书卷 {g.dh} 已按销毁清册 {g.number} 销毁{voided}；"
                   f"登记簿保留编号、日期、人数和内容散列值{files}；已记入审计日志）")
    return out


def _voided_waiting(arc, ws: Workspace) -> list:
    """Voided notices no notice volume holds whose term has not run out yet (today)."""
    from ..archive.purge import expired_voided

    return expired_voided(arc, ws, dt.date.today())[1]


def _quiet_records(ws: Workspace):
    """The records for a reminder (``verify``): None when they cannot be read; no messages."""
    if not ws.records.is_dir():
        return None
    try:
        from .core import load_workspace_records

        return load_workspace_records(ws)
    except (DocgenError, OSError):
        return None


@archive.command("purge")
@click.option("--person", "persons", multiple=True, help="照管对象编号（可重复）")
@click.option("--list", "number", default=None,
              help="销毁清册编号：清除该清册销毁的全部个人档案的对象的工作数据，及其销毁的通知书卷中通知书的人员信息")
@click.option("--notices", "notices", is_flag=True,
              help="清除所在通知书卷已销毁的全部通知书、以及保管期满的已作废未入卷通知书在通知书登记簿中的人员信息和内容")
@click.option("--by", "by", default=None, help="经办人姓名（记入审计日志；除 --dry-run 外必填，不用操作系统账户名）")
@click.option("--dry-run", "dry_run", is_flag=True, help="只列出将删除的文件，不作任何改动")
@workspace_option
def purge_cmd(ws: Workspace, persons, number, notices, by, dry_run) -> None:
    """清除个人档案已销毁的照管对象留在工作区的工作数据（记录、文书、打印包）。

    \b
    docgen archive purge --list XH-2029-001 --dry-run          查看将删除的文件
    docgen archive purge --list XH-2029-001 --by 刘芳           清除该清册销毁的全部个人档案的对象
    docgen archive purge --person T001 --person T002 --by 刘芳  逐人清除
    docgen archive purge --notices --by 刘芳                    清除已销毁通知书卷中通知书的人员信息

    \b
    删除：记录文件和事件文件；输出目录中的全部文书（PDF、DOCX、XLSX）及其在清单 manifest.json
    和生成状态中的条目；记录解析缓存中的条目；含其文书的打印包（整个删除）和打印登记。
    条件：个人档案（及典型培育档案）已按销毁清册销毁，以登记簿和审计日志为准。
    先记入审计日志（“清除工作数据”：编号、清册、各类文件数），再删除文件；中断后重新运行即可补完。
    本期的花名册、统计表在下次 docgen build 时不再含此人，已冻结、已归档期间的报表不变；
    通知书卷仍在保管的通知书、编号登记簿和统计冻结数据库中记有此人的，列出而不改动。

    \b
    通知书：通知书卷（TZ）已按销毁清册销毁的，卷内通知书在通知书登记簿中的人员（编号、姓名）和
    发出时的内容被清除，保留编号、日期、回执、作废、人数和内容散列值，登记簿显示“已销毁”；
    输出目录中的通知书文书删除，docgen build 不再生成。execute 执行销毁后即自动清除，
    --notices 补完中断的清除。已作废、没有收入任何通知书卷的通知书（该月全部作废，没有通知书卷），
    在该月通知书卷应有的保管期限届满后由 --notices 同样清除（docgen archive due 列出）。
    """
    from ..archive.purge import purge, redact_notices

    if sum(map(bool, (persons, number, notices))) != 1:
        raise UsageError("请选择且只选择一种：--person 编号（可重复）、--list 销毁清册编号 或 --notices")
    if not dry_run and not (by or "").strip():
        raise UsageError("清除工作数据须写明经办人：--by 姓名（记入审计日志；只查看时加 --dry-run）")
    ds = _records(ws, required=False) if not notices else None
    arc = _open(ws)
    gone: list = []
    plans: list = []
    waiting: list = []
    try:
        if notices:
            gone = redact_notices(arc, ws, by, dry_run=dry_run, expired=True)
            waiting = _voided_waiting(arc, ws)
        if number:
            lst = arc._list(number)
            if lst["status"] != "executed":
                raise DocgenError(f"销毁清册 {lst['number']} 尚未执行：个人档案销毁之后才能清除工作数据")
            entries = arc.list_entries(lst["number"])
            persons = arc.persons_of([r["dh"] for r in entries])
            with_notices = any(r["kind"] == "notices" for r in entries)
            if not persons and not with_notices:
                raise DocgenError(f"销毁清册 {lst['number']} 没有销毁个人档案或通知书卷，没有要清除的工作数据")
            if with_notices:
                gone = redact_notices(arc, ws, by, lists={lst["number"]}, dry_run=dry_run)
        if persons:
            plans = purge(arc, ws, ds, list(persons), by, dry_run=dry_run)
    finally:
        arc.close()
    for line in _redacted_lines(gone, dry_run):
        echo(line)
    if (notices or (number and not plans)) and not gone:
        echo("没有需要清除的通知书人员信息（所在通知书卷已销毁的通知书、保管期满的已作废未入卷通知书都已清除）。")
    for g in waiting:
        echo(f"通知书 {g.label}（{g.row.get('month')}）已作废、未收入通知书卷，"
             + (f"该月通知书卷的保管期限于 {g.due} 届满，届时再运行 docgen archive purge --notices --by 姓名 清除"
                if g.due else "通知书卷按保管策略永久保管，不清除"))
    out_dir = ws.output
    done = 0
    for lo in plans:
        what = lo.summary(out_dir)
        if not lo.present(out_dir):
            echo(f"{lo.pid}：工作区中已没有其工作数据（个人档案 {lo.dh} 已按销毁清册 {lo.number} 销毁）")
        elif dry_run:
            echo(f"{lo.pid}（个人档案 {lo.dh}，销毁清册 {lo.number}）将删除：{what}")
            for f in lo.records:
                echo(f"  记录  {f.relative_to(ws.root) if f.is_relative_to(ws.root) else f}")
            for f in lo.document_files(out_dir):
                echo(f"  文书  {f.relative_to(out_dir) if f.is_relative_to(out_dir) else f}")
            for f in lo.bundles:
                echo(f"  打印包  {f}（也含其他人的文书，整个删除）")
        else:
            done += 1
            echo(f"已清除 {lo.pid} 的工作数据：{what}（已记入审计日志）")
            for f in lo.bundles:
                echo(f"  已删除打印包 {f.name}（也含其他人的文书；需要时重新运行 docgen print --all 生成）")
        for line in lo.remains:
            echo(f"  仍保留：{line}")
    if dry_run:
        echo("（--dry-run：未作任何改动）")
    elif done:
        echo(f"共清除 {done} 人的工作数据。本期的花名册、统计表在下次 docgen build 时不再含这些人；"
             "已冻结、已归档期间的报表不变。")


@archive.command("verify")
@workspace_option
def verify_cmd(ws: Workspace) -> None:
    """逐件核对档案库：散列值改变、文件缺失、多余（未登记）文件、权限、登记簿和审计日志；有问题时返回非零。"""
    from ..archive.purge import disposed_persons, notice_reminder, pending_notices, reminder

    arc = _open(ws)
    try:
        rep = arc.verify()
        # (the records are loaded only when some person's volumes are destroyed: else nothing to remind of)
        left = _working_data_left(ws, arc, _quiet_records(ws)) if not rep["audit"] and disposed_persons(arc) else []
        try:
            notes = notice_reminder(pending_notices(arc, ws)) if not rep["audit"] else []
        except DocgenError:
            notes = []
    finally:
        arc.close()
    sections = [("registry", "登记簿损坏"), ("changed", "内容被改动（散列值不符）"), ("missing", "文件缺失"),
                ("untracked", "未登记的多余文件"), ("modes", "权限过宽"), ("audit", "审计日志"),
                ("reconcile", "登记簿与审计日志不符")]
    bad = 0
    for key, label in sections:
        for entry in rep[key]:
            bad += 1
            echo(f"{label}：{entry}", err=True)
    for entry in rep.get("unfinished", []):  # an interrupted change, completed by the next one: no failure
        echo(f"未完成的操作（下次改动时自动完成）：{entry}", err=True)
    if bad:
        for line in reminder(ws, left) + notes:
            echo(line, err=True)
        echo(f"核对未通过：{bad} 个问题（共核对 {rep['checked']} 个文件）。", err=True)
        sys.exit(1)
    echo(f"核对通过：{rep['checked']} 个文件的散列值全部相符，没有多余文件；审计日志 {rep['audit_entries']} 条，散列链完整。")
    for line in reminder(ws, left) + notes:  # a reminder, not a failure: the archive itself is sound
        echo(line)


@archive.command("audit")
@click.option("--verify", "check", is_flag=True, help="核对散列链：发现被改动、删除、插入或调换顺序的条目")
@click.option("--tail", type=click.IntRange(min=0), default=0, help="只显示最后 N 条（0：全部）")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@workspace_option
def audit_cmd(ws: Workspace, check: bool, tail: int, as_json: bool) -> None:
    """显示或核对审计日志（谁、何时、做了什么、前后状态）。"""
    arc = _open(ws)
    try:
        if check:
            with arc.store.shared_lock():
                n, problems, unfinished = arc.store.audit_report()
            for p in problems:
                echo(f"审计日志有问题：{p}", err=True)
            if problems:
                sys.exit(1)
            if unfinished:
                echo(f"未完成的操作（下次改动时自动完成）：{unfinished}", err=True)
            echo(f"审计日志 {n} 条，散列链完整。")
            return
        entries = arc.store.audit_entries()
        if tail:
            entries = entries[-tail:]
        if as_json:
            click.echo(json.dumps(entries, ensure_ascii=False, indent=2))
            return
        for e in entries:
            note = f"（{e['note']}）" if e.get("note") else ""
            change = ""
            if e.get("before") is not None or e.get("after") is not None:
                change = f"  {_readable(e.get('before'))} → {_readable(e.get('after'))}"
            who = e.get("who")
            if e.get("account") and e.get("account") != who:
                who = f"{who}（账户 {e.get('account')}）"
            echo(f"#{e.get('seq')} {e.get('at')} {who} {e.get('action')} {e.get('target')}{note}{change}")
    finally:
        arc.close()
