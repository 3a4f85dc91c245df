#!/usr/bin/env python3
"""Broadcast throughput: one notice to N unit contacts, pushed through the outbox and the dispatcher to Telegram.

The fake Bot API (tests/fakes/bot_api.py, in a process of its own) enforces a global ceiling of C messages a
second (fake.max_per_second = C: a sliding 1-second window, 429 with retry_after beyond it). planbot is configured
the way an operator would configure it for that ceiling: TELEGRAM_MAX_RATE = R = RATE_FRACTION x C, read back
through Settings.from_env and handed to FloodLimiter(overall_per_second=R), as bot/cli/reminders.py and
bot/channels/telegram.py do.

Per ceiling, in a fresh database each time (not timed): the Panjin plan (the default plan file), N persons with a
telegram identity (external_id = chat_id = 1,000,000 + i: distinct private chats) and the contact role for a unit
(round-robin over the plan's units), inserted in bulk; then one notice to "role:contact" via
bot.notices.broadcast. Timed, in a fresh process of its own: reminders.dispatch.dispatch() (planbot's default
batch and concurrency) with the TelegramSender over a LeanBot (an ExtBot) with the FloodLimiter and the sender's
AiohttpRequest (bot/channels/telegram/transport.py: aiohttp, 32 kept-alive connections;
--transport sharded for the httpx-based ShardedRequest, 4 pools of 4; --pool N for the previous plain
HTTPXRequest(connection_pool_size=N)). With --processes P, P such processes dispatch the one notice together
(claims are atomic: SKIP LOCKED on PostgreSQL, one UPDATE ... RETURNING on SQLite), each paced at R / P, started
together; elapsed runs from the first start to the last end. The same is then done with 100 recipients.

Targets: achieved rate (messages delivered / elapsed) >= 0.9 x C; no 429 from the fake; peak RSS growth of the
dispatcher process during dispatch() for N recipients at most 10 MB above that for 100 recipients (a fresh process
per run, so neither the setup nor another run shares its heap; the kernel's VmHWM, reset as dispatch() starts;
summed over the processes with --processes; --tracemalloc adds the traced Python peak, at the cost of a much
slower dispatch). Checks: every recipient got exactly one message (the fake's sendMessage chat ids
are the N expected ones, no repeats) and every outbox row is 'sent'. A run that exceeds N / C x 2 + 60 seconds is
aborted and reported with what it delivered by then.

Also printed per run: CPU time of the dispatcher process (and of its event-loop thread) and of the fake, per
message, and the 1-minute load average, since other work on the machine changes the figures.

    .venv/bin/python bench/broadcast.py                  # 10,000 recipients at 30/s and 1,000/s, temp SQLite
    .venv/bin/python bench/broadcast.py --quick          # 300 at 30/s and 1,000 at 1,000/s (CI smoke)
    .venv/bin/python bench/broadcast.py --ceilings 1000 --database postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/broadcast.py --ceilings 1000 --processes 2   # two dispatcher processes share the notice
    .venv/bin/python bench/broadcast.py --ceilings 1000 --recipients 2000 --breakdown --baseline   # diagnosis

Exit status: 0 PASS, 1 FAIL (a target missed), 2 error, wrong delivery or timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from common import BenchError, Timings, database, install_sniffio_stub, load_average, quiet
from sqlalchemy import insert, select
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.telegram.channel import LeanBot, base_url
from bot.channels.telegram.limits import FloodLimiter
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.transport import AiohttpRequest, ShardedRequest
from bot.config import Settings, _redact_url
from bot.db.chat_models import IdentityRow, PersonRow, RoleRow
from bot.db.models import UnitRow
from bot.db.outbox import counts
from bot.services.notices import broadcast
from bot.services.plans import active_plan
from reminders.dispatch import dispatch

TOKEN = "535353:BENCH-broadcast-token"
NOW = "2018-10-09T10:00:00+08:00"  # a Tuesday morning: outside quiet hours, so bulk notices go out
FIRST_CHAT = 1_000_000
TEXT = "请各单位联络员于本周五前报送第三季度数据。"
RATE_FRACTION = 0.95        # TELEGRAM_MAX_RATE = 0.95 x the ceiling Telegram enforces
TARGET_FRACTION = 0.9       # achieved rate >= 0.9 x the ceiling
TARGET_429 = 0
TARGET_MEMORY_MB = 10.0     # peak growth(N) - peak growth(100) <= 10 MB
SMALL = 100                 # the memory comparison run
DEFAULT_BATCH, DEFAULT_CONCURRENCY = 100, 50  # dispatch()'s defaults, which the scheduler and the CLI use

quiet()


# --- the fake Bot API, in a process of its own -----------------------------------------------------------------------
def fake_side(conn: Any) -> None:
    """Serve the fake Bot API; answer the bench's requests over the pipe until "stop"."""
    quiet()
    from starlette.requests import ClientDisconnect

    from fakes import FakeBotApi

    def not_a_disconnect(record: logging.LogRecord) -> bool:  # a run aborted at its time limit hangs up mid-call
        return not (record.exc_info and isinstance(record.exc_info[1], ClientDisconnect))

    logging.getLogger("uvicorn.error").addFilter(not_a_disconnect)
    fake = FakeBotApi(TOKEN, every_chat_known=True).start()  # recipients started the bot earlier
    try:
        conn.send(fake.base_url)
        while True:
            msg = conn.recv()
            if msg[0] == "ceiling":
                fake.max_per_second = msg[1]
                conn.send(True)
            elif msg[0] == "cpu":
                conn.send(time.process_time())
            elif msg[0] == "report":
                sent = fake.sent()
                conn.send(([int(s["chat_id"]) for s in sent if s["method"] == "sendMessage"],
                           fake.too_many_requests, Counter(name for name, _ in fake.calls)))
            else:
                return
    except (EOFError, BrokenPipeError):
        pass
    finally:
        fake.stop()


class FakeProcess:
    """The fake Bot API in a spawned process: planbot's process keeps its core, its GIL and its memory to itself."""

    def __init__(self, in_process: bool = False) -> None:
        self.conn, child = multiprocessing.Pipe()
        self.worker: Any = (threading.Thread(target=fake_side, args=(child,), daemon=True) if in_process else
                            multiprocessing.get_context("spawn").Process(target=fake_side, args=(child,),
                                                                         name="bench-fake", daemon=True))

    def start(self) -> str:
        self.worker.start()
        return str(self._recv(60))

    def set_ceiling(self, per_second: float) -> None:
        self.conn.send(("ceiling", per_second))
        self._recv(10)

    def cpu(self) -> float:
        self.conn.send(("cpu",))
        return float(self._recv(10))

    def report(self) -> tuple[list[int], int, Counter[str]]:
        self.conn.send(("report",))
        return self._recv(60)  # type: ignore[no-any-return]

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self.conn.send(("stop",))
        self.worker.join(15)
        if isinstance(self.worker, multiprocessing.process.BaseProcess) and self.worker.is_alive():
            self.worker.kill()

    def _recv(self, timeout: float) -> Any:
        if not self.conn.poll(timeout):
            raise BenchError(f"the fake Bot API process did not answer within {timeout:.0f} s")
        return self.conn.recv()


# --- setup: people and the notice (not timed) ------------------------------------------------------------------------
def create_people(app: App, n: int, now: datetime) -> None:
    """N persons, each with a telegram identity in its own private chat and the contact role for a unit
    (round-robin over the plan's units), inserted in three bulk statements."""
    with app.uow.begin() as s:
        plan_row, plan = active_plan(s)
        unit_ids = {u.code: u.id for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == plan_row.id))}
        units = [unit_ids[u.code] for u in plan.units]
        person_ids = list(s.scalars(
            insert(PersonRow).returning(PersonRow.id, sort_by_parameter_order=True),
            [{"display_name": f"联络员 {i:05d}", "lang": None, "created_at": now, "active": True}
             for i in range(n)]))
        s.execute(insert(IdentityRow), [
            {"person_id": pid, "channel": "telegram", "external_id": str(FIRST_CHAT + i),
             "chat_id": str(FIRST_CHAT + i)} for i, pid in enumerate(person_ids)])
        s.execute(insert(RoleRow), [
            {"person_id": pid, "role": "contact", "unit_id": units[i % len(units)], "granted_at": now,
             "granted_by": "bench"} for i, pid in enumerate(person_ids)])


def queue_notice(app: App, now: datetime) -> int:
    """One notice to all unit contacts, queued through bot.notices.broadcast; returns its recipients."""
    with app.uow.begin() as s:
        plan_row, plan = active_plan(s)
        notice = broadcast(s, plan_row, plan, TEXT, "role:contact", "bench-admin", now)
        return notice.recipients


# --- measuring ------------------------------------------------------------------------------------------------------
def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int | None:
    """The kernel's peak resident set size of this process (VmHWM), or None where /proc does not have it."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


class RssSampler:
    """Peak resident set size of this process: the kernel's own high-water mark (VmHWM), reset at the start by
    writing 5 to /proc/self/clear_refs, so measuring costs nothing; where that is not possible, sampled every 5 ms
    by a thread (which costs the dispatcher CPU and GIL time)."""

    def __init__(self) -> None:
        self.start = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.how = "the kernel's peak RSS (VmHWM, reset at the start)"

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> RssSampler:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            if peak_rss_bytes() is None:
                raise OSError("no VmHWM")
        except OSError:
            self.how = "RSS sampled every 5 ms"
            self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
            self._thread.start()
        self.start = self.peak = rss_bytes()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        self.peak = max(self.peak, rss_bytes(), peak_rss_bytes() or 0)

    @property
    def growth(self) -> int:
        return self.peak - self.start


class SqliteMemory:
    """SQLite's own allocations in this process (page caches of every connection, ...), which RSS includes and
    tracemalloc does not see: sqlite3_memory_used / sqlite3_memory_highwater from the linked libsqlite3."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        self.lib: Any = None
        with contextlib.suppress(OSError, TypeError, AttributeError):
            lib = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
            lib.sqlite3_memory_used.restype = lib.sqlite3_memory_highwater.restype = ctypes.c_int64
            self.lib = lib
        self.start = 0

    def reset(self) -> None:
        if self.lib is not None:
            self.start = self.lib.sqlite3_memory_used()
            self.lib.sqlite3_memory_highwater(1)

    def peak_growth(self) -> int | None:
        return None if self.lib is None else int(self.lib.sqlite3_memory_highwater(0)) - self.start


class Breakdown(Timings):
    """DIAGNOSTIC: where the dispatcher's time goes, gathered by wrapping its steps in this process (no file is
    changed): claims and per-row outcome records (waiting for a worker thread vs running, CPU), the flood
    limiter's wait vs the HTTP call, and when each request started."""

    def __init__(self) -> None:
        super().__init__()
        self.send_times: list[float] = []
        self._undo: list[Callable[[], None]] = []

    def install(self, limiter: FloodLimiter) -> None:
        original_to_thread = asyncio.to_thread
        bd = self

        async def to_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
            return await original_to_thread(bd.queued(fn, getattr(fn, "__name__", repr(fn))), *args, **kwargs)

        asyncio.to_thread = to_thread  # type: ignore[assignment]  # reminders.dispatch calls asyncio.to_thread
        self._undo.append(lambda: setattr(asyncio, "to_thread", original_to_thread))
        self._undo.append(self.watch_limiter(limiter, self.send_times))

    def uninstall(self) -> None:
        for undo in reversed(self._undo):
            undo()

    def report(self, seconds: float) -> list[str]:
        out = ["breakdown (ms; 'wait' = queued for a worker thread, or in the flood limiter):"]
        for key, rows, cols, mean, p95 in self.columns():
            if len(cols) == 3:
                out.append(f"  {key:<16} n={len(rows):6d}  wait {mean[0]:7.2f} (p95 {p95[0]:7.2f})  "
                           f"run {mean[1]:6.2f} (p95 {p95[1]:6.2f})  cpu {mean[2]:5.2f}; all runs together "
                           f"{sum(cols[1]):6.2f} s = {sum(cols[1]) / seconds:4.2f} threads busy")
            else:
                out.append(f"  {key:<16} n={len(rows):6d}  limiter wait {mean[0]:8.2f} (p95 {p95[0]:8.2f})  "
                           f"http {mean[1]:6.2f} (p95 {p95[1]:6.2f})")
        if len(self.send_times) > 1:
            t0 = self.send_times[0]
            per_second = Counter(int(t - t0) for t in self.send_times)
            full = [per_second.get(i, 0) for i in range(max(per_second))]  # the last second is partial
            if full:
                out.append(f"  requests started per second: min {min(full)}, median {statistics.median(full):.0f}, "
                           f"max {max(full)}; first {min(10, len(full))} s: {full[:10]}")
            j = most = 0
            for i, t in enumerate(self.send_times):  # HTTP attempts (429s and retries included) per sliding second
                while self.send_times[j] <= t - 1.0:
                    j += 1
                most = max(most, i - j + 1)
            out.append(f"  most HTTP attempts started in any 1-second window: {most} (of {len(self.send_times)})")
            gaps = sorted(b - a for a, b in zip(self.send_times, self.send_times[1:], strict=False))
            big = [g for g in gaps if g > 0.05]
            out.append(f"  gap between request starts: median {1000 * gaps[len(gaps) // 2]:.2f} ms, "
                       f"p99 {1000 * gaps[int(0.99 * (len(gaps) - 1))]:.1f} ms, max {1000 * gaps[-1]:.1f} ms; "
                       f"{len(big)} gaps > 50 ms totalling {sum(big):.2f} s")
        return out


@dataclass
class Result:
    """What one run measured."""

    ceiling: float
    recipients: int
    rate_setting: float = 0.0
    setup_s: float = 0.0
    broadcast_s: float = 0.0
    seconds: float = 0.0
    delivered: int = 0
    too_many: int = 0
    sent_stat: int = 0
    retried: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    rss_start: int = 0
    rss_growth: int = 0
    traced_peak: int | None = None   # tracemalloc peak above its start, bytes (--tracemalloc)
    sqlite_peak: int | None = None   # SQLite's own allocations: peak above the start, bytes
    chat_limiters: int = 0           # per-chat limiters the FloodLimiter held at the end
    cpu_s: float = 0.0               # the dispatcher process, all threads
    loop_cpu_s: float = 0.0          # its event-loop thread
    fake_cpu_s: float = 0.0          # the fake Bot API process
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    aborted: str | None = None       # the time limit was hit: dispatch() was cancelled
    processes: int = 1               # dispatcher processes sharing the work (and the ceiling)
    started: float = 0.0             # wall clock (time.time) when dispatch() started / ended
    ended: float = 0.0
    rss_each: list[int] = field(default_factory=list)  # peak RSS growth of each dispatcher process
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else 0.0


def make_request(options: dict[str, Any]) -> Any:
    """The sender's HTTP transport: planbot's AiohttpRequest (what sending_bot() uses), the httpx-based ShardedRequest
    (shards x connections), or with --pool one plain HTTPXRequest(connection_pool_size=pool) as before (httpx keeps
    at most 20 idle connections of it alive)."""
    if options["pool"]:
        return HTTPXRequest(connection_pool_size=options["pool"])
    if options["transport"] == "sharded":
        return ShardedRequest(options["shards"], options["connections"])
    return AiohttpRequest(options["shards"] * options["connections"])


async def timed_dispatch(options: dict[str, Any], result: Result, limit_s: float) -> None:
    """The timed part, in the dispatcher process: dispatch() with a TelegramSender over a LeanBot paced by the
    FloodLimiter, configured from the environment as planbot configures it."""
    app = bootstrap(Settings.from_env(options["env"]), ensure_plan=False)
    try:
        result.rate_setting = app.settings.telegram_max_rate
        rate = app.settings.telegram_max_rate / options["processes"]  # the processes share the ceiling
        result.rate_setting = rate
        limiter = FloodLimiter(overall_per_second=rate, server_window=options.get("server_window", True))
        request = make_request(options)  # an AiohttpRequest: the limiter takes the pace slot at the wire (connection())
        bot = LeanBot(TOKEN, base_url=base_url(app.settings.telegram_api_url), rate_limiter=limiter, request=request)
        async with bot:  # getMe: not timed
            ready = options.get("ready")
            if ready is not None:  # several dispatcher processes: start together
                await asyncio.to_thread(ready)
            breakdown = Breakdown() if options["breakdown"] else None
            if breakdown is not None:
                breakdown.install(limiter)
            profiler = None
            if options["profile"]:
                import cProfile

                profiler = cProfile.Profile()
            gc.collect()
            if options["tracemalloc"]:
                tracemalloc.start()
            traced_start = tracemalloc.get_traced_memory()[0] if options["tracemalloc"] else 0
            result.load = (load_average(), 0.0)
            sqlite_memory = SqliteMemory()
            sqlite_memory.reset()
            try:
                with RssSampler() as rss:
                    if profiler is not None:
                        profiler.enable()
                    cpu, loop_cpu, t0 = time.process_time(), time.thread_time(), time.perf_counter()
                    result.started = time.time()
                    stats = None
                    try:
                        stats = await asyncio.wait_for(
                            dispatch(app.uow, TelegramSender(bot), app.clock.now, batch=options["batch"],
                                     concurrency=options["concurrency"]), limit_s)
                    except TimeoutError:  # dispatch() is cancelled; what it delivered so far is counted
                        result.aborted = (f"ABORTED: dispatching {result.recipients} messages at a "
                                          f"{result.ceiling:g}/s ceiling took more than {limit_s:.0f} s "
                                          "(the limit: N / ceiling x 2 + 60 s)")
                    result.seconds = time.perf_counter() - t0
                    result.ended = time.time()
                    result.cpu_s, result.loop_cpu_s = time.process_time() - cpu, time.thread_time() - loop_cpu
                    if profiler is not None:
                        profiler.disable()
                if options["tracemalloc"]:
                    result.traced_peak = tracemalloc.get_traced_memory()[1] - traced_start
            finally:
                if options["tracemalloc"]:
                    tracemalloc.stop()
                if breakdown is not None:
                    breakdown.uninstall()
            result.load = (result.load[0], load_average())
            if options.get("diag_uvloop"):
                result.notes.append(f"event loop: {type(asyncio.get_running_loop()).__module__}")
            result.rss_start, result.rss_growth = rss.start, rss.growth
            if app.engine.dialect.name == "sqlite":
                result.sqlite_peak = sqlite_memory.peak_growth()
            result.chat_limiters = len(limiter._chats or ())
            if stats is not None:
                result.sent_stat, result.retried = stats.sent, stats.retried
                if stats.failed or stats.uncertain or stats.blocked or stats.retried:
                    result.notes.append(f"dispatch stats: {stats}")
            if breakdown is not None:
                result.notes += breakdown.report(result.seconds)
            if profiler is not None:
                path = f"{options['profile']}.{result.ceiling:g}.{result.recipients}"
                profiler.dump_stats(path)
                result.notes.append(f"cProfile of the event-loop thread written to {path}")
    finally:
        app.close()


async def bare_client(options: dict[str, Any], result: Result, limit_s: float) -> None:
    """The baseline: python-telegram-bot alone (no database, no flood limiter), the same ExtBot request setup
    and the same number of sends in flight, against the same fake without a ceiling: what this machine's HTTP
    client side can do at all."""
    bot: ExtBot[Any] = ExtBot(TOKEN, base_url=base_url(options["env"]["TELEGRAM_API_URL"]),
                              request=make_request(options))
    async with bot:
        gate = asyncio.Semaphore(options["concurrency"])

        async def one(i: int) -> None:
            async with gate:
                await bot.send_message(FIRST_CHAT + i, TEXT)

        gc.collect()
        cpu, loop_cpu, t0 = time.process_time(), time.thread_time(), time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(result.recipients))), limit_s)
        result.seconds = time.perf_counter() - t0
        result.cpu_s, result.loop_cpu_s = time.process_time() - cpu, time.thread_time() - loop_cpu
        result.sent_stat = result.recipients


def dispatcher_side(conn: Any, options: dict[str, Any], fields: dict[str, Any], limit_s: float) -> None:
    """A fresh process for each timed dispatch: its memory is not that of the setup or of another run."""
    result = Result(**fields)
    parent = os.getppid()

    def watch_parent() -> None:  # the bench was killed: do not go on sending on its behalf
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(3)

    threading.Thread(target=watch_parent, name="bench-watch-parent", daemon=True).start()
    quiet()
    if options["diag_sniffio"]:
        install_sniffio_stub()

    def ready() -> None:  # tell the bench this process is set up, and wait for the word to start
        conn.send(("ready", None))
        if not conn.poll(120):
            raise BenchError("no start signal from the bench")
        conn.recv()

    if options.get("processes", 1) > 1:
        options = dict(options, ready=ready)
    try:
        main = (bare_client if options.get("bare") else timed_dispatch)(options, result, limit_s)
        if options.get("diag_uvloop"):
            import uvloop  # not a planbot dependency: pip install uvloop first

            uvloop.run(main)
        else:
            asyncio.run(main)
    except BenchError as e:
        conn.send(("error", str(e)))
    except Exception as e:  # reported by the bench
        import traceback

        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    else:
        conn.send(("ok", dataclasses.asdict(result)))  # plain data: this module is __mp_main__ here


def run_dispatcher(options: dict[str, Any], result: Result, limit_s: float) -> Result:
    """The timed dispatch in options["processes"] fresh processes (default 1), started together; their figures
    combined: elapsed from the first start to the last end, CPU and memory growth summed."""
    n = options.get("processes", 1)
    ctx = multiprocessing.get_context("spawn")
    pipes, procs = [], []
    for i in range(n):
        conn, child = multiprocessing.Pipe()
        proc = ctx.Process(target=dispatcher_side, args=(child, options, dataclasses.asdict(result), limit_s),
                           name=f"bench-dispatcher-{i}", daemon=True)
        proc.start()
        pipes.append(conn)
        procs.append(proc)
    try:
        answers = []
        if n > 1:
            for conn in pipes:
                answers.append(_answer(conn, 120))
            if any(tag != "ready" for tag, _ in answers):
                raise BenchError(next(str(p) for tag, p in answers if tag != "ready"))
            for conn in pipes:
                conn.send("go")
            answers = []
        for conn in pipes:  # each child aborts itself at limit_s; this is the backstop
            answers.append(_answer(conn, limit_s + 90))
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    for tag, payload in answers:
        if tag != "ok":
            raise BenchError(payload)
    parts = [Result(**payload) for _, payload in answers]
    if n == 1:
        parts[0].rss_each = [parts[0].rss_growth]
        return parts[0]
    first = parts[0]
    combined = dataclasses.replace(
        first, processes=n, started=min(p.started for p in parts), ended=max(p.ended for p in parts),
        rate_setting=sum(p.rate_setting for p in parts), cpu_s=sum(p.cpu_s for p in parts),
        loop_cpu_s=sum(p.loop_cpu_s for p in parts), rss_growth=sum(p.rss_growth for p in parts),
        rss_each=[p.rss_growth for p in parts], sent_stat=sum(p.sent_stat for p in parts),
        retried=sum(p.retried for p in parts), chat_limiters=sum(p.chat_limiters for p in parts),
        sqlite_peak=None if first.sqlite_peak is None else sum(p.sqlite_peak or 0 for p in parts),
        load=(first.load[0], max(p.load[1] for p in parts)),
        aborted=next((p.aborted for p in parts if p.aborted), None),
        notes=[f"process {i}: {p.seconds:.2f} s, {p.sent_stat} sent, CPU {p.cpu_s:.2f} s, RSS peak "
               f"+{mb(p.rss_growth)}" for i, p in enumerate(parts)] + [x for p in parts for x in p.notes])
    combined.seconds = combined.ended - combined.started
    return combined


def _answer(conn: Any, timeout: float) -> tuple[str, Any]:
    try:
        if not conn.poll(timeout):
            raise BenchError(f"TIMEOUT: a dispatcher process gave no answer within {timeout:.0f} s; killed")
        return conn.recv()  # type: ignore[no-any-return]
    except EOFError:
        raise BenchError("a dispatcher process died") from None


def run_one(args: argparse.Namespace, tmp: Path, ceiling: float, n: int) -> Result:
    """Fresh database and fake; setup here; the timed dispatch in a fresh process; then the checks here."""
    result = Result(ceiling, n)
    limit_s = n / ceiling * 2 + 60
    now = datetime.fromisoformat(NOW)  # rows are due at NOW; the dispatcher's simulated clock starts there
    with database(args.database, tmp, f"bc{ceiling:g}_{n}") as url:
        fake = FakeProcess(args.fake_in_process)
        app: App | None = None
        try:
            fake_url = fake.start()
            env = {"PLANBOT_DATABASE_URL": url, "PLANBOT_DATA_DIR": str(tmp / "data"), "PLANBOT_NOW": NOW,
                   "PLANBOT_LANG": "zh", "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": fake_url,
                   "TELEGRAM_MAX_RATE": f"{RATE_FRACTION * ceiling:g}"}
            t = time.perf_counter()
            app = bootstrap(Settings.from_env(env))  # migrations and the default (Panjin) plan
            create_people(app, n, now)
            result.setup_s = time.perf_counter() - t
            t = time.perf_counter()
            queued = queue_notice(app, now)
            result.broadcast_s = time.perf_counter() - t
            if queued != n:
                raise BenchError(f"broadcast queued {queued} messages, expected {n}")
            fake.set_ceiling(ceiling)
            fake_cpu = fake.cpu()
            options = {"env": env, "pool": args.pool, "shards": args.shards, "connections": args.connections,
                       "transport": args.transport,
                       "processes": args.processes, "batch": args.batch,
                       "concurrency": args.concurrency, "breakdown": args.breakdown, "profile": args.profile,
                       "tracemalloc": args.tracemalloc, "diag_sniffio": args.diag_sniffio,
                       "diag_uvloop": args.diag_uvloop,
                       "server_window": not args.diag_no_server_window}
            result = run_dispatcher(options, result, limit_s)
            result.fake_cpu_s = fake.cpu() - fake_cpu
            chats, result.too_many, calls = fake.report()
            result.delivered = len(chats)
            with app.uow() as s:
                result.statuses = counts(s)
            if result.aborted:
                result.notes.append(f"{result.aborted}: {result.delivered} of {n} delivered by then; outbox "
                                    f"{result.statuses}; delivery checks skipped")
                return result
            expected = {FIRST_CHAT + i for i in range(n)}
            dupes = len(chats) - len(set(chats))
            if dupes or set(chats) != expected:
                raise BenchError(f"wrong delivery: {len(chats)} messages to {len(set(chats))} chats ({dupes} "
                                 f"duplicates, {len(expected - set(chats))} recipients missed)")
            if result.statuses != {"sent": n}:
                raise BenchError(f"outbox rows by status {result.statuses}, expected all {n} 'sent'")
            if calls.get("sendMessage", 0) != n + result.too_many:
                result.notes.append(f"sendMessage calls {calls.get('sendMessage', 0)} (incl. {result.too_many} "
                                    "answered 429)")
        finally:
            if app is not None:
                app.close()
            fake.stop()
    return result


def run_baseline(args: argparse.Namespace, n: int) -> Result:
    """The bare-client baseline in a fresh process, against a fresh fake without a ceiling."""
    result = Result(0, n)
    fake = FakeProcess(args.fake_in_process)
    try:
        fake_url = fake.start()
        fake_cpu = fake.cpu()
        options = {"env": {"TELEGRAM_API_URL": fake_url}, "pool": args.pool, "shards": args.shards,
                   "transport": args.transport,
                   "connections": args.connections, "concurrency": args.concurrency,
                   "bare": True, "diag_sniffio": args.diag_sniffio}
        result = run_dispatcher(options, result, n / 10 + 60)
        result.fake_cpu_s = fake.cpu() - fake_cpu
        chats, result.too_many, _ = fake.report()
        result.delivered = len(chats)
    finally:
        fake.stop()
    return result


# --- main -----------------------------------------------------------------------------------------------------------
def mb(x: float | None) -> str:
    return "-" if x is None else f"{x / 2**20:.1f} MB"


def describe(r: Result) -> list[str]:
    per = 1000 / max(1, r.delivered)
    lines = [f"setup {r.setup_s:.1f} s (bootstrap + {r.recipients} people in bulk), broadcast() {r.broadcast_s:.1f} s",
             f"dispatch {r.seconds:.2f} s: {r.delivered} delivered = {r.rate:.1f}/s = {r.rate / r.ceiling:.3f} x "
             f"ceiling (TELEGRAM_MAX_RATE {r.rate_setting:g} = {r.rate_setting / r.ceiling:.2f} x); 429s {r.too_many}",
             f"memory: RSS {mb(r.rss_start)} at the start, peak +{mb(r.rss_growth)}; of which SQLite's own "
             f"allocations (page caches) peak +{mb(r.sqlite_peak)}"
             + (f"; tracemalloc peak +{mb(r.traced_peak)}" if r.traced_peak is not None else "")
             + f"; FloodLimiter per-chat limiters at the end: {r.chat_limiters}",
             f"CPU: dispatcher process {r.cpu_s:.2f} s ({per * r.cpu_s:.2f} ms/message; event-loop thread "
             f"{per * r.loop_cpu_s:.2f} ms/message), fake Bot API {per * r.fake_cpu_s:.2f} ms/message; "
             f"load average {r.load[0]:.2f} -> {r.load[1]:.2f}"]
    return lines + r.notes


def main_runs(args: argparse.Namespace) -> int:
    print(f"bench/broadcast.py: {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}, "
          f"started {datetime.now().isoformat(timespec='seconds')}, load average {load_average():.2f}")
    print(f"planbot: TELEGRAM_MAX_RATE = {RATE_FRACTION} x ceiling -> FloodLimiter(overall_per_second="
          f"TELEGRAM_MAX_RATE) (other arguments default); dispatch(batch={args.batch}, concurrency="
          f"{args.concurrency}); " + (f"HTTPXRequest(connection_pool_size={args.pool})" if args.pool else
                                      f"ShardedRequest(shards={args.shards}, connections={args.connections})"
                                      if args.transport == "sharded" else
                                      f"AiohttpRequest(connections={args.shards * args.connections})")
          + (f"; {args.processes} dispatcher processes, each FloodLimiter at TELEGRAM_MAX_RATE / {args.processes}"
             if args.processes > 1 else ""))
    print("processes: setup and checks here; each timed dispatch in a fresh process; the fake Bot API in "
          + ("a thread of the setup process (--fake-in-process)" if args.fake_in_process else "a process of its own"))
    print("memory: " + ("--tracemalloc: the target compares the traced Python peak plus SQLite's own peak; "
                        "tracing slows every allocation, so this run's rates are NOT representative"
                        if args.tracemalloc else
                        "the target compares the peak RSS growth of the dispatcher process during dispatch() "
                        "(the kernel's VmHWM, reset when dispatch() starts)"))
    if args.diag_sniffio:
        print("DIAGNOSTIC --diag-sniffio: a stand-in sniffio module is installed in the dispatcher process")
    with tempfile.TemporaryDirectory(prefix="planbot-bench-bc-") as tmpdir:
        tmp = Path(tmpdir)
        where = (_redact_url(args.database) + " (an own schema per run)" if args.database
                 else f"SQLite, a new file per run in {tmpdir}")
        print(f"database: {where}")
        print()
        results: list[tuple[Result, Result]] = []
        for ceiling, n in args.plan:
            pair = []
            for size in (n, SMALL):
                print(f"== ceiling {ceiling:g}/s, {size} recipients (time limit {size / ceiling * 2 + 60:.0f} s)",
                      flush=True)
                r = run_one(args, tmp, ceiling, size)
                for line in describe(r):
                    print(f"   {line}", flush=True)
                pair.append(r)
            results.append((pair[0], pair[1]))
        if args.baseline:
            n = min(args.plan[-1][1], 2000)
            print(f"== baseline: bare python-telegram-bot client, {n} sends, no database, no flood limiter, "
                  f"{args.concurrency} in flight, no ceiling", flush=True)
            b = run_baseline(args, n)
            per = 1000 / max(1, b.delivered)
            print(f"   {b.delivered} delivered in {b.seconds:.2f} s = {b.rate:.1f}/s; CPU: client process "
                  f"{per * b.cpu_s:.2f} ms/message (event-loop thread {per * b.loop_cpu_s:.2f}), fake Bot API "
                  f"{per * b.fake_cpu_s:.2f} ms/message", flush=True)
        return verdict(args, results)


def verdict(args: argparse.Namespace, results: list[tuple[Result, Result]]) -> int:
    db = "postgresql" if args.database else "sqlite"
    print()
    print(f"Broadcast results: {db}, {os.cpu_count()} cores")
    head = (f"{'ceiling':>8} {'MAX_RATE':>8} {'recipients':>10} {'seconds':>8} {'delivered':>9} {'msg/s':>8} "
            f"{'x ceiling':>9} {'429s':>5} {'RSS peak+':>9} {'SQLite+':>8}"
            + (f" {'traced+':>8}" if args.tracemalloc else ""))
    print(head)
    print("-" * len(head))
    for big, small in results:
        for r in (big, small):
            print(f"{r.ceiling:>8g} {r.rate_setting:>8g} {r.recipients:>10} {r.seconds:>8.2f} {r.delivered:>9} "
                  f"{r.rate:>8.1f} {r.rate / r.ceiling:>9.3f} {r.too_many:>5} {mb(r.rss_growth):>9} "
                  f"{mb(r.sqlite_peak):>8}"
                  + (f" {mb(r.traced_peak):>8}" if args.tracemalloc else "")
                  + ("  ABORTED at the time limit" if r.aborted else ""))
    print()
    ok_all = True
    for big, small in results:
        c = big.ceiling
        if args.tracemalloc:  # live Python data plus SQLite's own allocations: no allocator effects
            big_mem = (big.traced_peak or 0) + (big.sqlite_peak or 0)
            small_mem = (small.traced_peak or 0) + (small.sqlite_peak or 0)
            how = "tracemalloc + SQLite peak growth"
        else:
            big_mem, small_mem, how = big.rss_growth, small.rss_growth, "RSS peak growth"
        diff = big_mem - small_mem
        checks = [
            (big.rate >= TARGET_FRACTION * c,
             f"rate     {big.rate:.1f}/s = {big.rate / c:.3f} x the {c:g}/s ceiling (target >= {TARGET_FRACTION})"),
            (big.too_many + small.too_many <= TARGET_429,
             f"429s     {big.too_many} ({big.recipients} recipients) + {small.too_many} ({small.recipients}) "
             f"(target {TARGET_429})"),
            (diff <= TARGET_MEMORY_MB * 2**20,
             f"memory   {how} {mb(big_mem)} ({big.recipients}) - {mb(small_mem)} ({small.recipients}) = {mb(diff)} "
             f"(target <= {TARGET_MEMORY_MB:g} MB)"),
            (not (big.aborted or small.aborted),
             f"delivery {big.delivered} messages to {big.recipients} distinct chats, outbox {big.statuses}; "
             f"{small.delivered} to {small.recipients}, outbox {small.statuses}"
             if not (big.aborted or small.aborted) else
             f"delivery not verified: {big.aborted or small.aborted}; {big.delivered} of {big.recipients} delivered "
             f"by then, outbox {big.statuses}"),
        ]
        for ok, line in checks:
            ok_all &= ok
            print(f"{'PASS' if ok else 'FAIL'}  {c:>6g}/s  {line}")
    aborted = [r for pair in results for r in pair if r.aborted]
    print()
    print("overall: " + ("PASS" if ok_all else "FAIL") + (f" ({len(aborted)} run(s) aborted at the time limit)"
                                                          if aborted else ""))
    return 2 if aborted else 0 if ok_all else 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--recipients", type=int, default=10_000, help="recipients of the notice (10000)")
    p.add_argument("--ceilings", default="30,1000", help="global ceilings the fake enforces, msg/s (30,1000)")
    p.add_argument("--quick", action="store_true", help="300 recipients at 30/s and 1,000 at 1,000/s (CI smoke)")
    p.add_argument("--database", help="PostgreSQL URL (default: a temp SQLite file); an own schema per run is "
                                      "created and dropped")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH,
                   help=f"dispatch(batch=...) ({DEFAULT_BATCH}: planbot's default)")
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                   help=f"dispatch(concurrency=...) ({DEFAULT_CONCURRENCY}: planbot's default)")
    p.add_argument("--transport", choices=["aiohttp", "sharded"], default="aiohttp",
                   help="the sender's HTTP transport: AiohttpRequest (planbot's sending_bot) or the httpx-based\n"
                        "ShardedRequest (aiohttp)")
    p.add_argument("--shards", type=int, default=4,
                   help="ShardedRequest(shards=...) (4); AiohttpRequest gets shards x connections connections")
    p.add_argument("--connections", type=int, default=8,
                   help="ShardedRequest(connections=...): connections per shard (8: sending_bot's 32 in all)")
    p.add_argument("--processes", type=int, default=1,
                   help="dispatcher processes sending the one notice together (SKIP LOCKED claims), each paced at\n"
                        "TELEGRAM_MAX_RATE / processes (1)")
    p.add_argument("--pool", type=int, default=0,
                   help="BEFORE: a plain HTTPXRequest(connection_pool_size=...) instead of the ShardedRequest (the "
                        "previous setup used concurrency + 14, so that every send the "
                        "dispatcher lets through finds a connection)")
    p.add_argument("--tracemalloc", action="store_true",
                   help="trace Python allocations during dispatch() and judge memory by them plus SQLite's own\n"
                        "allocations instead of RSS (slows dispatch() about 3x: not for the rate figures)")
    p.add_argument("--baseline", action="store_true",
                   help="also time a bare python-telegram-bot client (no database, no limiter) against the fake")
    p.add_argument("--breakdown", action="store_true", help="DIAGNOSTIC: time the claims, records, limiter, HTTP")
    p.add_argument("--profile", metavar="FILE", help="DIAGNOSTIC: cProfile the event-loop thread during dispatch()")
    p.add_argument("--diag-sniffio", action="store_true",
                   help="DIAGNOSTIC: put a stand-in sniffio module in the dispatcher (see install_sniffio_stub)")
    p.add_argument("--diag-uvloop", action="store_true",
                   help="DIAGNOSTIC: run the dispatcher process's event loop on uvloop (pip install uvloop first;\n"
                        "not a planbot dependency: it saved no measurable CPU here, see bench/RESULTS.md)")
    p.add_argument("--diag-no-server-window", action="store_true",
                   help="DIAGNOSTIC: FloodLimiter(server_window=False), to measure what counting requests until "
                        "they are answered costs")
    p.add_argument("--fake-in-process", action="store_true",
                   help="run the fake Bot API in a thread of the setup process (default: its own process)")
    args = p.parse_args(argv)
    try:
        ceilings = [float(c) for c in args.ceilings.split(",") if c.strip()]
    except ValueError:
        p.error("--ceilings takes numbers separated by commas, e.g. 30,1000")
    if not ceilings or any(c <= 0 for c in ceilings):
        p.error("--ceilings must be positive")
    if args.recipients < 1:
        p.error("--recipients must be positive")
    if args.processes < 1 or args.shards < 1 or args.connections < 1:
        p.error("--processes, --shards and --connections must be positive")
    args.plan = [(30.0, 300), (1000.0, 1000)] if args.quick else [(c, args.recipients) for c in ceilings]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up (fake, PostgreSQL schema) when killed
    quiet()
    try:
        return main_runs(args)
    except BenchError as e:
        print(f"ERROR: {e}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
