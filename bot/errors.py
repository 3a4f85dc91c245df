"""Errors a person can fix, carried as a catalog message and its parameters so each is shown in their language."""

from __future__ import annotations

from bot.domain.free_text import one_line, shortened
from bot.domain.plan import Text
from i18n import Translator

ECHOES = frozenset({"text", "query", "given", "date", "role", "audience", "indicator", "unit"})  # what people typed
MAX_ECHO = 60  # characters of what a person typed, when a message quotes it back


class Word(str):
    """A catalog word given as a parameter of a message (a cadence, a role): shown in the reader's language too."""


class UserError(Exception):
    """Something the person asked for cannot be done; the message explains why, politely."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params

    def render(self, t: Translator) -> str:
        """The message in t's language; Text parameters (names) and Word parameters are given in that language too."""
        return t(self.msgid, **{k: v.get(t.lang) if isinstance(v, Text) else t(v) if isinstance(v, Word) else
                                echo(v) if k in ECHOES and isinstance(v, str) else v for k, v in self.params.items()})


def echo(text: str, limit: int = MAX_ECHO) -> str:
    """What a person typed, as a message quotes it back: on one line, at most limit characters (… when cut)."""
    return shortened(one_line(text), limit)


class ChannelRefused(Exception):
    """A chat platform refused planbot's credentials (a revoked token): the process stops with a clear error."""
