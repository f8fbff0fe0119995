"""Cross-record checks a clerk relies on: slips that would print wrong numbers or count an
event twice are reported at their place."""
from __future__ import annotations

import os
import re
from pathlib import Path

from docgen.records.load import load_records
from test_build import PERSON, make_small_workspace


def _load(ws: Path):
    return load_records([ws / "records"], base=ws)


def _person_file(ws: Path) -> Path:
    return ws / "records" / "persons" / f"{PERSON}.yaml"


def _add_events(ws: Path, *lines: str) -> None:
    f = _person_file(ws)
    f.write_text(f.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def test_two_institutions_with_one_code(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    dh = ws / "records" / "institutions" / "dh.yaml"
    twin = ws / "records" / "institutions" / "zz.yaml"
    twin.write_text(dh.read_text(encoding="utf-8").replace("编号: dh", "编号: zz")
                    .replace("江苏省东湖强制隔离戒毒所", "江苏省某某强制隔离戒毒所"), encoding="utf-8")
    errors = [d for d in _load(ws).errors if d.file.endswith("zz.yaml")]
    assert len(errors) == 1 and errors[0].field == "代字" and "东湖" in errors[0].message
    assert "institutions/dh.yaml" in errors[0].message


def test_event_file_of_a_person_whose_file_is_broken(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    f = _person_file(ws)
    f.write_text(f.read_text(encoding="utf-8").replace("联系方式: 025-84561234", "联系方式: [1, 2]"), encoding="utf-8")
    events = ws / "records" / "events"
    events.mkdir()
    (events / "extra.yaml").write_text(f"记录类型: 事件\n对象: {PERSON}\n事件:\n  - {{类型: 失联, 日期: 2026-10-22}}\n",
                                       encoding="utf-8")
    [msg] = [d.message for d in _load(ws).errors if d.file.endswith("extra.yaml")]
    assert f"records/persons/{PERSON}.yaml" in msg and "有错" in msg and "不存在" not in msg


def test_relapse_before_release_and_an_event_entered_twice(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    visit = ("  - {类型: 回访, 日期: 2026-08-15, 方式: 见面回访, 回访人: 刘芳, 操守保持: 良好, 个人思想: 稳定, "
             "家庭关系: 和睦, 社会交往: 正常, 就业状况: 求职中}")
    _add_events(ws, "  - {类型: 复吸, 日期: 2026-05-01}", visit)
    errors = _load(ws).errors
    messages = [d.message for d in errors]
    assert any("“复吸”日期 2026-05-01 早于出所时间 2026-07-20" in m for m in messages), messages
    dup = [d for d in errors if "完全相同" in d.message]
    # the second copy is named: the line of the added visit (the file's last line)
    last_line = len(_person_file(ws).read_text(encoding="utf-8").splitlines())
    assert len(dup) == 1 and dup[0].line == last_line
    # a second visit on the same day with other content is not a duplicate
    ws2 = make_small_workspace(tmp_path / "ws2")
    _add_events(ws2, visit.replace("见面回访", "电话回访"))
    assert not _load(ws2).errors


def test_future_and_early_expiry_are_warned(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    _add_events(ws, "  - {类型: 期满, 日期: 2026-08-24}", "  - {类型: 失联, 日期: 2099-01-05}")
    ds = _load(ws)
    assert not ds.errors
    warnings = [d.message for d in ds.diagnostics if d.severity == "警告"]
    # report 2026-07-24, no 社区康复: 12 months, last day 2027-07-23
    assert any("“期满”日期 2026-08-24 早于照管期限的最后一天 2027-07-23（自报到 2026-07-24 起 12 个月）" in w
               for w in warnings), warnings
    assert any("“失联”日期 2099-01-05 晚于今天" in w for w in warnings), warnings


def test_folder_that_cannot_be_listed_is_reported(tmp_path: Path, monkeypatch):
    ws = make_small_workspace(tmp_path / "ws")
    locked = ws / "records" / "persons"
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    ds = _load(ws)
    assert not ds.persons
    [d] = [d for d in ds.errors if d.file.endswith("persons")]
    assert "无法读取此目录" in d.message


def test_fields_written_under_the_wrong_event_and_early_terminations_are_warned(tmp_path):
    """A field no form prints for that kind of event (方式 on a 复吸, 备注 on a 回访) is most
    likely a slip: warned, and counted in the summary; a termination for three months out of
    contact that comes before the three months are up, too."""
    import shutil

    from conftest import EXAMPLES, run_cli

    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    (ws / "records" / "events" / "slips.yaml").write_text(
        "记录类型: 事件\n对象: NJ2026001\n事件:\n"
        "  - {类型: 回访, 日期: 2026-11-03, 方式: 电话回访, 备注: 情况良好}\n"
        "  - {类型: 复吸, 日期: 2026-11-05, 方式: 电话回访}\n", encoding="utf-8")
    r = run_cli("validate", "-w", str(ws))
    assert r.returncode == 0, r.stderr  # warnings, not errors
    assert "“备注”不属于“回访”事件" in r.stderr and "“方式”不属于“复吸”事件" in r.stderr
    assert "events/slips.yaml:4:" in r.stderr and "events/slips.yaml:5:" in r.stderr
    assert re.search(r"0 个错误，[1-9]\d* 个警告", r.stdout)
    (ws / "records" / "events" / "slips.yaml").unlink()
    (ws / "records" / "events" / "term.yaml").write_text(
        "记录类型: 事件\n对象: NJ2026001\n事件:\n  - {类型: 失联, 日期: 2026-11-27}\n"
        "  - {类型: 终止, 日期: 2026-11-28, 情形: 连续3个月联系不上或拒绝回访, 事实依据: 电话不通}\n", encoding="utf-8")
    r = run_cli("validate", "-w", str(ws))
    assert r.returncode == 0, r.stderr
    assert "自失联 2026-11-27 起不满 3 个月" in r.stderr and "events/term.yaml:5:" in r.stderr
    clean = run_cli("validate", "-w", str(EXAMPLES))
    assert "不属于" not in clean.stderr  # the examples use every field where it belongs


def test_termination_cases_may_be_written_short_and_a_wrong_one_lists_them_numbered(tmp_path):
    import shutil

    from conftest import EXAMPLES, run_cli
    from docgen.records.model import TERMINATION_GROUNDS

    ws = tmp_path / "ws"
    shutil.copytree(EXAMPLES, ws, ignore=shutil.ignore_patterns("output", "data", "archive"))
    events = ws / "records" / "events" / "term.yaml"
    events.write_text("记录类型: 事件\n对象: NJ2026001\n事件:\n"
                      "  - {类型: 复吸, 日期: 2026-11-27}\n  - {类型: 终止, 日期: 2026-11-28, 情形: 复吸}\n",
                      encoding="utf-8")
    r = run_cli("build", "-w", str(ws), "--forms", "X3", "--format", "pdf", "-q")
    assert r.returncode == 0, r.stderr
    [x3] = (ws / "output" / "X3").glob("NJ2026001-*.pdf")
    text = pdf_text_of(x3)
    assert "☑" + TERMINATION_GROUNDS[2] in text  # 复吸 read as the third case of 5.3
    events.write_text(events.read_text(encoding="utf-8").replace("情形: 复吸", "情形: 吸毒了"), encoding="utf-8")
    r = run_cli("validate", "-w", str(ws))
    assert r.returncode != 0
    assert "1. 无正当理由，未按期报到；2. 连续3个月联系不上或拒绝回访；3." in r.stderr and "可只写序号" in r.stderr


def pdf_text_of(path):
    from conftest import pdf_text

    return pdf_text(path)


def test_a_file_with_a_field_error_is_checked_against_the_other_files_in_the_same_run(tmp_path: Path):
    """A wrong date no longer hides a 服务站 or 戒毒所 that does not exist, or an ID number used by
    another person's file: all of them are reported at once, each at its line."""
    from test_build import add_person

    ws = make_small_workspace(tmp_path / "ws")
    other = add_person(ws, "NJ2026099", "赵一", 7)
    other.write_text(other.read_text(encoding="utf-8").replace("出所时间: 2026-07-20", "出所时间: 2026-06-31")
                     .replace("服务站: nj-xw-my", "服务站: nj-xw-mx").replace("  戒毒所: dh", "  戒毒所: 东湖"),
                     encoding="utf-8")
    twin = ws / "records" / "persons" / "NJ2026098.yaml"
    twin.write_text(_person_file(ws).read_text(encoding="utf-8").replace(f"编号: {PERSON}", "编号: NJ2026098")
                    .replace("出所时间: 2026-07-20", "出所时间: 2026-02-30"), encoding="utf-8")
    ds = _load(ws)
    mine = {(d.field, d.line) for d in ds.errors if d.file.endswith("NJ2026099.yaml")}
    lines = other.read_text(encoding="utf-8").splitlines()
    line_of = {key: next(i + 1 for i, text in enumerate(lines) if text.lstrip().startswith(key))
               for key in ("出所时间:", "服务站:", "戒毒所:")}
    assert mine == {("强制隔离戒毒 / 出所时间", line_of["出所时间:"]), ("服务站", line_of["服务站:"]),
                    ("强制隔离戒毒 / 戒毒所", line_of["戒毒所:"])}
    inst = next(d for d in ds.errors if d.file.endswith("NJ2026099.yaml") and d.field.endswith("戒毒所"))
    assert "是否想写 dh" in inst.message
    dup = [d for d in ds.errors if d.file.endswith("NJ2026098.yaml") and d.field == "身份证号码"]
    assert len(dup) == 1 and f"persons/{PERSON}.yaml" in dup[0].message and "320102198503141235" not in dup[0].message


def test_an_id_number_written_in_groups_in_a_file_with_a_field_error_is_still_found_a_duplicate(tmp_path: Path):
    """The file that does not validate is checked on its ID number as the loaded records are
    keyed (blanks between the digit groups dropped): a duplicate is reported, masked."""
    ws = make_small_workspace(tmp_path / "ws")
    text = _person_file(ws).read_text(encoding="utf-8")
    number = re.search(r"身份证号码: \"?(\d{17}[\dX])", text)[1]
    twin = ws / "records" / "persons" / "NJ2026098.yaml"
    twin.write_text(text.replace(f"编号: {PERSON}", "编号: NJ2026098")
                    .replace(number, f"{number[:6]} {number[6:14]} {number[14:]}")
                    .replace("出所时间: 2026-07-20", "出所时间: 2026-02-30"), encoding="utf-8")
    dup = [d for d in _load(ws).errors if d.file.endswith("NJ2026098.yaml") and d.field == "身份证号码"]
    assert len(dup) == 1 and f"persons/{PERSON}.yaml" in dup[0].message and number not in dup[0].message


def test_a_duplicate_person_file_is_reported_once(tmp_path: Path):
    ws = make_small_workspace(tmp_path / "ws")
    twin = ws / "records" / "persons" / "NJ2026098.yaml"
    twin.write_text(_person_file(ws).read_text(encoding="utf-8"), encoding="utf-8")
    errors = [d for d in _load(ws).errors if d.field in ("编号", "身份证号码")]
    assert len(errors) == 1, errors
