"""The real python-telegram-bot against the fake Bot API server on 127.0.0.1: polling, paces, webhook, manners, the
token kept out of the logs. What becomes of each update (replays, a locked database): test_telegram_inbox.py."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from decimal import Decimal

import httpx
import pytest
from telegram.error import NetworkError

from bot.app import App
from bot.bootstrap import bootstrap, run_channels
from bot.channels.telegram.channel import LeanBot, TelegramChannel
from bot.channels.telegram.transport import AiohttpRequest
from bot.config import Settings
from bot.db.inbox import Inbox
from fakes import FakeBotApi
from support import DEADLINE, TELEGRAM_TOKEN, Chat, figures, idle, invite, running, until

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
ALICE, LEE, GROUP = 1001, 2002, -5005


async def test_polling_guided_report_with_inline_buttons(fake: FakeBotApi, tg_app: App,
                                                         channel: TelegramChannel) -> None:
    alice = Chat(fake, ALICE)
    welcome = await alice.say(f"/start {invite(tg_app, 'contact', 'panshan')}")  # the deep link's payload
    assert "盘山县人民政府" in welcome["text"]
    menu = await alice.say("填报")
    assert menu["reply_markup"]["inline_keyboard"][0][0]["text"].startswith("高新技术企业总数")
    asked = await alice.press("高新技术企业总数")
    assert "2018Q3" in asked["text"]
    confirm = await alice.say("12家")
    assert "12家" in confirm["text"]
    saved = await alice.press("确认")
    assert saved["text"].startswith("已填报：高新技术企业总数，2018Q3：12家。\n下一项：科技型中小企业总数？")
    assert figures(tg_app) == [("2018Q3", Decimal(12), "telegram")]
    methods = [m for m, _ in fake.calls]
    assert "answerCallbackQuery" in methods and "editMessageReplyMarkup" in methods
    assert [c["command"] for c in fake.my_commands("en")][:2] == ["report", "correct"]
    assert fake.my_commands("")[0]["description"] != fake.my_commands("en")[0]["description"]


async def test_an_invite_in_chat_comes_with_a_deep_link_that_binds(fake: FakeBotApi, tg_app: App,
                                                                   channel: TelegramChannel) -> None:
    ada = Chat(fake, LEE, lang="en")
    await ada.say(invite(tg_app, "admin"))
    reply = (await ada.say("/invite 盘山县 contact"))["text"]
    links = re.findall(r"https://t\.me/planbot_test_bot\?start=([A-Za-z0-9_-]+)", reply)
    assert len(links) == 1, reply
    welcome = await Chat(fake, ALICE).say(f"/start {links[0]}")  # what Telegram sends when the link is opened
    assert "欢迎！您已登记为盘山县人民政府单位联络员。" in welcome["text"]


async def test_forged_and_stale_buttons_are_refused(fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    alice = Chat(fake, ALICE, lang="en")
    await alice.say(invite(tg_app, "contact", "panshan"))
    await alice.say("/report")
    stale = fake.sent(ALICE)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await alice.say("/cancel")
    assert "no longer valid" in (await alice.press_data(stale))["text"]
    assert "no longer valid" in (await alice.press_data("1|confirm|; DROP TABLE figures"))["text"]
    assert "not valid" in (await alice.press_data("7|drop_table|figures"))["text"]
    assert figures(tg_app) == []


async def test_group_chats_photos_and_edits(fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    lee = Chat(fake, LEE, lang="en")
    await lee.say(invite(tg_app, "leader"))
    group = Chat(fake, GROUP, user_id=LEE, chat_type="group", lang="en")
    await group.say("/lagging@planbot_test_bot", expect=3)  # 17 indicators without data: two messages, then the chart
    texts = [m["text"] for m in fake.sent(GROUP) if m["method"] == "sendMessage"]
    assert "Targets needing attention" in texts[0] and all(len(text) <= 4096 for text in texts)
    photo = fake.sent(GROUP)[-1]
    assert photo["method"] == "sendPhoto" and photo["photo"]["size"] > 10_000  # the overview chart
    assert "private chat" in (await group.say("/report"))["text"]
    for kind in ("sticker", "photo", "voice"):
        before = len(fake.sent(LEE))
        fake.push_update(fake.media_update(LEE, kind, lang="en"))
        assert "send text" in (await lee._await_reply(before))["text"], kind
    before = len(fake.sent(LEE))
    fake.push_update(fake.message_update(LEE, "高企 13家", edited=True, lang="en"))
    assert "edited" in (await lee._await_reply(before))["text"]


async def test_one_chats_messages_are_answered_in_order(fake: FakeBotApi, tg_app: App,
                                                       channel: TelegramChannel) -> None:
    """A burst from one chat, sent without waiting for answers: every reply of one message (/lagging's text and
    chart) comes before any reply of the next."""
    lee = Chat(fake, LEE)
    await lee.say(invite(tg_app, "leader"))
    burst = ["/lagging", "/missing", "/units", "/lagging"]
    for text in burst:
        fake.push_update(fake.message_update(LEE, text))
    await fake.wait_for_sent_async(1 + 6, LEE, timeout=DEADLINE)
    await idle(channel, fake)
    got = [(m["method"], str(m.get("text") or m.get("caption") or "")) for m in fake.sent(LEE)[1:]]
    lagging, chart = ("sendMessage", "截至2018年10月15日：\n共 17 项指标"), ("sendPhoto", "")
    missing, units = ("sendMessage", "截至2018年10月15日，以下数据尚未报送"), ("sendMessage", "各单位报送情况")
    expected = [lagging, chart, missing, units, lagging, chart]
    assert len(got) == len(expected) and all(
        method == m and text.startswith(t) for (method, text), (m, t) in zip(got, expected, strict=True)), got


async def test_different_chats_are_handled_in_parallel(fake: FakeBotApi, tg_app: App,
                                                       channel: TelegramChannel) -> None:
    """Eight chats write at once while every Bot API call takes 0.3 s: their replies are in flight together."""
    chats = [3000 + i for i in range(8)]
    fake.delay = 0.3
    for chat in chats:
        fake.push_update(fake.message_update(chat, "hello", lang="en"))
    for chat in chats:
        assert "invite code" in (await fake.wait_for_sent_async(1, chat, timeout=DEADLINE))[0]["text"]
    await idle(channel, fake)
    assert fake.most_in_flight >= 2  # one at a time would be 1
    assert all(len(fake.sent(chat)) == 1 for chat in chats)


def arrivals(fake: FakeBotApi, chat_id: int | None = None) -> list[float]:
    """When each message (to chat_id) reached the fake, in order."""
    return [t for t, _, c in fake.arrivals if chat_id is None or c == chat_id]


async def test_one_message_a_second_per_private_chat(fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    """Six replies to one private chat take at least 5 s; the bound asserted is half that, as a lower bound (a slow
    machine only stretches it), and without the per-chat pace they arrive within a fraction of a second."""
    lee = Chat(fake, LEE)
    await lee.say(invite(tg_app, "leader"))
    for text in ["/lagging", "/missing", "/units", "/lagging"]:  # 6 replies: /lagging sends a chart too
        fake.push_update(fake.message_update(LEE, text))
    await fake.wait_for_sent_async(1 + 6, LEE, timeout=DEADLINE)
    times = arrivals(fake, LEE)[1:]
    assert len(times) == 6 and times[-1] - times[0] >= 2.5


async def test_twenty_messages_a_minute_per_group(fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    """22 replies to a group: 20 may go at once, then one every 3 s, so the 22nd comes at least 6 s after the
    first (asserted: 3 s, a lower bound)."""
    for _ in range(22):
        fake.push_update(fake.message_update(GROUP, "/report", user_id=LEE, chat_type="group"))
    sent = await fake.wait_for_sent_async(22, GROUP, timeout=DEADLINE)
    assert [m["text"] for m in sent] == ["请在与我的私聊中进行此操作。"] * 22
    times = arrivals(fake, GROUP)
    assert times[21] - times[0] >= 3.0


async def test_the_global_pace_is_telegram_max_rate(fake: FakeBotApi, tg_env: dict[str, str]) -> None:
    """TELEGRAM_MAX_RATE=5: eleven chats answered take at least 2 s (asserted: 1 s, a lower bound), not a burst."""
    assert Settings.from_env({}).telegram_max_rate == 25  # the README's default
    app = bootstrap(Settings.from_env(dict(tg_env, TELEGRAM_MAX_RATE="5")))
    try:
        async with running(app) as ch:
            chats = [4000 + i for i in range(11)]
            for chat in chats:
                fake.push_update(fake.message_update(chat, "hello", lang="en"))
            for chat in chats:
                await fake.wait_for_sent_async(1, chat, timeout=DEADLINE)
            await idle(ch, fake)
        times = arrivals(fake)
        assert len(times) == 11 and times[-1] - times[0] >= 1.0
    finally:
        app.close()


async def test_retry_after_is_honoured(fake: FakeBotApi, tg_app: App, channel: TelegramChannel) -> None:
    fake.fail_next("sendMessage", 429, retry_after=1)
    reply = await Chat(fake, ALICE, lang="en").say("hello")
    assert "invite code" in reply["text"]
    assert [m for m, _ in fake.calls].count("sendMessage") >= 2


async def test_the_token_never_reaches_the_logs(fake: FakeBotApi, tg_app: App, channel: TelegramChannel,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await Chat(fake, ALICE).say("你好")
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert TELEGRAM_TOKEN not in caplog.text and TELEGRAM_TOKEN.split(":")[1] not in caplog.text


async def test_the_token_never_reaches_the_logs_when_requests_fail(fake: FakeBotApi, tg_app: App,
                                                                  channel: TelegramChannel,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Failed Bot API calls, and the tracebacks logged with them, carry no token either."""
    caplog.set_level(logging.DEBUG)
    fake.fail_next("sendMessage", 502, times=10)
    fake.fail_next("getUpdates", 502)
    fake.push_update(fake.message_update(ALICE, "你好"))
    await until(lambda: any(m == "sendMessage" for m, _ in fake.calls), "the failing send")
    await idle(channel, fake)
    gone = f"http://127.0.0.1:{free_port()}/bot"  # nobody listens there: the request never connects
    bot = LeanBot(TELEGRAM_TOKEN, base_url=gone, request=AiohttpRequest(1, read_timeout=2))
    with pytest.raises(NetworkError) as failed:
        await bot.post("sendMessage", {"chat_id": ALICE, "text": "x"})
    logging.getLogger("telegram.ext").exception("a failed call", exc_info=failed.value)
    failures = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert failures, "no failure was logged: the check would prove nothing"
    text = "\n".join(caplog.handler.format(r) for r in caplog.records)
    assert TELEGRAM_TOKEN not in text and TELEGRAM_TOKEN.split(":")[1] not in text, text


async def listening(port: int) -> bool:
    """The webhook server answers its health check."""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_webhook_mode_checks_the_secret_and_answers(fake: FakeBotApi, tg_env: dict[str, str]) -> None:
    port = free_port()
    env = dict(tg_env, TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/hook/telegram",
               TELEGRAM_WEBHOOK_SECRET="s3cret-for-tests", PLANBOT_WEBHOOK_LISTEN=f"127.0.0.1:{port}")
    app = bootstrap(Settings.from_env(env))
    stop = asyncio.Event()
    task = asyncio.create_task(run_channels(app, stop))
    try:
        await until(lambda: task.done() or bool(fake.webhook and fake.webhook.get("url")), "the webhook registered")
        assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret-for-tests"
        await until(lambda: task.done() or listening(port), "the webhook server answering /healthz")
        assert not task.done(), task
        update = fake.message_update(ALICE, invite(app, "leader"), lang="en")
        assert await fake.deliver_webhook_async(dict(update), secret="wrong") == 403
        assert await fake.deliver_webhook_async(dict(update), secret=None) == 403
        async with httpx.AsyncClient(timeout=10) as client:  # bodies that are not updates: 400, nothing stored
            for body in (b"not json", b"[1, 2]", b'{"update_id": "x", "message": 5}'):
                r = await client.post(f"http://127.0.0.1:{port}/hook/telegram", content=body,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-for-tests"})
                assert r.status_code == 400, body
        assert Inbox(app.uow, "telegram").pending() == []
        assert await fake.deliver_webhook_async(update) == 200
        sent = await fake.wait_for_sent_async(1, ALICE)
        assert "Welcome" in sent[0]["text"]
        lee = fake.message_update(ALICE, "which targets are lagging?", lang="en")
        assert await fake.deliver_webhook_async(lee) == 200
        sent = await fake.wait_for_sent_async(2, ALICE)
        assert "Targets needing attention" in sent[1]["text"]
    finally:
        stop.set()
        await task
        app.close()
