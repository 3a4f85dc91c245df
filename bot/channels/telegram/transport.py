"""HTTP transports for the Bot API behind PTB's BaseRequest: AiohttpRequest (aiohttp) and ShardedRequest (httpx)."""

from __future__ import annotations

import asyncio
import os
import socket
from contextvars import ContextVar, Token
from typing import Any

import aiohttp
import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot.channels.shared.redaction import RedactToken

DEFAULT_NONE: Any = BaseRequest.DEFAULT_NONE
_DefaultValue = type(BaseRequest.DEFAULT_NONE)  # PTB's marker for "not given: use your own default"


class NotSent(Exception):
    """The cause of a TimedOut or NetworkError when the request did not leave (no free connection in time, or no
    connection made): safe to send again."""


class OutcomeUnknown(Exception):
    """The cause of a TimedOut when the request may have reached the server (it failed or timed out once sent)."""


class FormBody:
    """A request's parameters already form-encoded (application/x-www-form-urlencoded), handed to
    AiohttpRequest.do_request through PTB's BaseRequest.post in place of a RequestData: PTB still maps the answer
    (status, JSON, errors), without building its parameter objects. See TelegramSender's bulk sendMessage."""

    __slots__ = ("body",)
    contains_files = False

    def __init__(self, body: bytes) -> None:
        self.body = body

    def url_encoded_parameters(self) -> str:
        """The body as text (what RequestData gives)."""
        return self.body.decode()


PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "ws_proxy", "wss_proxy"})


class ShardedRequest(BaseRequest):
    """Bot API requests spread over several small httpx connection pools, each request to the least busy one.

    httpcore scans every connection of its pool (and polls each idle socket) whenever a request starts or ends, so
    the CPU cost per request grows with the pool's size; several pools of a few connections each give as many
    connections in all at a fraction of that cost. Idle connections are kept alive (httpx keeps only 20 by
    default, so a larger pool would reconnect over and over). Requests beyond shards x connections wait in a
    semaphore, which costs nothing per waiting request, rather than in httpcore's queue, which is rescanned.
    """

    def __init__(self, shards: int = 4, connections: int = 8, *, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 5.0) -> None:
        if shards < 1 or connections < 1:
            raise ValueError("shards and connections must be at least 1")
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.shards = [HTTPXRequest(connection_pool_size=connections, read_timeout=read_timeout,
                                    write_timeout=write_timeout, connect_timeout=connect_timeout,
                                    pool_timeout=pool_timeout, httpx_kwargs={"limits": limits})
                       for _ in range(shards)]
        self.busy = [0] * shards
        self._gate = asyncio.Semaphore(shards * connections)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (that of every shard)."""
        return self.shards[0].read_timeout

    async def initialize(self) -> None:
        """Open every shard's client."""
        for shard in self.shards:
            await shard.initialize()

    async def shutdown(self) -> None:
        """Close every shard's client."""
        for shard in self.shards:
            await shard.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
                         connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE) -> tuple[int, bytes]:
        """Send through the shard with the fewest requests in flight."""
        async with self._gate:
            i = min(range(len(self.busy)), key=self.busy.__getitem__)
            self.busy[i] += 1
            try:
                return await self.shards[i].do_request(url, method, request_data, read_timeout, write_timeout,
                                                       connect_timeout, pool_timeout)
            finally:
                self.busy[i] -= 1



_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_HOLDING: ContextVar[object | None] = ContextVar("aiohttp_request_holding", default=None)


def _clean(error: BaseException) -> str:
    """The error's class and message, with any bot token (aiohttp puts the URL in some messages) taken out."""
    return f"aiohttp.{type(error).__name__}: " + RedactToken.PATTERN.sub("bot***", str(error))


class AiohttpRequest(BaseRequest):
    """Bot API requests over one aiohttp ClientSession (HTTP parsed in C, connections kept alive in its pool).

    `connections` requests are in flight at once, each on a connection of the pool; the others wait for a permit
    (connection()), at most pool_timeout. Proxies from the environment (HTTP(S)_PROXY, NO_PROXY) are honoured; TLS,
    chunked bodies, keep-alive and uploads are aiohttp's. Timeouts: connect_timeout for making a connection,
    read_timeout between reads of the answer, and at most connect + write + read for the whole exchange (aiohttp
    has no write timeout of its own).

    Errors: no free connection within pool_timeout, or a failed or timed-out connect, raise TimedOut / NetworkError
    caused by NotSent (the request never left); anything that fails once the request was sent raises TimedOut
    caused by OutcomeUnknown: Telegram may have taken the message. No message or cause carries the bot token.
    """

    KEEP_IDLE = 5.0  # seconds an idle connection is kept (httpx's default; Telegram closes idle ones later)

    def __init__(self, connections: int = 16, *, read_timeout: float | None = 5.0, write_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 5.0) -> None:
        if connections < 1:
            raise ValueError("connections must be at least 1")
        self.connections = connections
        self._timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                          "pool": pool_timeout}
        self._default_timeout = self._client_timeout(read_timeout, write_timeout, connect_timeout)
        self._gate = asyncio.Semaphore(connections)
        self._session: aiohttp.ClientSession | None = None
        self.opened = 0  # connections made, for tests and benchmarks

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout."""
        return self._timeouts["read"]

    @staticmethod
    def _client_timeout(read: float | None, write: float | None, connect: float | None) -> aiohttp.ClientTimeout:
        total = None if None in (read, write, connect) else (read or 0) + (write or 0) + (connect or 0)
        return aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)

    def _socket(self, addr_info: Any) -> socket.socket:
        """aiohttp's socket factory: a plain socket, counted."""
        family, kind, proto, _, _ = addr_info
        self.opened += 1
        return socket.socket(family=family, type=kind, proto=proto)

    async def initialize(self) -> None:
        """Open the session (again, after a shutdown); proxies are read from the environment now."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=self.KEEP_IDLE,
                                             socket_factory=self._socket)
            proxied = bool({k.lower() for k in os.environ} & PROXY_VARIABLES)  # aiohttp reads them per request
            self._session = aiohttp.ClientSession(connector=connector, trust_env=proxied,
                                                  headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    @property
    def proxied(self) -> bool:
        """True if the session takes its proxy from the environment."""
        return self._session is not None and self._session.trust_env

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
                         connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE) -> tuple[int, bytes]:
        """Send the parameters form-encoded, or as multipart with files (as PTB's HTTPXRequest); status and body."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized")
        given = (read_timeout, write_timeout, connect_timeout)
        if all(isinstance(t, _DefaultValue) for t in given):
            timeout = self._default_timeout
        else:
            timeout = self._client_timeout(*(self._timeouts[name] if isinstance(t, _DefaultValue) else t
                                             for name, t in zip(("read", "write", "connect"), given, strict=True)))
        data: aiohttp.FormData | bytes | None = None
        headers = None
        if isinstance(request_data, FormBody):
            data, headers = request_data.body, _FORM
        elif request_data is not None and request_data.contains_files:
            form = aiohttp.FormData(request_data.json_parameters)
            for name, (filename, content, mimetype) in request_data.multipart_data.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        elif request_data is not None:
            data = request_data.url_encoded_parameters().encode()
            headers = _FORM
        async with self.connection(self._timeouts["pool"] if isinstance(pool_timeout, _DefaultValue) else
                                   pool_timeout):
            try:
                async with session.request(method, url, data=data, headers=headers, timeout=timeout) as response:
                    return response.status, await response.read()
            except aiohttp.ConnectionTimeoutError as e:
                raise TimedOut("Connect timeout: the request was not sent") from NotSent(_clean(e))
            except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as e:
                raise NetworkError(f"no connection: {_clean(e)}") from NotSent(_clean(e))
            except (aiohttp.ClientError, TimeoutError) as e:
                raise TimedOut(f"{_clean(e)} after the request was sent: outcome unknown") from OutcomeUnknown(
                    _clean(e))

    def connection(self, timeout: float | None = None) -> _Permit:
        """Hold one of the `connections` permits for the rest of this task's block (requests made inside it use
        it). FloodLimiter takes one before its pacing slot (see sending_bot), so that requests waiting for a
        connection do not hold slots and then leave together when a slow server catches up. `timeout`: raise
        TimedOut (the request was not sent) if none is free within it; None waits as long as it takes."""
        return _Permit(self, timeout)


class _Permit:
    """AiohttpRequest.connection()'s context (a class, not a generator: it is entered twice per bulk send)."""

    __slots__ = ("request", "timeout", "token")

    def __init__(self, request: AiohttpRequest, timeout: float | None) -> None:
        self.request, self.timeout = request, timeout
        self.token: Token[object | None] | None = None

    async def __aenter__(self) -> None:
        request = self.request
        if _HOLDING.get() is request:  # this task holds one already
            return
        gate = request._gate
        if not gate.locked():  # a permit is free: no timer to set (acquire() returns at once)
            await gate.acquire()
        else:
            try:
                async with asyncio.timeout(self.timeout):
                    await gate.acquire()
            except TimeoutError:
                raise TimedOut("Pool timeout: no free connection; the request was not sent") from NotSent()
        self.token = _HOLDING.set(request)

    async def __aexit__(self, *exc: object) -> None:
        if self.token is not None:
            _HOLDING.reset(self.token)
            self.token = None
            self.request._gate.release()
