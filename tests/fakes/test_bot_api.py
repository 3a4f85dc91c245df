"""The fake Bot API server against the real python-telegram-bot: Bot calls, polling, failures, refusals."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import threading
import time
from typing import Any

import httpx
import pytest
from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from fakes.bot_api import FakeBotApi
from fakes.bot_api_support import CHAT, TOKEN, echo_app
from support import DEADLINE, wait_until

# PTB 22 warns inside RetryAfter itself that retry_after will become a timedelta: not ours to fix here.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")
LONG_POLL = 60  # seconds: longer than any deadline a test waits, so that a poll that is not woken up fails it


def _seconds(e: RetryAfter) -> float:
    value: Any = e.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def _markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("是", callback_data="yes"),
                                  InlineKeyboardButton("否", callback_data="no")]])


# --- 1. plain Bot calls ----------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_bot_methods(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT, -100777)  # people who started the bot before
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        me = await bot.get_me()
        assert (me.id, me.username, me.is_bot) == (123456, "planbot_test_bot", True)

        msg = await bot.send_message(CHAT, "123", reply_markup=_markup())
        assert msg.text == "123" and msg.chat.id == CHAT and msg.from_user and msg.from_user.id == 123456
        assert msg.reply_markup == _markup()
        second = await bot.send_message(CHAT, "again")
        assert second.message_id == msg.message_id + 1 and second.reply_markup is None

        edited = await bot.edit_message_text("已确认", chat_id=CHAT, message_id=msg.message_id, reply_markup=_markup())
        assert isinstance(edited, type(msg)) and edited.text == "已确认" and edited.edit_date is not None
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("已确认", chat_id=CHAT, message_id=msg.message_id, reply_markup=_markup())
        stripped = await bot.edit_message_reply_markup(chat_id=CHAT, message_id=msg.message_id)
        assert not isinstance(stripped, bool) and stripped.reply_markup is None

        assert await bot.answer_callback_query("777", text="ok")
        assert await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("report", "汇报")],
                                         language_code="zh")
        assert await bot.set_my_commands([BotCommand("start", "Start")])
        assert await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllPrivateChats())
        assert [c.command for c in await bot.get_my_commands(language_code="zh")] == ["start", "report"]
        assert [c.description for c in await bot.get_my_commands()] == ["Start"]
        assert fake.my_commands("zh")[1] == {"command": "report", "description": "汇报"}
        assert fake.my_commands(scope={"type": "all_private_chats"}) == [{"command": "help", "description": "Help"}]
        assert await bot.delete_my_commands(language_code="zh")
        assert await bot.get_my_commands(language_code="zh") == ()
        assert await bot.send_chat_action(CHAT, "typing")
        assert await bot.set_chat_menu_button()

        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4 + b"\r\n--\r\n"
        photo = await bot.send_photo(CHAT, png, caption="图")
        assert photo.photo and photo.caption == "图"
        doc = await bot.send_document(-100777, io.BytesIO(b"x" * 1000), filename="进度.xlsx")
        assert doc.document and doc.document.file_name == "进度.xlsx" and doc.document.file_size == 1000
        assert doc.chat.type == "supergroup"

    sent = fake.sent()
    assert [s["method"] for s in sent] == ["sendMessage", "sendMessage", "editMessageText", "sendPhoto",
                                           "sendDocument"]
    assert sent[0]["text"] == "123" and sent[0]["chat_id"] == CHAT  # a numeric text stays a string
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0] == {"text": "是", "callback_data": "yes"}
    assert sent[3]["photo"]["content"] == png and sent[3]["photo"]["size"] == len(png) and sent[3]["caption"] == "图"
    assert sent[4]["document"]["filename"] == "进度.xlsx"
    assert fake.sent(-100777) == [sent[4]]
    assert [m for m, _ in fake.calls][:3] == ["getMe", "getMe", "sendMessage"]  # initialize() calls getMe too


@pytest.mark.asyncio
async def test_wrong_token_unknown_method_and_bodies(fake: FakeBotApi) -> None:
    fake.add_chat(5, -5)
    fake.expect_refusals()  # an empty text, on purpose
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{fake.base_url}{TOKEN}/noSuchMethod")
        assert (r.status_code, r.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
        r = await client.post(f"{fake.base_url}{TOKEN}/sendMessage",
                              json={"chat_id": 5, "text": "json", "reply_markup": {"inline_keyboard": []}})
        assert r.json()["ok"] and r.json()["result"]["chat"] == {"id": 5, "type": "private"}
        r = await client.get(f"{fake.base_url}{TOKEN}/sendMessage", params={"chat_id": "-5", "text": "get"})
        assert r.json()["result"]["chat"]["type"] == "group"
        r = await client.post(f"{fake.base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": ""})
        assert r.status_code == 400 and r.json()["description"] == "Bad Request: message text is empty"
    assert [s["text"] for s in fake.sent()] == ["json", "get"]


# --- 2. polling ------------------------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_polling_application(fake: FakeBotApi) -> None:
    app = echo_app(fake)
    pressed: list[str] = []

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None and update.callback_query.data is not None
        pressed.append(update.callback_query.data)
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"pressed {update.callback_query.data}")

    async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_text(f"hi {update.effective_user.language_code}",
                                                  reply_markup=_markup())

    app.add_handler(CommandHandler("start", on_start))
    app.add_handler(CallbackQueryHandler(on_button))
    first = fake.push_update(fake.message_update(CHAT, "你好"))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=LONG_POLL)
    try:
        assert [s["text"] for s in await fake.wait_for_sent_async(1, CHAT, timeout=DEADLINE)] == ["echo: 你好"]
        second = fake.push_update(fake.message_update(CHAT, "again", message_id=50))
        # the long poll that is waiting wakes up with it: otherwise it would come only after LONG_POLL seconds
        await fake.wait_for_sent_async(2, CHAT, timeout=DEADLINE)
        assert second == first + 1
        fake.push_update(fake.message_update(CHAT, "/start"))
        start_reply = (await fake.wait_for_sent_async(3, CHAT, timeout=DEADLINE))[2]
        assert start_reply["text"] == "hi zh-hans" and start_reply["message_id"] == 53
        fake.push_update(fake.callback_update(CHAT, "yes", message_id=start_reply["message_id"]))
        edit = (await fake.wait_for_sent_async(4, CHAT, timeout=DEADLINE))[3]
        assert (edit["method"], edit["text"], edit["message_id"]) == ("editMessageText", "pressed yes", 53)
        fake.push_update(fake.message_update(-1001, "group hi", chat_type="supergroup", user_id=7, edited=True))
        group = (await fake.wait_for_sent_async(1, -1001, timeout=DEADLINE))[0]  # MessageHandler takes edits too
        assert group["text"] == "echo: group hi" and group["reply_parameters"]["message_id"] == 1
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert pressed == ["yes"]
    assert [s["text"] for s in fake.sent(CHAT)] == ["echo: 你好", "echo: again", "hi zh-hans", "pressed yes"]
    assert fake.pending_updates == []  # all confirmed by the updater's final getUpdates
    offsets = [p.get("offset") for m, p in fake.calls if m == "getUpdates"]
    assert offsets[-1] == first + 5

    again = echo_app(fake)  # a restarted bot gets nothing twice
    await again.initialize()
    await again.start()
    assert again.updater is not None
    await again.updater.start_polling(poll_interval=0, timeout=1)
    fake.push_update(fake.message_update(CHAT, "after restart"))
    try:
        await fake.wait_for_sent_async(5, CHAT, timeout=DEADLINE)
    finally:
        await again.updater.stop()
        await again.stop()
        await again.shutdown()
    assert [s["text"] for s in fake.sent(CHAT)][4:] == ["echo: after restart"]


def test_long_poll_times_out_and_stop_is_quick() -> None:
    fake = FakeBotApi(TOKEN).start()
    url = f"{fake.base_url}{TOKEN}/getUpdates"
    t0 = time.monotonic()
    assert httpx.post(url, data={"timeout": "0.3"}).json() == {"ok": True, "result": []}
    assert time.monotonic() - t0 >= 0.3  # it waited for the timeout
    fake.push_update({"update_id": 10, **fake.message_update(1, "x")})
    assert fake.push_update(fake.media_update(1, "voice")) == 11
    got = httpx.post(url, data={"offset": "11", "timeout": "1"}).json()["result"]
    assert [u["update_id"] for u in got] == [11] and got[0]["message"]["voice"]["mime_type"] == "audio/ogg"
    for kind in ("photo", "sticker", "document"):
        assert Update.de_json(fake.media_update(1, kind) | {"update_id": 1}, None) is not None


    results: list[int] = []
    poller = threading.Thread(target=lambda: results.append(httpx.post(
        url, data={"offset": "12", "timeout": str(LONG_POLL)}, timeout=LONG_POLL + 10).status_code))
    poller.start()
    wait_until(lambda: sum(m == "getUpdates" for m, _ in fake.calls) == 3, "the long poll under way")
    fake.stop()
    poller.join(timeout=DEADLINE)  # a long poll that stop() did not wake would take LONG_POLL seconds
    assert not poller.is_alive() and results == [200]


# --- 3. failures and flood limits ------------------------------------------------------------------------------------
@pytest.mark.asyncio
async def test_failures_on_demand(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        fake.fail_next("sendMessage", 429, retry_after=1)
        with pytest.raises(RetryAfter) as e:
            await bot.send_message(CHAT, "a")
        assert _seconds(e.value) == 1
        await bot.send_message(CHAT, "b")  # only once
        fake.fail_next("sendMessage", 502, times=2)
        for _ in range(2):
            with pytest.raises(NetworkError):
                await bot.send_message(CHAT, "c")
        fake.fail_next("sendMessage", 403)
        with pytest.raises(TelegramError, match="blocked"):
            await bot.send_message(CHAT, "d")
        fake.fail_next("editMessageText", 400, description="Bad Request: message to edit not found")
        with pytest.raises(BadRequest, match="to edit not found"):
            await bot.edit_message_text("x", chat_id=CHAT, message_id=1)
        await bot.send_message(CHAT, "e")
    assert [s["text"] for s in fake.sent()] == ["b", "e"]
    assert fake.too_many_requests == 1
    assert sum(m == "sendMessage" for m, _ in fake.calls) == 6


@pytest.mark.asyncio
async def test_max_per_second(fake: FakeBotApi) -> None:
    fake.max_per_second = 3
    fake.add_chat(CHAT)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        outcomes = await asyncio.gather(*(bot.send_message(CHAT, str(i)) for i in range(8)), return_exceptions=True)
        limited = [o for o in outcomes if isinstance(o, RetryAfter)]
        assert len(limited) == 5 and fake.too_many_requests == 5 and _seconds(limited[0]) == 1
        assert len(fake.sent()) == 3
        fake.max_per_second = None
        await bot.send_message(CHAT, "free")


@pytest.mark.asyncio
async def test_delay_and_latency(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        for i in range(20):  # their latency (no 40 ms Nagle/delayed-ACK stall each) is measured in bench/
            await bot.send_message(CHAT, str(i))
        assert [s["text"] for s in fake.sent()] == [str(i) for i in range(20)]
        fake.delay = 0.2
        t0 = time.monotonic()
        await bot.send_message(CHAT, "slow")
        assert time.monotonic() - t0 >= 0.2


# --- 4. what Telegram refuses ----------------------------------------------------------------------------------------
def _keyboard(n: int, data: str = "x") -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=data)] for i in range(n)])


@pytest.mark.asyncio
async def test_requests_telegram_refuses_are_refused_and_recorded(fake: FakeBotApi) -> None:
    fake.add_chat(CHAT)
    fake.push_update(fake.message_update(CHAT, "a person's message", message_id=500))
    fake.expect_refusals()
    refused: list[tuple[str, Any]] = [
        ("message is too long", lambda b: b.send_message(CHAT, "长" * 4097)),
        ("message is too long", lambda b: b.send_message(CHAT, "🙂" * 2049)),  # 4,098 UTF-16 code units
        ("message text is empty", lambda b: b.send_message(CHAT, " \n ")),
        ("caption is too long", lambda b: b.send_photo(CHAT, b"png", caption="图" * 1025)),
        ("BUTTON_DATA_INVALID", lambda b: b.send_message(CHAT, "x", reply_markup=_keyboard(1, "指标" * 11))),
        ("reply markup is too long", lambda b: b.send_message(CHAT, "x", reply_markup=_keyboard(101))),
        ("chat not found", lambda b: b.send_message(777, "never wrote to the bot")),
        ("message to edit not found", lambda b: b.edit_message_reply_markup(chat_id=CHAT, message_id=9999)),
        ("message can't be edited", lambda b: b.edit_message_text("x", chat_id=CHAT, message_id=500)),
    ]
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        for words, call in refused:
            with pytest.raises(BadRequest, match=f"(?i){words}"):
                await call(bot)
        # at the limits, all is well
        await bot.send_message(CHAT, "长" * 4096, reply_markup=_keyboard(100, "指" * 21 + "x"))
        await bot.send_message(CHAT, "🙂" * 2048)
        await bot.send_photo(CHAT, b"png", caption="图" * 1024)
    assert [d for _, d in fake.violations] == [d for d in (
        "Bad Request: message is too long", "Bad Request: message is too long", "Bad Request: message text is empty",
        "Bad Request: message caption is too long", "Bad Request: BUTTON_DATA_INVALID",
        "Bad Request: reply markup is too long", "Bad Request: chat not found",
        "Bad Request: message to edit not found", "Bad Request: message can't be edited")]
    assert len(fake.sent(CHAT)) == 3
