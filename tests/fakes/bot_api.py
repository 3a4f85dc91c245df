"""A fake Telegram Bot API server on 127.0.0.1 for tests, driven from the test's own thread."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from fakes.asgi import AsgiServer
from fakes.bot_api_http import NOT_MODIFIED, SENT_METHODS, ApiError, Params, request_params
from fakes.bot_api_methods import BotApiMethods

USE_REGISTERED = "use-registered"


class FakeBotApi(BotApiMethods):
    """A Bot API server on 127.0.0.1 (uvicorn + starlette, in a background thread) for one bot token.

    It checks every request as Telegram does (fakes/bot_api_rules.py: texts of 1 to 4,096 characters, captions up to
    1,024, callback data of 1 to 64 bytes, at most 100 buttons, setWebhook's rules; messages only to chats it knows,
    edits only of the bot's own messages) and answers 400 as Telegram would. With strict (the default) each such
    request is also recorded in `violations`, and the tests' conftest fails a test that made any, unless the test
    said it expects them (expect_refusals(), or the telegram_refusals marker). A chat is known once it wrote to the
    bot (an update), or when a test says so (add_chat). local: the rules of a local Bot API server started with
    --local (webhooks on http:// and any port), as TELEGRAM_API_URL makes planbot expect.

    The methods themselves, and the chats and messages they record, are BotApiMethods' (fakes/bot_api_methods.py);
    this class serves them over HTTP and adds what a test drives (updates, failures, webhook deliveries) and observes.
    """

    instances: ClassVar[list[FakeBotApi]] = []  # every fake made, for the tests' check of violations

    def __init__(self, token: str = "123456:TEST-token", *, delay: float = 0.0,
                 username: str = "planbot_test_bot", strict: bool = True, local: bool = True,
                 every_chat_known: bool = False) -> None:
        super().__init__(token, username=username, local=local, every_chat_known=every_chat_known)
        self.token, self.delay, self.username, self.base_url = token, delay, username, ""
        self.strict = strict
        self.violations: list[tuple[str, str]] = []  # (method, Telegram's description) of each request it refused
        self.refusals_expected = False
        FakeBotApi.instances.append(self)
        self.calls: list[tuple[str, Params]] = []
        self.too_many_requests = 0
        self.in_flight = 0  # send/edit requests being handled now (each takes `delay`), and the most at once
        self.most_in_flight = 0
        self._failures: dict[str, deque[tuple[int, int, str | None, bool]]] = {}
        self._held_until = 0.0  # time.monotonic() until which requests wait before being handled (hold())
        self._server = AsgiServer(self._asgi)

    def start(self) -> FakeBotApi:
        """Serve on a free port of 127.0.0.1 (base_url is then set); returns the fake."""
        self._stopping, self._wake = False, asyncio.Event()  # the event binds to the new server loop
        self._server.start()
        self.base_url = f"{self._server.url}/bot"
        return self

    def stop(self) -> None:
        """Answer the long polls under way, and stop serving."""
        self._stopping = True
        self._wake_pollers()
        self._server.stop()

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- updates ---------------------------------------------------------------------------------------------------
    def push_update(self, update: Params) -> int:
        """Queue an update for getUpdates (update_id assigned if missing, increasing); returns its update_id."""
        with self._cond:
            update_id = self._assign_update_id(update)
            self._updates = sorted([*self._updates, update], key=lambda u: int(u["update_id"]))
        self._wake_pollers()
        return update_id

    @property
    def pending_updates(self) -> list[Params]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._cond:
            return list(self._updates)

    def message_update(self, chat_id: int, text: str, *, user_id: int | None = None, lang: str = "zh-hans",
                       chat_type: str = "private", first_name: str = "Test", message_id: int | None = None,
                       edited: bool = False) -> Params:
        """An Update dict (no update_id yet) of a user's text message; "/cmd ..." gets its bot_command entity."""
        msg = self._incoming(chat_id, user_id, lang, chat_type, first_name, message_id) | {"text": text}
        if text.startswith("/"):
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"edited_message": msg | {"edit_date": msg["date"]}} if edited else {"message": msg}

    def media_update(self, chat_id: int, kind: str = "photo", *, user_id: int | None = None, lang: str = "zh-hans",
                     chat_type: str = "private", first_name: str = "Test", message_id: int | None = None,
                     caption: str | None = None) -> Params:
        """An Update dict (no update_id yet) of a user's "photo", "sticker", "voice" or "document"."""
        n = next(self._ids)
        file = {"file_id": f"file-{kind}-{n}", "file_unique_id": f"u{kind}{n}"}
        media: Params = {
            "photo": [file | {"width": 90, "height": 90, "file_size": 1200},
                      file | {"file_id": f"file-photo-{n}-big", "width": 800, "height": 600, "file_size": 48000}],
            "sticker": file | {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                               "is_video": False, "emoji": "👍"},
            "voice": file | {"duration": 3, "mime_type": "audio/ogg", "file_size": 9000},
            "document": file | {"file_name": "file.pdf", "mime_type": "application/pdf", "file_size": 5000}}
        if kind not in media:
            raise ValueError(f"unknown media kind {kind!r}")
        msg = self._incoming(chat_id, user_id, lang, chat_type, first_name, message_id) | {kind: media[kind]}
        return {"message": msg | ({"caption": caption} if caption is not None else {})}

    def callback_update(self, chat_id: int, data: str, *, user_id: int | None = None,
                        message_id: int | None = None) -> Params:
        """An Update dict (no update_id yet) of a button press on a message of the bot's: message_id, else its last
        message in the chat with buttons. A message the fake has not seen with buttons is made up (as the bot's, with
        this button: pressed data may be forged, the message it is pressed on always exists)."""
        with self._cond:
            chat = self._chats.get(chat_id) or self._chat(chat_id)
            if message_id is None:
                message_id = max((m for (c, m), msg in self._messages.items() if c == chat_id and
                                  msg.get("reply_markup") and msg.get("from", {}).get("id") == self.bot_user["id"]),
                                 default=None)
            self._chats.setdefault(chat_id, chat)  # a press comes from a chat the bot wrote to
            message = self._messages.get((chat_id, message_id)) if message_id is not None else None
            if message is not None and message.get("from", {}).get("id") != self.bot_user["id"]:
                message = None  # a person's own message has no buttons of the bot's
                message_id = self._new_message_id(chat_id)
            if message is None or not message.get("reply_markup"):
                message = (message or {"message_id": message_id or self._new_message_id(chat_id),
                                       "date": int(time.time()), "chat": chat, "from": self.bot_user, "text": "…"}) | {
                    "reply_markup": {"inline_keyboard": [[{"text": "…", "callback_data": data}]]}}
                self._messages[(chat_id, int(message["message_id"]))] = message
        user = {"id": user_id or (chat_id if chat_id > 0 else 1), "is_bot": False,
                "first_name": chat.get("first_name", "Test")}
        return {"callback_query": {"id": str(next(self._ids)), "from": user, "chat_instance": str(chat_id),
                                   "message": json.loads(json.dumps(message)), "data": data}}

    # --- observing, failures ---------------------------------------------------------------------------------------
    def sent(self, chat_id: int | None = None) -> list[Params]:
        """Params of the successful sendMessage/sendPhoto/sendDocument/editMessageText calls, in order.

        Each also has "method" and the resulting "message_id"; uploads are {"filename", "size", "mime_type", "content"}.
        """
        with self._cond:
            return [s for s in self._sent if chat_id is None or s.get("chat_id") == chat_id]

    def wait_for_sent(self, n: int, chat_id: int | None = None, timeout: float = 10.0) -> list[Params]:
        """Block until at least n were sent (to chat_id), else AssertionError. Never call it on the bot's own loop."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.sent(chat_id)) >= n, timeout):
                raise AssertionError(f"expected {n} sent to {chat_id} within {timeout}s, got {self.sent(chat_id)}")
            return self.sent(chat_id)

    async def wait_for_sent_async(self, n: int, chat_id: int | None = None, timeout: float = 10.0) -> list[Params]:
        """wait_for_sent for a test whose event loop also runs the bot (which must not be blocked)."""
        return await asyncio.to_thread(self.wait_for_sent, n, chat_id, timeout)

    def busiest(self, window: float, chat_id: int | None = None) -> int:
        """The most messages sent (to chat_id) that arrived within any `window` seconds of each other."""
        with self._cond:
            times = [t for t, _, c in self.arrivals if chat_id is None or c == chat_id]
        most, first = 0, 0
        for last, t in enumerate(times):
            while t - times[first] >= window:
                first += 1
            most = max(most, last - first + 1)
        return most

    def my_commands(self, language_code: str = "", scope: Params | None = None) -> list[Params]:
        """The commands set for this scope (default: {"type": "default"}) and language ("": all languages)."""
        commands: list[Params] = self._commands({"language_code": language_code, "scope": scope})
        return commands

    def fail_next(self, method: str, status: int = 429, *, retry_after: int = 1, times: int = 1,
                  description: str | None = None, after_delivery: bool = False) -> None:
        """The next `times` calls of `method` answer `status` (429: "retry after N" with parameters.retry_after).
        after_delivery: the call is carried out first (the message is delivered), as when a gateway in front of
        Telegram answers 502/504 for a request that Telegram did handle."""
        with self._cond:
            self._failures.setdefault(method.lower(), deque()).extend(
                [(status, retry_after, description, after_delivery)] * times)

    def hold(self, seconds: float) -> None:
        """A hiccup: requests wait from now for `seconds` and are then handled (and counted) one after another."""
        self._held_until = time.monotonic() + seconds

    def add_chat(self, *chat_ids: int, chat_type: str | None = None) -> None:
        """Chats the bot may write to although they sent nothing yet (people who started the bot earlier)."""
        with self._cond:
            for chat_id in chat_ids:
                kind = chat_type or ("private" if chat_id > 0 else "supergroup" if str(chat_id).startswith("-100")
                                     else "group")
                self._chats.setdefault(chat_id, {"id": chat_id, "type": kind})

    def expect_refusals(self) -> None:
        """This test makes requests Telegram refuses on purpose: they are still answered 400, and not a failure."""
        self.refusals_expected = True

    # --- webhook ---------------------------------------------------------------------------------------------------
    def deliver_webhook(self, update: Params, *, secret: str | None = USE_REGISTERED) -> int:
        """POST the update to the registered webhook URL (blocking this thread); returns the HTTP status."""
        url, headers = self._webhook_request(update, secret)
        with httpx.Client(timeout=10) as client:
            return client.post(url, json=update, headers=headers).status_code

    async def deliver_webhook_async(self, update: Params, *, secret: str | None = USE_REGISTERED) -> int:
        """deliver_webhook for a receiver that runs on the caller's own event loop."""
        url, headers = self._webhook_request(update, secret)
        async with httpx.AsyncClient(timeout=10) as client:
            return (await client.post(url, json=update, headers=headers)).status_code

    def _webhook_request(self, update: Params, secret: str | None) -> tuple[str, dict[str, str]]:
        with self._cond:
            if self.webhook is None:
                raise RuntimeError("no webhook is set (setWebhook was not called, or deleteWebhook was)")
            self._assign_update_id(update)
            secret = self.webhook.get("secret_token") if secret == USE_REGISTERED else secret
            return str(self.webhook["url"]), {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}

    # --- HTTP (server thread) --------------------------------------------------------------------------------------
    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self._handle(Request(scope, receive)))(scope, receive, send)

    async def _handle(self, request: Request) -> JSONResponse:
        m = re.fullmatch(r"/bot([^/]+)/(\w+)", request.url.path)
        if not m or m.group(1) != self.token:
            return ApiError(401 if m else 404).response()
        try:
            params = await request_params(request)
        except (ValueError, UnicodeDecodeError):
            return ApiError(400, "Bad Request: can't parse request body").response()
        name, handler = self._methods.get(m.group(2).lower(), (m.group(2), None))
        with self._cond:
            self.calls.append((name, params))
            failure = self._failures.get(name.lower())
            fail = failure.popleft() if failure else None
        counted = name in SENT_METHODS
        if counted:
            with self._cond:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await self._answer(name, handler, params, fail)
        finally:
            if counted:
                with self._cond:
                    self.in_flight -= 1

    async def _answer(self, name: str, handler: Callable[[Params], Any] | None, params: Params,
                      fail: tuple[int, int, str | None, bool] | None) -> JSONResponse:
        if self.delay > 0:
            await asyncio.sleep(self.delay)
        if (held := self._held_until - time.monotonic()) > 0:
            await asyncio.sleep(held)
        try:
            if handler is None:
                raise ApiError(404)
            if fail and fail[0] == 429 and not fail[3]:
                raise ApiError(429, fail[2] or f"Too Many Requests: retry after {fail[1]}", {"retry_after": fail[1]})
            if fail and not fail[3]:
                raise ApiError(fail[0], fail[2])
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            if fail:  # after delivery
                raise ApiError(fail[0], fail[2])
        except ApiError as e:
            with self._cond:
                self.too_many_requests += e.status == 429
                refused = e.status == 400 and not fail and e.description != NOT_MODIFIED  # (a second press racing
                if refused and self.strict:  # the first cannot know the keyboard is gone: not held against it)
                    self.violations.append((name, e.description))
            return e.response()
        return JSONResponse({"ok": True, "result": result})

    def _wake_pollers(self) -> None:
        loop = self._server.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake.set)
