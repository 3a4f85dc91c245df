"""Reminders end to end on SQLite and PostgreSQL: a simulated quarter, the outbox, dispatch outcomes, restarts."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from paths import ROOT
from sqlalchemy import select
from sqlalchemy import text as sql

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.console import ConsoleSender
from bot.config import Settings
from bot.db.chat_models import PersonRow
from bot.db.outbox import claim, counts, recover_sending
from bot.db.outbox_models import OutboxRow
from reminders.dispatch import Transient, dispatch
from reminders.scheduler import Ticker
from support import TestBot

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def bot(env: dict[str, str]) -> Iterator[TestBot]:
    app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW="2018-09-20T08:00:00+08:00")))
    yield TestBot(app)
    app.close()


def run_clock(app: App, start: datetime, end: datetime, step: timedelta, sender: ConsoleSender,
              actions: dict[datetime, object] | None = None) -> None:
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
        assert r.status == "sent"
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


class SlowSender(ConsoleSender):
    """Takes a little while per message, so that two dispatchers really overlap."""

    async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
        await asyncio.sleep(0.01)
        return await super().send(chat_id, text, buttons)


def test_two_instances_on_postgresql_send_each_reminder_once(postgres_url: str, tmp_path: object) -> None:
    env = {"PLANBOT_DATABASE_URL": postgres_url, "PLANBOT_DATA_DIR": str(tmp_path),
           "PLANBOT_NOW": "2018-10-09T08:00:00+08:00"}
    first, second = bootstrap(Settings.from_env(env)), bootstrap(Settings.from_env(env))
    try:
        bot = TestBot(first)
        for n, unit in enumerate(("panshan", "dawa", "xinglongtai", "shuangtaizi", "liaodongwan", "liaohekou")):
            for k in range(5):
                bot.join(f"c{n}-{k}", "contact", unit)
        one, two = Ticker(first, []), Ticker(second, [])
        assert [one.is_leader(), two.is_leader()] == [True, False]
        t = at("2018-10-09T09:00")
        assert two.sweep_now(t).queued == 0  # not the leader: it only dispatches
        queued = one.sweep_now(t).queued
        assert queued == 30
        a, b = SlowSender(), SlowSender()

        async def both() -> None:
            await asyncio.gather(dispatch(first.uow, a, lambda: t, batch=5, concurrency=2),
                                 dispatch(second.uow, b, lambda: t, batch=5, concurrency=2))

        asyncio.run(both())
        delivered = a.delivered + b.delivered
        assert len(delivered) == queued == len(set(delivered))
        assert a.delivered and b.delivered  # both instances did part of the work
        one.stop()
        assert two.is_leader()  # the lock passes on when the leader goes
        two.stop()
    finally:
        first.close()
        second.close()


# --- batched outcomes, cancellation, crashes, several dispatchers ------------------------------------------------
T0 = at("2018-10-09T10:00")  # a Tuesday morning: bulk messages go out


def queue_people(app: App, names: list[str]) -> dict[str, int]:
    """One person per name, each with a console chat named like them and one notice queued for them."""
    from bot.db.outbox import BULK, Delivery, enqueue
    from bot.services.people import identity_for

    people = {}
    with app.uow.begin() as s:
        for name in names:
            ident = identity_for(s, "console", name, name, name, None, T0)
            enqueue(s, f"test:{name}", Delivery(ident.person_id, "console", name), "notice", f"to {name}", T0,
                    priority=BULK)
            people[name] = ident.person_id
    return people


def rows_by_chat(app: App) -> dict[str, OutboxRow]:
    with app.uow() as s:
        return {r.chat_id: r for r in s.scalars(select(OutboxRow))}


class ScriptedSender(ConsoleSender):
    """Answers each chat as scripted: a SendError to raise, or delivery."""

    def __init__(self, script: dict[str, Exception]) -> None:
        super().__init__()
        self.script = script

    async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
        if chat_id in self.script:
            raise self.script[chat_id]
        return await super().send(chat_id, text, buttons)


def test_outcomes_written_together_keep_every_status_and_mark_blocked_people_inactive(bot: TestBot) -> None:
    from sqlalchemy import event

    from reminders.dispatch import Blocked, Permanent, RetryLater, Uncertain

    app = bot.app
    names = ["ok1", "ok2", "blocked1", "blocked2", "flood", "timeout", "refused", "gateway"]
    people = queue_people(app, names)
    sender = ScriptedSender({"blocked1": Blocked("Forbidden: bot was blocked by the user"),
                             "blocked2": Blocked("Forbidden: user is deactivated"), "flood": RetryLater(7),
                             "timeout": Uncertain("Timed out"), "refused": Permanent("chat not found"),
                             "gateway": Transient("502 Bad Gateway")})
    commits: list[int] = []
    event.listen(app.engine, "commit", lambda conn: commits.append(1))
    # every outcome waits for the one write at the end: one transaction for all eight
    stats = asyncio.run(dispatch(app.uow, sender, lambda: T0, ledger_rows=100, ledger_wait=30))
    assert (stats.sent, stats.blocked, stats.retried, stats.uncertain, stats.failed) == (2, 2, 2, 1, 1)
    # a claim, the eight marked 'sending' just before they left (one group commit), the claim that finds nothing
    # left, the outcomes (was: one per outcome)
    assert len(commits) <= 4
    rows = rows_by_chat(app)
    assert {c: r.status for c, r in rows.items()} == {
        "ok1": "sent", "ok2": "sent", "blocked1": "failed", "blocked2": "failed", "flood": "pending",
        "timeout": "uncertain", "refused": "failed", "gateway": "pending"}
    assert all(r.attempts == 1 for r in rows.values())
    for chat in ("ok1", "ok2"):
        assert rows[chat].sent_at == T0 and rows[chat].platform_message_id and rows[chat].last_error is None
    assert rows["blocked2"].last_error == "Forbidden: user is deactivated"
    assert rows["flood"].not_before == T0 + timedelta(seconds=7) and "retry after" in (rows["flood"].last_error or "")
    assert rows["gateway"].not_before == T0 + timedelta(seconds=5) and rows["gateway"].last_error == "502 Bad Gateway"
    assert rows["timeout"].sent_at is None and rows["timeout"].last_error == "Timed out"
    with app.uow() as s:
        active = {name: s.get(PersonRow, pid).active for name, pid in people.items()}  # type: ignore[union-attr]
    assert [n for n, a in active.items() if not a] == ["blocked1", "blocked2"]


class StallingSender(ConsoleSender):
    """Delivers `delivers` messages, then every later send hangs (a platform that stopped answering) until the
    dispatch is stopped; `stalled` is set once `stuck` sends hang."""

    def __init__(self, delivers: int, stuck: int) -> None:
        super().__init__()
        self.delivers, self.stuck, self.hanging = delivers, stuck, 0
        self.stalled = asyncio.Event()

    async def send(self, chat_id: str, text: str, buttons: list) -> str | None:  # type: ignore[type-arg]
        if len(self.delivered) < self.delivers:
            return await super().send(chat_id, text, buttons)
        self.hanging += 1
        if self.hanging >= self.stuck:
            self.stalled.set()
        await asyncio.Event().wait()  # never answers: only a stop ends it
        return None


def test_a_stopped_dispatch_records_what_it_sent_and_gives_back_what_it_had_not_started(bot: TestBot) -> None:
    app = bot.app
    names = [f"p{i:02d}" for i in range(30)]
    queue_people(app, names)

    async def stopped() -> StallingSender:
        sender = StallingSender(delivers=7, stuck=2)  # 7 delivered, then both workers hang inside send()
        task = asyncio.create_task(dispatch(app.uow, sender, lambda: T0, batch=10, concurrency=2, ledger_wait=30))
        await sender.stalled.wait()
        task.cancel()  # the stop (SIGTERM, a deploy) comes while two requests are out
        with pytest.raises(asyncio.CancelledError):
            await task
        return sender

    sender = asyncio.run(stopped())
    rows = rows_by_chat(app)
    delivered = {chat for chat, _ in sender.delivered}
    assert len(delivered) == 7
    assert {c for c, r in rows.items() if r.status == "sent"} == delivered  # written although the batch was not full
    assert not {c for c, r in rows.items() if r.status in ("claimed", "sending")}  # none left behind
    in_flight = {c for c, r in rows.items() if r.status == "uncertain"}
    assert len(in_flight) == 2  # cancelled inside send(): their outcome is unknown
    given_back = [r for r in rows.values() if r.status == "pending"]
    assert len(given_back) == len(names) - len(delivered) - len(in_flight)
    assert all(r.attempts == 0 and r.not_before == T0 for r in given_back)
    with app.uow.begin() as s:
        assert recover_sending(s) == 0
    again = ConsoleSender()
    asyncio.run(dispatch(app.uow, again, lambda: T0))
    assert {c for c, _ in again.delivered} == {r.chat_id for r in given_back}
    assert counts_now(app) == {"sent": len(names) - len(in_flight), "uncertain": len(in_flight)}


def counts_now(app: App) -> dict[str, int]:
    with app.uow() as s:
        return counts(s)


CRASHING_DISPATCHER = """
import asyncio, os, sys
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.channels.console import ConsoleSender
from reminders.dispatch import dispatch
from datetime import datetime

class Logged(ConsoleSender):
    async def send(self, chat_id, text, buttons):
        await asyncio.sleep(0.01)
        with open(sys.argv[1], "a") as fh:  # delivered: on disk before the dispatcher hears of it
            fh.write(chat_id + "\\n")
            fh.flush()
            os.fsync(fh.fileno())
        return chat_id

app = bootstrap(Settings.from_env(dict(os.environ)), ensure_plan=False)
at = datetime.fromisoformat(sys.argv[2])
asyncio.run(dispatch(app.uow, Logged(), lambda: at, batch=20, concurrency=4, ledger_rows=15, ledger_wait=0.2))
"""


def test_a_dispatcher_killed_mid_batch_leaves_nothing_to_be_sent_twice(bot: TestBot, env: dict[str, str],
                                                                       tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    app = bot.app
    names = [f"k{i:03d}" for i in range(120)]
    queue_people(app, names)
    log = tmp_path / "delivered.txt"
    root = ROOT
    child_env = dict(env, PYTHONPATH=os.pathsep.join([str(root), str(root / "tests")]))
    child = subprocess.Popen([sys.executable, "-c", CRASHING_DISPATCHER, str(log), T0.isoformat()], env=child_env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(log.read_text().split() if log.exists() else []) < 40:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)  # no finally, no flush: outcomes still in memory are lost
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    delivered = log.read_text().split()
    assert 40 <= len(delivered) < len(names), "the dispatcher was not killed in the middle"
    assert len(set(delivered)) == len(delivered)
    with app.uow.begin() as s:
        recovered = recover_sending(s)
    rows = rows_by_chat(app)
    sent = {c for c, r in rows.items() if r.status == "sent"}
    assert sent <= set(delivered)  # written only after delivery
    assert recovered and all(rows[c].status in ("sent", "uncertain") for c in delivered)  # never pending again
    assert set(delivered) - sent, "some outcomes were still unwritten when the process died"
    again = ConsoleSender()
    asyncio.run(dispatch(app.uow, again, lambda: T0))
    assert not {c for c, _ in again.delivered} & set(delivered)  # nothing delivered twice
    assert {c for c, _ in again.delivered} | set(delivered) | {c for c, r in rows.items() if r.status == "uncertain"} \
        == set(names)  # and nothing lost: delivered, or counted as uncertain


def test_two_dispatchers_on_one_database_send_each_message_once(env: dict[str, str]) -> None:
    first = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW="2018-10-09T10:00:00+08:00")))
    second = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW="2018-10-09T10:00:00+08:00")), ensure_plan=False)
    try:
        names = [f"d{i:03d}" for i in range(80)]
        queue_people(first, names)
        a, b = SlowSender(), SlowSender()

        async def both() -> None:
            await asyncio.gather(dispatch(first.uow, a, lambda: T0, batch=7, concurrency=3),
                                 dispatch(second.uow, b, lambda: T0, batch=7, concurrency=3))

        asyncio.run(both())
        delivered = [c for c, _ in a.delivered + b.delivered]
        assert sorted(delivered) == names  # each once
        assert a.delivered and b.delivered
        assert counts_now(first) == {"sent": len(names)}
    finally:
        first.close()
        second.close()


def test_bulk_sends_keep_a_share_while_people_talk(bot: TestBot) -> None:
    """Chat never stops (pause() is always true): a notice still finishes, one send every bulk_every seconds,
    instead of waiting for a quiet moment that never comes."""
    app = bot.app
    names = [f"s{i:02d}" for i in range(12)]
    queue_people(app, names)
    sender = ConsoleSender()

    async def under_steady_chat() -> None:
        await asyncio.wait_for(dispatch(app.uow, sender, lambda: T0, pause=lambda: True, bulk_every=0.01), 60)

    asyncio.run(under_steady_chat())
    assert sorted(c for c, _ in sender.delivered) == names
    assert counts_now(app) == {"sent": len(names)}


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


def test_rows_given_back_by_another_runs_recovery_are_not_sent_by_the_first_too(bot: TestBot) -> None:
    """A dispatcher holds claimed rows (waiting while people talk); another process starts, recovers them as
    never sent and sends them. The first must not send them as well when it resumes."""
    from bot.db.outbox import recover_sending

    app = bot.app
    names = [f"g{i:02d}" for i in range(6)]
    queue_people(app, names)
    first, second = ConsoleSender(), ConsoleSender()
    talking = True

    async def both() -> None:
        nonlocal talking
        # one worker and a batch of all the rows: it claims them once and holds them (no second claim of its own
        # can race the recovery below and take the given-back rows first)
        held = asyncio.create_task(dispatch(app.uow, first, lambda: T0, pause=lambda: talking, batch=len(names),
                                            concurrency=1))
        while counts_now(app).get("claimed", 0) < len(names):  # the first has claimed every row
            await asyncio.sleep(0.01)
        with app.uow.begin() as s:
            assert recover_sending(s) == len(names)  # the other process's start: never sent, so pending again
        await dispatch(app.uow, second, lambda: T0)
        talking = False
        await held

    asyncio.run(both())
    assert sorted(c for c, _ in second.delivered) == names
    assert first.delivered == []  # its claims were lost: nothing sent twice
    assert counts_now(app) == {"sent": len(names)}


def test_on_postgresql_two_dispatchers_hold_claims_at_once_and_neither_waits(postgres_url: str,
                                                                             tmp_path: Path) -> None:
    """SKIP LOCKED: while one dispatcher holds its claimed rows (its transaction open), a second one claims others at
    once. With a plain FOR UPDATE, or none, the second would wait for the first's row locks: here it would give up
    after lock_timeout (a deadline, not a pace: without waiting it takes milliseconds)."""
    env = {"PLANBOT_DATABASE_URL": postgres_url, "PLANBOT_DATA_DIR": str(tmp_path), "PLANBOT_NOW": T0.isoformat()}
    first, second = bootstrap(Settings.from_env(env)), bootstrap(Settings.from_env(env), ensure_plan=False)
    try:
        queue_people(first, [f"h{i:02d}" for i in range(10)])
        with first.uow() as a, second.uow() as b:
            for s in (a, b):
                s.execute(sql("SET LOCAL lock_timeout = '10s'"))
            held = claim(a, "console", T0, 4)
            also = claim(b, "console", T0, 4)  # the first still holds its 4 rows locked
            assert len(held) == len(also) == 4
            assert not {r.id for r in held} & {r.id for r in also}
            a.commit()
            b.commit()
        assert counts_now(first) == {"claimed": 8, "pending": 2}  # claimed: not yet handed to the platform (#16)
    finally:
        first.close()
        second.close()


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
