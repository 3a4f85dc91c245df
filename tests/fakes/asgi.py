"""Serve any ASGI app over real HTTP on 127.0.0.1 from a background thread (for fakes and test receivers)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn
from starlette.types import ASGIApp


class AsgiServer:
    """Any ASGI app served by uvicorn on 127.0.0.1 (a free port) in a background thread with its own event loop."""

    def __init__(self, app: ASGIApp) -> None:
        self.app, self.port, self.url = app, 0, ""
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> AsgiServer:
        # proto=IPPROTO_TCP: only then does asyncio set TCP_NODELAY on accepted connections (else +40 ms per call)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", ws="none", loop="asyncio",
            interface="asgi3", timeout_graceful_shutdown=1))
        self.loop = loop = asyncio.new_event_loop()

        def run() -> None:
            try:
                loop.run_until_complete(server.serve(sockets=[sock]))
            finally:
                sock.close()
                loop.close()

        self._thread = threading.Thread(target=run, name=f"asgi-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> AsgiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
