"""JSON Schema of the record format, for YAML editors (yaml-language-server)."""
from __future__ import annotations

from pydantic.json_schema import models_json_schema

from .model import RECORD_TYPES


def record_schema() -> dict:
    models = list(RECORD_TYPES.values())
    _, top = models_json_schema([(m, "validation") for m in models], by_alias=True,
                                ref_template="#/$defs/{model}")
    defs = top.get("$defs", {})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "docgen 后续照管记录",
        "description": "一个 YAML 文件一条记录；“记录类型”说明是哪一种：" + "、".join(RECORD_TYPES),
        "oneOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in models],
        "$defs": defs,
    }
