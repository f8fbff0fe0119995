"""Sign specifications (``signage/specs.toml``): data, read into typed records."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import DocgenError

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
SPECS_FILE = PACKAGE_ROOT / "signage" / "specs.toml"
MM_PER_PT = 25.4 / 72


def pt_to_mm(pt: float) -> float:
    return pt * MM_PER_PT


def mm_to_pt(mm: float) -> float:
    return mm / MM_PER_PT


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


@dataclass(frozen=True)
class Specs:
    plate: PlateSpec
    insert: InsertSpec


def _cmyk(value, where: str) -> tuple[float, float, float, float]:
    if (not isinstance(value, list) or len(value) != 4
            or not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in value)):
        raise DocgenError(f"{SPECS_FILE}: {where} 应为四个 0～1 之间的数（C、M、Y、K）")
    return tuple(float(v) for v in value)  # type: ignore[return-value]


@lru_cache(maxsize=4)
def load_specs(path: Path = SPECS_FILE) -> Specs:
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DocgenError(f"标牌规格文件 {path} 无法读取：{exc}") from None
    try:
        p, i = data["plate"], data["insert"]
        cut, marks = p["cut_contour"], i["crop_marks"]
        plate = PlateSpec(
            forms=dict(p["forms"]), names=dict(p["names"]), standard=p["standard"],
            font_role=p["font_role"], font_requested=p["font_requested"], size_pt=float(p["size_pt"]),
            colour_name=p["colour_name"], colour_cmyk=_cmyk(p["colour_cmyk"], "[plate] colour_cmyk"),
            materials=tuple(p["materials"]), size_text=p["size_text"],
            width=float(p["width"]), height=float(p["height"]),
            vertical_width=float(p["vertical_width"]), vertical_height=float(p["vertical_height"]),
            margin=float(p["margin"]), line_gap_em=float(p["line_gap_em"]),
            tracking_em=float(p["tracking_em"]), max_lines=int(p["max_lines"]),
            cut_name=cut["name"], cut_alternate=_cmyk(cut["alternate_cmyk"], "[plate] cut_contour"),
            cut_width_pt=float(cut["width_pt"]), proof_material_rgb=p["proof_material_rgb"])
        insert = InsertSpec(
            form=i["form"], name=i["name"], standard=i["standard"], font_role=i["font_role"],
            font_requested=i["font_requested"], text_colour_name=i["text_colour_name"],
            background_name=i["background_name"],
            background_cmyk=_cmyk(i["background_cmyk"], "[insert] background_cmyk"),
            materials=tuple(i["materials"]), width=float(i["width"]), height=float(i["height"]),
            margin_ratio=float(i["margin_ratio"]), line_gap_em=float(i["line_gap_em"]),
            tracking_em=float(i["tracking_em"]), max_lines=int(i["max_lines"]),
            max_size_pt=float(i["max_size_pt"]), bleed=float(i["bleed"]),
            mark_offset=float(marks["offset"]), mark_length=float(marks["length"]),
            mark_width_pt=float(marks["width_pt"]), mark_cmyk=_cmyk(marks["cmyk"], "[insert] crop_marks"),
            proof_background_rgb=i["proof_background_rgb"])
    except KeyError as exc:
        raise DocgenError(f"标牌规格文件 {path} 缺少项目 {exc}") from None
    except (TypeError, ValueError) as exc:
        raise DocgenError(f"标牌规格文件 {path} 中有格式不对的项目：{exc}") from None
    if insert.mark_offset < insert.bleed:
        raise DocgenError(f"{path}: 裁切线 offset（{insert.mark_offset} mm）须不小于出血 bleed（{insert.bleed} mm），"
                          "裁切线应在出血之外")
    if plate.margin < 0 or insert.margin_ratio < 0 or plate.max_lines < 2 or insert.max_lines < 1:
        raise DocgenError(f"{path}: 边距不能为负，plate.max_lines 至少为 2，insert.max_lines 至少为 1")
    return Specs(plate=plate, insert=insert)
