"""Administration in chat: invite codes."""

from __future__ import annotations

from datetime import timedelta

from bot.errors import UserError
from bot.messages import Reply
from bot.services.entry import lookup_unit
from bot.services.people import ROLE_NAMES, ROLES, create_invite, parse_duration
from handlers.context import Ctx, text_reply

DEFAULT_EXPIRY = timedelta(days=7)


def invite(ctx: Ctx, arg: str) -> list[Reply]:
    """/invite UNIT contact [7d], /invite leader [3d]: a one-time code to hand to the person."""
    words = arg.split()
    role = next((w for w in words if w in ROLES), None)
    expiry = next((w for w in words if w[:-1].isdigit() and w[-1:] in "mhdw"), None)
    unit_words = [w for w in words if w not in (role, expiry)]
    if role is None:
        role = "contact" if unit_words else None
    if role is None:
        raise UserError("Usage: /invite UNIT contact [7d], or /invite leader|admin [7d]")
    unit = lookup_unit(ctx.plan, " ".join(unit_words)) if role == "contact" or unit_words else None
    code, row = create_invite(ctx.s, ctx.plan_row, role, unit.code if unit else None,
                              parse_duration(expiry) if expiry else DEFAULT_EXPIRY, ctx.who, ctx.now)
    t = ctx.t
    head = (t("Invite code for {role} of {unit}:", role=t(ROLE_NAMES[role]), unit=unit.name.get(t.lang)) if unit
            else t("Invite code for {role}:", role=t(ROLE_NAMES[role])))
    lines = [head, code,
             t("Valid until {date}; it works once.", date=t.date(row.expires_at.date()))]
    if ctx.app.telegram_username:
        lines.append(t("Or open: {link}", link=f"https://t.me/{ctx.app.telegram_username}?start={code}"))
    return [text_reply("\n".join(lines))]
