"""The named steps a conversation can be at; stored as their string value with the person's conversation."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a conversation stands; IDLE when nothing is in progress."""

    IDLE = ""
    LANGUAGE = "language"  # choosing a language
    REPORT_PICK = "report.pick"  # choosing which indicator to report
    REPORT_VALUE = "report.value"  # typing the figure (free text expected)
    REPORT_REASON = "report.reason"  # typing why a saved figure changes (free text expected)
    REPORT_CONFIRM = "report.confirm"  # confirming the figure before it is saved
    REPORT_NEXT = "report.next"  # saved; offered the next indicator still owed
    REPORT_GUESS = "report.guess"  # a name not quite matched: "did you mean ...?" with the candidates
    BROADCAST_TEXT = "broadcast.text"  # typing the notice, after asking for one in words (free text expected)
    BROADCAST_AUDIENCE = "broadcast.audience"  # choosing who receives a notice
    BROADCAST_CONFIRM = "broadcast.confirm"  # confirming the notice after its preview


# steps holding something the person has said but not yet confirmed: a new report or notice waits its turn
HOLDING = frozenset({State.REPORT_REASON, State.REPORT_CONFIRM, State.BROADCAST_AUDIENCE, State.BROADCAST_CONFIRM})
