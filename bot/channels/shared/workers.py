"""A channel's database work in a process of its own, fed over a pipe by the event loop.

In one process the event loop (python-telegram-bot, HTTP) and the database work (the router, which marks each
update handled in its own transaction) take turns on one core under the GIL. A DbProcess runs the router in a
child Python process instead, so the two use two cores. Requests and answers are length-prefixed pickles on the
child's stdin and stdout, read and written by asyncio streams: no thread of the parent's takes part, and the child
reads requests as fast as it can handle them. The child builds its own App on the parent's settings and clock; what
it does is the same code and the same transactions as in the parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import pickle
import signal
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import App
from bot.channels.shared.redaction import protect_logs
from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import relaxed_session_factory
from bot.db.inbox import Inbox
from bot.db.outbox import Outcome as OutboxOutcome
from bot.db.outbox import mark_sending
from bot.messages import Inbound, Outcome
from bot.services.plans import warm_plan
from handlers.router import Router
from reminders.dispatch import write_outcomes

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[3]
HEADER = struct.Struct(">I")


def in_memory(engine: Engine) -> bool:
    """True for an SQLite database in memory, which another process cannot open."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def process_count(engine: Engine, asked: int | None, configured: int | None) -> int:
    """How many database processes a channel runs: as asked, else as configured (PLANBOT_DB_PROCESSES), else 1 for
    SQLite (one writer), 2 otherwise, and 0 (threads) for an in-memory database no other process can open."""
    if asked is not None:
        return asked
    if configured is not None:
        return configured
    return 0 if in_memory(engine) else 1 if engine.dialect.name == "sqlite" else 2


class DbProcessGone(RuntimeError):
    """The database process ended; what was sent to it may or may not have been done (it is started again)."""


class DbProcess:
    """One child process doing a channel's database work; call() from the event loop, in any order, at once."""

    def __init__(self, settings: Settings, clock: Clock, telegram_username: str | None, channel: str, *,
                 hold_replies: bool = False) -> None:
        self.init = (settings, clock, telegram_username, channel, logging.getLogger().getEffectiveLevel(),
                     hold_replies)
        self.proc: asyncio.subprocess.Process | None = None
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()  # one start at a time (binds to the running loop on first use)
        self._stopping = False

    @property
    def busy(self) -> int:
        """Calls sent and not yet answered."""
        return len(self.waiting)

    async def start(self) -> None:
        """Start the child and wait until it has connected to the database (raises what it raised if it cannot)."""
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        self.proc = proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.channels.shared.workers", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, env=env, limit=2**24)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(frame(self.init))
        try:
            _, ok, value = pickle.loads(await read_frame(proc.stdout))
        except asyncio.IncompleteReadError:
            status = await proc.wait()
            ok, value = False, DbProcessGone(f"the database process ended at its start (exit status {status})")
        if not ok:
            await self._end(proc)
            raise value
        self.waiting = {}  # this child's calls: one that ends fails its own, not those sent to its successor
        self._reader = asyncio.create_task(self._read(proc, self.waiting))

    async def call(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        """Run fn(*args) in the child (fn: one of this module's worker functions); its result or its exception."""
        async with self._starting:
            if self.proc is None or self.proc.returncode is not None or self._reader is None or self._reader.done():
                await self.start()
        proc, waiting = self.proc, self.waiting
        assert proc is not None and proc.stdin is not None
        key = next(self.ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        waiting[key] = future
        try:
            proc.stdin.write(frame((key, fn.__name__, args)))
            await proc.stdin.drain()
        except (ConnectionError, BrokenPipeError) as e:
            waiting.pop(key, None)
            raise DbProcessGone(f"the database process ended ({type(e).__name__})") from None
        return await future

    async def _read(self, proc: asyncio.subprocess.Process, waiting: dict[int, asyncio.Future[Any]]) -> None:
        assert proc.stdout is not None
        try:
            while True:
                key, ok, value = pickle.loads(await read_frame(proc.stdout))
                future = waiting.pop(key, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError):
            if self._stopping:
                return
            log.error("the database process ended (exit status %s); it is started again on the next update",
                      await proc.wait())
        finally:
            for future in waiting.values():
                if not future.done():
                    future.set_exception(DbProcessGone("the database process ended"))
            waiting.clear()

    async def stop(self) -> None:
        """Let the child finish what it was sent, then end it."""
        self._stopping = True
        if self.proc is not None:
            await self._end(self.proc)
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    @staticmethod
    async def _end(proc: asyncio.subprocess.Process) -> None:
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 30)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def frame(obj: object) -> bytes:
    """obj pickled, after its length."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


async def read_frame(stream: asyncio.StreamReader) -> bytes:
    """The next frame's pickle from stream."""
    (size,) = HEADER.unpack(await stream.readexactly(HEADER.size))
    return await stream.readexactly(size)


# --- the child's side ------------------------------------------------------------------------------------------------
class _Child:
    """What the child process works with: its own App's router and inbox, and sessions for bookkeeping."""

    router: Router
    inbox: Inbox
    relaxed: sessionmaker[Session]


_child = _Child()


def handle(inbound: Inbound, update_id: str, now: datetime, raw: dict[str, Any]) -> Outcome:
    """Route one update, marking it handled in the same transaction (Inbox.claim)."""
    return _child.router.handle(inbound, functools.partial(_child.inbox.claim, update_id=update_id, now=now, raw=raw))


def store(updates: list[tuple[str, dict[str, Any]]], now: datetime) -> None:
    """Store received updates in the inbox (Inbox.store: with a full fsync, before they are acknowledged)."""
    _child.inbox.store(updates, now)


def mark(row_ids: list[int]) -> set[int]:
    """Mark held replies' outbox rows 'sending' (just before they leave); the ids marked."""
    with _child.relaxed.begin() as s:
        return mark_sending(s.connection(), row_ids)


def outcomes(written: list[OutboxOutcome]) -> None:
    """Write the outcomes of sent replies."""
    write_outcomes(_child.relaxed, written)


def cpu() -> float:
    """CPU seconds this process has used (for benchmarks)."""
    return time.process_time()


WORKER_FUNCTIONS: dict[str, Callable[..., Any]] = {f.__name__: f for f in (handle, store, mark, outcomes, cpu)}
# Taken before any update waiting to be routed: the channel waits on these to acknowledge updates and to send replies
URGENT = frozenset({"store", "mark", "outcomes"})


class SqliteWrites:
    """A channel's inbox stores and held replies' bookkeeping sent to its database process, on SQLite.

    SQLite takes one writer at a time, and the router's transactions hold the write lock for most of the database
    process's time: a write from another process waits in SQLite's busy handler, which sleeps 1, 2, 5, 10 ms ...
    between tries, and the router waits as long for it in turn (measured: 18% of the database process's time spent
    waiting for the lock). Written by the database process itself, ahead of the updates waiting to be routed, they
    never wait for a lock and never make it wait.
    """

    def __init__(self, workers: list[DbProcess]) -> None:
        self.workers = workers

    def _worker(self) -> DbProcess:
        return self.workers[0]

    def for_replies(self) -> dict[str, Any]:
        """DurableReplies' keyword arguments that write its marks and outcomes here."""
        return {"mark": self.mark, "write": self.outcomes}

    async def store(self, updates: list[tuple[str, dict[str, Any]]], now: datetime) -> None:
        """Inbox.store, in the database process."""
        await self._worker().call(store, updates, now)

    async def mark(self, row_ids: list[int]) -> set[int]:
        """The rows marked 'sending', in the database process."""
        marked: set[int] = await self._worker().call(mark, row_ids)
        return marked

    async def outcomes(self, written: list[OutboxOutcome]) -> None:
        """The outcomes written, in the database process."""
        await self._worker().call(outcomes, written)


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(head)
    return pickle.loads(stream.read(size))


def _answer(out: IO[bytes], key: int, ok: bool, value: object) -> None:
    try:
        data = frame((key, ok, value))
        if not ok:
            pickle.loads(data[HEADER.size:])  # some exceptions pickle but cannot be rebuilt from their pickle
    except Exception:  # an exception (or a result) that cannot be sent is sent as its description
        data = frame((key, False, RuntimeError(f"{type(value).__name__}: {value}")))
    out.write(data)
    out.flush()


def serve() -> None:
    """The child: read the parent's settings, connect, then answer calls until stdin closes."""
    inp, out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, not into the answers
    for sig in (signal.SIGINT, signal.SIGTERM):  # Ctrl+C or a service stop reaches the whole process group: the
        signal.signal(sig, signal.SIG_IGN)  # parent stops in order, and closing the pipe (or dying) ends the child
    settings, clock, username, channel, level, hold_replies = _read(inp)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if settings.telegram_token:
        protect_logs(settings.telegram_token)
    try:
        app = App.connect(settings, clock, username)
        _child.router, _child.inbox = Router(app, hold_replies=hold_replies), Inbox(app.uow, channel)
        _child.relaxed = relaxed_session_factory(app.engine)
        warm_plan(app.uow)  # parsed before the first update, not while it waits
    except Exception as e:
        _answer(out, 0, False, e)
        return
    _answer(out, 0, True, None)
    calls = Requests()
    threading.Thread(target=calls.read, args=(inp,), name="requests", daemon=True).start()
    while (call := calls.next()) is not None:
        key, name, args = call
        try:
            _answer(out, key, True, WORKER_FUNCTIONS[name](*args))
        except Exception as e:
            _answer(out, key, False, e)
    app.close()


class Requests:
    """The parent's requests, read as they come by a thread of their own: the urgent ones first, the others in
    their order; None once stdin has closed and every request read has been taken."""

    def __init__(self) -> None:
        self.urgent: deque[Any] = deque()
        self.others: deque[Any] = deque()
        self.closed = False
        self.ready = threading.Condition()

    def read(self, inp: IO[bytes]) -> None:
        """Read requests until stdin closes (the reading thread)."""
        try:
            while True:
                call = _read(inp)
                with self.ready:
                    (self.urgent if call[1] in URGENT else self.others).append(call)
                    self.ready.notify()
        except EOFError:
            pass
        finally:
            with self.ready:
                self.closed = True
                self.ready.notify()

    def next(self) -> Any:
        """The next request to answer (waiting for one), or None when there will be none."""
        with self.ready:
            while not (self.urgent or self.others or self.closed):
                self.ready.wait()
            if self.urgent:
                return self.urgent.popleft()
            if self.others:
                return self.others.popleft()
            return None


if __name__ == "__main__":
    serve()
