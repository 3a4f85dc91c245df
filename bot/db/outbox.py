"""The outbox: every pushed message is a row with an idempotency key; dispatchers claim, send and record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.db.chat_models import IdentityRow, PersonRow
from bot.db.engine import insert_or_skip, insert_skipping
from bot.db.outbox_models import OutboxRow
from bot.messages import Button

REPLY, REMINDER, BULK = 0, 5, 10  # priorities: lower goes first
OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Delivery:
    """Where a person is reached: a channel and a chat (a chat group's: no person)."""

    person_id: int | None
    channel: str
    chat_id: str


def delivery_for(s: Session, person: PersonRow) -> Delivery | None:
    """The chat to push to: Telegram when the person has it, else WeCom, else the console; None if inactive."""
    if not person.active:
        return None
    idents = list(s.scalars(select(IdentityRow).where(IdentityRow.person_id == person.id)))
    order = {"telegram": 0, "wecom": 1, "console": 2}
    idents = sorted((i for i in idents if i.chat_id), key=lambda i: order.get(i.channel, 9))
    if not idents:
        return None
    return Delivery(person.id, idents[0].channel, idents[0].chat_id or "")


def _insert(s: Session, key: str, to: Delivery, kind: str, text: str, now: datetime, buttons: list[Button], *,
            priority: int, status: str, attempts: int = 0, not_before: datetime | None = None,
            notice_id: int | None = None) -> Any:
    """INSERT one row under key, doing nothing when the key is already in the outbox."""
    values = {
        "key": key, "channel": to.channel, "person_id": to.person_id, "chat_id": to.chat_id, "kind": kind,
        "text": text, "buttons": buttons_json(buttons), "priority": priority, "status": status,
        "attempts": attempts, "created_at": now, "not_before": not_before or now, "notice_id": notice_id,
    }
    return insert_or_skip(s, OutboxRow).values(**values).on_conflict_do_nothing(index_elements=["key"])


def group_copy_key(key: str, audience: str = "") -> str:
    """The outbox key of a push-only chat group's copy of what is keyed key (a reminder, a notice); with no audience,
    the start that every group copy's key has."""
    return f"{key}:group:{audience}"


def enqueue(s: Session, key: str, to: Delivery, kind: str, text: str, now: datetime, *,
            buttons: list[Button] | None = None, priority: int = REMINDER, not_before: datetime | None = None,
            notice_id: int | None = None, status: str = "pending") -> bool:
    """Queue one message under key; False (and nothing queued) when that key is already in the outbox."""
    result = s.execute(_insert(s, key, to, kind, text, now, buttons or [], priority=priority, status=status,
                               not_before=not_before, notice_id=notice_id))
    return bool(getattr(result, "rowcount", 0))


def hold_reply(s: Session, key: str, to: Delivery, text: str, now: datetime, buttons: list[Button]) -> int | None:
    """Keep a reply to a committed action as an outbox row claimed by the process that is about to send it, in the
    transaction of the action itself; its id, or None when the key is taken (the update was handled before).
    If the process dies before the reply's outcome is written, recovery gives the row to the dispatcher (it never
    left) or marks it 'uncertain' (it may have)."""
    stmt = insert_skipping(s, OUTBOX, ("key",), ("id",))  # (one at every committed action's reply)
    values = {
        "key": key, "channel": to.channel, "person_id": to.person_id, "chat_id": to.chat_id, "kind": "reply",
        "text": text, "buttons": buttons_json(buttons), "priority": REPLY, "status": "claimed", "attempts": 1,
        "created_at": now, "not_before": now, "notice_id": None,
    }
    return s.connection().execute(stmt, values).scalar()



def claim(s: Session, channel: str, now: datetime, limit: int) -> list[OutboxRow]:
    """Take up to limit due rows of a channel (replies first) and mark them claimed, in one UPDATE ... RETURNING,
    so that two dispatchers never take the same row (SKIP LOCKED on PostgreSQL; SQLite's single writer).

    A claimed row has not left: it becomes 'sending' (mark_sending) just before its request is written."""
    due = (select(OutboxRow.id).where(OutboxRow.channel == channel, OutboxRow.status == "pending",
                                       OutboxRow.not_before <= now)
           .order_by(OutboxRow.priority, OutboxRow.id).limit(limit))
    if s.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    stmt = (update(OutboxRow).where(OutboxRow.id.in_(due.scalar_subquery()))
            .values(status="claimed", attempts=OutboxRow.attempts + 1).returning(OutboxRow))
    rows = list(s.scalars(stmt, execution_options={"synchronize_session": False}))
    return sorted(rows, key=lambda r: (r.priority, r.id))


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed row: its new status and what goes with it."""

    row_id: int
    status: str                        # sent, failed, uncertain, or pending (to be tried again)
    at: datetime
    error: str | None = None
    not_before: datetime | None = None
    message_id: str | None = None
    blocked_person: int | None = None  # the person blocked the bot: mark them inactive
    attempts: int | None = None        # set when a claim is given back unsent

    def values(self) -> dict[str, object]:
        """The row's new column values, keyed for an UPDATE by primary key."""
        values: dict[str, object] = {"id": self.row_id, "status": self.status}
        if self.attempts is None:
            values["last_error"] = self.error
        else:
            values["attempts"] = self.attempts
        if self.status == "sent":
            values.update(sent_at=self.at, platform_message_id=self.message_id)
        if self.not_before is not None:
            values["not_before"] = self.not_before
        return values


def record(s: Session, outcomes: list[Outcome]) -> None:
    """Write many outcomes in the session's transaction (executemany UPDATE by primary key)."""
    if not outcomes:
        return
    s.execute(update(OutboxRow), [o.values() for o in outcomes])
    blocked = sorted({o.blocked_person for o in outcomes if o.blocked_person is not None})
    if blocked:
        s.execute(update(PersonRow).where(PersonRow.id.in_(blocked)).values(active=False))


def release(row: OutboxRow) -> Outcome:
    """A claimed row that was never handed to the sender: pending again, its claim's attempt not counted."""
    return Outcome(row.id, "pending", row.not_before, attempts=row.attempts - 1)


def buttons_json(buttons: list[Button]) -> str:
    """Buttons as a row stores them."""
    return json.dumps([[b.label, b.payload] for b in buttons], ensure_ascii=False)


def buttons_of(row: OutboxRow) -> list[Button]:
    """The buttons stored with a row."""
    return [Button(label, payload) for label, payload in json.loads(row.buttons or "[]")]


_MARK_SENDING = (update(OutboxRow).where(OutboxRow.id.in_(bindparam("row_ids", expanding=True)),
                                         OutboxRow.status == "claimed")
                 .values(status="sending").returning(OutboxRow.id))  # built once: marks are written at every send


def mark_sending(c: Connection | Session, row_ids: list[int]) -> set[int]:
    """Claimed rows whose requests are about to be written: from now on their outcome is unknown until answered.
    Returns the ids marked: a row missing there is no longer claimed (recovery gave it back) and must not be sent.
    On a Connection (Core: a fraction of an ORM Session's CPU, for the dispatcher's group commits) or a Session."""
    if isinstance(c, Session):
        return set(c.scalars(_MARK_SENDING, {"row_ids": row_ids}, execution_options={"synchronize_session": False}))
    return set(c.scalars(_MARK_SENDING, {"row_ids": row_ids}))


def latest_push(s: Session, person_id: int) -> tuple[int, list[Button]] | None:
    """The newest message with buttons delivered to a person (a notice's 签收, a reminder's 立即填报): its id and
    buttons, so that a person on a channel without buttons can press them by typing."""
    row = s.execute(select(OutboxRow.id, OutboxRow.buttons).where(
        OutboxRow.person_id == person_id, OutboxRow.status == "sent", OutboxRow.buttons != "[]")
        .order_by(OutboxRow.sent_at.desc(), OutboxRow.id.desc()).limit(1)).first()
    if row is None:
        return None
    return row.id, [Button(label, payload) for label, payload in json.loads(row.buttons or "[]")]


def recover_sending(s: Session) -> int:
    """Rows a process that died left behind: 'claimed' ones never left, so they are pending again (their claim's
    attempt not counted); 'sending' ones may have reached the person, so they become 'uncertain'. How many."""
    given_back = s.execute(update(OutboxRow).where(OutboxRow.status == "claimed")
                           .values(status="pending", attempts=OutboxRow.attempts - 1))
    unknown = s.execute(update(OutboxRow).where(OutboxRow.status == "sending")
                        .values(status="uncertain", last_error="interrupted while sending"))
    return sum(int(getattr(r, "rowcount", 0) or 0) for r in (given_back, unknown))


def sent_since(s: Session, channel: str, since: datetime) -> int:
    """Messages of a channel sent at or after since."""
    return int(s.scalar(select(func.count()).select_from(OutboxRow).where(
        OutboxRow.channel == channel, OutboxRow.status == "sent", OutboxRow.sent_at >= since)) or 0)


def counts(s: Session, notice_id: int | None = None) -> dict[str, int]:
    """Rows by status (of one notice, or of the whole outbox)."""
    stmt = select(OutboxRow.status, func.count()).group_by(OutboxRow.status)
    if notice_id is not None:
        stmt = stmt.where(OutboxRow.notice_id == notice_id)
    return {status: int(n) for status, n in s.execute(stmt)}


def backoff(attempts: int) -> timedelta:
    """How long to wait before retrying after a server error: 5 s, 10 s, 20 s ... at most 10 minutes."""
    return timedelta(seconds=min(600, 5 * 2 ** max(0, attempts - 1)))
