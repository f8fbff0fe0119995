"""The form registry: every ``Form`` subclass with a code, found by importing the modules
of ``docgen.documents`` (so adding a form means adding its module and template)."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ..errors import UsageError
from .base import Form

_SKIP = {"base", "layout", "registry", "views"}


def _order(code: str) -> tuple:
    return (code.startswith("X"), len(code), code)


@lru_cache(maxsize=1)
def all_forms() -> dict[str, Form]:
    from .. import documents

    for mod in pkgutil.iter_modules(documents.__path__):
        if mod.name not in _SKIP and not mod.name.startswith("_"):
            try:
                importlib.import_module(f"{documents.__name__}.{mod.name}")
            except Exception as exc:  # one broken form module must not take the others down
                import sys

                print(f"警告：表单模块 {mod.name} 无法加载（{type(exc).__name__}: {exc}），其表单不可用。",
                      file=sys.stderr)
    found: dict[str, Form] = {}

    def walk(cls: type) -> None:
        for sub in cls.__subclasses__():
            # only the package's forms (a Form subclass made elsewhere, e.g. in a test, is not one)
            if sub.__dict__.get("code") and sub.__module__.startswith(f"{documents.__name__}."):
                found[sub.code] = sub()
            walk(sub)

    walk(Form)
    return dict(sorted(found.items(), key=lambda kv: _order(kv[0])))


def get_form(code: str) -> Form:
    forms = all_forms()
    key = code.strip().upper()
    if key not in forms:
        raise UsageError(f"没有表单“{code}”。可用的表单：{' '.join(forms)}")
    return forms[key]


def parse_forms(spec: str | None) -> list[Form]:
    if not spec:
        return list(all_forms().values())
    return [get_form(c) for c in spec.replace("，", ",").split(",") if c.strip()]
