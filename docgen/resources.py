"""Where docgen's data folders are: ``templates/`` (DOCX templates), ``fonts/`` (font roles, and
licensed fonts dropped in), ``signage/specs.toml``, ``archive/policy.toml``, ``docs/`` and
``examples/``.

In a checkout (the editable install of ``make setup``) they are the repository's own folders,
so that a template or a spec edited there takes effect at once (the watch service watches
them). An installed wheel carries copies of them under ``docgen/_data/`` (``setup.py`` puts
them there when the wheel is built).
"""
from __future__ import annotations

from pathlib import Path

DATA_DIRS = ("templates", "fonts", "signage", "archive", "docs", "examples")

_CHECKOUT = Path(__file__).resolve().parents[1]
_INSTALLED = Path(__file__).resolve().parent / "_data"


def _data_root() -> Path:
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "templates").is_dir():
        return _CHECKOUT
    return _INSTALLED


DATA_ROOT = _data_root()
