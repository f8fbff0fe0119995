"""The record model: what a clerk writes in YAML, typed and checked.

Record keys are the Chinese labels clerks know (aliases); attribute names are English.
Every YAML file says what it holds with ``记录类型``:

* ``照管对象`` - one person in care (Person), with their events under ``事件``
* ``站点`` - a 指导站 / 工作站 / 服务站 (Station)
* ``戒毒所`` - a detox institution (Institution)
* ``事件`` - further events of one person, kept in a file of their own (EventFile)
* ``工作日志`` - a station's work log (WorkLog, form T)

Validators raise ``ValueError`` with Chinese messages; ``records.validate`` turns them
into ``file:line:column`` diagnostics.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator,
                      model_validator)

from .idcard import IdNumberError, normalize_id, parse_id

# --------------------------------------------------------------------------- enumerations

SEXES = ("男", "女")
STATION_KINDS = ("指导站", "工作站", "服务站")
VISIT_METHODS = ("电话回访", "微信回访", "见面回访", "家庭走访", "社区调查")
# Form Q groups the visit methods into three columns.
VISIT_GROUPS = {"电话回访": "电话回访", "见面回访": "见面回访", "家庭走访": "见面回访",
                "微信回访": "其他形式", "社区调查": "其他形式"}
# 方式 written short: each of these names one method only
VISIT_ALIASES = {"电话": "电话回访", "微信": "微信回访", "见面": "见面回访", "当面": "见面回访", "面谈": "见面回访",
                 "家访": "家庭走访", "走访": "家庭走访", "家庭走访回访": "家庭走访", "社区": "社区调查"}
HELP_KINDS = ("办理就业", "办理低保", "办理医保", "解决租房", "解决就学", "法律援助", "心理咨询",
              "化解矛盾", "救助财物", "其他")
TERMINATION_GROUNDS = (
    "无正当理由，未按期报到",
    "连续3个月联系不上或拒绝回访",
    "照管期限内又吸食毒品",
    "违法犯罪被判处刑罚",
    "有其他违反后续照管服务协议行为",
)
# 情形 may be written short: the number of the case in 5.3, or a word from it
TERMINATION_ALIASES = {
    "1": TERMINATION_GROUNDS[0], "未按期报到": TERMINATION_GROUNDS[0], "未报到": TERMINATION_GROUNDS[0],
    "2": TERMINATION_GROUNDS[1], "失联": TERMINATION_GROUNDS[1], "拒访": TERMINATION_GROUNDS[1],
    "失联拒访": TERMINATION_GROUNDS[1], "联系不上": TERMINATION_GROUNDS[1],
    "3": TERMINATION_GROUNDS[2], "复吸": TERMINATION_GROUNDS[2], "又吸食毒品": TERMINATION_GROUNDS[2],
    "4": TERMINATION_GROUNDS[3], "判刑": TERMINATION_GROUNDS[3], "判处刑罚": TERMINATION_GROUNDS[3],
    "5": TERMINATION_GROUNDS[4], "其他": TERMINATION_GROUNDS[4], "其他违约": TERMINATION_GROUNDS[4],
}
EMPLOYMENT_KINDS = ("自主创业", "自谋职业", "社会企业接纳", "政府公益岗位", "基地安置就业")
UNEMPLOYMENT_REASONS = ("暂无就业岗位", "已办失业登记", "没有就业意愿", "特困人员供养")
EVENT_KINDS = (
    "报到",  # reported to the station: care starts (5.1)
    "回访",  # follow-up visit (form I)
    "帮扶",  # help case (form J)
    "失联",  # contact lost
    "拒访",  # refuses visits
    "恢复联系",  # contact restored after 失联 / 拒访
    "复吸",  # relapse found
    "强戒",  # sent to compulsory detox again
    "判处刑罚",  # sentenced
    "所外就医",  # released for medical treatment outside the institution
    "期满",  # care period ended, with the appraisal (鉴定)
    "终止",  # agreement terminated by the 指导站 (5.3)
    "死亡",
    "就业",  # (re)employment (form R)
    "未就业",  # not employed, with the reason (form R)
    "典型培育结束",  # end of cultivation (archive retention trigger)
    "典型培育延长",  # cultivation extended to a new end date
)


def _msg(text: str) -> ValueError:
    return ValueError(text)


def _halfwidth(value: Any) -> str:
    """The text of a value with full-width digits, letters and signs made half-width
    (１３９…, ２０２６－１１－３０, as a Chinese input method types them)."""
    return unicodedata.normalize("NFKC", str(value)).strip()


# --------------------------------------------------------------------------- scalar types


# A date as clerks type it: 2026-11-30, 2026-3-5, 2026.3.5, 2026/3/5, 2026年3月5日, 20260305. The
# year comes first and has four digits, so every one of these is read one way only.
_DATE = re.compile(r"(\d{4})\s*(?:[-./]\s*(\d{1,2})\s*[-./]|年\s*(\d{1,2})\s*月)\s*(\d{1,2})\s*日?", re.ASCII)
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_DATE_FORMS = "应写成 2026-11-30 这样的 年-月-日（也可写 2026.11.30、2026/11/30 或 2026年11月30日）"


def _parse_date(value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    text = _halfwidth(value)
    if not text:
        return None
    m = _DATE.fullmatch(text)
    if m:
        year, month, day = int(m[1]), int(m[2] or m[3]), int(m[4])
    else:
        m = _DATE_COMPACT.fullmatch(text)
        if not m:
            raise _msg(f"日期“{text}”格式不对，{_date_problem(text)}")
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _msg(f"日期“{text}”不存在（请核对月份和日子）") from None


def _date_problem(text: str) -> str:
    """What is wrong with a date that is not read, in the words of the mistake."""
    head = re.match(r"(.+?)[\sT]+\d{1,2}[:：]\d{2}", text)
    if head and (_DATE.fullmatch(head[1]) or _DATE_COMPACT.fullmatch(head[1])):
        return f"只写日期，不写时刻（写成 {head[1]}）"
    if re.fullmatch(r"\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?", text, re.ASCII) or re.fullmatch(r"\d{1,2}月\d{1,2}日?", text):
        return "缺少年份：" + _DATE_FORMS
    if re.fullmatch(r"\d{2}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?", text):
        return "年份须写四位：" + _DATE_FORMS
    return _DATE_FORMS


Date = Annotated[dt.date, BeforeValidator(_parse_date)]
OptDate = Annotated[dt.date | None, BeforeValidator(_parse_date)]


def _parse_year_month(value: Any) -> Any:
    """A year and month: 1985-03, 1985-3, 1985.3, 1985/03, 1985年3月, 198503."""
    if value is None:
        return None
    text = _halfwidth(value)
    m = (re.fullmatch(r"(\d{4})\s*(?:[-./]|年)\s*(\d{1,2})\s*月?", text, re.ASCII)
         or re.fullmatch(r"(\d{4})(\d{2})", text, re.ASCII))
    if not m and (_DATE.fullmatch(text) or _DATE_COMPACT.fullmatch(text)):  # the whole date of birth
        day = _parse_date(text)
        return f"{day.year:04d}-{day.month:02d}"
    if not m or not 1 <= int(m[2]) <= 12 or int(m[1]) < 1900:
        raise _msg(f"年月“{text}”格式不对，应写成 1985-03 这样的 年-月（也可写 1985.3 或 1985年3月）")
    return f"{int(m[1]):04d}-{int(m[2]):02d}"


YearMonth = Annotated[str | None, BeforeValidator(_parse_year_month)]

_MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$", re.ASCII)


def _parse_phone(value: Any) -> Any:
    """A phone number; blanks between the digit groups are dropped, and so are dashes in a mobile
    number (139-1234-5678). The area code of a landline keeps its dash (025-84561234)."""
    if value is None:
        return None
    written = _halfwidth(value)
    text = re.sub(r"\s+", "", written)
    if not text:
        return None
    if text in ("暂无", "无"):
        return "暂无"
    area = re.fullmatch(r"(0\d{2,3})\s+(\d{3,4})\s*(\d{4})", written, re.ASCII)
    if area and _LANDLINE.match(f"{area[1]}-{area[2]}{area[3]}"):  # 025 8331 2345: the blank ends the area code
        return f"{area[1]}-{area[2]}{area[3]}"
    if _MOBILE.match(text) or _LANDLINE.match(text):
        return text
    digits = text.replace("-", "")
    if _MOBILE.match(digits):
        return digits
    m = re.fullmatch(r"\((0\d{2,3})\)(\d{7,8})", text, re.ASCII)
    if m:  # (025)84561234
        return f"{m[1]}-{m[2]}"
    if re.fullmatch(r"[\d-]+", text, re.ASCII) and len(digits) in (7, 8) and not digits.startswith("0"):
        why = "固定电话须带区号（如 025-84001234）"
    elif re.fullmatch(r"1\d+", digits, re.ASCII):
        why = f"手机号应为 11 位，此处是 {len(digits)} 位"
    elif re.search(r"[,，、;；/]", text):
        why = "只写一个号码（其他号码可写在备注或家庭成员中）"
    else:
        why = "应为 11 位手机号、带区号的固定电话（如 025-84001234），或写“暂无”"
    raise _msg(f"电话号码“{text}”无效：{why}")


Phone = Annotated[str | None, BeforeValidator(_parse_phone)]


def _parse_bool(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in ("是", "true", "True", "yes", "有"):
        return True
    if text in ("否", "false", "False", "no", "无", "不是"):
        return False
    raise _msg(f"“{text}”应为“是”或“否”")


YesNo = Annotated[bool, BeforeValidator(_parse_bool)]


def _parse_int(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    text = _halfwidth(value)
    if not re.fullmatch(r"\d+", text, re.ASCII):
        raise _msg(f"“{text}”应为整数")
    return int(text)


Count = Annotated[int | None, BeforeValidator(_parse_int)]


def _parse_money(value: Any) -> Any:
    if value is None:
        return None
    text = _halfwidth(value)
    if not re.fullmatch(r"\d+(\.\d{1,2})?", text, re.ASCII):
        raise _msg(f"金额“{text}”应为数字（元，最多两位小数）")
    return float(text)


Money = Annotated[float | None, BeforeValidator(_parse_money)]


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def _cn_number(text: str) -> str:
    """Chinese numerals up to 99 made digits (二年 → 2年, 一年六个月 → 1年6个月, 十八个月 → 18个月)."""
    def one(m: re.Match) -> str:
        tens, tenth, units = m[1], m[2], m[3]
        if not tenth:
            return "".join(str(_CN_DIGITS[c]) for c in (tens or "") + (units or ""))
        return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0))

    return re.sub(r"([一二两三四五六七八九])?(十)?([零一二两三四五六七八九])?",
                  lambda m: one(m) if m[0] else "", text)


def _parse_term(value: Any) -> Any:
    """A period written as clerks write it: 2年, 1年6个月, 18个月, 3年 (or 二年, 一年六个月)."""
    if value is None:
        return None
    text = _cn_number(_halfwidth(value).replace(" ", ""))
    m = re.fullmatch(r"(?:(\d+)年)?(?:(\d+)个?月)?", text, re.ASCII)
    if not text or not m or (m[1] is None and m[2] is None):
        raise _msg(f"期限“{_halfwidth(value)}”格式不对，应写成 2年、1年6个月 或 18个月")
    return text


Term = Annotated[str | None, BeforeValidator(_parse_term)]


def add_months(d: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return dt.date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def term_months(term: str | None) -> int | None:
    if not term:
        return None
    m = re.fullmatch(r"(?:(\d+)年)?(?:(\d+)个?月)?", term)
    return int(m[1] or 0) * 12 + int(m[2] or 0)


Text = Annotated[str | None, BeforeValidator(lambda v: None if v is None else str(v))]

_PLACE = re.compile(r"^(?P<prov>.+?(省|自治区))(?P<city>.+?市)(?P<county>.+?(区|县|市|旗))")


# The prefecture-level cities of Jiangsu: a 户籍所在地 that starts with one of them lacks only 江苏省
JIANGSU_CITIES = ("南京市", "无锡市", "徐州市", "常州市", "苏州市", "南通市", "连云港市", "淮安市", "盐城市",
                  "扬州市", "镇江市", "泰州市", "宿迁市")


def _parse_household(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    if not _PLACE.match(text):
        if text.startswith(JIANGSU_CITIES) or text.startswith(tuple(c[:-1] for c in JIANGSU_CITIES)):
            raise _msg(f"户籍地址“{text}”缺少省份：须写全省、市、区（县），如“江苏省{text}”（表 G 注6）")
        raise _msg(f"户籍地址“{text}”须写全省、市、区（县），如“江苏省南京市玄武区……”（表 G 注6）")
    return text


Household = Annotated[str | None, BeforeValidator(_parse_household)]


def split_address(address: str | None) -> tuple[str, str, str]:
    """(province, city, county) of a full address, '' where missing."""
    if not address:
        return "", "", ""
    m = _PLACE.match(address)
    if not m:
        return "", "", ""
    return m["prov"], m["city"], m["county"]


# --------------------------------------------------------------------------- base model


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=False,
                              str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _empty(cls, value: Any, info: ValidationInfo) -> Any:
        """A key written with nothing after it (``事件:``) means "not filled in": the field's
        default (no events, 否, blank), or a clear message when the field is required."""
        if value is None or (isinstance(value, str) and not value.strip()):
            fld = cls.model_fields[info.field_name]
            if fld.is_required():
                raise _msg(f"“{fld.alias}”是必填项，不能为空")
            if value is None:
                return fld.get_default(call_default_factory=True)
        return value


def F(alias: str, default: Any = None, **kw: Any) -> Any:
    if "default_factory" in kw:
        return Field(alias=alias, **kw)
    return Field(default, alias=alias, **kw)


# --------------------------------------------------------------------------- units


class Address(Record):
    """A reporting address printed in agreement E: 县(市、区) 乡(镇、街道) 路 号."""

    road: Text = F("路")
    number: Text = F("号")


class Station(Record):
    record_type: Literal["站点"] = F("记录类型", ...)
    id: str = F("编号", ..., pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["指导站", "工作站", "服务站"] = F("类型", ...)
    city: str = F("设区的市", ...)
    county: Text = F("县（市、区）")
    township: Text = F("乡（镇、街道）")
    parent: Text = F("上级")
    name: Text = F("名称")
    road_address: Address | None = F("报到地址")
    address: Text = F("地址")
    contact: Text = F("联系人")
    phone: Phone = F("联系电话")
    head: Text = F("站长")
    fonds: Text = F("全宗号")  # archive fonds number (全宗号)
    org_code: Text = F("机构代码")  # archive organisation code

    @field_validator("city")
    @classmethod
    def _city(cls, v: str) -> str:
        if not v.endswith("市"):
            raise _msg(f"设区的市“{v}”应以“市”结尾，如“南京市”")
        return v

    @model_validator(mode="after")
    def _naming(self) -> "Station":
        if self.kind in ("工作站", "服务站") and not self.county:
            raise _msg(f"{self.kind}须填写“县（市、区）”")
        if self.kind == "服务站" and not self.township:
            raise _msg("服务站须填写“乡（镇、街道）”")
        if self.kind != "指导站" and not self.parent:
            raise _msg(f"{self.kind}须填写“上级”（上级站点的编号）")
        expected = self.standard_name()
        if self.name and self.name != expected:
            raise _msg(f"站名“{self.name}”不符合规范 6.1 的命名规则，应为“{expected}”（可删去“名称”一项，由系统生成）")
        return self

    def standard_name(self) -> str:
        """Station name by the naming rules of 6.1 of the standard."""
        if self.kind == "指导站":
            return f"江苏省{self.city}后续照管指导站"
        if self.kind == "工作站":
            return f"{self.city}{self.county}后续照管工作站"
        return f"{self.county}{self.township}后续照管服务站"

    @property
    def display_name(self) -> str:
        return self.name or self.standard_name()

    @property
    def place(self) -> str:
        """The place part of the name (what comes before 后续照管X站)."""
        return self.display_name[: -len("后续照管指导站")]

    @property
    def short(self) -> str:
        """Short unit name used inside form titles: 南京市 / 玄武区 / 梅园新村街道."""
        return {"指导站": self.city, "工作站": self.county, "服务站": self.township}[self.kind] or ""


class Institution(Record):
    record_type: Literal["戒毒所"] = F("记录类型", ...)
    id: str = F("编号", ..., pattern=r"^[A-Za-z0-9_-]+$")
    name: str = F("名称", ...)
    code: str = F("代字", ...)  # short name used in document numbers: 方强戒[2026]12号
    city: Text = F("所在地")
    address: Text = F("地址")
    contact: Text = F("联系人")
    phone: Phone = F("联系电话")
    head: Text = F("所长")
    fonds: Text = F("全宗号")  # archive fonds number of the institution's own work archive
    org_code: Text = F("机构代码")  # archive organisation code

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if "戒毒所" not in v:
            raise _msg(f"戒毒所名称“{v}”应含“戒毒所”")
        return v

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        # printed in 东湖戒[2026]3号; a blank or a bracket makes the number unreadable for
        # docgen notice receipt / void
        if re.search(r"[\s\[\]［］〔〕【】]", v):
            raise _msg(f"代字“{v}”不能含空格或括号：它印在通知书编号中，如“东湖戒[2026]3号”中的“东湖”")
        return v


# --------------------------------------------------------------------------- persons


class Relation(Record):
    relation: Text = F("与本人关系")
    name: Text = F("姓名")
    employer: Text = F("工作单位")
    address: Text = F("现住址")
    phone: Phone = F("联系电话")


class DrugUse(Record):
    first_use: Text = F("初次吸食时间")
    last_use: Text = F("最近一次吸食时间")
    drugs: Text = F("吸食种类")
    amount: Text = F("吸食数量")


class Conduct(Record):
    score: Text = F("计分考核")
    discipline: Text = F("遵规守纪")
    relations: Text = F("人际关系")
    labour: Text = F("习艺劳动态度")
    manners: Text = F("文明礼貌")
    housekeeping: Text = F("内务卫生")
    rewards: Text = F("奖惩情况")
    training: Text = F("职业技能培训")
    visits: Text = F("探访")
    programmes: Text = F("参加帮教活动")


class Detention(Record):
    """强制隔离戒毒: the compulsory detox that precedes follow-up care."""

    institution: str = F("戒毒所", ...)
    team: Text = F("队别")
    term: Term = F("期限")
    authority: Text = F("决定机关")
    decision_no: Text = F("决定书编号")
    start: OptDate = F("强戒起日")
    admitted: OptDate = F("入所时间")
    change: Text = F("期限变动")
    reduction_months: Count = F("拟报减期（月）")
    release: Date = F("出所时间", ...)
    conduct: Conduct | None = F("在所表现情况")

    @field_validator("release")
    @classmethod
    def _order(cls, v: dt.date, info: ValidationInfo) -> dt.date:
        admitted, start = info.data.get("admitted"), info.data.get("start")
        if admitted and v < admitted:
            raise _msg(f"出所时间 {v} 早于入所时间 {admitted}")
        if start and v < start:
            raise _msg(f"出所时间 {v} 早于强戒起日 {start}")
        return v

    @property
    def begin(self) -> dt.date | None:
        return self.start or self.admitted


class Agreement(Record):
    """后续照管服务协议 (form E)."""

    signed: Date = F("签订日期", ...)
    representative: Text = F("甲方代表")
    party: Text = F("甲方单位")  # defaults to the 指导站 of the person's 户籍


class CommunityRehab(Record):
    """社区康复: ordered (责令) community rehabilitation; care lasts as long (5.1)."""

    term: Term = F("期限", ...)
    start: OptDate = F("起始日期")
    reason: Text = F("建议理由")
    team_opinion: Text = F("大队意见")
    section_opinion: Text = F("管理科意见")
    institution_opinion: Text = F("戒毒所意见")


class Cultivation(Record):
    """戒毒典型培育 (form V, K, L, M, N, S)."""

    unit: str = F("培育单位", ...)  # id of an institution or station
    mentor: Text = F("培育人")  # 培养责任人 / 培育责任民警
    department: Text = F("所在单位或部门")
    signed: Date = F("协议日期", ...)
    start: OptDate = F("开始日期")  # defaults: release date (institution) or signing date (station)
    end: OptDate = F("结束日期")
    contact_state: Text = F("保持联系状况")
    notes: Text = F("备注")


class Event(Record):
    kind: Literal[EVENT_KINDS] = F("类型", ...)  # type: ignore[valid-type]
    date: Date = F("日期", ...)
    recorded: OptDate = F("录入日期")
    method: Literal[VISIT_METHODS] | None = F("方式")  # type: ignore[valid-type]
    visitor: Text = F("回访人")
    abstinence: Text = F("操守保持")
    thoughts: Text = F("个人思想")
    family: Text = F("家庭关系")
    social: Text = F("社会交往")
    employment: Text = F("就业状况")
    help_kind: Literal[HELP_KINDS] | None = F("事项类型")  # type: ignore[valid-type]
    need: Text = F("帮扶救助需求")
    handler: Text = F("受理人")
    opinion: Text = F("受理意见")
    responsible: Text = F("负责人")
    outcome: Text = F("办理情况")
    amount: Money = F("金额（元）")
    ground: Literal[TERMINATION_GROUNDS] | None = F("情形")  # type: ignore[valid-type]
    facts: Text = F("事实依据")
    job_kind: Literal[EMPLOYMENT_KINDS] | None = F("就业方式")  # type: ignore[valid-type]
    referred: YesNo = F("推荐就业", False)
    reason: Literal[UNEMPLOYMENT_REASONS] | None = F("未就业原因")  # type: ignore[valid-type]
    thoughts_state: Text = F("思想状况")  # 期满鉴定 / 首次谈话
    appraisal: Text = F("鉴定意见")
    new_end: OptDate = F("新结束日期")  # 典型培育延长
    notes: Text = F("备注")

    @model_validator(mode="after")
    def _required_by_kind(self) -> "Event":
        need: dict[str, list[tuple[str, str]]] = {
            "回访": [("method", "方式")],
            "帮扶": [("help_kind", "事项类型")],
            "终止": [("ground", "情形")],
            "就业": [("job_kind", "就业方式")],
            "未就业": [("reason", "未就业原因")],
            "典型培育延长": [("new_end", "新结束日期")],
        }
        for attr, label in need.get(self.kind, []):
            if getattr(self, attr) in (None, ""):
                raise _msg(f"“{self.kind}”事件须填写“{label}”")
        if self.amount is not None and self.help_kind != "救助财物":
            raise _msg("只有事项类型为“救助财物”的帮扶才填写“金额（元）”")
        return self

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_not_method(cls, v: Any) -> Any:
        """类型: 电话回访 / 家访 names the method of a visit, not the kind of event."""
        if isinstance(v, str) and v.strip() not in EVENT_KINDS:
            method = VISIT_ALIASES.get(v.strip(), v.strip())
            if method in VISIT_METHODS:
                raise _msg(f"“{v.strip()}”是回访方式，不是事件类型：请写“类型: 回访”，另写“方式: {method}”")
        return v

    @field_validator("method", mode="before")
    @classmethod
    def _method_short(cls, v: Any) -> Any:
        """A visit method written short (电话, 微信, 见面, 家访, 走访): only one method fits each."""
        if isinstance(v, str):
            return VISIT_ALIASES.get(v.strip().replace(" ", ""), v)
        return v

    @field_validator("ground", mode="before")
    @classmethod
    def _ground_short(cls, v):
        if isinstance(v, str):
            key = v.strip().replace(" ", "").rstrip("。").replace(",", "，")
            return TERMINATION_ALIASES.get(key.lstrip("（(").rstrip("）)"), key)
        return v

    @field_validator("recorded")
    @classmethod
    def _recorded_after(cls, v: dt.date | None, info: ValidationInfo) -> dt.date | None:
        date = info.data.get("date")
        if v and date and v < date:
            raise _msg(f"录入日期 {v} 早于事件日期 {date}")
        return v

    @property
    def recorded_on(self) -> dt.date:
        return self.recorded or self.date


# Look-alikes of the middle dot of minority names (U+00B7) that fonts and searches treat differently
_WRONG_DOTS = "•・．‧∙⋅\u0387﹒･"


class Person(Record):
    record_type: Literal["照管对象"] = F("记录类型", ...)
    id: str = F("编号", ..., pattern=r"^[A-Za-z0-9_-]+$")
    name: str = F("姓名", ...)
    former_name: Text = F("曾用名")
    sex: Literal["男", "女"] = F("性别", ...)
    ethnicity: Text = F("民族")
    education: Text = F("文化程度")
    birth: YearMonth = F("出生年月")
    id_number: str = F("身份证号码", ...)
    household: Household = F("户籍所在地", ...)
    residence: Text = F("现居住地")
    phone: Phone = F("联系方式")
    station: str = F("服务站", ...)
    officer: Text = F("跟踪回访责任人")
    detention: Detention = F("强制隔离戒毒", ...)
    resume: Text = F("本人简历")
    relations: list[Relation] = F("家庭成员及主要社会关系", default_factory=list)
    family_situation: Text = F("家庭状况")
    health: Text = F("身体健康状况")
    offences: Text = F("违法犯罪与处罚情况")
    drug_use: DrugUse | None = F("吸食毒品情况")
    detox_history: Text = F("戒毒经历")
    key_person: YesNo = F("重点人员", False)
    advice: Text = F("后续照管建议")
    agreement: Agreement | None = F("服务协议")
    rehab: CommunityRehab | None = F("社区康复")
    cultivation: Cultivation | None = F("典型培育")
    notes: Text = F("备注")
    events: list[Event] = F("事件", default_factory=list)

    @field_validator("sex", mode="before")
    @classmethod
    def _sex_long(cls, v: Any) -> Any:
        """男性 / 女性 (as on some forms) are 男 / 女."""
        if isinstance(v, str):
            return {"男性": "男", "女性": "女"}.get(v.strip(), v)
        return v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v or len(v) > 30:
            raise _msg("姓名不能为空，也不能超过 30 个字")
        wrong = next((ch for ch in v if ch in _WRONG_DOTS), None)
        if wrong is not None:
            raise _msg(f"姓名中的间隔号请用“·”（U+00B7），不要用“{wrong}”（U+{ord(wrong):04X}）")
        return v

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str, info: ValidationInfo) -> str:
        """A valid number (full-width digits and a lowercase x are normalised) that agrees with
        the 性别 and 出生年月 written above it (both are declared before it)."""
        v = normalize_id(v)  # (also 3201 0619 8805 1200 3X, as printed on some forms)
        try:
            birth, sex = parse_id(v)
        except IdNumberError as exc:
            raise _msg(str(exc)) from None
        written_birth = info.data.get("birth")
        if written_birth and written_birth != f"{birth.year:04d}-{birth.month:02d}":
            raise _msg(f"出生年月 {written_birth} 与身份证号码中的出生日期（{birth.year}-{birth.month:02d}）不一致")
        written_sex = info.data.get("sex")
        if written_sex and written_sex != sex:
            raise _msg(f"性别“{written_sex}”与身份证号码（第 17 位表示{sex}性）不一致")
        return v

    # derived values used by the forms
    @property
    def birth_date(self) -> dt.date:
        return parse_id(self.id_number)[0]

    @property
    def birth_month(self) -> str:
        b = self.birth_date
        return f"{b.year:04d}-{b.month:02d}"

    def age_on(self, day: dt.date) -> int:
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class EventFile(Record):
    record_type: Literal["事件"] = F("记录类型", ...)
    person: str = F("对象", ...)  # 编号 of the person
    events: list[Event] = F("事件", ...)


class LogEntry(Record):
    date: Date = F("日期", ...)
    content: str = F("工作内容", ...)
    notes: Text = F("备注")


class WorkLog(Record):
    record_type: Literal["工作日志"] = F("记录类型", ...)
    station: str = F("站点", ...)
    entries: list[LogEntry] = F("日志", ...)


RECORD_TYPES: dict[str, type[Record]] = {
    "照管对象": Person,
    "站点": Station,
    "戒毒所": Institution,
    "事件": EventFile,
    "工作日志": WorkLog,
}
