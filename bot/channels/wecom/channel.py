"""The WeCom callback: an ASGI app (Starlette) that verifies, decrypts and stores each message before answering 200,
then hands it to the router; replies go out through the WeCom API."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.app import App
from bot.channels.shared import workers
from bot.channels.shared.workers import DbProcess, DbProcessGone, SqliteWrites, process_count
from bot.channels.wecom.api import WeComApiError, WeComClient, protect_logs
from bot.channels.wecom.crypto import CryptoError, WeComCrypto
from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.quota import apply_app_limits
from bot.channels.wecom.send import CHANNEL, WeComMessenger, WeComReplySender
from bot.channels.wecom.xml import MAX_BODY, XmlError, parse
from bot.db.engine import relaxed_session_factory
from bot.db.inbox import Inbox
from bot.db.outbox import buttons_json
from bot.messages import Inbound, Reply
from handlers.router import Router
from i18n import N_, translator_for
from reminders.replies import DurableReplies

log = logging.getLogger(__name__)
T = TypeVar("T")
PRESSED = N_("Chosen")  # a pressed card's buttons are greyed out and show this
SEND_FAILED = N_("Sorry, something went wrong sending my answer. Please try again.")  # (as Telegram's)
MEDIA = {"image", "voice", "video", "file", "location", "link"}  # answered with "please send text"
REQUIRED = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


class Refused(Exception):
    """A callback refused with this HTTP status (4xx)."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


def update_id(message: dict[str, str]) -> str:
    """The inbox id of a callback message: its MsgId, or for events (which have none) a digest of sender, time,
    event and card task: the same for each re-delivery of one event."""
    if message.get("MsgId") and len(message["MsgId"]) <= 60:
        return "m" + message["MsgId"]
    key = "\n".join([message["FromUserName"], message["CreateTime"], message.get("Event", ""),
                     message.get("TaskId") or message.get("EventKey") or ""])
    return "e" + hashlib.sha256(key.encode()).hexdigest()[:40]  # (the inbox's ids are at most 64 characters)


def to_inbound(message: dict[str, str], uid: str) -> Inbound | None:
    """The Inbound for a callback message; None for events planbot does not act on."""
    user = message["FromUserName"]
    common: dict[str, Any] = {"channel": CHANNEL, "sender": user, "chat": user, "message_id": uid,
                              "sender_name": user}
    kind = message["MsgType"]
    if kind == "text":
        return Inbound(text=message.get("Content", ""), **common)
    if kind in MEDIA:
        return Inbound(text=None, **common)  # the router asks for text
    if kind == "event":
        event = message.get("Event", "")
        if event == "template_card_event" and message.get("EventKey"):
            return Inbound(payload=message["EventKey"], **common)
        if event == "enter_agent":
            return Inbound(text="/start", **common)
    return None


class WeComChannel:
    """Receives callbacks (stored in the inbox first), hands them to the router, sends the replies.

    The text replies to a committed action (a figure saved, a notice signed) are held: the router writes them as
    outbox rows in the action's own transaction, and they are sent through `durable` (reminders.replies), so that a
    crash before one left hands it to the dispatcher after the restart and none is sent twice; images, files and
    other replies are sent as they are.

    One member's messages are handled in the order they arrived, different members' at once. The router runs in
    db_processes processes of its own (DbProcess, as for Telegram: one for SQLite, two for PostgreSQL, none for an
    in-memory database or PLANBOT_DB_PROCESSES=0), so that it and the event loop use two cores; with none, on the
    channel's database threads.
    """

    def __init__(self, app: App, client: WeComClient | None = None, limiter: MemberLimiter | None = None, *,
                 db_threads: int | None = None, db_processes: int | None = None) -> None:
        s = app.settings
        if not s.wecom_configured:
            raise ValueError("WeCom is not configured (WECOM_CORP_ID, WECOM_AGENT_ID, WECOM_SECRET, WECOM_TOKEN, "
                             "WECOM_AES_KEY)")
        assert s.wecom_corp_id and s.wecom_token and s.wecom_aes_key and s.wecom_secret
        assert s.wecom_agent_id is not None
        protect_logs(s.wecom_secret, s.wecom_token, s.wecom_aes_key)
        self.app = app
        self.crypto = WeComCrypto(s.wecom_token, s.wecom_aes_key, s.wecom_corp_id)
        self.client = client or WeComClient(s.wecom_corp_id, s.wecom_secret, s.wecom_agent_id, s.wecom_api_url)
        self.messenger = WeComMessenger(self.client, limiter)
        if client is None:
            apply_app_limits(app, self.client)
        self.router = Router(app, hold_replies=True)
        self.inbox = Inbox(app.uow, CHANNEL)
        one_writer = app.engine.dialect.name == "sqlite"
        self.db_processes = process_count(app.engine, db_processes, s.db_processes)
        self.workers: list[DbProcess] = []  # (filled by start())
        # on SQLite the database process also stores messages and writes the held replies' bookkeeping: SqliteWrites
        self.writes = SqliteWrites(self.workers) if self.db_processes and one_writer else None
        self.durable = DurableReplies(relaxed_session_factory(app.engine), WeComReplySender(self.messenger),
                                      app.clock.now, **(self.writes.for_replies() if self.writes else {}))
        self.db_pool = ThreadPoolExecutor(db_threads or (1 if one_writer else 2), thread_name_prefix="wecom-db")
        # storing received messages has a thread of its own, so a 200 never waits behind the router's work; the
        # messages that arrive while one batch is being written go together in the next (one commit for many)
        self.inbox_pool = ThreadPoolExecutor(1, thread_name_prefix="wecom-inbox")
        self._to_store: list[tuple[str, dict[str, str], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.queues: dict[str, tuple[asyncio.Lock, list[int]]] = {}  # member -> (lock, [messages queued or in hand])
        self.active = 0  # messages being handled now: bulk sends wait while people talk to the bot

    async def start(self) -> None:
        """Start the database processes; handle messages stored but not handled when the last run stopped."""
        self.workers[:] = [DbProcess(self.app.settings, self.app.clock, None, CHANNEL, hold_replies=True)
                           for _ in range(self.db_processes)]
        for w in self.workers:
            await w.start()
        for raw in await self.db(self.inbox.pending):
            if isinstance(raw, dict) and all(k in raw for k in REQUIRED):
                self.schedule(update_id(raw), raw)

    async def stop(self) -> None:
        """Finish the messages being handled, then close; anything unhandled stays in the inbox."""
        await self.drain()
        try:  # outcomes of held replies written, and the ones a stop interrupted given back
            await self.durable.close()
        finally:
            await self.client.aclose()
        for w in self.workers:
            await w.stop()
        for pool in (self.db_pool, self.inbox_pool):
            await asyncio.get_running_loop().run_in_executor(None, functools.partial(pool.shutdown, wait=True))

    async def drain(self) -> None:
        """Wait until every received message has been handled (and its replies sent)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def db(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run blocking database work on the channel's database threads."""
        return await asyncio.get_running_loop().run_in_executor(self.db_pool, functools.partial(fn, *args))

    # receiving ------------------------------------------------------------------------------------------------

    def asgi(self, path: str = "/wecom") -> Starlette:
        """The callback app: GET path verifies the URL, POST path takes messages; GET /healthz answers ok."""

        async def verify(request: Request) -> Response:
            try:
                q = request.query_params  # decoded once: echostr's + and / stay as they are
                echostr = _param(q, "echostr")
                self.crypto.verify(_param(q, "msg_signature"), _param(q, "timestamp"), _param(q, "nonce"), echostr)
                plain = self.crypto.decrypt(echostr).decode("utf-8")
            except Refused as e:
                return Response(status_code=e.status)
            except (CryptoError, UnicodeDecodeError) as e:
                return Response(status_code=403 if "signature" in str(e) or "receiveid" in str(e) else 400)
            return PlainTextResponse(plain)

        async def receive(request: Request) -> Response:
            try:
                message = self.open(dict(request.query_params), await _body(request))
            except Refused as e:
                log.info("refused a WeCom callback: %s", e)
                return Response(status_code=e.status)
            except ClientDisconnect:
                return Response(status_code=400)
            try:
                await self.receive(message)
            except SQLAlchemyError as e:  # not stored, so not acknowledged: WeCom delivers it again
                log.warning("could not store a WeCom message (%s)", type(e).__name__)
                return Response(status_code=503)
            return Response(status_code=200)

        async def health(_: Request) -> Response:
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route(path, verify, methods=["GET"]), Route(path, receive, methods=["POST"]),
                                 Route("/healthz", health, methods=["GET"])])

    def open(self, query: dict[str, str], body: bytes) -> dict[str, str]:
        """The message inside a callback: signature checked first, then decrypted and parsed; Refused otherwise."""
        try:
            outer = parse(body)
        except XmlError as e:
            raise Refused(413 if str(e) == "too large" else 400, f"envelope: {e}") from None
        encrypted = outer.get("Encrypt")
        if not encrypted:
            raise Refused(400, "no Encrypt")
        try:
            self.crypto.verify(_param(query, "msg_signature"), _param(query, "timestamp"), _param(query, "nonce"),
                               encrypted)
        except CryptoError as e:
            raise Refused(403, str(e)) from None
        self.check_fresh(query["timestamp"])
        try:
            plain = self.crypto.decrypt(encrypted)
        except CryptoError as e:
            raise Refused(403 if "receiveid" in str(e) else 400, str(e)) from None
        try:
            message = parse(plain)
        except XmlError as e:
            raise Refused(400, f"message: {e}") from None
        if not all(message.get(k) for k in REQUIRED) or not message["CreateTime"].isdigit():
            raise Refused(400, "message without sender, time or type")
        return message

    def check_fresh(self, timestamp: str) -> None:
        """Refuse (403) a callback whose timestamp is further from now than WECOM_CALLBACK_MAX_AGE: a recorded
        callback replayed later (its signature still holds) is refused before it is decrypted or stored."""
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise Refused(400, "timestamp is not a number")
        skew = abs(self.app.clock.now().timestamp() - int(timestamp))
        if skew > self.app.settings.wecom_callback_max_age:
            raise Refused(403, f"timestamp {skew:.0f} s from now")

    async def receive(self, message: dict[str, str]) -> None:
        """Store the message in the inbox (durably: a crash after this loses nothing), then queue its handling."""
        uid = update_id(message)
        stored = asyncio.get_running_loop().create_future()
        self._to_store.append((uid, message, stored))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches(), name="wecom-inbox")
        await stored
        self.schedule(uid, message)

    async def _write_batches(self) -> None:
        """Store what is waiting, batch after batch, each in one transaction; each waiter learns how its went."""
        loop = asyncio.get_running_loop()
        while self._to_store:
            batch, self._to_store = self._to_store, []
            rows = list({uid: message for uid, message, _ in batch}.items())
            try:
                if self.writes is not None:
                    await self.writes.store(rows, self.app.clock.now())
                else:
                    await loop.run_in_executor(self.inbox_pool, self.inbox.store, rows, self.app.clock.now())
            except Exception as e:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(e)
            else:
                for _, _, future in batch:
                    if not future.done():
                        future.set_result(None)

    def schedule(self, uid: str, message: dict[str, str]) -> None:
        """Handle a stored message in a task of its own (after the member's earlier ones)."""
        lock, count = self.queues.setdefault(message["FromUserName"], (asyncio.Lock(), [0]))
        count[0] += 1
        task = asyncio.get_running_loop().create_task(self.handle(uid, message, lock, count), name=f"wecom-{uid}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # handling ---------------------------------------------------------------------------------------------------

    async def handle(self, uid: str, message: dict[str, str], lock: asyncio.Lock, count: list[int]) -> None:
        """Route one stored message and send its replies; a message seen before does nothing."""
        async with lock:  # FIFO: a member's messages in the order they arrived
            self.active += 1
            try:
                await self._handle(uid, message)
            except Exception:
                log.exception("WeCom message %s left in the inbox, to be handled on the next start", uid)
            finally:
                self.active -= 1
                count[0] -= 1
                if not count[0]:
                    self.queues.pop(message["FromUserName"], None)

    async def _handle(self, uid: str, message: dict[str, str]) -> None:
        inbound = to_inbound(message, uid)
        now = self.app.clock.now()
        if inbound is None:
            await self.db(self.inbox.done, uid, now)
            return
        for attempt in range(1, 4):
            try:
                if self.workers:
                    worker = min(self.workers, key=lambda w: w.busy)
                    outcome = await worker.call(workers.handle, inbound, uid, now, message)
                else:
                    outcome = await self.db(self.router.handle, inbound,
                                            functools.partial(self.inbox.claim, update_id=uid, now=now, raw=message))
                break
            except (OperationalError, DbProcessGone):  # e.g. SQLite busy: nothing was committed, so try again
                if attempt == 3:
                    raise
                await asyncio.sleep(0.5 * attempt)
        if outcome.duplicate:
            return
        code = message.get("ResponseCode")
        if inbound.payload is not None and code:  # grey out the card just pressed
            try:
                pressed = translator_for(outcome.lang or self.app.settings.lang)(PRESSED)
                await self.client.update_card(inbound.sender, code, pressed)
            except Exception as e:
                log.info("could not update a pressed card (%s)", type(e).__name__)
        for i, reply in enumerate(outcome.replies):
            user = reply.chat or inbound.chat
            held = outcome.held[i] if i < len(outcome.held) else None
            if held is not None:
                await self.reply_held(uid, user, reply, held, outcome.person_id, outcome.lang)
            else:
                await self.reply(uid, user, reply, outcome.lang)

    async def reply_held(self, uid: str, user: str, reply: Reply, row_id: int, person_id: int | None,
                         lang: str | None) -> None:
        """Send a reply to a committed action that an outbox row holds (see reminders.replies): a crash before it
        leaves hands it to the dispatcher after the restart; one that cannot go now is left to the dispatcher."""
        status = await self.durable.send(row_id, person_id, user, reply.text, buttons_json(reply.flat_buttons))
        if status == "failed":
            log.error("WeCom message %s: the reply to %s was refused (outbox row %s)", uid, user, row_id)
            await self.tell_failed(user, lang)
        elif status in ("pending", "uncertain"):
            log.warning("WeCom message %s: the reply to %s is %s (outbox row %s)", uid, user, status, row_id)

    async def reply(self, uid: str, user: str, reply: Reply, lang: str | None) -> None:
        """Send one reply that no outbox row holds (an image, a file, a reply to nothing committed). If WeCom refuses
        it or the call fails, the failure is logged with the message id and the member told something went wrong."""
        try:
            await self.messenger.reply(user, reply)
        except (WeComApiError, httpx.HTTPError) as e:
            log.error("WeCom message %s: the reply to %s was not sent (%s)", uid, user,
                      type(e).__name__ if isinstance(e, httpx.HTTPError) else e)
            await self.tell_failed(user, lang)

    async def tell_failed(self, user: str, lang: str | None) -> None:
        """Ask the member to try again, in the language of their conversation, where that can still reach them (a
        failure here is left at that)."""
        with contextlib.suppress(WeComApiError, httpx.HTTPError):
            await self.messenger.deliver(user, translator_for(lang or self.app.settings.lang)(SEND_FAILED), [])


def _param(query: Any, name: str) -> str:
    value = query.get(name)
    if not value or len(value) > 4096:
        raise Refused(400, f"no {name}")
    return str(value)


async def _body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused (413) past limit bytes without reading the rest."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise Refused(413, "body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)
