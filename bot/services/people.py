"""People and their roles: identities per channel, one-time invite codes, binding, lockout, audit."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.db.chat_models import AuditRow, IdentityRow, InviteAttemptRow, InviteRow, PersonRow, RoleRow
from bot.db.models import PlanRow, UnitRow
from bot.errors import UserError
from i18n import N_

ROLES = ("contact", "leader", "admin")
ROLE_NAMES = {"contact": N_("unit contact"), "leader": N_("leader"), "admin": N_("admin")}
MAX_FAILURES = 5
LOCK_WINDOW = timedelta(minutes=15)
CODE_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True)
class Roles:
    """What a person may do: report for these units, ask as a leader, administer."""

    contact_units: tuple[str, ...]
    leader: bool
    admin: bool

    @property
    def bound(self) -> bool:
        """Whether the person holds any role at all."""
        return bool(self.contact_units) or self.leader or self.admin


def roles_of(person: PersonRow, plan_row: PlanRow) -> Roles:
    """The roles a person holds in the active plan."""
    return roles_from([(r.role, r.unit.code if r.unit else None, r.unit.plan_id if r.unit else None)
                       for r in person.roles], plan_row.id)


def roles_from(rows: list[tuple[str, str | None, int | None]], plan_id: int) -> Roles:
    """Roles from (role, unit code, the unit's plan id) rows: contacts count only for units of the plan plan_id."""
    units = tuple(code for role, code, unit_plan in rows if role == "contact" and code is not None
                  and unit_plan == plan_id)
    return Roles(units, any(r[0] == "leader" for r in rows), any(r[0] == "admin" for r in rows))


def identity_for(s: Session, channel: str, external_id: str, chat_id: str | None, name: str | None,
                 lang_hint: str | None, now: datetime) -> IdentityRow:
    """The identity (and person) behind a sender, created on first contact with the platform's language hint."""
    ident = s.scalar(select(IdentityRow).where(IdentityRow.channel == channel, IdentityRow.external_id == external_id))
    if ident is None:
        from i18n import normalize

        person = PersonRow(display_name=name or external_id, lang=normalize(lang_hint) if lang_hint else None,
                           created_at=now, active=True)
        ident = IdentityRow(channel=channel, external_id=external_id, chat_id=chat_id, person=person)
        s.add(ident)
        s.flush()
    elif chat_id and ident.chat_id != chat_id and not chat_id.startswith("-"):
        ident.chat_id = chat_id
    return ident


def audit(s: Session, actor: str, action: str, now: datetime, **detail: object) -> None:
    """Record who changed who may do what."""
    s.add(AuditRow(at=now, actor=actor, action=action, detail=json.dumps(detail, ensure_ascii=False, default=str)))


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def parse_duration(text: str) -> timedelta:
    """7d, 12h, 30m or 2w as a timedelta; UserError otherwise."""
    m = re.fullmatch(r"\s*([0-9０-９]+)\s*([mhdw])\s*", text or "")
    if not m or int(m.group(1)) == 0:
        raise UserError("Cannot read the duration {text}: write 7d, 12h, 30m or 2w.", text=text)
    n, unit = int(m.group(1)), m.group(2)
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


def create_invite(s: Session, plan_row: PlanRow, role: str, unit_code: str | None, expires: timedelta,
                  created_by: str, now: datetime) -> tuple[str, InviteRow]:
    """A new one-time invite code (144 random bits); only its hash is stored."""
    if role not in ROLES:
        raise UserError("Unknown role {role}: choose contact, leader or admin.", role=role)
    unit = None
    if role == "contact" and not unit_code:
        raise UserError("An invite for a unit contact needs a unit.")
    if unit_code and role != "admin":  # a leader invited for a unit is that unit's leader contact
        unit = s.scalar(select(UnitRow).where(UnitRow.plan_id == plan_row.id, UnitRow.code == unit_code))
        if unit is None:
            raise UserError("No unit matches “{query}”.", query=unit_code)
    code = secrets.token_urlsafe(18)
    row = InviteRow(code_hash=_hash(code), role=role, unit_id=unit.id if unit else None, created_by=created_by,
                    created_at=now, expires_at=now + expires)
    s.add(row)
    s.flush()
    audit(s, created_by, "invite.create", now, invite=row.id, role=role, unit=unit_code,
          expires=row.expires_at.isoformat())
    return code, row


def looks_like_code(text: str) -> bool:
    """Whether text has the shape of an invite code."""
    return bool(CODE_SHAPE.match(text.strip()))


def _aware(dt: datetime, like: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=like.tzinfo)


def redeem_invite(s: Session, ident: IdentityRow, code: str, now: datetime) -> RoleRow:
    """Bind the person to the invite's role and unit; wrong codes count towards a 15-minute lockout."""
    since = now - LOCK_WINDOW
    failures = list(s.scalars(select(InviteAttemptRow.at).where(
        InviteAttemptRow.channel == ident.channel, InviteAttemptRow.external_id == ident.external_id,
        InviteAttemptRow.at > since)))
    if len(failures) >= MAX_FAILURES:
        until = (max(_aware(f, now) for f in failures) + LOCK_WINDOW).astimezone(now.tzinfo)  # stored in UTC
        raise UserError("Too many wrong codes. Please try again after {time}.", time=until.strftime("%H:%M"))
    invite = s.scalar(select(InviteRow).where(InviteRow.code_hash == _hash(code)).with_for_update(of=InviteRow))
    problem = None
    if invite is None:
        problem = N_("That invite code is not valid. Please check it, or ask your administrator for a new one.")
    elif invite.used_at is not None:
        problem = N_("That invite code has already been used. Please ask your administrator for a new one.")
    elif _aware(invite.expires_at, now) <= now:
        problem = N_("That invite code has expired. Please ask your administrator for a new one.")
    if problem is not None or invite is None:
        s.add(InviteAttemptRow(channel=ident.channel, external_id=ident.external_id, at=now))
        raise UserError(problem or N_("That invite code is not valid."))
    invite.used_at, invite.used_by = now, ident.person_id
    person = ident.person
    role = next((r for r in person.roles if r.role == invite.role and r.unit_id == invite.unit_id), None)
    if role is None:
        role = RoleRow(role=invite.role, unit_id=invite.unit_id, granted_at=now, granted_by=invite.created_by)
        person.roles.append(role)
    s.execute(delete(InviteAttemptRow).where(InviteAttemptRow.channel == ident.channel,
                                             InviteAttemptRow.external_id == ident.external_id))
    s.flush()
    audit(s, f"{ident.channel}:{ident.external_id}", "invite.redeem", now, invite=invite.id, person=person.id,
          role=invite.role, unit=invite.unit.code if invite.unit else None)
    return role


def grant(s: Session, person: PersonRow, role: str, unit: UnitRow | None, by: str, now: datetime) -> None:
    """Give a person a role directly (the local console user, demo people); recorded in the audit log."""
    if any(r.role == role and r.unit_id == (unit.id if unit else None) for r in person.roles):
        return
    person.roles.append(RoleRow(role=role, unit_id=unit.id if unit else None, granted_at=now, granted_by=by))
    s.flush()
    audit(s, by, "role.grant", now, person=person.id, role=role, unit=unit.code if unit else None)
