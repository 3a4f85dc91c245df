"""Reminders end to end on SQLite and PostgreSQL: a simulated quarter, downtime, retries, restarts, quiet hours,
missed reminders, a merger. The dispatch's outcomes, crashes and concurrency: test_dispatch_outcomes.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import App
from bot.channels.console import ConsoleSender
from bot.db.chat_models import PersonRow
from bot.db.outbox import counts, recover_sending
from bot.db.outbox_models import OutboxRow
from reminders.dispatch import Transient, dispatch
from reminders.scheduler import Ticker
from support import TestBot

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def run_clock(app: App, start: datetime, end: datetime, step: timedelta, sender: ConsoleSender,
              actions: Mapping[datetime, object] | None = None) -> None:
    ticker = Ticker(app, [])
    assert ticker.is_leader(), "another scheduler holds the leader lock: this clock would sweep nothing"
    now = start
    try:
        while now <= end:
            app.clock.set(now)
            for when, action in (actions or {}).items():
                if when == now and callable(action):
                    action()
            ticker.sweep_now(now)
            asyncio.run(dispatch(app.uow, sender, lambda at=now: at))  # type: ignore[misc]
            now += step
    finally:
        ticker.stop()  # releases the leader lock (PostgreSQL), so that the next clock run can sweep


def test_a_simulated_quarter_reminds_the_right_people_on_the_right_days(bot: TestBot) -> None:
    app = bot.app
    bot.join("pan", "contact", "panshan")
    bot.join("da", "contact", "dawa")
    bot.join("boss", "leader", "panshan")  # Panshan's leader contact
    bot.join("bureau", "contact", "sci_tech_bureau")
    bot.join("admin", "admin")
    with app.uow() as s:
        ids = {p.display_name: p.id for p in s.scalars(select(PersonRow))}
    sender = ConsoleSender()

    def dawa_reports() -> None:  # Dawa reports everything it owes for 2018Q3 on 9 October
        for text in ("高新技术企业 30家", "科技型中小企业 40家", "核心技术攻关 3项", "产业技术研究院 2家",
                     "高层次人才 2人", "创新团队 1个", "成果转化 9项"):
            assert "2018Q3" in bot.say("da", text), text
            assert "Saved" in bot.say("da", "1")

    actions = {at("2018-10-09T12:00"): dawa_reports}
    run_clock(app, at("2018-09-20T09:00"), at("2018-10-22T09:00"), timedelta(hours=1), sender, actions)
    with app.uow() as s:
        rows = list(s.scalars(select(OutboxRow).order_by(OutboxRow.sent_at)))
    got: dict[int, list[tuple[str, str]]] = {}
    for r in rows:
        assert r.status == "sent" and r.person_id is not None and r.sent_at is not None
        got.setdefault(r.person_id, []).append((r.kind, r.sent_at.astimezone(TZ).strftime("%m-%d %H:%M")))
    pan = [k for k in got[ids["pan"]] if k[0] not in ("digest", "milestone")]
    assert pan == [("before_due", "09-26 09:00"), ("before_due", "09-30 09:00"), ("before_due", "10-09 09:00"),
                   ("due_today", "10-10 09:00"), ("overdue", "10-11 09:00"), ("overdue", "10-12 09:00"),
                   ("overdue", "10-15 09:00")]
    assert [k for k in got[ids["da"]]] == [("before_due", "09-26 09:00"), ("before_due", "09-30 09:00"),
                                           ("before_due", "10-09 09:00")]  # reported on the 9th: no more
    assert ("escalate_unit_leader", "10-16 09:00") in got[ids["boss"]]
    assert ("escalate_lead", "10-18 09:00") in got[ids["admin"]]
    assert ("escalate_lead", "10-18 09:00") in got[ids["bureau"]]
    assert ("digest", "10-08 09:00") in got[ids["boss"]]  # Monday 8 October: the first working Monday
    assert all(k[1].endswith("09:00") for v in got.values() for k in v)
    keys = Counter(r.key for r in rows)
    assert max(keys.values()) == 1
    # the clock run again over the same weeks sends nothing new
    before = len(rows)
    run_clock(app, at("2018-10-01T09:00"), at("2018-10-22T09:00"), timedelta(hours=6), sender)
    with app.uow() as s:
        assert len(list(s.scalars(select(OutboxRow)))) == before


def test_after_downtime_old_reminders_are_missed_recent_ones_sent(bot: TestBot) -> None:
    bot.join("pan", "contact", "panshan")
    ticker = Ticker(bot.app, [])
    first = ticker.sweep_now(at("2018-09-20T09:00"))
    assert first.queued == 0
    result = ticker.sweep_now(at("2018-10-12T10:00"))  # down since 20 September
    assert result.missed >= 4  # 7, 3, 1 days before and the due day went by unsent
    assert result.queued >= 1  # the overdue reminder of the 12th (within one working day) is still sent
    sender = ConsoleSender()
    asyncio.run(dispatch(bot.app.uow, sender, lambda: at("2018-10-12T10:00")))
    assert any("逾期" in text or "Overdue" in text for _, text in sender.delivered)


class FlakySender(ConsoleSender):
    """Fails the first send of every message with a server error."""

    def __init__(self) -> None:
        super().__init__()
        self.tried: Counter[str] = Counter()

    async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
        self.tried[text] += 1
        if self.tried[text] == 1:
            raise Transient("502 Bad Gateway")
        return await super().send(chat_id, text, buttons)


def test_server_errors_are_retried_after_a_backoff(bot: TestBot) -> None:
    bot.join("pan", "contact", "panshan")
    Ticker(bot.app, []).sweep_now(at("2018-10-09T09:00"))
    sender = FlakySender()
    t0 = at("2018-10-09T09:00")
    stats = asyncio.run(dispatch(bot.app.uow, sender, lambda: t0))
    assert stats.retried >= 1 and not sender.delivered
    stats = asyncio.run(dispatch(bot.app.uow, sender, lambda: t0 + timedelta(minutes=1)))
    assert stats.sent >= 1 and len(sender.delivered) == stats.sent


def test_a_restart_mid_send_marks_unknown_outcomes_uncertain_and_never_resends_them(bot: TestBot) -> None:
    for n, unit in enumerate(("panshan", "dawa", "xinglongtai", "shuangtaizi")):
        bot.join(f"c{n}", "contact", unit)
    Ticker(bot.app, []).sweep_now(at("2018-10-09T09:00"))
    with bot.app.uow.begin() as s:  # a dispatcher claimed two rows, then the process died
        rows = list(s.scalars(select(OutboxRow).order_by(OutboxRow.id).limit(2)))
        for r in rows:
            r.status = "sending"
    with bot.app.uow.begin() as s:
        assert recover_sending(s) == 2
    sender = ConsoleSender()
    asyncio.run(dispatch(bot.app.uow, sender, lambda: at("2018-10-09T09:05")))
    with bot.app.uow() as s:
        tally = counts(s)
    assert tally == {"uncertain": 2, "sent": len(sender.delivered)}
    assert len(sender.delivered) >= 2


def test_quiet_hours_hold_bulk_messages_until_morning(bot: TestBot) -> None:
    bot.join("pan", "contact", "panshan")
    Ticker(bot.app, []).sweep_now(at("2018-10-09T09:00"))
    sender = ConsoleSender()
    asyncio.run(dispatch(bot.app.uow, sender, lambda: at("2018-10-09T22:30")))
    assert sender.delivered == []
    with bot.app.uow() as s:
        held = list(s.scalars(select(OutboxRow)))
    assert held and all(r.not_before.astimezone(TZ) == at("2018-10-10T08:00") for r in held)
    asyncio.run(dispatch(bot.app.uow, sender, lambda: at("2018-10-10T08:00")))
    assert len(sender.delivered) == len(held)


def test_missed_reminders_are_recorded_and_shown(bot: TestBot, env: dict[str, str]) -> None:
    """After downtime, the reminders too old to send are rows with status 'missed' (never sent later), and
    `planbot notices` says how many."""
    import subprocess
    import sys

    bot.join("pan", "contact", "panshan")
    ticker = Ticker(bot.app, [])
    ticker.sweep_now(at("2018-09-20T09:00"))
    result = ticker.sweep_now(at("2018-10-12T10:00"))  # down since 20 September
    with bot.app.uow() as s:
        missed = counts(s).get("missed", 0)
    assert result.missed >= 4 and missed >= 4  # each missed reminder, for its one recipient
    sender = ConsoleSender()
    asyncio.run(dispatch(bot.app.uow, sender, lambda: at("2018-10-12T10:00")))
    with bot.app.uow() as s:
        assert counts(s).get("missed") == missed  # none of them went out late
    out = subprocess.run([str(Path(sys.executable).parent / "planbot"), "--lang", "en", "notices"], env=env,
                         capture_output=True, text=True, timeout=120).stdout
    assert f"Reminders recorded as missed (too old to send late): {missed}." in out


def test_after_a_merger_the_successors_contact_is_reminded_for_the_old_unit(bot: TestBot, tmp_path: Path) -> None:
    from paths import merged_zone_plan

    from bot.services.plans import load_plan_file

    plan_file = merged_zone_plan(tmp_path)
    app = bot.app
    load_plan_file(app.uow, plan_file, at("2018-09-20T08:00"))
    bot.join("old", "contact", "liaohekou")
    bot.join("new", "contact", "merged_zone")
    with app.uow() as s:
        ids = {p.display_name: p.id for p in s.scalars(select(PersonRow))}
    sender = ConsoleSender()
    run_clock(app, at("2018-10-09T09:00"), at("2018-10-09T09:00"), timedelta(hours=1), sender)  # 2018Q3
    run_clock(app, at("2019-04-09T09:00"), at("2019-04-09T09:00"), timedelta(hours=1), sender)  # 2019Q1
    with app.uow() as s:
        rows = [r for r in s.scalars(select(OutboxRow)) if r.kind == "before_due"]
    got = {(r.person_id, r.key.split(":")[1], r.key.split(":")[2]) for r in rows}
    assert (ids["old"], "liaohekou", "2018Q3") in got  # before the merger: the zone's own contact
    assert (ids["new"], "liaohekou", "2019Q1") in got  # after it: the successor's contact, for the old zone
    assert not any(p == ids["old"] and period == "2019Q1" for p, _, period in got)
    assert not any(u == "merged_zone" for _, u, _ in got)  # nothing of its own: it reports for the old zone
    text = next(r.text for r in rows if r.person_id == ids["new"] and r.status == "sent")
    assert "Merged zone reports for" in text and "2019Q1" in text
