"""The bulk sendMessage path (LeanMessages): the body PTB would send, PTB's error mapping, the limiter's pacing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest
import pytest_asyncio
from telegram.ext import Defaults
from telegram.request import HTTPXRequest

from bot.channels.telegram.channel import LeanBot
from bot.channels.telegram.limits import FloodLimiter
from bot.channels.telegram.sender import TelegramSender, sending_bot
from bot.channels.telegram.transport import AiohttpRequest
from bot.messages import Button, Reply
from fakes import FakeBotApi
from reminders.dispatch import Blocked, Permanent, RetryLater, Transient, Uncertain
from support import raw_http_server

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
TOKEN = "4343:lean-token"
BUTTONS = [Button("签收 ✓", "ack:7"), Button("稍后 & 再说", "later:7=1")]


async def capture() -> tuple[asyncio.Server, str, list[bytes]]:
    """A bare HTTP server that answers every request with a sent message; each request as it came."""
    answer = b'{"ok": true, "result": {"message_id": 9, "date": 0, "chat": {"id": 5, "type": "private"}}}'
    server, port, received = await raw_http_server(
        lambda head, body: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
        % (len(answer), answer))
    return server, f"http://127.0.0.1:{port}/bot", received


def head_and_body(request: bytes) -> tuple[bytes, bytes]:
    """A request's head (through the blank line) and its body."""
    head, _, body = request.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", body


async def test_the_lean_body_is_the_one_ptb_sends() -> None:
    """The same parameters in the same order, encoded byte for byte as PTB encodes them (the keyboard's JSON
    included), to the same URL with the same content type; with and without buttons, the same text again (from
    the cache) and another text."""
    server, url, raw = await capture()
    request = AiohttpRequest(2)
    bot = LeanBot(TOKEN, base_url=url, request=request, rate_limiter=FloodLimiter(overall_per_second=1000))
    sender = TelegramSender(bot)
    assert sender.lean is not None
    async with server, request:
        for chat, text, buttons in [(5, "请于周五前报送 a+b=c&d", BUTTONS), (6, "请于周五前报送 a+b=c&d", BUTTONS),
                                    (5, "第二条\n换行", []), (-100123, "群里", BUTTONS[:1])]:
            assert await sender.send(str(chat), text, buttons) == "9"
            await bot.send_text(chat, text, Reply(text, tuple((b,) for b in buttons)))  # PTB's own path
    received = [head_and_body(r) for r in raw]
    assert len(received) == 8
    for (lean_head, lean_body), (ptb_head, ptb_body) in zip(received[::2], received[1::2], strict=True):
        assert lean_body == ptb_body
        line = f"POST /bot{TOKEN}/sendMessage HTTP/1.1".encode()
        assert lean_head.split(b"\r\n")[0] == ptb_head.split(b"\r\n")[0] == line
        assert b"content-type: application/x-www-form-urlencoded" in lean_head.lower()
    fields = dict(parse_qsl(received[0][1].decode()))
    assert fields["chat_id"] == "5" and fields["text"] == "请于周五前报送 a+b=c&d"
    assert '"callback_data": "later:7=1"' in fields["reply_markup"]
    assert "reply_markup" not in dict(parse_qsl(received[4][1].decode()))


async def test_ptb_sends_for_itself_where_it_would_change_the_parameters() -> None:
    """Defaults (a parse mode, say) change what PTB sends, and another transport cannot take a pre-encoded body:
    no lean path then. (A callback data cache, the other case, needs a PTB extra that planbot does not install.)"""
    assert TelegramSender(LeanBot(TOKEN, request=AiohttpRequest(1))).lean is not None
    with_defaults = LeanBot(TOKEN, request=AiohttpRequest(1), defaults=Defaults(parse_mode="HTML"))
    assert TelegramSender(with_defaults).lean is None
    assert TelegramSender(LeanBot(TOKEN, request=HTTPXRequest())).lean is None


@pytest_asyncio.fixture
async def lean() -> AsyncIterator[tuple[FakeBotApi, TelegramSender]]:
    """The fake, and a sender over the bulk sending bot (lean path) with PTB's retries after a 429 off."""
    with FakeBotApi(TOKEN) as fake:
        fake.add_chat(5, 6)
        bot = sending_bot(TOKEN, fake.base_url, FloodLimiter(overall_per_second=200, max_retries=0),
                          read_timeout=0.5)
        async with bot:
            sender = TelegramSender(bot)
            assert sender.lean is not None
            yield fake, sender


@pytest.mark.parametrize(("status", "description", "error"), [
    (403, "Forbidden: bot was blocked by the user", Blocked),
    (400, "Bad Request: message text is empty", Permanent),
    (401, "Unauthorized", Permanent),
    (500, None, Uncertain), (502, None, Uncertain), (504, None, Uncertain),
])
async def test_lean_sends_map_telegrams_answers(lean: tuple[FakeBotApi, TelegramSender], status: int,
                                                description: str | None, error: type[Exception]) -> None:
    fake, sender = lean
    fake.fail_next("sendMessage", status, description=description)
    with pytest.raises(error):
        await sender.send("5", "x", BUTTONS)
    assert await sender.send("6", "y", BUTTONS) is not None  # the next one goes through
    assert [m["chat_id"] for m in fake.sent()] == [6]


async def test_a_lean_send_answered_429_waits_as_told(lean: tuple[FakeBotApi, TelegramSender]) -> None:
    fake, sender = lean
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryLater) as caught:
        await sender.send("5", "x", [])
    assert caught.value.seconds == 7 and fake.sent() == []


async def test_a_lean_send_that_times_out_after_leaving_is_uncertain(lean: tuple[FakeBotApi, TelegramSender]) -> None:
    fake, sender = lean
    fake.delay = 1.0  # past the 0.5 s read timeout: Telegram may have delivered it
    with pytest.raises(Uncertain):
        await sender.send("5", "x", [])


async def test_a_lean_send_that_never_left_is_transient() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # nobody listens there now
    request = AiohttpRequest(1)
    bot = LeanBot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request,
                  rate_limiter=FloodLimiter(overall_per_second=100, max_retries=0))
    async with request:
        sender = TelegramSender(bot)
        assert sender.lean is not None
        with pytest.raises(Transient):
            await sender.send("5", "x", [])


async def test_lean_sends_retry_a_429_through_the_limiter_and_keep_its_pace() -> None:
    """With PTB's retries on (the default max_retries=3), a 429 pauses every send for retry_after, then the send is
    made again: one message delivered per chat, none lost."""
    with FakeBotApi(TOKEN) as fake:
        fake.add_chat(*range(10, 20))
        fake.fail_next("sendMessage", 429, retry_after=1)
        bot = sending_bot(TOKEN, fake.base_url, FloodLimiter(overall_per_second=100))
        async with bot:
            sender = TelegramSender(bot)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            ids = await asyncio.gather(*(sender.send(str(chat), "通知", BUTTONS) for chat in range(10, 20)))
            elapsed = loop.time() - t0
    assert ids == ["1"] * 10  # (the fake numbers the messages of each chat from 1)
    assert sorted(m["chat_id"] for m in fake.sent()) == list(range(10, 20))
    assert fake.too_many_requests == 1 and elapsed >= 1.0
