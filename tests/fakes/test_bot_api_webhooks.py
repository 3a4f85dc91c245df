"""The fake Bot API server's webhooks against the real python-telegram-bot: registration as Telegram checks it,
delivery with the secret, an application in webhook mode."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Bot, Update
from telegram.error import BadRequest, TelegramError

from fakes.asgi import AsgiServer
from fakes.bot_api import FakeBotApi
from fakes.bot_api_support import CHAT, TOKEN, echo_app
from support import DEADLINE, until

# PTB 22 warns inside RetryAfter itself that retry_after will become a timedelta: not ours to fix here.
pytestmark = pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")


# --- registration and delivery ----------------------------------------------------------------------------------------
def _receiver(seen: list[tuple[str | None, dict[str, Any]]], secret: str) -> Starlette:
    async def hook(request: Request) -> Response:
        header = request.headers.get("x-telegram-bot-api-secret-token")
        seen.append((header, await request.json()))
        return Response(status_code=200 if header == secret else 403)

    return Starlette(routes=[Route("/tg", hook, methods=["POST"])])


@pytest.mark.asyncio
async def test_webhook_registration_and_delivery(fake: FakeBotApi) -> None:
    fake.expect_refusals()  # a bad secret, on purpose
    seen: list[tuple[str | None, dict[str, Any]]] = []
    with AsgiServer(_receiver(seen, "s3cret")) as receiver:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            with pytest.raises(BadRequest, match="unallowed"):
                await bot.set_webhook(f"{receiver.url}/tg", secret_token="bad secret!")
            assert await bot.set_webhook(f"{receiver.url}/tg", secret_token="s3cret", max_connections=5,
                                         allowed_updates=["message", "callback_query"])
            assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret"
            assert fake.webhook["allowed_updates"] == ["message", "callback_query"]
            fake.push_update(fake.message_update(CHAT, "queued"))
            info = await bot.get_webhook_info()
            assert (info.url, info.pending_update_count, info.max_connections) == (f"{receiver.url}/tg", 1, 5)
            with pytest.raises(TelegramError, match="webhook is active"):
                await bot.get_updates()

            update = fake.message_update(CHAT, "via webhook")
            assert fake.deliver_webhook(update) == 200
            assert fake.deliver_webhook(fake.message_update(CHAT, "x"), secret="wrong") == 403
            assert fake.deliver_webhook(fake.message_update(CHAT, "y"), secret=None) == 403
            assert [h for h, _ in seen] == ["s3cret", "wrong", None]
            assert seen[0][1] == update and "update_id" in update

            assert await bot.delete_webhook(drop_pending_updates=True)
            assert fake.webhook is None and fake.pending_updates == []
            assert (await bot.get_webhook_info()).url == ""
            with pytest.raises(RuntimeError):
                fake.deliver_webhook(fake.message_update(CHAT, "z"))


@pytest.mark.asyncio
async def test_application_in_webhook_mode(fake: FakeBotApi) -> None:
    """A custom webhook (starlette + uvicorn in the test's loop feeding update_queue), as PTB documents it."""
    app = echo_app(fake)
    secret = "hook-secret"

    async def hook(request: Request) -> Response:
        if request.headers.get("x-telegram-bot-api-secret-token") != secret:
            return Response(status_code=403)
        await app.update_queue.put(Update.de_json(await request.json(), app.bot))
        return Response()

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/tg", hook, methods=["POST"])]),
                                           host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    await until(lambda: server.started, "uvicorn listening")
    port = server.servers[0].sockets[0].getsockname()[1]
    await app.initialize()
    await app.start()
    try:
        await app.bot.set_webhook(f"http://127.0.0.1:{port}/tg", secret_token=secret)
        assert await fake.deliver_webhook_async(fake.message_update(CHAT, "hook")) == 200
        assert await fake.deliver_webhook_async(fake.message_update(CHAT, "no"), secret="nope") == 403
        assert [s["text"] for s in await fake.wait_for_sent_async(1, CHAT, timeout=DEADLINE)] == ["echo: hook"]
    finally:
        await app.stop()
        await app.shutdown()
        server.should_exit = True
        await serving
    assert fake.webhook is not None and fake.webhook["url"] == f"http://127.0.0.1:{port}/tg"


@pytest.mark.asyncio
@pytest.mark.parametrize(("url", "local", "words"), [
    ("http://example.org/tg", False, "HTTPS URL must be provided"),
    ("https://example.org:8080/tg", False, "only on ports 80, 88, 443 or 8443"),
    ("ftp://example.org/tg", True, "Wrong HTTP URL"),
])
async def test_set_webhook_as_telegram_checks_it(url: str, local: bool, words: str) -> None:
    with FakeBotApi(TOKEN, local=local) as fake:
        fake.expect_refusals()
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            with pytest.raises(BadRequest, match=f"(?i){words}"):
                await bot.set_webhook(url, secret_token="ok")
            with pytest.raises(BadRequest, match="unallowed"):
                await bot.set_webhook("https://example.org/tg", secret_token="a+b/c=")
            with pytest.raises(BadRequest, match="unallowed"):
                await bot.set_webhook("https://example.org/tg", secret_token="x" * 257)
            assert await bot.set_webhook("https://example.org:8443/tg", secret_token="x" * 256)
        assert len(fake.violations) == 3
