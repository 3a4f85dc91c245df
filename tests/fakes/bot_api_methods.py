"""The Bot API methods of the fake server as Telegram carries them out, and the state they record."""

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
from typing import Any

from fakes.bot_api_http import NOT_MODIFIED, RATE_LIMITED, SENT_METHODS, ApiError, Params
from fakes.bot_api_rules import caption_refusal, markup_refusal, text_refusal, webhook_refusal


class BotApiMethods:
    """getUpdates, setWebhook, sendMessage, editMessageText, ... of one bot, on the chats and messages it has seen.

    Each method takes the request's parameters and returns its result, or raises ApiError with Telegram's answer.
    FakeBotApi serves them over HTTP; all the state is guarded by _cond, which is notified on every send.
    """

    def __init__(self, token: str, *, username: str, local: bool, every_chat_known: bool) -> None:
        self.local = local
        self.every_chat_known = every_chat_known  # benches: thousands of people who started the bot earlier
        self.bot_user: Params = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "Planbot Test",
                                 "username": username}
        self.webhook: Params | None = None
        self.commands: dict[tuple[str, str], list[Params]] = {}  # (scope as JSON, language_code) -> commands
        self.max_per_second: float | None = None
        self.arrivals: list[tuple[float, str, int]] = []  # (time.monotonic(), method, chat_id) of every message sent
        self._cond = threading.Condition()  # guards all the state below; the server thread notifies on sends
        self._updates: list[Params] = []
        self._next_update_id = 1
        self._sent: list[Params] = []
        self._chats: dict[int, Params] = {}
        self._last_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], Params] = {}
        self._send_times: deque[float] = deque()
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()  # set when an update comes or the server stops: long polls answer at once
        self._stopping = False
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
