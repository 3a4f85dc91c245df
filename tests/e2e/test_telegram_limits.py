"""Every message fits Telegram: English answers on a plan of 105 indicators, a 4,000-character notice, a group with a
long Chinese name, reminders, 105 buttons and echoes of long input, all through the strict fake Bot API (it fails
the test on any request Telegram would refuse, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.app import App
from bot.bootstrap import bootstrap
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.sender import TelegramSender
from bot.config import Settings
from bot.domain.free_text import MAX_NOTICE
from bot.domain.period import quarter
from bot.services.figures import Entry, submit
from bot.services.plans import active_plan
from fakes import FakeBotApi
from fakes.bot_api_rules import utf16
from reminders.dispatch import dispatch
from reminders.sweep import sweep
from support import idle, invite

pytestmark = [pytest.mark.asyncio,
              pytest.mark.filterwarnings("ignore:.*`retry_after` will be of type:DeprecationWarning")]
INDICATORS = 105
GROUP = "各县区人民政府及经济技术开发区管理委员会"  # 20 characters, 60 bytes: no room in a button's 64 bytes
LEADER, CONTACT = 7001, 7002


def write_plan(path: Path, n: int = INDICATORS) -> None:
    """A plan of n quarterly indicators with long English names (and codes of the longest length allowed), reported
    by two districts in a group with a long Chinese name."""
    lines = ["plan:", "  code: many-indicators", "  title: {zh: 一百零五项指标的计划, en: A plan of many indicators}",
             "  start: 2018-01-01", "  end: 2020-12-31", "units:",
             "  - code: bureau", "    name: {zh: 市科技局, en: Science Bureau}",
             "  - code: east", "    name: {zh: 东区人民政府, en: East District}", "    kind: district",
             "  - code: west", "    name: {zh: 西区人民政府, en: West District}", "    kind: district",
             "groups:", f"  {GROUP}: [east, west]", "indicators:"]
    for i in range(1, n + 1):
        lines += [f"  - code: indicator_{i:03d}_{'x' * 26}",
                  f"    name: {{zh: 第{i}项科技创新能力建设重点指标, "
                  f"en: 'Indicator {i:03d}: enterprises certified as high-tech in the district'}}",
                  "    kind: stock", "    measure: {zh: 家, en: enterprises}", "    baseline: 60",
                  "    lead: [bureau]", f'    reporters: ["@{GROUP}"]', "    range: {min: 0, max: 10000}",
                  "    milestones:", "      - {due: 2018-12-31, value: 120}", "      - {due: 2020-12-31, value: 200}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def big_app(tg_env: dict[str, str], tmp_path: Path) -> Iterator[App]:
    plan = tmp_path / "many.yaml"
    write_plan(plan)
    app = bootstrap(Settings.from_env(dict(tg_env, PLANBOT_PLAN_FILE=str(plan), PLANBOT_LANG="en")))
    now = app.clock.now()
    with app.uow() as s:
        _, loaded = active_plan(s)
    for ind in loaded.indicators[:60]:  # figures far behind the pace, for /lagging, /status and /source
        for unit, value in (("east", 31), ("west", 30)):
            entry = Entry(loaded.unit(unit), ind, quarter(2018, 2), Decimal(value))
            submit(app.uow, entry, "test", "cli", now - timedelta(days=100))
    ind = loaded.indicators[0]
    for n in range(40):  # a figure corrected many times, each with a long reason
        entry = Entry(loaded.unit("east"), ind, quarter(2018, 2), Decimal(32 + n), reason="统计口径调整" * 40)
        submit(app.uow, entry, "test", "cli", now - timedelta(days=99))
    yield app
    app.close()


@pytest_asyncio.fixture
async def channel(big_app: App) -> AsyncIterator[TelegramChannel]:
    ch = TelegramChannel(big_app, poll_timeout=1)
    await ch.start()
    yield ch
    await ch.stop()


async def ask(fake: FakeBotApi, channel: TelegramChannel, chat: int, text: str | None = None,
              data: str | None = None) -> list[dict[str, Any]]:
    """Send a message (or press a button), wait until everything is handled; what the bot sent to the chat."""
    before = len(fake.sent(chat))
    fake.push_update(fake.message_update(chat, text, lang="en") if text is not None
                     else fake.callback_update(chat, data or ""))
    await idle(channel, fake)
    return fake.sent(chat)[before:]


def text_of(sent: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("text") or m.get("caption") or "") for m in sent)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


async def test_english_answers_on_a_plan_of_105_indicators_fit_telegram(
        fake: FakeBotApi, big_app: App, channel: TelegramChannel) -> None:
    await ask(fake, channel, LEADER, f"/start {invite(big_app, 'admin')}")
    await ask(fake, channel, LEADER, f"/start {invite(big_app, 'leader')}")

    missing = await ask(fake, channel, LEADER, "/missing")  # 2 units x 105 indicators owed, no figures for Q3
    assert len(missing) >= 3 and missing[0]["text"].startswith("(1/") and missing[-1]["text"].startswith(
        f"({len(missing)}/{len(missing)})")
    assert text_of(missing).count("Indicator 1") >= 2 * 5  # the list is whole, only in parts

    lagging = await ask(fake, channel, LEADER, "/lagging")
    assert len([m for m in lagging if m["method"] == "sendMessage"]) >= 2
    assert "Indicator 105" in text_of(lagging) and any(m["method"] == "sendPhoto" for m in lagging)

    source = await ask(fake, channel, LEADER, "/source Indicator 001")  # 40 corrections with long reasons
    assert len(source) >= 3 and source[0]["text"].startswith("(1/")

    status = await ask(fake, channel, LEADER, "/status Indicator 002")
    source_button = buttons(status[0])[0]["callback_data"]
    assert len(source_button.encode()) <= 64 and source_button.startswith("0|source|indicator_002_")

    # a notice of the longest length accepted: its preview fits one message, the group's long name a short payload
    notice = "请于10月20日前报送三季度数据。" * (MAX_NOTICE // 17) + "谢"
    notice += "。" * (MAX_NOTICE - len(notice))
    asked = await ask(fake, channel, LEADER, "/broadcast " + notice)
    group = next(b for b in buttons(asked[-1]) if GROUP in b["text"])
    assert len(group["callback_data"].encode()) <= 64
    preview = await ask(fake, channel, LEADER, data=group["callback_data"])
    assert len(preview) == 1 and notice in preview[0]["text"]
    await ask(fake, channel, LEADER, "/cancel")
    too_long = await ask(fake, channel, LEADER, "/broadcast " + notice + "！")
    assert too_long[0]["text"].startswith("The notice is too long: 4001 characters, at most 4000")

    # a contact owes 105 figures: the keyboard pages (at most 100 buttons), the second page's choices work
    await ask(fake, channel, CONTACT, f"/start {invite(big_app, 'contact', 'east')}")
    menu = (await ask(fake, channel, CONTACT, "/report"))[-1]
    first_page = buttons(menu)
    assert len(first_page) <= 100 and "More choices (1/2)" in [b["text"] for b in first_page]
    more = next(b["callback_data"] for b in first_page if b["text"].startswith("More choices"))
    second = (await ask(fake, channel, CONTACT, data=more))[-1]
    labels = [b["text"] for b in buttons(second)]
    assert "More choices (2/2)" in labels and any(t.startswith("Indicator 105") for t in labels)
    pick = next(b["callback_data"] for b in buttons(second) if b["text"].startswith("Indicator 105"))
    asked = await ask(fake, channel, CONTACT, data=pick)
    assert "Indicator 105" in asked[-1]["text"]

    # what a person typed is quoted back short, however long it was
    echoed = await ask(fake, channel, CONTACT, "12" + "x" * 5000)
    assert all(utf16(m["text"]) < 600 for m in echoed)

    # reminders to the contact list every indicator owed, as far as one message carries them
    now = big_app.clock.now()
    with big_app.uow.begin() as s:
        queued = sweep(s, now.replace(hour=9) + timedelta(days=1), catch_up_workdays=5)
    assert queued.queued >= 1
    stats = await dispatch(big_app.uow, TelegramSender(channel.bot), lambda: now + timedelta(days=1))
    assert stats.sent >= 1 and stats.failed == 0
    reminder = fake.sent(CONTACT)[-1]
    assert "Indicator 001" in reminder["text"] and "more" in reminder["text"]

    assert fake.violations == []
    every = fake.sent()
    assert all(utf16(str(m.get("text") or "")) <= 4096 and utf16(str(m.get("caption") or "")) <= 1024 for m in every)
    assert all(len(buttons(m)) <= 100 and all(len(b["callback_data"].encode()) <= 64 for b in buttons(m))
               for m in every)
