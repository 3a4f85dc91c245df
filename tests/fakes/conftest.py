"""The fixture of the fake Bot API's own tests: the fake, serving TOKEN."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fakes.bot_api import FakeBotApi
from fakes.bot_api_support import TOKEN


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    """A fake Bot API server on 127.0.0.1 for the bot TOKEN."""
    with FakeBotApi(TOKEN) as api:
        yield api
