"""Faults of real processes against the fake Bot API: kill -9 and SIGTERM mid-broadcast, 409/401 on getUpdates.

Each test runs the real `planbot` command (python-telegram-bot over HTTP to the fake on 127.0.0.1) on SQLite and
PostgreSQL, and checks what the database and the fake saw: nothing lost, nothing doubled, clean stops."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.bootstrap import dispatch_chat_channels
from bot.db.outbox import BULK, Delivery, enqueue, recover_sending
from bot.db.outbox_models import OutboxRow
from bot.services.people import identity_for
from fakes import FakeBotApi

PLANBOT = Path(sys.executable).parent / "planbot"
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")


def queue_notices(app: App, n: int, first_chat: int = 10_000, fake: FakeBotApi | None = None) -> list[int]:
    """n bulk messages to n Telegram chats, due now; their chat ids (chats the fake then knows)."""
    if fake is not None:
        fake.add_chat(*range(first_chat, first_chat + n))
    now = app.clock.now()
    with app.uow.begin() as s:
        for i in range(n):
            chat = str(first_chat + i)
            ident = identity_for(s, "telegram", chat, chat, f"p{i}", None, now)
            enqueue(s, f"fault:{i}", Delivery(ident.person_id, "telegram", chat), "notice", f"通知 {i}", now,
                    priority=BULK)
    return [first_chat + i for i in range(n)]


def rows(app: App) -> dict[int, OutboxRow]:
    with app.uow() as s:
        return {int(r.chat_id): r for r in s.scalars(select(OutboxRow).where(OutboxRow.key.like("fault:%")))}


def spawn(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    err = tmp_path / f"stderr-{args[0]}-{time.monotonic_ns()}.txt"
    with err.open("wb") as fh:
        proc = subprocess.Popen([str(PLANBOT), *args], env=env, stdout=subprocess.DEVNULL, stderr=fh)
    return proc, err


def test_kill_9_mid_broadcast_gives_back_what_never_left_and_doubles_nothing(
        fake: FakeBotApi, tg_app: App, tg_env: dict[str, str], tmp_path: Path) -> None:
    """Killed after ~100 of 300 sends: the rows it had claimed but not yet sent go out after the restart; only
    requests that had left (and outcomes not yet written) are uncertain."""
    chats = queue_notices(tg_app, 300, fake=fake)
    env = dict(tg_env, TELEGRAM_MAX_RATE="60")
    proc, _ = spawn(["remind", "--now", "2018-10-15T10:01"], env, tmp_path)
    try:
        fake.wait_for_sent(100, timeout=120)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = Counter(int(m["chat_id"]) for m in fake.sent())
    assert 100 <= len(before) < 300, "the sender was not killed in the middle"
    with tg_app.uow.begin() as s:
        recover_sending(s)
    after_recovery = rows(tg_app)
    uncertain = {c for c, r in after_recovery.items() if r.status == "uncertain"}
    assert len(uncertain) <= 10  # the requests in flight and the outcomes not yet written, not the claimed rows
    assert not {c for c, r in after_recovery.items() if r.status in ("claimed", "sending")}
    assert not {c for c, r in after_recovery.items() if r.status == "pending"} & set(before)  # never left
    assert {c for c, r in after_recovery.items() if r.status == "sent"} <= set(before)

    asyncio.run(dispatch_chat_channels(tg_app, datetime.fromisoformat("2018-10-15T10:05:00+08:00")))
    delivered = Counter(int(m["chat_id"]) for m in fake.sent())
    assert max(delivered.values()) == 1  # nobody twice
    assert set(delivered) | uncertain == set(chats)  # nobody left out but the uncertain
    assert Counter(r.status for r in rows(tg_app).values()) == {"sent": 300 - len(uncertain),
                                                               **({"uncertain": len(uncertain)} if uncertain else {})}


def test_sigterm_mid_broadcast_stops_cleanly_and_leaves_no_claimed_rows(
        fake: FakeBotApi, tg_app: App, tg_env: dict[str, str], tmp_path: Path) -> None:
    """planbot run is stopped while it pushes a notice: exit 0 within seconds, no traceback or error in its
    log, no row left claimed or 'sending'; what it had not sent goes out on the next run, once."""
    chats = queue_notices(tg_app, 300, fake=fake)
    env = dict(tg_env, TELEGRAM_MAX_RATE="40")
    proc, err = spawn(["run"], env, tmp_path)
    try:
        fake.wait_for_sent(40, timeout=120)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = err.read_text()
    assert code == 0, log
    assert "Traceback" not in log and " ERROR " not in log and "CancelledError" not in log, log
    state = rows(tg_app)
    assert not {c for c, r in state.items() if r.status in ("claimed", "sending")}
    before = Counter(int(m["chat_id"]) for m in fake.sent())
    assert len(before) < 300, "the broadcast was not stopped in the middle"
    uncertain = {c for c, r in state.items() if r.status == "uncertain"}
    assert len(uncertain) <= 2
    assert not {c for c, r in state.items() if r.status == "pending"} & set(before)

    asyncio.run(dispatch_chat_channels(tg_app, datetime.fromisoformat("2018-10-15T10:05:00+08:00")))
    delivered = Counter(int(m["chat_id"]) for m in fake.sent())
    assert max(delivered.values()) == 1
    assert set(delivered) | uncertain == set(chats)


@pytest.mark.asyncio
async def test_polling_survives_409_conflicts_and_answers_afterwards(fake: FakeBotApi, tg_app: App,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Another poller (409 Conflict) makes getUpdates fail for a while: polling backs off, says so, and goes on."""
    from bot.channels.telegram.channel import TelegramChannel

    fake.fail_next("getUpdates", 409, times=2)
    channel = TelegramChannel(tg_app, poll_timeout=1)
    await channel.start()
    try:
        fake.push_update(fake.message_update(4242, "/help"))
        await fake.wait_for_sent_async(1, 4242, timeout=30)
    finally:
        await channel.stop()
    assert "409 Conflict: another process is polling" in caplog.text
    assert channel.refused is None


def test_a_revoked_token_on_getupdates_stops_the_process_with_a_clear_error(
        fake: FakeBotApi, tg_app: App, tg_env: dict[str, str], tmp_path: Path) -> None:
    """401 from getUpdates (the token was revoked): not a deaf process, but a stop with a message and exit 3."""
    fake.fail_next("getUpdates", 401)
    proc, err = spawn(["run"], tg_env, tmp_path)
    try:
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    log = err.read_text()
    assert code == 3, log
    assert "Telegram 拒绝了机器人令牌" in log and "Traceback" not in log
    assert tg_env["TELEGRAM_BOT_TOKEN"] not in log and tg_env["TELEGRAM_BOT_TOKEN"].split(":")[1] not in log


@pytest.mark.asyncio
async def test_reply_path_errors_are_not_swallowed(fake: FakeBotApi, tg_app: App,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A 502 on answerCallbackQuery does not leave the tap unhandled; a reply Telegram refuses (400) or fails (502)
    is logged with the update id and the person is asked to try again."""
    from bot.channels.telegram.channel import TelegramChannel
    from support import Chat, invite

    channel = TelegramChannel(tg_app, poll_timeout=1)
    await channel.start()
    try:
        alice = Chat(fake, 3131)
        await alice.say(f"/start {invite(tg_app, 'contact', 'panshan')}")
        await alice.say("填报")
        fake.fail_next("answerCallbackQuery", 502)
        asked = await alice.press("高新技术企业总数")
        assert "2018Q3" in asked["text"]  # the tap was handled all the same
        for status in (400, 502):
            fake.fail_next("sendMessage", status)
            apology = await alice.say("/help")
            assert "发送回复时出了问题" in apology["text"]
    finally:
        await channel.stop()
    assert "answerCallbackQuery failed (NetworkError)" in caplog.text
    assert caplog.text.count("was not sent (") == 2 and "update " in caplog.text
