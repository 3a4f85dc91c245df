"""Shared fixtures: a fresh database on SQLite and on PostgreSQL, and an app bootstrapped on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.app import App
from bot.bootstrap import bootstrap
from bot.config import Settings
from fakes.bot_api import FakeBotApi

PG_ENV = "PLANBOT_TEST_POSTGRES_URL"
_LEFT_OUT = pytest.StashKey[int]()


def _needs_postgres(item: pytest.Item) -> bool:
    """Whether a collected test runs on PostgreSQL: the postgres case of db_url, postgres_url, or the marker."""
    callspec = getattr(item, "callspec", None)
    return ((callspec is not None and callspec.params.get("db_url") == "postgres")
            or "postgres_url" in getattr(item, "fixturenames", ()) or item.get_closest_marker("postgres") is not None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PLANBOT_TEST_POSTGRES_URL, leave the PostgreSQL tests out (one summary line says so, not a skip each)."""
    if os.environ.get(PG_ENV) or os.environ.get("PLANBOT_REQUIRE_POSTGRES"):
        return
    left_out = [item for item in items if _needs_postgres(item)]
    if left_out:
        items[:] = [item for item in items if not _needs_postgres(item)]
        config.hook.pytest_deselected(items=left_out)
    config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The one line on the PostgreSQL tests left out, and how to run them."""
    n = config.stash.get(_LEFT_OUT, 0)
    if n:
        terminalreporter.write_line(
            f"{n} PostgreSQL test{'s' if n > 1 else ''} not run; to run them: "
            f"{PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test python3 dev.py test", yellow=True)


def _postgres_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("PLANBOT_REQUIRE_POSTGRES"):
            pytest.fail(f"{PG_ENV} must be set when PLANBOT_REQUIRE_POSTGRES is")
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test): "
                    "PostgreSQL tests skipped")
    return url


@pytest.fixture(autouse=True)
def telegram_refuses_nothing(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test in which planbot made any request that Telegram would refuse (the fake Bot API answered it 400:
    a text over 4,096 characters, callback data over 64 bytes, ...), unless it says it expects refusals (the
    telegram_refusals marker, or fake.expect_refusals())."""
    first = len(FakeBotApi.instances)
    yield
    made, FakeBotApi.instances[first:] = FakeBotApi.instances[first:], []
    if request.node.get_closest_marker("telegram_refusals") is not None:
        return
    refused = [v for fake in made if not fake.refusals_expected for v in fake.violations]
    if refused:
        pytest.fail(f"{len(refused)} request(s) that Telegram would refuse: " + "; ".join(
            f"{method}: {description}" for method, description in refused[:5]), pytrace=False)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty PostgreSQL schema of its own, dropped afterwards."""
    base = _postgres_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:  # a server that is down must fail loudly, not skip
        pytest.fail(f"PostgreSQL at {base} is not reachable: {e}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'planbot.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment planbot runs with in a test (also handed to subprocesses)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "TELEGRAM_", "WECOM_"))}
    out.update({"PLANBOT_DATABASE_URL": db_url, "PLANBOT_DATA_DIR": str(tmp_path / "data"), "PLANBOT_LANG": "zh"})
    return out


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[App]:
    """planbot bootstrapped on the test database with the Panjin plan loaded."""
    a = bootstrap(Settings.from_env(env))
    yield a
    a.close()
