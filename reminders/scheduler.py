"""The clock of reminders: APScheduler ticks once a minute; the database says what is due."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text

from bot.app import App
from bot.db.engine import WRITER
from bot.db.outbox import recover_sending
from reminders.dispatch import DispatchStats, Sender, dispatch
from reminders.sweep import SweepResult, sweep

log = logging.getLogger(__name__)
JOB_ID = "planbot-tick"
LOCK_KEY = 0x706C616E626F74  # "planbot": one scheduler leader per PostgreSQL database


class Ticker:
    """Each tick: the leader sweeps the policy into the outbox; every instance dispatches what is due."""

    def __init__(self, app: App, senders: list[Sender], *, catch_up_workdays: int = 1,
                 pause: Callable[[], bool] | None = None) -> None:
        self.app, self.senders, self.catch_up, self.pause = app, senders, catch_up_workdays, pause
        self._lock_conn: Any = None
        self.scheduler: AsyncIOScheduler | None = None

    def is_leader(self) -> bool:
        """On PostgreSQL, whether this instance holds the advisory lock (taken on first ask); SQLite: always."""
        if self.app.engine.dialect.name != "postgresql":
            return True
        if self._lock_conn is None:
            conn = self.app.engine.connect()
            held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar())
            conn.commit()
            if not held:
                conn.close()
                return False
            self._lock_conn = conn
        return True

    def sweep_now(self, now: datetime) -> SweepResult:
        """One sweep at now, in its own transaction (leader only)."""
        if not self.is_leader():
            return SweepResult()
        with self.app.uow.begin() as s:
            s.connection(execution_options={WRITER: True})  # it reads, then writes: take SQLite's write lock first
            return sweep(s, now, catch_up_workdays=self.catch_up)

    async def tick(self) -> list[DispatchStats]:
        """Sweep (if leader), then dispatch every channel."""
        result = await asyncio.to_thread(self.sweep_now, self.app.clock.now())
        if result.queued or result.missed:
            log.info("sweep: %d reminders, %d messages queued, %d missed", result.reminders, result.queued,
                     result.missed)
        return [await dispatch(self.app.uow, sender, self.app.clock.now, pause=self.pause) for sender in self.senders]

    def start(self) -> AsyncIOScheduler:
        """Recover rows a crashed instance left 'sending', then tick every minute from now."""
        with self.app.uow.begin() as s:
            stuck = recover_sending(s)
        if stuck:
            log.warning("%d messages were being sent when the last run stopped: marked uncertain", stuck)
        self.scheduler = AsyncIOScheduler(timezone=str(self.app.clock.tz))
        self.scheduler.add_job(self.tick, "interval", minutes=1, id=JOB_ID, replace_existing=True, coalesce=True,
                               misfire_grace_time=600, max_instances=1, next_run_time=datetime.now(self.app.clock.tz))
        self.scheduler.start()
        return self.scheduler

    def stop(self) -> None:
        """Stop ticking and release the leader lock."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._lock_conn is not None:  # pooled connections outlive close(): unlock explicitly
            self._lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
            self._lock_conn.commit()
            self._lock_conn.close()
            self._lock_conn = None
