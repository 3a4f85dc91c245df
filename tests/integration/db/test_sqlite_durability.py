"""SQLite commits reach the disk (synchronous=FULL) except the router's for updates already stored in an inbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.app import App
from bot.db.engine import RELAXED, make_engine, session_factory
from bot.db.inbox import Inbox
from bot.messages import Inbound
from handlers.router import Router


def level(s: Session) -> int:
    return int(s.execute(text("PRAGMA synchronous")).scalar_one())


def test_commits_are_fsynced_unless_the_transaction_relaxes_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    uow = session_factory(engine)
    try:
        with uow() as s:
            assert level(s) == 2  # FULL
        with uow() as s:
            s.connection(execution_options={RELAXED: True})
            assert level(s) == 1  # NORMAL
        with uow.begin() as s:
            assert level(s) == 2  # the same pooled connection, back to FULL
    finally:
        engine.dispose()


def test_the_router_relaxes_only_for_a_stored_update(app: App) -> None:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("synchronous=NORMAL/FULL is SQLite's: PostgreSQL commits are not relaxed")
    inbox, router, seen = Inbox(app.uow, "telegram"), Router(app), list[int]()
    inbox.store([("1", {"update_id": 1})], app.clock.now())

    def claim(s: Session) -> bool:
        seen.append(level(s))
        return inbox.claim(s, "1", app.clock.now(), {})

    msg = Inbound(channel="telegram", sender="7", chat="7", message_id="u1", text="你好")
    assert router.handle(msg, claim).replies
    assert router.handle(msg, claim).duplicate
    assert seen == [1, 1] and inbox.pending() == []
    with app.uow() as s:
        assert level(s) == 2  # everything else: FULL
