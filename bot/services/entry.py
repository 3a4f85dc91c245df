"""Turning what a person typed into plan objects: a unit, an indicator, a value."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from bot.domain.figures import FigureError, ParsedFigure, parse_figure
from bot.domain.lookup import Ambiguous, NotFound, T, find
from bot.domain.plan import Indicator, Kind, Plan, Unit
from bot.domain.rules import MAX_DECIMALS
from bot.errors import UserError
from i18n import N_

FIGURE_MESSAGES = {
    "empty": N_("Please give a value."),
    "no_number": N_("I found no number in “{text}”."),
    "two_numbers": N_("“{text}” has more than one number; send one figure at a time."),
    "not_a_number": N_("“{text}” is not a number I can read."),
    "exponent": N_("Please write the number out in full, without an exponent: “{text}”."),
    "negative": N_("The value cannot be negative here: “{text}”."),
    "too_many_decimals": N_("At most {n} decimal places, please: “{text}”."),
    "bad_separator": N_("The thousands separators in “{text}” are in the wrong place."),
    "mixed": N_("“{text}” mixes Arabic and Chinese digits."),
}


def _one(query: str, items: tuple[T, ...], none: str, several: str) -> T:
    found = find(query, items)
    if isinstance(found, NotFound):
        raise UserError(none, query=query)
    if isinstance(found, Ambiguous):
        names = "; ".join(f"{c.code} ({c.name.zh} / {c.name.en})" for c in found.candidates[:8])  # both languages
        raise UserError(several, query=query, names=names)
    return found


def lookup_unit(plan: Plan, query: str) -> Unit:
    """The unit named by query (code or part of a name); UserError when none or several match."""
    return _one(query, plan.units, N_("No unit matches “{query}”."),
                N_("“{query}” matches several units: {names}. Please be more precise."))


def lookup_indicator(plan: Plan, query: str) -> Indicator:
    """The indicator named by query (code, alias or part of a name); UserError when none or several match."""
    return _one(query, plan.indicators, N_("No indicator matches “{query}”."),
                N_("“{query}” matches several indicators: {names}. Please be more precise."))


def read_figure(ind: Indicator, text: str) -> ParsedFigure:
    """Parse text as one figure for this indicator; UserError with the reason when it cannot be read."""
    try:
        return parse_figure(text, allow_negative=ind.kind is Kind.GROWTH)
    except FigureError as e:
        raise UserError(FIGURE_MESSAGES.get(e.reason, FIGURE_MESSAGES["not_a_number"]), text=text,
                        n=MAX_DECIMALS) from None


def read_value(ind: Indicator, text: str) -> Decimal:
    """The value of text for this indicator: a number, a percentage or, for staged ones, a stage."""
    if ind.kind is Kind.STAGED:
        for i, stage in enumerate(ind.stages):
            if text.strip() in (stage.code, stage.name.zh, stage.name.en, str(i)):
                return Decimal(i)
        names = ", ".join(f"{i} {s.code}" for i, s in enumerate(ind.stages))
        raise UserError("“{text}” is not a stage of this indicator. Stages: {names}", text=text, names=names)
    return figure_for(ind, read_figure(ind, text), text)


def _norm(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).lower().split())


def match_indicator(plan: Plan, text: str) -> Indicator | None:
    """The indicator a sentence speaks of: a lookup of the whole text, else the longest name or alias inside it."""
    found = find(text, plan.indicators) if text.strip() else None
    if isinstance(found, Indicator):
        return found
    low = _norm(text)
    best: tuple[int, Indicator] | None = None
    tie = False
    for ind in plan.indicators:
        for name in (ind.name.zh, ind.name.en, ind.code, *ind.aliases):
            n = _norm(name)
            if len(n) >= 2 and n in low:
                if best is None or len(n) > best[0]:
                    best, tie = (len(n), ind), False
                elif len(n) == best[0] and best[1] is not ind:
                    tie = True
    return None if best is None or tie else best[1]


def figure_for(ind: Indicator, parsed: ParsedFigure, text: str) -> Decimal:
    """Check that a parsed figure fits the indicator (measure word, percent) and return its value."""
    if ind.is_percent:
        if parsed.measure:
            raise UserError("{indicator} is a percentage; “{text}” gives a count.",
                            indicator=ind.name, text=text)
        return parsed.value
    if parsed.percent:
        raise UserError("{indicator} is counted in {measure}, not as a percentage.",
                        indicator=ind.name, measure=ind.measure)
    if parsed.measure and parsed.measure != ind.measure.zh and not _same_measure(parsed.measure, ind.measure.zh):
        raise UserError("{indicator} is counted in {measure}, not {given}.", indicator=ind.name,
                        measure=ind.measure, given=parsed.measure)
    return parsed.value


def _same_measure(given: str, expected: str) -> bool:
    """人 and 名 both count people; 人次 is its own measure."""
    people = {"人", "名"}
    return given in people and expected in people
