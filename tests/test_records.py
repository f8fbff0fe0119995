"""Record format and validation (issue 2): every error names file, line, column, field, in Chinese."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_cli

from docgen.records.idcard import check_digit, mask_id, mask_ids_in_text, parse_id
from docgen.records.load import load_records

GOOD_PERSON = EXAMPLES / "records" / "persons" / "NJ2026001.yaml"


def make_id(prefix17: str) -> str:
    return prefix17 + check_digit(prefix17)


def test_check_digit_known_value():
    # GB 11643 worked example: 11010519491231002 -> X
    assert check_digit("11010519491231002") == "X"
    birth, sex = parse_id("11010519491231002X")
    assert (birth.year, birth.month, birth.day, sex) == (1949, 12, 31, "女")


def test_mask_id_never_shows_the_whole_number():
    n = "320102198503141235"
    assert mask_id(n) == "3201************35"
    assert n not in mask_ids_in_text(f"对象 {n} 已处理")


def units_workspace(ws: Path) -> Path:
    """A copy of the examples with their stations and institutions, and no persons."""
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive", "persons",
                                                                "events", "logs"))
    (ws / "records" / "persons").mkdir()
    return ws


@pytest.fixture
def records(tmp_path: Path) -> Path:
    """A workspace with the example units and the one reference person."""
    ws = units_workspace(tmp_path / "ws")
    shutil.copy(GOOD_PERSON, ws / "records" / "persons" / "NJ2026001.yaml")
    return ws


def person_text(**replace: str) -> str:
    text = GOOD_PERSON.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def write(ws: Path, name: str, text: str) -> Path:
    p = ws / "records" / "persons" / name
    p.write_text(text, encoding="utf-8")
    return p


def errors_of(ws: Path) -> list[str]:
    r = run_cli("validate", "--workspace", str(ws))
    assert r.returncode != 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    return [l for l in r.stderr.splitlines() if "错误" in l]


def line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_reference_person_is_valid(records):
    r = run_cli("validate", "--workspace", str(records))
    assert r.returncode == 0, r.stderr
    assert "0 个错误" in r.stdout


def test_wrong_check_digit_names_file_line_and_expected_digit(records):
    p = write(records, "NJ2026001.yaml", person_text(**{'"320102198503141235"': '"320102198503141236"'}))
    errs = errors_of(records)
    line = line_of(p, "身份证号码")
    assert any(f"persons/NJ2026001.yaml:{line}:" in e and "身份证号码" in e and "校验码" in e and "应为 5" in e
               for e in errs), errs
    # the full wrong number is never printed
    assert not any("320102198503141236" in e for e in errs)


@pytest.mark.parametrize("tail,expected", [
    ("姓名: [\n", "文件已经结束"),
    ("备注: `引号`\n", "值不能以“`”开头"),
    ("---\n备注: 甲\n", "一个文件只写一条记录"),
    ("备注: {甲: 1 乙: 2}\n", "缺少逗号"),  # a flow mapping missing its comma
])
def test_yaml_syntax_errors_are_explained_in_chinese(records, tail, expected):
    good = person_text()
    write(records, "NJ2026001.yaml", good + tail)
    errs = errors_of(records)
    line = good.count("\n") + 1
    hits = [e for e in errs if "YAML 语法错误" in e]
    assert hits and expected in hits[0], errs
    assert f"NJ2026001.yaml:{line}:" in hits[0] or f"NJ2026001.yaml:{line + 1}:" in hits[0], hits
    assert not re.search(r"[a-z]{4,}", hits[0].split("YAML 语法错误")[1]), hits  # no English left


def test_id_must_agree_with_birth_and_sex(records):
    write(records, "NJ2026001.yaml", person_text(**{"出生年月: 1985-03": "出生年月: 1985-04", "性别: 男": "性别: 女"}))
    errs = errors_of(records)
    joined = "\n".join(errs)
    assert "出生年月 1985-04 与身份证号码中的出生日期（1985-03）不一致" in joined or "性别“女”与身份证号码" in joined


def test_yaml_syntax_error_has_line(records):
    write(records, "NJ2026001.yaml", person_text(**{"民族: 汉族": "民族: 汉族\n  缩进: [错误"}))
    errs = errors_of(records)
    assert any("persons/NJ2026001.yaml:" in e and "YAML 语法错误" in e for e in errs), errs


def test_unknown_key_suggests_the_right_one(records):
    p = write(records, "NJ2026001.yaml", person_text(**{"户籍所在地:": "户籍所在:"}))
    errs = errors_of(records)
    line = line_of(p, "户籍所在:")
    assert any(f":{line}:" in e and "未知的项目“户籍所在”" in e and "是否想写“户籍所在地”" in e for e in errs), errs
    # and that the item it was meant to be is required, in the same message
    assert any(f":{line}:" in e and "必填" in e for e in errs), errs


def test_impossible_date_and_bad_format(records):
    p = write(records, "NJ2026001.yaml", person_text(**{"签订日期: 2026-06-18": "签订日期: 2026-02-30",
                                                       "入所时间: 2024-10-20": "入所时间: 24/10/20"}))
    errs = errors_of(records)
    assert any(f":{line_of(p, '签订日期')}:" in e and "2026-02-30" in e and "不存在" in e for e in errs), errs
    assert any(f":{line_of(p, '入所时间')}:" in e and "格式不对" in e for e in errs), errs


@pytest.mark.parametrize("phone,ok", [("13912345678", True), ("025-84561234", True), ("02584561234", True),
                                      ("暂无", True), ("1391234567", False), ("84561234", False), ("无", True)])
def test_phone_numbers(records, phone, ok):
    write(records, "NJ2026001.yaml", person_text(**{"联系方式: 025-84561234": f'联系方式: "{phone}"'}))
    r = run_cli("validate", "--workspace", str(records))
    assert (r.returncode == 0) == ok, r.stderr
    if not ok:
        assert "电话号码" in r.stderr and "联系方式" in r.stderr


def test_household_address_needs_province_city_county(records):
    write(records, "NJ2026001.yaml", person_text(**{"户籍所在地: 江苏省南京市玄武区": "户籍所在地: 南京市玄武区"}))
    errs = errors_of(records)
    assert any("户籍所在地" in e and "省、市、区（县）" in e for e in errs), errs


@pytest.mark.parametrize("old,new,field", [
    ("性别: 男", "性别: 未知", "性别"),
    ("方式: 电话回访", "方式: 短信回访", "方式"),
])
def test_enumerations(records, old, new, field):
    write(records, "NJ2026001.yaml", person_text(**{old: new}))
    errs = errors_of(records)
    assert any(field in e and "不是有效的取值" in e for e in errs), errs


def test_help_kind_enumeration(records):
    text = person_text() + "  - {类型: 帮扶, 日期: 2026-09-20, 事项类型: 办理护照}\n"
    write(records, "NJ2026001.yaml", text)
    errs = errors_of(records)
    assert any("事项类型" in e and "办理就业" in e for e in errs), errs


def test_references_must_exist(records):
    write(records, "NJ2026001.yaml", person_text(**{"服务站: nj-xw-my": "服务站: nj-xw-zz", "戒毒所: dh": "戒毒所: zz"}))
    errs = errors_of(records)
    assert any("服务站“nj-xw-zz”不存在" in e for e in errs), errs
    assert any("戒毒所“zz”不存在" in e for e in errs), errs


def test_one_person_in_two_files(records):
    write(records, "copy.yaml", person_text(**{"编号: NJ2026001": "编号: NJ2026999"}))
    errs = errors_of(records)
    assert any("copy.yaml" in e and "重复" in e and "身份证号码" in e for e in errs) or \
        any("NJ2026001.yaml" in e and "重复" in e for e in errs), errs
    assert not any("320102198503141235" in e for e in errs)


def test_contradictory_events(records):
    text = person_text() + "  - {类型: 报到, 日期: 2026-07-10}\n  - {类型: 死亡, 日期: 2026-10-01}\n" \
                           "  - {类型: 回访, 日期: 2026-10-05, 方式: 电话回访}\n"
    p = write(records, "NJ2026001.yaml", text)
    errs = "\n".join(errors_of(records))
    assert "同一人只能有一次“报到”" in errs
    assert "报到日期 2026-07-10 早于出所时间 2026-07-20" in errs
    assert "“回访”发生在死亡（2026-10-01）之后" in errs
    assert f":{line_of(p, '日期: 2026-10-05')}:" in errs


def test_all_errors_reported_and_bad_file_does_not_stop_others(records):
    write(records, "bad1.yaml", "记录类型: 照管对象\n编号: X1\n")
    write(records, "bad2.yaml", "记录类型: [\n")
    write(records, "bad3.yaml", "记录类型: 未知类型\n")
    r = run_cli("validate", "--workspace", str(records))
    assert r.returncode == 1
    assert "bad1.yaml" in r.stderr and "bad2.yaml" in r.stderr and "bad3.yaml" in r.stderr
    assert r.stderr.count("缺少必填项") >= 5  # every missing field of bad1, not just the first
    assert "1 名照管对象" in r.stdout  # the good file was still loaded


def test_validate_given_file_and_directory(records, tmp_path):
    p = write(records, "NJ2026001.yaml", person_text(**{'"320102198503141235"': '"320102198503141236"'}))
    r = run_cli("validate", str(p), "--workspace", str(records))
    assert r.returncode == 1 and "校验码" in r.stderr
    r = run_cli("validate", str(records / "records" / "stations"), "--workspace", str(records))
    assert r.returncode == 0, r.stderr


def test_station_naming_rules(records):
    st = records / "records" / "stations" / "nj-xw.yaml"
    st.write_text(st.read_text(encoding="utf-8") + "名称: 玄武区后续照管工作站\n", encoding="utf-8")
    errs = errors_of(records)
    assert any("6.1" in e and "南京市玄武区后续照管工作站" in e for e in errs), errs


def test_loaded_station_names_follow_6_1():
    ds = load_records([EXAMPLES / "records"])
    assert ds.stations["nj"].display_name == "江苏省南京市后续照管指导站"
    assert ds.stations["nj-xw"].display_name == "南京市玄武区后续照管工作站"
    assert ds.stations["nj-xw-my"].display_name == "玄武区梅园新村街道后续照管服务站"


def test_schema_is_json_schema_with_chinese_keys():
    r = run_cli("schema")
    assert r.returncode == 0
    schema = json.loads(r.stdout)
    person = schema["$defs"]["Person"]
    for key in ("姓名", "身份证号码", "户籍所在地", "家庭成员及主要社会关系", "事件"):
        assert key in person["properties"], key
    assert person["additionalProperties"] is False
    assert {"姓名", "身份证号码"} <= set(person["required"])
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema)
    # what an editor shows is Chinese, and an unquoted phone or ID number is not flagged
    for name, definition in schema["$defs"].items():
        assert re.search(r"[\u4e00-\u9fff]", definition.get("description", "")), name
        assert not re.search(r"[A-Za-z]{5,}", definition.get("description", "").replace("docs/records.md", "")), name
    import yaml

    record = yaml.safe_load((EXAMPLES / "records" / "persons" / "NJ2026001.yaml").read_text(encoding="utf-8"))
    record["联系方式"] = 13812345678  # as a clerk types it, unquoted
    record["身份证号码"] = int(record["身份证号码"])

    def as_editor_reads(node):  # PyYAML (YAML 1.1) reads dates as dates; editors (YAML 1.2) as text
        if isinstance(node, dict):
            return {k: as_editor_reads(v) for k, v in node.items()}
        if isinstance(node, list):
            return [as_editor_reads(v) for v in node]
        return node.isoformat() if hasattr(node, "isoformat") else node

    record = as_editor_reads(record)
    person_schema = {"$ref": "#/$defs/Person", "$defs": schema["$defs"]}
    errors = [f"{list(e.path)}: {e.message}" for e in Draft202012Validator(person_schema).iter_errors(record)]
    assert errors == []


def test_units_lists_ids_kinds_names_parents():
    r = run_cli("units", "--json", "--workspace", str(EXAMPLES))
    assert r.returncode == 0, r.stderr
    units = {u["id"]: u for u in json.loads(r.stdout)}
    assert units["nj-xw-my"] == {"id": "nj-xw-my", "kind": "服务站", "name": "玄武区梅园新村街道后续照管服务站",
                                 "parent": "nj-xw"}
    assert units["dh"]["kind"] == "戒毒所" and units["dh"]["code"] == "东湖"
    r = run_cli("units", "--workspace", str(EXAMPLES))
    assert "江苏省南京市后续照管指导站" in r.stdout


def test_init_creates_private_workspace(tmp_path):
    ws = tmp_path / "新工作区"
    r = run_cli("init", str(ws))
    assert r.returncode == 0, r.stderr
    cfg = (ws / "docgen.toml").read_text(encoding="utf-8")
    assert 'records = "records"' in cfg
    for sub in ("records", "output", "data", "archive", "records/logs", "records/persons"):
        assert (ws / sub).is_dir()
        assert (ws / sub).stat().st_mode & 0o077 == 0
    # the message names where the format is described and a full example to copy, both there
    named = re.findall(r"(/\S+?)(?:；|，|（|$)", r.stdout)
    assert any(n.endswith("docs/records.md") and Path(n).is_file() for n in named), r.stdout
    assert any(n.endswith("examples/records") and Path(n).is_dir() for n in named), r.stdout
    # a second init refuses
    r = run_cli("init", str(ws))
    assert r.returncode != 0 and "已存在" in r.stderr
    # the workspace is found through DOCGEN_WORKSPACE
    r = run_cli("validate", env={"DOCGEN_WORKSPACE": str(ws)})
    assert r.returncode == 0 and "0 个错误" in r.stdout


def test_config_paths_and_explicit_override(tmp_path, records):
    (records / "docgen.toml").write_text('[paths]\nrecords = "records"\noutput = "成品"\n', encoding="utf-8")
    from docgen.workspace import Workspace

    ws = Workspace.locate(records)
    assert ws.output == records / "成品" and ws.data == records / "data"
    (records / "docgen.toml").write_text('[paths]\nrecrods = "x"\n', encoding="utf-8")
    r = run_cli("validate", "--workspace", str(records))
    assert r.returncode != 0 and "未知的项目" in r.stderr and "Traceback" not in r.stderr


def test_not_a_workspace_is_a_clear_error(tmp_path):
    r = run_cli("validate", cwd=tmp_path, env={"DOCGEN_WORKSPACE": ""})
    assert r.returncode != 0
    assert "不是 docgen 工作区" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args,expected", [
    (["buidl"], "没有命令“buidl”，是否想用“build”？"),
    (["build", "--frms", "D"], "没有选项“--frms”"),
    (["blank"], "缺少参数 FORM"),
    (["build", "--jobs", "x"], "--jobs 的值无效：“x”不是有效的整数"),
])
def test_usage_errors_are_chinese(args, expected):
    r = run_cli(*args)
    assert r.returncode == 2
    assert expected in r.stderr and "--help 查看用法" in r.stderr
    assert "Error:" not in r.stderr and "Usage:" not in r.stderr


def test_help_is_chinese():
    r = run_cli("build", "--help")
    assert r.returncode == 0
    assert "用法：" in r.stdout and "选项" in r.stdout and "显示此帮助并退出。" in r.stdout
    assert "默认：pdf,docx,xlsx" in r.stdout
    assert "Usage:" not in r.stdout and "Show this message" not in r.stdout and "default:" not in r.stdout


def test_group_without_command_shows_its_help():
    r = run_cli("notice")
    assert r.returncode == 2
    assert "用法：" in r.stderr and "命令" in r.stderr and "issue" in r.stderr
    assert "错误" not in r.stderr and "Usage:" not in r.stderr


def test_the_documented_person_example_is_the_valid_example_record():
    """docs/records.md shows a complete person file: the example workspace's, kept in step."""
    doc = (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    person = (EXAMPLES / "records" / "persons" / "NJ2026001.yaml").read_text(encoding="utf-8")
    assert person.strip() in [b.strip() for b in blocks]


def test_a_broken_station_file_is_named_as_the_cause_not_a_missing_station(records):
    """One typo in the station's own file: the person's error points at that file instead of
    saying the station does not exist."""
    station = records / "records" / "stations" / "nj-xw-my.yaml"
    station.write_text(station.read_text(encoding="utf-8").replace("类型: 服务站", "类型: 服务所"), encoding="utf-8")
    errs = errors_of(records)
    person_errs = [e for e in errs if "persons/NJ2026001.yaml" in e]
    assert person_errs and all("不存在" not in e for e in person_errs), person_errs
    assert any("服务站“nj-xw-my”的记录文件" in e and "stations/nj-xw-my.yaml" in e and "先改正它" in e
               for e in person_errs), person_errs


def test_an_institution_written_by_its_short_name_gets_the_id_suggested(records):
    write(records, "NJ2026001.yaml", person_text(**{"  戒毒所: dh": "  戒毒所: 东湖"}))
    errs = errors_of(records)
    assert any("戒毒所“东湖”不存在" in e and "是否想写 dh" in e for e in errs), errs


@pytest.mark.parametrize("content", ["", "\n\n", "# 待填写\n"])
def test_an_empty_record_file_is_called_empty(records, content):
    (records / "records" / "persons" / "新建.yaml").write_text(content, encoding="utf-8")
    errs = errors_of(records)
    assert any("新建.yaml:1:1" in e and "文件是空的" in e for e in errs), errs
