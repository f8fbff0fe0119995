"""A station clerk's audit: what a clerk types by hand (empty values, full-width digits, pasted
invisible characters, unreadable files) gets a clear Chinese message at the right line, or is
accepted as meant; notices refuse numbers that would print twice; piping output into ``head``
is not an internal error. Expectations are written by hand from the record texts below."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_cli
from test_records import units_workspace

from docgen.records.load import load_records

# A person written from scratch (synthetic): ID 320102199001011232 is 1990-01-01, male (17th
# digit 3 is odd); its check digit is computed by hand in test_check_digit_by_hand.
PERSON = """\
记录类型: 照管对象
编号: NJ2026900
姓名: 张三丰
性别: 男
出生年月: 1990-01
身份证号码: "320102199001011232"
户籍所在地: 江苏省南京市玄武区梅园新村街道长江后街1号
服务站: nj-xw-my
强制隔离戒毒:
  戒毒所: dh
  入所时间: 2024-09-01
  出所时间: 2026-08-31
事件:
  - {类型: 报到, 日期: 2026-09-05}
"""


def test_check_digit_by_hand():
    from docgen.records.idcard import check_digit

    # 3*7+2*9+0*10+1*5+0*8+2*4+1*2+9*1+9*6+0*3+0*7+1*9+0*10+1*5+1*8+2*4+3*2 = 153; 153 mod 11 = 10;
    # "10X98765432"[10] = "2"
    assert check_digit("32010219900101123") == "2"


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace with the example stations and institutions and no persons."""
    return units_workspace(tmp_path / "ws")


def put(ws: Path, text: str, name: str = "NJ2026900.yaml") -> Path:
    p = ws / "records" / "persons" / name
    p.write_bytes(text.encode("utf-8"))
    return p


def load(ws: Path):
    return load_records([ws / "records"], base=ws)


def errors(ws: Path) -> list[tuple[int, int, str, str]]:
    """(line, column, field, message) of every error of the person file."""
    return [(d.line, d.column, d.field, d.message) for d in load(ws).errors]


def test_the_hand_written_person_is_valid(ws):
    put(ws, PERSON)
    ds = load(ws)
    assert ds.errors == []
    assert ds.persons["NJ2026900"].name == "张三丰"


# --------------------------------------------------------------------------- empty values


@pytest.mark.parametrize("key, line", [("户籍所在地", 7), ("姓名", 3), ("性别", 4), ("身份证号码", 6),
                                       ("服务站", 8), ("编号", 2)])
def test_a_required_item_left_empty_is_an_error_naming_it(ws, key, line):
    text = "\n".join(f"{key}:" if row.startswith(f"{key}: ") else row for row in PERSON.splitlines())
    put(ws, text + "\n")
    errs = errors(ws)
    # 户籍所在地 left empty used to pass validation; the others were reported as "此处应为文字，
    # 而不是列表或映射" or "“None”不是有效的取值"
    assert errs == [(line, 1, key, f"“{key}”是必填项，不能为空")]


def test_an_empty_release_date_is_a_chinese_error_at_its_line(ws):
    put(ws, PERSON.replace("  出所时间: 2026-08-31", "  出所时间:"))
    assert errors(ws) == [(12, 3, "强制隔离戒毒 / 出所时间", "“出所时间”是必填项，不能为空")]


def test_optional_items_left_empty_mean_not_filled_in(ws):
    # docs/records.md: "不填的项目可以省略或留空"
    text = PERSON.replace("事件:\n  - {类型: 报到, 日期: 2026-09-05}\n",
                          "家庭成员及主要社会关系:\n重点人员:\n服务协议:\n曾用名:\n联系方式:\n事件:\n")
    put(ws, text)
    ds = load(ws)
    assert ds.errors == []
    p = ds.persons["NJ2026900"]
    assert p.events == [] and p.relations == [] and p.key_person is False and p.agreement is None


def test_an_empty_yes_no_in_an_event_means_no(ws):
    put(ws, PERSON + "  - {类型: 就业, 日期: 2026-09-10, 就业方式: 自主创业, 推荐就业: }\n")
    ds = load(ws)
    assert ds.errors == []
    job = [e for e in ds.persons["NJ2026900"].events if e.kind == "就业"][0]
    assert job.referred is False


# --------------------------------------------------------------------------- ID numbers and digits


def test_full_width_id_number_is_read_as_typed(ws):
    fw = "３２０１０２１９９００１０１１２３２"  # the same number typed with a Chinese input method
    put(ws, PERSON.replace('"320102199001011232"', fw))
    ds = load(ws)
    assert ds.errors == []
    assert ds.persons["NJ2026900"].id_number == "320102199001011232"


def test_lowercase_x_is_stored_uppercase(ws):
    # GB 11643 worked example 11010519491231002X: 1949-12-31, female
    text = (PERSON.replace('"320102199001011232"', "11010519491231002x").replace("1990-01", "1949-12")
            .replace("性别: 男", "性别: 女"))
    put(ws, text)
    ds = load(ws)
    assert ds.errors == []
    assert ds.persons["NJ2026900"].id_number == "11010519491231002X"


def test_an_old_15_digit_id_number_is_explained(ws):
    put(ws, PERSON.replace('"320102199001011232"', '"320102900101123"'))
    ((line, _, field, msg),) = errors(ws)
    assert (line, field) == (6, "身份证号码")
    assert "15 位的旧身份证号码" in msg


def test_full_width_phone_number_is_read_as_typed(ws):
    put(ws, PERSON.replace("服务站: nj-xw-my\n", "服务站: nj-xw-my\n联系方式: １３９１２３４００００\n"))
    ds = load(ws)
    assert ds.errors == []
    assert ds.persons["NJ2026900"].phone == "13912340000"


def test_sex_against_id_number_points_at_a_line_of_the_file(ws):
    put(ws, PERSON.replace("性别: 男", "性别: 女"))
    # was 1:1 without a field: a clerk could not find it in a long file
    assert errors(ws) == [(6, 1, "身份证号码", "性别“女”与身份证号码（第 17 位表示男性）不一致")]


def test_birth_month_against_id_number_points_at_a_line_of_the_file(ws):
    put(ws, PERSON.replace("出生年月: 1990-01", "出生年月: 1990-02"))
    assert errors(ws) == [(6, 1, "身份证号码", "出生年月 1990-02 与身份证号码中的出生日期（1990-01）不一致")]


def test_release_before_admission_points_at_the_release_line(ws):
    put(ws, PERSON.replace("出所时间: 2026-08-31", "出所时间: 2024-08-31"))
    assert errors(ws) == [(12, 3, "强制隔离戒毒 / 出所时间", "出所时间 2024-08-31 早于入所时间 2024-09-01")]


def test_recorded_before_the_event_points_at_the_recorded_date(ws):
    put(ws, PERSON.replace("{类型: 报到, 日期: 2026-09-05}", "{类型: 报到, 日期: 2026-09-05, 录入日期: 2026-09-01}"))
    ((line, col, field, msg),) = errors(ws)
    assert (line, field, msg) == (14, "事件 / 第1项 / 录入日期", "录入日期 2026-09-01 早于事件日期 2026-09-05")
    assert col == PERSON.splitlines()[13].index("}") + 1 + len(", ")


# --------------------------------------------------------------------------- invisible characters, files


def test_a_pasted_zero_width_space_is_reported_at_its_value(ws):
    put(ws, PERSON.replace("姓名: 张三丰", "姓名: 张三\u200b丰"))
    assert errors(ws) == [(3, 5, "", "此处有看不见的字符 U+200B（控制字符或零宽字符，常见于从网页或其他软件复制的文字），"
                                     "请删除后重新输入")]


def test_an_escaped_nul_is_reported(ws):
    put(ws, PERSON.replace("姓名: 张三丰", '姓名: "张三\\u0000"'))
    ((line, col, _, msg),) = errors(ws)
    assert (line, col) == (3, 5) and "U+0000" in msg


def test_a_raw_control_character_is_a_chinese_error_at_its_place(ws):
    put(ws, PERSON.replace("姓名: 张三丰", "姓名: '张三\x07'"))
    # was: "YAML 语法错误：unacceptable character #x0007 ..." at 1:1
    assert errors(ws) == [(3, 8, "", "文件中有不允许的控制字符 U+0007，请删除（常见于从其他软件复制的文字）")]


def test_an_unreadable_file_is_reported_in_chinese(ws, monkeypatch):
    path = put(ws, PERSON)
    real = Path.read_bytes

    def refuse(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)  # root reads any file: simulate chmod 000
    assert errors(ws) == [(1, 1, "", "无法读取文件：没有读取权限（请检查文件的权限或所有者）")]


# --------------------------------------------------------------------------- CLI


def test_output_piped_into_a_pager_that_stops_is_not_an_internal_error():
    p = subprocess.Popen([sys.executable, "-m", "docgen", "units", "-w", str(EXAMPLES)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # like `docgen units | head -0`: the reader is gone before the first line
    err = p.stderr.read().decode("utf-8")
    p.wait(timeout=120)
    assert "内部错误" not in err and "Traceback" not in err and "BrokenPipe" not in err, err
    assert p.returncode == 141


def test_two_institutions_with_the_same_code_get_no_notice_number(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    (ws / "records" / "institutions" / "dh2.yaml").write_text(
        "记录类型: 戒毒所\n编号: dh2\n名称: 江苏省东湖第二强制隔离戒毒所\n代字: 东湖\n", encoding="utf-8")
    # both would print 东湖戒[2026]1号: the second record with the code is an error of the records,
    # and that institution gets no number until its 代字 is changed
    r = run_cli("notice", "issue", "--kind", "F", "--institution", "dh2", "--station", "nj",
                "--month", "2026-11", "-w", str(ws))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "dh2.yaml:4:1: 错误: 【代字】代字“东湖”" in r.stderr and "Traceback" not in r.stderr
    listed = run_cli("notice", "list", "--json", "-w", str(ws))
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"
    v = run_cli("validate", "-w", str(ws))
    assert v.returncode != 0 and "dh2.yaml:4:1" in v.stdout + v.stderr


# --------------------------------------------------------------------------- statistics after a freeze


def test_a_visit_recorded_after_its_month_was_frozen_counts_in_the_next_month(tmp_path):
    """README: 冻结后补录的事件（“录入日期”晚于冻结）列为“更正”，计入下一个未冻结月份. Form Q
    (visits, help cases) used to drop such a visit: not in the frozen October, not in November."""
    import datetime as dt

    from docgen.model.period import Period
    from docgen.model.stats import Statistics
    from docgen.workspace import Workspace

    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    w = Workspace.locate(ws)
    oct_, nov = Period(2026, month=10), Period(2026, month=11)

    def engine() -> Statistics:
        ds = load_records([w.records], base=w.root)
        ds.workspace = w
        assert ds.errors == []
        return Statistics(ds)

    first = engine()
    first.freeze(oct_, dt.date(2026, 11, 10))
    before_oct = first.table_q("nj-xw-my", oct_).total
    before_nov = first.table_q("nj-xw-my", nov).total
    # a phone visit of 2026-10-30 entered on 2026-11-20, and one whose 录入日期 is the day of
    # freezing but that was written after the freeze: the frozen figures keep the events they
    # counted, so neither is lost (the 录入日期 alone used to decide, and dropped the second)
    (ws / "records" / "events" / "late.yaml").write_text(
        "记录类型: 事件\n对象: NJ2026001\n事件:\n"
        "  - {类型: 回访, 日期: 2026-10-30, 录入日期: 2026-11-20, 方式: 电话回访, 回访人: 刘芳}\n"
        "  - {类型: 回访, 日期: 2026-10-29, 录入日期: 2026-11-10, 方式: 见面回访, 回访人: 刘芳}\n",
        encoding="utf-8")
    again = engine()
    assert again.table_q("nj-xw-my", oct_).total == before_oct  # frozen figures stand
    after_nov = again.table_q("nj-xw-my", nov).total
    assert after_nov["电话回访"] == before_nov["电话回访"] + 1
    assert after_nov["见面回访"] == before_nov["见面回访"] + 1
    assert after_nov["回访合计"] == before_nov["回访合计"] + 2
    # the work station above rolls them up too
    assert again.table_q("nj-xw", nov).total["回访合计"] == first.table_q("nj-xw", nov).total["回访合计"] + 2
    lines = again.corrections(nov, "nj-xw-my")
    assert "更正 2026年10月：NJ2026001（王堃）补录事件：回访 2026-10-30（录入 2026-11-20）" \
           "（已计入 2026年11月 的回访帮扶情况统计表）" in lines
    assert any("回访 2026-10-29" in line for line in lines)


# --------------------------------------------------------------------------- docgen validate FILE


def test_validating_one_file_checks_it_against_the_workspace(ws):
    """README: docgen validate [路径...] checks that referenced stations and institutions exist. Given
    one file, it used to load that file alone and report the workspace's stations (nj-xw-my) and
    institutions (dh) as missing."""
    good = put(ws, PERSON)
    r = run_cli("validate", str(good), "-w", str(ws))
    assert r.returncode == 0, r.stderr
    assert "不存在" not in r.stderr and "检查了 1 个文件" in r.stdout
    bad = put(ws, PERSON.replace("NJ2026900", "NJ2026901").replace("服务站: nj-xw-my", "服务站: nj-xw-xx")
              .replace('"320102199001011232"', '"320104198805124564"').replace("1990-01", "1988-05")
              .replace("性别: 男", "性别: 女"), "NJ2026901.yaml")
    r = run_cli("validate", str(good), str(bad), "-w", str(ws))
    assert r.returncode == 1
    lines = [l for l in r.stderr.splitlines() if "错误" in l]
    assert len(lines) == 1 and "NJ2026901.yaml:8:1" in lines[0] and "服务站“nj-xw-xx”不存在" in lines[0], lines


def test_an_institution_code_with_a_blank_is_refused(ws):
    """东 湖戒[2026]1号 could never be found again by docgen notice receipt / void (a number is read
    as 代字 without blanks or brackets, then 戒[年]序号号)."""
    (ws / "records" / "institutions" / "dh2.yaml").write_text(
        "记录类型: 戒毒所\n编号: dh2\n名称: 江苏省东湖第二强制隔离戒毒所\n代字: 东 湖\n", encoding="utf-8")
    errs = [(d.file, d.line, d.field) for d in load(ws).errors]
    assert errs == [("records/institutions/dh2.yaml", 4, "代字")]
    from docgen.registry.numbers import format_number, parse_notice_number

    assert parse_notice_number(format_number("F", "东湖", 2026, 3)) == ("东湖", 2026, 3)


@pytest.mark.parametrize("old, new, hint", [
    ("  戒毒所: dh", "\u3000戒毒所: dh", "第 10 行用全角空格或不换行空格缩进，请改用半角空格"),
    ("服务站: nj-xw-my", "服务站：nj-xw-my", "第 8 行的冒号是全角“：”，请改为半角冒号加空格“: ”"),
    ("服务站: nj-xw-my", "服务站:nj-xw-my", "第 8 行的冒号后须有一个空格"),
    ("服务站: nj-xw-my", "服务站: nj-xw-my\n\u200b", "第 9 行有看不见的字符 U+200B，请删除"),
])
def test_syntax_errors_a_chinese_input_method_makes_are_explained(ws, old, new, hint):
    """A full-width space or colon looks right in the editor; the YAML error alone ("缺少冒号" one
    line further down) did not say what to change."""
    put(ws, PERSON.replace(old, new))
    ((_, _, _, msg),) = errors(ws)
    assert msg.startswith("YAML 语法错误：") and hint in msg, msg


@pytest.mark.parametrize("args, message", [
    (("due", "--as-of", "2026-02-30"), "日期“2026-02-30”不存在"),
    (("notice", "list", "--today", "2026-02-29"), "今天日期“2026-02-29”不存在"),
])
def test_an_impossible_date_on_the_command_line_is_called_impossible(args, message):
    r = run_cli(*args, "-w", str(EXAMPLES))
    assert r.returncode == 2 and message in r.stderr and "格式不对" not in r.stderr, r.stderr


def test_a_file_gone_before_it_is_read_is_reported_in_chinese(tmp_path):
    from docgen.records.yamlsrc import YamlSyntaxError, load_yaml

    with pytest.raises(YamlSyntaxError) as info:
        load_yaml(tmp_path / "刚删除.yaml")  # removed between listing the folder and reading it
    assert info.value.message == "读取时文件已不存在（可能刚被移动、改名或删除）"


def test_aliases_expanding_without_end_are_refused(ws):
    """"Billion laughs": each alias list refers nine times to the one before; nine levels used to
    hang docgen validate (9**9 values), six levels are 531,441 values."""
    lines = ["记录类型: 照管对象", 'a0: &a0 ["哈","哈","哈","哈","哈","哈","哈","哈","哈"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 6)]
    put(ws, "\n".join(lines) + "\n")
    ((_, _, _, msg),) = errors(ws)  # at whichever value passes the limit (an aliased one)
    assert "别名“*”层层引用" in msg


def test_nesting_without_end_is_an_error_not_a_crash(ws):
    put(ws, "记录类型: 照管对象\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    r = run_cli("validate", "-w", str(ws))
    assert r.returncode == 1 and "嵌套层次过多" in r.stderr and "内部错误" not in r.stderr, r.stderr


def test_an_id_number_born_in_the_future_is_refused(ws):
    # 32010220990101123: 21+18+0+5+0+8+4+0+54+27+0+9+0+5+8+8+6 = 173; 173 mod 11 = 8 -> "4"
    put(ws, PERSON.replace('"320102199001011232"', '"320102209901011234"').replace("出生年月: 1990-01\n", ""))
    assert errors(ws) == [(5, 1, "身份证号码", "身份证号码中的出生日期 2099-01-01 晚于今天（请核对第 7–14 位）")]


@pytest.mark.parametrize("args, message", [
    (("blank", "P", "--format", "foo"), "不支持的格式：foo"),
    (("blank", "P", "--format", ""), "不支持的格式：（空）"),
    (("build", "--forms", "D", "--format", ""), "不支持的格式：（空）"),
    (("build", "--forms", "P,Q"), "表单 P Q 按单位和期间生成，请加 --month"),
    (("stats", "--unit", "nj-xw-my", "--month", "2026-11", "--format", ""), "不支持的格式：（空）"),
])
def test_commands_that_would_make_nothing_say_why(tmp_path, args, message):
    """These used to exit 0 having written nothing (build -q even without the hint)."""
    out = tmp_path / "out"
    r = run_cli(*args, "--out", str(out)) if args[0] == "blank" else \
        run_cli(*args, "--out", str(out), "-w", str(EXAMPLES))
    assert r.returncode == 2 and message in r.stderr, (r.returncode, r.stderr)
    assert not out.exists()


def test_due_only_reads(ws):
    """docgen due lists; it used to create the data folder (the notice register's) on the way."""
    r = run_cli("due", "--as-of", "2026-11-30", "-w", str(ws))
    assert r.returncode == 0, r.stderr
    assert not (ws / "data").exists()


@pytest.mark.parametrize("encoding, hint", [("gbk", "GBK/GB18030 编码，即 Windows 记事本的“ANSI”"),
                                            ("utf-16", "UTF-16 编码，即记事本的“Unicode”")])
def test_a_file_saved_in_another_encoding_says_which(ws, encoding, hint):
    (ws / "records" / "persons" / "NJ2026900.yaml").write_bytes(PERSON.encode(encoding))
    ((line, _, _, msg),) = errors(ws)
    assert line == 1 and msg.startswith("文件不是 UTF-8 编码，请以 UTF-8 保存") and hint in msg, msg


@pytest.mark.parametrize("dot", ["\u2027", "\u2219", "\u22c5", "\u0387"])
def test_look_alike_middle_dots_in_a_name_are_named(ws, dot):
    put(ws, PERSON.replace("姓名: 张三丰", f"姓名: 阿卜杜{dot}热合曼"))
    assert errors(ws) == [(3, 1, "姓名", f"姓名中的间隔号请用“·”（U+00B7），不要用“{dot}”（U+{ord(dot):04X}）")]
