"""Replies to committed actions over WeCom are held as outbox rows (as for Telegram, test_held_replies.py): a figure
saved gets its reply once and the row ends 'sent'; a refused reply is logged and the member asked to try again; one
WeCom asks to send later is left to the dispatcher; and `planbot run` killed (-9) while such replies wait loses none
and doubles none after the restart."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from held_support import SAVED, add_contacts, figure_count, reply_statuses, write_plan
from sqlalchemy import select
from wecom_support import Member, free_port, served, wait_listening, wecom_vars

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.wecom.api import CONNECTIONS
from bot.channels.wecom.channel import update_id
from bot.channels.wecom.send import WeComSender
from bot.config import Settings
from bot.db.outbox_models import OutboxRow
from fakes import FakeWeComApi, WeComCallbacks
from reminders.dispatch import dispatch
from support import DEADLINE, invite, until

pytestmark = pytest.mark.asyncio
PLANBOT = Path(sys.executable).parent / "planbot"
NOW = "2018-10-15T10:00:00+08:00"  # (the callbacks' clock)
RESTART = "2018-10-15T10:20:00+08:00"  # after every row the killed run wrote, clear of :00 and :30 (pushes spread)
MEMBERS = [f"m{i:02d}" for i in range(2 * CONNECTIONS)]  # more replies than connections: some wait for one


def saved(wecom_api: FakeWeComApi, user: str) -> list[str]:
    return [t for t in wecom_api.texts(user) if SAVED in t]


def reply_rows(app: App, user: str) -> list[OutboxRow]:
    with app.uow() as s:
        return list(s.scalars(select(OutboxRow).where(OutboxRow.kind == "reply", OutboxRow.chat_id == user)))


async def confirm_prompt(wc_app: App, alice: Member) -> None:
    assert "盘山县人民政府" in await alice.say(invite(wc_app, "contact", "panshan"))
    assert "[确认" in await alice.say("高新技术企业 12家")
    assert reply_rows(wc_app, "alice") == []  # nothing committed yet: nothing held


@pytest.mark.parametrize("db_processes", [None, 0], ids=["db-process", "threads"])
async def test_a_figure_saved_gets_its_reply_once_and_its_row_ends_sent(wc_app: App, wecom_api: FakeWeComApi,
                                                                      db_processes: int | None) -> None:
    async with served(wc_app, wecom_api, db_processes) as wecom:
        alice = wecom.member("alice")
        await confirm_prompt(wc_app, alice)
        assert SAVED in await alice.press("确认")
        # told once; the card greyed out as before
        assert len(saved(wecom_api, "alice")) == 1 and len(wecom_api.updated) == 1
        await until(lambda: {r.status for r in reply_rows(wc_app, "alice")} == {"sent"}, "the reply's row sent")
        rows = reply_rows(wc_app, "alice")
        assert {r.platform_message_id for r in rows} <= {m["msgid"] for m in wecom_api.to("alice")}
    assert len(saved(wecom_api, "alice")) == 1  # the channel's stop sent nothing more


async def test_a_refused_reply_is_logged_with_its_message_and_the_member_asked_to_try_again(
        wc_app: App, wecom_api: FakeWeComApi, caplog: pytest.LogCaptureFixture) -> None:
    async with served(wc_app, wecom_api) as wecom:
        alice = wecom.member("alice")
        await confirm_prompt(wc_app, alice)
        click = alice.click("确认")
        wecom_api.fail_next(40008)  # the held reply is refused
        assert await alice.deliver(click) == ["抱歉，发送回复时出了问题，请再试一次。"]
    assert figure_count(wc_app) == 1 and [r.status for r in reply_rows(wc_app, "alice")] == ["failed"]
    assert f"WeCom message {update_id(click)}: the reply to alice was refused" in caplog.text


async def test_a_member_who_chose_english_is_asked_to_try_again_in_english(wc_app: App,
                                                                          wecom_api: FakeWeComApi) -> None:
    """planbot answers in the member's chosen language, not the app's default; so do the words the channel adds (a
    failed send's apology, a pressed card's label)."""
    async with served(wc_app, wecom_api) as wecom:
        alice = wecom.member("alice")
        assert "盘山县人民政府" in await alice.say(invite(wc_app, "contact", "panshan"))
        assert "Language set: English." in await alice.say("/language en")
        assert "[Confirm" in await alice.say("高新技术企业 12家")
        click = alice.click("Confirm")
        wecom_api.fail_next(40008)  # the held reply is refused
        assert await alice.deliver(click) == ["Sorry, something went wrong sending my answer. Please try again."]
    assert [card["button"]["replace_name"] for card in wecom_api.updated] == ["Chosen"]


async def test_a_refused_reply_to_nothing_committed_is_logged_and_the_member_asked_to_try_again(
        wc_app: App, wecom_api: FakeWeComApi, caplog: pytest.LogCaptureFixture) -> None:
    async with served(wc_app, wecom_api) as wecom:
        alice = wecom.member("alice")
        assert "盘山县人民政府" in await alice.say(invite(wc_app, "contact", "panshan"))
        message = wecom.callbacks.text("alice", "高新技术企业 12家")
        wecom_api.fail_next(40008)  # the confirm prompt (not held: nothing is committed yet) is refused
        assert await alice.deliver(message) == ["抱歉，发送回复时出了问题，请再试一次。"]
    assert reply_rows(wc_app, "alice") == []
    assert f"WeCom message {update_id(message)}: the reply to alice was not sent (errcode 40008" in caplog.text


async def test_a_reply_wecom_asks_to_send_later_is_left_to_the_dispatcher(
        wc_app: App, wecom_api: FakeWeComApi, caplog: pytest.LogCaptureFixture) -> None:
    async with served(wc_app, wecom_api) as wecom:
        alice = wecom.member("alice")
        await confirm_prompt(wc_app, alice)
        wecom_api.fail_next(45009)  # API frequency out of limit: retry in a minute
        with caplog.at_level(logging.WARNING):
            assert await alice.press("确认") == ""
        await until(lambda: [r.status for r in reply_rows(wc_app, "alice")] == ["pending"], "the reply pending")
        assert "the reply to alice is pending" in caplog.text and not saved(wecom_api, "alice")
        later = wc_app.clock.now() + timedelta(minutes=2)
        stats = await dispatch(wc_app.uow, WeComSender(wecom.channel.messenger), lambda: later)
    assert stats.sent == 1 and len(saved(wecom_api, "alice")) == 1
    assert [r.status for r in reply_rows(wc_app, "alice")] == ["sent"]


def started(env: dict[str, str], err: Path) -> subprocess.Popen[Any]:
    """`planbot run` in env, its stderr to err, once its WeCom callback listens."""
    with err.open("ab") as fh:
        proc = subprocess.Popen([str(PLANBOT), "run"], env=env, stdout=subprocess.DEVNULL, stderr=fh)
    wait_listening(int(env["PLANBOT_WECOM_LISTEN"].rsplit(":", 1)[1]), proc)
    return proc


def confirm_key(wecom_api: FakeWeComApi, user: str) -> str | None:
    for m in reversed(wecom_api.to(user)):
        for b in (m.get("template_card") or {}).get("button_list", []):
            if b["text"] == "确认":
                return str(b["key"])
    return None


async def test_a_kill_9_while_replies_to_saved_figures_wait_loses_none_and_doubles_none(
        env: dict[str, str], wecom_api: FakeWeComApi, tmp_path: Path) -> None:
    port = free_port()
    run_env = dict(env, PLANBOT_NOW=NOW, PLANBOT_PLAN_FILE=str(write_plan(tmp_path / "plan.yaml", len(MEMBERS))),
                   **wecom_vars(wecom_api.url, f"127.0.0.1:{port}"))
    app = bootstrap(Settings.from_env(run_env))
    err = tmp_path / "stderr.txt"
    callbacks = WeComCallbacks(f"http://127.0.0.1:{port}/wecom")
    try:
        add_contacts(app, "wecom", MEMBERS, app.clock.now())
        proc = started(run_env, err)
        try:
            for m in MEMBERS:
                assert (await callbacks.post(callbacks.text(m, "高新技术企业 12家"))).status_code == 200
            await until(lambda: all(confirm_key(wecom_api, m) for m in MEMBERS), "every member's confirm card",
                        DEADLINE * 2)
            wecom_api.hold()  # from now on WeCom takes requests and does not answer: the replies to the saves wait
            for m in MEMBERS:
                key = confirm_key(wecom_api, m)
                assert key is not None
                task_id, code = wecom_api.record_click(m, key)
                assert (await callbacks.post(callbacks.click(m, key, task_id, code))).status_code == 200
            # every figure committed, and every connection taken by a request WeCom holds: no more can leave
            await until(lambda: figure_count(app) == len(MEMBERS) and len(wecom_api.holding()) == CONNECTIONS,
                        "every figure saved, every connection busy", DEADLINE * 2)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        reached = {str(b["touser"]) for b in wecom_api.holding() if SAVED in str(b.get("text", {}).get("content", ""))}
        assert reached and all(not saved(wecom_api, m) for m in MEMBERS)  # some requests reached WeCom, none answered
        wecom_api.release()  # WeCom goes on with the requests it took: those members are told
        await until(lambda: all(saved(wecom_api, m) for m in reached), "the requests WeCom took delivered")
        status = reply_statuses(app)
        if status:  # (none: replies were not held, and the ones that had not left are lost)
            assert {m for m, st in status.items() if st == "sending"} == reached
            assert {m for m, st in status.items() if st == "claimed"} == set(MEMBERS) - reached

        proc = started(dict(run_env, PLANBOT_NOW=RESTART), err)
        try:  # the restart's recovery and first tick settle every held reply
            await until(lambda: not {"claimed", "pending", "sending"} & set(reply_statuses(app).values()),
                        "every held reply sent or uncertain")
        finally:
            proc.send_signal(signal.SIGINT)
            assert await asyncio.to_thread(proc.wait, 30) == 0, err.read_text()
        told = Counter(m for m in MEMBERS for _ in saved(wecom_api, m))
        assert set(told) == set(MEMBERS), f"not told: {sorted(set(MEMBERS) - set(told))}"  # none lost
        assert max(told.values()) == 1  # none told twice
        status = reply_statuses(app)
        assert {m for m, st in status.items() if st == "uncertain"} == reached  # only requests that reached WeCom
        assert {m for m, st in status.items() if st == "sent"} == set(MEMBERS) - reached
    finally:
        await callbacks.aclose()
        app.close()
