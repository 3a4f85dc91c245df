"""Push-only chat groups (such as a WeCom group robot, 群机器人, in a leaders' group): which pushes the group of each
audience gets. A group is configured per audience; it receives a copy of the pushes below, in the default language,
without buttons (a group cannot sign or report)."""

from __future__ import annotations

AUDIENCES = ("leaders", "contacts", "admins")
_REMINDERS = {"digest": ("leaders",), "milestone": ("leaders",)}  # the weekly digest, milestone warnings
_NOTICES = {"all": AUDIENCES, "role:leader": ("leaders",), "role:contact": ("contacts",), "role:admin": ("admins",)}


def for_reminder(kind: str) -> tuple[str, ...]:
    """The audiences whose groups get a reminder of this kind (a unit's own reminders go to no group)."""
    return _REMINDERS.get(kind, ())


def for_notice(audience: str) -> tuple[str, ...]:
    """The audiences whose groups get a notice broadcast to this audience (one to some units goes to no group)."""
    return _NOTICES.get(audience, ())


def receiving(groups: tuple[tuple[str, str], ...], audiences: tuple[str, ...]) -> list[tuple[str, str]]:
    """The configured groups, (channel, audience), that are among audiences."""
    return [(channel, audience) for channel, audience in groups if audience in audiences]
