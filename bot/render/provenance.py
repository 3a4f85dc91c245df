"""Provenance in words: who reported a figure, when, through which channel, and each correction with its reason."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from bot.domain.free_text import MAX_REASON, one_line, shortened
from bot.domain.plan import Indicator
from bot.render.text import value_text
from i18n import Translator

VIA = {"chat": "chat", "console": "console", "telegram": "Telegram", "wecom": "WeCom", "cli": "CLI",
       "import": "import"}


class Revision(Protocol):
    """What a line of provenance needs of a figure's revision."""

    value: Decimal
    previous_value: Decimal | None
    entered_by: str
    entered_at: datetime
    via: str
    reason: str | None


def via_name(via: str) -> str:
    """The channel a figure came through, as people call it."""
    return VIA.get(via, via)


def local_day(at: datetime, tz: object) -> date:
    """The day an instant falls on in the plan's zone (a notice sent at 01:00 in Shanghai is that day, not the day
    before in UTC)."""
    return at.astimezone(tz).date()  # type: ignore[arg-type]


def local_time(at: datetime, tz: object) -> str:
    """An instant as yyyy-mm-dd HH:MM in the plan's zone."""
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")  # type: ignore[arg-type]


def quoted(text: str | None, limit: int, *, marks: bool = True) -> str:
    """Stored free text shown safely: on one line, without control or bidi characters, shortened, in quotes."""
    if not text:
        return "—"
    clean = shortened(one_line(text), limit)
    return f"“{clean}”" if marks else clean


def revision_line(ind: Indicator, rev: Revision, t: Translator, tz: object) -> str:
    """One revision: "12家, reported by … on … via …", or "corrected 12家 → 13家 by … ; reason: “…”". Names and
    reasons are shown on one line, so that a reason cannot add a provenance line of its own."""
    when, how, who = local_time(rev.entered_at, tz), via_name(rev.via), quoted(rev.entered_by, 80, marks=False)
    if rev.previous_value is None:
        return t("{value}, reported by {who} on {when} via {via}", value=value_text(ind, rev.value, t),
                 who=who, when=when, via=how)
    return t("corrected {old} → {new} by {who} on {when} via {via}; reason: {reason}",
             old=value_text(ind, rev.previous_value, t), new=value_text(ind, rev.value, t),
             who=who, when=when, via=how, reason=quoted(rev.reason, MAX_REASON))
