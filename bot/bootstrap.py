"""The composition root, the one place that wires planbot: the app (a migrated database, a clock, the active plan),
its channels, the senders that push the outbox and the scheduler that sweeps reminders."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import select

from bot.app import App
from bot.config import Settings
from bot.db.engine import migrate
from bot.db.models import PlanRow
from bot.services.plans import LoadResult, load_plan_file, rebuild_missing_series
from reminders.dispatch import DispatchStats, dispatch
from reminders.scheduler import Lane, Ticker

log = logging.getLogger(__name__)
BULK_SHARE = 0.2  # of the global rate that bulk sends keep while people are talking to the bot


def bootstrap(settings: Settings, *, ensure_plan: bool = True) -> App:
    """Connect, apply migrations and, when no plan is loaded yet, load the configured plan file."""
    app = App.connect(settings)
    migrate(app.engine)
    rebuild_missing_series(app.uow)  # derived data: built by the code that keeps it, not by a migration
    if ensure_plan:
        with app.uow() as s:
            loaded = s.scalar(select(PlanRow.id).where(PlanRow.active.is_(True)).limit(1))
        if loaded is None:
            load_default_plan(app)
    return app


def load_default_plan(app: App) -> LoadResult:
    """Load (or refresh) the configured plan file."""
    return load_plan_file(app.uow, app.settings.plan_file, app.clock.now())


@dataclass
class Started:
    """A chat channel started: the lanes its outbox rows are sent on, and what runs until stop is set."""

    lanes: list[Lane]
    serve: Callable[[], Awaitable[object]]


async def run_channels(app: App, stop: asyncio.Event | None = None, *, reminders: bool = True) -> None:
    """Run the configured chat channels (Telegram, WeCom) and one reminder scheduler that dispatches for all of them,
    until stop is set (or SIGINT/SIGTERM). Raises ChannelRefused, after a clean stop, when a platform refused the
    credentials."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:  # unwound in reverse: the scheduler stops before the channels
        started: list[Started] = []
        if app.settings.telegram_token:
            started.append(await stack.enter_async_context(_telegram_started(app, stop, sending=reminders)))
        if app.settings.wecom_configured:
            from bot.channels.wecom.run import wecom_started

            lanes, serve = await stack.enter_async_context(wecom_started(app, stop))
            started.append(Started(lanes, serve))
        lanes = [lane for st in started for lane in st.lanes]
        if reminders and lanes and app.settings.wecom_robot_keys:  # push-only: beside a chat channel
            from bot.channels.wecom.robot import RobotSender

            robots = RobotSender(app.settings.wecom_robot_keys, app.settings.wecom_api_url)
            stack.push_async_callback(robots.aclose)
            lanes.append(Lane(robots))
        if reminders and lanes:
            ticker = Ticker(app, lanes)
            ticker.start()
            stack.push_async_callback(ticker.aclose)
            log.info("reminders: one scheduler sends on %s", ", ".join(lane.sender.channel for lane in lanes))
        await asyncio.gather(*(st.serve() for st in started))


@asynccontextmanager
async def _telegram_started(app: App, stop: asyncio.Event, *, sending: bool) -> AsyncIterator[Started]:
    """Telegram (webhook if configured, else polling) while inside, with a lane of its own connections for the
    outbox when sending; ChannelRefused (after a clean stop) when Telegram refused the token."""
    # a channel's libraries are imported when it starts, not by every command
    from bot.channels.telegram.channel import TelegramChannel
    from bot.channels.telegram.sender import TelegramSender, sending_bot
    from bot.channels.telegram.token import token_checked
    from bot.channels.telegram.webhook import serve_webhook

    settings = app.settings
    channel = TelegramChannel(app)
    webhook = bool(settings.telegram_webhook_url)
    channel.on_refused = stop.set
    await channel.start(webhook=webhook)
    # bulk sends go through their own lean connections but count against the channel's flood limits
    bulk = sending_bot(settings.telegram_token or "", settings.telegram_api_url, channel.bot.rate_limiter)
    lanes = []
    try:
        if sending:
            with token_checked():
                await bulk.initialize()
            # replies go first, but bulk sends keep a fifth of the global rate while people are talking
            lanes.append(Lane(TelegramSender(bulk), pause=lambda: channel.active > 0,
                              bulk_every=1 / (BULK_SHARE * settings.telegram_max_rate)))
        yield Started(lanes, (lambda: serve_webhook(channel, stop)) if webhook else stop.wait)
    finally:
        try:
            if lanes:
                await bulk.shutdown()
        finally:
            await channel.stop()
    if channel.refused is not None:
        raise channel.refused


async def dispatch_chat_channels(app: App, at: datetime) -> DispatchStats:
    """Send what the outbox holds for the configured chat channels now (as at `at`), once; what was sent."""
    total = DispatchStats()
    token = app.settings.telegram_token
    if token:
        from bot.channels.shared.redaction import protect_logs
        from bot.channels.telegram.limits import FloodLimiter
        from bot.channels.telegram.sender import TelegramSender, sending_bot
        from bot.channels.telegram.token import token_checked

        protect_logs(token)
        bot = sending_bot(token, app.settings.telegram_api_url,
                          FloodLimiter(overall_per_second=app.settings.telegram_max_rate))
        with token_checked():
            await bot.initialize()
        async with bot:
            total = await dispatch(app.uow, TelegramSender(bot), lambda: at)
    if app.settings.wecom_configured:
        from bot.channels.wecom.run import dispatch_wecom

        total = _plus(total, await dispatch_wecom(app, at))
    if app.settings.wecom_robot_keys:
        from bot.channels.wecom.robot import RobotSender

        robots = RobotSender(app.settings.wecom_robot_keys, app.settings.wecom_api_url)
        try:
            total = _plus(total, await dispatch(app.uow, robots, lambda: at))
        finally:
            await robots.aclose()
    return total


def _plus(a: DispatchStats, b: DispatchStats) -> DispatchStats:
    return DispatchStats(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(b)})
