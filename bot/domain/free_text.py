"""Free text people type (correction reasons, notes, notices) made safe to store and show (pure).

Control characters and the invisible bidirectional controls (which can make text display in another order than it
is stored: an override can turn "100" into "001") are removed. A reason or a note is kept on one line, so that it
cannot add lines of its own to an answer (a fake "• 大洼区, 2018Q2: 999家" line in /source); a notice keeps its
line breaks.
"""

from __future__ import annotations

import re
import unicodedata

MAX_REASON = 300  # characters of a correction's reason
MAX_NOTE = 500  # characters of a note
MAX_NOTICE = 4000  # characters of a notice: with its heading ("通知：") it fits one Telegram message (4,096)
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _drop(ch: str) -> bool:
    """A character to remove: a bidi control, or a control character other than tab and line breaks."""
    return ch in BIDI_CONTROLS or (unicodedata.category(ch) == "Cc" and ch not in "\t\n")


def one_line(text: str) -> str:
    """The text on one line: line breaks and runs of white space become one space; control and bidi characters
    are removed."""
    return " ".join("".join(" " if ch in "\t\n" else ch for ch in _LINE_BREAKS.sub("\n", text)
                            if not _drop(ch)).split())


def clean_block(text: str) -> str:
    """The text with its line breaks (as \\n) kept, control and bidi characters removed, trailing spaces trimmed."""
    lines = ("".join(ch for ch in line if not _drop(ch)).rstrip() for line in _LINE_BREAKS.sub("\n", text).split("\n"))
    return "\n".join(lines).strip("\n").strip()


def shortened(text: str, limit: int) -> str:
    """The text cut to at most limit characters, with … when it was longer."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def length(text: str) -> int:
    """Characters as Telegram counts them (UTF-16 code units: an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2
