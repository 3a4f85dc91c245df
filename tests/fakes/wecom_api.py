"""A fake WeCom API server on 127.0.0.1 (gettoken, message/send, update_template_card, media/upload, the group
robots' webhook/send), and a client that signs and encrypts callbacks as WeCom does."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels.wecom.crypto import WeComCrypto
from bot.channels.wecom.xml import build
from fakes.asgi import AsgiServer

CORP_ID = "ww1436e0e65a779aee"  # Tencent's sample values (WECOM-NOTES.md)
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SECRET = "fake-app-SECRET-0123456789"
AGENT_ID = 1000002
Params = dict[str, Any]


class FakeWeComApi:
    """WeCom's API as planbot uses it, with its manners: errors as HTTP 200 + errcode, silent drops past 30/min."""

    def __init__(self, corp_id: str = CORP_ID, secret: str = SECRET, agent_id: int = AGENT_ID, *,
                 per_minute: int = 30, per_hour: int = 1000, expires_in: int = 7200,
                 robots: tuple[str, ...] = (), robot_per_minute: int = 20) -> None:
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.per_minute, self.per_hour, self.expires_in = per_minute, per_hour, expires_in
        self.lock = threading.Lock()
        self.tokens: dict[str, bool] = {}  # token -> still valid
        self.token_fetches = 0
        self.delivered: list[Params] = []  # every message a member actually received, in order
        self.dropped: list[Params] = []  # messages over a member's limits, answered ok and never shown
        self.recent: dict[str, deque[float]] = {}
        self.unknown_users: set[str] = set()  # not in the app's visible range: 81013
        self.failures: deque[int] = deque()  # errcodes for the next message/send calls
        self.delay = 0.0  # seconds before answering message/send (for timeouts)
        self.held: list[Params] = []  # message/send requests that reached the API while hold() kept them waiting
        self._open = threading.Event()  # cleared by hold(): message/send calls wait, set again by release()
        self._open.set()
        self.codes: dict[str, str] = {}  # response_code -> user, unused
        self.updated: list[Params] = []  # update_template_card calls that greyed a card out
        self.media: dict[str, Params] = {}
        self.task_ids: set[str] = set()
        self.calls: list[str] = []
        self.robots: dict[str, list[Params]] = {key: [] for key in robots}  # group robot key -> messages posted
        self.robot_per_minute = robot_per_minute
        self.robot_refused: list[tuple[str, int]] = []  # (key, errcode) of robot posts refused
        self._robot_recent: dict[str, deque[float]] = {}
        self._ids = itertools.count(1)
        self.server = AsgiServer(Starlette(routes=[
            Route("/cgi-bin/webhook/send", self._robot, methods=["POST"]),
            Route("/cgi-bin/gettoken", self._gettoken, methods=["GET"]),
            Route("/cgi-bin/message/send", self._send, methods=["POST"]),
            Route("/cgi-bin/message/update_template_card", self._update_card, methods=["POST"]),
            Route("/cgi-bin/media/upload", self._upload, methods=["POST"]),
        ]))

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> FakeWeComApi:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    # what tests look at -----------------------------------------------------------------------------------------

    def to(self, user: str) -> list[Params]:
        """Messages user received (not the dropped ones), oldest first."""
        with self.lock:
            return [m for m in self.delivered if m["touser"] == user]

    def texts(self, user: str) -> list[str]:
        """What user read, one string per message: text content, or a card's title and text and button labels."""
        return [_readable(m) for m in self.to(user)]

    def revoke_tokens(self) -> None:
        """WeCom revokes every token early (the next call with one gets 42001)."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, False)

    def fail_next(self, errcode: int, times: int = 1) -> None:
        """The next `times` message/send calls answer errcode."""
        with self.lock:
            self.failures.extend([errcode] * times)

    def hold(self) -> None:
        """From now on message/send calls wait, once their request has reached the API, until release()."""
        self._open.clear()

    def release(self) -> None:
        """Let the waiting message/send calls go on (as WeCom would after a client that sent them died)."""
        self._open.set()

    def holding(self) -> list[Params]:
        """The requests held so far (their JSON bodies), oldest first."""
        with self.lock:
            return list(self.held)

    # the API ------------------------------------------------------------------------------------------------------

    def _token_error(self, request: Request) -> JSONResponse | None:
        token = request.query_params.get("access_token")
        if not token:
            return _error(41001, "access_token missing")
        with self.lock:
            valid = self.tokens.get(token)
        if valid is None:
            return _error(40014, "invalid access_token")
        if not valid:
            return _error(42001, "access_token expired")
        return None

    async def _gettoken(self, request: Request) -> JSONResponse:
        q = request.query_params
        self.calls.append("gettoken")
        if q.get("corpid") != self.corp_id:
            return _error(40013, "invalid corpid")
        if q.get("corpsecret") != self.secret:
            return _error(40001, "invalid credential")
        with self.lock:
            self.token_fetches += 1
            token = f"TOKEN-{self.token_fetches}-{next(self._ids)}"
            self.tokens[token] = True
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in})

    async def _send(self, request: Request) -> JSONResponse:
        self.calls.append("message/send")
        if (error := self._token_error(request)) is not None:
            return error
        if self.delay:
            await asyncio.sleep(self.delay)
        body = await request.json()
        if not self._open.is_set():
            with self.lock:
                self.held.append(body)
            while not self._open.is_set():
                await asyncio.sleep(0.005)
        with self.lock:
            if self.failures:
                return _error(self.failures.popleft(), "injected")
        if body.get("agentid") != self.agent_id:
            return _error(40056, "invalid agentid")
        user, kind = str(body.get("touser", "")), body.get("msgtype")
        if not user or "|" in user or kind not in ("text", "template_card", "image", "file"):
            return _error(40008, "invalid message type or recipient")
        if user in self.unknown_users:
            return _error(81013, "user & party & tag all invalid")
        content = body.get(kind) or {}
        answer: Params = {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"msg{next(self._ids)}"}
        if kind == "text" and not (isinstance(content.get("content"), str) and content["content"]):
            return _error(41009, "missing content")
        if kind in ("image", "file") and content.get("media_id") not in self.media:
            return _error(40007, "invalid media_id")
        if kind == "template_card":
            if content.get("card_type") != "button_interaction" or not content.get("main_title", {}).get("title"):
                return _error(40058, "invalid template_card")
            buttons = content.get("button_list") or []
            if not 1 <= len(buttons) <= 6 or any(not b.get("key") or not b.get("text") for b in buttons):
                return _error(40058, "invalid button_list")
            if content.get("task_id") in self.task_ids or not content.get("task_id"):
                return _error(40058, "task_id duplicated")
            self.task_ids.add(content["task_id"])
            answer["response_code"] = f"RC{next(self._ids)}"
        record = {"touser": user, "msgtype": kind, kind: content, "msgid": answer["msgid"],
                  "response_code": answer.get("response_code"), "at": time.monotonic()}
        with self.lock:
            times = self.recent.setdefault(user, deque())
            now = record["at"]
            while times and times[0] <= now - 3600:
                times.popleft()
            last_minute = sum(1 for t in times if t > now - 60)
            times.append(now)
            if last_minute >= self.per_minute or len(times) > self.per_hour:
                self.dropped.append(record)  # WeCom's manner: ok, and never shown
            else:
                self.delivered.append(record)
                if record["response_code"]:
                    self.codes[record["response_code"]] = user
        return JSONResponse(answer)

    async def _update_card(self, request: Request) -> JSONResponse:
        self.calls.append("update_template_card")
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        code = body.get("response_code")
        with self.lock:
            user = self.codes.pop(code, None)
        if user is None or body.get("userids") != [user] or not body.get("button", {}).get("replace_name"):
            return _error(40058, "invalid response_code")
        self.updated.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _upload(self, request: Request) -> JSONResponse:
        self.calls.append("media/upload")
        if (error := self._token_error(request)) is not None:
            return error
        kind = request.query_params.get("type")
        form = await request.form()
        media = form.get("media")
        if kind not in ("image", "file", "voice", "video") or not isinstance(media, UploadFile):
            return _error(40004, "invalid media type")
        content = await media.read()
        if not content or (kind == "image" and not content.startswith(b"\x89PNG")):
            return _error(40005, "invalid file type")
        media_id = f"MEDIA{next(self._ids)}"
        self.media[media_id] = {"type": kind, "filename": media.filename, "size": len(content)}
        return JSONResponse({"errcode": 0, "errmsg": "ok", "type": kind, "media_id": media_id,
                             "created_at": str(int(time.time()))})

    async def _robot(self, request: Request) -> JSONResponse:
        """A group robot's webhook: no access token, the key in the query; at most 20 messages a minute per robot
        (beyond: 45009, not delivered); text up to 2,048 bytes, markdown up to 4,096."""
        self.calls.append("webhook/send")
        key = request.query_params.get("key", "")
        with self.lock:
            if key not in self.robots:
                return self._robot_error(key, 93000, "invalid webhook url")
            recent = self._robot_recent.setdefault(key, deque())
            now = time.monotonic()
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= self.robot_per_minute:
                return self._robot_error(key, 45009, "api freq out of limit")
            recent.append(now)  # (WeCom counts the call)
        try:
            body = await request.json()
        except ValueError:
            return self._robot_error(key, 40016, "invalid json")
        kind = body.get("msgtype") if isinstance(body, dict) else None
        if kind not in ("text", "markdown"):
            return self._robot_error(key, 40008, "invalid message type")
        content = (body.get(kind) or {}).get("content")
        if not isinstance(content, str) or not content:
            return self._robot_error(key, 41009, "missing content")
        if len(content.encode()) > (2048 if kind == "text" else 4096):
            return self._robot_error(key, 40058, "content exceed max length")
        with self.lock:
            self.robots[key].append({"msgtype": kind, kind: {"content": content}, "at": now})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    def _robot_error(self, key: str, code: int, message: str) -> JSONResponse:
        self.robot_refused.append((key, code))
        return _error(code, message)

    def robot_texts(self, key: str) -> list[str]:
        """What the group of the robot with this key read, one string per message."""
        with self.lock:
            return [m[m["msgtype"]]["content"] for m in self.robots.get(key, [])]

    def record_click(self, user: str, key: str) -> tuple[str, str]:
        """The task_id and a response_code of the last card user received with a button of this key."""
        for m in reversed(self.to(user)):
            card = m.get("template_card")
            if card and any(b["key"] == key for b in card["button_list"]):
                code = f"RC{next(self._ids)}"
                with self.lock:
                    self.codes[code] = user
                return card["task_id"], code
        raise AssertionError(f"no card with the key {key!r} was sent to {user}")


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


def _readable(m: Params) -> str:
    if m["msgtype"] == "text":
        return str(m["text"]["content"])
    if m["msgtype"] == "template_card":
        card = m["template_card"]
        parts = [card["main_title"]["title"], card.get("sub_title_text", "")]
        return "\n".join(p for p in parts if p) + "\n" + " ".join(f"[{b['text']}]" for b in card["button_list"])
    return f"({m['msgtype']})"


class WeComCallbacks:
    """Posts callbacks to planbot as WeCom does: the message encrypted, the envelope signed."""

    def __init__(self, url: str, crypto: WeComCrypto | None = None, corp_id: str = CORP_ID, *,
                 now: int = 1_539_568_800) -> None:
        self.url, self.corp_id = url, corp_id
        self.now = now  # the envelope's timestamp: WeCom's clock (2018-10-15 10:00 +08:00, the tests' PLANBOT_NOW)
        self.crypto = crypto or WeComCrypto(TOKEN, AES_KEY, corp_id)
        self.http = httpx.AsyncClient(timeout=10)
        self._ids = itertools.count(7_000_000_000_000_000_001)
        self.clock = itertools.count(1_539_568_800)  # CreateTime: one second apart (2018-10-15 10:00 +08:00)

    async def aclose(self) -> None:
        await self.http.aclose()

    def envelope(self, message: dict[str, str], *, timestamp: str | None = None, nonce: str = "1372623149"
                 ) -> tuple[dict[str, str], bytes]:
        """(query, body) of a signed and encrypted callback (timestamp: WeCom's clock, self.now, by default)."""
        timestamp = str(self.now) if timestamp is None else timestamp
        encrypted = self.crypto.encrypt(build(message))
        body = build({"ToUserName": self.corp_id, "AgentID": str(AGENT_ID), "Encrypt": encrypted})
        query = {"msg_signature": self.crypto.sign(timestamp, nonce, encrypted), "timestamp": timestamp,
                 "nonce": nonce}
        return query, body

    async def post(self, message: dict[str, str]) -> httpx.Response:
        """Deliver one message (as WeCom does, and again on a retry)."""
        query, body = self.envelope(message)
        return await self.http.post(self.url, params=query, content=body)

    async def raw(self, query: dict[str, str], body: bytes) -> httpx.Response:
        """Post anything."""
        return await self.http.post(self.url, params=query, content=body)

    def message(self, user: str, kind: str, **fields: str) -> dict[str, str]:
        """A callback message of user (FromUserName) of MsgType kind."""
        out = {"ToUserName": self.corp_id, "FromUserName": user, "CreateTime": str(next(self.clock)),
               "MsgType": kind, "AgentID": str(AGENT_ID)}
        if kind != "event":
            out["MsgId"] = str(next(self._ids))
        return out | fields

    def text(self, user: str, content: str) -> dict[str, str]:
        """A text message."""
        return self.message(user, "text", Content=content)

    def click(self, user: str, key: str, task_id: str, response_code: str) -> dict[str, str]:
        """A template card button press."""
        return self.message(user, "event", Event="template_card_event", EventKey=key, TaskId=task_id,
                            CardType="button_interaction", ResponseCode=response_code)

    async def verify_url(self, echo: str, *, nonce: str = "47744683", timestamp: str = "1476416373"
                         ) -> httpx.Response:
        """The URL-verification GET with echo encrypted as echostr."""
        echostr = self.crypto.encrypt(echo.encode())
        return await self.http.get(self.url, params={"msg_signature": self.crypto.sign(timestamp, nonce, echostr),
                                                     "timestamp": timestamp, "nonce": nonce, "echostr": echostr})
