"""Position-tracking YAML loading.

Records are loaded with PyYAML's composer so that every value keeps the line and
column it came from: validation errors can then name ``file:line:column``.
All scalars are kept as strings (YAML 1.1 implicit typing turns ``2026-02-30``
into a crash and ``否`` into nothing useful); the record model does the typing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

Path_ = tuple  # a path inside a document: keys and list indexes


@dataclass
class Position:
    line: int  # 1-based
    column: int  # 1-based


@dataclass
class YamlSource:
    """One loaded YAML file: the plain data plus the position of every node."""

    path: Path
    data: Any
    positions: dict[tuple, Position] = field(default_factory=dict)
    key_positions: dict[tuple, Position] = field(default_factory=dict)

    def position(self, loc: tuple) -> Position:
        """Best position for a location: the node itself, else its closest parent."""
        loc = tuple(loc)
        while True:
            if loc in self.key_positions:
                return self.key_positions[loc]
            if loc in self.positions:
                return self.positions[loc]
            if not loc:
                return Position(1, 1)
            loc = loc[:-1]


class YamlSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


_NULLS = {"", "~", "null", "Null", "NULL"}
# libyaml composes the same nodes with the same marks, several times faster (plain
# scalars have style '' there instead of None)
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path, text: str | None = None, raw: bytes | None = None) -> YamlSource:
    """``path`` parsed (or ``text``, or the bytes ``raw`` read from ``path`` by the caller)."""
    if text is None and raw is None:
        try:
            raw = path.read_bytes()
        except PermissionError:
            raise YamlSyntaxError("无法读取文件：没有读取权限（请检查文件的权限或所有者）", 1, 1) from None
        except FileNotFoundError:
            raise YamlSyntaxError("读取时文件已不存在（可能刚被移动、改名或删除）", 1, 1) from None
        except IsADirectoryError:
            raise YamlSyntaxError("这是一个目录，不是记录文件", 1, 1) from None
        except OSError as exc:
            raise YamlSyntaxError(f"无法读取文件（{exc.strerror or exc}）", 1, 1) from None
    if text is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise YamlSyntaxError("文件不是 UTF-8 编码，请以 UTF-8 保存" + _encoding_hint(raw), line, 1) from None
    try:
        try:
            node = yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            # the pure-Python parser words its problems the way _yaml_problem translates them
            node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise YamlSyntaxError(f"文件中有不允许的控制字符 U+{ord(char):04X}，请删除"
                              "（常见于从其他软件复制的文字）", line, col) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        lines = text.splitlines()
        colon = _full_width_colon(lines, line)
        if colon is not None and _cured(lines, colon, line):  # YAML notices it a line later, or mid-line
            raise YamlSyntaxError(f"YAML 语法错误：第 {colon[0]} 行的冒号是全角“：”，请改为半角冒号加空格“: ”",
                                  *colon) from None
        if (exc.problem or "").startswith("mapping values are not allowed here") and 0 < line <= len(lines):
            text = lines[line - 1]
            first = re.match(r"^\s*(?:-\s+)?[^\s:#'\"{\[][^:#]*?:\s+", text)
            if first and col - 1 > first.end():  # a second ": " inside the value of "key: value"
                raise YamlSyntaxError(f"YAML 语法错误：第 {line} 行的值中含有“: ”（冒号加空格），请给整个值加引号，"
                                      "或把其中的冒号改为全角“：”", line, col) from None
        raise YamlSyntaxError(_yaml_problem(exc) + _hint(lines, line), line, col) from None
    except yaml.YAMLError as exc:  # pragma: no cover - other parser failures
        raise YamlSyntaxError(f"YAML 语法错误：{exc}", 1, 1) from None
    except RecursionError:
        raise YamlSyntaxError(_TOO_DEEP, 1, 1) from None
    src = YamlSource(path=path, data=None)
    if node is None:
        src.data = {}
        return src
    src.data = _convert(node, (), src, text)
    return src


def _encoding_hint(raw: bytes) -> str:
    """Which encoding a file that is not UTF-8 probably has, in the words of the editor."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "（此文件是 UTF-16 编码，即记事本的“Unicode”）"
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return ""
    return "（此文件像是 GBK/GB18030 编码，即 Windows 记事本的“ANSI”，请“另存为”时选择 UTF-8）"


def _yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    problem = (exc.problem or "").strip()
    translations = {
        "mapping values are not allowed here": "此处不能出现“键: 值”（可能缺少空格、缩进不对或值中含有未加引号的冒号）",
        "could not find expected ':'": "缺少冒号“:”",
        "found character '\\t' that cannot start any token": "不能用制表符（Tab）缩进，请改用空格",
        "did not find expected key": "缩进不一致，找不到预期的键",
        "found undefined alias": "引用了未定义的别名",
        "found unexpected end of stream": "文件意外结束（引号或括号未闭合）",
        "did not find expected ',' or ']'": "方括号列表未闭合，或其中两项之间缺少逗号“,”",
        "did not find expected ',' or '}'": "花括号映射未闭合，或其中两项之间缺少逗号“,”",
        "found duplicate anchor": "锚点重复",
        "expected <block end>, but found '<block mapping start>'": "缩进不一致",
        "expected <block end>, but found '-'": "列表项“-”缩进不一致",
        "expected <block end>, but found '<scalar>'": "缩进不一致",
        "found unknown escape character": "双引号字符串中有无效的转义字符",
        "expected the node content, but found '<stream end>'": "此处应有值，但文件已经结束（方括号、花括号未闭合？）",
        "expected the node content": "此处应有值（缺少值，或多了“,”“]”“}”等符号）",
        "expected a comment or a line break": "值的后面多了内容（值中有空格加“#”或引号时，请给整个值加引号）",
        "found unexpected document separator": "出现了文档分隔符“---”或“...”（一个文件只写一条记录）",
        "expected '<document start>'": "文件中多出了一段内容（一个文件只写一条记录，或缩进不对）",
        "expected <block end>": "缩进不一致",
        "but found another document": "一个文件只写一条记录（文件中出现了第二个文档“---”）",
        "expected ',' or ']'": "方括号列表未闭合，或其中两项之间缺少逗号“,”",
        "expected ',' or '}'": "花括号映射未闭合，或其中两项之间缺少逗号“,”",
    }
    for en, zh in translations.items():
        if problem.startswith(en):
            return f"YAML 语法错误：{zh}"
    m = re.match(r"found character '(.+?)' that cannot start any token", problem)
    if m:
        return f"YAML 语法错误：值不能以“{m.group(1)}”开头（请给整个值加引号）"
    return f"YAML 语法错误：{problem or exc}"


# A line that starts like "key：value" (or "- key：value"): a key typed with a Chinese input method
_KEY_FULL_COLON = re.compile(r"^(\s*(?:-\s+)?\{?\s*)[^\s:：#'\"{}\[\],]{1,20}(：)")


def _full_width_colon(lines: list[str], line: int) -> tuple[int, int] | None:
    """(line, column) of the full-width colon of a key that caused a syntax error on ``line``
    (YAML reports it on that line or the next one), or None."""
    for n in (line, line - 1):
        if not 0 < n <= len(lines):
            continue
        text = lines[n - 1]
        m = _KEY_FULL_COLON.match(text)
        if m and ":" not in text[: m.start(2)]:
            return n, m.start(2) + 1
    return None


def _cured(lines: list[str], colon: tuple[int, int], line: int) -> bool:
    """Whether a half-width colon instead of the full-width one at ``colon`` ends the syntax error
    reported on ``line`` (no error, or only one further down): a "：" in a line of multi-line text
    just above an unrelated mistake is not blamed for it."""
    n, col = colon
    fixed = list(lines)
    fixed[n - 1] = fixed[n - 1][: col - 1] + ": " + fixed[n - 1][col:].lstrip()
    try:
        yaml.compose("\n".join(fixed), Loader=_FAST_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return mark is not None and mark.line + 1 > line
    except (yaml.YAMLError, RecursionError):
        return False
    return True


def _tab_lines(lines: list[str]) -> str:
    """The lines indented with a tab, for the message that names the first."""
    found = [str(n) for n, text in enumerate(lines, 1) if text[: len(text) - len(text.lstrip())].count("\t")]
    if len(found) < 2:
        return ""
    shown = "、".join(found[:8]) + ("等" if len(found) > 8 else "")
    return f"（第 {shown} 行都用了制表符）"


def _list_hint(lines: list[str], line: int) -> str:
    """A list item "- " on ``line`` that is not aligned with the items before it."""
    if not 0 < line <= len(lines):
        return ""
    text = lines[line - 1]
    if not text.lstrip().startswith("- ") and text.strip() != "-":
        return ""
    indent = len(text) - len(text.lstrip())
    for n in range(line - 1, 0, -1):
        before = lines[n - 1]
        stripped = before.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        other = len(before) - len(stripped)
        if stripped.startswith("- ") or stripped == "-":
            if other != indent:
                return f"（第 {line} 行的“-”应与第 {n} 行的“-”对齐：同一列表的各项缩进相同）"
            return ""
        if other < indent:
            return ""
    return ""


def _hint(lines: list[str], line: int) -> str:
    """What a Chinese input method or a paste usually did to the line of a syntax error (or the
    line before it, where YAML often notices only one line later)."""
    listed = _list_hint(lines, line)
    if listed:
        return listed
    if 0 < line <= len(lines) and "\t" in lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]:
        return _tab_lines(lines)
    for n in (line, line - 1):
        if not 0 < n <= len(lines):
            continue
        text = lines[n - 1]
        hidden = _INVISIBLE.search(text)
        if hidden is not None:
            return f"（第 {n} 行有看不见的字符 U+{ord(hidden.group(0)):04X}，请删除）"
        indent = text[: len(text) - len(text.lstrip())]
        if "\u3000" in indent or "\u00a0" in indent:
            return f"（第 {n} 行用全角空格或不换行空格缩进，请改用半角空格）"
        if "：" in text and ":" not in text.split("#", 1)[0] and _cured(lines, (n, text.index("：") + 1), line):
            return f"（第 {n} 行的冒号是全角“：”，请改为半角冒号加空格“: ”）"
        if re.match(r"^\s*(- )?[^\s:#'\"{\[]+:[^\s/]", text):
            return f"（第 {n} 行的冒号后须有一个空格）"
    return ""


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


# A person with ten years of monthly visits has a few thousand values; more than this comes from
# aliases (*a) referring to aliases, which would otherwise expand without end ("billion laughs").
MAX_VALUES = 200_000
MAX_DEPTH = 32  # records nest four levels deep (事件 / 第n项 / 项目)
_TOO_DEEP = f"嵌套层次过多（超过 {MAX_DEPTH} 层）：请检查缩进和括号"


def _convert(node: yaml.Node, loc: tuple, src: YamlSource, text: str) -> Any:
    src.positions[loc] = _pos(node)
    if len(loc) > MAX_DEPTH:
        raise YamlSyntaxError(_TOO_DEEP, *_lc(node))
    if len(src.positions) > MAX_VALUES:
        raise YamlSyntaxError(f"文件中的项目超过 {MAX_VALUES:,} 个：多半是别名“*”层层引用、展开过多，"
                              "请直接写出内容，不用锚点“&”和别名“*”", *_lc(node))
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlSyntaxError("YAML 语法错误：键必须是简单文字", *_lc(key_node))
            _check_visible(key_node)
            key = key_node.value
            if "(" in key or ")" in key:
                key = key.translate(_KEY_BRACKETS)
            if "：" in key and _is_null(value_node) and key_node.style in (None, ""):
                line, col = _lc(key_node)
                raise YamlSyntaxError(f"YAML 语法错误：“{key}”中的冒号是全角“：”，请改为半角冒号加空格“: ”",
                                      line, col + key.index("："))
            if key == "<<":
                raise YamlSyntaxError("不支持 YAML 合并键“<<”", *_lc(key_node))
            if key in out:
                raise YamlSyntaxError(f"键“{key}”重复出现", *_lc(key_node))
            src.key_positions[loc + (key,)] = _pos(key_node)
            out[key] = _convert(value_node, loc + (key,), src, text)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, loc + (i,), src, text) for i, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    value = node.value
    _check_visible(node)
    if node.style is None or node.style == "":  # plain
        if value in _NULLS:
            return None
        if node.end_mark.line != node.start_mark.line:
            _check_folded(node, text)
        return value.strip() if isinstance(value, str) else value
    return value


# Unicode control (Cc, but tab and line breaks) and format (Cf) characters: invisible in an editor,
# printed as nothing or as boxes. A character class (one C-level search per scalar) rather than
# unicodedata per character, which costs seconds on a province's records.
_INVISIBLE = re.compile("[" + "".join(
    f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in (
        (0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xAD, 0xAD), (0x600, 0x605),
        (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F), (0x890, 0x891), (0x8E2, 0x8E2),
        (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
        (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
        (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
        (0xE0020, 0xE007F))) + "]")


def _check_visible(node: yaml.ScalarNode) -> None:
    """No invisible characters in a key or value: control characters from an escape
    (``"\\u0000"``) or pasted ones (zero-width space, a BOM) print as nothing or as boxes."""
    m = _INVISIBLE.search(node.value)
    if m is not None:
        bad = m.group(0)
        raise YamlSyntaxError(f"此处有看不见的字符 U+{ord(bad):04X}（控制字符或零宽字符，常见于从网页或"
                              "其他软件复制的文字），请删除后重新输入", *_lc(node))


# Record keys write their parentheses full-width (县（市、区）, 金额（元）): half-width ones typed
# in a key mean the same key
_KEY_BRACKETS = str.maketrans("()", "（）")


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.style in (None, "") and node.value in _NULLS


@lru_cache(maxsize=1)
def _record_keys() -> frozenset[str]:
    """Every item name of the record model (姓名, 性别, 出所时间 …)."""
    from pydantic import BaseModel

    from . import model

    return frozenset(f.alias for obj in vars(model).values()
                     if isinstance(obj, type) and issubclass(obj, BaseModel)
                     for f in obj.model_fields.values() if f.alias)


def _check_folded(node: yaml.ScalarNode, text: str) -> None:
    """A plain value continued on a further line that reads like "key：value" with a record item's
    name as key: the next item, typed with a full-width colon and indented deeper, became part
    of this value. (A line of text such as "注意：…" continuing a 备注 is text.)"""
    lines = text.splitlines()
    for n in range(node.start_mark.line + 1, min(node.end_mark.line, len(lines) - 1) + 1):
        m = _KEY_FULL_COLON.match(lines[n])
        if m and lines[n][m.end(1):m.start(2)].translate(_KEY_BRACKETS) in _record_keys():
            raise YamlSyntaxError(f"YAML 语法错误：第 {n + 1} 行被读成了上一行的值的续行。它若是下一个项目，"
                                  "冒号要改为半角冒号加空格“: ”，缩进与上一项对齐；若是多行文字，请在项目名后写“|”"
                                  "（如“本人简历: |”），文字另起一行、缩进两格", n + 1, m.start(2) + 1)


def _lc(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
