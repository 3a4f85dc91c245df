"""Reminders stop after the plan: the last report escalations go out, then no digest, no reminder, at any date."""

from __future__ import annotations

from datetime import date, datetime

from paths import PANJIN_PLAN

from bot.domain.pace import Status
from bot.domain.schedule import ZONE
from bot.services.plan_file import read_plan_file
from reminders.policy import Policy, due_between, plan_over
from reminders.sweep import latest_only

PLAN = read_plan_file(PANJIN_PLAN)
POLICY = Policy.from_mapping(PLAN.reminders)
NOTHING: set[tuple[str, str, str]] = set()


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def test_the_plan_is_over_after_its_final_escalations() -> None:
    over = plan_over(PLAN, POLICY)
    assert date(2021, 9, 30) < over < date(2021, 11, 1)  # the annual statistics of 2020 are due in September 2021
    last = due_between(PLAN, POLICY, NOTHING, {}, sh("2020-12-01T00:00"), sh("2021-12-31T00:00"))
    assert last and max(r.send_at.date() for r in last) <= over
    assert {r.period.label for r in last if r.period is not None} <= {"2020Q3", "2020Q4", "2020"}
    assert any(r.kind == "digest" for r in last)


def test_nothing_is_sent_years_after_the_plan() -> None:
    statuses = dict.fromkeys((i.code for i in PLAN.indicators), Status.LAGGING)
    for start, end in (("2021-11-01T00:00", "2021-12-31T00:00"), ("2026-11-01T00:00", "2026-12-01T12:00")):
        assert due_between(PLAN, POLICY, NOTHING, statuses, sh(start), sh(end)) == []


def test_a_catch_up_over_two_weeks_sends_one_digest() -> None:
    found = due_between(PLAN, POLICY, NOTHING, {}, sh("2018-10-01T00:00"), sh("2018-10-16T12:00"))
    # weeks 41 and 42: week 40 is the National Day holiday, whose digest goes with week 41's (#16 item 9)
    assert sorted(r.key for r in found if r.kind == "digest") == ["digest:2018-W41", "digest:2018-W42"]
    kept, dropped = latest_only(found)
    assert [r.key for r in kept if r.kind == "digest"] == ["digest:2018-W42"] and dropped >= 1
