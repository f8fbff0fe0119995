"""JSON Schema of the record format, for YAML editors (yaml-language-server)."""
from __future__ import annotations

from pydantic.json_schema import models_json_schema

from .model import RECORD_TYPES


# What the editor shows for each part of a record (the models' docstrings are for developers)
DESCRIPTIONS = {
    "Person": "照管对象：一人一个文件（格式见 docs/records.md）",
    "Station": "站点：指导站、工作站或服务站",
    "Institution": "戒毒所",
    "EventFile": "单独的事件文件：某个照管对象的若干事件",
    "WorkLog": "工作日志：某个站点的工作记录",
    "Event": "事件：报到、回访、帮扶、失联、复吸、期满等（类型决定可填的项目）",
    "LogEntry": "一条工作日志",
    "Address": "报到地址：县（市、区）、乡（镇、街道）、路、号（印在服务协议书上）",
    "Agreement": "后续照管服务协议（附录E）",
    "CommunityRehab": "社区康复：被责令社区康复时填写，照管期限与社区康复期限一致（5.1）",
    "Conduct": "在所表现情况",
    "Cultivation": "戒毒典型培育（附录V）",
    "Detention": "强制隔离戒毒：出所后进入后续照管",
    "DrugUse": "吸食毒品情况",
    "Relation": "家庭成员或主要社会关系",
}


def _scalars_as_written(node) -> None:
    """docgen reads every YAML scalar as text (a phone number, an ID number, 否): where the
    model wants text, the editor must not flag an unquoted number or yes/no."""
    if isinstance(node, dict):
        if node.get("type") == "string":
            node["type"] = ["string", "number", "boolean"]
        elif node.get("type") == "boolean":  # 是/否
            node["type"] = ["boolean", "string"]
        for value in node.values():
            _scalars_as_written(value)
    elif isinstance(node, list):
        for value in node:
            _scalars_as_written(value)


def record_schema() -> dict:
    models = list(RECORD_TYPES.values())
    _, top = models_json_schema([(m, "validation") for m in models], by_alias=True,
                                ref_template="#/$defs/{model}")
    defs = top.get("$defs", {})
    for name, definition in defs.items():
        definition.pop("description", None)
        if name in DESCRIPTIONS:
            definition["description"] = DESCRIPTIONS[name]
    _scalars_as_written(defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "docgen 后续照管记录",
        "description": "一个 YAML 文件一条记录；“记录类型”说明是哪一种：" + "、".join(RECORD_TYPES),
        "oneOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in models],
        "$defs": defs,
    }
