"""Console-channel fixtures in the errbot testbot style: push a message, read the replies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.bootstrap import bootstrap
from bot.config import Settings
from support import TestBot

NOW = "2018-10-15T10:00:00+08:00"


@pytest.fixture
def chat_env(env: dict[str, str]) -> dict[str, str]:
    """The test environment with the clock at 2018-10-15 10:00 (Q3 reports fell due on 10 October)."""
    return dict(env, PLANBOT_NOW=NOW)


@pytest.fixture
def testbot(chat_env: dict[str, str]) -> Iterator[TestBot]:
    """planbot on the console, on a fresh database, Panjin plan loaded."""
    app = bootstrap(Settings.from_env(chat_env))
    yield TestBot(app)
    app.close()
