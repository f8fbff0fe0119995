"""An installed wheel carries docgen's data folders (templates, font roles, sign specs,
retention policy, docs, examples) and uses them: not only a checkout works."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT, pdf_text

RUN = """
import sys
sys.path.insert(0, {lib!r})
import docgen, docgen.resources as r
assert docgen.__file__.startswith({lib!r}), docgen.__file__
print("DATA", r.DATA_ROOT)
from docgen.cli import main
main()
"""


def test_the_package_as_built_for_a_wheel_finds_its_data(tmp_path: Path):
    lib = tmp_path / "lib"
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(lib)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = lib / "docgen" / "_data"
    assert (data / "templates" / "D.docx").is_file() and (data / "fonts" / "roles.toml").is_file()
    assert (data / "signage" / "specs.toml").is_file() and (data / "archive" / "policy.toml").is_file()
    assert (data / "examples" / "records" / "persons").is_dir() and not (data / "examples" / "output").exists()

    def docgen(*args: str):
        return subprocess.run([sys.executable, "-c", RUN.format(lib=str(lib)), *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)

    out = tmp_path / "blank"
    r = docgen("blank", "D", "--out", str(out), "--format", "pdf")
    assert r.returncode == 0, r.stderr
    assert f"DATA {data}" in r.stdout
    assert "对象信息表" in pdf_text(next(out.rglob("*.pdf")))
    r = docgen("templates", "--check")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
