"""After a merger (a unit's succeeded_by in the plan file), the successor's contact reports the old unit's figures in
chat, guided or in one sentence; they are saved for the old unit, and only for periods from the succession on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from paths import merged_zone_plan
from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.models import FigureRow, UnitRow
from support import TestBot

HTE = "High-tech enterprises (total certified)"


@pytest.fixture
def merged(chat_env: dict[str, str], tmp_path: Path) -> Iterator[TestBot]:
    """planbot on the console with the Panjin plan in which merged_zone takes over liaohekou from 2019-01-01."""
    env = dict(chat_env, PLANBOT_PLAN_FILE=str(merged_zone_plan(tmp_path)), PLANBOT_NOW="2019-04-08T10:00:00+08:00")
    app = bootstrap(Settings.from_env(env))
    yield TestBot(app)
    app.close()


def saved(bot: TestBot) -> list[tuple[str, str, Decimal, str]]:
    with bot.app.uow() as s:
        rows = s.execute(select(UnitRow.code, FigureRow.period, FigureRow.value, FigureRow.entered_by)
                         .join(UnitRow, UnitRow.id == FigureRow.unit_id).order_by(FigureRow.id))
        return [(u, p, v, who) for u, p, v, who in rows]


def test_the_successors_contact_reports_for_the_unit_it_succeeded(merged: TestBot) -> None:
    merged.join("neo", "contact", "merged_zone")
    out = merged.say("neo", "/report")
    assert "Merged zone: 7 of 7 indicators still to report" in out and f"{HTE} (2019Q1)" in out
    merged.say("neo", "1")
    confirm = merged.say("neo", "7")
    assert f"Please confirm: Liaohekou Eco-Economic Zone Management Committee, {HTE}, 2019Q1: 7" in confirm
    out = merged.say("neo", "1")
    assert f"Saved: {HTE}, 2019Q1: 7 enterprises." in out and "Next:" in out  # and on to the next one owed
    assert saved(merged) == [("liaohekou", "2019Q1", Decimal(7), "console:neo (neo)")]
    assert "6 of 7" in merged.say("neo", "/report")
    merged.say("neo", "取消")
    # one sentence: a correction of the same figure, asked for a reason, saved for the old zone again
    assert "2019Q1 already has 7 enterprises" in merged.say("neo", "高新技术企业 8家")
    merged.say("neo", "一家企业漏报")
    assert "Corrected" in merged.say("neo", "确认")
    assert saved(merged) == [("liaohekou", "2019Q1", Decimal(8), "console:neo (neo)")]


def test_before_the_succession_the_successor_reports_nothing_of_the_old_units(merged: TestBot) -> None:
    merged.join("neo", "contact", "merged_zone")
    merged.app.clock.set(datetime.fromisoformat("2018-10-15T10:00:00+08:00"))
    assert "Merged zone has no indicators to report." in merged.say("neo", "/report")
    assert "does not report" in merged.say("neo", "高新技术企业 7家")
    assert saved(merged) == []
