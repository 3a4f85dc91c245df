"""The Telegram channel: python-telegram-bot carries handlers/ to Telegram, by polling or by webhook."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot, TypeHandler

from bot.app import App
from bot.channels.shared import workers
from bot.channels.shared.redaction import protect_logs
from bot.channels.shared.workers import DbProcess, DbProcessGone, SqliteWrites, process_count
from bot.channels.telegram.limits import FloodLimiter, PerChatProcessor
from bot.channels.telegram.token import token_checked
from bot.channels.telegram.transport import AiohttpRequest
from bot.db.engine import relaxed_session_factory
from bot.db.inbox import Inbox
from bot.db.outbox import buttons_json
from bot.errors import ChannelRefused
from bot.messages import Inbound, Reply
from handlers.commands import menu
from handlers.router import Router
from i18n import N_, translator_for
from reminders.replies import DurableReplies

log = logging.getLogger(__name__)
T = TypeVar("T")
CHANNEL = "telegram"
SEND_FAILED = N_("Sorry, something went wrong sending my answer. Please try again.")
EDITED = N_("I saw that you edited a message. Edits are not applied: please send the figure again, or say "
            "correct to correct a saved one.")


def base_url(api_url: str | None) -> str:
    """PTB's base URL for a Bot API server address: https://api.telegram.org → https://api.telegram.org/bot."""
    url = (api_url or "https://api.telegram.org").rstrip("/")
    return url if url.endswith("/bot") else url + "/bot"


def update_id(raw: object) -> int | None:
    """The update_id of an update as Telegram sent it (JSON); None if it has none that is an integer."""
    value = raw.get("update_id") if isinstance(raw, dict) else None
    return value if type(value) is int else None


def to_inbound(update: Update) -> Inbound | None:
    """The Inbound for a Telegram update (message, command, button press); None for updates we do not handle."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return None
    common: dict[str, Any] = {
        "channel": CHANNEL, "sender": str(user.id), "chat": str(chat.id), "message_id": f"u{update.update_id}",
        "sender_name": user.full_name, "lang_hint": user.language_code, "is_group": chat.type != "private",
    }
    if update.callback_query is not None:
        return Inbound(payload=update.callback_query.data or "", **common)
    message = update.message
    if message is None:
        return None
    return Inbound(text=message.text, **common)


def markup(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline keyboard for a reply's buttons."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                                 for row in reply.buttons])


class LeanBot(ExtBot[Any]):
    """An ExtBot that can call a method without building PTB objects from the answer.

    Telegram answers a send with the whole message, and making a telegram.Message of it (some 200 attributes, each
    set through PTB's frozen-object check) costs more CPU than the HTTP exchange itself; a reply, a bulk send or the
    removal of a keyboard needs at most the message's id. Rate limiting and error mapping are PTB's, as for any call.
    """

    async def post(self, method: str, params: dict[str, Any]) -> Any:
        """Call a Bot API method; the raw result (a dict, a list or True). Parameters that are None are left out."""
        return await self._post(method, params)

    async def raw_updates(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        """getUpdates as Telegram sent them (JSON dicts): they are stored as they are, not rebuilt from Updates."""
        read_timeout = (self._request[0].read_timeout or 0) + timeout  # long polling: as Bot.get_updates does
        result: list[dict[str, Any]] = await self._post(
            "getUpdates", {"offset": offset, "timeout": timeout, "allowed_updates": Update.ALL_TYPES},
            read_timeout=read_timeout)
        return result

    async def send_text(self, chat_id: int, text: str, reply: Reply | None = None) -> dict[str, Any]:
        """sendMessage with the reply's buttons as an inline keyboard; the sent message as a dict."""
        result: dict[str, Any] = await self.post("sendMessage", {"chat_id": chat_id, "text": text,
                                                                 "reply_markup": markup(reply) if reply else None})
        return result


class TelegramChannel:
    """Receives updates (stored in the inbox first), hands them to the router, sends the replies.

    concurrency is how many updates are handled at once (most of them waiting: on the database, on Telegram, or a
    second for their chat's next message slot); http_pool is how many Bot API calls are in flight at once, each on
    a kept-alive connection of an AiohttpRequest (aiohttp: its HTTP parser is in C, and its pool does not cost CPU in
    proportion to its size at every call as httpx's does, encode/httpcore#1035).

    The router's work runs in db_processes processes of their own (DbProcess), so that it and the event loop use
    two cores instead of taking turns under the GIL; with db_processes=0 it runs on db_threads threads of this
    process. Either way SQLite gets one (one writer at a time: more would only queue on its lock) and PostgreSQL
    two, to overlap the round trips. On SQLite that process also stores received updates and writes the held
    replies' bookkeeping, ahead of the updates queued for the router (SqliteWrites); otherwise storing has a thread
    of its own, so that the next getUpdates is not held behind them.
    """

    def __init__(self, app: App, *, poll_timeout: int = 30, concurrency: int = 1024, http_pool: int = 256,
                 db_threads: int | None = None, db_processes: int | None = None) -> None:
        settings = app.settings
        if not settings.telegram_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.app = app
        self.router = Router(app, hold_replies=True)
        self.durable: DurableReplies | None = None  # sends the replies to committed actions (from start())
        self.inbox = Inbox(app.uow, CHANNEL)
        self.poll_timeout = poll_timeout
        one_writer = app.engine.dialect.name == "sqlite"
        self.db_processes = process_count(app.engine, db_processes, settings.db_processes)
        self.workers: list[DbProcess] = []
        self.db_pool = ThreadPoolExecutor(db_threads or (1 if one_writer else 2), thread_name_prefix="telegram-db")
        self.inbox_pool = ThreadPoolExecutor(1, thread_name_prefix="telegram-inbox")
        protect_logs(settings.telegram_token)
        url = base_url(settings.telegram_api_url)
        bot = LeanBot(settings.telegram_token, base_url=url, base_file_url=url.replace("/bot", "/file/bot"),
                      request=AiohttpRequest(http_pool, pool_timeout=30.0), get_updates_request=AiohttpRequest(1),
                      rate_limiter=FloodLimiter(overall_per_second=settings.telegram_max_rate))
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().bot(bot).concurrent_updates(PerChatProcessor(concurrency)).updater(None).build())
        self.application.add_handler(TypeHandler(Update, self.on_update))
        self.received: dict[int, dict[str, Any]] = {}  # update_id -> the update as stored, until it is handled
        self._poller: asyncio.Task[None] | None = None
        self.refused: ChannelRefused | None = None  # set when Telegram refuses the token: the process must stop
        self.on_refused: Callable[[], None] | None = None  # called then (run_channels: set its stop event)
        self.active = 0  # updates being handled now: bulk sends wait while people are talking to the bot
        self.writes: SqliteWrites | None = None  # the inbox's and held replies' writes, by the database process

    @property
    def bot(self) -> LeanBot:
        """The PTB Bot."""
        bot: LeanBot = self.application.bot
        return bot

    async def start(self, *, webhook: bool = False) -> None:
        """Initialise, publish the command menus, replay stored updates, and start polling unless on a webhook.
        TokenRejected when Telegram refuses the token."""
        with token_checked():
            await self.application.initialize()
        self.app.telegram_username = self.bot.username
        from bot.channels.telegram.sender import TelegramSender  # (it builds on this module's LeanBot)

        self.workers = [DbProcess(self.app.settings, self.app.clock, self.bot.username, CHANNEL, hold_replies=True)
                        for _ in range(self.db_processes)]
        self.writes = SqliteWrites(self.workers) if self.workers and self.app.engine.dialect.name == "sqlite" else None
        self.durable = DurableReplies(relaxed_session_factory(self.app.engine), TelegramSender(self.bot),
                                      self.app.clock.now, **(self.writes.for_replies() if self.writes else {}))
        for w in self.workers:
            await w.start()
        await self.set_commands()
        await self.application.start()
        for raw in await self.db(self.inbox.pending):
            await self.queue(Update.de_json(raw, self.bot), raw)
        if webhook:
            settings = self.app.settings
            if not settings.telegram_webhook_url:
                raise ValueError("TELEGRAM_WEBHOOK_URL is not set")
            await self.bot.set_webhook(settings.telegram_webhook_url, secret_token=settings.telegram_webhook_secret,
                                       allowed_updates=Update.ALL_TYPES)
        else:
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self.poll())

    async def stop(self) -> None:
        """Stop polling and processing; updates received but not handled stay in the inbox."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()
        if self.durable is not None:  # outcomes of replies sent, and replies a stop interrupted given back
            await self.durable.close()
        for w in self.workers:
            await w.stop()
        for pool in (self.db_pool, self.inbox_pool):
            await asyncio.get_running_loop().run_in_executor(None, functools.partial(pool.shutdown, wait=True))

    async def set_commands(self) -> None:
        """The command menu in Chinese (default) and English."""
        for lang in ("zh_Hans", "en"):
            t = translator_for(lang)
            commands = [BotCommand(name, t(text)) for name, text in menu()]
            await self.bot.set_my_commands(commands, language_code=None if lang == "zh_Hans" else "en")

    async def poll(self) -> None:
        """Long-poll getUpdates; each batch is stored before the next call acknowledges it.

        Polling never ends by itself on an error: network errors, 5xx and 409 Conflict (another process polls with
        this token, or a webhook is set) are retried with back-off; 401/404 (the token was revoked or is wrong)
        stops the channel: `refused` is set and `on_refused` called, so that the process exits with a clear error.
        """
        offset: int | None = None
        backoff = 1.0
        while True:
            try:
                updates = await self.bot.raw_updates(offset, self.poll_timeout)
                backoff = 1.0
            except RetryAfter as e:
                await asyncio.sleep(e.retry_after if isinstance(e.retry_after, int) else e.retry_after.total_seconds())
                continue
            except InvalidToken:  # (its message may quote the token: not logged)
                log.error("getUpdates: Telegram refused the bot token (401/404: revoked or wrong); stopping")
                self.refused = ChannelRefused("Telegram refused the bot token (revoked or wrong).")
                if self.on_refused is not None:
                    self.on_refused()
                return
            except Conflict:
                log.warning("getUpdates: 409 Conflict: another process is polling with this bot token (or a "
                            "webhook is set); retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            except TelegramError as e:  # TimedOut, NetworkError (5xx) and anything else Telegram answers
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(e).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            if not updates:
                continue
            try:
                await self.receive(updates)
            except (OperationalError, DbProcessGone) as e:  # not stored, so not acknowledged: fetched again
                log.warning("could not store %d updates (%s); fetching them again in %.0f s", len(updates),
                            type(getattr(e, "orig", None) or e).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            offset = max((i for i in map(update_id, updates) if i is not None), default=(offset or 1) - 1) + 1

    async def receive(self, raw: Sequence[dict[str, Any]], *, strict: bool = False) -> None:
        """Store updates as received (JSON), then queue them for handling.

        An update that cannot be read (not an update, or one this version of PTB cannot parse) is logged and
        skipped, so that one bad update does not stop the others; with strict (a webhook delivery), ValueError is
        raised instead and nothing is stored.
        """
        good: list[tuple[Update, dict[str, Any]]] = []
        for r in raw:
            try:
                if update_id(r) is None:
                    raise ValueError("no update_id")
                good.append((Update.de_json(r, self.bot), r))
            except Exception as e:  # PTB raises whatever building the objects raised
                if strict:
                    raise ValueError(f"not a Telegram update: {type(e).__name__}") from None
                log.error("skipped update %s, which could not be read (%s)",
                          r.get("update_id") if isinstance(r, dict) else "?", type(e).__name__)
        now = self.app.clock.now()
        stored = [(str(u.update_id), r) for u, r in good]
        if self.writes is not None:
            await self.writes.store(stored, now)
        else:
            await asyncio.get_running_loop().run_in_executor(self.inbox_pool, self.inbox.store, stored, now)
        for u, r in good:
            await self.queue(u, r)

    async def queue(self, update: Update, raw: dict[str, Any]) -> None:
        """Hand a stored update to the application for handling."""
        self.received[update.update_id] = raw
        await self.application.update_queue.put(update)

    async def db(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run blocking database work on the channel's database threads."""
        return await asyncio.get_running_loop().run_in_executor(self.db_pool, functools.partial(fn, *args))

    async def on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update: answer a button press, route the message, send the replies.

        A routed update is marked handled in the router's own transaction; any other one once it is answered.
        """
        self.active += 1
        raw = self.received.pop(update.update_id, None)
        try:
            for attempt in range(1, 4):
                try:
                    routed = await self._handle(update, raw)
                    break
                except (OperationalError, DbProcessGone):  # e.g. SQLite busy: nothing was committed, so try again
                    if attempt == 3:
                        log.exception("update %s left in the inbox, to be handled on the next start",
                                      update.update_id)
                        return
                    await asyncio.sleep(0.5 * attempt)
            if not routed:
                await self.db(self.inbox.done, str(update.update_id), self.app.clock.now())
        finally:
            self.active -= 1

    async def _handle(self, update: Update, raw: dict[str, Any] | None) -> bool:
        """Answer the update; True if the router handled it (and so marked it handled)."""
        query = update.callback_query
        if query is not None:
            try:
                await query.answer()
            except BadRequest:  # too old to answer; the press is still handled
                pass
            except TelegramError as e:  # the spinner stays a while; the press is still handled
                log.warning("update %s: answerCallbackQuery failed (%s)", update.update_id, type(e).__name__)
        if update.edited_message is not None and update.effective_chat is not None:
            t = translator_for(update.effective_user.language_code if update.effective_user else None)
            await self.send(update.effective_chat.id, Reply(t(EDITED)))
            return False
        inbound = to_inbound(update)
        if inbound is None:
            return False
        update_id, now = str(update.update_id), self.app.clock.now()
        if raw is None:  # not received through receive() (nor stored): store it with its handled mark
            raw = update.to_dict()
        if self.workers:
            worker = min(self.workers, key=lambda w: w.busy)
            outcome = await worker.call(workers.handle, inbound, update_id, now, raw)
        else:
            outcome = await self.db(self.router.handle, inbound,
                                    functools.partial(self.inbox.claim, update_id=update_id, now=now, raw=raw))
        if query is not None and query.message is not None and not outcome.duplicate:
            try:  # grey out the buttons just pressed
                await self.bot.post("editMessageReplyMarkup", {"chat_id": query.message.chat.id,
                                                               "message_id": query.message.message_id})
            except BadRequest:
                pass
            except TelegramError as e:
                log.warning("update %s: removing the buttons failed (%s)", update.update_id, type(e).__name__)
        lang = outcome.lang or inbound.lang_hint  # the language planbot answered in: what it adds says it alike
        for i, reply in enumerate(outcome.replies):
            chat = int(reply.chat or inbound.chat)
            held = outcome.held[i] if i < len(outcome.held) else None
            if held is not None and self.durable is not None:
                await self.reply_held(self.durable, update.update_id, chat, reply, lang, held, outcome.person_id)
            else:
                await self.reply(update.update_id, chat, reply, lang)
        return True

    async def reply_held(self, durable: DurableReplies, update_id: int, chat_id: int, reply: Reply,
                         lang: str | None, row_id: int, person_id: int | None) -> None:
        """Send a reply to a committed action that an outbox row holds (see reminders.replies): a crash before it
        leaves hands it to the dispatcher after the restart; one that cannot go now is left to the dispatcher."""
        status = await durable.send(row_id, person_id, str(chat_id), reply.text, buttons_json(reply.flat_buttons))
        if status == "failed":
            log.error("update %s: the reply to chat %s was refused (outbox row %s)", update_id, chat_id, row_id)
            with contextlib.suppress(TelegramError):
                await self.bot.send_text(chat_id, translator_for(lang)(SEND_FAILED))
        elif status in ("pending", "uncertain"):
            log.warning("update %s: the reply to chat %s is %s (outbox row %s)", update_id, chat_id, status, row_id)

    async def reply(self, update_id: int, chat_id: int, reply: Reply, lang: str | None) -> None:
        """Send one reply of a handled update. If Telegram refuses it or fails, the failure is logged with the
        update id, and the person is told, where that can still reach them, that something went wrong."""
        try:
            await self.send(chat_id, reply)
        except TelegramError as e:
            log.error("update %s: the reply to chat %s was not sent (%s: %s)", update_id, chat_id,
                      type(e).__name__, e)
            with contextlib.suppress(TelegramError):
                await self.bot.send_text(chat_id, translator_for(lang)(SEND_FAILED))

    async def send(self, chat_id: int, reply: Reply) -> None:
        """Send one reply (text, photo) with its buttons."""
        try:
            if reply.image is not None:
                with reply.image.open("rb") as fh:
                    await self.bot.send_photo(chat_id, fh, caption=reply.text[:1024], reply_markup=markup(reply))
            elif reply.document is not None:
                with reply.document.open("rb") as fh:
                    await self.bot.send_document(chat_id, fh, filename=reply.document.name,
                                                 caption=reply.text[:1024], reply_markup=markup(reply))
            else:
                await self.bot.send_text(chat_id, reply.text, reply)
        except Forbidden:
            log.info("chat %s has blocked the bot", chat_id)
