"""The example workspace: it validates clean and covers every situation of the standard.

The examples are what other tests, the README and the users' first ``docgen build`` rely on,
so this file checks that the synthetic data really shows each case the forms and statistics
have to handle (as of 2026-11-30, the day the data set describes).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

import pytest

from docgen.model.care import add_months, care_period
from docgen.records.load import load_records
from docgen.records.model import EMPLOYMENT_KINDS, HELP_KINDS, UNEMPLOYMENT_REASONS, VISIT_METHODS

from conftest import EXAMPLES, run_cli

TODAY = dt.date(2026, 11, 30)
MONTHS = ("2026-09", "2026-10", "2026-11")
CLOSING = ("期满", "终止", "死亡", "失联", "拒访", "典型培育结束")


@pytest.fixture(scope="module")
def ds():
    data = load_records([EXAMPLES / "records"], base=EXAMPLES)
    assert data.errors == []
    return data


def events(person, kind):
    return [e for e in person.events if e.kind == kind]


def first(person, kind):
    found = events(person, kind)
    return found[0] if found else None


def ym(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


# ----------------------------------------------------------------------------- validity


def test_examples_validate_clean_through_cli():
    proc = run_cli("validate", "--workspace", str(EXAMPLES))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 个错误" in proc.stdout + proc.stderr


def test_enough_persons_one_file_each_named_by_id(ds):
    assert len(ds.persons) >= 36
    for pid in ds.persons:
        assert (EXAMPLES / "records" / "persons" / f"{pid}.yaml").is_file()


# GB 11643-1999, written out here independently of docgen.records.idcard
_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def gb11643_check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def test_id_numbers_agree_with_check_digit_district_birth_and_sex(ds):
    assert _WEIGHTS[:4] == [7, 9, 10, 5]
    codes = {"玄武区": "320102", "秦淮区": "320104"}
    for p in ds.persons.values():
        n = p.id_number
        assert len(n) == 18 and n[17] == gb11643_check(n[:17]), p.id
        district = next(d for d in codes if f"南京市{d}" in p.household)
        assert n[:6] == codes[district], p.id
        assert p.birth == f"{n[6:10]}-{n[10:12]}", p.id
        assert p.sex == ("男" if int(n[16]) % 2 else "女"), p.id
        st = ds.stations[p.station]
        assert st.county == district, f"{p.id}: 户籍 {district} 与服务站 {st.county} 不一致"
        assert "江苏省南京市" in p.household


def test_all_in_one_city_over_four_stations_and_both_institutions(ds):
    stations = {p.station for p in ds.persons.values()}
    assert stations == {"nj-xw-my", "nj-xw-xlw", "nj-qh-fzm", "nj-qh-hwl"}
    assert {p.detention.institution for p in ds.persons.values()} == {"dh", "ns"}
    assert {ds.stations[p.station].city for p in ds.persons.values()} == {"南京市"}


def test_names_with_rare_characters_and_middle_dot(ds):
    names = "".join(p.name for p in ds.persons.values())
    for ch in ("堃", "喆", "赟", "\U00020BB7"):
        assert ch in names, ch
    assert any(ord(c) > 0xFFFF for c in names)
    dotted = [p for p in ds.persons.values() if "\u00b7" in p.name]
    assert dotted and any(p.ethnicity == "维吾尔族" for p in dotted)


def test_blank_optional_fields_and_full_records(ds):
    persons = list(ds.persons.values())
    assert any(not p.former_name and not p.resume and not p.relations for p in persons)
    assert any(p.former_name for p in persons)
    with_family = [p for p in persons if 2 <= len(p.relations) <= 4]
    assert len(with_family) >= 0.6 * len(persons)
    assert max(len(p.household) for p in persons) >= 40
    assert sum(p.key_person for p in persons) >= 3
    assert any(rel.phone == "暂无" for p in persons for rel in p.relations) or \
        any(p.phone == "暂无" for p in persons)


# ----------------------------------------------------------------------------- situations


def test_agreements_for_most_and_a_few_without(ds):
    persons = list(ds.persons.values())
    signed = [p for p in persons if p.agreement]
    assert len(signed) >= 0.7 * len(persons)
    assert len(persons) - len(signed) >= 3
    assert all(p.agreement.representative for p in signed)


def test_cultivation_by_institution_and_station_ended_extended_new(ds):
    cult = [p for p in ds.persons.values() if p.cultivation]
    assert len(cult) >= 4
    by_inst = [p for p in cult if p.cultivation.unit in ds.institutions]
    by_station = [p for p in cult if p.cultivation.unit in ds.stations]
    assert by_inst and by_station
    assert all(p.cultivation.mentor and p.cultivation.department for p in by_inst)
    # form S splits the cultivations by 戒毒所 / 指导站 / 工作站 / 服务站
    assert {ds.stations[p.cultivation.unit].kind for p in by_station} == {"指导站", "工作站", "服务站"}
    ended = [first(p, "典型培育结束") for p in cult if first(p, "典型培育结束")]
    assert ended and any(ym(e.date) in MONTHS for e in ended)
    ext = [e for p in cult for e in events(p, "典型培育延长")]
    assert ext and all(e.new_end and e.new_end > e.date for e in ext)
    new_in_nov = [p for p in cult if ym(p.cultivation.signed) == "2026-11"]
    assert any(p.cultivation.unit in ds.institutions for p in new_in_nov)
    assert any(p.cultivation.unit in ds.stations for p in new_in_nov)


def test_reports_within_ten_days_and_missing_reports(ds):
    persons = list(ds.persons.values())
    for p in persons:
        rep = first(p, "报到")
        if rep:
            assert 0 <= (rep.date - p.detention.release).days <= 10, p.id
    unreported = [p for p in persons if not first(p, "报到") and p.detention.release <= TODAY]
    pending = [p for p in unreported if (TODAY - p.detention.release).days <= 10]  # 尚未报到
    overdue = [p for p in unreported if (TODAY - p.detention.release).days > 10 and not first(p, "终止")]
    terminated = [p for p in unreported if (t := first(p, "终止")) and t.ground == "无正当理由，未按期报到"
                  and t.date >= add_months(p.detention.release, 1)]
    assert pending and overdue and terminated


def test_contact_lost_restored_refused_and_three_month_termination(ds):
    persons = list(ds.persons.values())
    lost = [p for p in persons if first(p, "失联")]
    assert len(lost) >= 2
    assert any(first(p, "恢复联系") and first(p, "恢复联系").date > first(p, "失联").date for p in lost)
    assert any((t := first(p, "终止")) and t.ground == "连续3个月联系不上或拒绝回访"
               and t.date >= add_months(first(p, "失联").date, 3) for p in lost)
    # one still lost, not yet terminated: a deadline for the coming weeks
    assert any(not first(p, "终止") and not first(p, "恢复联系") for p in lost)
    assert any(first(p, "拒访") for p in persons)


def test_relapse_detox_sentences_and_other_violation(ds):
    persons = list(ds.persons.values())
    relapsed = [p for p in persons if first(p, "复吸") and first(p, "强戒")]
    assert any((t := first(p, "终止")) and t.ground == "照管期限内又吸食毒品" for p in relapsed)
    sentenced = [p for p in persons if first(p, "判处刑罚")]
    assert any((t := first(p, "终止")) and t.ground == "违法犯罪被判处刑罚" for p in sentenced)
    assert any(not first(p, "终止") for p in sentenced)
    assert any((t := first(p, "终止")) and t.ground == "有其他违反后续照管服务协议行为" for p in persons)
    assert all(e.facts for p in persons for e in events(p, "终止"))


def test_release_for_medical_treatment_is_new_in_the_months(ds):
    med = [(p, e) for p in ds.persons.values() for e in events(p, "所外就医")]
    assert med
    assert all(e.date == p.detention.release for p, e in med)
    assert any(ym(e.date) in MONTHS for _, e in med)


def test_care_ended_in_2026_and_ending_within_thirty_days(ds):
    persons = list(ds.persons.values())
    ended = [e for p in persons for e in events(p, "期满") if e.date.year == 2026]
    assert len(ended) >= 3
    assert {ym(e.date) for e in ended} >= set(MONTHS)
    for e in ended:
        assert e.abstinence and e.thoughts_state and e.social and e.appraisal
    ending = [p for p in persons if not any(first(p, k) for k in CLOSING)
              and (end := care_period(p).end) and TODAY < end <= TODAY + dt.timedelta(days=30)]
    assert len(ending) >= 2


def test_death_once_and_last(ds):
    dead = [p for p in ds.persons.values() if first(p, "死亡")]
    assert dead
    for p in dead:
        died = first(p, "死亡").date
        assert all(e.date <= died for e in p.events)


def test_community_rehabilitation_sets_the_care_period(ds):
    rehab = [p for p in ds.persons.values() if p.rehab]
    assert len(rehab) >= 3
    for p in rehab:
        r = p.rehab
        assert r.term and r.reason and r.team_opinion and r.section_opinion and r.institution_opinion
    reported = [p for p in rehab if first(p, "报到") and not p.cultivation]
    assert reported
    for p in reported:
        cp = care_period(p)
        months = {"2年": 24, "3年": 36}[p.rehab.term]
        assert cp.end == add_months(first(p, "报到").date, months) - dt.timedelta(days=1)


def test_pre_release_persons_for_december_and_january(ds):
    dec = [p for p in ds.persons.values() if ym(p.detention.release) == "2026-12"]
    jan = [p for p in ds.persons.values() if ym(p.detention.release) == "2027-01"]
    assert len(dec) >= 6 and len(jan) >= 2
    assert {p.detention.institution for p in dec} == {"dh", "ns"}
    assert any(p.agreement for p in dec) and any(not p.agreement for p in dec)
    cult = [p for p in dec if p.cultivation]
    assert cult and all(p.cultivation.signed < p.detention.release for p in cult)
    assert all(not p.events for p in dec + jan)


def _in_care_whole_month(p, month: str) -> bool:
    y, m = map(int, month.split("-"))
    start, end = dt.date(y, m, 1), add_months(dt.date(y, m, 1), 1) - dt.timedelta(days=1)
    rep = first(p, "报到")
    if rep is None or rep.date > start:
        return False
    if any(e.kind in CLOSING and e.date <= end for e in p.events):
        return False
    cp_end = care_period(p).end
    return cp_end is None or cp_end >= end


def test_visits_every_month_with_all_methods_and_some_overdue(ds):
    persons = list(ds.persons.values())
    for month in MONTHS:
        visits = [e for p in persons for e in events(p, "回访") if ym(e.date) == month]
        assert {e.method for e in visits} == set(VISIT_METHODS), month
        in_care = [p for p in persons if _in_care_whole_month(p, month)]
        visited = [p for p in in_care if any(ym(e.date) == month for e in events(p, "回访"))]
        assert len(in_care) >= 15
        assert len(visited) >= 0.8 * len(in_care), month
    missing = {(p.id, m) for m in MONTHS[1:] for p in persons
               if _in_care_whole_month(p, m) and not any(ym(e.date) == m for e in events(p, "回访"))}
    assert len(missing) >= 2
    for p in persons:
        for e in events(p, "回访"):
            assert e.visitor and e.abstinence and e.thoughts and e.family and e.social and e.employment, p.id


def test_help_cases_of_every_kind(ds):
    helps = [e for p in ds.persons.values() for e in events(p, "帮扶")]
    assert {e.help_kind for e in helps} == set(HELP_KINDS)
    for e in helps:
        assert e.need and e.handler and e.opinion and e.responsible and e.outcome
    money = [e for e in helps if e.help_kind == "救助财物"]
    assert money and all(e.amount and e.amount > 0 for e in money)
    by_month = defaultdict(set)
    for e in helps:
        by_month[ym(e.date)].add(e.help_kind)
    assert all(len(by_month[m]) >= 3 for m in MONTHS)


def test_employment_of_every_kind_for_the_quarters(ds):
    persons = list(ds.persons.values())
    jobs = [e for p in persons for e in events(p, "就业")]
    assert {e.job_kind for e in jobs} == set(EMPLOYMENT_KINDS)
    assert any(e.referred for e in jobs) and any(not e.referred for e in jobs)
    idle = [e for p in persons for e in events(p, "未就业")]
    assert {e.reason for e in idle} == set(UNEMPLOYMENT_REASONS)
    q3 = [e for e in jobs + idle if dt.date(2026, 7, 1) <= e.date <= dt.date(2026, 9, 30)]
    q4 = [e for e in jobs + idle if dt.date(2026, 10, 1) <= e.date <= dt.date(2026, 12, 31)]
    assert len(q3) >= 5 and len(q4) >= 5


def test_late_entries_for_the_frozen_month(ds):
    late = [e for p in ds.persons.values() for e in p.events
            if ym(e.date) == "2026-10" and e.recorded and ym(e.recorded) == "2026-11"]
    assert len(late) >= 3


def test_separate_event_file_and_work_logs(ds):
    event_dir = EXAMPLES / "records" / "events"
    from_files = [pid for pid, paths in ds.sources.items()
                  if any(Path(path).parent == event_dir for path in paths)]
    assert from_files and all(pid in ds.persons for pid in from_files)
    assert "nj" in ds.logs
    service_logs = [sid for sid in ds.logs if ds.stations[sid].kind == "服务站"]
    assert service_logs
    for sid in ["nj", *service_logs]:
        nov = [e for e in ds.logs[sid] if ym(e.date) == "2026-11"]
        weeks = {e.date.isocalendar()[1] for e in nov}
        assert len(nov) >= 10 and len(weeks) >= 4, sid
        assert all(e.content for e in nov)


def test_no_fact_after_today(ds):
    for p in ds.persons.values():
        for e in p.events:
            assert e.date <= TODAY and e.recorded_on <= TODAY, p.id
