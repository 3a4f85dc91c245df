"""The fixture of the reminder tests: planbot on the console, its clock at 2018-09-20 08:00."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.bootstrap import bootstrap
from bot.config import Settings
from support import TestBot


@pytest.fixture
def bot(env: dict[str, str]) -> Iterator[TestBot]:
    """planbot on a fresh database with the Panjin plan, its clock at 2018-09-20 08:00, driven as console chats."""
    app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW="2018-09-20T08:00:00+08:00")))
    yield TestBot(app)
    app.close()
