"""Command-line interface. Every module of this package adds its commands to ``main``
(``from .app import main`` and ``@main.command``); the CLI only wires."""
from __future__ import annotations

import importlib
import pkgutil

from .app import main

for _mod in pkgutil.iter_modules(__path__):
    if _mod.name != "app":
        importlib.import_module(f"{__name__}.{_mod.name}")

__all__ = ["main"]
