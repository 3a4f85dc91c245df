"""The WeCom channel over real HTTP on 127.0.0.1: signed, encrypted callbacks in; the fake WeCom API out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from wecom_support import Served, served

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.wecom.channel import WeComChannel, update_id
from bot.channels.wecom.crypto import WeComCrypto
from bot.config import Settings
from bot.db.chat_models import InboxRow
from bot.db.inbox import Inbox
from fakes import FakeWeComApi, WeComCallbacks
from fakes.wecom_api import AES_KEY, CORP_ID, TOKEN
from support import figures, invite, write_locked

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def wecom(wc_app: App, wecom_api: FakeWeComApi) -> AsyncIterator[Served]:
    async with served(wc_app, wecom_api) as running:
        yield running


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


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b"]><xml><Encrypt>&lol9;</Encrypt></xml>")
EXTERNAL = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>'


async def test_hostile_callbacks_get_a_4xx_and_leave_nothing_behind(wecom: Served, wc_app: App,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    cb = wecom.callbacks
    good = cb.text("mallory", "高新技术企业 12家")
    query, body = cb.envelope(good)
    forged = WeComCallbacks(cb.url, WeComCrypto("not-the-token", AES_KEY, CORP_ID))
    other_corp = WeComCallbacks(cb.url, WeComCrypto(TOKEN, AES_KEY, "ww_another_corp"))
    other_key = WeComCallbacks(cb.url, WeComCrypto(TOKEN, "a" * 43, CORP_ID))
    try:
        cases: list[tuple[str, int, dict[str, str], bytes]] = [
            ("bad signature", 403, dict(query, msg_signature="0" * 40), body),
            ("signed with another token", 403, *forged.envelope(good)),
            ("another corp's receiveid", 403, *other_corp.envelope(good)),
            ("another app's AES key", 400, *other_key.envelope(good)),
            ("no signature", 400, {k: v for k, v in query.items() if k != "msg_signature"}, body),
            ("not XML", 400, query, b"{'json': true}"),
            ("malformed XML", 400, query, b"<xml><Encrypt>abc</xml>"),
            ("no Encrypt", 400, query, b"<xml><ToUserName>x</ToUserName></xml>"),
            ("oversized", 413, query, b"<xml><Encrypt>" + b"A" * 200_000 + b"</Encrypt></xml>"),
            ("billion laughs", 400, query, BILLION_LAUGHS),
            ("external entity", 400, query, EXTERNAL),
            ("non-UTF-8 tail", 400, query, body.replace(b"</xml>", b"\xff\xfe</xml>")),
        ]
        for name, bad_inner in (("inner billion laughs", BILLION_LAUGHS), ("inner external entity", EXTERNAL),
                                ("inner not UTF-8", b"<xml><Content>\xff\xfe\xfd</Content></xml>"),
                                ("inner without sender", b"<xml><MsgType>text</MsgType></xml>")):
            encrypted = cb.crypto.encrypt(bad_inner)
            fresh = str(cb.now)
            signed = {"msg_signature": cb.crypto.sign(fresh, "2", encrypted), "timestamp": fresh, "nonce": "2"}
            cases.append((name, 400, signed, b"<xml><Encrypt>" + encrypted.encode() + b"</Encrypt></xml>"))
        for name, skew in (("replayed 6 minutes later", -360), ("6 minutes ahead", 360), ("a day old", -86_400)):
            replayed = cb.envelope(cb.text("mallory", "高新技术企业 12家"), timestamp=str(cb.now + skew))
            cases.append((name, 403, *replayed))
        cases.append(("timestamp not a number", 400, *cb.envelope(good, timestamp="1539568800.5")))
        for name, status, q, b in cases:
            response = await cb.raw(q, b)
            assert response.status_code == status, name
        for params in ({"msg_signature": "x", "timestamp": "1", "nonce": "2", "echostr": "bm90IGFlcw=="},
                       {"timestamp": "1", "nonce": "2", "echostr": "x"}):
            assert (await cb.http.get(cb.url, params=params)).status_code in (400, 403)
    finally:
        await forged.aclose()
        await other_corp.aclose()
        await other_key.aclose()
    await wecom.channel.drain()
    assert inbox_rows(wc_app) == 0 and wecom.api.delivered == []
    assert "Traceback" not in caplog.text and TOKEN not in caplog.text and AES_KEY not in caplog.text


async def test_a_message_stored_before_a_crash_is_handled_on_the_next_start(wc_app: App,
                                                                           wecom_api: FakeWeComApi) -> None:
    callbacks = WeComCallbacks("http://127.0.0.1:1/unused")
    message = callbacks.text("alice", invite(wc_app, "contact", "panshan"))
    Inbox(wc_app.uow, "wecom").store([(update_id(message), message)], wc_app.clock.now())  # stored, then died
    channel = WeComChannel(wc_app)
    await channel.start()
    await channel.drain()
    await channel.stop()
    await callbacks.aclose()
    assert "盘山县人民政府" in wecom_api.texts("alice")[0]
    assert Inbox(wc_app.uow, "wecom").pending() == []


async def test_a_message_that_cannot_be_stored_gets_503_so_wecom_delivers_it_again(
        wecom_env: dict[str, str], wecom_api: FakeWeComApi) -> None:
    url = wecom_env["PLANBOT_DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    app = bootstrap(Settings.from_env(dict(wecom_env, PLANBOT_DATABASE_URL=url + "?timeout=0.2")))
    try:
        code = invite(app, "contact", "panshan")
        async with served(app, wecom_api, db_processes=0) as running:
            message = running.callbacks.text("alice", code)
            async with write_locked(url.split("///", 1)[1], 1.0):
                refused = await running.callbacks.post(message)
            assert refused.status_code == 503 and inbox_rows(app) == 0  # not stored: not acknowledged
            assert "盘山县人民政府" in "\n".join(await running.member("alice").deliver(message))  # WeCom's retry
    finally:
        app.close()


async def test_a_late_retry_within_the_window_is_taken_and_the_window_is_configurable(
        wecom_env: dict[str, str], wecom_api: FakeWeComApi) -> None:
    app = bootstrap(Settings.from_env(dict(wecom_env, WECOM_CALLBACK_MAX_AGE="120")))
    try:
        code = invite(app, "contact", "panshan")
        async with served(app, wecom_api, db_processes=0) as running:
            cb = running.callbacks
            stale = await cb.raw(*cb.envelope(cb.text("alice", code), timestamp=str(cb.now - 180)))
            assert stale.status_code == 403 and inbox_rows(app) == 0  # 3 minutes: past this app's 2
            late = cb.text("alice", code)  # WeCom's retry of a message first sent 100 s ago
            query, body = cb.envelope(late, timestamp=str(cb.now - 100))
            assert (await cb.raw(query, body)).status_code == 200
            await running.channel.drain()
            assert "盘山县人民政府" in wecom_api.texts("alice")[0]
    finally:
        app.close()
