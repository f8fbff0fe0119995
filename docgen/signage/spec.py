"""Sign specifications (``signage/specs.toml``): data, read into typed records."""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import DocgenError
from ..records.model import STATION_KINDS
from ..resources import DATA_ROOT

PACKAGE_ROOT = DATA_ROOT
SPECS_FILE = PACKAGE_ROOT / "signage" / "specs.toml"
MM_PER_PT = 25.4 / 72


def pt_to_mm(pt: float) -> float:
    return pt * MM_PER_PT


def mm_to_pt(mm: float) -> float:
    return mm / MM_PER_PT


STANDARD_PLATE_PT = 136.0  # 6.3.1.3: the plates' type size, exact


@dataclass(frozen=True)
class PlateSpec:
    forms: dict[str, str]  # station kind -> form code
    names: dict[str, str]  # form code -> sign name
    standard: str
    font_role: str
    font_requested: str
    size_pt: float
    colour_name: str
    colour_cmyk: tuple[float, float, float, float]
    materials: tuple[str, ...]
    size_text: str
    width: float
    height: float
    vertical_width: float
    vertical_height: float
    margin: float
    line_gap_em: float
    tracking_em: float
    max_lines: int
    cut_name: str
    cut_alternate: tuple[float, float, float, float]
    cut_width_pt: float
    proof_material_rgb: str

    @property
    def size_rule(self) -> str:
        """How the type size is set, for proofs and messages (Chinese)."""
        if self.size_pt == STANDARD_PLATE_PT:
            return "按标准固定"
        return f"按 signage/specs.toml 固定（标准为 {STANDARD_PLATE_PT:g} pt）"


@dataclass(frozen=True)
class InsertSpec:
    form: str
    name: str
    standard: str
    font_role: str
    font_requested: str
    text_colour_name: str
    background_name: str
    background_cmyk: tuple[float, float, float, float]
    materials: tuple[str, ...]
    width: float
    height: float
    margin_ratio: float
    line_gap_em: float
    tracking_em: float
    max_lines: int
    max_size_pt: float
    bleed: float
    mark_offset: float
    mark_length: float
    mark_width_pt: float
    mark_cmyk: tuple[float, float, float, float]
    proof_background_rgb: str
    white_name: str  # spot colour of the white ink (Separation, alternate CMYK 0/0/0/0)
    cut_name: str
    cut_alternate: tuple[float, float, float, float]
    cut_width_pt: float


@dataclass(frozen=True)
class Specs:
    plate: PlateSpec
    insert: InsertSpec


PLATE_FORMS = ("B1", "B2", "B3")  # appendix B: one plate per station kind
INSERT_FORM = "C1"  # appendix C
PDF_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")  # written as a PDF name (/CutContour): no escapes needed
# colorant names a Separation must not take: the process inks and PDF's special names
PROCESS_NAMES = {"cyan", "magenta", "yellow", "black", "all", "none"}
HEX_RGB = re.compile(r"^#[0-9A-Fa-f]{6}$")
INSERT_MM = (20, 5000)  # the range docgen.toml [signage] insert_width_mm / insert_height_mm accept


class _Table:
    """One table of specs.toml; every value is checked and a bad one is named in Chinese."""

    def __init__(self, data, name: str, path: Path | str):
        self.name, self.path = name, path
        if not isinstance(data, dict):
            raise DocgenError(f"标牌规格文件 {path}：{name} 应为一个表（以 [{name}] 开头的一节）")
        self.data = data

    def error(self, key: str, what: str) -> DocgenError:
        return DocgenError(f"标牌规格文件 {self.path}：[{self.name}] {key} {what}")

    def get(self, key: str):
        if key not in self.data:
            raise self.error(key, "缺少，请补上")
        return self.data[key]

    def table(self, key: str) -> "_Table":
        return _Table(self.get(key), f"{self.name}.{key}", self.path)

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"= {value!r} 无效：应为用引号括起的文字")
        return value

    def number(self, key: str, low: float = 0.0, low_open: bool = True, high: float | None = None,
               high_open: bool = False, unit: str = "") -> float:
        value = self.get(key)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            ok = value > low if low_open else value >= low
        if ok and high is not None:
            ok = value < high if high_open else value <= high
        if not ok:
            rng = f"{'大于' if low_open else '不小于'} {low:g}"
            if high is not None:
                rng += f"、{'小于' if high_open else '不大于'} {high:g}"
            raise self.error(key, f"= {value!r} 无效：应为{rng} 的数{unit}")
        return float(value)

    def integer(self, key: str, low: int) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise self.error(key, f"= {value!r} 无效：应为不小于 {low} 的整数")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"= {value!r} 无效：应为文字的列表，如 [\"铜\", \"钛合金\"]")
        return tuple(value)

    def cmyk(self, key: str) -> tuple[float, float, float, float]:
        value = self.get(key)
        if (not isinstance(value, list) or len(value) != 4
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in value)):
            raise self.error(key, f"= {value!r} 无效：应为四个 0～1 之间的数（C、M、Y、K），如 K100 写 [0, 0, 0, 1]")
        return tuple(float(v) for v in value)  # type: ignore[return-value]

    def rgb(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not HEX_RGB.match(value):
            raise self.error(key, f"= {value!r} 无效：应为 #RRGGBB 形式的屏幕颜色，如 \"#0068b7\"")
        return value


def _plate(p: _Table) -> PlateSpec:
    forms = p.get("forms")
    if not isinstance(forms, dict):
        raise p.error("forms", "应为站点类型到表单编号的表，如 { \"指导站\" = \"B1\", ... }")
    for kind in STATION_KINDS:
        if kind not in forms:
            raise p.error("forms", f"缺少“{kind}”的铜牌表单编号（{'、'.join(PLATE_FORMS)} 之一）")
    for kind, code in forms.items():
        if kind not in STATION_KINDS:
            raise p.error("forms", f"中的站点类型“{kind}”不存在，应为{'、'.join(STATION_KINDS)}")
        if code not in PLATE_FORMS:
            raise p.error("forms", f"中“{kind}” = {code!r} 无效：铜牌表单编号应为 {'、'.join(PLATE_FORMS)} 之一（附录 B）")
    if len(set(forms.values())) != len(forms):
        raise p.error("forms", "中两种站点用了同一个表单编号，每种站点应有自己的铜牌")
    names = p.get("names")
    if not isinstance(names, dict):
        raise p.error("names", "应为表单编号到牌名的表，如 { B1 = \"指导站铜牌\", ... }")
    for code in forms.values():
        if not isinstance(names.get(code), str) or not names[code]:
            raise p.error("names", f"缺少 {code} 的牌名")
    cut = p.table("cut_contour")
    cut_name = _spot_name(cut, "CutContour")
    plate = PlateSpec(
        forms=dict(forms), names={code: names[code] for code in forms.values()}, standard=p.text("standard"),
        font_role=p.text("font_role"), font_requested=p.text("font_requested"),
        size_pt=p.number("size_pt", unit="（pt）"), colour_name=p.text("colour_name"),
        colour_cmyk=p.cmyk("colour_cmyk"), materials=p.texts("materials"), size_text=p.text("size_text"),
        width=p.number("width", unit="（mm）"), height=p.number("height", unit="（mm）"),
        vertical_width=p.number("vertical_width", unit="（mm）"),
        vertical_height=p.number("vertical_height", unit="（mm）"),
        margin=p.number("margin", low_open=False, unit="（mm）"),
        line_gap_em=p.number("line_gap_em", low_open=False, unit="（字）"),
        tracking_em=p.number("tracking_em", low_open=False, unit="（字）"),
        max_lines=p.integer("max_lines", 2),
        cut_name=cut_name, cut_alternate=cut.cmyk("alternate_cmyk"),
        cut_width_pt=cut.number("width_pt", unit="（pt）"), proof_material_rgb=p.rgb("proof_material_rgb"))
    return plate


def _spot_name(table: _Table, example: str) -> str:
    name = table.text("name")
    if not PDF_NAME.match(name):
        raise table.error("name", f"= {name!r} 无效：专色名只能用英文字母、数字、下划线、点和连字符（如 {example}），"
                                  "不能有空格")
    if name.lower() in PROCESS_NAMES:
        raise table.error("name", f"= {name!r} 无效：这是印刷四色或 PDF 的保留色名，专色须另取名字（如 {example}）")
    return name


def _insert(i: _Table) -> InsertSpec:
    form = i.text("form")
    if form != INSERT_FORM:
        raise i.error("form", f"= {form!r} 无效：插牌的表单编号为 {INSERT_FORM}（附录 C）")
    marks = i.table("crop_marks")
    white, cut = i.table("white_ink"), i.table("cut_contour")
    white_name, cut_name = _spot_name(white, "White"), _spot_name(cut, "CutContour")
    if white_name == cut_name:
        raise white.error("name", f"= {white_name!r} 无效：与切割线 [insert.cut_contour] 同名，白墨与切割线须用不同的专色")
    low, high = INSERT_MM
    insert = InsertSpec(
        form=form, name=i.text("name"), standard=i.text("standard"), font_role=i.text("font_role"),
        font_requested=i.text("font_requested"), text_colour_name=i.text("text_colour_name"),
        background_name=i.text("background_name"), background_cmyk=i.cmyk("background_cmyk"),
        materials=i.texts("materials"),
        width=i.number("width", low, False, high, unit="（mm）"), height=i.number("height", low, False, high, unit="（mm）"),
        margin_ratio=i.number("margin_ratio", low_open=False, high=0.5, high_open=True),
        line_gap_em=i.number("line_gap_em", low_open=False, unit="（字）"),
        tracking_em=i.number("tracking_em", low_open=False, unit="（字）"),
        max_lines=i.integer("max_lines", 1), max_size_pt=i.number("max_size_pt", unit="（pt）"),
        bleed=i.number("bleed", low_open=False, unit="（mm）"),
        mark_offset=marks.number("offset", low_open=False, unit="（mm）"),
        mark_length=marks.number("length", unit="（mm）"),
        mark_width_pt=marks.number("width_pt", unit="（pt）"), mark_cmyk=marks.cmyk("cmyk"),
        proof_background_rgb=i.rgb("proof_background_rgb"), white_name=white_name, cut_name=cut_name,
        cut_alternate=cut.cmyk("alternate_cmyk"), cut_width_pt=cut.number("width_pt", unit="（pt）"))
    if insert.mark_offset < insert.bleed:
        raise marks.error("offset", f"（{insert.mark_offset:g} mm）须不小于出血 bleed（{insert.bleed:g} mm），"
                                    "裁切线应在出血之外")
    return insert


def load_specs(path: Path = SPECS_FILE) -> Specs:
    """The specifications in ``path``, read every time (a few KiB) and parsed once per content:
    the watch service runs for days and must see an edited specs.toml."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DocgenError(f"标牌规格文件 {path} 无法读取：{exc.strerror or exc}") from None
    return _parse_specs(str(path), raw)


@lru_cache(maxsize=8)
def _parse_specs(path: str, raw: bytes) -> Specs:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DocgenError(f"标牌规格文件 {path} 不是 UTF-8 编码的文本，请用 UTF-8 保存") from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"line (\d+), column (\d+)", str(exc))
        where = f"第 {at.group(1)} 行第 {at.group(2)} 列" if at else ""
        raise DocgenError(f"标牌规格文件 {path} {where}格式有误，不是有效的 TOML（解析器提示：{exc}）") from None
    for name in ("plate", "insert"):
        if name not in data:
            raise DocgenError(f"标牌规格文件 {path}：缺少 [{name}] 一节")
    return Specs(plate=_plate(_Table(data["plate"], "plate", path)),
                 insert=_insert(_Table(data["insert"], "insert", path)))
