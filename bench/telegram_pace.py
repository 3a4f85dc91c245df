#!/usr/bin/env python3
"""Telegram send pacing, measured at the fake Bot API: the busiest second the server counts, and its 429s.

The flood limiter (bot/channels/telegram/limits.py) sends at a steady pace, resumes after a RetryAfter pause at
the pace, takes no pacing slot while waiting for a connection, and counts requests until the server answered them
(so that a server hiccup does not crowd one of its seconds). Each scenario pushes the outbox through the real
python-telegram-bot to the fake Bot API (tests/fakes/bot_api.py), which refuses with 429 whatever exceeds its
ceiling in any 1-second window; PASS when it refused none but the 429 the scenario injects. These are rates, so
they live here and not in the tests (a loaded machine crowds the server's windows).

    .venv/bin/python bench/telegram_pace.py

Exit status: 0 PASS, 1 FAIL.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from telegram import Bot  # noqa: E402

from bot.app import App  # noqa: E402
from bot.bootstrap import bootstrap  # noqa: E402
from bot.channels.telegram.limits import FloodLimiter  # noqa: E402
from bot.channels.telegram.sender import TelegramSender, sending_bot  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db.outbox import Delivery, enqueue  # noqa: E402
from bot.services.people import identity_for  # noqa: E402
from fakes import FakeBotApi  # noqa: E402
from reminders.dispatch import dispatch  # noqa: E402

TOKEN = "4242:pace-token"
NOW = datetime(2018, 10, 9, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@dataclass
class Scenario:
    """n messages at `rate` per second to a fake that refuses more than `ceiling` in any second."""

    name: str
    n: int
    rate: float
    ceiling: int
    injected_429: int = 0
    connections: int = 16
    during: Callable[[FakeBotApi], Awaitable[None]] | None = None


async def slow_spell(fake: FakeBotApi) -> None:
    """The server is slow for a while: every connection is taken, sends queue up."""
    await asyncio.sleep(0.5)
    fake.delay = 0.6
    await asyncio.sleep(0.7)
    fake.delay = 0


async def hiccup(fake: FakeBotApi) -> None:
    """The server stalls for 0.3 s, then handles what queued meanwhile at once."""
    await asyncio.sleep(0.6)
    fake.hold(0.3)


SCENARIOS = [
    Scenario("steady pace, 300/s, ceiling +20%", 360, 300, 360),
    Scenario("after a 1 s RetryAfter, 50/s, ceiling +20%", 120, 50, 60, injected_429=1),
    Scenario("slow server holds every connection, 50/s, ceiling +30%", 150, 50, 65, connections=4,
             during=slow_spell),
    Scenario("server hiccup of 0.3 s, 50/s, ceiling +4%", 120, 50, 52, during=hiccup),
]


def queue(app: App, n: int) -> None:
    with app.uow.begin() as s:
        for i in range(n):
            ident = identity_for(s, "telegram", str(100 + i), str(100 + i), f"p{i}", None, NOW)
            enqueue(s, f"pace:{i}", Delivery(ident.person_id, "telegram", str(100 + i)), "notice", f"通知 {i}", NOW)


async def run(sc: Scenario, data: Path) -> bool:
    env = {"PLANBOT_DATABASE_URL": f"sqlite:///{data / (sc.name[:8].replace(' ', '_') + '.db')}",
           "PLANBOT_DATA_DIR": str(data), "PLANBOT_NOW": NOW.isoformat()}
    with FakeBotApi(TOKEN, every_chat_known=True) as fake:
        app = bootstrap(Settings.from_env(env))
        try:
            queue(app, sc.n)
            fake.max_per_second = sc.ceiling
            if sc.injected_429:
                fake.fail_next("sendMessage", 429, retry_after=1)
            bot = sending_bot(TOKEN, fake.base_url, FloodLimiter(overall_per_second=sc.rate,
                                                                 max_retries=3 if sc.injected_429 else 0),
                              connections=sc.connections)
            async with bot:
                t0 = time.monotonic()
                sending = asyncio.create_task(dispatch(app.uow, TelegramSender(bot), lambda: NOW))
                if sc.during is not None:
                    await sc.during(fake)
                stats = await sending
                elapsed = time.monotonic() - t0
        finally:
            app.close()
    ok = fake.too_many_requests == sc.injected_429 and stats.sent == sc.n
    print(f"  {'PASS' if ok else 'FAIL'}  {sc.name}: sent {stats.sent}/{sc.n} in {elapsed:.2f} s, busiest second "
          f"{fake.busiest(1.0)} (ceiling {sc.ceiling}), 429s {fake.too_many_requests} (injected {sc.injected_429})")
    return ok


async def keep_alive_latency() -> None:
    """20 sends one after another on a kept-alive connection: no 40 ms Nagle/delayed-ACK stall each."""
    with FakeBotApi(TOKEN, every_chat_known=True) as fake:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            t0 = time.monotonic()
            for i in range(20):
                await bot.send_message(4242, str(i))
            print(f"  INFO  20 sequential sends on a kept-alive connection: {time.monotonic() - t0:.3f} s")


def main() -> int:
    """Run every scenario; exit 0 if all pass."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for sc in SCENARIOS:
            results.append(asyncio.run(run(sc, Path(tmp))))
    asyncio.run(keep_alive_latency())
    print("PASS" if all(results) else "FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
