"""Binding WeCom members to units from a file (`planbot people import`): each row a WeCom userid, a role and (for
a contact) a unit; every row checked first, then all bound in one transaction, or nothing. Importing the same file
again changes nothing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.chat_models import IdentityRow
from bot.db.models import UnitRow
from bot.domain.plan import Plan
from bot.errors import UserError
from bot.services.entry import lookup_unit
from bot.services.imports import ImportRejected, RowProblem, read_table
from bot.services.people import audit, grant, identity_for
from bot.services.plans import active_plan

CHANNEL = "wecom"
COLUMNS = {
    "userid": ("userid", "user id", "user_id", "账号", "帐号", "成员账号", "用户id", "企业微信账号"),
    "name": ("name", "姓名", "名字"),
    "unit": ("unit", "单位", "所属单位"),
    "role": ("role", "角色", "身份"),
}
ROLE_WORDS = {
    "contact": "contact", "联络员": "contact", "联系人": "contact", "填报人": "contact",
    "leader": "leader", "领导": "leader", "分管领导": "leader",
    "admin": "admin", "管理员": "admin",
}
USERID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")  # WeCom's userid: 1-64 of letters, digits, _ - . @
NAME_CHARS = 64


@dataclass(frozen=True)
class PeopleImport:
    """What an import did: rows read, members seen for the first time, roles granted now."""

    rows: int
    new_members: int
    new_roles: int


@dataclass(frozen=True)
class _Row:
    userid: str
    name: str | None
    role: str
    unit: str | None


def _read(cells: dict[str, str], plan: Plan) -> _Row:
    """One row checked: a valid userid, a known role, a unit where the role needs one, a plain name."""
    userid = cells["userid"]
    if not userid:
        raise UserError("No userid.")
    if not USERID.fullmatch(userid):
        raise UserError("“{userid}” is not a WeCom userid (1 to 64 letters, digits, _ - . @).", userid=userid[:80])
    role = ROLE_WORDS.get(cells.get("role", "").strip().lower() or "contact")
    if role is None:
        raise UserError("Unknown role “{role}”: write contact (联络员), leader (领导) or admin (管理员).",
                        role=cells["role"][:40])
    unit = lookup_unit(plan, cells["unit"]).code if cells.get("unit") else None
    if role == "contact" and unit is None:
        raise UserError("A contact needs a unit.")
    name = unicodedata.normalize("NFKC", cells.get("name") or "").strip() or None
    if name is not None and (len(name) > NAME_CHARS or any(unicodedata.category(c)[0] == "C" for c in name)):
        raise UserError("The name is longer than {n} characters or holds control characters.", n=NAME_CHARS)
    return _Row(userid, name, role, unit)


def import_people(uow: sessionmaker[Session], path: Path, who: str, now: datetime) -> PeopleImport:
    """Bind every row's WeCom userid to its role (and unit), or none: ImportRejected lists each bad row."""
    table = read_table(path, COLUMNS, ("userid", "role"))
    problems: list[RowProblem] = []
    seen: dict[tuple[str, str, str | None], int] = {}
    checked: list[_Row] = []
    with uow() as s, s.begin():
        plan_row, plan = active_plan(s)
        for n, cells in table:
            try:
                row = _read(cells, plan)
                key = (row.userid.lower(), row.role, row.unit)
                if key in seen:
                    raise UserError("Same userid, role and unit as row {row}.", row=seen[key])
                seen[key] = n
                checked.append(row)
            except UserError as e:
                problems.append(RowProblem(n, e))
        if problems:
            raise ImportRejected(problems)
        units = {u.code: u for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == plan_row.id))}
        known = set(s.scalars(select(IdentityRow.external_id).where(IdentityRow.channel == CHANNEL)))
        new_members = new_roles = 0
        for row in checked:
            new_members += row.userid not in known
            known.add(row.userid)
            ident = identity_for(s, CHANNEL, row.userid, row.userid, row.name or row.userid, None, now)
            if row.name and ident.person.display_name != row.name:
                ident.person.display_name = row.name
            before = len(ident.person.roles)
            grant(s, ident.person, row.role, units[row.unit] if row.unit else None, who, now)
            new_roles += len(ident.person.roles) - before
        if new_members or new_roles:  # (grant() audits each role; this says where they came from)
            audit(s, who, "people.import", now, file=path.name, rows=len(checked), new_members=new_members,
                  new_roles=new_roles)
    return PeopleImport(len(checked), new_members, new_roles)
