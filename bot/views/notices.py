"""Where notices stand: recipients, delivered, signed, failed, pending and uncertain, each person counted once."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.outbox import group_copy_key
from bot.db.outbox_models import NoticeRow, OutboxRow, SignatureRow
from bot.errors import UserError


@dataclass(frozen=True)
class NoticeStats:
    """Where a notice stands: recipients, delivered, signed, failed, pending, uncertain."""

    notice: NoticeRow
    recipients: int
    delivered: int
    signed: int
    failed: int
    pending: int
    uncertain: int
    groups: tuple[tuple[str, str], ...] = ()  # each chat group's copy (its audience, its status): posted, not signed


def stats(s: Session, notice_id: int) -> NoticeStats:
    """Counts for one notice; each person counted once whatever was re-sent."""
    notice = s.get(NoticeRow, notice_id)
    if notice is None:
        raise UserError("There is no notice number {n}.", n=notice_id)
    best: dict[int, str] = {}
    rank = {"sent": 0, "uncertain": 1, "sending": 2, "claimed": 3, "pending": 3, "failed": 4}
    for person, status in s.execute(select(OutboxRow.person_id, OutboxRow.status)
                                    .where(OutboxRow.notice_id == notice_id)):
        if person is None:  # (a chat group's copy: a notice's group copies carry no notice id)
            continue
        if person not in best or rank.get(status, 9) < rank.get(best[person], 9):
            best[person] = status
    signed = len(list(s.scalars(select(SignatureRow.id).where(SignatureRow.notice_id == notice_id))))
    values = list(best.values())
    waiting = sum(values.count(status) for status in ("pending", "claimed", "sending"))
    prefix = group_copy_key(f"notice:{notice_id}")
    groups = tuple((key.removeprefix(prefix), status) for key, status in s.execute(
        select(OutboxRow.key, OutboxRow.status).where(OutboxRow.key.startswith(prefix, autoescape=True))
        .order_by(OutboxRow.id)))
    return NoticeStats(notice, len(best), values.count("sent"), signed, values.count("failed"), waiting,
                       values.count("uncertain"), groups)


def recent(s: Session, limit: int = 5) -> list[NoticeRow]:
    """The latest notices, newest first."""
    return list(s.scalars(select(NoticeRow).order_by(NoticeRow.id.desc()).limit(limit)))
