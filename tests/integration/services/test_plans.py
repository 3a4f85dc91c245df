"""The active plan as the router reads it: parsed once per loaded plan, and ahead of the first message."""

from __future__ import annotations

from bot.app import App
from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.services.plans import active_plan, warm_plan


def test_a_warmed_plan_is_the_one_every_message_then_reads(app: App) -> None:
    warmed = warm_plan(app.uow)
    assert warmed is not None and warmed.code == "panjin-sti-2018-2020"
    with app.uow() as s:
        row, plan = active_plan(s)
    assert plan is warmed  # parsed at the warm-up, not again at the first message
    assert row.code == warmed.code


def test_warming_a_database_with_no_plan_yet_does_nothing(env: dict[str, str]) -> None:
    empty = bootstrap(Settings.from_env(env), ensure_plan=False)
    try:
        assert warm_plan(empty.uow) is None  # a database process may start before any plan is loaded
    finally:
        empty.close()
