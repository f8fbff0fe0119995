"""Shared test helpers: a private copy of the example workspace, the CLI, PDF text."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of examples/ (records and config only) in a temporary folder."""
    dst = tmp_path / "ws"
    shutil.copytree(EXAMPLES, dst, ignore=shutil.ignore_patterns("output", "data", "archive"))
    return dst


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 600,
            input: str | None = None) -> subprocess.CompletedProcess:
    """Run ``docgen`` as a user would (a separate process), returning the completed process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "docgen", *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout, input=input)


@pytest.fixture
def cli():
    return run_cli


def pdf_text(path: Path) -> str:
    """Text of a PDF (pypdf), white space removed, full-width brackets read as half-width."""
    from pypdf import PdfReader

    text = "".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
    return normalise(text)


def normalise(text: str) -> str:
    table = str.maketrans("（）【】［］〔〕：，", "()[][][]:,")
    return re.sub(r"\s+", "", text).translate(table)


def form_spec(code: str) -> dict:
    import yaml

    spec = yaml.safe_load((ROOT / "tests" / "spec" / "forms.yaml").read_text(encoding="utf-8"))
    return {**spec["forms"], **spec.get("extras", {})}[code]
