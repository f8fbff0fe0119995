"""The ``docgen`` command group and what every command shares: the workspace option,
Chinese error reporting (never a traceback) and masked logging."""
from __future__ import annotations

import functools
import os
import sys
import traceback

import click

from ..errors import DocgenError
from ..records.idcard import mask_ids_in_text
from ..workspace import Workspace

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class DocgenGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DocgenError as exc:
            click.echo(f"错误：{mask_ids_in_text(exc.message)}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("已中断。", err=True)
            sys.exit(130)
        except Exception as exc:  # last resort: a message, not a traceback
            if os.environ.get("DOCGEN_DEBUG"):
                traceback.print_exc()
            click.echo(f"内部错误：{type(exc).__name__}: {mask_ids_in_text(str(exc))}。"
                       "请把此信息和所用命令报告给维护人员（设置 DOCGEN_DEBUG=1 可显示详细信息）。", err=True)
            sys.exit(70)


@click.group(cls=DocgenGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="docgen", message="docgen %(version)s")
def main() -> None:
    """docgen —— 江苏省后续照管文书生成与档案管理工具。

    \b
    常用命令：
      docgen init 目录           新建工作区
      docgen validate            检查记录
      docgen build --month 2026-11   生成文书（PDF、DOCX、XLSX）
      docgen blank P --out 目录  打印空白表
    每个命令都可用 --workspace 目录 指定工作区（默认当前目录或环境变量 DOCGEN_WORKSPACE）。
    """


def workspace_option(f):
    @click.option("--workspace", "-w", "workspace", type=click.Path(file_okay=False, path_type=str),
                  default=None, help="工作区目录（默认：当前目录或 DOCGEN_WORKSPACE）")
    @functools.wraps(f)
    def wrapper(*args, workspace=None, **kwargs):
        return f(*args, ws=Workspace.locate(workspace), **kwargs)

    return wrapper


def echo(text: str = "", err: bool = False) -> None:
    click.echo(mask_ids_in_text(text), err=err)
