"""HTTP transports for the Bot API: LeanRequest (plain HTTP/1.1 over asyncio streams) and ShardedRequest (httpx)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

DEFAULT_NONE: Any = BaseRequest.DEFAULT_NONE
_DefaultValue = type(BaseRequest.DEFAULT_NONE)  # PTB's marker for "not given: use your own default"


class NotSent(Exception):
    """LeanRequest: the request did not leave (no free connection in time, or no connection made)."""


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


_Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]  # reader, writer, idle since (loop time)
_HOLDING: ContextVar[object | None] = ContextVar("lean_request_holding", default=None)


class LeanRequest(BaseRequest):
    """Bot API calls with form-encoded parameters as plain HTTP/1.1 over asyncio streams, connections kept alive:
    about a tenth of httpx's CPU per request (PTB itself costs 0.07 ms a message; httpx + httpcore + anyio ~0.9 ms).
    What it does not do itself it hands to `fallback` (a ShardedRequest): file uploads, GET downloads, and every
    request when a proxy is configured in the environment (httpx honours those).

    Errors: no free connection within pool_timeout, or a failed or timed-out connect, raise TimedOut / NetworkError
    caused by NotSent (the request never left); a write or read that fails or times out after a request was sent
    raises TimedOut: Telegram may have taken the message, so its outcome is unknown.
    """

    KEEP_IDLE = 5.0  # seconds an idle connection is kept (as httpx)

    def __init__(self, connections: int = 16, *, read_timeout: float | None = 5.0, write_timeout: float | None = 5.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 5.0,
                 fallback: BaseRequest | None = None) -> None:
        self._timeouts = {"read": read_timeout, "write": write_timeout, "connect": connect_timeout,
                          "pool": pool_timeout}
        self._gate = asyncio.Semaphore(connections)
        self._idle: dict[tuple[str, str, int], list[_Stream]] = {}
        self._open: set[asyncio.StreamWriter] = set()
        self.fallback = fallback or ShardedRequest(2, 4, read_timeout=read_timeout, write_timeout=write_timeout,
                                                   connect_timeout=connect_timeout, pool_timeout=pool_timeout)
        self.opened = 0  # connections made, for tests and benchmarks
        self._ssl: ssl.SSLContext | None = None
        self._proxied = bool({k.lower() for k in os.environ} & {"http_proxy", "https_proxy", "all_proxy"})

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout."""
        return self._timeouts["read"]

    async def initialize(self) -> None:
        """Open the fallback's clients."""
        await self.fallback.initialize()

    async def shutdown(self) -> None:
        """Close every connection and the fallback."""
        for writer in list(self._open):
            writer.close()
        self._open.clear()
        self._idle.clear()
        await self.fallback.shutdown()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = DEFAULT_NONE, write_timeout: Any = DEFAULT_NONE,
                         connect_timeout: Any = DEFAULT_NONE, pool_timeout: Any = DEFAULT_NONE) -> tuple[int, bytes]:
        """POST the parameters form-encoded (as PTB's HTTPXRequest does); return the status and the body."""
        parts = urlsplit(url)
        if (method != "POST" or self._proxied or parts.scheme not in ("http", "https") or not parts.hostname
                or (request_data is not None and request_data.contains_files)):
            return await self.fallback.do_request(url, method, request_data, read_timeout, write_timeout,
                                                  connect_timeout, pool_timeout)
        limits = {name: self._timeouts[name] if isinstance(given, _DefaultValue) else given
                  for name, given in (("read", read_timeout), ("write", write_timeout), ("connect", connect_timeout),
                                      ("pool", pool_timeout))}
        body = request_data.url_encoded_parameters().encode() if request_data is not None else b""
        https = parts.scheme == "https"
        origin = (parts.scheme, parts.hostname, parts.port or (443 if https else 80))
        head = (f"POST {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\n"
                f"Host: {parts.netloc}\r\nUser-Agent: {self.USER_AGENT}\r\nAccept: */*\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        async with self.connection(limits["pool"]):
            return await self._exchange(origin, head + body, limits)

    @contextlib.asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[None]:
        """Hold one of the `connections` permits for the rest of this task's block (requests made inside it use
        it). FloodLimiter takes one before its pacing slot (see sending_bot), so that requests waiting for a
        connection do not hold slots and then leave together when a slow server catches up. `timeout`: raise
        TimedOut (the request was not sent) if none is free within it; None waits as long as it takes."""
        if _HOLDING.get() is self:
            yield
            return
        try:
            async with asyncio.timeout(timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise TimedOut("Pool timeout: no free connection; the request was not sent") from NotSent()
        token = _HOLDING.set(self)
        try:
            yield
        finally:
            _HOLDING.reset(token)
            self._gate.release()

    async def _exchange(self, origin: tuple[str, str, int], request: bytes, limits: dict[str, float | None]) -> tuple[
            int, bytes]:
        """Send one request on a kept-alive or new connection and read the answer."""
        reader, writer = await self._connection(origin, limits["connect"])
        try:
            async with asyncio.timeout(limits["write"]):
                writer.write(request)
                await writer.drain()
            async with asyncio.timeout(limits["read"]):
                status, payload, keep = await self._response(reader)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as e:
            self._close(writer)
            raise TimedOut(f"{type(e).__name__} after the request was sent: outcome unknown") from e
        except BaseException:  # cancelled mid-request: the connection is in an unknown state
            self._close(writer)
            raise
        if keep:
            self._idle.setdefault(origin, []).append((reader, writer, asyncio.get_running_loop().time()))
        else:
            self._close(writer)
        return status, payload

    async def _connection(self, origin: tuple[str, str, int], timeout: float | None) -> tuple[
            asyncio.StreamReader, asyncio.StreamWriter]:
        """An idle kept-alive connection to origin (the newest that the server has not closed), or a new one."""
        idle, now = self._idle.get(origin), asyncio.get_running_loop().time()
        while idle:
            reader, writer, since = idle.pop()
            if not reader.at_eof() and not writer.is_closing() and now - since < self.KEEP_IDLE:
                return reader, writer
            self._close(writer)
        scheme, host, port = origin
        try:
            async with asyncio.timeout(timeout):
                tls = self._tls() if scheme == "https" else None
                reader, writer = await asyncio.open_connection(host, port, ssl=tls)
        except TimeoutError:
            raise TimedOut("Connect timeout: the request was not sent") from NotSent()
        except OSError as e:
            raise NetworkError(f"connecting to {host}:{port} failed: {e}") from NotSent()
        self.opened += 1
        self._open.add(writer)
        return reader, writer

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:  # loading the CA certificates takes milliseconds: once
            self._ssl = ssl.create_default_context()
        return self._ssl

    @staticmethod
    async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
        """Read one response: status, body, and whether the connection may be reused."""
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        version, status = lines[0][:8], int(lines[0][9:12])
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        keep = "close" not in headers.get("connection", "").lower() and version == "HTTP/1.1"
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readexactly(2)
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return status, b"".join(chunks), keep
        if "content-length" in headers:
            return status, await reader.readexactly(int(headers["content-length"])), keep
        if status in (204, 304) or 100 <= status < 200:
            return status, b"", keep
        return status, await reader.read(), False  # the body runs to the end of the connection

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()
