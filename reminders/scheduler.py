"""The clock of reminders: APScheduler ticks once a minute; the database says what is due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.app import App
from bot.db.engine import WRITER
from bot.db.outbox import recover_sending
from reminders.dispatch import DispatchStats, Sender, dispatch
from reminders.sweep import SweepResult, sweep

log = logging.getLogger(__name__)
JOB_ID = "planbot-tick"
LOCK_KEY = 0x706C616E626F74  # "planbot": one scheduler leader per PostgreSQL database (and schema)
LOCK = "hashtextextended(current_schema(), :k)"


@dataclass(frozen=True)
class Lane:
    """One channel's sender, with what holds its bulk sends back: while pause() is true (people are talking to the
    bot on that channel), one bulk send still goes every bulk_every seconds."""

    sender: Sender
    pause: Callable[[], bool] | None = None
    bulk_every: float | None = None


class Ticker:
    """Each tick: the leader sweeps the policy into the outbox; every instance dispatches what is due, on every
    channel at once (one Ticker per process, whatever channels it runs)."""

    def __init__(self, app: App, senders: Sequence[Sender | Lane], *, catch_up_workdays: int = 1,
                 pause: Callable[[], bool] | None = None, bulk_every: float | None = None) -> None:
        self.app, self.catch_up = app, catch_up_workdays
        # a bare sender takes pause and bulk_every from here
        self.lanes = [s if isinstance(s, Lane) else Lane(s, pause, bulk_every) for s in senders]
        self._lock_conn: Any = None
        self.scheduler: AsyncIOScheduler | None = None
        self._ticking: asyncio.Task[Any] | None = None
        self._closing = False
        self._recover = False  # set when a tick failed on the database
        self._jobs = 0  # ticks submitted by the scheduler and not yet finished
        self._no_jobs: asyncio.Event | None = None

    def is_leader(self) -> bool:
        """On PostgreSQL, whether this instance holds the advisory lock (taken on first ask, and asked again each
        time: when its connection has died, the server has released the lock, so this instance no longer leads
        until it takes the lock again); SQLite: always."""
        if self.app.engine.dialect.name != "postgresql":
            return True
        if self._lock_conn is not None:
            try:
                self._lock_conn.execute(text("SELECT 1")).scalar()
                self._lock_conn.commit()
                return True
            except DBAPIError:
                log.warning("the scheduler's leader lock connection was lost; taking the lock again if it is free")
                self._drop_lock_conn()
        try:
            conn = self.app.engine.connect()
        except DBAPIError:
            return False
        try:
            held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({LOCK})"), {"k": LOCK_KEY}).scalar())
            conn.commit()
        except DBAPIError:
            held = False
        if not held:
            conn.close()
            return False
        self._lock_conn = conn
        return True

    def _drop_lock_conn(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()  # a dead connection goes, not back to the pool
            with contextlib.suppress(Exception):
                conn.close()

    def sweep_now(self, now: datetime) -> SweepResult:
        """One sweep at now, in its own transaction (leader only)."""
        if not self.is_leader():
            return SweepResult()
        with self.app.uow.begin() as s:
            s.connection(execution_options={WRITER: True})  # it reads, then writes: take SQLite's write lock first
            return sweep(s, now, catch_up_workdays=self.catch_up, groups=self.app.settings.group_targets)

    async def tick(self) -> list[DispatchStats]:
        """Sweep (if leader), then dispatch every channel."""
        if self._closing:  # submitted just before aclose(): nothing to do
            return []
        self._ticking = asyncio.current_task()
        try:
            return await self._tick()
        except asyncio.CancelledError:
            if self._closing:  # stopped by aclose(): not an error (APScheduler would log it as one)
                return []
            raise

    async def _tick(self) -> list[DispatchStats]:
        try:
            if self._recover:  # a tick failed on the database: what it left claimed or 'sending' is settled now
                await asyncio.to_thread(self.recover)
                self._recover = False
            return await self._sweep_and_dispatch()
        except (DBAPIError, OSError) as e:
            self._recover = True
            log.warning("reminder tick failed on the database (%s); trying again on the next tick",
                        type(getattr(e, "orig", None) or e).__name__)
            return []

    def recover(self) -> int:
        """Give back rows left claimed (never sent) and make rows left 'sending' uncertain; how many."""
        with self.app.uow.begin() as s:
            stuck = recover_sending(s)
        if stuck:
            log.warning("%d messages were claimed or being sent when a run stopped: claimed ones are pending again, "
                        "those being sent are uncertain", stuck)
        return stuck

    async def _sweep_and_dispatch(self) -> list[DispatchStats]:
        result = await asyncio.to_thread(self.sweep_now, self.app.clock.now())
        log.log(logging.INFO if result.queued or result.missed else logging.DEBUG,
                "sweep: %d reminders, %d messages queued, %d missed", result.reminders, result.queued, result.missed)
        done = await asyncio.gather(*(  # every lane ends (giving back what it had not sent) before an error is raised
            dispatch(self.app.uow, lane.sender, self.app.clock.now, pause=lane.pause, bulk_every=lane.bulk_every)
            for lane in self.lanes), return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise outcome
        return [d for d in done if isinstance(d, DispatchStats)]

    def start(self) -> AsyncIOScheduler:
        """Recover rows a crashed instance left claimed or 'sending', then tick every minute from now."""
        self.recover()
        self.scheduler = AsyncIOScheduler(timezone=str(self.app.clock.tz))
        self._no_jobs = asyncio.Event()
        self._no_jobs.set()
        self.scheduler.add_listener(self._count_jobs, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self.scheduler.add_job(self.tick, "interval", minutes=1, id=JOB_ID, replace_existing=True, coalesce=True,
                               misfire_grace_time=600, max_instances=1, next_run_time=datetime.now(self.app.clock.tz))
        self.scheduler.start()
        return self.scheduler

    def _count_jobs(self, event: JobEvent) -> None:
        self._jobs += 1 if event.code == EVENT_JOB_SUBMITTED else -1
        if self._no_jobs is not None:
            self._no_jobs.clear() if self._jobs > 0 else self._no_jobs.set()

    def stop(self) -> None:
        """Stop ticking and release the leader lock (a lock whose connection is gone was released by the server)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._lock_conn is not None:  # pooled connections outlive close(): unlock explicitly
            try:
                self._lock_conn.execute(text(f"SELECT pg_advisory_unlock({LOCK})"), {"k": LOCK_KEY})
                self._lock_conn.commit()
                self._lock_conn.close()
                self._lock_conn = None
            except DBAPIError as e:
                log.warning("could not release the leader lock (%s): its connection is gone, and the lock with it",
                            type(e.orig or e).__name__)
                self._drop_lock_conn()

    async def aclose(self) -> None:
        """Stop ticking, cancel a tick under way (its dispatch gives back what it had not sent), release the lock."""
        self._closing = True
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.pause()  # no new ticks; one submitted already returns at once (see tick)
        ticking, self._ticking = self._ticking, None
        if ticking is not None and not ticking.done():
            ticking.cancel()
        if self._no_jobs is not None:  # let the scheduler see its ticks end (cancelled there, it logs an ERROR)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._no_jobs.wait(), 5)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        await asyncio.to_thread(self.stop)
