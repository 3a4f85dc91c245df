"""What the benchmarks share: the import path, fresh databases, percentiles, CPU and load figures, diagnostics.

Imported by bench/inbound.py, bench/broadcast.py and bench/lagging.py as `common` (their own folder is first on
sys.path); importing it puts the repository and tests/ (for the fakes) on sys.path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import resource
import statistics
import sys
import threading
import time
import types
import uuid
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT / "tests", ROOT):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from sqlalchemy import create_engine, text  # noqa: E402

from bot.config import _redact_url  # noqa: E402


class BenchError(Exception):
    """The benchmark could not complete (setup problem, timeout, wrong answer or delivery)."""


def quiet() -> None:
    """Warnings and errors only, and without PTB's notice about retry_after's future type (once per process)."""
    warnings.filterwarnings("ignore", message=".*`retry_after` will be of type")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@contextlib.contextmanager
def database(url: str | None, tmp: Path, tag: str) -> Iterator[str]:
    """A fresh database: a new SQLite file in tmp (no url), an own PostgreSQL schema (created here, dropped after),
    or any other URL as it is."""
    if not url:
        yield f"sqlite:///{tmp / f'planbot-{tag}.db'}"
        return
    if not url.startswith("postgresql"):
        yield url
        return
    schema = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:
        admin.dispose()
        raise BenchError(f"PostgreSQL at {_redact_url(url)} is not reachable: {e}") from None
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def unit_code(i: int) -> str:
    """The code of the i-th generated reporting unit."""
    return f"u{i:04d}"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th quantile (0..1) by nearest rank; NaN for no values."""
    xs = sorted(values)
    return xs[max(0, math.ceil(q * len(xs)) - 1)] if xs else float("nan")


def cpu_seconds() -> float:
    """CPU time (user + system) this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> float:
    """The machine's 1-minute load average: figures are only comparable on an otherwise idle machine."""
    return os.getloadavg()[0]


def long_keep_alive() -> None:
    """Keep idle connections open on the fake's server for 120 s, as Telegram's does, instead of uvicorn's 5 s: an
    HTTP client that reuses a connection just as the server drops it gets a ReadError. (A harness setting only.)"""
    import uvicorn

    if getattr(uvicorn.Config, "_bench_keep_alive", False):
        return
    base = uvicorn.Config

    class Config(base):  # type: ignore[misc, valid-type]
        _bench_keep_alive = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("timeout_keep_alive", 120)
            super().__init__(*args, **kwargs)

    uvicorn.Config = Config  # type: ignore[misc]


def install_sniffio_stub() -> None:
    """DIAGNOSTIC. httpcore runs `import sniffio` on every lock or event it creates; without sniffio installed each
    attempt scans sys.path again. A stand-in module has the effect installing it would have. Not a planbot change."""
    if "sniffio" in sys.modules:
        return
    try:
        import sniffio  # noqa: F401
    except ImportError:
        stub = types.ModuleType("sniffio")

        def current_async_library() -> str:
            asyncio.get_running_loop()  # RuntimeError outside a loop, like sniffio's AsyncLibraryNotFoundError
            return "asyncio"

        stub.current_async_library = current_async_library  # type: ignore[attr-defined]
        sys.modules["sniffio"] = stub


class Timings:
    """Per-step figures gathered from several threads (the base of the benches' --breakdown): add() a tuple of
    seconds per step and call, columns() their means and p95s in milliseconds."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stats: dict[str, list[tuple[float, ...]]] = defaultdict(list)

    def add(self, key: str, *values: float) -> None:
        """One call of step `key`: its figures in seconds (wait, run, CPU, ...)."""
        with self.lock:
            self.stats[key].append(values)

    def columns(self) -> Iterator[tuple[str, list[tuple[float, ...]], list[tuple[float, ...]], list[float],
                                        list[float]]]:
        """Per step, sorted by name: its rows, its columns, and each column's mean and p95 in milliseconds."""
        for key, rows in sorted(self.stats.items()):
            cols = list(zip(*rows, strict=True))
            yield (key, rows, cols, [1000 * statistics.fmean(c) for c in cols],
                   [1000 * percentile(c, 0.95) for c in cols])

    def queued(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        """fn, to be handed to a worker thread now, timed as step `name`: the wait for the thread (from now), the
        run, and the run's CPU."""
        submitted = time.perf_counter()

        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, start - submitted, time.perf_counter() - start, time.thread_time() - cpu)

        return timed

    def watch_limiter(self, limiter: Any, sent: list[float] | None = None) -> Callable[[], None]:
        """Time every Bot API call that the rate limiter lets through: per method, the wait in the limiter and the
        HTTP call ("api <method>"); each call's start is appended to `sent` if given. Returns the undo."""
        original = limiter.process_request

        async def process_request(callback: Any, args: Any, kwargs: Any, endpoint: str, data: dict[str, Any],
                                  rate_limit_args: Any) -> Any:
            start = time.perf_counter()
            http = 0.0

            async def timed_callback(*a: Any, **kw: Any) -> Any:
                nonlocal http
                t = time.perf_counter()
                if sent is not None:
                    sent.append(t)
                try:
                    return await callback(*a, **kw)
                finally:
                    http += time.perf_counter() - t

            try:
                return await original(timed_callback, args, kwargs, endpoint, data, rate_limit_args)
            finally:
                self.add(f"api {endpoint}", time.perf_counter() - start - http, http)

        limiter.process_request = process_request
        return lambda: delattr(limiter, "process_request")
