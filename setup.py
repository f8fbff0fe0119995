"""The wheel carries docgen's data folders (templates, font roles, sign specs, retention
policy, docs, examples) under docgen/_data/ (see docgen/resources.py); the metadata is in
pyproject.toml. An editable install uses the checkout's folders directly."""
import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# the list docgen/resources.py keeps (read without importing the package and its dependencies)
DATA_DIRS = runpy.run_path(str(ROOT / "docgen" / "resources.py"))["DATA_DIRS"]
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "*.otf", "*.ttf", "*.ttc", "*.otc")
# the example workspace without what building it makes
SKIP_EXAMPLES = shutil.ignore_patterns("output", "data", "archive", "__pycache__", ".*")


class BuildWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "docgen" / "_data"
        for name in DATA_DIRS:
            dst = target / name
            if dst.exists():
                shutil.rmtree(dst)
            shutil.copytree(ROOT / name, dst, ignore=SKIP_EXAMPLES if name == "examples" else SKIP)


setup(cmdclass={"build_py": BuildWithData})
