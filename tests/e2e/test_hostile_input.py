"""Hostile input: forged button payloads and odd digits get the polite refusal, never an exception, and nothing is
saved. The whole matrix on the console (the same router, real SQLite and PostgreSQL); the issue's cases again
through the real python-telegram-bot and the fake Bot API, where an exception would leave the update unhandled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
import pytest_asyncio

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.console import render
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from bot.db.inbox import Inbox
from fakes import FakeBotApi
from support import Chat, TestBot, figures, invite

ALICE = 3001
telegram = [pytest.mark.asyncio,
            pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]


def press(bot: TestBot, user: str, payload: str) -> str:
    """Press a button by its payload, forged or not; the replies as the console shows them."""
    return "\n".join(render(r) for r in bot.console.press(user, payload))


def step(bot: TestBot, user: str) -> int:
    """The step counter the buttons last shown to user carry (what a forger would copy)."""
    return int(bot.last[user][0].split("|")[0])


def test_forged_report_buttons_are_refused_and_the_real_ones_still_work(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "/report")
    v = step(testbot, "alice")
    for forged in ("pick|nope", "pick|national_hightech_zone", "pick|", "pick|../../etc"):
        assert "not valid" in press(testbot, "alice", f"{v}|{forged}"), forged
        v += 1  # every handled update moves the conversation one step on
    for forged in ("²|pick|tech_smes", "١|pick|tech_smes", "𝟏|pick|tech_smes", "|pick|x", "1|pick",
                   "9" * 5000 + "|pick|tech_smes"):
        assert "not valid" in press(testbot, "alice", forged), forged
        v += 1
    assert "please send" in press(testbot, "alice", f"{v}|pick|hightech_enterprises")
    v += 1
    for forged in ("stage|1e3", "stage|abc", "stage|1", "stage|NaN", "stage|-0", "stage|Infinity"):
        assert "not valid" in press(testbot, "alice", f"{v}|{forged}"), forged
        v += 1
    assert "Please confirm" in testbot.say("alice", "12")
    assert "Saved" in testbot.say("alice", "1")
    testbot.join("bob", "contact", "sci_tech_bureau")  # the lead unit of the staged indicators
    testbot.say("bob", "/report")
    pick = next(p for p, label in zip(testbot.last["bob"], testbot.labels("bob"), strict=True)
                if "national level" in label)
    press(testbot, "bob", pick)
    w = int(pick.split("|")[0]) + 1
    for forged in ("stage|abc", "stage|1e3", "stage|5", "stage|99", "stage|-1", "stage|٣", "stage|³", "stage|２",
                   "stage|02", "stage|" + "9" * 5000):
        assert "not valid" in press(testbot, "bob", f"{w}|{forged}"), forged
        w += 1
    assert "Breakthrough progress" in press(testbot, "bob", f"{w}|stage|2")
    for forged in ("0|sign|x", "0|sign|²", "0|sign|99999999999999999999", f"{w + 1}|lang|xx"):
        assert "valid" in press(testbot, "bob", forged), forged
    assert [(p, v) for p, v, _ in figures(testbot.app)] == [("2018Q3", Decimal(12))]


def test_forged_audience_and_notice_buttons_are_refused(testbot: TestBot) -> None:
    testbot.join("root", "admin")
    testbot.say("root", "/broadcast 请于10日前报送三季度数据")
    v = step(testbot, "root")
    for forged in ("audience|role:admin", "audience|units:panshan", "audience|group:nope", "audience|all,x"):
        assert "not valid" in press(testbot, "root", f"{v}|{forged}"), forged
        v += 1
    for forged in ("resend|abc", "resend|²", "resend|-1", "resend|99999999999999999999"):
        assert "not valid" in press(testbot, "root", f"{v}|{forged}"), forged
        v += 1


def test_only_ascii_and_full_width_digits_are_digits(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    for odd in ("²", "١", "①", "𝟏"):  # with numbered choices pending: refused, not int()ed
        testbot.say("alice", "/report")
        out = testbot.say("alice", odd)  # at the prompt: not a choice, the same prompt asked again (#13)
        assert f"“{odd}” is not one of the choices" in out and "7 of 7 indicators" in out, odd
    testbot.say("alice", "/report")
    assert "please send" in testbot.say("alice", "１")  # a full-width 1 picks the first
    for odd in ("²", "①", "𝟏𝟐", "12²", "١٢", "⒓", "⑫家", "1²家"):
        assert "not a number I can read" in testbot.say("alice", odd), odd
    testbot.say("alice", "/cancel")
    assert "not a number I can read" in testbot.say("alice", "高新技术企业 𝟏𝟐家")
    assert "not a number I can read" in testbot.say("alice", "高新技术企业 2018Q3 ①②家")
    assert figures(testbot.app) == []
    assert "Please confirm" in testbot.say("alice", "高新技术企业 １２家")
    assert "Please confirm" in testbot.say("alice", "高新技术企业 十二家")


@pytest.fixture
def hostile_app(tg_env: dict[str, str]) -> Iterator[App]:
    app = bootstrap(Settings.from_env(tg_env))
    yield app
    app.close()


@pytest_asyncio.fixture
async def polling(hostile_app: App) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(hostile_app, poll_timeout=1)
    await ch.start()
    yield ch
    await ch.stop()


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")
async def test_forged_callbacks_and_odd_digits_over_telegram_are_answered_and_handled(
        fake: FakeBotApi, hostile_app: App, polling: TelegramChannel) -> None:
    alice = Chat(fake, ALICE, lang="en")
    await alice.say(invite(hostile_app, "contact", "panshan"))
    menu = await alice.say("/report")
    v = int(menu["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split("|")[0])
    assert "not valid" in (await alice.press_data(f"{v}|pick|nope"))["text"]
    assert "“²” is not one of the choices" in (await alice.say("²"))["text"]  # the prompt is kept (#13)
    await alice.say("/report")
    asked = await alice.press("High-tech enterprises")
    v = int(asked["reply_markup"]["inline_keyboard"][0][0]["callback_data"].split("|")[0])
    assert "not valid" in (await alice.press_data(f"{v}|stage|abc"))["text"]
    assert "not valid" in (await alice.press_data(f"{v + 1}|stage|1e3"))["text"]
    assert "not a number I can read" in (await alice.say("𝟏𝟐"))["text"]
    assert figures(hostile_app) == []
    assert Inbox(hostile_app.uow, "telegram").pending() == []  # every update handled, none left for a restart


def test_forged_and_stale_short_payloads_are_refused(testbot: TestBot) -> None:
    """A payload too long for a button goes as STEP|*|N (handlers/outgoing.py); one not in the step's table, or of an
    earlier step, is refused like any forged or stale button."""
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "/report")
    v = step(testbot, "alice")
    assert "That button is not valid" in press(testbot, "alice", f"{v}|*|0")
    assert "no longer valid" in press(testbot, "alice", f"{v - 1}|*|0")
    for forged in (f"{v + 2}|*|99999", f"{v + 3}|*|x", "|*|0", "²|*|0"):
        assert "not valid" in press(testbot, "alice", forged), forged
    assert figures(testbot.app) == []
