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
    return "".join(unicodedata.normalize("NFKC", s).lower().replace("-", " ").split())  # high-level = high level


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


_UNIT_SUFFIXES = ("人民政府", "管理委员会", "管委会")
_PLACE_SUFFIXES = ("生态经济区", "新区", "区", "县")


def unit_names(unit: Unit) -> list[str]:
    """What people call a unit in a sentence: its names, aliases and codes, and short forms (盘山县, 盘山; 科技局)."""
    zh = unit.name.zh
    names = [zh, unit.code, unit.name.en, *unit.aliases]
    for suffix in _UNIT_SUFFIXES:
        if zh.endswith(suffix):
            zh = zh[: -len(suffix)]
            names.append(zh)
    if unit.kind in ("district", "county", "zone"):
        for suffix in _PLACE_SUFFIXES:
            if zh.endswith(suffix) and len(zh) - len(suffix) >= 2:
                names.append(zh[: -len(suffix)])
                break
        if unit.kind != "zone":
            names.append(unit.name.en.split()[0])
    elif zh.startswith("市") and len(zh) >= 4:
        names.append(zh[1:])
    return [n for n in names if len(n) >= 2]


_NameIndex = dict[str, list[tuple[str, int, Unit]]]  # first character -> (name, plan order, unit)
_INDEXES: dict[int, tuple[Plan, _NameIndex]] = {}  # id(plan) -> (plan, its unit names by first character)


def _unit_index(plan: Plan) -> _NameIndex:
    """Every unit name of the plan, lower-cased, by its first character; built once per plan."""
    hit = _INDEXES.get(id(plan))
    if hit is not None and hit[0] is plan:
        return hit[1]
    index: _NameIndex = {}
    order = 0
    for unit in plan.units:
        for name in unit_names(unit):
            n = name.lower()
            index.setdefault(n[0], []).append((n, order, unit))
            order += 1
    if len(_INDEXES) >= 8:  # plans are few (one active, the odd test or demo plan): keep the newest
        _INDEXES.pop(next(iter(_INDEXES)))
    _INDEXES[id(plan)] = (plan, index)
    return index


def find_unit_in(plan: Plan, text: str) -> tuple[Unit | None, str]:
    """The unit a sentence names (盘山高企12家 -> 盘山县人民政府) and the sentence without its name; the longest
    name wins (then the first in the plan), and a name inside an indicator's name (高新区) does not count."""
    norm = unicodedata.normalize("NFKC", text)
    low = norm.lower()
    index = _unit_index(plan)
    best: tuple[int, int, int, Unit] | None = None  # (-length, plan order, position, unit): the smallest wins
    for i, c in enumerate(low):
        for n, order, unit in index.get(c, ()):
            if low.startswith(n, i) and _whole_word(low, n, i):
                key = (-len(n), order, i, unit)
                if best is None or key[:3] < best[:3]:
                    best = key
    if best is None:
        return None, text
    size, at, unit = -best[0], best[2], best[3]
    inside = [nm for ind in plan.indicators for nm in (ind.name.zh, *ind.aliases) if len(nm) > size]
    for nm in inside:
        j = low.find(nm.lower())
        if 0 <= j <= at and at + size <= j + len(nm):
            return None, text
    return unit, (norm[:at] + " " + norm[at + size:]).strip()


def _whole_word(low: str, name: str, i: int) -> bool:
    """An ASCII name counts only as a whole word ("ab" not inside "tab1"); other names anywhere."""
    if not name.isascii():
        return True
    end = i + len(name)
    return not (i > 0 and _word_char(low[i - 1])) and not (end < len(low) and _word_char(low[end]))


def _word_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def guess_indicators(plan: Plan, text: str, limit: int = 3) -> list[Indicator]:
    """Indicators whose name or alias is close to text (a typo: 高心技术企业), best first."""
    from rapidfuzz import fuzz

    q = _norm(text)
    if len(q) < 2:
        return []
    scored: list[tuple[float, Indicator]] = []
    for ind in plan.indicators:
        names = [_norm(n) for n in (ind.name.zh, ind.name.en, *ind.aliases) if len(n) >= 2]
        score = max(max(fuzz.ratio(q, n), fuzz.partial_ratio(q, n) if len(q) >= 4 and len(n) >= 4 else 0,
                        _reordered(q, n)) for n in names)
        if score >= 75:
            scored.append((score, ind))
    scored.sort(key=lambda si: -si[0])
    return [ind for _, ind in scored[:limit]]


def _reordered(q: str, name: str) -> float:
    """How close q is to a name with its parts in another order (人才引进 / 引进人才): the characters of a Chinese
    name, or the words of an English one, compared sorted; short queries are left to the other scores."""
    if len(q) < 3 or len(name) < 3:
        return 0.0
    from rapidfuzz import fuzz

    if q.isascii():
        return 0.0  # English names keep their spaces only before _norm; ratio and partial_ratio cover them
    return float(fuzz.token_sort_ratio(" ".join(q), " ".join(name)))


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
    if parsed.measure and parsed.measure not in (ind.measure.zh, *ind.measure_words) \
            and not _same_measure(parsed.measure, ind.measure.zh):
        raise UserError("{indicator} is counted in {measure}, not {given}.", indicator=ind.name,
                        measure=ind.measure, given=parsed.measure)
    if ind.is_count and parsed.value != parsed.value.to_integral_value():
        raise UserError("{indicator} counts whole {measure}: “{text}” is not a whole number.", indicator=ind.name,
                        measure=ind.measure, text=parsed.text)
    return parsed.value


def _same_measure(given: str, expected: str) -> bool:
    """人 and 名 both count people; 人次 is its own measure."""
    people = {"人", "名"}
    return given in people and expected in people
