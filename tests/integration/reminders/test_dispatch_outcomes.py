"""The outbox dispatch on SQLite and PostgreSQL: outcomes written together, a stop or a crash mid-batch, several
dispatchers (and instances) at once, bulk sends while people talk."""

from __future__ import annotations

import asyncio
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
