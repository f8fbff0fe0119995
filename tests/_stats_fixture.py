"""A small hand-scripted workspace for the lifecycle, statistics and deadline tests.

One 指导站 ``t`` (南京市) > 工作站 ``t-a`` (玄武区) > 服务站 ``s1`` (梅园新村街道) and ``s2``
(孝陵卫街道); two 戒毒所 ``i1`` ``i2``. Eighteen synthetic persons with a scripted October
2026 (the month under test); the expected figures in the tests are worked out by hand from
the stories below, not from docgen.

s1: P01 in care since March, visits and help; P02 社区康复 2年, released 2025-06; P03 released
    09-25, never reports; P04 released and reports in October; P05 所外就医 10-03; P06 care
    period ends 10-02; P07 失联 in August, contact restored 10-08; P14 still inside (release
    12-05); P18 reported 2025-12-01, relapsed 2026-09-05 (leaves under the January rule).
s2: P08 relapses 10-15; P09 典型培育 by 戒毒所 i1 since 2024-05; P10 dies 10-20; P11 拒访 since
    09-10; P12 sentenced 09-15; P13 terminated 10-18 (其他违约); P15 典型培育 by 服务站 s2,
    ended 10-31; P16 released by i2 10-20 and cultivated by i2; P17 cultivated by 工作站 t-a
    from 10-10.
"""
from __future__ import annotations

from pathlib import Path

from docgen.records.idcard import check_digit
from docgen.workspace import init_workspace

STATIONS = {
    "t": "记录类型: 站点\n编号: t\n类型: 指导站\n设区的市: 南京市\n",
    "t-a": "记录类型: 站点\n编号: t-a\n类型: 工作站\n设区的市: 南京市\n县（市、区）: 玄武区\n上级: t\n",
    "s1": "记录类型: 站点\n编号: s1\n类型: 服务站\n设区的市: 南京市\n县（市、区）: 玄武区\n乡（镇、街道）: 梅园新村街道\n上级: t-a\n",
    "s2": "记录类型: 站点\n编号: s2\n类型: 服务站\n设区的市: 南京市\n县（市、区）: 玄武区\n乡（镇、街道）: 孝陵卫街道\n上级: t-a\n",
}
INSTITUTIONS = {
    "i1": "记录类型: 戒毒所\n编号: i1\n名称: 江苏省甲强制隔离戒毒所\n代字: 甲\n",
    "i2": "记录类型: 戒毒所\n编号: i2\n名称: 江苏省乙强制隔离戒毒所\n代字: 乙\n",
}
NANJING = "江苏省南京市玄武区测试路1号"
WUXI = "江苏省无锡市梁溪区测试路2号"


def id_number(n: int) -> str:
    first17 = f"32010219800101{n * 2 + 1:03d}"  # odd sequence: male
    return first17 + check_digit(first17)


def visit(date: str, method: str) -> str:
    return f"  - {{类型: 回访, 日期: {date}, 方式: {method}}}\n"


def event(kind: str, date: str, **extra: str) -> str:
    more = "".join(f", {k}: {v}" for k, v in extra.items())
    return f"  - {{类型: {kind}, 日期: {date}{more}}}\n"


# id: (station, release, institution, household, extra YAML, events)
PERSONS: dict[str, tuple] = {
    "P01": ("s1", "2026-03-01", "i1", NANJING, "", [
        event("报到", "2026-03-03"), event("就业", "2026-05-01", 就业方式="自主创业", 推荐就业="是"),
        visit("2026-09-15", "电话回访"), visit("2026-10-10", "电话回访"), visit("2026-10-20", "家庭走访"),
        event("帮扶", "2026-10-11", 事项类型="办理就业")]),
    "P02": ("s1", "2025-06-01", "i1", NANJING, "社区康复: {期限: 2年}\n", [
        event("报到", "2025-06-05"), event("未就业", "2025-08-01", 未就业原因="没有就业意愿"),
        visit("2026-10-05", "见面回访"), event("帮扶", "2026-10-12", 事项类型="救助财物", **{"金额（元）": "300"})]),
    "P03": ("s1", "2026-09-25", "i1", NANJING, "", []),
    "P04": ("s1", "2026-10-10", "i1", NANJING, "", [event("报到", "2026-10-12"), visit("2026-10-15", "微信回访")]),
    "P05": ("s1", "2026-10-03", "i1", NANJING, "", [event("所外就医", "2026-10-03")]),
    "P06": ("s1", "2025-10-01", "i1", NANJING, "", [
        event("报到", "2025-10-03"), event("就业", "2025-12-01", 就业方式="自谋职业"), event("期满", "2026-10-03")]),
    "P07": ("s1", "2026-01-10", "i1", NANJING, "", [
        event("报到", "2026-01-12"), event("失联", "2026-08-20"), event("恢复联系", "2026-10-08"),
        visit("2026-10-08", "见面回访"), event("帮扶", "2026-10-09", 事项类型="心理咨询")]),
    "P08": ("s2", "2026-02-01", "i1", NANJING, "", [
        event("报到", "2026-02-03"), event("就业", "2026-03-01", 就业方式="社会企业接纳"),
        event("未就业", "2026-08-01", 未就业原因="暂无就业岗位"), visit("2026-10-02", "社区调查"),
        event("复吸", "2026-10-15"), event("帮扶", "2026-10-29", 事项类型="其他")]),
    "P09": ("s2", "2024-05-01", "i1", WUXI, "典型培育: {培育单位: i1, 协议日期: 2024-04-20}\n", [
        event("报到", "2024-05-03"), event("就业", "2024-07-01", 就业方式="政府公益岗位", 推荐就业="是"),
        visit("2026-10-03", "电话回访"), event("帮扶", "2026-10-06", 事项类型="救助财物", **{"金额（元）": "200.5"})]),
    "P10": ("s2", "2026-04-01", "i1", NANJING, "", [
        event("报到", "2026-04-02"), event("就业", "2026-05-01", 就业方式="基地安置就业"), event("死亡", "2026-10-20")]),
    "P11": ("s2", "2026-05-01", "i1", NANJING, "", [event("报到", "2026-05-06"), event("拒访", "2026-09-10")]),
    "P12": ("s2", "2026-06-01", "i1", NANJING, "", [
        event("报到", "2026-06-03"), event("就业", "2026-07-01", 就业方式="自主创业"), event("判处刑罚", "2026-09-15")]),
    "P13": ("s2", "2026-06-10", "i1", NANJING, "", [
        event("报到", "2026-06-12"), event("未就业", "2026-07-01", 未就业原因="已办失业登记"),
        event("终止", "2026-10-18", 情形="有其他违反后续照管服务协议行为")]),
    "P14": ("s1", "2026-12-05", "i1", NANJING, "", []),
    "P15": ("s2", "2023-03-01", "i1", NANJING, "典型培育: {培育单位: s2, 协议日期: 2023-06-01}\n", [
        event("报到", "2023-03-02"), event("典型培育结束", "2026-10-31")]),
    "P16": ("s2", "2026-10-20", "i2", NANJING, "典型培育: {培育单位: i2, 协议日期: 2026-10-01}\n", [
        event("报到", "2026-10-22"), event("帮扶", "2026-10-28", 事项类型="办理低保")]),
    "P17": ("s2", "2026-01-05", "i1", NANJING, "典型培育: {培育单位: t-a, 协议日期: 2026-10-10}\n", [
        event("报到", "2026-01-06"), event("就业", "2026-10-05", 就业方式="社会企业接纳"), visit("2026-10-25", "电话回访"),
        event("帮扶", "2026-10-26", 事项类型="救助财物", **{"金额（元）": "100"})]),
    "P18": ("s1", "2025-11-28", "i1", NANJING, "", [event("报到", "2025-12-01"), event("复吸", "2026-09-05")]),
}


def person_yaml(pid: str) -> str:
    station, release, inst, household, extra, events = PERSONS[pid]
    n = int(pid[1:])
    text = (f"记录类型: 照管对象\n编号: {pid}\n姓名: 测试{n:02d}号\n性别: 男\n"
            f"身份证号码: \"{id_number(n)}\"\n户籍所在地: {household}\n服务站: {station}\n"
            f"强制隔离戒毒:\n  戒毒所: {inst}\n  出所时间: {release}\n{extra}")
    if events:
        text += "事件:\n" + "".join(events)
    return text


def make_workspace(root: Path) -> Path:
    ws = init_workspace(root)
    for sid, text in STATIONS.items():
        (ws.records / "stations" / f"{sid}.yaml").write_text(text, encoding="utf-8")
    for iid, text in INSTITUTIONS.items():
        (ws.records / "institutions" / f"{iid}.yaml").write_text(text, encoding="utf-8")
    for pid in PERSONS:
        (ws.records / "persons" / f"{pid}.yaml").write_text(person_yaml(pid), encoding="utf-8")
    return ws.root


def load(root: Path):
    from docgen.records.load import load_records
    from docgen.workspace import Workspace

    ws = Workspace.locate(root)
    ds = load_records([ws.records], base=ws.root)
    ds.workspace = ws
    assert not ds.errors, [str(d) for d in ds.errors]
    return ds
