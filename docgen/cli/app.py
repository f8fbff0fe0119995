"""The ``docgen`` command group and what every command shares: the workspace option,
Chinese error reporting (never a traceback) and masked logging."""
from __future__ import annotations

import functools
import os
import sys
import traceback

import click

from ..errors import DocgenError, os_error_message
from ..records.idcard import mask_ids_in_text
from ..workspace import Workspace

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Click's help texts (headings, the --help and --version options, "[default: …]") in Chinese.
# Click looks its texts up through gettext at the moment it prints them; its error messages
# are translated below (``chinese_usage_error``), where they are reported.
_CLICK_TEXTS = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示此帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "Missing command.": "缺少命令",
    "Aborted!": "已取消。",
}


def _click_text(message: str) -> str:
    return _CLICK_TEXTS.get(message, message)


for _module in (click.core, click.decorators, click.formatting):
    if hasattr(_module, "_"):
        _module._ = _click_text


_CLICK_MESSAGES = [
    (r"No such command '(.+?)'\. Did you mean '(.+?)'\?", r"没有命令“\1”，是否想用“\2”？"),
    (r"No such command '(.+?)'\.?", r"没有命令“\1”"),
    (r"Directory '(.+?)' is a file\.?", r"“\1”是文件，不是目录"),
    (r"File '(.+?)' is a directory\.?", r"“\1”是目录，不是文件"),
    (r"(?:File|Directory|Path) '(.+?)' does not exist\.?", r"“\1”不存在"),
    (r"(?:File|Directory|Path) '(.+?)' is not (?:readable|writable)\.?", r"“\1”没有读写权限"),
    (r"'(.+?)' is not a valid integer(?: range)?\.?", r"“\1”不是有效的整数"),
    (r"'(.+?)' is not a valid float(?: range)?\.?", r"“\1”不是有效的数字"),
    (r"(.+?) is not in the range (.+?)\.?", r"\1 不在允许的范围 \2 内"),
    (r"'(.+?)' is not one of (.+?)\.?", r"“\1”不是可选值之一：\2"),
    (r"'(.+?)' is not (?:one of )?(.+?)\.?", r"“\1”不是可选值之一：\2"),
    (r"Got unexpected extra arguments? \((.+?)\)", r"多余的参数：\1"),
    (r"Option '(.+?)' requires an argument\.?", r"选项 \1 需要一个值"),
    (r"Option '(.+?)' does not take a value\.?", r"选项 \1 不带值"),
]


def chinese_usage_error(exc: click.ClickException) -> str:
    """Click's (English) usage errors as Chinese messages."""
    import re

    if isinstance(exc, click.exceptions.NoSuchOption):
        hint = f"，是否想用 {'、'.join(sorted(exc.possibilities))}？" if exc.possibilities else ""
        return f"没有选项“{exc.option_name}”{hint}"
    if isinstance(exc, click.exceptions.MissingParameter):
        param = exc.param
        what = "参数" if isinstance(param, click.Argument) else "选项"
        name = param.human_readable_name if param is not None else ""
        if isinstance(param, click.Option) and param.opts:
            name = param.opts[-1] if len(param.opts[-1]) > 2 else param.opts[0]
        return f"缺少{what} {name}"
    message = exc.format_message() if not isinstance(exc, click.BadParameter) else exc.message
    for pattern, repl in _CLICK_MESSAGES:
        m = re.fullmatch(pattern, message.strip(), flags=re.S)
        if m:
            message = m.expand(repl)
            break
    if isinstance(exc, click.BadParameter) and exc.param is not None:
        opts = getattr(exc.param, "opts", None) or [exc.param.human_readable_name]
        return f"{max(opts, key=len)} 的值无效：{message}"
    return message


class DocgenGroup(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the CLI; usage errors are reported in Chinese (Click's own texts are English)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("已取消。", err=True)
            sys.exit(1)
        except click.exceptions.NoArgsIsHelpError as exc:  # a command group given no command
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            command = ctx.command_path if ctx is not None else "docgen"
            click.echo(f"错误：{chinese_usage_error(exc)}（{command} --help 查看用法）", err=True)
            sys.exit(exc.exit_code)
        sys.exit(rv if isinstance(rv, int) else 0)

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
        except BrokenPipeError:  # output piped into head / less, which stopped reading: not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for such a pipe
        except OSError as exc:  # a folder that cannot be made, a full disk, no permission …
            if os.environ.get("DOCGEN_DEBUG"):
                traceback.print_exc()
            click.echo(f"错误：{mask_ids_in_text(os_error_message(exc))}", err=True)
            sys.exit(DocgenError.exit_code)
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
      docgen print --unit 编号   打印包：新生成、有变化的文书合成一个 PDF
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
