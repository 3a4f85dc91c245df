"""Joining planbot: invite codes (also as /start deep links), language choice, who am I."""

from __future__ import annotations

from bot.errors import UserError
from bot.messages import Reply
from bot.services.people import ROLE_NAMES, redeem_invite, roles_of
from handlers import commands
from handlers.context import Ctx, text_reply
from handlers.states import State
from i18n import normalize, translator_for


def bind(ctx: Ctx, code: str) -> list[Reply]:
    """Redeem an invite code and say what the person may now do."""
    role = redeem_invite(ctx.s, ctx.ident, code.strip(), ctx.now)
    ctx.s.refresh(ctx.ident.person)
    ctx.roles = roles_of(ctx.ident.person, ctx.plan_row)
    t = ctx.t
    label = t(ROLE_NAMES[role.role])
    if role.unit is not None:
        unit = role.unit.name_zh if t.lang == "zh" else role.unit.name_en
        text = t("Welcome! You are now registered as {role} for {unit}.", role=label, unit=unit)
    else:
        text = t("Welcome! You are now registered as {role}.", role=label)
    return [text_reply(text + "\n" + commands.help_text(ctx))]


def start(ctx: Ctx, arg: str) -> list[Reply]:
    """/start, with an invite code from a deep link or without one."""
    if arg:
        return bind(ctx, arg)
    if ctx.roles.bound:
        return [text_reply(commands.help_text(ctx))]
    return [text_reply(ctx.t("Hello! I am planbot. Please send the invite code your administrator gave you."))]


def chosen_language(arg: str, text: str) -> str | None:
    """The language a /language message names (/language en, "English", "中文"), if it names one."""
    low, text = arg.lower(), text.lower()
    if low.startswith("en") or "english" in text or "英文" in text:
        return "en"
    if low.startswith("zh") or "中文" in text or "chinese" in text:
        return "zh_Hans"
    return None


def language(ctx: Ctx, arg: str) -> list[Reply]:
    """Switch the person's language (/language en, "English", "中文"), or offer the choice."""
    choice = chosen_language(arg, ctx.inbound.text or "")
    if choice is None:
        ctx.go(State.LANGUAGE)
        return [text_reply(ctx.t("Choose your language:"),
                           [ctx.button("中文", "lang", "zh_Hans"), ctx.button("English", "lang", "en")])]
    return set_language(ctx, choice)


def set_language(ctx: Ctx, locale: str) -> list[Reply]:
    """Keep the chosen language for this person and answer in it."""
    if locale not in ("zh_Hans", "en"):
        raise UserError("That button is not valid.")
    ctx.ident.person.lang = normalize(locale)
    ctx.t = translator_for(ctx.ident.person.lang)
    if ctx.state == State.LANGUAGE:  # the choice was the step; a report in progress is kept (and asked again)
        ctx.reset()
    return [text_reply(ctx.t("Language set: English."))]


def whoami(ctx: Ctx) -> list[Reply]:
    """The person's name, roles and units."""
    t = ctx.t
    if not ctx.roles.bound:
        return [text_reply(t("You are not registered yet. Please send the invite code your administrator gave you."))]
    contact = ROLE_NAMES["contact"]
    parts = [t("{role} of {unit}", role=t(contact), unit=ctx.plan.unit(u).name.get(t.lang))
             for u in ctx.roles.contact_units]
    parts += [t(ROLE_NAMES[r]) for r, held in (("leader", ctx.roles.leader), ("admin", ctx.roles.admin)) if held]
    joined = ("；" if t.lang == "zh" else "; ").join(parts)
    return [text_reply(t("You are {name}: {roles}.", name=ctx.ident.person.display_name, roles=joined))]
