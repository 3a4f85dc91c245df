"""A fake Telegram Bot API server on 127.0.0.1 for tests, driven from the test's own thread."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from email.parser import Parser
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from fakes.asgi import AsgiServer
from fakes.bot_api_rules import caption_refusal, markup_refusal, text_refusal, webhook_refusal

Params = dict[str, Any]
USE_REGISTERED = "use-registered"
SENT_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")
RATE_LIMITED = frozenset({"sendMessage", "sendPhoto", "sendDocument"})  # what max_per_second counts
# String-typed Bot API parameters are never JSON-decoded (a text "123" stays "123"); the rest are, when they parse.
STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "url", "secret_token", "callback_query_id", "language_code", "action", "emoji",
    "inline_message_id", "ip_address", "business_connection_id", "message_effect_id", "title", "description",
    "short_description", "name", "photo", "document", "sticker", "voice", "audio", "video", "animation"})
DESCRIPTIONS = {400: "Bad Request: chat not found", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user",
                404: "Not Found", 409: "Conflict: terminated by other getUpdates request", 502: "Bad Gateway"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")


class ApiError(Exception):
    """An error answer: {"ok": false, "error_code": status, "description": ..., ["parameters": ...]}."""

    def __init__(self, status: int, description: str | None = None, parameters: Params | None = None) -> None:
        self.status, self.parameters = status, parameters
        self.description = description or DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
        super().__init__(self.description)

    def response(self) -> JSONResponse:
        body: Params = {"ok": False, "error_code": self.status, "description": self.description}
        return JSONResponse(body | ({"parameters": self.parameters} if self.parameters else {}), self.status)


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, str) and key not in STRING_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _multipart(body: bytes, content_type: str) -> Params:
    """multipart/form-data by hand (starlette's parser needs python-multipart): text fields and file dicts."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError("multipart body without boundary")
    out: Params = {}
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = Parser().parsestr(head.decode("utf-8", "replace"))
        name, filename = str(headers.get_param("name", header="content-disposition")), headers.get_filename()
        out[name] = content.decode() if filename is None else {
            "filename": filename, "size": len(content), "mime_type": headers.get_content_type(), "content": content}
    return out


class FakeBotApi:
    """A Bot API server on 127.0.0.1 (uvicorn + starlette, in a background thread) for one bot token.

    It checks every request as Telegram does (fakes/bot_api_rules.py: texts of 1 to 4,096 characters, captions up to
    1,024, callback data of 1 to 64 bytes, at most 100 buttons, setWebhook's rules; messages only to chats it knows,
    edits only of the bot's own messages) and answers 400 as Telegram would. With strict (the default) each such
    request is also recorded in `violations`, and the tests' conftest fails a test that made any, unless the test
    said it expects them (expect_refusals(), or the telegram_refusals marker). A chat is known once it wrote to the
    bot (an update), or when a test says so (add_chat). local: the rules of a local Bot API server started with
    --local (webhooks on http:// and any port), as TELEGRAM_API_URL makes planbot expect.
    """

    instances: ClassVar[list[FakeBotApi]] = []  # every fake made, for the tests' check of violations

    def __init__(self, token: str = "123456:TEST-token", *, delay: float = 0.0,
                 username: str = "planbot_test_bot", strict: bool = True, local: bool = True,
                 every_chat_known: bool = False) -> None:
        self.token, self.delay, self.username, self.base_url = token, delay, username, ""
        self.strict, self.local = strict, local
        self.every_chat_known = every_chat_known  # benches: thousands of people who started the bot earlier
        self.violations: list[tuple[str, str]] = []  # (method, Telegram's description) of each request it refused
        self.refusals_expected = False
        FakeBotApi.instances.append(self)
        self.bot_user: Params = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Planbot Test",
                                 "username": username}
        self.calls: list[tuple[str, Params]] = []
        self.webhook: Params | None = None
        self.commands: dict[tuple[str, str], list[Params]] = {}  # (scope as JSON, language_code) -> commands
        self.max_per_second: float | None = None
        self.too_many_requests = 0
        self.arrivals: list[tuple[float, str, int]] = []  # (time.monotonic(), method, chat_id) of every message sent
        self.in_flight = 0  # send/edit requests being handled now (each takes `delay`), and the most at once
        self.most_in_flight = 0
        self._cond = threading.Condition()  # guards all the state below; the server thread notifies on sends
        self._updates: list[Params] = []
        self._next_update_id = 1
        self._sent: list[Params] = []
        self._chats: dict[int, Params] = {}
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], Params] = {}
        self._failures: dict[str, deque[tuple[int, int, str | None, bool]]] = {}
        self._send_times: deque[float] = deque()
        self._held_until = 0.0  # time.monotonic() until which requests wait before being handled (hold())
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._stopping = False
        self._server = AsgiServer(self._asgi)
        ok = lambda p: True  # noqa: E731
        self._methods: dict[str, tuple[str, Callable[[Params], Any]]] = {name.lower(): (name, fn) for name, fn in {
            "getMe": lambda p: self.bot_user | {"can_join_groups": True, "can_read_all_group_messages": False,
                                                "supports_inline_queries": False},
            "getUpdates": self._get_updates, "setWebhook": self._set_webhook, "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._webhook_info, "sendMessage": self._send_message, "sendPhoto": self._send_photo,
            "sendDocument": self._send_document, "editMessageText": lambda p: self._edit("editMessageText", p),
            "editMessageReplyMarkup": lambda p: self._edit("editMessageReplyMarkup", p), "setMyCommands":
            lambda p: self._commands(p, list(p["commands"])), "getMyCommands": lambda p: self._commands(p),
            "deleteMyCommands": lambda p: self._commands(p, []), "answerCallbackQuery": ok, "sendChatAction": ok,
            "setChatMenuButton": ok, "deleteMessage": ok}.items()}

    def start(self) -> FakeBotApi:
        self._stopping, self._wake = False, asyncio.Event()  # the event binds to the new server loop
        self._server.start()
        self.base_url = f"{self._server.url}/bot"
        return self

    def stop(self) -> None:
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
            params = await self._params(request)
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

    async def _params(self, request: Request) -> Params:
        raw: Params = dict(request.query_params)
        content_type, body = request.headers.get("content-type", ""), await request.body()
        if body and content_type.startswith("application/json"):
            raw.update(json.loads(body))
        elif body and content_type.startswith("multipart/form-data"):
            raw.update(_multipart(body, content_type))
        elif body:
            raw.update(parse_qsl(body.decode(), keep_blank_values=True))
        params = {k: _decode(k, v) for k, v in raw.items()}
        for k, v in params.items():  # "attach://name" points at the multipart file part "name"
            if isinstance(v, str) and v.startswith("attach://") and isinstance(raw.get(v[9:]), dict):
                params[k] = raw[v[9:]]
        return params

    async def _get_updates(self, p: Params) -> list[Params]:
        offset, limit = int(p.get("offset") or 0), min(max(int(p.get("limit") or 100), 1), 100)
        allowed, deadline = set(p.get("allowed_updates") or ()), time.monotonic() + float(p.get("timeout") or 0)
        while True:
            self._wake.clear()
            with self._cond:
                if self.webhook is not None:
                    raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                   "use deleteWebhook to delete the webhook first")
                self._updates = self._updates[offset:] if offset < 0 else [
                    u for u in self._updates if u["update_id"] >= offset and (not allowed or set(u) & allowed)]
                batch: list[Params] = json.loads(json.dumps(self._updates[:limit]))
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0 or self._stopping:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)

    def _set_webhook(self, p: Params) -> bool:
        self._check(webhook_refusal(p, self.local))
        with self._cond:
            self._delete_webhook(p)
            self.webhook = {k: v for k, v in p.items() if k != "drop_pending_updates"} if p.get("url") else None
        return True

    def _delete_webhook(self, p: Params) -> bool:
        with self._cond:
            self._updates = [] if p.get("drop_pending_updates") else self._updates
            self.webhook = None
        return True

    def _webhook_info(self, p: Params) -> Params:
        with self._cond:
            hook = self.webhook or {}
            info = {"url": hook.get("url", ""), "has_custom_certificate": "certificate" in hook,
                    "pending_update_count": len(self._updates)}
            return info | {k: hook[k] for k in ("max_connections", "allowed_updates", "ip_address") if k in hook}

    def _commands(self, p: Params, new: list[Params] | None = None) -> Any:
        key = (json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True), p.get("language_code") or "")
        with self._cond:
            if new is None:
                return list(self.commands.get(key, []))
            self.commands[key] = new
            return True

    def _send_message(self, p: Params) -> Params:
        text = str(p.get("text") or "")
        self._check(text_refusal(text), markup_refusal(p.get("reply_markup")))
        return self._record_send("sendMessage", p, {"text": text})

    @staticmethod
    def _check(*refusals: str | None) -> None:
        """Answer 400 with the first of Telegram's refusals that applies."""
        for refusal in refusals:
            if refusal is not None:
                raise ApiError(400, refusal)

    def _send_photo(self, p: Params) -> Params:
        self._check(caption_refusal(p.get("caption")), markup_refusal(p.get("reply_markup")))
        if not (photo := p.get("photo")):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        size, n = photo["size"] if isinstance(photo, dict) else 50000, next(self._ids)
        return self._record_send("sendPhoto", p, {"photo": [
            {"file_id": f"photo-{n}-{w}", "file_unique_id": f"uphoto{n}{w}", "width": w, "height": w * 3 // 4,
             "file_size": max(1, size * w // 800)} for w in (90, 800)]})

    def _send_document(self, p: Params) -> Params:
        self._check(caption_refusal(p.get("caption")), markup_refusal(p.get("reply_markup")))
        if not (doc := p.get("document")):
            raise ApiError(400, "Bad Request: there is no document in the request")
        n = next(self._ids)
        document = {"file_id": f"doc-{n}", "file_unique_id": f"ud{n}"}
        if isinstance(doc, dict):
            document |= {"file_name": doc["filename"], "mime_type": doc["mime_type"], "file_size": doc["size"]}
        return self._record_send("sendDocument", p, {"document": document})

    def _edit(self, method: str, p: Params) -> Params | bool:
        content = {"text": str(p.get("text") or "")} if method == "editMessageText" else {}
        self._check(text_refusal(content["text"]) if content else None, markup_refusal(p.get("reply_markup")))
        if p.get("inline_message_id"):
            return True
        chat = self._chat(p.get("chat_id"))
        key = (chat["id"], int(p.get("message_id") or 0))
        with self._cond:
            old = self._messages.get(key)
            if old is None:
                raise ApiError(400, "Bad Request: message to edit not found")
            if old.get("from", {}).get("id") != self.bot_user["id"]:
                raise ApiError(400, "Bad Request: message can't be edited")
            new = {k: v for k, v in old.items() if k != "reply_markup"} | content
            new |= {"edit_date": int(time.time())} | self._inline_markup(p)  # no markup given: the keyboard goes
            if new.get("text") == old.get("text") and new.get("reply_markup") == old.get("reply_markup"):
                raise ApiError(400, NOT_MODIFIED)
            self._messages[key] = new
            if method in SENT_METHODS:
                self._sent.append({"method": method, **p, "chat_id": key[0], "message_id": key[1]})
                self._cond.notify_all()
            return new

    def _record_send(self, method: str, p: Params, content: Params) -> Params:
        chat = self._chat(p.get("chat_id"))
        with self._cond:
            if chat["id"] not in self._chats and not self.every_chat_known:  # a person who never started the bot
                raise ApiError(400, "Bad Request: chat not found")
            if self.max_per_second and method in RATE_LIMITED:
                window, now = max(1.0, 1.0 / self.max_per_second), time.monotonic()
                while self._send_times and self._send_times[0] <= now - window:
                    self._send_times.popleft()
                if len(self._send_times) >= self.max_per_second * window:
                    retry_after = max(1, math.ceil(self._send_times[0] + window - now))
                    raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
                self._send_times.append(now)
            msg = {"message_id": self._new_message_id(chat["id"]), "date": int(time.time()), "chat": chat,
                   "from": self.bot_user, **content} | ({"caption": p["caption"]} if p.get("caption") else {})
            msg |= self._inline_markup(p)
            self._messages[(chat["id"], msg["message_id"])] = msg
            self._sent.append({"method": method, **p, "chat_id": chat["id"], "message_id": msg["message_id"]})
            self.arrivals.append((time.monotonic(), method, chat["id"]))
            self._cond.notify_all()
            return msg

    @staticmethod
    def _inline_markup(p: Params) -> Params:
        """Message.reply_markup only ever echoes an inline keyboard (PTB parses it as InlineKeyboardMarkup)."""
        markup = p.get("reply_markup")
        return {"reply_markup": markup} if isinstance(markup, dict) and markup.get("inline_keyboard") else {}

    def _chat(self, chat_id: Any) -> Params:
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise ApiError(400, "Bad Request: chat not found")
        kind = "private" if chat_id > 0 else "supergroup" if str(chat_id).startswith("-100") else "group"
        return dict(self._chats.get(chat_id) or {"id": chat_id, "type": kind})

    def _incoming(self, chat_id: int, user_id: int | None, lang: str, chat_type: str, first_name: str,
                  message_id: int | None) -> Params:
        user = {"id": user_id or (chat_id if chat_type == "private" else 1), "is_bot": False,
                "first_name": first_name, "language_code": lang}
        chat = {"id": chat_id, "type": chat_type} | (
            {"first_name": first_name} if chat_type == "private" else {"title": "Test group"})
        with self._cond:
            self._chats[chat_id] = chat
            n = self._new_message_id(chat_id, message_id)
            msg = {"message_id": n, "date": int(time.time()), "chat": dict(chat), "from": user}
            self._messages[(chat_id, n)] = msg  # (not the bot's: it cannot edit it)
            return msg

    def _new_message_id(self, chat_id: int, explicit: int | None = None) -> int:
        """Message ids count up per chat, shared by the user's and the bot's messages (as in Telegram)."""
        last = self._last_message_id.get(chat_id, 0)
        self._last_message_id[chat_id] = max(last, explicit or last + 1)
        return explicit or last + 1

    def _assign_update_id(self, update: Params) -> int:
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        return int(update["update_id"])

    def _wake_pollers(self) -> None:
        loop = self._server.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._wake.set)
