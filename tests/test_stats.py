"""Statistics P Q R S N L: hand-computed figures of the scripted workspace (``_stats_fixture``),
the formulas on the example data at every level, frozen months and corrections, the forms."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from _stats_fixture import load, make_workspace
from conftest import EXAMPLES, form_spec, normalise, pdf_text, run_cli
from docgen.documents.base import Period
from docgen.errors import DocgenError
from docgen.model.stats import P_KEYS, Statistics, check_table

OCT = Period.parse("2026-10")


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    return make_workspace(tmp_path_factory.mktemp("stats") / "ws")


@pytest.fixture(scope="module")
def engine(fx):
    return Statistics(load(fx))


def vals(table, unit=None) -> dict:
    if unit is None:
        return table.total
    return next(r["values"] for r in table.rows if r["unit"] == unit)


def pick(values: dict, spec: str) -> dict:
    return {k: values[k] for k in spec.split()}


# ---------------------------------------------------------------- P, worked out by hand
# s1 at 2026-09-30: P01 P02 P03(待报到) P06 P07(失联) P18(复吸)            -> A 6, B 5
#    at 2026-10-31: P01 P02 P03(尚未报到) P04(new) P05(所外就医, new) P07 P18 -> E 7
#    P06's care ended 10-02 -> D 照管期满 1
# s2 at 2026-09-30: P08 P09 P10 P11(拒访) P12(判刑) P13 P15 P17              -> A 8, B 7
#    at 2026-10-31: P08(复吸) P09 P11 P12 P16(new) P17                          -> E 6
#    P10 died; P13 terminated; P15's cultivation ended and with it care       -> D 2 + 1
EXPECTED_P = {
    "s1": dict(A=6, B=5, C1=1, C2=1, C=2, D1=1, D2=0, D=1, E=7, F1=0, F2=0, F3=1, F=1, G=6, H="85.7%",
               I1=1, I2=0, I=1, J1=4, J2=1, J3=0, J4=0, J=5, K="71.4%"),
    "s2": dict(A=8, B=7, C1=1, C2=0, C=1, D1=2, D2=1, D=3, E=6, F1=0, F2=1, F3=0, F=1, G=5, H="83.3%",
               I1=1, I2=1, I=2, J1=2, J2=0, J3=1, J4=0, J=3, K="50.0%"),
    None: dict(A=14, B=12, C1=2, C2=1, C=3, D1=3, D2=1, D=4, E=13, F1=0, F2=1, F3=1, F=2, G=11, H="84.6%",
               I1=2, I2=1, I=3, J1=6, J2=1, J3=1, J4=0, J=8, K="61.5%"),
}


@pytest.mark.parametrize("unit", ["s1", "s2", None])
def test_p_by_hand(engine, unit) -> None:
    table = engine.table_p("t-a", OCT)
    assert [r["unit"] for r in table.rows] == ["s1", "s2"]
    assert vals(table, unit) == EXPECTED_P[unit]


def test_p_rolls_up(engine) -> None:
    # the 指导站 has one row, its 工作站; the 服务站 table has its own row and the same 合计
    top = engine.table_p("t", OCT)
    assert [r["unit"] for r in top.rows] == ["t-a"] and top.total == EXPECTED_P[None]
    s1 = engine.table_p("s1", OCT)
    assert [r["unit"] for r in s1.rows] == ["s1"] and s1.total == EXPECTED_P["s1"]


def test_p_january_rule(engine) -> None:
    # s1 in January 2027: P18 (relapsed in 2026, care ran out 2026-11-30) leaves E under 填报说明 4,
    # P07's year ends 2027-01-11; P03 and P14 (released 12-05) never reported.
    jan = engine.table_p("s1", Period.parse("2027-01")).total
    assert pick(jan, "A C D1 D2 E F3 I J") == dict(A=8, C=0, D1=2, D2=0, E=6, F3=2, I=0, J=4)


def test_q_by_hand(engine) -> None:
    q = engine.table_q("t-a", OCT)
    assert pick(vals(q, "s1"), "电话回访 见面回访 其他形式 办理就业 心理咨询 救助财物人次 救助财物金额") == \
        {"电话回访": 1, "见面回访": 3, "其他形式": 1, "办理就业": 1, "心理咨询": 1, "救助财物人次": 1, "救助财物金额": 300}
    assert pick(q.total, "电话回访 见面回访 其他形式 办理就业 办理低保 办理医保 心理咨询 其他 救助财物人次 救助财物金额") == \
        {"电话回访": 3, "见面回访": 3, "其他形式": 2, "办理就业": 1, "办理低保": 1, "办理医保": 0, "心理咨询": 1,
         "其他": 1, "救助财物人次": 3, "救助财物金额": 600.5}


def test_r_by_hand(engine) -> None:
    # keepers at 2026-09-30: s1 P01 P02 P03 P06; s2 P08 P09 P10 P13 P15 P17 (P12 sentenced: not counted)
    r = engine.table_r("t-a", Period.parse("2026-Q3"))
    assert pick(vals(r, "s1"), "保持操守 自主创业 自谋职业 已就业 再就业率 推荐就业 没有就业意愿") == \
        {"保持操守": 4, "自主创业": 1, "自谋职业": 1, "已就业": 2, "再就业率": "50.0%", "推荐就业": 1, "没有就业意愿": 1}
    # P08's latest is 未就业; P17's job came in October
    assert pick(vals(r, "s2"), "保持操守 社会企业接纳 政府公益岗位 基地安置就业 已就业 再就业率 暂无就业岗位 已办失业登记") == \
        {"保持操守": 6, "社会企业接纳": 0, "政府公益岗位": 1, "基地安置就业": 1, "已就业": 2, "再就业率": "33.3%",
         "暂无就业岗位": 1, "已办失业登记": 1}
    assert pick(r.total, "保持操守 已就业 再就业率 推荐就业") == {"保持操守": 10, "已就业": 4, "再就业率": "40.0%", "推荐就业": 2}


def test_s_by_hand(engine) -> None:
    s = engine.table_s("t-a", OCT)
    assert s.columns == ["i1", "i2"]
    v = vals(s, "s2")
    assert pick(v, "上月末戒毒所 上月末指导站 上月末工作站 上月末服务站 上月末合计 三级站新增 新增:i1 新增:i2 减少 月末 一年以内 一年以上") == \
        {"上月末戒毒所": 1, "上月末指导站": 0, "上月末工作站": 0, "上月末服务站": 1, "上月末合计": 2, "三级站新增": 1,
         "新增:i1": 0, "新增:i2": 1, "减少": 1, "月末": 3, "一年以内": 2, "一年以上": 1}
    assert "测试15号" in v["备注"]
    assert vals(s, "s1")["月末"] == 0 and s.total["月末"] == 3


def test_n_and_l_by_hand(engine) -> None:
    n = engine.table_n("province", OCT)
    assert pick(vals(n, "i1"), "上月末 新增 减少 月末 2年以上") == {"上月末": 1, "新增": 0, "减少": 0, "月末": 1, "2年以上": 1}
    assert pick(vals(n, "i2"), "上月末 新增 月末 3个月以内") == {"上月末": 0, "新增": 1, "月末": 1, "3个月以内": 1}
    assert n.total["月末"] == 2
    single = engine.table_n("i2", OCT)
    assert [r["unit"] for r in single.rows] == ["i2"] and single.total is None
    l_tab = engine.table_l("province", OCT)
    assert pick(vals(l_tab, "i1"), "南京市 无锡市 合计") == {"南京市": 0, "无锡市": 1, "合计": 1}
    assert pick(vals(l_tab, "i2"), "南京市 合计") == {"南京市": 1, "合计": 1}


def test_broken_formula_is_a_hard_error(engine) -> None:
    table = engine.table_p("t-a", OCT)
    table.rows[0]["values"]["E"] += 1
    with pytest.raises(DocgenError, match="公式"):
        check_table(table)


# ---------------------------------------------------------------- the example data


def _p_ok(v: dict) -> None:
    def rate(a, b):
        return "—" if b == 0 else f"{round(a / b * 100 + 1e-9, 1):.1f}%"

    assert v["C"] == v["C1"] + v["C2"] and v["D"] == v["D1"] + v["D2"]
    assert v["F"] == v["F1"] + v["F2"] + v["F3"] and v["I"] == v["I1"] + v["I2"]
    assert v["J"] == v["J1"] + v["J2"] + v["J3"] + v["J4"]
    assert v["E"] == v["A"] + v["C"] - v["D"]
    assert v["G"] == v["E"] - v["F"]
    assert v["J"] == v["G"] - v["I"]
    assert v["H"] == rate(v["G"], v["E"]) and v["K"] == rate(v["J"], v["E"])


@pytest.fixture(scope="module")
def examples():
    from docgen.records.load import load_records

    ds = load_records([EXAMPLES / "records"])
    assert not ds.errors
    return Statistics(ds, use_store=False)


@pytest.mark.parametrize("month", ["2026-09", "2026-10", "2026-11"])
def test_examples_formulas_hold_at_every_level(examples, month) -> None:
    per = Period.parse(month)
    service = examples.ds.service_stations_under("nj-xw")[0]
    tables = {u: examples.table_p(u, per) for u in ("nj", "nj-xw", service)}
    for t in tables.values():
        for row in t.rows:
            _p_ok(row["values"])
        _p_ok(t.total)
        for k in P_KEYS:
            if k not in ("H", "K"):
                assert t.total[k] == sum(r["values"][k] for r in t.rows)
    # roll-up: a unit's 合计 is its row one level up; A is last month's E
    assert next(r["values"] for r in tables["nj"].rows if r["unit"] == "nj-xw") == tables["nj-xw"].total
    assert next(r["values"] for r in tables["nj-xw"].rows if r["unit"] == service) == tables[service].total
    prev = examples.table_p("nj", per.previous_month()).total
    assert tables["nj"].total["A"] == prev["E"] and tables["nj"].total["B"] == prev["G"]
    assert tables["nj"].total["E"] > 0


def test_examples_cover_every_column_over_the_months(examples) -> None:
    seen = {k: 0 for k in P_KEYS if k not in ("H", "K", "J4")}
    for m in ("2026-09", "2026-10", "2026-11"):
        total = examples.table_p("nj", Period.parse(m)).total
        for k in seen:
            seen[k] += total[k]
    assert all(seen.values()), seen


# ---------------------------------------------------------------- CLI, freezing, corrections


def _json(ws: Path, *args: str) -> dict:
    r = run_cli("stats", "--workspace", str(ws), "--json", "--no-files", *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _p_total(data: dict) -> dict:
    return next(t for t in data["tables"] if t["form"] == "P")["total"]


def test_freeze_keeps_submitted_figures_and_reports_late_events(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    before = _json(ws, "--unit", "t-a", "--month", "2026-10")
    assert _p_total(before) == EXPECTED_P[None]
    r = run_cli("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05",
                "--no-files")
    assert r.returncode == 0, r.stderr
    assert "已冻结" in r.stdout
    assert (ws / "data" / "stats.sqlite3").stat().st_mode & 0o077 == 0
    # a death on 10-28, entered on 11-10, after the month was submitted
    (ws / "records" / "events" / "late.yaml").write_text(
        "记录类型: 事件\n对象: P02\n事件:\n  - {类型: 死亡, 日期: 2026-10-28, 录入日期: 2026-11-10}\n", encoding="utf-8")
    after = _json(ws, "--unit", "t-a", "--month", "2026-10")
    assert [t for t in after["tables"] if t["form"] == "P"][0]["rows"] == \
        [t for t in before["tables"] if t["form"] == "P"][0]["rows"]
    assert _p_total(after) == EXPECTED_P[None]
    assert after["tables"][0]["frozen"] is True
    assert any("P02" in c and "死亡 2026-10-28（录入 2026-11-10）" in c for c in after["corrections"])
    # November starts from the frozen October and counts the late death as its decrease
    nov = _json(ws, "--unit", "s1", "--month", "2026-11")
    p = _p_total(nov)
    assert p["A"] == 7 and p["D2"] == 1 and p["E"] == p["A"] + p["C"] - p["D"]
    assert any("P02" in c and "已计入" in c for c in nov["corrections"])
    # freezing twice is refused
    r = run_cli("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-06")
    assert r.returncode != 0 and "已" in r.stderr and "冻结" in r.stderr


def test_an_event_added_later_to_a_frozen_month_counts_in_the_next_month_without_entry_date(tmp_path: Path) -> None:
    """A clerk adds a forgotten visit of a frozen month and does not think of 录入日期: the
    frozen figures name the events they counted, so the new one is still found and counted in
    the next open month; the events that were there when the month froze are not counted twice."""
    ws = make_workspace(tmp_path / "ws")
    before_oct = next(t for t in _json(ws, "--unit", "s1", "--month", "2026-10")["tables"] if t["form"] == "Q")["total"]
    before_nov = next(t for t in _json(ws, "--unit", "s1", "--month", "2026-11")["tables"] if t["form"] == "Q")["total"]
    assert run_cli("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05",
                   "--no-files").returncode == 0
    (ws / "records" / "events" / "forgotten.yaml").write_text(
        "记录类型: 事件\n对象: P02\n事件:\n"
        "  - {类型: 回访, 日期: 2026-10-20, 方式: 电话回访, 回访人: 甲}\n"
        "  - {类型: 帮扶, 日期: 2026-10-21, 事项类型: 法律援助, 帮扶救助需求: 咨询, 受理人: 甲}\n", encoding="utf-8")
    oct_ = _json(ws, "--unit", "s1", "--month", "2026-10")
    assert next(t for t in oct_["tables"] if t["form"] == "Q")["total"] == before_oct  # frozen stays
    nov = _json(ws, "--unit", "s1", "--month", "2026-11")
    q = next(t for t in nov["tables"] if t["form"] == "Q")["total"]
    assert q["电话回访"] == before_nov["电话回访"] + 1 and q["法律援助"] == before_nov["法律援助"] + 1
    assert q["回访合计"] == before_nov["回访合计"] + 1
    assert sum("P02" in c and "补录" in c for c in nov["corrections"]) == 2, nov["corrections"]


def test_freeze_refuses_an_open_month(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    r = run_cli("stats", "--workspace", str(ws), "--month", "2026-11", "--freeze", "--as-of", "2026-11-30")
    assert r.returncode != 0 and "尚未结束" in r.stderr and "Traceback" not in r.stderr


def test_tampered_frozen_figures_are_a_hard_error_not_a_table(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    assert run_cli("stats", "--workspace", str(ws), "--month", "2026-10", "--freeze", "--as-of", "2026-11-05",
                   "--no-files").returncode == 0
    con = sqlite3.connect(ws / "data" / "stats.sqlite3")
    data = json.loads(con.execute("SELECT data FROM figures WHERE form='P' AND unit='t-a'").fetchone()[0])
    data["rows"][0]["values"]["E"] += 1
    con.execute("UPDATE figures SET data=? WHERE form='P' AND unit='t-a'", (json.dumps(data),))
    con.commit()
    con.close()
    r = run_cli("stats", "--workspace", str(ws), "--unit", "t-a", "--month", "2026-10", "--no-files")
    assert r.returncode != 0 and "公式 E=A+C-D 不成立" in r.stderr
    assert "本月在册人数" not in r.stdout


def test_stats_prints_and_writes_the_forms(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    out = tmp_path / "out"
    r = run_cli("stats", "--workspace", str(ws), "--unit", "t-a", "--month", "2026-10", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "【后续照管数据统计表】南京市玄武区后续照管工作站" in r.stdout and "84.6%" in r.stdout
    assert "本月在册人数(E)" in r.stdout
    pdf = next((out / "P").rglob("t-a-*.pdf"))
    text = pdf_text(pdf)
    assert normalise("后续照管玄武区工作站2026年度10月份数据统计表") in text
    assert "84.6%" in text and "61.5%" in text
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {d["form"] for d in manifest["documents"]} == {"P", "Q", "S"}


# ---------------------------------------------------------------- the forms


@pytest.fixture(scope="module")
def built(fx, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built")
    r = run_cli("build", "--workspace", str(fx), "--out", str(out), "--forms", "P,Q,R,S,N,L", "--month", "2026-09",
                "-q")
    assert r.returncode == 0, r.stderr
    return out


COLUMNS = {"P": 25, "Q": 15, "R": 14, "S": 19, "N": 15, "L": 15}


@pytest.mark.parametrize("code", list(COLUMNS))
def test_forms_labels_columns_and_formats(built: Path, code: str) -> None:
    from docx import Document
    from openpyxl import load_workbook
    from pypdf import PdfReader

    pdfs = sorted((built / code).rglob("*.pdf"))
    assert pdfs, code
    pdf = pdfs[0]
    text = pdf_text(pdf)
    missing = [lab for lab in form_spec(code)["labels"] if normalise(lab) not in text]
    assert not missing, missing
    page = PdfReader(str(pdf)).pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    assert "第1页" in text
    doc = Document(str(pdf.with_suffix(".docx")))
    assert len(doc.tables[0].columns) == COLUMNS[code]
    wb = load_workbook(pdf.with_suffix(".xlsx"))
    ws = wb.active
    assert ws.max_column == COLUMNS[code]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for c in cells)
    assert any(isinstance(c.value, int) for c in cells)


def test_p_notes_verbatim_and_rates_typed(built: Path) -> None:
    from openpyxl import load_workbook

    pdf = next((built / "P").rglob("t-a-*.pdf"))
    text = pdf_text(pdf)
    for note in ("4.操守保持率以年度为统计时段，每年1月将上年度项目“I”中照管期满1年的人数从项目“E”中减除；照管期未满1年的，继续统计在内。",
                 "2.数据统计必须符合下列公式。E=A+C-D；G=E-F；H=G÷E；"):
        assert normalise(note) in text
    ws = load_workbook(pdf.with_suffix(".xlsx")).active
    rates = [c for row in ws.iter_rows() for c in row if c.number_format == "0.0%"]
    assert rates and all(isinstance(c.value, float) for c in rates)
    # September by hand, s1 at 09-30: P01 P02 P03 P06 P07(失联) P18 -> E 6, G 5, H 5/6
    row = next(r for r in ws.iter_rows(values_only=True) if r[0] and "梅园新村" in str(r[0]))
    assert row[9] == 6 and row[14] == 5 and abs(row[15] - 5 / 6) < 0.0006


def test_r_is_quarterly(fx, tmp_path: Path) -> None:
    r = run_cli("build", "--workspace", str(fx), "--out", str(tmp_path), "--forms", "R", "--month", "2026-Q3", "-q")
    assert r.returncode == 0, r.stderr
    pdf = next((tmp_path / "R" / "2026-Q3").glob("t-a-*.pdf"))
    text = pdf_text(pdf)
    assert "2026年9月30日" in text and "40.0%" in text


def test_blank_forms_and_templates_current(tmp_path: Path) -> None:
    from docgen.documents.registry import get_form
    from docgen.render.docx import build_template

    r = run_cli("blank", "P", "--out", str(tmp_path), "--format", "pdf,xlsx")
    assert r.returncode == 0, r.stderr
    text = pdf_text(next(tmp_path.glob("P-*.pdf")))
    assert normalise("后续照管站年度月份数据统计表") in text and "None" not in text
    for code in COLUMNS:
        form = get_form(code)
        text = normalise(pdf_text_of(form.render_pdf(form.blank_view())))
        assert "填报说明" in text and "制表" in text and "None" not in text
        assert build_template(form.layout) == form.template_path.read_bytes(), f"templates/{code}.docx is stale"


def pdf_text_of(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    return "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def test_s_grows_with_more_than_seven_institutions(fx, tmp_path: Path) -> None:
    from docx import Document

    ws = tmp_path / "ws"
    shutil.copytree(fx, ws, ignore=shutil.ignore_patterns("output", "data"))
    for i in range(3, 10):
        (ws / "records" / "institutions" / f"i{i}.yaml").write_text(
            f"记录类型: 戒毒所\n编号: i{i}\n名称: 江苏省第{i}强制隔离戒毒所\n代字: 第{i}\n", encoding="utf-8")
    r = run_cli("build", "--workspace", str(ws), "--out", str(tmp_path / "out"), "--forms", "S", "--month", "2026-10",
                "-q")
    assert r.returncode == 0, r.stderr
    docx = next((tmp_path / "out" / "S").rglob("t-a-*.docx"))
    assert len(Document(str(docx)).tables[0].columns) == 12 + 9
    assert "江苏省第9强制隔离戒毒所" in pdf_text(docx.with_suffix(".pdf"))
