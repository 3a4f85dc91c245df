"""What reminders fall due, on the real Panjin plan: send dates around National Day 2018, reported figures,
lead-only indicators, milestone warnings, digests, and windows that add up to exactly one sweep."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from paths import PANJIN_PLAN

from bot.domain.owed import owed
from bot.domain.pace import Status
from bot.domain.plan import Cadence, Plan, Schedule
from bot.domain.schedule import ZONE, Policy, QuietHours, at
from bot.services.plan_file import read_plan_file
from reminders.policy import Reminder, digest_day, digests, due_between, milestone_warnings, report_reminders

PLAN = read_plan_file(PANJIN_PLAN)
POLICY = Policy()
D = date.fromisoformat
PANSHAN_OWES = ("hightech_enterprises", "tech_smes", "key_tech_breakthroughs", "industrial_tech_institutes",
                "high_level_talent", "innovation_teams", "achievement_transfer_projects")
SCI_TECH_OWES = ("rd_institution_share", "rd_spending_gdp", "sci_tech_contribution", "hightech_value_added_growth",
                 "tech_contract_growth", "patent_share", "national_hightech_zone", "ip_pledge_fund")

ANNUAL = ("rd_spending_gdp", "sci_tech_contribution")  # annual statistics, on a yearly schedule in the plan file


def sh(text: str) -> datetime:
    """An instant written in Shanghai local time."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


Q3_WINDOW = (sh("2018-09-01T00:00"), sh("2018-11-01T00:00"))


def for_unit(rs: list[Reminder], unit: str, label: str = "2018Q3") -> list[Reminder]:
    return [r for r in rs if r.unit == unit and r.period is not None and r.period.label == label]


@pytest.mark.parametrize(("unit", "codes"), [
    ("panshan", PANSHAN_OWES),
    ("sci_tech_bureau", SCI_TECH_OWES),  # first lead of every lead-only indicator it leads; no summed ones
    ("industry_it_commission", ("entrepreneur_training",)),  # second lead of rd_spending_gdp: not owed
    ("hr_social_security_bureau", ("highend_talent", "entrepreneur_training")),
    ("organization_dept", ()),  # lead of a summed indicator, reports nothing
    ("finance_bureau", ()),
])
def test_owed(unit: str, codes: tuple[str, ...]) -> None:
    assert tuple(i.code for i in owed(PLAN, unit)) == codes


# panshan, 2018Q3, due Wednesday 2018-10-10, after the National Day week (Sep 29 and 30 were make-up working days)
@pytest.mark.parametrize(("kind", "days", "expected", "key"), [
    ("before_due", 7, "2018-09-26", "before_due:panshan:2018Q3:7"),
    ("before_due", 3, "2018-09-30", "before_due:panshan:2018Q3:3"),  # the make-up Sunday
    ("before_due", 1, "2018-10-09", "before_due:panshan:2018Q3:1"),
    ("due_today", 0, "2018-10-10", "due_today:panshan:2018Q3"),
    ("overdue", 1, "2018-10-11", "overdue:panshan:2018Q3:1"),
    ("overdue", 2, "2018-10-12", "overdue:panshan:2018Q3:2"),
    ("overdue", 3, "2018-10-15", "overdue:panshan:2018Q3:3"),  # over the weekend
    ("escalate_unit_leader", 4, "2018-10-16", "escalate_unit_leader:panshan:2018Q3"),
    ("escalate_lead", 6, "2018-10-18", "escalate_lead:panshan:2018Q3"),
])
def test_panshan_2018q3_send_dates(kind: str, days: int, expected: str, key: str) -> None:
    rs = for_unit(report_reminders(PLAN, POLICY, set(), *Q3_WINDOW), "panshan")
    [r] = [r for r in rs if r.kind == kind and r.days == days]
    assert r.send_at == at(D(expected), time(9, 0))
    assert r.key == key
    assert r.due == D("2018-10-10")
    assert r.indicators == PANSHAN_OWES


def test_panshan_2018q3_has_exactly_nine_reminders_with_their_audiences() -> None:
    rs = for_unit(report_reminders(PLAN, POLICY, set(), *Q3_WINDOW), "panshan")
    assert Counter(r.audience for r in rs) == {"contacts": 7, "unit_leader": 1, "lead_and_admins": 1}
    [lead] = [r for r in rs if r.kind == "escalate_lead"]
    assert lead.lead_units == ("sci_tech_bureau", "hr_social_security_bureau")  # union, in plan order
    assert all(r.lead_units == () for r in rs if r.kind != "escalate_lead")


def test_a_unit_that_reported_everything_gets_no_reminder() -> None:
    reported = {(code, "panshan", "2018Q3") for code in PANSHAN_OWES}
    rs = report_reminders(PLAN, POLICY, reported, *Q3_WINDOW)
    assert for_unit(rs, "panshan") == []
    assert len(for_unit(rs, "dawa")) == 9  # others are still reminded


def test_a_unit_that_reported_some_is_reminded_of_the_rest_only() -> None:
    reported = {("tech_smes", "panshan", "2018Q3"), ("innovation_teams", "panshan", "2018Q3"),
                ("hightech_enterprises", "panshan", "2018Q2"),  # another period: does not count
                ("key_tech_breakthroughs", "dawa", "2018Q3")}  # another unit: does not count
    rs = for_unit(report_reminders(PLAN, POLICY, reported, *Q3_WINDOW), "panshan")
    assert len(rs) == 9
    assert {r.indicators for r in rs} == {("hightech_enterprises", "key_tech_breakthroughs",
                                           "industrial_tech_institutes", "high_level_talent",
                                           "achievement_transfer_projects")}


def test_units_that_owe_nothing_get_nothing() -> None:
    rs = report_reminders(PLAN, POLICY, set(), sh("2017-12-01T00:00"), sh("2021-06-01T00:00"))
    assert {"organization_dept", "finance_bureau", "publicity_dept", "hightech_zone"}.isdisjoint(r.unit for r in rs)
    quarters = {f"{y}Q{q}" for y in (2018, 2019, 2020) for q in (1, 2, 3, 4)}
    # and the annual statistics' years: 2020's is due in September 2021, after this window
    assert {r.period.label for r in rs if r.period} == quarters | {"2018", "2019"}


def test_a_lead_aggregated_indicator_reminds_only_its_first_lead() -> None:
    rs = report_reminders(PLAN, POLICY, set(), sh("2017-12-01T00:00"), sh("2021-06-01T00:00"))
    assert {r.unit for r in rs if "rd_spending_gdp" in r.indicators} == {"sci_tech_bureau"}
    assert {r.indicators for r in rs if r.unit == "industry_it_commission"} == {("entrepreneur_training",)}
    [esc] = [r for r in for_unit(rs, "sci_tech_bureau") if r.kind == "escalate_lead"]
    assert esc.indicators == tuple(c for c in SCI_TECH_OWES if c not in ANNUAL)
    [annual] = [r for r in for_unit(rs, "sci_tech_bureau", "2018") if r.kind == "escalate_lead"]
    assert annual.indicators == ANNUAL and annual.due == date(2019, 9, 30)
    assert esc.lead_units == ("sci_tech_bureau", "industry_it_commission")


def with_schedules(plan: Plan, *schedules: tuple[str, Schedule]) -> Plan:
    """The plan with only these indicators, each on its own schedule."""
    return replace(plan, indicators=tuple(replace(plan.indicator(c), schedule=s) for c, s in schedules))


def test_a_due_date_on_a_holiday_falls_due_on_the_next_working_day() -> None:
    plan = with_schedules(PLAN, ("tech_smes", Schedule(Cadence.QUARTERLY, 1)))  # 2018Q3 due Oct 1, National Day
    # working days before count back from Oct 8 as from Oct 1; Sep 24 (Mid-Autumn) and Sep 22/23 are days off
    rs = for_unit(report_reminders(plan, POLICY, set(), *Q3_WINDOW), "panshan")
    got = {(r.kind, r.days): r.send_at.date() for r in rs}
    assert got == {("before_due", 7): D("2018-09-21"), ("before_due", 3): D("2018-09-28"),
                   ("before_due", 1): D("2018-09-30"), ("due_today", 0): D("2018-10-08"),
                   ("overdue", 1): D("2018-10-09"), ("overdue", 2): D("2018-10-10"), ("overdue", 3): D("2018-10-11"),
                   ("escalate_unit_leader", 4): D("2018-10-12"), ("escalate_lead", 6): D("2018-10-16")}
    assert all(r.due == D("2018-10-01") for r in rs)


def test_two_due_dates_for_one_period_get_distinct_keys() -> None:
    plan = with_schedules(PLAN, ("tech_smes", Schedule(Cadence.QUARTERLY, 10)),
                          ("hightech_enterprises", Schedule(Cadence.QUARTERLY, 20)))
    rs = for_unit(report_reminders(plan, POLICY, set(), *Q3_WINDOW), "panshan")
    assert len(rs) == 18 and len({r.key for r in rs}) == 18
    assert "due_today:panshan:2018Q3@2018-10-10" in {r.key for r in rs}
    assert {r.indicators for r in rs if r.due == D("2018-10-20")} == {("hightech_enterprises",)}


STATUSES = {"hightech_enterprises": Status.BEHIND, "tech_smes": Status.LAGGING, "key_tech_breakthroughs": Status.MISSED,
            "rd_spending_gdp": Status.ON_TRACK, "patent_share": Status.NO_DATA,
            "industrial_tech_institutes": Status.NO_BASELINE, "ip_pledge_fund": Status.ACHIEVED}


@pytest.mark.parametrize(("n", "expected"), [
    (90, "2018-10-08"),  # Oct 2 is in the National Day holiday
    (30, "2018-12-03"),  # Dec 1 is a Saturday
    (7, "2018-12-24"),
])
def test_milestone_warnings_for_2018(n: int, expected: str) -> None:
    rs = milestone_warnings(PLAN, POLICY, STATUSES, sh("2018-01-01T00:00"), sh("2019-01-01T00:00"))
    assert {r.indicators for r in rs} == {("hightech_enterprises",), ("tech_smes",)}  # behind or lagging only
    [r] = [r for r in rs if r.indicators == ("hightech_enterprises",) and r.days == n]
    assert r.send_at == at(D(expected), time(9, 0))
    assert r.key == f"milestone:hightech_enterprises:2018-12-31:{n}"
    assert (r.kind, r.audience, r.due) == ("milestone", "lead_units", D("2018-12-31"))
    assert r.lead_units == ("sci_tech_bureau",) and r.unit is None and r.period is None


def test_milestone_warnings_cover_every_milestone_and_need_a_status() -> None:
    rs = milestone_warnings(PLAN, POLICY, STATUSES, sh("2017-01-01T00:00"), sh("2021-01-01T00:00"))
    assert len(rs) == 2 * 2 * 3  # two indicators, two milestones each, three warnings each
    assert [r.send_at.date() for r in rs if r.indicators == ("tech_smes",) and r.due == D("2020-12-31")] == [
        D("2020-10-09"), D("2020-12-01"), D("2020-12-24")]
    assert milestone_warnings(PLAN, POLICY, {}, sh("2017-01-01T00:00"), sh("2021-01-01T00:00")) == []


def test_a_week_of_holidays_gets_no_digest_of_its_own_on_a_holiday_nor_a_second_one_after() -> None:
    """National Day 2018 (Oct 1-7): one digest, on Monday Oct 8, however the window is cut (a catch-up too)."""
    for start in (sh("2018-09-30T10:00"), sh("2018-10-01T08:00"), sh("2018-10-07T23:00")):
        rs = digests(POLICY, start, sh("2018-10-08T09:00"))
        assert [(r.key, r.send_at) for r in rs] == [("digest:2018-W41", sh("2018-10-08T09:00"))]


@pytest.mark.parametrize(("monday", "sent", "key"), [
    ("2018-09-17", "2018-09-17", "digest:2018-W38"),
    ("2018-09-24", "2018-09-25", "digest:2018-W39"),  # Mid-Autumn Festival Monday: the next working day
    ("2018-10-01", "2018-10-08", "digest:2018-W41"),  # a week of holidays: with the next week's, one digest
    ("2018-10-08", "2018-10-08", "digest:2018-W41"),
    ("2018-04-30", "2018-05-02", "digest:2018-W18"),  # Labour Day Monday and Tuesday
    ("2018-12-31", "2019-01-02", "digest:2019-W01"),  # ISO year
    ("2019-02-04", "2019-02-11", "digest:2019-W07"),  # Spring Festival week: with the next one
])
def test_digests(monday: str, sent: str, key: str) -> None:
    assert digest_day(D(monday)) == D(sent)
    [r] = [r for r in digests(POLICY, sh("2018-01-01T00:00"), sh("2019-03-01T00:00")) if r.key == key]
    assert (r.kind, r.audience, r.send_at) == ("digest", "leaders", at(D(sent), time(9, 0)))


def test_one_digest_a_week() -> None:
    rs = digests(POLICY, sh("2017-12-31T23:00"), sh("2019-01-01T00:00"))
    keys = [r.key for r in rs]
    # the Mondays of 2018 (Jan 1 is one) but National Day's week, whose digest is the next week's; Dec 31 is
    # sent on Jan 2 (2019-W01: not in this window)
    assert len(keys) == len(set(keys)) == 51
    assert keys[0] == "digest:2018-W01" and keys[-1] == "digest:2018-W52" and "digest:2018-W40" not in keys
    for r in rs:
        year, week = r.key.removeprefix("digest:").split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
        assert monday <= r.send_at.date() < monday + timedelta(days=7)


def sweep(start: datetime, end: datetime, step: timedelta, reported: set[tuple[str, str, str]]) -> list[Reminder]:
    """What a scheduler ticking every `step` collects, window after window."""
    out: list[Reminder] = []
    t = start
    while t < end:
        nxt = min(t + step, end)
        out.extend(due_between(PLAN, POLICY, reported, STATUSES, t, nxt))
        t = nxt
    return out


def test_consecutive_windows_add_up_to_one_window_without_repeats() -> None:
    start, end = sh("2018-10-01T00:00"), sh("2019-01-01T00:00")
    reported = {(c, "dawa", "2018Q3") for c in PANSHAN_OWES} | {("tech_smes", "panshan", "2018Q3")}
    whole = due_between(PLAN, POLICY, reported, STATUSES, start, end)
    hourly = sweep(start, end, timedelta(hours=1), reported)
    assert len({r.key for r in hourly}) == len(hourly)
    assert hourly == whole
    assert {r.kind for r in whole} == {"before_due", "due_today", "overdue", "escalate_unit_leader", "escalate_lead",
                                       "milestone", "digest"}
    assert sweep(start, end, timedelta(days=3, hours=7), reported) == whole  # uneven windows too


def test_catch_up_after_downtime_gets_everything_that_fell_due() -> None:
    down, up = sh("2018-10-09T20:00"), sh("2018-10-16T10:00")  # after the Oct 9 reminders went out
    rs = due_between(PLAN, POLICY, set(), {}, down, up)
    assert {(r.kind, r.days) for r in for_unit(rs, "panshan")} == {
        ("due_today", 0), ("overdue", 1), ("overdue", 2), ("overdue", 3),
        ("escalate_unit_leader", 4)}
    assert {r.key for r in rs if r.kind == "digest"} == {"digest:2018-W42"}


def test_start_is_exclusive_and_end_inclusive() -> None:
    nine = sh("2018-10-10T09:00")
    assert {r.kind for r in due_between(PLAN, POLICY, set(), {}, nine - timedelta(hours=1), nine)} == {"due_today"}
    assert due_between(PLAN, POLICY, set(), {}, nine, nine + timedelta(hours=1)) == []
    assert due_between(PLAN, POLICY, set(), {}, nine, nine) == []


def test_windows_in_another_zone_mean_the_same_instants() -> None:
    utc = (datetime(2018, 9, 30, 16, 0, tzinfo=UTC), datetime(2018, 10, 31, 16, 0, tzinfo=UTC))
    assert due_between(PLAN, POLICY, set(), STATUSES, *utc) == due_between(
        PLAN, POLICY, set(), STATUSES, sh("2018-10-01T00:00"), sh("2018-11-01T00:00"))


def test_naive_windows_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        due_between(PLAN, POLICY, set(), {}, datetime(2018, 10, 1), datetime(2018, 11, 1))


def test_every_send_at_is_at_nine_in_shanghai_and_outside_quiet_hours() -> None:
    rs = due_between(PLAN, POLICY, set(), STATUSES, sh("2017-06-01T00:00"), sh("2021-06-01T00:00"))
    assert len(rs) > 1000 and len({r.key for r in rs}) == len(rs)
    for r in rs:
        assert r.send_at.tzinfo is ZONE and r.send_at.time() == time(9, 0)
        assert not POLICY.quiet.contains(r.send_at)


def test_policy_from_mapping() -> None:
    assert Policy.from_mapping(None) == Policy() == Policy.from_mapping({})
    p = Policy.from_mapping({"before_workdays": [5, 2], "on_due_day": False, "overdue_workdays": 2,
                             "escalate_unit_leader_after": 3, "escalate_lead_after": 5, "milestone_days": [14],
                             "send_time": "09:30", "digest_weekday": 4,
                             "quiet": {"start": 1260, "end": "07:30"}})  # YAML reads an unquoted 21:00 as 1260
    assert p == Policy((5, 2), False, 2, 3, 5, (14,), time(9, 30), 4, QuietHours(time(21, 0), time(7, 30)))
    rs = for_unit(report_reminders(PLAN, p, set(), *Q3_WINDOW), "panshan")
    assert [(r.kind, r.days, r.send_at) for r in rs] == [
        ("before_due", 5, sh("2018-09-28T09:30")), ("before_due", 2, sh("2018-10-08T09:30")),
        ("overdue", 1, sh("2018-10-11T09:30")), ("overdue", 2, sh("2018-10-12T09:30")),
        ("escalate_unit_leader", 3, sh("2018-10-15T09:30")), ("escalate_lead", 5, sh("2018-10-17T09:30"))]


@pytest.mark.parametrize(("data", "message"), [
    ({"before_due": [3]}, "'before_due'"),
    ({"quiet": {"start": "21:00", "stop": "08:00"}}, "'stop'"),
    ({"send_time": "9 o'clock"}, "send_time"),
    ({"send_time": "22:00"}, "quiet hours"),
    ({"before_workdays": [3, 3]}, "before_workdays"),
    ({"milestone_days": [0]}, "milestone_days"),
    ({"overdue_workdays": "3"}, "overdue_workdays"),
    ({"on_due_day": "yes"}, "on_due_day"),
    ({"digest_weekday": 7}, "digest_weekday"),
])
def test_policy_from_mapping_refuses(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Policy.from_mapping(data)


def merged(plan: Plan, old: str, new_code: str, since: date) -> Plan:
    """The plan with a new unit that takes over old's work from since (old's succeeded_by)."""
    from bot.domain.plan import Text, Unit

    kept = (replace(u, succeeded_by=new_code, succeeded_from=since) if u.code == old else u for u in plan.units)
    units = (*kept, Unit(new_code, Text("合并后的经济区", "Merged zone"), "zone"))
    return replace(plan, units=units)


def test_after_a_merger_the_successor_is_reminded_of_what_the_old_unit_owes() -> None:
    plan = merged(PLAN, "liaohekou", "merged_zone", D("2019-01-01"))
    before = for_unit(report_reminders(plan, POLICY, set(), *Q3_WINDOW), "liaohekou")
    assert before and all(r.answered_by is None and r.to_unit == "liaohekou" for r in before)
    window = (sh("2019-03-01T00:00"), sh("2019-05-01T00:00"))
    after = for_unit(report_reminders(plan, POLICY, set(), *window), "liaohekou", "2019Q1")
    assert after and all(r.answered_by == "merged_zone" and r.to_unit == "merged_zone" for r in after)
    # the key is the old unit's: its figures are saved under its own code, so a report stops the chain
    assert all(r.key.split(":")[1] == "liaohekou" for r in after)
    assert not for_unit(report_reminders(plan, POLICY, set(), *window), "merged_zone", "2019Q1")
    reported = {(code, "liaohekou", "2019Q1") for code in after[0].indicators}
    assert not for_unit(report_reminders(plan, POLICY, reported, *window), "liaohekou", "2019Q1")


def test_a_chain_of_successions_ends_at_the_last_successor() -> None:
    plan = merged(merged(PLAN, "liaohekou", "merged_zone", D("2019-01-01")), "merged_zone", "final_zone",
                  D("2020-01-01"))
    assert plan.answered_by("liaohekou", D("2018-10-01")) == "liaohekou"
    assert plan.answered_by("liaohekou", D("2019-04-01")) == "merged_zone"
    assert plan.answered_by("liaohekou", D("2020-04-01")) == "final_zone"
    looped = merged(plan, "final_zone", "liaohekou", D("2020-01-01"))  # a cycle in a plan file does not hang
    assert looped.answered_by("liaohekou", D("2020-04-01")) in {"final_zone", "merged_zone", "liaohekou"}
