"""The router's own cost: CPU per routed update, in one process, on bench/inbound.py's plan and conversation.

bench/inbound.py measures the whole pipeline (Telegram, the worker process, the router); this runs only what its
database process runs for each update (Router.handle with the inbox claim, as the channel calls it), so that a
change to the conversation code can be measured without the noise of HTTP, other processes and the machine's load:
N chats each send "高新技术企业 12家" and then press 确认 (2N updates; the second saves a figure and holds its reply).

    .venv/bin/python bench/router.py                  # SQLite, 1,000 units, 300 chats, 3 rounds
    .venv/bin/python bench/router.py --database postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/router.py --profile /tmp/router.prof
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import database, load_average, quiet
from inbound import CONFIRM_LABEL, NOW, REPORT, bind_contacts, write_plan

from bot.app import App
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.inbox import Inbox
from bot.messages import Inbound, Outcome
from handlers.router import Router

quiet()


def route(router: Router, inbox: Inbox, app: App, update_id: int, chat: int, *, text: str | None = None,
          payload: str | None = None) -> Outcome:
    """Store one update in the inbox, then route it as the channel's database process does."""
    uid = str(update_id)
    inbox.store([(uid, {"update_id": update_id})], app.clock.now())
    inbound = Inbound("telegram", str(chat), str(chat), f"u{uid}", text=text, payload=payload, sender_name="Bench",
                      lang_hint="zh-hans")
    return router.handle(inbound, functools.partial(inbox.claim, update_id=uid, now=app.clock.now(),
                                                    raw={"update_id": update_id}))


def converse(router: Router, inbox: Inbox, app: App, chats: list[int], first_id: int) -> float:
    """Each chat reports and confirms; the router's CPU seconds (the inbox stores excluded)."""
    spent = 0.0
    update_id = first_id
    for chat in chats:
        t = time.thread_time()
        asked = route(router, inbox, app, update_id, chat, text=REPORT)
        spent += time.thread_time() - t
        press = next((b.payload for r in asked.replies for b in r.flat_buttons if CONFIRM_LABEL in b.label), None)
        if press is None:
            sys.exit(f"chat {chat}: no {CONFIRM_LABEL} button in {[r.text for r in asked.replies]}")
        t = time.thread_time()
        saved = route(router, inbox, app, update_id + 1, chat, payload=press)
        spent += time.thread_time() - t
        if not any("12" in r.text for r in saved.replies):
            sys.exit(f"chat {chat}: not saved: {[r.text for r in saved.replies]}")
        update_id += 2
    return spent


def main(argv: list[str] | None = None) -> int:
    """Run the rounds and print the router's CPU per update."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--units", type=int, default=1000, help="reporting units in the plan (1000, as bench/inbound.py)")
    p.add_argument("--chats", type=int, default=300, help="chats per round, each its own unit (300)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each with fresh chats (3)")
    p.add_argument("--database", help="SQLAlchemy URL (default: a temporary SQLite file)")
    p.add_argument("--profile", help="write a cProfile (CPU time) of the last round to this file")
    args = p.parse_args(argv)
    if args.chats * args.rounds + 1 > args.units:
        p.error("--units must exceed --chats x --rounds (each chat is the contact of a unit of its own)")
    with tempfile.TemporaryDirectory(prefix="planbot-bench-router-") as tmp_dir:
        tmp = Path(tmp_dir)
        with database(args.database, tmp, "router") as url:
            plan = tmp / "plan.yaml"
            write_plan(plan, args.units)
            app = bootstrap(Settings.from_env({
                "PLANBOT_DATABASE_URL": url, "PLANBOT_DATA_DIR": str(tmp / "data"), "PLANBOT_PLAN_FILE": str(plan),
                "PLANBOT_NOW": NOW, "PLANBOT_LANG": "zh"}))
            try:
                chats = list(range(1, args.units + 1))
                bind_contacts(app, chats)
                router, inbox = Router(app, hold_replies=True), Inbox(app.uow, "telegram")
                converse(router, inbox, app, chats[-1:], 10**6)  # warm: the plan parsed, statements compiled
                per_update = []
                for r in range(args.rounds):
                    batch = chats[r * args.chats:(r + 1) * args.chats]
                    profiler = None
                    if args.profile and r == args.rounds - 1:
                        import cProfile

                        profiler = cProfile.Profile(time.thread_time)
                        profiler.enable()
                    spent = converse(router, inbox, app, batch, 1 + 2 * r * args.chats)
                    if profiler is not None:
                        profiler.disable()
                        profiler.dump_stats(args.profile)
                    per_update.append(1000 * spent / (2 * len(batch)))
                    print(f"round {r + 1}: {2 * len(batch)} updates, router CPU {per_update[-1]:.2f} ms per update")
            finally:
                app.close()
    print(f"router CPU per update: median {statistics.median(per_update):.2f} ms over {args.rounds} rounds "
          f"({url.split(':', 1)[0]}, {args.units} units); load average {load_average():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
