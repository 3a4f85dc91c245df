"""Replies to committed actions survive a crash: planbot run is killed (-9) after it saved contacts' figures but
before their "已填报" replies left (each waits for its chat's next message slot). After the restart every such
reply arrives exactly once, except one whose request may have left (then it is 'uncertain', never re-sent)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from held_support import SAVED, add_contacts, figure_count, reply_statuses, write_plan

from bot.bootstrap import bootstrap, dispatch_chat_channels
from bot.config import Settings
from bot.db.outbox import recover_sending
from fakes import FakeBotApi
from support import DEADLINE

PLANBOT = Path(sys.executable).parent / "planbot"
CHATS = 30
FIRST = 810_001


def confirm_data(message: dict[str, Any]) -> str | None:
    """The 确认 button's data under a confirm prompt (None for any other message: a reminder, say)."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for b in row:
            if b["text"] == "确认":
                return str(b["callback_data"])
    return None


def saved_replies(fake: FakeBotApi) -> Counter[int]:
    return Counter(int(m["chat_id"]) for m in fake.sent() if SAVED in str(m.get("text", "")))


def test_a_crash_after_saving_loses_no_reply_and_doubles_none(fake: FakeBotApi, tg_env: dict[str, str],
                                                              tmp_path: Path) -> None:
    env = dict(tg_env, PLANBOT_PLAN_FILE=str(write_plan(tmp_path / "plan.yaml", CHATS)), TELEGRAM_MAX_RATE="6")
    app = bootstrap(Settings.from_env(env))
    chats = list(range(FIRST, FIRST + CHATS))
    try:
        add_contacts(app, "telegram", [str(chat) for chat in chats], app.clock.now())
        err = tmp_path / "stderr.txt"
        with err.open("wb") as fh:
            proc = subprocess.Popen([str(PLANBOT), "run"], env=env, stdout=subprocess.DEVNULL, stderr=fh)
        try:
            for chat in chats:
                fake.push_update(fake.message_update(chat, "高新技术企业 12家", user_id=chat))
            prompts: dict[int, dict[str, Any]] = {}
            deadline = time.monotonic() + DEADLINE * 4
            while len(prompts) < CHATS:  # every confirm prompt, pressed as soon as it arrives
                assert time.monotonic() < deadline and proc.poll() is None, err.read_text()
                for m in fake.sent():
                    chat, data = int(m["chat_id"]), confirm_data(m)
                    if chat not in prompts and data is not None:
                        prompts[chat] = m
                        fake.push_update(fake.callback_update(chat, data, user_id=chat, message_id=m["message_id"]))
                time.sleep(0.01)
            while figure_count(app) < CHATS:  # every figure committed: their replies wait for their chats' slots
                assert time.monotonic() < deadline and proc.poll() is None, err.read_text()
                time.sleep(0.01)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        before = saved_replies(fake)
        assert len(before) < CHATS, "every reply had gone out before the kill: the crash came too late"
        with app.uow.begin() as s:
            recover_sending(s)
        asyncio.run(dispatch_chat_channels(app, datetime.fromisoformat("2018-10-15T10:05:00+08:00")))
        status = {int(chat): st for chat, st in reply_statuses(app).items()}
        uncertain = {c for c, st in status.items() if st == "uncertain"}
        after = saved_replies(fake)
        assert set(after) | uncertain == set(chats)  # everybody told, but for a reply whose request may have left
        assert max(after.values()) == 1  # nobody told twice
        assert len(uncertain) <= 3
        assert set(status.values()) <= {"sent", "uncertain"}
    finally:
        app.close()
