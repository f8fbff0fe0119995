"""A new station clerk's first day: a workspace made with ``docgen init``, her own stations and two
persons written from scratch the way a clerk types them (full-width colons, 2026.3.5, a lower-case
x, blanks in phone numbers, tabs, a 服务站 by its name ...). What is unambiguous is read as meant;
the rest gets a Chinese message at the line of the mistake that says what to write instead.
Every expectation is written by hand from the texts below (synthetic data)."""
from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

from docgen.records.load import load_records

# Her station, its 工作站 and 指导站, and the institution: written as docs/records.md describes.
STATIONS = {
    "stations/nj.yaml": "记录类型: 站点\n编号: nj\n类型: 指导站\n设区的市: 南京市\n联系电话: 025-8352 1000\n",
    "stations/nj-gl.yaml": "记录类型: 站点\n编号: nj-gl\n类型: 工作站\n设区的市: 南京市\n县（市、区）: 鼓楼区\n上级: nj\n",
    "stations/nj-gl-nhl.yaml": ("记录类型: 站点\n编号: nj-gl-nhl\n类型: 服务站\n设区的市: 南京市\n县（市、区）: 鼓楼区\n"
                                "乡（镇、街道）: 宁海路街道\n上级: nj-gl\n联系人: 孙丽\n联系电话: 138 1390 0021\n"),
    "institutions/dh.yaml": "记录类型: 戒毒所\n编号: dh\n名称: 江苏省东湖强制隔离戒毒所\n代字: 东湖\n",
}

# 32010619880512003X: born 1988-05-12, male (17th digit 3 is odd); 320106199208230024: born 1992-08-23,
# female (17th digit 2); check digits in test_check_digits_by_hand.
PERSON = """\
记录类型: 照管对象
编号: NH2026001
姓名: 陈立军
性别: 男
出生年月: 1988年5月
身份证号码: 32010619880512003x
户籍所在地: 江苏省南京市鼓楼区宁海路街道颐和路8号
联系方式: 139 1234 5678
服务站: nj-gl-nhl
强制隔离戒毒:
  戒毒所: dh
  期限: 二年
  拟报减期(月): 3
  入所时间: 2024.11.5
  出所时间: 2026年11月5日
事件:
  - {类型: 报到, 日期: 2026/11/10}
  - {类型: 回访, 日期: 2026-11-20, 方式: 电话, 回访人: 孙丽}
  - {类型: 回访, 日期: 20261125, 方式: 家访, 回访人: 孙丽}
  - {类型: 帮扶, 日期: 2026-11-26, 事项类型: 救助财物, 金额(元): 500}
"""

SECOND = """\
记录类型: 照管对象
编号: NH2026002
姓名: 李娟
性别: 女性
身份证号码: "320106199208230024"
户籍所在地: 江苏省南京市鼓楼区湖南路街道马台街5号
联系方式: 025 8331 2345
服务站: nj-gl-nhl
强制隔离戒毒:
  戒毒所: dh
  出所时间: 2026-10-20
事件:
  - 类型: 报到
    日期: 2026-10-26
"""


def test_check_digits_by_hand():
    from docgen.records.idcard import check_digit

    # weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; "10X98765432"[sum mod 11]
    # 32010619880512003: 21+18+0+5+0+24+2+9+48+24+0+45+10+10+0+0+6 = 222; 222 mod 11 = 2 -> "X"
    assert check_digit("32010619880512003") == "X"
    # 32010619920823002: 21+18+0+5+0+24+2+9+54+6+0+72+20+15+0+0+4 = 250; 250 mod 11 = 8 -> "4"
    assert check_digit("32010619920823002") == "4"


@pytest.fixture
def station(tmp_path: Path) -> Path:
    """A workspace made by ``docgen init`` with her stations and institution."""
    ws = tmp_path / "梅园"
    r = run_cli("init", str(ws))
    assert r.returncode == 0, r.stderr
    for name, text in STATIONS.items():
        (ws / "records" / name).write_text(text, encoding="utf-8")
    return ws


def put(ws: Path, text: str, name: str = "NH2026001.yaml", folder: str = "persons") -> Path:
    p = ws / "records" / folder / name
    p.write_bytes(text.encode("utf-8"))
    return p


def load(ws: Path):
    return load_records([ws / "records"], base=ws)


def errors(ws: Path) -> list[tuple[str, int, int, str, str]]:
    return [(d.file, d.line, d.column, d.field, d.message) for d in load(ws).errors]


# --------------------------------------------------------------------------- read as meant


def test_what_a_clerk_types_is_read_as_meant(station):
    put(station, PERSON)
    put(station, SECOND, "NH2026002.yaml")
    ds = load(station)
    assert ds.diagnostics == [], [str(d) for d in ds.diagnostics]
    p = ds.persons["NH2026001"]
    assert p.birth == "1988-05"
    assert p.id_number == "32010619880512003X"
    assert p.phone == "13912345678"
    assert p.detention.term == "2年"
    assert p.detention.reduction_months == 3
    assert p.detention.admitted == dt.date(2024, 11, 5)
    assert p.detention.release == dt.date(2026, 11, 5)
    assert [(e.kind, e.date, e.method) for e in p.events] == [
        ("报到", dt.date(2026, 11, 10), None),
        ("回访", dt.date(2026, 11, 20), "电话回访"),
        ("回访", dt.date(2026, 11, 25), "家庭走访"),
        ("帮扶", dt.date(2026, 11, 26), None),
    ]
    assert p.events[3].amount == 500.0
    second = ds.persons["NH2026002"]
    assert second.sex == "女"
    assert second.phone == "025-83312345"  # the blank after the area code is its dash
    assert ds.stations["nj"].phone == "025-83521000"
    assert ds.stations["nj-gl-nhl"].phone == "13813900021"


@pytest.mark.parametrize("written, meant", [
    ("2026-3-5", dt.date(2026, 3, 5)), ("2026.03.05", dt.date(2026, 3, 5)), ("2026 年 3 月 5 日", dt.date(2026, 3, 5)),
    ("２０２６．３．５", dt.date(2026, 3, 5)),
])
def test_dates_with_the_year_first_are_read(station, written, meant):
    put(station, PERSON.replace("入所时间: 2024.11.5", f"入所时间: {written}").replace("出所时间: 2026年11月5日",
                                                                                 "出所时间: 2026-11-05"))
    ds = load(station)
    assert ds.errors == [], [str(d) for d in ds.errors]
    assert ds.persons["NH2026001"].detention.admitted == meant


@pytest.mark.parametrize("written, words", [
    ("2026-11-05 09:30", "只写日期，不写时刻（写成 2026-11-05）"),
    ("11月5日", "缺少年份"),
    ("26.11.5", "年份须写四位"),
    ("2026-11-31", "不存在"),
    ("5/11/2026", "应写成 2026-11-30 这样的 年-月-日"),
])
def test_a_date_that_cannot_be_read_says_why(station, written, words):
    put(station, PERSON.replace("出所时间: 2026年11月5日", f"出所时间: {written}"))
    assert [(line, fld) for _, line, _, fld, msg in errors(station) if words in msg] == [(15, "强制隔离戒毒 / 出所时间")]


@pytest.mark.parametrize("written, words", [
    ("84561234", "固定电话须带区号"),
    ("139 1234 567", "手机号应为 11 位，此处是 10 位"),
    ("13912345678、13812345678", "只写一个号码"),
])
def test_a_phone_number_that_cannot_be_read_says_why(station, written, words):
    put(station, PERSON.replace("联系方式: 139 1234 5678", f"联系方式: {written}"))
    assert [(line, fld) for _, line, _, fld, msg in errors(station) if words in msg] == [(8, "联系方式")]


# --------------------------------------------------------------------------- messages at the right line


def test_a_full_width_colon_is_reported_at_its_own_line(station):
    text = PERSON.replace("服务站: nj-gl-nhl", "服务站：nj-gl-nhl")
    put(station, text)
    ((_, line, col, _, msg),) = errors(station)
    # line 9 is "服务站：nj-gl-nhl"; the colon is its 4th character
    assert (line, col) == (9, 4)
    assert "第 9 行的冒号是全角“：”" in msg


def test_a_full_width_colon_indented_under_the_line_above_is_not_swallowed(station):
    """"  性别：男" under "姓名: 陈立军" was read as part of the name ("陈立军 性别：男")."""
    put(station, PERSON.replace("性别: 男\n", "  性别：男\n"))
    ((_, line, col, _, msg),) = errors(station)
    assert (line, col) == (4, 5) and "续行" in msg and "半角冒号" in msg and "“|”" in msg


def test_a_full_width_colon_in_braces_is_named(station):
    put(station, PERSON.replace("{类型: 报到,", "{类型：报到,"))
    ((_, line, col, _, msg),) = errors(station)
    assert (line, col) == (17, 8) and "“类型：报到”中的冒号是全角" in msg


def test_every_tab_indented_line_is_named(station):
    put(station, PERSON.replace("  戒毒所: dh\n  期限: 二年\n", "\t戒毒所: dh\n\t期限: 二年\n"))
    ((_, line, _, _, msg),) = errors(station)
    assert line == 11 and "制表符" in msg and "第 11、12 行" in msg


def test_a_list_item_out_of_line_names_the_item_it_should_align_with(station):
    put(station, SECOND.replace("  - 类型: 报到\n    日期: 2026-10-26\n",
                                "    - 类型: 报到\n      日期: 2026-10-26\n  - 类型: 回访\n    日期: 2026-11-15\n"
                                "    方式: 电话回访\n"), "NH2026002.yaml")
    ((_, line, _, _, msg),) = errors(station)
    assert line == 15 and "第 15 行的“-”应与第 13 行的“-”对齐" in msg


def test_a_missing_record_type_is_guessed_and_the_rest_still_checked(station):
    text = SECOND.replace("记录类型: 照管对象\n", "").replace("江苏省南京市鼓楼区湖南路", "南京市鼓楼区湖南路")
    put(station, text, "NH2026002.yaml")
    errs = errors(station)
    assert [(line, fld) for _, line, _, fld, _ in errs] == [(1, "记录类型"), (5, "户籍所在地")], errs
    assert "请在第一行写“记录类型: 照管对象”" in errs[0][4]
    # a province missing before a city of Jiangsu: the address as it should read
    assert "缺少省份" in errs[1][4] and "“江苏省南京市鼓楼区湖南路街道马台街5号”" in errs[1][4]


def test_a_misspelt_required_item_is_one_message(station):
    put(station, PERSON.replace("出所时间:", "出所日期:"))
    errs = errors(station)
    assert [(line, fld) for _, line, _, fld, _ in errs] == [(15, "强制隔离戒毒 / 出所日期")], errs
    assert "是否想写“出所时间”" in errs[0][4] and "必填" in errs[0][4]


def test_units_written_by_name_suggest_their_number(station):
    put(station, PERSON.replace("服务站: nj-gl-nhl", "服务站: 宁海路街道服务站"))
    (station / "records" / "stations" / "nj-gl.yaml").write_text(
        STATIONS["stations/nj-gl.yaml"].replace("上级: nj", "上级: 江苏省南京市后续照管指导站"), encoding="utf-8")
    errs = {(f, line): msg for f, line, _, _, msg in errors(station)}
    assert "是否想写 nj-gl-nhl？" in errs[("records/persons/NH2026001.yaml", 9)]
    assert "是否想写 nj？" in errs[("records/stations/nj-gl.yaml", 6)]


def test_an_event_file_naming_the_person_by_name_suggests_the_number(station):
    put(station, SECOND, "NH2026002.yaml")
    put(station, "记录类型: 事件\n对象: 李娟\n事件:\n  - {类型: 回访, 日期: 2026-11-28, 方式: 见面回访}\n",
        "NH2026002-回访.yaml", "events")
    ((f, line, _, _, msg),) = errors(station)
    assert (f, line) == ("records/events/NH2026002-回访.yaml", 2) and "是否想写 NH2026002？" in msg


# --------------------------------------------------------------------------- the commands


def test_validate_lists_the_errors_file_by_file_top_to_bottom(station):
    put(station, PERSON.replace("服务站: nj-gl-nhl", "服务站: nj-gl-xx").replace("性别: 男", "性别: 未知"))
    put(station, SECOND.replace("出所时间: 2026-10-20", "出所时间: 2026-10-32"), "NH2026002.yaml")
    r = run_cli("validate", "-w", str(station))
    assert r.returncode == 1
    where = [line.split(": ")[0] for line in r.stderr.splitlines() if "错误" in line]
    # 服务站 (line 9) is a check across files, found after every file's own fields
    assert where == ["records/persons/NH2026001.yaml:4:1", "records/persons/NH2026001.yaml:9:1",
                     "records/persons/NH2026002.yaml:11:3"], r.stderr


def test_init_says_what_to_do_next_and_units_says_when_there_are_none(tmp_path):
    r = run_cli("init", "新站", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "下一步" in r.stdout and "docgen validate -w 新站" in r.stdout and "上级" in r.stdout
    r = run_cli("units", "-w", str(tmp_path / "新站"))
    assert r.returncode == 0 and "还没有站点和戒毒所的记录" in r.stdout, r.stdout


def test_the_first_day_from_validate_to_print(station):
    """Her two persons validate, build this month, and the print list of one of them is the
    documents of that person in filing order."""
    put(station, PERSON)
    put(station, SECOND, "NH2026002.yaml")
    r = run_cli("validate", "-w", str(station))
    assert r.returncode == 0 and "2 名照管对象，3 个站点，1 个戒毒所；0 个错误" in r.stdout, r.stdout + r.stderr
    r = run_cli("build", "-w", str(station), "--forms", "U,D,X4,I,J", "--format", "pdf", "-q")
    assert r.returncode == 0, r.stderr
    r = run_cli("print", "-w", str(station), "--person", "NH2026001", "--list")
    assert r.returncode == 0, r.stderr
    forms = [line.split()[0] for line in r.stdout.splitlines() if "NH2026001-陈立军" in line]
    assert forms == ["U", "D", "X4", "I", "I", "J"], r.stdout


# --------------------------------------------------------------------------- installation


def test_setup_script_asks_for_python3_venv_when_ensurepip_is_missing(tmp_path):
    """Debian's python3 has no ensurepip without python3-venv: `python3 -m venv .venv` (the next
    step of make setup) would fail with an English message after the script said all was well."""
    fake = tmp_path / "bin"
    fake.mkdir()
    scripts = {"python3": "#!/bin/sh\nexit 1\n",  # no ensurepip
               "id": "#!/bin/sh\necho 1000\n",  # not root ...
               "sudo": "#!/bin/sh\nexit 1\n"}  # ... and no password-less sudo: nothing is installed
    for name, body in scripts.items():
        (fake / name).write_text(body)
        (fake / name).chmod(stat.S_IRWXU)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}", "DOCGEN_SKIP_SOFFICE": "1"}
    env.pop("PYTHON", None)
    r = subprocess.run(["bash", str(ROOT / "scripts" / "setup-system.sh")], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "python3-venv" in r.stdout + r.stderr, r.stdout + r.stderr


def test_build_without_a_month_says_the_unit_tables_need_one(station):
    """"已生成 N 份文书" alone left her looking for 本月的 P Q S that were never made."""
    put(station, SECOND, "NH2026002.yaml")
    r = run_cli("build", "-w", str(station), "--format", "pdf")
    assert r.returncode == 0, r.stderr
    assert "没有给 --month" in r.stderr and "docgen build --month" in r.stderr and " P Q " in r.stderr, r.stderr


def test_a_record_file_saved_with_the_wrong_name_is_not_silently_left_out(station):
    """Notepad saves "NH2026002.yaml" as NH2026002.yaml.txt; an upper-case .YAML is easy to miss."""
    put(station, SECOND, "NH2026002.yaml.txt")
    put(station, PERSON, "NH2026001.YAML")
    ds = load(station)
    assert ds.persons == {}
    assert [(d.file, d.severity, d.message.split("请改名为 ")[-1]) for d in ds.diagnostics] == [
        ("records/persons/NH2026001.YAML", "警告", "NH2026001.yaml"),
        ("records/persons/NH2026002.yaml.txt", "警告", "NH2026002.yaml"),
    ]


def test_more_of_what_a_clerk_types(station):
    text = (PERSON.replace("身份证号码: 32010619880512003x", "身份证号码: 3201 0619 8805 1200 3x")
            .replace("出生年月: 1988年5月", "出生年月: 1988年5月12日"))
    put(station, text)
    ds = load(station)
    assert ds.errors == [], [str(d) for d in ds.errors]
    p = ds.persons["NH2026001"]
    assert (p.id_number, p.birth) == ("32010619880512003X", "1988-05")


def test_a_visit_method_written_as_the_event_kind_says_how_to_write_it(station):
    put(station, PERSON.replace("{类型: 回访, 日期: 2026-11-20, 方式: 电话,", "{类型: 电话回访, 日期: 2026-11-20,"))
    ((_, line, _, fld, msg),) = errors(station)
    assert (line, fld) == (18, "事件 / 第2项 / 类型")
    assert "“电话回访”是回访方式，不是事件类型：请写“类型: 回访”，另写“方式: 电话回访”" in msg


def test_validate_says_how_many_files_were_not_read(station):
    put(station, PERSON)
    put(station, SECOND.replace("性别: 女性", "性别: 未知"), "NH2026002.yaml")
    r = run_cli("validate", "-w", str(station))
    assert r.returncode == 1
    assert "1 名照管对象，3 个站点，1 个戒毒所（另有 1 个文件有错，未读入）；1 个错误" in r.stdout, r.stdout


def test_a_colon_inside_a_value_says_to_quote_it(station):
    put(station, PERSON.replace("联系方式: 139 1234 5678\n", "联系方式: 139 1234 5678\n备注: 母亲电话: 13812345678\n"))
    ((_, line, col, _, msg),) = errors(station)
    # "备注: 母亲电话: 13812345678" is line 9; YAML stops at the second colon (column 9)
    assert (line, col) == (9, 9) and "第 9 行的值中含有“: ”" in msg and "加引号" in msg, msg


def test_events_without_dashes_say_to_add_them(station):
    put(station, SECOND.replace("  - 类型: 报到\n    日期: 2026-10-26\n", "  类型: 报到\n  日期: 2026-10-26\n"),
        "NH2026002.yaml")
    ((_, line, _, fld, msg),) = errors(station)
    assert (line, fld) == (12, "事件") and "每一项前加“- ”（只有一项也要加）" in msg


def test_units_columns_line_up_in_a_terminal(station):
    """编号 and 上级 are two CJK characters, four columns wide: the header was two columns off,
    and a 上级 longer than eight characters pushed its row's 名称 out of line."""
    import unicodedata

    def columns(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    r = run_cli("units", "-w", str(station))
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    starts = {columns(line[: line.index(name)]) for line, name in
              [(header, "名称"), *[(row, row.split()[-1]) for row in rows]]}
    assert len(rows) == 4 and len(starts) == 1, r.stdout
    # 类型 and 上级 start where the kind and the parent of each row start
    assert columns(header[: header.index("类型")]) == columns(rows[1][: rows[1].index("工作站")])
    assert columns(header[: header.index("上级")]) == columns(rows[2][: rows[2].index("nj-gl ")])


def test_a_full_width_colon_in_multi_line_text_is_not_blamed_for_the_next_mistake(station):
    """"2004年：工作" inside 本人简历: | is text; the line after it is indented one blank too far."""
    put(station, PERSON.replace("事件:\n", "本人简历: |\n  2004年：工作\n 家庭状况: 良好\n事件:\n"))
    ((_, line, _, _, msg),) = errors(station)
    assert line == 18 and "缩进不一致" in msg and "全角" not in msg, msg


def test_a_line_of_text_with_a_full_width_colon_continues_a_note(station):
    """Only an item name before the "：" marks a folded key line; "注意：…" continuing a 备注 is text."""
    text = PERSON + ("  - 类型: 回访\n    日期: 2026-11-28\n    方式: 见面回访\n    回访人: 孙丽\n"
                     "    备注: 谈了就业打算，\n      注意：下次带上简历\n")
    put(station, text)
    assert errors(station) == []
    person = load(station).persons["NH2026001"]
    assert any(e.notes and "注意：下次带上简历" in e.notes for e in person.events)


def test_a_full_width_colon_message_masks_the_id_number_typed_in_the_key(station):
    put(station, PERSON.replace("身份证号码: 32010619880512003x", "身份证号码：32010619880512003x:"))
    messages = [msg for *_, msg in errors(station)]
    assert messages and any("全角" in m for m in messages)
    assert not any("32010619880512003" in m for m in messages), messages


def test_a_folded_key_line_is_known_with_half_width_brackets_too(station):
    """"    金额(元)：500" under 事项类型 is the next item (its key as typed, brackets half-width)."""
    text = PERSON + "  - 类型: 帮扶\n    日期: 2026-11-27\n    事项类型: 救助财物\n      金额(元)：500\n"
    put(station, text)
    ((_, line, _, _, msg),) = errors(station)
    assert line == text.count("\n") and "续行" in msg
