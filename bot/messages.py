"""What channels hand to the conversations (Inbound) and what they get back to render (Reply)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Inbound:
    """One message or button press from a person, as any channel sees it."""

    channel: str  # "console", "telegram", "wecom"
    sender: str  # the platform's stable id of the person
    chat: str  # where to answer (a private chat or a group)
    message_id: str  # the platform's id of this message; the same id is handled once
    text: str | None = None
    payload: str | None = None  # callback data of a pressed button
    sender_name: str | None = None
    lang_hint: str | None = None  # the platform's language code, used on first contact
    is_group: bool = False


@dataclass(frozen=True)
class Button:
    """A choice offered under a reply; payload comes back as Inbound.payload when pressed."""

    label: str
    payload: str
    words: tuple[str, ...] = ()  # other things a person may type to choose it (an indicator's aliases, 全体)


@dataclass(frozen=True)
class Reply:
    """One message back: text, optional rows of buttons, an optional image file."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    image: Path | None = None
    document: Path | None = None  # a file to download (the Excel workbook)
    expects_text: bool = False  # the person is asked to type something (a number typed is not a choice)
    chat: str | None = None  # send to another chat than the inbound's (None: answer where asked)
    asks: str | None = None  # the question alone, when the text also gives news ("Saved: ..."): asked again as is

    @property
    def flat_buttons(self) -> list[Button]:
        """Every button, row by row."""
        return [b for row in self.buttons for b in row]


@dataclass
class Outcome:
    """Replies to send, and whether the inbound was a duplicate that was ignored."""

    replies: list[Reply] = field(default_factory=list)
    duplicate: bool = False
    handled: str = ""  # what understood it: "command:lagging", "button:confirm", "figure", "reask", "unknown", ...
    refused: bool = False  # answered with a polite refusal (a figure that does not fit, a role that may not)
    held: tuple[int | None, ...] = ()  # per reply, the outbox row holding it (a reply to a committed action)
    person_id: int | None = None  # who the held replies go to
    lang: str | None = None  # the language the replies are in ("zh", "en"): what the channel adds says it alike
