"""What a message asks for: a /command or a keyword (Chinese or English) from the conversation table."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    """A recognised request and the rest of the message (arguments)."""

    name: str
    rest: str


def normalize(text: str) -> str:
    """NFKC, trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def recognise(text: str, slash: Mapping[str, str], keywords: Sequence[tuple[str, tuple[str, ...]]]
              ) -> Intent | None:
    """The request in text: a /command (with @botname stripped) or a keyword; None when neither.

    slash maps "/name" to a request; keywords lists (request, words): the longest word found wins; on a tie, the
    one that comes first in the message ("取消填报" cancels), then the request listed first."""
    s = normalize(text)
    if s.startswith("/"):
        head = s.partition(" ")[0]
        name = slash.get(head.split("@", 1)[0].lower())
        raw = text.strip()
        rest = raw[len(raw.split(maxsplit=1)[0]):].strip() if raw.split(maxsplit=1) else ""
        return Intent(name or "unknown_command", rest)  # the arguments as typed: a notice keeps every byte
    if s in ("?", "？"):
        return Intent("help", "")
    low = s.lower()
    best: tuple[int, int, str, tuple[str, ...]] | None = None
    for name, words in keywords:
        found = [(-len(w), low.find(w)) for w in words if _has(low, w)]
        if found:
            size, at = min(found)
            if best is None or (size, at) < best[:2]:
                best = (size, at, name, words)
    return Intent(best[2], _strip(s, best[3])) if best else None


def _has(low: str, word: str) -> bool:
    if word.isascii() and word.replace(" ", "").isalpha():
        return re.search(rf"\b{re.escape(word)}\b", low) is not None
    return word in low


def _strip(s: str, words: tuple[str, ...]) -> str:
    for w in sorted(words, key=len, reverse=True):
        i = s.lower().find(w)
        if i >= 0 and _has(s.lower(), w):
            s = s[:i] + s[i + len(w):]
    return " ".join(s.split()).strip(" ：:，,。.？?！!")
