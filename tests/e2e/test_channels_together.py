"""Telegram and WeCom in one process: one reminder scheduler sweeps once and sends on both channels (and the
leaders' group robot)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.app import App
from bot.bootstrap import bootstrap, run_channels
from bot.config import Settings
from bot.db.models import UnitRow
from bot.db.outbox_models import OutboxRow
from bot.services.people import grant, identity_for
from bot.services.plans import active_plan
from fakes import FakeBotApi, FakeWeComApi
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN
from support import until

pytestmark = pytest.mark.asyncio
DUE = "2018-10-10T09:10:00+08:00"  # Q3 reports fall due today, 10 October (09:10: past the :00 spread)
TELEGRAM_CHAT = 4242
ROBOT_KEY = "5e6f7a8b-1c2d-4e3f-9a0b-leaders00042"


@pytest.fixture
def wecom_api() -> Iterator[FakeWeComApi]:
    with FakeWeComApi(robots=(ROBOT_KEY,)) as api:
        yield api


@pytest.fixture
def both(tg_env: dict[str, str], wecom_api: FakeWeComApi) -> Iterator[App]:
    """An app with Telegram (the fake Bot API) and WeCom (the fake WeCom API) both configured."""
    app = bootstrap(Settings.from_env(dict(
        tg_env, PLANBOT_NOW=DUE, WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=str(AGENT_ID), WECOM_SECRET=SECRET,
        WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, WECOM_API_URL=wecom_api.url, PLANBOT_WECOM_LISTEN="127.0.0.1:0",
        WECOM_ROBOT_KEYS=f"leaders={ROBOT_KEY}")))
    yield app
    app.close()


def contact(app: App, channel: str, external_id: str, unit: str) -> None:
    with app.uow.begin() as s:
        plan_row, _ = active_plan(s)
        row = s.scalar(select(UnitRow).where(UnitRow.plan_id == plan_row.id, UnitRow.code == unit))
        ident = identity_for(s, channel, external_id, external_id, external_id, None, app.clock.now())
        grant(s, ident.person, "contact", row, "test", app.clock.now())


async def test_one_scheduler_sweeps_once_and_each_person_gets_the_reminder_once_on_their_channel(
        both: App, fake: FakeBotApi, wecom_api: FakeWeComApi, caplog: pytest.LogCaptureFixture) -> None:
    fake.add_chat(TELEGRAM_CHAT)  # the contact once wrote to the bot on Telegram
    contact(both, "telegram", str(TELEGRAM_CHAT), "panshan")
    contact(both, "wecom", "wu", "dawa")
    caplog.set_level(logging.DEBUG, "reminders.scheduler")  # every sweep, even one that queues nothing
    caplog.set_level(logging.INFO, "bot.bootstrap")
    stop = asyncio.Event()
    task = asyncio.create_task(run_channels(both, stop))
    try:
        await until(lambda: task.done() or (bool(fake.sent(TELEGRAM_CHAT)) and any(
            m["msgtype"] == "template_card" for m in wecom_api.to("wu"))), "the reminder on both channels")
        assert not task.done(), task
    finally:
        stop.set()
        await task
    telegram = fake.sent(TELEGRAM_CHAT)
    assert len(telegram) == 1 and "盘山县" in telegram[0]["text"] and "截止日" in telegram[0]["text"]
    cards = [m for m in wecom_api.to("wu") if m["msgtype"] == "template_card"]  # (its long text comes before it)
    assert len(cards) == 1 and "大洼区" in "".join(wecom_api.texts("wu")) and "[立即填报]" in wecom_api.texts("wu")[-1]
    schedulers = [r for r in caplog.records if r.getMessage().startswith("reminders: one scheduler")]
    assert [r.getMessage() for r in schedulers] == ["reminders: one scheduler sends on telegram, wecom, wecom_robot"]
    sweeps = [r for r in caplog.records if r.getMessage().startswith("sweep:")]
    assert len(sweeps) == 1 and "2 messages queued" in sweeps[0].getMessage()
    with both.uow() as s:
        sent = [(r.channel, r.chat_id) for r in s.scalars(select(OutboxRow).where(OutboxRow.status != "missed"))]
    assert sorted(sent) == [("telegram", str(TELEGRAM_CHAT)), ("wecom", "wu")]
