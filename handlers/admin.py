"""Administration in chat: invite codes."""

from __future__ import annotations

from datetime import timedelta

from bot.errors import UserError
from bot.messages import Reply
from bot.services.entry import lookup_unit
from bot.services.people import ROLE_NAMES, ROLES, create_invite, parse_duration
from handlers.context import Ctx, text_reply

DEFAULT_EXPIRY = timedelta(days=7)


# a role said in words: 邀请盘山县联系人, 邀请一位领导, invite an admin
ROLE_WORDS = {"联系人": "contact", "联络员": "contact", "填报人": "contact", "填报员": "contact", "领导": "leader",
              "管理员": "admin", "contact": "contact", "leader": "leader", "admin": "admin"}
FILLER = ("生成", "一位", "一名", "一个", "新的", "的", "给", "为")
FILLER_WORDS = frozenset({"a", "an", "the", "new", "code", "for", "of"})


def invite(ctx: Ctx, arg: str) -> list[Reply]:
    """/invite UNIT contact [7d], /invite leader [3d], 邀请盘山县联系人: a one-time code to hand to the person."""
    words = arg.split()
    role = next((w for w in words if w in ROLES), None)
    expiry = next((w for w in words if w[:-1].isdigit() and w[-1:] in "mhdw"), None)
    unit_words = [w for w in words if w not in (role, expiry)]
    rest = " ".join(unit_words)
    if role is None and (said := next((w for w in ROLE_WORDS if w in arg.lower()), None)) is not None:
        role, rest = ROLE_WORDS[said], rest.lower().replace(said, " ")
    for filler in FILLER:
        rest = rest.replace(filler, " ")
    unit_words = [w for w in rest.split() if w.lower() not in FILLER_WORDS]
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
