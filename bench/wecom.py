#!/usr/bin/env python3
"""WeCom: callback throughput with the crypto, and a broadcast to 2,000 members at WeCom's per-member limits.

1. Callbacks: N members (bound unit contacts, set up before timing) each send the one-shot report
   "高新技术企业 12家" as WeCom does: signed, AES-encrypted XML posted to planbot's callback. A load process (its own
   CPU: the fake WeCom API and the posting client) posts them C at a time; planbot's process verifies, decrypts,
   parses, stores each in the inbox and answers 200, then handles it and sends the confirmation card to the fake.
   Measured: callbacks acknowledged per second, 200 latency p50/p95, and the time until every card was sent.
2. Broadcast: a notice to 2,000 members through the outbox and the WeCom sender, while 200 of them have just
   received 30 messages each (a busy minute). The fake counts every message over 30 a minute or 1,000 an hour to
   a member as silently dropped, as WeCom does. Target: 0 dropped; the busy members' notices wait for their window
   (about a minute) and are sent then.

    .venv/bin/python bench/wecom.py                    # 1,000 callbacks, 2,000 members, SQLite in a temp dir
    .venv/bin/python bench/wecom.py --quick            # 200 callbacks, 300 members
    .venv/bin/python bench/wecom.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test

Exit status: 0 PASS, 1 FAIL (a message dropped or lost), 2 error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import httpx  # noqa: E402
from common import database, unit_code  # noqa: E402
from inbound import figure_count, write_plan  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bot.app import App  # noqa: E402
from bot.bootstrap import bootstrap  # noqa: E402
from bot.channels.wecom.api import WeComClient  # noqa: E402
from bot.channels.wecom.channel import WeComChannel  # noqa: E402
from bot.channels.wecom.quota import apply_app_limits  # noqa: E402
from bot.channels.wecom.run import serving  # noqa: E402
from bot.channels.wecom.send import WeComMessenger, WeComSender  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.db.models import UnitRow  # noqa: E402
from bot.services import notices  # noqa: E402
from bot.services.people import grant, identity_for  # noqa: E402
from bot.services.plans import active_plan  # noqa: E402
from bot.views.notices import stats as notice_stats  # noqa: E402
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, FakeWeComApi, WeComCallbacks  # noqa: E402
from reminders.dispatch import dispatch  # noqa: E402

NOW = "2018-10-15T10:00:00+08:00"
REPORT = "高新技术企业 12家"


def member(i: int) -> str:
    return f"m{i:05d}"


def bind(app: App, n: int) -> None:
    """One WeCom identity per member, each the contact of its own unit."""
    now = app.clock.now()
    with app.uow.begin() as s:
        plan_row, _ = active_plan(s)
        units = {u.code: u for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == plan_row.id))}
        for i in range(1, n + 1):
            ident = identity_for(s, "wecom", member(i), member(i), member(i), None, now)
            grant(s, ident.person, "contact", units[unit_code(i)], "bench", now)


def environment(url: str, api_url: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "TELEGRAM_", "WECOM_"))}
    return dict(env, PLANBOT_DATABASE_URL=url, PLANBOT_DATA_DIR=str(data), PLANBOT_NOW=NOW,
                PLANBOT_PLAN_FILE=str(data / "plan.yaml"), WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=str(AGENT_ID),
                WECOM_SECRET=SECRET, WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, WECOM_API_URL=api_url)


# --- the load process: the fake WeCom API and the client posting callbacks, with a CPU of their own ---------------
def load_process(conn: Any) -> None:
    """Serve the fake API; answer commands: ("post", url, n, concurrency), ("stats",), ("stop",)."""
    with FakeWeComApi() as api:
        conn.send(api.url)
        while True:
            command = conn.recv()
            if command[0] == "post":
                conn.send(asyncio.run(post_all(api, *command[1:])))
            elif command[0] == "stats":
                cards = [m for m in api.delivered if m["msgtype"] == "template_card"]
                conn.send({"delivered": len(api.delivered), "cards": len(cards), "dropped": len(api.dropped),
                           "token_fetches": api.token_fetches, "cpu": time.process_time()})
            else:
                return


class Load:
    """The load process, driven through a pipe."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=load_process, args=(child,), daemon=True)
        self.process.start()
        self.url: str = self.conn.recv()

    async def ask(self, *command: Any) -> Any:
        self.conn.send(command)
        while not self.conn.poll():
            await asyncio.sleep(0.005)
        return self.conn.recv()

    def close(self) -> None:
        with contextlib.suppress(BrokenPipeError):  # (the load process has already ended)
            self.conn.send(("stop",))
        self.process.join(30)


async def post_all(api: FakeWeComApi, url: str, n: int, concurrency: int) -> dict[str, Any]:
    callbacks = WeComCallbacks(url)
    bodies = [callbacks.envelope(callbacks.text(member(i), REPORT)) for i in range(1, n + 1)]  # crypto before timing
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), timeout=30)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(bodies))
    cpu0 = time.process_time()

    async def worker() -> None:
        while queue:
            query, body = queue.pop()
            t = time.perf_counter()
            response = await client.post(url, params=query, content=body)
            latencies.append(time.perf_counter() - t)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    def cards() -> int:
        return sum(1 for m in api.delivered if m["msgtype"] == "template_card")

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    acked = time.perf_counter() - t0
    deadline = time.monotonic() + 300
    while cards() < n and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    handled = time.perf_counter() - t0
    await client.aclose()
    await callbacks.aclose()
    latencies.sort()
    return {"acked_s": acked, "handled_s": handled, "statuses": statuses, "cards": cards(),
            "dropped": len(api.dropped), "p50": statistics.median(latencies),
            "p95": latencies[int(0.95 * (len(latencies) - 1))], "load_cpu": time.process_time() - cpu0}


def setup(load: Load, url: str, data: Path, n: int) -> App:
    write_plan(data / "plan.yaml", n)
    app = bootstrap(Settings.from_env(environment(url, load.url, data)))
    bind(app, n)
    return app


async def callbacks_run(app: App, load: Load, n: int, concurrency: int) -> dict[str, Any]:
    channel = WeComChannel(app)
    await channel.start()
    async with serving(channel, "127.0.0.1:0") as port:
        cpu0 = time.process_time()
        result: dict[str, Any] = await load.ask("post", f"http://127.0.0.1:{port}/wecom", n, concurrency)
        await channel.drain()
        result["bot_cpu"] = time.process_time() - cpu0
    await channel.stop()
    return result


async def broadcast_run(app: App, load: Load, n: int, busy: int) -> dict[str, Any]:
    client = WeComClient(CORP_ID, SECRET, AGENT_ID, load.url, connections=32)
    apply_app_limits(app, client)  # the global pace (WECOM_MAX_RATE, 100/s by default), as `planbot run` has it
    messenger = WeComMessenger(client)
    sender = WeComSender(messenger)
    try:
        t0 = time.perf_counter()
        # a busy minute: the first `busy` members have just had 30 messages each (a long conversation)
        await asyncio.gather(*(messenger.deliver(member(i), f"回复 {k}", [])
                               for i in range(1, busy + 1) for k in range(30)))
        busy_s = time.perf_counter() - t0
        with app.uow.begin() as s:
            plan_row, plan = active_plan(s)
            notice_id = notices.broadcast(s, plan_row, plan, "请于10月20日前报送三季度数据", "role:contact",
                                          "bench", app.clock.now()).id
        t1 = time.perf_counter()
        first = await dispatch(app.uow, sender, app.clock.now)
        first_s = time.perf_counter() - t1
        while True:  # the held notices go out once their members' windows have room (the ticker's next minutes)
            with app.uow() as s:
                counts = notice_stats(s, notice_id)
            if not counts.pending:
                break
            await asyncio.sleep(1)
            await dispatch(app.uow, sender, app.clock.now)
        total_s = time.perf_counter() - t1
    finally:
        await client.aclose()
    stats = await load.ask("stats")
    return {"members": n, "busy": busy, "busy_s": busy_s, "first_sent": first.sent, "first_held": first.retried,
            "first_s": first_s, "total_s": total_s, "delivered": counts.delivered, "failed": counts.failed,
            "notice_cards": stats["cards"], "dropped": stats["dropped"], "token_fetches": stats["token_fetches"]}


def run(url_arg: str | None, n: int, fn: Any, *args: Any) -> dict[str, Any]:
    load = Load()
    try:
        with tempfile.TemporaryDirectory() as tmp, database(url_arg, Path(tmp), "wecom") as url:
            app = setup(load, url, Path(tmp), n)
            try:
                result: dict[str, Any] = asyncio.run(fn(app, load, n, *args))
                result["figures"] = figure_count(app)
                return result
            finally:
                app.close()
    finally:
        load.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--quick", action="store_true", help="200 callbacks, 300 members")
    parser.add_argument("--callbacks", type=int)
    parser.add_argument("--members", type=int)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--skip", choices=["callbacks", "broadcast"])
    args = parser.parse_args()
    n = args.callbacks or (200 if args.quick else 1000)
    members = args.members or (300 if args.quick else 2000)
    db = "PostgreSQL" if args.database else "SQLite"
    ok = True
    if args.skip != "callbacks":
        r = run(args.database, n, callbacks_run, args.concurrency)
        print(f"callbacks ({db}): {n} posted, {args.concurrency} at a time; statuses {r['statuses']}")
        print(f"  acknowledged: {n / r['acked_s']:.0f}/s ({r['acked_s']:.2f} s); 200 latency p50 "
              f"{r['p50'] * 1000:.1f} ms, p95 {r['p95'] * 1000:.1f} ms")
        print(f"  handled and answered: {r['cards']} cards in {r['handled_s']:.2f} s ({r['cards'] / r['handled_s']:.0f}"
              f"/s); planbot CPU {r['bot_cpu']:.1f} s, "
              f"load process CPU {r['load_cpu']:.1f} s")
        ok = ok and r["statuses"] == {200: n} and r["cards"] == n and r["dropped"] == 0
    if args.skip != "broadcast":
        b = run(args.database, members, broadcast_run, max(1, members // 10))
        print(f"broadcast ({db}): a notice to {b['members']} members, {b['busy']} of them busy (30 messages each in "
              f"{b['busy_s']:.1f} s just before)")
        print(f"  first dispatch: {b['first_sent']} sent, {b['first_held']} held for their window, in "
              f"{b['first_s']:.2f} s ({b['first_sent'] / b['first_s']:.0f}/s)")
        print(f"  all delivered after {b['total_s']:.1f} s: delivered {b['delivered']}, failed {b['failed']}, "
              f"notice cards at the fake {b['notice_cards']}, silently dropped {b['dropped']}, "
              f"tokens fetched {b['token_fetches']}")
        ok = ok and b["dropped"] == 0 and b["delivered"] == members and b["notice_cards"] == members
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
