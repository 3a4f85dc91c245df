"""Models for people and conversations: identities, roles, invites, audit, conversation state, seen messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db.models import Base, UnitRow, UtcDateTime


class PersonRow(Base):
    """A person who talks to planbot, on any channel."""

    __tablename__ = "persons"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    lang: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    roles: Mapped[list[RoleRow]] = relationship(back_populates="person", cascade="all, delete-orphan",
                                                lazy="selectin")


class IdentityRow(Base):
    """A person's account on one channel, and the chat where we reach them privately."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identities_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200))
    chat_id: Mapped[str | None] = mapped_column(String(200))
    person: Mapped[PersonRow] = relationship(lazy="joined")


class RoleRow(Base):
    """A role a person holds: contact (for a unit), leader, admin."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("person_id", "role", "unit_id", name="uq_roles_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    granted_by: Mapped[str] = mapped_column(String(200))
    person: Mapped[PersonRow] = relationship(back_populates="roles")
    unit: Mapped[UnitRow | None] = relationship(lazy="joined")


class InviteRow(Base):
    """A one-time invite code (stored only as its hash) that binds its user to a role and unit."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id"))
    unit: Mapped[UnitRow | None] = relationship(lazy="joined")


class InviteAttemptRow(Base):
    """A wrong invite code tried by a sender, for the lockout."""

    __tablename__ = "invite_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditRow(Base):
    """Something that changed who may do what: an invite made, a binding, a role granted."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)


class ConversationRow(Base):
    """Where a person is in a conversation (state and its data as JSON), so a restart loses nothing."""

    __tablename__ = "conversations"
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(40))
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboundSeenRow(Base):
    """A platform message already handled (channel + message id), so a re-delivery does nothing twice."""

    __tablename__ = "inbound_seen"
    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_inbound_seen_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboxRow(Base):
    """A platform update stored before it is acknowledged, so a crash before it is handled loses nothing."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "update_id", name="uq_inbox_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
