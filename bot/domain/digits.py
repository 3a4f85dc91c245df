"""Which characters count as digits: ASCII and full-width ones (Chinese numerals are read elsewhere) (pure).

Unicode has many more characters that NFKC or int() turn into digits (², ①, 𝟏, ١, ⒓); a person does not type them
to mean a figure, so they are refused rather than read.
"""

from __future__ import annotations

import re
import unicodedata

_PLAIN = re.compile(r"[0-9０-９]+")


def is_plain_digit(ch: str) -> bool:
    """An ASCII digit 0-9 or a full-width one ０-９."""
    return "0" <= ch <= "9" or "０" <= ch <= "９"


def odd_digit(text: str) -> str | None:
    """The first character that stands for a digit but is neither ASCII nor full-width (², ①, 𝟏, ١); else None."""
    for ch in text:
        if ch.isascii() or is_plain_digit(ch):
            continue
        if unicodedata.category(ch) == "Nd" or any("0" <= c <= "9" for c in unicodedata.normalize("NFKC", ch)):
            return ch
    return None


def choice_number(text: str) -> int | None:
    """The number of a numbered choice typed as ASCII or full-width digits ("2", "２"); None for anything else."""
    s = text.strip()
    if not _PLAIN.fullmatch(s) or len(s) > 6:
        return None
    return int(unicodedata.normalize("NFKC", s))
