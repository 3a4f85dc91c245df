"""Models for pushed messages: the outbox, notices and their sign-offs, the scheduler's bookmark."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models import Base, UtcDateTime


class OutboxRow(Base):
    """One message to push to one person (or to a chat group's webhook), with an idempotency key so it is never
    queued twice."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    channel: Mapped[str] = mapped_column(String(20), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), index=True)  # None: a chat group
    chat_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[str] = mapped_column(Text, default="[]")
    priority: Mapped[int] = mapped_column(Integer, default=10)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending claimed sending sent failed uncertain missed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    platform_message_id: Mapped[str | None] = mapped_column(String(100))


class NoticeRow(Base):
    """A notice broadcast by an admin to an audience, to be signed for (签收)."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    send_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class SignatureRow(Base):
    """A person's sign-off (签收) of a notice."""

    __tablename__ = "notice_signatures"
    __table_args__ = (UniqueConstraint("notice_id", "person_id", name="uq_notice_signatures_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SchedulerStateRow(Base):
    """A bookmark of the scheduler: the instant up to which reminders have been swept."""

    __tablename__ = "scheduler_state"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
