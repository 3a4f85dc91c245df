"""Who receives a reminder: a unit's contacts, its leader contact, lead units, admins, leaders."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.chat_models import PersonRow, RoleRow
from bot.db.models import PlanRow, UnitRow


def _with_role(s: Session, plan_row: PlanRow, role: str, units: Iterable[str] | None) -> list[PersonRow]:
    stmt = select(PersonRow).join(RoleRow, RoleRow.person_id == PersonRow.id).where(
        RoleRow.role == role, PersonRow.active.is_(True))
    if units is not None:
        stmt = stmt.join(UnitRow, RoleRow.unit_id == UnitRow.id).where(UnitRow.plan_id == plan_row.id,
                                                                       UnitRow.code.in_(list(units)))
    return list(s.scalars(stmt.distinct().order_by(PersonRow.id)))


def contacts(s: Session, plan_row: PlanRow, units: Iterable[str]) -> list[PersonRow]:
    """Active contacts of these units."""
    return _with_role(s, plan_row, "contact", units)


def unit_leaders(s: Session, plan_row: PlanRow, units: Iterable[str]) -> list[PersonRow]:
    """Active leader contacts bound to these units (a leader invited for a unit)."""
    return _with_role(s, plan_row, "leader", units)


def admins(s: Session, plan_row: PlanRow) -> list[PersonRow]:
    """Active admins."""
    return _with_role(s, plan_row, "admin", None)


def leaders(s: Session, plan_row: PlanRow) -> list[PersonRow]:
    """Active leaders (of any unit or of the whole plan)."""
    return _with_role(s, plan_row, "leader", None)


def everyone(s: Session) -> list[PersonRow]:
    """Every active person who holds a role."""
    stmt = select(PersonRow).join(RoleRow, RoleRow.person_id == PersonRow.id).where(PersonRow.active.is_(True))
    return list(s.scalars(stmt.distinct().order_by(PersonRow.id)))


def unique(people: Iterable[PersonRow]) -> list[PersonRow]:
    """People without repeats, in order."""
    seen: dict[int, PersonRow] = {}
    for p in people:
        seen.setdefault(p.id, p)
    return list(seen.values())


def for_audience(s: Session, plan_row: PlanRow, audience: str, unit: str | None,
                 lead_units: tuple[str, ...]) -> list[PersonRow]:
    """The people a reminder of this audience goes to."""
    if audience == "contacts":
        return contacts(s, plan_row, [unit] if unit else [])
    if audience == "unit_leader":
        return unit_leaders(s, plan_row, [unit] if unit else [])
    if audience == "lead_units":
        return contacts(s, plan_row, lead_units)
    if audience == "lead_and_admins":
        return unique([*contacts(s, plan_row, lead_units), *admins(s, plan_row)])
    if audience == "leaders":
        return leaders(s, plan_row)
    raise ValueError(f"unknown audience {audience!r}")
