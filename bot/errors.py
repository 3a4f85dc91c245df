"""Errors a person can fix, carried as a catalog message and its parameters so each is shown in their language."""

from __future__ import annotations

from bot.domain.plan import Text
from i18n import Translator


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
        return t(self.msgid, **{k: v.get(t.lang) if isinstance(v, Text) else t(v) if isinstance(v, Word) else v
                                for k, v in self.params.items()})


class ChannelRefused(Exception):
    """A chat platform refused planbot's credentials (a revoked token): the process stops with a clear error."""
