"""Find a unit or an indicator from what a person typed: a code, a name, an alias or part of one."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.domain.plan import Indicator, Text, Unit

T = TypeVar("T", Unit, Indicator)


@dataclass(frozen=True)
class Ambiguous(Generic[T]):
    """More than one candidate matches."""

    query: str
    candidates: tuple[T, ...]


@dataclass(frozen=True)
class NotFound:
    """Nothing matches."""

    query: str


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).lower().replace("-", " ").split())  # high-level = high level


def _names(item: Unit | Indicator) -> list[str]:
    name: Text = item.name
    out = [item.code, name.zh, name.en]
    out += list(item.aliases)
    return [_norm(n) for n in out]


def find(query: str, items: Sequence[T]) -> T | Ambiguous[T] | NotFound:
    """The one item matching query (code, exact name or alias first, then a part of a name)."""
    q = _norm(query)
    if not q:
        return NotFound(query)
    exact = [i for i in items if q in _names(i)]
    if len(exact) == 1:
        return exact[0]
    if exact:
        return Ambiguous(query, tuple(exact))
    partial = [i for i in items if any(q in n for n in _names(i))]
    if len(partial) == 1:
        return partial[0]
    if partial:
        return Ambiguous(query, tuple(partial))
    return NotFound(query)
