"""The sender's own aiohttp transport against bare HTTP servers: chunked and closing answers, a proxy from the
environment, the token kept out of errors and logs. Dispatch through it to the fake: test_telegram_dispatch.py."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import traceback

import pytest
from telegram.error import TimedOut

from bot.channels.shared.redaction import protect_logs
from bot.channels.telegram.channel import LeanBot
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.transport import AiohttpRequest, NotSent
from reminders.dispatch import Transient, Uncertain
from support import raw_http_server

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
TOKEN = "4242:dispatch-token"


async def raw_server(answers: list[bytes]) -> tuple[asyncio.Server, str, list[bytes]]:
    """A bare HTTP server that answers each request with the next of answers (b"" hangs up without answering)."""
    server, port, received = await raw_http_server(lambda head, body: answers.pop(0) if answers else b"")
    return server, f"http://127.0.0.1:{port}/bot{TOKEN}", received


def ok(message_id: int) -> bytes:
    return json.dumps({"ok": True, "result": {"message_id": message_id, "date": 0,
                                              "chat": {"id": 5, "type": "private"}, "text": "x"}}).encode()


async def test_the_aiohttp_transport_reads_chunked_and_closing_answers_and_never_guesses_an_outcome() -> None:
    body = ok(1)
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + f"{5:x}\r\n".encode() + body[:5] + b"\r\n" + f"{len(body) - 5:x}\r\n".encode() + body[5:]
               + b"\r\n0\r\n\r\n")
    closing = (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n\r\n" + ok(2))
    plain = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(ok(3)), ok(3))
    server, url, received = await raw_server([chunked, closing, plain, b""])
    request = AiohttpRequest(2, read_timeout=2)
    bot = LeanBot(TOKEN, base_url=url, request=request)
    sender = TelegramSender(bot)
    async with server:
        await request.initialize()
        try:
            assert await sender.send("5", "一", []) == "1"
            assert await sender.send("5", "二", []) == "2"  # then the server closed the connection
            assert await sender.send("5", "三", []) == "3"
            assert request.opened == 2  # kept alive after the chunked answer, reopened after the closing one
            with pytest.raises(Uncertain):  # the server took the request and hung up: maybe it was delivered
                await sender.send("5", "四", [])
            assert b"text=%E4%B8%80" in received[0] and b"chat_id=5" in received[0]
            server.close()
            await server.wait_closed()
            with pytest.raises(Transient):  # nobody listening: the request never left
                await sender.send("5", "五", [])
            assert len(received) == 4
        finally:
            await request.shutdown()


async def test_the_aiohttp_transport_sends_through_the_proxy_of_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    plain = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(ok(7)), ok(7))
    proxy, proxy_url, received = await raw_server([plain])
    monkeypatch.setenv("HTTP_PROXY", proxy_url.split("/bot")[0])
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    target = "http://127.0.0.2:9/bot"  # nothing listens there: only the proxy can answer
    request = AiohttpRequest(2, read_timeout=2)
    async with proxy, request:
        assert await TelegramSender(LeanBot(TOKEN, base_url=target, request=request)).send("5", "经代理", []) == "7"
    assert received[0].startswith(f"POST {target}{TOKEN}/sendMessage HTTP/1.1".encode())


async def test_the_aiohttp_transport_keeps_the_token_out_of_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """A connect that times out (a listening socket whose backlog is full) is not sent; aiohttp's own message for
    it holds the whole URL, token included, which must reach neither the error, its causes, nor a log line."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filling = []
    for _ in range(4):  # fill the backlog: the next connect hangs
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        filling.append(s)
    request = AiohttpRequest(2, connect_timeout=0.2)
    caplog.set_level(logging.DEBUG)
    redact = protect_logs(TOKEN)  # as the channel does: PTB itself logs its URLs (token included) at DEBUG
    try:
        async with request:
            bot = LeanBot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
            with pytest.raises(TimedOut) as caught:
                await bot.post("sendMessage", {"chat_id": 5, "text": "x"})
            with pytest.raises(Transient):
                await TelegramSender(bot).send("5", "x", [])
            logging.getLogger("telegram.test").exception("send failed", exc_info=caught.value)
    finally:
        for s in [*filling, listener]:
            s.close()
        for logger in [*(logging.getLogger(name) for name in logging.root.manager.loggerDict), logging.getLogger()]:
            if isinstance(logger, logging.Logger):
                logger.removeFilter(redact)
                for handler in logger.handlers:
                    handler.removeFilter(redact)
    assert isinstance(caught.value.__cause__, NotSent)
    shown = "".join(traceback.format_exception(caught.value)) + caplog.text
    assert "Connection timeout" in shown and TOKEN not in shown and TOKEN.split(":")[1] not in shown
