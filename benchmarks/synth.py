"""A synthetic province for the benchmark: 13 cities of Jiangsu, their stations, detox
institutions and N persons with valid records (ID numbers with the GB 11643 check digit).

Everything is invented: names are drawn from common characters, ID numbers are made up
(valid check digit only), addresses are generic. Deterministic for a given N and seed.
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import yaml

from docgen.records.idcard import check_digit

# (station id prefix, city, area code of the city's first district, two counties with their townships)
CITIES = [
    ("nj", "南京市", "320102", [("玄武区", ["梅园新村街道", "新街口街道"]), ("秦淮区", ["夫子庙街道", "中华门街道"])]),
    ("wx", "无锡市", "320213", [("梁溪区", ["崇安寺街道", "广益街道"]), ("锡山区", ["东亭街道", "安镇街道"])]),
    ("xz", "徐州市", "320302", [("鼓楼区", ["丰财街道", "牌楼街道"]), ("云龙区", ["彭城街道", "子房街道"])]),
    ("cz", "常州市", "320402", [("天宁区", ["雕庄街道", "茶山街道"]), ("钟楼区", ["南大街街道", "荷花池街道"])]),
    ("sz", "苏州市", "320505", [("虎丘区", ["狮山街道", "枫桥街道"]), ("姑苏区", ["平江街道", "沧浪街道"])]),
    ("nt", "南通市", "320612", [("崇川区", ["和平桥街道", "任港街道"]), ("通州区", ["金沙街道", "兴仁镇"])]),
    ("lyg", "连云港市", "320703", [("连云区", ["墟沟街道", "连云街道"]), ("海州区", ["海州街道", "新浦街道"])]),
    ("ha", "淮安市", "320803", [("淮安区", ["淮城街道", "河下街道"]), ("清江浦区", ["清河街道", "柳树湾街道"])]),
    ("yc", "盐城市", "320902", [("亭湖区", ["五星街道", "文峰街道"]), ("盐都区", ["潘黄街道", "盐渎街道"])]),
    ("yz", "扬州市", "321002", [("广陵区", ["东关街道", "汶河街道"]), ("邗江区", ["蒋王街道", "汊河街道"])]),
    ("zj", "镇江市", "321102", [("京口区", ["正东路街道", "大市口街道"]), ("润州区", ["金山街道", "宝塔路街道"])]),
    ("tz", "泰州市", "321202", [("海陵区", ["城东街道", "城西街道"]), ("高港区", ["口岸街道", "刁铺街道"])]),
    ("sq", "宿迁市", "321302", [("宿城区", ["幸福街道", "项里街道"]), ("宿豫区", ["顺河街道", "下相街道"])]),
]

INSTITUTIONS = [
    ("dh", "江苏省东湖强制隔离戒毒所", "东湖", "南京市"),
    ("fq", "江苏省方强强制隔离戒毒所", "方强", "南京市"),
    ("xz-jd", "江苏省徐州强制隔离戒毒所", "徐戒", "徐州市"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏飞斌宇浩凯健俊帆鑫波宁志峰海东晨"
ROADS = ["中山路", "人民路", "建设路", "解放路", "和平路", "文化路", "长江路", "新华路"]
VISITORS = ["刘芳", "周文静", "黄丽", "张伟", "钱晓东", "郑卫东"]


def _station(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def id_number(area: str, birth: dt.date, seq: int, male: bool) -> str:
    order = (seq % 500) * 2 + (1 if male else 0)
    first17 = f"{area}{birth:%Y%m%d}{order:03d}"
    return first17 + check_digit(first17)


def make_province(root: Path, people: int = 1000, seed: int = 2026, month: str = "2026-11") -> list[Path]:
    """Write a workspace (docgen.toml + records/) under ``root``; returns the person files."""
    rng = random.Random(seed)
    records = root / "records"
    for sub in ("stations", "institutions", "persons"):
        (records / sub).mkdir(parents=True, exist_ok=True)
    (root / "docgen.toml").write_text('[paths]\nrecords = "records"\noutput = "output"\n'
                                      'data = "data"\narchive = "archive"\n', encoding="utf-8")
    for iid, name, code, city in INSTITUTIONS:
        _station(records / "institutions" / f"{iid}.yaml", {
            "记录类型": "戒毒所", "编号": iid, "名称": name, "代字": code, "所在地": city,
            "地址": f"{city}{rng.choice(ROADS)}1号", "联系人": "韩志刚", "联系电话": "025-86101234", "所长": "蒋国平"})
    service: list[tuple[str, str, str, str, str]] = []  # (id, city, county, township, area code)
    for ci, (pre, city, area, counties) in enumerate(CITIES):
        _station(records / "stations" / f"{pre}.yaml", {
            "记录类型": "站点", "编号": pre, "类型": "指导站", "设区的市": city, "地址": f"{city}人民路1号",
            "报到地址": {"路": "人民路", "号": "1号"}, "联系人": "周文静", "联系电话": "025-83591234",
            "站长": "陈立新", "全宗号": f"J{101 + ci}", "机构代码": f"{pre.upper()}ZDZ"})
        for k, (county, towns) in enumerate(counties):
            wid = f"{pre}-w{k + 1}"
            _station(records / "stations" / f"{wid}.yaml", {
                "记录类型": "站点", "编号": wid, "类型": "工作站", "设区的市": city, "县（市、区）": county,
                "上级": pre, "地址": f"{city}{county}中华路300号", "报到地址": {"路": "中华路", "号": "300号"},
                "联系人": "钱晓东", "联系电话": "025-52203344", "站长": "郑卫东", "机构代码": f"{pre.upper()}GZZ{k + 1}"})
            for j, town in enumerate(towns):
                sid = f"{wid}-s{j + 1}"
                _station(records / "stations" / f"{sid}.yaml", {
                    "记录类型": "站点", "编号": sid, "类型": "服务站", "设区的市": city, "县（市、区）": county,
                    "乡（镇、街道）": town, "上级": wid, "地址": f"{city}{county}贡院街8号",
                    "报到地址": {"路": "贡院街", "号": "8号"}, "联系人": "黄丽", "联系电话": "13813900003",
                    "站长": "张伟"})
                service.append((sid, city, county, town, area))
    year, mon = (int(x) for x in month.split("-"))
    files = []
    for n in range(people):
        sid, city, county, town, area = service[n % len(service)]
        male = rng.random() < 0.85
        birth = dt.date(rng.randint(1965, 2000), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        release = dt.date(year, mon, 1) - dt.timedelta(days=rng.randint(20, 600))
        admitted = release - dt.timedelta(days=730)
        report = release + dt.timedelta(days=rng.randint(1, 10))
        road = rng.choice(ROADS)
        address = f"江苏省{city}{county}{town}{road}{rng.randint(1, 300)}号"
        visitor = rng.choice(VISITORS)
        events = [{"类型": "报到", "日期": report.isoformat()}]
        day = report + dt.timedelta(days=20)
        month_end = dt.date(year + (mon == 12), mon % 12 + 1, 1) - dt.timedelta(days=1)
        while day <= month_end:
            events.append({"类型": "回访", "日期": day.isoformat(), "方式": rng.choice(["电话回访", "见面回访"]),
                           "回访人": visitor, "操守保持": "良好", "个人思想": "稳定", "家庭关系": "和睦",
                           "社会交往": "正常", "就业状况": rng.choice(["求职中", "已就业", "务农"])})
            day += dt.timedelta(days=rng.randint(25, 40))
        pid = f"{sid.split('-')[0].upper()}{year}{n + 1:05d}"
        person = {
            "记录类型": "照管对象", "编号": pid, "姓名": name, "性别": "男" if male else "女", "民族": "汉族",
            "文化程度": rng.choice(["小学", "初中", "高中", "中专", "大专"]),
            "出生年月": f"{birth:%Y-%m}", "身份证号码": id_number(area, birth, n, male),
            "户籍所在地": address, "现居住地": address, "联系方式": f"139{rng.randint(10000000, 99999999)}",
            "服务站": sid, "跟踪回访责任人": visitor,
            "强制隔离戒毒": {
                "戒毒所": INSTITUTIONS[n % len(INSTITUTIONS)][0], "队别": f"{rng.randint(1, 6)}大队", "期限": "2年",
                "决定机关": f"{city}公安局{county}分局", "决定书编号": f"公强戒决字〔{admitted.year}〕{n + 1}号",
                "入所时间": admitted.isoformat(), "出所时间": release.isoformat(),
                "在所表现情况": {"计分考核": "良好", "遵规守纪": "遵守", "人际关系": "融洽", "习艺劳动态度": "积极",
                           "文明礼貌": "好", "内务卫生": "整洁", "奖惩情况": "无", "职业技能培训": "参加电工培训",
                           "探访": "家属每月探访一次", "参加帮教活动": "积极参加"}},
            "本人简历": f"{birth.year + 16}年—{birth.year + 19}年 读书\n{birth.year + 19}年至入所前 务工",
            "家庭成员及主要社会关系": [
                {"与本人关系": "母亲", "姓名": rng.choice(SURNAMES) + "秀兰", "工作单位": "退休",
                 "现住址": address, "联系电话": f"138{rng.randint(10000000, 99999999)}"}],
            "家庭状况": "与家人同住，家庭关系和睦。", "身体健康状况": "良好",
            "违法犯罪与处罚情况": "曾因吸毒被行政拘留。",
            "吸食毒品情况": {"初次吸食时间": "2015年", "最近一次吸食时间": f"{admitted.year}年",
                       "吸食种类": "甲基苯丙胺", "吸食数量": "少量"},
            "戒毒经历": "社区戒毒一次。", "重点人员": "是" if n % 10 == 0 else "否",
            "后续照管建议": "家庭支持较好，建议协助就业。",
            "服务协议": {"签订日期": (release - dt.timedelta(days=30)).isoformat(), "甲方代表": "周文静"},
            "事件": events,
        }
        path = records / "persons" / f"{pid}.yaml"
        path.write_text(yaml.safe_dump(person, allow_unicode=True, sort_keys=False, width=200), encoding="utf-8")
        files.append(path)
    return files
