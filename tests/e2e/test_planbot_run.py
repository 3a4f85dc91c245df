"""`planbot run` as a process of its own, with Telegram pointed at the fake Bot API: the scheduler it starts sends
the reminders that fall due while it runs, and the token appears nowhere in what it prints."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.db.outbox_models import OutboxRow
from fakes import FakeBotApi
from support import DEADLINE, TELEGRAM_TOKEN, wait_until

PLANBOT = Path(sys.executable).parent / "planbot"
ALICE = 1001
# 26 September 2018, 09:00 is the first reminder of 2018Q3 (due 10 October, 7 working days later). The clock starts
# 40 s before it: the scheduler's first tick (at start) finds nothing due, the next one, a minute later, crosses it.
START = "2018-09-26T08:59:20+08:00"


@pytest.fixture
def running(env: dict[str, str], fake: FakeBotApi, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """`planbot run` on the simulated clock; stopped with Ctrl+C (SIGINT) at the end. Yields it and its output file."""
    out = tmp_path / "planbot-run.log"
    run_env = dict(env, PLANBOT_NOW=START, TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN, TELEGRAM_API_URL=fake.base_url)
    invite = subprocess.run([str(PLANBOT), "invite", "--unit", "panshan", "--role", "contact"], env=run_env,
                            capture_output=True, text=True, check=True, timeout=120)
    with out.open("w") as sink:
        proc = subprocess.Popen([str(PLANBOT), "run"], env=run_env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        fake.push_update(fake.message_update(ALICE, invite.stdout.split()[0]))
        yield proc, out
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def outbox(url: str) -> list[tuple[str, str, str]]:
    """(kind, chat, status) of every outbox row."""
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return [(r.kind, r.chat_id, r.status) for r in c.execute(select(OutboxRow))]
    finally:
        engine.dispose()


def test_planbot_run_sends_a_reminder_when_its_time_comes_and_only_once(
        running: tuple[subprocess.Popen[str], Path], fake: FakeBotApi, env: dict[str, str]) -> None:
    proc, out = running
    welcome = fake.wait_for_sent(1, ALICE, timeout=DEADLINE * 2)[0]  # the process starts, polls, binds Alice
    assert "盘山县人民政府" in welcome["text"]
    assert outbox(env["PLANBOT_DATABASE_URL"]) == []  # nothing was due at the first tick, before 09:00
    # the next tick comes a minute after the first: 60 s more than the usual deadline
    reminder = fake.wait_for_sent(2, ALICE, timeout=60 + DEADLINE * 2)[1]
    assert reminder["text"].startswith("提醒：盘山县人民政府2018Q3数据将于2018年10月10日截止报送（还剩7个工作日）")
    wait_until(lambda: all(s == "sent" for _, _, s in outbox(env["PLANBOT_DATABASE_URL"])), "the outbox drained")
    assert outbox(env["PLANBOT_DATABASE_URL"]) == [("before_due", str(ALICE), "sent")]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=DEADLINE) == 0
    assert len(fake.sent(ALICE)) == 2  # welcome and reminder: nothing twice
    text = out.read_text()
    assert f"telegram_api: {fake.base_url}" in text and "Scheduler started" in text, text
    assert TELEGRAM_TOKEN not in text and TELEGRAM_TOKEN.split(":")[1] not in text
    assert "Traceback" not in text and " ERROR " not in text, text
