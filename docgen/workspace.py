"""Workspaces: a folder with ``docgen.toml`` naming where records, outputs, registries
and the archive live. Every path defaults to a subfolder of the workspace."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import DocgenError
from .fsutil import atomic_write_text, private_dir

CONFIG_NAME = "docgen.toml"

DEFAULT_CONFIG = """\
# docgen 工作区配置。路径相对于本文件所在目录。
[paths]
records = "records"   # 记录（YAML）
output = "output"     # 生成的文书
data = "data"         # 登记簿（编号、通知书、统计冻结等数据库）
archive = "archive"   # 档案库

[signage]
# 插牌尺寸（毫米），标准未规定，默认 300 x 120
insert_width_mm = 300
insert_height_mm = 120
"""


@dataclass
class Workspace:
    root: Path
    records: Path
    output: Path
    data: Path
    archive: Path
    settings: dict = field(default_factory=dict)

    @classmethod
    def locate(cls, explicit: str | os.PathLike | None = None) -> "Workspace":
        """The workspace of ``--workspace``, else ``DOCGEN_WORKSPACE``, else the current folder."""
        root = Path(explicit or os.environ.get("DOCGEN_WORKSPACE") or ".").resolve()
        if not root.is_dir():
            raise DocgenError(f"工作区目录不存在：{root}")
        cfg_path = root / CONFIG_NAME
        cfg: dict = {}
        if cfg_path.exists():
            try:
                cfg = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise DocgenError(f"{cfg_path}: 配置文件格式错误：{exc}") from None
        elif explicit is None and not (root / "records").is_dir():
            raise DocgenError(
                f"{root} 不是 docgen 工作区（没有 {CONFIG_NAME}）。"
                "请用 --workspace 指定工作区，或先运行 docgen init 目录 新建一个")
        paths = cfg.get("paths", {})
        unknown = set(paths) - {"records", "output", "data", "archive"}
        if unknown:
            raise DocgenError(f"{cfg_path}: [paths] 中有未知的项目：{'、'.join(sorted(unknown))}")

        def resolve(key: str) -> Path:
            value = paths.get(key, key)
            if not isinstance(value, str) or not value:
                raise DocgenError(f"{cfg_path}: [paths] {key} 应为目录路径文字")
            p = Path(os.path.expanduser(value))
            return p if p.is_absolute() else (root / p)

        _use_workspace_fonts(root / "fonts")
        return cls(root=root, records=resolve("records"), output=resolve("output"),
                   data=resolve("data"), archive=resolve("archive"),
                   settings={k: v for k, v in cfg.items() if k != "paths"})

    def setting(self, section: str, key: str, default):
        return self.settings.get(section, {}).get(key, default)

    def data_dir(self) -> Path:
        return private_dir(self.data)


def _use_workspace_fonts(folder: Path) -> None:
    """Licensed fonts a clerk drops into the workspace's fonts/ folder are used like the
    project's fonts/ (through DOCGEN_FONTS_DIR, so worker processes see them too)."""
    if not folder.is_dir():
        return
    current = [p for p in os.environ.get("DOCGEN_FONTS_DIR", "").split(os.pathsep) if p]
    if str(folder) not in current:
        os.environ["DOCGEN_FONTS_DIR"] = os.pathsep.join([str(folder), *current])


def init_workspace(root: Path) -> Workspace:
    root = Path(root)
    cfg = root / CONFIG_NAME
    if cfg.exists():
        raise DocgenError(f"{cfg} 已存在，未作改动")
    private_dir(root)
    for sub in ("records/persons", "records/stations", "records/institutions", "records/events", "records/logs",
                "output", "data", "archive"):
        private_dir(root / sub)
    atomic_write_text(cfg, DEFAULT_CONFIG)
    atomic_write_text(root / ".gitignore", "output/\ndata/\narchive/\n")
    return Workspace.locate(root)
