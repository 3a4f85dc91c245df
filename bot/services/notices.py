"""Notices: an admin broadcasts to an audience; each recipient can sign for it (签收); admins see who has."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.chat_models import PersonRow
from bot.db.models import PlanRow
from bot.db.outbox import BULK, Delivery, delivery_for, enqueue, group_copy_key
from bot.db.outbox_models import NoticeRow, OutboxRow, SignatureRow
from bot.domain.free_text import MAX_NOTICE, clean_block, length
from bot.domain.groups import for_notice, receiving
from bot.domain.plan import Plan
from bot.errors import UserError
from bot.messages import Button
from bot.views import recipients
from bot.views.progress import assess_all, not_reported
from i18n import N_, translator_for

AUDIENCE_NAMES = {
    "all": N_("everyone"), "role:contact": N_("all unit contacts"), "role:leader": N_("all leaders"),
    "role:admin": N_("all administrators"), "overdue": N_("units with overdue reports"),
}


def resolve(s: Session, plan_row: PlanRow, plan: Plan, audience: str, now: datetime) -> list[PersonRow]:
    """The people an audience names: all, role:R, units:a,b, group:NAME, overdue."""
    kind, _, arg = audience.partition(":")
    if kind == "all":
        return recipients.everyone(s)
    if kind == "role" and arg in ("contact", "leader", "admin"):
        if arg == "contact":
            return recipients.contacts(s, plan_row, [u.code for u in plan.units])
        return recipients.admins(s, plan_row) if arg == "admin" else recipients.leaders(s, plan_row)
    if kind == "units" and arg:
        codes = [c.strip() for c in arg.split(",") if c.strip()]
        unknown = [c for c in codes if c not in {u.code for u in plan.units}]
        if unknown:
            raise UserError("No unit matches “{query}”.", query=", ".join(unknown))
        return recipients.contacts(s, plan_row, codes)
    if kind == "group" and arg:
        if arg not in plan.groups:
            raise UserError("There is no unit group {name}.", name=arg)
        return recipients.contacts(s, plan_row, plan.groups[arg])
    if kind == "overdue":
        owed = not_reported(assess_all(s, plan_row, plan, now.date()))
        return recipients.contacts(s, plan_row, sorted({o.unit for o in owed}))
    raise UserError("Unknown audience {audience}: use all, role:contact, role:leader, units:CODE,CODE, "
                    "group:NAME or overdue.", audience=audience)


def checked_text(text: str) -> str:
    """A notice's text as it is sent (control and bidi characters removed); UserError when it is empty or longer
    than a chat message can carry (MAX_NOTICE, the limit named)."""
    text = clean_block(text)
    if not text:
        raise UserError("A notice needs some text.")
    if length(text) > MAX_NOTICE:
        raise UserError("The notice is too long: {n} characters, at most {max} (what one chat message can carry). "
                        "Please shorten it.", n=length(text), max=MAX_NOTICE)
    return text


def sign_button(notice_id: int, lang: str | None) -> list[Button]:
    """The 签收 button under a notice."""
    t = translator_for(lang)
    return [Button(t("Sign for it"), f"0|sign|{notice_id}")]


def _notice_text(text: str, lang: str | None) -> str:
    t = translator_for(lang)
    return t("Notice: {text}", text=text)


def broadcast(s: Session, plan_row: PlanRow, plan: Plan, text: str, audience: str, by: str, now: datetime,
              send_at: datetime | None = None, groups: tuple[tuple[str, str], ...] = ()) -> NoticeRow:
    """Create a notice and queue it for every recipient (at send_at, or now), and a copy without the 签收 button
    for each push-only chat group, (channel, audience), of its audience; control and bidi characters are removed
    from its text."""
    text = checked_text(text)
    people = resolve(s, plan_row, plan, audience, now)
    if not people:
        raise UserError("Nobody is in that audience yet.")
    notice = NoticeRow(text=text, audience=audience, created_by=by, created_at=now, send_at=send_at or now,
                       recipients=0)
    s.add(notice)
    s.flush()
    for person in people:
        notice.recipients += _queue(s, notice, person, now, f"notice:{notice.id}:{person.id}")
    for channel, group in receiving(groups, for_notice(audience)):  # (not counted among its recipients)
        enqueue(s, group_copy_key(f"notice:{notice.id}", group), Delivery(None, channel, group), "notice",
                _notice_text(notice.text, None), now, priority=BULK, not_before=max(now, notice.send_at))
    return notice


def _queue(s: Session, notice: NoticeRow, person: PersonRow, now: datetime, key: str) -> int:
    to = delivery_for(s, person)
    if to is None:
        return 0
    return int(enqueue(s, key, to, "notice", _notice_text(notice.text, person.lang), now,
                       buttons=sign_button(notice.id, person.lang), priority=BULK,
                       not_before=max(now, notice.send_at), notice_id=notice.id))


def sign(s: Session, notice_id: int, person_id: int, now: datetime) -> bool:
    """Record a person's sign-off; False if they had already signed. UserError if the notice is not theirs."""
    sent_to = s.scalar(select(OutboxRow.id).where(OutboxRow.notice_id == notice_id,
                                                  OutboxRow.person_id == person_id).limit(1))
    if sent_to is None:
        raise UserError("That notice was not sent to you.")
    if s.scalar(select(SignatureRow.id).where(SignatureRow.notice_id == notice_id,
                                              SignatureRow.person_id == person_id)):
        return False
    s.add(SignatureRow(notice_id=notice_id, person_id=person_id, signed_at=now))
    s.flush()
    return True


def resend_unsigned(s: Session, notice_id: int, now: datetime) -> int:
    """Queue the notice again for everyone who has not signed for it, whether or not they received it (an
    explicit reminder); returns how many."""
    notice = _notice(s, notice_id)
    signed = set(s.scalars(select(SignatureRow.person_id).where(SignatureRow.notice_id == notice_id)))
    people = {p for p in s.scalars(select(OutboxRow.person_id).where(OutboxRow.notice_id == notice_id)) if p}
    return _queue_again(s, notice, people - signed, now)


def resend_undelivered(s: Session, notice_id: int, now: datetime) -> int:
    """Queue the notice again for those it could not be delivered to (every send of it to them failed); not for
    those who received it, nor for those whose delivery is uncertain or still under way. Returns how many."""
    notice = _notice(s, notice_id)
    statuses: dict[int, set[str]] = {}
    for person_id, status in s.execute(select(OutboxRow.person_id, OutboxRow.status)
                                       .where(OutboxRow.notice_id == notice_id)):
        if person_id is not None:
            statuses.setdefault(person_id, set()).add(status)
    return _queue_again(s, notice, {p for p, st in statuses.items() if st == {"failed"}}, now)


def _notice(s: Session, notice_id: int) -> NoticeRow:
    notice = s.get(NoticeRow, notice_id)
    if notice is None:
        raise UserError("There is no notice number {n}.", n=notice_id)
    return notice


def _queue_again(s: Session, notice: NoticeRow, people: set[int], now: datetime) -> int:
    notice_id = notice.id
    rounds = len(list(s.scalars(select(OutboxRow.id).where(OutboxRow.notice_id == notice_id))))
    queued = 0
    for person_id in sorted(people):
        person = s.get(PersonRow, person_id)
        if person is not None:
            queued += _queue(s, notice, person, now, f"notice:{notice_id}:{person_id}:again{rounds}")
    return queued
