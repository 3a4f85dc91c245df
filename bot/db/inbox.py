"""The inbox: platform updates stored before they are acknowledged, marked when handled, replayed after a crash."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.chat_models import InboxRow
from bot.db.engine import insert_or_skip, insert_skipping

INBOX: Table = InboxRow.__table__  # type: ignore[assignment]
# built once: a statement object caches its own cache key, so each execution skips building and keying it
CLAIM = (update(INBOX).where(INBOX.c.channel == bindparam("c"), INBOX.c.update_id == bindparam("u"),
                             INBOX.c.processed_at.is_(None)).values(processed_at=bindparam("now")))


class Inbox:
    """Stored updates of one channel."""

    def __init__(self, uow: sessionmaker[Session], channel: str) -> None:
        self.uow, self.channel = uow, channel

    def store(self, updates: Iterable[tuple[str, dict[str, Any]]], now: datetime) -> None:
        """Keep these updates (id, raw JSON); one already stored is left as it is."""
        rows = [{"channel": self.channel, "update_id": uid, "payload": json.dumps(raw, ensure_ascii=False),
                 "received_at": now} for uid, raw in updates]
        if not rows:
            return
        with self.uow.begin() as s:  # one statement run for every row (executemany)
            s.connection().execute(insert_skipping(s, INBOX, ("channel", "update_id")), rows)

    def claim(self, s: Session, update_id: str, now: datetime, raw: dict[str, Any]) -> bool:
        """In the caller's transaction, mark an update handled; False if it already was (a re-delivery).

        One UPDATE when the update was stored first, as every received update is. One that never was is stored now,
        as handled (raw is its JSON), so that a re-delivery still finds it. Committed with the update's effect,
        so an update is marked handled if and only if its handling committed.
        """
        result = s.connection().execute(CLAIM, {"c": self.channel, "u": update_id, "now": now})  # Core: no ORM cost
        if getattr(result, "rowcount", 0):
            return True
        stored = s.execute(insert_or_skip(s, INBOX).values(channel=self.channel, update_id=update_id, received_at=now,
                                                           payload=json.dumps(raw, ensure_ascii=False),
                                                           processed_at=now)
                           .on_conflict_do_nothing(index_elements=["channel", "update_id"])
                           .returning(INBOX.c.id)).first()  # (rowcount is -1 here on PostgreSQL)
        return stored is not None

    def done(self, update_id: str, now: datetime) -> None:
        """Mark an update handled."""
        with self.uow.begin() as s:
            s.execute(update(InboxRow).where(InboxRow.channel == self.channel, InboxRow.update_id == update_id)
                      .values(processed_at=now))

    def pending(self) -> list[dict[str, Any]]:
        """Updates stored but not yet handled, oldest first."""
        with self.uow() as s:
            rows = s.scalars(select(InboxRow.payload).where(InboxRow.channel == self.channel,
                                                            InboxRow.processed_at.is_(None)).order_by(InboxRow.id))
            return [json.loads(p) for p in rows]
