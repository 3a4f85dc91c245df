"""The WeCom channel over real HTTP on 127.0.0.1: signed, encrypted callbacks in; the fake WeCom API out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from bot.bootstrap import App, bootstrap
from bot.channels.wecom.channel import WeComChannel
from bot.channels.wecom.run import serving
from bot.config import Settings
from bot.db.chat_models import InboxRow
from bot.inbox import Inbox
from fakes import FakeWeComApi, WeComCallbacks
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN
from support import figures, invite

pytestmark = pytest.mark.asyncio
NOW = "2018-10-15T10:00:00+08:00"


@pytest.fixture
def wecom_api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi() as api:
        yield api


@pytest.fixture
def wecom_env(env: dict[str, str], wecom_api: FakeWeComApi) -> dict[str, str]:
    """The test environment with WeCom configured with Tencent's sample values and pointed at the fake API."""
    return dict(env, PLANBOT_NOW=NOW, WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=str(AGENT_ID), WECOM_SECRET=SECRET,
                WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, WECOM_API_URL=wecom_api.url,
                PLANBOT_WECOM_LISTEN="127.0.0.1:0")


@pytest.fixture
def wc_app(wecom_env: dict[str, str]) -> Iterator[App]:
    app = bootstrap(Settings.from_env(wecom_env))
    yield app
    app.close()


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


@pytest_asyncio.fixture
async def wecom(wc_app: App, wecom_api: FakeWeComApi) -> AsyncIterator[Served]:
    channel = WeComChannel(wc_app)
    await channel.start()
    async with serving(channel, "127.0.0.1:0") as port:
        callbacks = WeComCallbacks(f"http://127.0.0.1:{port}/wecom")
        yield Served(channel, callbacks, wecom_api)
        await callbacks.aclose()
    await channel.stop()


def inbox_rows(app: App) -> int:
    with app.uow() as s:
        return int(s.scalar(select(func.count()).select_from(InboxRow).where(InboxRow.channel == "wecom")) or 0)


async def test_url_verification_answers_the_exact_plaintext_of_tencents_sample(wecom: Served) -> None:
    # Tencent's published GET, as WeCom sends it: echostr URL-encoded once (its + and / escaped)
    query = ("msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373&nonce=47744683&echostr="
             "fsi1xnbH4yQh0%2BPJxcOdhhK6TDXkjMyhEPA7xB2TGz6b%2Bg7xyAbEkRxN%2F3cNXW9qdqjnoVzEtpbhnFyq6SVHyA%3D%3D")
    response = await wecom.callbacks.http.get(f"{wecom.callbacks.url}?{query}")
    assert response.status_code == 200 and response.content == b"1288432023552776189"
    mine = await wecom.callbacks.verify_url("4391281905375428")
    assert mine.status_code == 200 and mine.content == b"4391281905375428"
    decoded_twice = query.replace("%2B", "+")  # + decoded to a space: the signature no longer matches
    assert (await wecom.callbacks.http.get(f"{wecom.callbacks.url}?{decoded_twice}")).status_code == 403


async def test_a_clerks_full_report_with_a_card_click(wecom: Served, wc_app: App) -> None:
    alice = wecom.member("alice")
    assert "盘山县人民政府" in await alice.say(invite(wc_app, "contact", "panshan"))
    menu = await alice.say("填报")
    assert "[1] 高新技术企业总数" in menu  # seven indicators: more than a card holds, so numbered choices
    assert "2018Q3" in await alice.say("1")
    confirm = await alice.say("12家")
    assert "12家" in confirm and "[确认" in confirm  # the confirmation is a card with buttons
    click = alice.click("确认")
    saved = "\n".join(await alice.deliver(click))
    assert "12家" in saved and "科技型中小企业" in saved  # saved, and the next indicator asked
    assert figures(wc_app) == [("2018Q3", Decimal(12), "wecom")]
    assert len(wecom.api.updated) == 1 and wecom.api.updated[0]["button"]["replace_name"] == "已选择"
    # WeCom delivers the same click again (no answer within 5 s): no second effect, no second message
    before = len(wecom.api.to("alice"))
    assert await alice.deliver(click) == []
    assert len(wecom.api.to("alice")) == before and len(wecom.api.updated) == 1
    assert figures(wc_app) == [("2018Q3", Decimal(12), "wecom")]
    assert Inbox(wc_app.uow, "wecom").pending() == []


async def test_a_redelivered_text_message_has_no_second_effect(wecom: Served, wc_app: App) -> None:
    alice = wecom.member("alice")
    await alice.say(invite(wc_app, "contact", "panshan"))
    message = wecom.callbacks.text("alice", "高新技术企业 12家")
    assert "12家" in "\n".join(await alice.deliver(message))
    await alice.press("确认")
    assert await alice.deliver(message) == []  # the same MsgId again
    assert figures(wc_app) == [("2018Q3", Decimal(12), "wecom")]


async def test_pictures_voice_files_and_locations_get_please_send_text(wecom: Served, wc_app: App) -> None:
    bob = wecom.member("bob")
    for kind, fields in (("image", {"PicUrl": "http://127.0.0.1/x.png", "MediaId": "m1"}),
                         ("voice", {"MediaId": "m2", "Format": "amr"}), ("file", {"MediaId": "m3"}),
                         ("location", {"Location_X": "41.1", "Location_Y": "122.0", "Scale": "15", "Label": "盘锦"})):
        answer = await bob.deliver(wecom.callbacks.message("bob", kind, **fields))
        assert answer == ["请发送文字消息，暂不支持图片、语音或表情。"], kind
    hello = await bob.deliver(wecom.callbacks.message("bob", "event", Event="enter_agent", EventKey=""))
    assert "邀请码" in "\n".join(hello)  # opening the app: the greeting
    assert await bob.deliver(wecom.callbacks.message("bob", "event", Event="view", EventKey="x")) == []
