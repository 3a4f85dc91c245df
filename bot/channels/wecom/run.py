"""Starting WeCom beside the other channels: `planbot run` and `planbot remind` call these (one seam for bootstrap)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import uvicorn

from bot.app import App
from bot.channels.wecom.channel import WeComChannel
from bot.channels.wecom.send import WeComSender
from reminders.dispatch import DispatchStats, dispatch
from reminders.scheduler import Lane

log = logging.getLogger(__name__)
Serve = Callable[[], Awaitable[object]]  # what runs until the process stops


def listen_socket(listen: str) -> socket.socket:
    """A bound TCP socket for HOST:PORT (port 0: any free port)."""
    host, _, port = listen.rpartition(":")
    sock = socket.socket(socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]") or "127.0.0.1", int(port)))
    return sock


@asynccontextmanager
async def serving(channel: WeComChannel, listen: str) -> AsyncIterator[int]:
    """Serve the channel's callback with uvicorn on listen (HOST:PORT) while inside; yields the port."""
    sock = listen_socket(listen)
    server = uvicorn.Server(uvicorn.Config(channel.asgi(), log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # raise why it could not start
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def wecom_started(app: App, stop: asyncio.Event) -> AsyncIterator[tuple[list[Lane], Serve]]:
    """The WeCom channel, its callback served on PLANBOT_WECOM_LISTEN, while inside: yields the lanes its outbox rows
    go out on (for the process's one reminder scheduler) and what to await until stop is set."""
    channel = WeComChannel(app)
    await channel.start()
    try:
        async with serving(channel, app.settings.wecom_listen):
            log.info("WeCom callback listening on %s", app.settings.wecom_listen)
            yield [Lane(WeComSender(channel.messenger, app.clock.now), pause=lambda: channel.active > 0)], stop.wait
    finally:
        await channel.stop()


async def dispatch_wecom(app: App, at: datetime) -> DispatchStats:
    """Send WeCom's due outbox rows once (`planbot remind`)."""
    from bot.channels.wecom.api import WeComClient, protect_logs
    from bot.channels.wecom.quota import apply_app_limits
    from bot.channels.wecom.send import WeComMessenger

    s = app.settings
    assert s.wecom_corp_id and s.wecom_secret and s.wecom_agent_id is not None
    protect_logs(s.wecom_secret)
    client = WeComClient(s.wecom_corp_id, s.wecom_secret, s.wecom_agent_id, s.wecom_api_url)
    apply_app_limits(app, client)
    try:
        # an explicit run: what is due goes now, not spread past :00 and :30 as the scheduler's pushes are
        return await dispatch(app.uow, WeComSender(WeComMessenger(client)), lambda: at)
    finally:
        await client.aclose()
