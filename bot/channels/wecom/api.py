"""A WeCom API client on httpx: the access token cached and refreshed by one caller, messages, cards, media."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.channels.wecom.quota import DailyQuota, Pace
from reminders.dispatch import on_the_wire

log = logging.getLogger(__name__)
DEFAULT_API = "https://qyapi.weixin.qq.com"
TOKEN_ERRORS = {40014, 42001, 41001}  # invalid, expired, missing access_token: fetch a new one once
TOKEN_MARGIN = 300.0  # refresh this many seconds before WeCom says the token expires
CONNECTIONS = 16  # connections to the API at once: calls past them wait for one (pool timeout 30 s)


class WeComApiError(Exception):
    """WeCom answered with a non-zero errcode (HTTP 200 all the same)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"errcode {errcode}: {errmsg[:200]}")
        self.errcode, self.errmsg = errcode, errmsg


class RedactSecrets(logging.Filter):
    """Replaces corpsecret and access_token values (httpx logs request URLs) with *** in log records."""

    PATTERN = re.compile(r"(corpsecret|access_token|key)=[^&\s\"']+")

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without the secrets; never drops a record."""
        message = record.getMessage()
        clean = self.PATTERN.sub(r"\1=***", message)
        for secret in self.secrets:
            clean = clean.replace(secret, "***")
        if clean != message:
            record.msg, record.args = clean, None
        return True


def protect_logs(*secrets: str) -> RedactSecrets:
    """Install the redacting filter on the loggers that see request URLs, and on the root handlers."""
    redact = RedactSecrets(*secrets)
    for name in ("httpx", "httpcore", "uvicorn.access", "uvicorn.error", __name__):
        logging.getLogger(name).addFilter(redact)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact


def new_task_id() -> str:
    """A template card's task_id: unique per card, letters and digits, well under WeCom's 128 bytes."""
    return "pb" + uuid.uuid4().hex


class WeComClient:
    """Calls the WeCom API for one self-built app (corp id, secret, agent id)."""

    def __init__(self, corp_id: str, secret: str, agent_id: int, base_url: str = DEFAULT_API, *,
                 timeout: float = 10.0, connections: int = CONNECTIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.corp_id, self._secret, self.agent_id, self.clock = corp_id, secret, agent_id, clock
        self.http = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout, pool=30.0),
                                      limits=httpx.Limits(max_connections=connections,
                                                          max_keepalive_connections=connections))
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0
        self.pace: Pace | None = None  # the app's global pace of message/send calls (quota.py)
        self.quota: DailyQuota | None = None  # counts every message WeCom took today (quota.py)

    def __repr__(self) -> str:  # never the secret or the token
        return f"WeComClient(corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()

    async def token(self, stale: str | None = None) -> str:
        """The cached access token; fetched when missing, near expiry or equal to stale (one fetch at a time)."""
        if self._token is not None and self._token != stale and self.clock() < self._expires:
            return self._token
        async with self._lock:  # callers queued here find the token the first one fetched
            if self._token is not None and self._token != stale and self.clock() < self._expires:
                return self._token
            response = await self.http.get("/cgi-bin/gettoken", params={"corpid": self.corp_id,
                                                                        "corpsecret": self._secret})
            data = answer_of(response)
            self.token_fetches += 1
            self._token = str(data["access_token"])
            self._expires = self.clock() + max(60.0, float(data.get("expires_in", 7200)) - TOKEN_MARGIN)
            return self._token

    async def call(self, path: str, *, json: dict[str, Any] | None = None, params: dict[str, str] | None = None,
                   files: dict[str, tuple[str, bytes, str]] | None = None, wire: bool = False) -> dict[str, Any]:
        """POST to path with the access token; WeComApiError for a non-zero errcode (the token refetched once).
        With wire, the outbox row being dispatched (if any) is marked 'sending' as the request starts to leave."""
        token = await self.token()
        extensions = {"trace": _trace_wire} if wire else None
        for attempt in (1, 2):
            response = await self.http.post(path, params={**(params or {}), "access_token": token}, json=json,
                                            files=files, extensions=extensions)
            try:
                return answer_of(response)
            except WeComApiError as e:
                if e.errcode not in TOKEN_ERRORS or attempt == 2:
                    raise
                token = await self.token(stale=token)  # revoked early: fetch a new one, once
        raise AssertionError("unreachable")

    async def send(self, touser: str, msgtype: str, body: dict[str, Any], *, dedupe: bool = False
                   ) -> dict[str, Any]:
        """message/send to one member; the answer (msgid, response_code for cards)."""
        payload: dict[str, Any] = {"touser": touser, "msgtype": msgtype, "agentid": self.agent_id, msgtype: body}
        if dedupe:  # an identical message within 30 minutes is dropped by WeCom: a guard after a retried send
            payload |= {"enable_duplicate_check": 1, "duplicate_check_interval": 1800}
        if self.pace is not None:
            await self.pace.wait()
        answer = await self.call("/cgi-bin/message/send", json=payload, wire=True)
        if self.quota is not None:
            self.quota.count()
        invalid = {u for u in str(answer.get("invaliduser") or "").split("|") if u}
        if touser.lower() in invalid:
            raise WeComApiError(81013, "invaliduser")
        return answer

    async def send_text(self, touser: str, text: str, *, dedupe: bool = False) -> dict[str, Any]:
        """A text message (WeCom truncates past 2,048 bytes: the caller splits long texts)."""
        return await self.send(touser, "text", {"content": text}, dedupe=dedupe)

    async def send_card(self, touser: str, title: str, text: str, buttons: list[tuple[str, str]], *,
                        task_id: str | None = None, dedupe: bool = False) -> dict[str, Any]:
        """A button_interaction template card: title, text, buttons as (label, key); task_id unique per card."""
        card: dict[str, Any] = {
            "card_type": "button_interaction", "task_id": task_id or new_task_id(),
            "main_title": {"title": title},
            "button_list": [{"text": label, "style": 1, "key": key} for label, key in buttons],
        }
        if text:
            card["sub_title_text"] = text
        return await self.send(touser, "template_card", card, dedupe=dedupe)

    async def update_card(self, userid: str, response_code: str, replace_name: str) -> None:
        """Grey out a card's buttons (the response_code of its click or send; single use)."""
        await self.call("/cgi-bin/message/update_template_card",
                        json={"userids": [userid], "agentid": self.agent_id, "response_code": response_code,
                              "button": {"replace_name": replace_name}})

    async def upload(self, path: Path, kind: str) -> str:
        """media/upload a file (kind image or file); its media_id (valid 3 days)."""
        mime = "image/png" if kind == "image" else "application/octet-stream"
        answer = await self.call("/cgi-bin/media/upload", params={"type": kind},
                                 files={"media": (path.name, path.read_bytes(), mime)})
        return str(answer["media_id"])

    async def send_media(self, touser: str, path: Path, kind: str) -> dict[str, Any]:
        """Upload path and send it as an image or file message."""
        media_id = await self.upload(path, kind)
        return await self.send(touser, kind, {"media_id": media_id})


async def _trace_wire(event: str, info: dict[str, Any]) -> None:
    """httpcore's trace hook on a message/send request: when its first bytes are about to be written (the wait for
    a connection and the connecting are over), the outbox row being dispatched is marked 'sending'
    (reminders.dispatch.on_the_wire), so a crash while it only waited leaves the row claimed: it never left."""
    if event.endswith(".send_request_headers.started"):
        await on_the_wire()


def answer_of(response: httpx.Response) -> dict[str, Any]:
    """The JSON answer; httpx.HTTPStatusError for a non-2xx status, WeComApiError for a non-zero errcode."""
    response.raise_for_status()
    try:
        data = response.json()
    except ValueError:
        raise WeComApiError(-2, "answer is not JSON") from None
    if not isinstance(data, dict):
        raise WeComApiError(-2, "answer is not a JSON object")
    code = data.get("errcode", 0)
    if code:
        raise WeComApiError(int(code), str(data.get("errmsg", "")))
    return data
