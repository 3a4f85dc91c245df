"""What is wrong with a plan file: each problem with its place, worded from the catalog in the reader's language."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from bot.services.plan_spec import SpecMessage
from i18n import N_, Translator


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a plan file: where, and what."""

    file: str
    path: str
    message: str  # in English
    template: str = ""  # the message's catalog entry (empty: shown as it is)
    params: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(top)'}: {self.message}"

    def render(self, t: Translator) -> str:
        """The problem in the reader's language, with its place."""
        message = t(self.template, **dict(self.params)) if self.template and t.lang != "en" else self.message
        return t("{file}: {place}: {problem}", file=self.file, place=self.path or t("(top)"), problem=message)


def problem(file: str, path: str, template: str, **params: object) -> Problem:
    """A problem whose message is a catalog entry filled with params."""
    return Problem(file, path, template.format(**params), template, tuple(params.items()))


class PlanFileError(Exception):
    """A plan file that cannot be loaded; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def loc(parts: tuple[int | str, ...] | list[int | str]) -> str:
    """A field's path as written in the problems: indicators[0].milestones[1].due."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


_POLICY_WORDS = {  # bot.domain.schedule.PolicyError's codes, in words the catalog has
    "time": N_('expected a time like "09:00", got {got}'),
    "whole": N_("expected a whole number, got {got}"),
    "whole_list": N_("expected a list of whole numbers, got {got}"),
    "bool": N_("expected true or false, got {got}"),
    "quiet_shape": N_('expected {{start: "21:00", end: "08:00"}}, got {got}'),
    "unknown_key": N_("unknown key {got}"),
    "distinct_days": N_("expected distinct numbers of at least 1, got {got}"),
    "zero_or_more": N_("expected 0 or more, got {got}"),
    "one_or_more": N_("expected 1 or more, got {got}"),
    "weekday": N_("expected 0 (Monday) to 6 (Sunday), got {got}"),
    "in_quiet_hours": N_("{got} lies in the quiet hours"),
}


def check_reminders(data: dict[str, Any], name: str) -> list[Problem]:
    """The optional reminders: section must make a valid reminder policy."""
    from bot.domain.schedule import Policy, PolicyError

    try:
        Policy.from_mapping(data)
    except PolicyError as e:
        return [problem(name, e.path, _POLICY_WORDS[e.code], got=e.got)]
    except (ValueError, TypeError) as e:
        return [Problem(name, "reminders", str(e))]
    return []


_PYDANTIC = {  # pydantic's error types, in words the catalog has
    "missing": N_("required field is missing"), "extra_forbidden": N_("unknown field"),
    "literal_error": N_("should be one of {expected}"), "greater_than_equal": N_("should be at least {ge}"),
    "less_than_equal": N_("should be at most {le}"), "string_pattern_mismatch": N_("should match {pattern}"),
    "string_too_short": N_("should not be empty"), "too_short": N_("should have at least {min_length} items"),
    "string_too_long": N_("should have at most {max_length} characters"),
    "int_parsing": N_("should be a whole number"), "int_type": N_("should be a whole number"),
    "decimal_parsing": N_("should be a number"), "decimal_type": N_("should be a number"),
    "date_from_datetime_parsing": N_("should be a date like 2018-12-31"),
    "date_parsing": N_("should be a date like 2018-12-31"), "date_type": N_("should be a date like 2018-12-31"),
    "string_type": N_("should be text"), "list_type": N_("should be a list"),
    "dict_type": N_("should be a mapping"), "model_type": N_("should be a mapping"),
    "bool_type": N_("should be true or false"), "bool_parsing": N_("should be true or false"),
}


def from_pydantic(name: str, path: str, err: Any) -> Problem:
    """A pydantic error as a problem whose words come from the catalog (pydantic's English otherwise)."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    msg = str(err.get("msg", "invalid"))
    english = _PYDANTIC.get(kind, "") if kind in ("missing", "extra_forbidden") else msg[0].lower() + msg[1:]
    error = ctx.get("error")
    if isinstance(error, SpecMessage):
        return Problem(name, path, english, error.template, tuple(error.params.items()))
    if kind in _PYDANTIC:
        params = tuple((k, str(v)) for k, v in ctx.items())
        with contextlib.suppress(KeyError, IndexError):
            _PYDANTIC[kind].format(**dict(params))
            return Problem(name, path, english, _PYDANTIC[kind], params)
    return Problem(name, path, english or "invalid")
