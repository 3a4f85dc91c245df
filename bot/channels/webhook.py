"""Webhook mode: an ASGI app (Starlette, served by uvicorn) that stores each update before answering 200."""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
from contextlib import suppress
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_sender import TelegramSender, sending_bot
from reminders.scheduler import Ticker

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(channel: TelegramChannel, secret: str, path: str = "/telegram") -> Starlette:
    """The ASGI app: POST path takes updates (403 without the right secret), GET /healthz answers ok."""

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return Response(status_code=403)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            await channel.receive([body], strict=True)
        except ValueError:  # a body that is not an update (JSON decoding errors are ValueErrors too)
            return Response(status_code=400)
        return Response(status_code=200)

    async def health(_: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route(path, receive, methods=["POST"]), Route("/healthz", health, methods=["GET"])])


async def run_telegram(app: App, stop: asyncio.Event | None = None, *, reminders: bool = True) -> None:
    """Run the Telegram channel (webhook if configured, else polling) and the reminder scheduler until stopped."""
    settings = app.settings
    channel = TelegramChannel(app)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    webhook = bool(settings.telegram_webhook_url)
    await channel.start(webhook=webhook)
    # bulk sends go through their own lean connections but count against the channel's flood limits
    bulk = sending_bot(settings.telegram_token or "", settings.telegram_api_url, channel.bot.rate_limiter)
    ticker = None
    if reminders:
        await bulk.initialize()
        ticker = Ticker(app, [TelegramSender(bulk)], pause=lambda: channel.active > 0)
        ticker.start()
    server = None
    try:
        if webhook:
            assert settings.telegram_webhook_url and settings.telegram_webhook_secret
            host, _, port = settings.webhook_listen.rpartition(":")
            path = urlparse(settings.telegram_webhook_url).path or "/telegram"
            config = uvicorn.Config(webhook_app(channel, settings.telegram_webhook_secret, path),
                                    host=host or "127.0.0.1", port=int(port), log_level="warning", lifespan="off")
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve())
            await stop.wait()
            server.should_exit = True
            await serving
        else:
            await stop.wait()
    finally:
        if ticker is not None:
            ticker.stop()
            await bulk.shutdown()
        await channel.stop()
