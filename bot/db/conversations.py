"""Who is talking and where their conversation stands: the sender's identity, roles and state in one query,
the conversation saved after each message, and message ids seen (a re-delivery does nothing)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.db.chat_models import ConversationRow, IdentityRow, InboundSeenRow, PersonRow, RoleRow
from bot.db.engine import RELAXED, insert_or_skip
from bot.db.models import UnitRow

# Core tables for the router's own bookkeeping rows: plain INSERT/UPDATE statements, no ORM unit of work
CONVERSATIONS: Table = ConversationRow.__table__  # type: ignore[assignment]
SEEN: Table = InboundSeenRow.__table__  # type: ignore[assignment]
IDENTITIES: Table = IdentityRow.__table__  # type: ignore[assignment]
PERSONS: Table = PersonRow.__table__  # type: ignore[assignment]
ROLES: Table = RoleRow.__table__  # type: ignore[assignment]
UNITS: Table = UnitRow.__table__  # type: ignore[assignment]
# statements built once (each caches its own cache key): identity + person + roles + conversation in one Core query,
# a row per role (one with role NULL for a person without any); ORM objects are loaded only when a handler asks
SENDER = (select(IDENTITIES.c.id, IDENTITIES.c.person_id, IDENTITIES.c.chat_id, PERSONS.c.display_name,
                 PERSONS.c.lang, PERSONS.c.active, CONVERSATIONS.c.state, CONVERSATIONS.c.data,
                 CONVERSATIONS.c.updated_at, ROLES.c.role,
                 UNITS.c.code, UNITS.c.plan_id)
          .join(PERSONS, PERSONS.c.id == IDENTITIES.c.person_id)
          .outerjoin(CONVERSATIONS, CONVERSATIONS.c.identity_id == IDENTITIES.c.id)
          .outerjoin(ROLES, ROLES.c.person_id == PERSONS.c.id)
          .outerjoin(UNITS, UNITS.c.id == ROLES.c.unit_id)
          .where(IDENTITIES.c.channel == bindparam("c"), IDENTITIES.c.external_id == bindparam("x"))
          .order_by(ROLES.c.id))
REACTIVATE = update(PERSONS).where(PERSONS.c.id == bindparam("person")).values(active=True)
SET_CHAT = update(IDENTITIES).where(IDENTITIES.c.id == bindparam("id")).values(chat_id=bindparam("chat"))
SAVE_STATE = (update(CONVERSATIONS).where(CONVERSATIONS.c.identity_id == bindparam("id"))
              .values(state=bindparam("state"), data=bindparam("data"), updated_at=bindparam("at")))
KEEP_STEP = (update(CONVERSATIONS).where(CONVERSATIONS.c.identity_id == bindparam("id"))
             .values(data=bindparam("data")))  # a push changes no step: its time (for the timeout) is kept
NEW_STATE = insert(CONVERSATIONS).values(identity_id=bindparam("id"), state=bindparam("state"),
                                         data=bindparam("data"), updated_at=bindparam("at"))


def first_sight(s: Session, channel: str, message_id: str, now: datetime) -> bool:
    """Record a message id as seen; False when it already was (a re-delivery)."""
    seen = s.execute(insert_or_skip(s, SEEN).values(channel=channel, message_id=message_id, received_at=now)
                     .on_conflict_do_nothing().returning(SEEN.c.id)).first()  # (rowcount: -1 on PostgreSQL)
    return seen is not None


def sender_rows(s: Session, channel: str, external_id: str) -> Sequence[Any]:
    """The sender's identity, person, conversation and roles (a row per role; none for an unknown sender)."""
    return s.connection().execute(SENDER, {"c": channel, "x": external_id}).all()


def reactivate(s: Session, person_id: int) -> None:
    """A person marked inactive (they had blocked the bot) wrote to it again: push to them again."""
    s.connection().execute(REACTIVATE, {"person": person_id})


def move_chat(s: Session, ident_id: int, chat: str) -> None:
    """Remember the private chat a person now writes from."""
    s.connection().execute(SET_CHAT, {"id": ident_id, "chat": chat})


def save_conversation(s: Session, ident_id: int, existed: bool, state: str, data: str, now: datetime) -> None:
    """Store where the conversation stands (after the handler's own changes have been flushed)."""
    s.flush()  # the handler's own changes first (a new identity's row, figures), in the ORM's order
    s.connection().execute(SAVE_STATE if existed else NEW_STATE,
                           {"id": ident_id, "state": state, "data": data, "at": now})


PUSHED = "_pushed"  # the buttons of the last message pushed to a person: typed words can press them


def offer_pushed(s: Session, channel: str, chat_id: str, buttons: list[tuple[str, str]], now: datetime) -> None:
    """Keep a pushed message's buttons (label, payload) with the recipient's conversation, so that a channel without
    buttons (the console) can press them by typing 签收 or 立即填报; a recipient not found is left alone."""
    ident = s.connection().execute(select(IDENTITIES.c.id).where(IDENTITIES.c.channel == channel,
                                                                 IDENTITIES.c.chat_id == chat_id)).first()
    if ident is None:
        return
    row = s.connection().execute(select(CONVERSATIONS.c.state, CONVERSATIONS.c.data)
                                 .where(CONVERSATIONS.c.identity_id == ident.id)).first()
    data = json.loads(row.data) if row is not None and row.data else {}
    data[PUSHED] = [[payload, label, []] for label, payload in buttons]
    if row is not None:
        s.connection().execute(KEEP_STEP, {"id": ident.id, "data": json.dumps(data)})
    else:
        s.connection().execute(NEW_STATE, {"id": ident.id, "state": "", "data": json.dumps(data), "at": now})


def relax_durability(s: Session) -> None:
    """Let this transaction's commit skip the fsync (SQLite: synchronous=NORMAL); call before its first statement.
    For a message stored durably before it was acknowledged: a commit lost to a power cut is handled again."""
    s.connection(execution_options={RELAXED: True})
