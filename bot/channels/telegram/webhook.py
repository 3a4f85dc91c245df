"""Webhook mode: an ASGI app (Starlette, served by uvicorn) that stores each update before answering 200."""

from __future__ import annotations

import asyncio
import hmac
import logging
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.channels.telegram.channel import TelegramChannel

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


async def serve_webhook(channel: TelegramChannel, stop: asyncio.Event) -> None:
    """Serve the webhook with uvicorn on PLANBOT_WEBHOOK_LISTEN until stop is set."""
    settings = channel.app.settings
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
