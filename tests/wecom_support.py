"""Test helpers of the WeCom tests: the channel served on 127.0.0.1, and members who talk to it through callbacks."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.app import App
from bot.channels.wecom.channel import WeComChannel
from bot.channels.wecom.run import serving
from fakes import FakeWeComApi, WeComCallbacks
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wecom_vars(api_url: str, listen: str) -> dict[str, str]:
    """The environment that configures WeCom with Tencent's sample values, its API at api_url, its callback on
    listen (HOST:PORT)."""
    return {"WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": str(AGENT_ID), "WECOM_SECRET": SECRET,
            "WECOM_TOKEN": TOKEN, "WECOM_AES_KEY": AES_KEY, "WECOM_API_URL": api_url,
            "PLANBOT_WECOM_LISTEN": listen}


def wait_listening(port: int, proc: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Block until `planbot run` (proc) answers GET /healthz on port; AssertionError if it ends or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "planbot run did not start"
            time.sleep(0.05)


@dataclass
class Served:
    channel: WeComChannel
    callbacks: WeComCallbacks
    api: FakeWeComApi

    def member(self, user: str) -> Member:
        return Member(self, user)


@dataclass
class Member:
    """One WeCom member talking to planbot: each call waits until planbot has handled it and answered."""

    served: Served
    user: str

    async def deliver(self, message: dict[str, str]) -> list[str]:
        api = self.served.api
        before = len(api.to(self.user))
        response = await self.served.callbacks.post(message)
        assert response.status_code == 200 and response.content == b""
        await self.served.channel.drain()
        return api.texts(self.user)[before:]

    async def say(self, text: str) -> str:
        return "\n".join(await self.deliver(self.served.callbacks.text(self.user, text)))

    def key(self, label_part: str) -> str:
        for m in reversed(self.served.api.to(self.user)):
            if card := m.get("template_card"):
                for b in card["button_list"]:
                    if label_part in b["text"]:
                        return str(b["key"])
        raise AssertionError(f"no button {label_part!r} was sent to {self.user}")

    def click(self, label_part: str) -> dict[str, str]:
        key = self.key(label_part)
        task_id, code = self.served.api.record_click(self.user, key)
        return self.served.callbacks.click(self.user, key, task_id, code)

    async def press(self, label_part: str) -> str:
        return "\n".join(await self.deliver(self.click(label_part)))


@asynccontextmanager
async def served(app: App, api: FakeWeComApi, db_processes: int | None = None) -> AsyncIterator[Served]:
    """The WeCom channel of app, its callback served on a free port, and a WeCom that posts to it (the router in
    db_processes processes: None as in production, 0 on the channel's threads)."""
    channel = WeComChannel(app, db_processes=db_processes)
    await channel.start()
    try:
        async with serving(channel, "127.0.0.1:0") as port:
            callbacks = WeComCallbacks(f"http://127.0.0.1:{port}/wecom")
            try:
                yield Served(channel, callbacks, api)
            finally:
                await callbacks.aclose()
    finally:
        await channel.stop()
