"""Turning what a person typed into plan objects: a unit, an indicator, a value."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.figures import FigureError, parse_figure
from bot.domain.lookup import Ambiguous, NotFound, T, find
from bot.domain.plan import Indicator, Kind, Plan, Unit
from bot.errors import UserError

FIGURE_MESSAGES = {
    "empty": "Please give a value.",
    "no_number": "I found no number in “{text}”.",
    "two_numbers": "“{text}” has more than one number; send one figure at a time.",
    "not_a_number": "“{text}” is not a number I can read.",
    "exponent": "Please write the number out in full, without an exponent: “{text}”.",
    "negative": "The value cannot be negative here: “{text}”.",
    "too_many_decimals": "At most 4 decimal places, please: “{text}”.",
    "bad_separator": "The thousands separators in “{text}” are in the wrong place.",
    "mixed": "“{text}” mixes Arabic and Chinese digits.",
}


def _one(query: str, items: tuple[T, ...], none: str, several: str) -> T:
    found = find(query, items)
    if isinstance(found, NotFound):
        raise UserError(none, query=query)
    if isinstance(found, Ambiguous):
        names = "; ".join(f"{c.code} ({c.name.zh} / {c.name.en})" for c in found.candidates[:8])
        raise UserError(several, query=query, names=names)
    return found


def lookup_unit(plan: Plan, query: str) -> Unit:
    """The unit named by query (code or part of a name); UserError when none or several match."""
    return _one(query, plan.units, "No unit matches “{query}”.",
                "“{query}” matches several units: {names}. Please be more precise.")


def lookup_indicator(plan: Plan, query: str) -> Indicator:
    """The indicator named by query (code, alias or part of a name); UserError when none or several match."""
    return _one(query, plan.indicators, "No indicator matches “{query}”.",
                "“{query}” matches several indicators: {names}. Please be more precise.")


def read_value(ind: Indicator, text: str) -> Decimal:
    """The value of text for this indicator: a number, a percentage or, for staged ones, a stage."""
    if ind.kind is Kind.STAGED:
        for i, stage in enumerate(ind.stages):
            if text.strip() in (stage.code, stage.name.zh, stage.name.en, str(i)):
                return Decimal(i)
        names = ", ".join(f"{i} {s.code}" for i, s in enumerate(ind.stages))
        raise UserError("“{text}” is not a stage of this indicator. Stages: {names}", text=text, names=names)
    try:
        parsed = parse_figure(text, allow_negative=ind.kind is Kind.GROWTH)
    except FigureError as e:
        raise UserError(FIGURE_MESSAGES.get(e.reason, FIGURE_MESSAGES["not_a_number"]), text=text) from None
    return parsed.value
