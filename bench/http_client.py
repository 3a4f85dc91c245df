#!/usr/bin/env python3
"""CPU per Bot API call of each HTTP transport behind python-telegram-bot: what the client library costs.

N sendMessage calls through a LeanBot (PTB's own cost included), C at once, against the fake Bot API
(tests/fakes/bot_api.py) in a process of its own, after 200 warm-up calls; this process's CPU time per call. The
transports take turns, --reps rounds, so that a change in the machine's load hits them alike; the lowest figure of
each is the least disturbed. CPU time rises less with the load of a shared machine than wall time does, but it still
rises: compare figures of one run only.

    .venv/bin/python bench/http_client.py                        # planbot's AiohttpRequest and the httpx ones
    .venv/bin/python bench/http_client.py --git-transport a3fe90c  # also LeanRequest, the hand-written client of
                                                                   # that commit (bot/channels/http_transport.py)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import subprocess
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from common import ROOT, load_average, long_keep_alive, quiet
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram.channel import LeanBot, base_url
from bot.channels.telegram.transport import AiohttpRequest, ShardedRequest

TOKEN = "4242:BENCH-http-client"
WARM_UP = 200


def serve(queue: Any) -> None:
    """The fake Bot API, in a process of its own, until told to stop."""
    quiet()
    long_keep_alive()
    from fakes import FakeBotApi

    fake = FakeBotApi(TOKEN, every_chat_known=True).start()  # recipients started the bot earlier
    queue.put(fake.base_url)
    queue.get()
    fake.stop()


async def cpu_per_call(make: Callable[[], BaseRequest], url: str, calls: int, concurrency: int) -> tuple[float, float]:
    """Milliseconds of this process's CPU per call, and calls per second."""
    bot = LeanBot(TOKEN, base_url=base_url(url), request=make())
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await bot.post("sendMessage", {"chat_id": 1000 + i % 5000, "text": f"测试 message {i}"})

    async with bot:
        await asyncio.gather(*(one(i) for i in range(WARM_UP)))
        cpu, start = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(calls)))
        return 1000 * (time.process_time() - cpu) / calls, calls / (time.perf_counter() - start)


def transport_from_git(rev: str) -> types.ModuleType:
    """bot/channels/http_transport.py as it was at rev, loaded as a module of its own."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:bot/channels/http_transport.py"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"http_transport_{rev}")
    exec(compile(source, f"{rev}:bot/channels/http_transport.py", "exec"), module.__dict__)  # our own, earlier
    return module


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=3000, help="timed calls per transport and round (3000)")
    p.add_argument("--concurrency", type=int, default=64, help="calls at once; also each pool's size (64)")
    p.add_argument("--reps", type=int, default=3, help="rounds (3)")
    p.add_argument("--git-transport", metavar="REV", help="also time LeanRequest of bot/channels/http_transport.py "
                                                           "at that commit (a3fe90c: before aiohttp)")
    args = p.parse_args(argv)
    quiet()
    c = args.concurrency
    transports: dict[str, Callable[[], BaseRequest]] = {
        f"AiohttpRequest({c}) (planbot)": lambda: AiohttpRequest(c),
        f"ShardedRequest({c // 8}, 8) (httpx)": lambda: ShardedRequest(max(1, c // 8), 8),
        f"HTTPXRequest({c}) (PTB's default)": lambda: HTTPXRequest(connection_pool_size=c),
    }
    if args.git_transport:
        old = transport_from_git(args.git_transport)
        transports[f"LeanRequest({c}) at {args.git_transport}"] = lambda: old.LeanRequest(c)
    queue: Any = multiprocessing.get_context("spawn").Queue()
    fake = multiprocessing.get_context("spawn").Process(target=serve, args=(queue,), daemon=True)
    fake.start()
    url = queue.get(timeout=60)
    print(f"bench/http_client.py: {args.calls} sendMessage calls, {c} at once, {args.reps} rounds; "
          f"load average {load_average():.2f}")
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in transports}
    try:
        for _ in range(args.reps):
            for name, make in transports.items():
                figures[name].append(asyncio.run(cpu_per_call(make, url, args.calls, c)))
                print(f"  {name:<36} {figures[name][-1][0]:6.3f} ms CPU/call  {figures[name][-1][1]:7.0f} calls/s",
                      flush=True)
    finally:
        queue.put("stop")
        fake.join(10)
    print(f"summary (lowest CPU per call of {args.reps} rounds; load average now {load_average():.2f}):")
    for name, rows in figures.items():
        print(f"  {name:<36} {min(cpu for cpu, _ in rows):6.3f} ms CPU/call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
