"""When reminders may go out: the plan's zone, quiet hours, and the reminder policy from the plan file. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Shanghai")
_DAY = timedelta(days=1)
_CLOCK = re.compile(r"^([0-9]{1,2}):([0-9]{2})$")


def at(d: date, t: time) -> datetime:
    """The instant at time t on day d in Asia/Shanghai (any tzinfo on t is ignored)."""
    return datetime.combine(d, t.replace(tzinfo=None), tzinfo=ZONE)


def local(t: datetime) -> datetime:
    """An aware instant seen in Asia/Shanghai; raise ValueError for a naive datetime."""
    if t.tzinfo is None or t.tzinfo.utcoffset(t) is None:
        raise ValueError(f"naive datetime {t.isoformat()}: pass an aware instant")
    return t.astimezone(ZONE)


@dataclass(frozen=True)
class QuietHours:
    """Hours in Asia/Shanghai when nothing is pushed: from start (inclusive) to end (exclusive), across midnight."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    def contains(self, t: datetime) -> bool:
        """Whether the aware instant t falls in quiet hours (start <= local time < end); never when start == end."""
        clock = local(t).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def next_allowed(self, t: datetime) -> datetime:
        """t itself (in Asia/Shanghai) outside quiet hours, else the next `end` time in Asia/Shanghai."""
        lt = local(t)
        if not self.contains(lt):
            return lt
        candidate = at(lt.date(), self.end)
        return candidate if candidate > lt else at(lt.date() + _DAY, self.end)


class PolicyError(ValueError):
    """A wrong value in a plan file's reminders: section: which key, what is wrong (a code), and the details."""

    WORDS: ClassVar[dict[str, str]] = {  # English; bot/services/plan_file.py has them in the catalog
        "time": 'expected a time like "09:00", got {got}',
        "whole": "expected a whole number, got {got}",
        "whole_list": "expected a list of whole numbers, got {got}",
        "bool": "expected true or false, got {got}",
        "quiet_shape": 'expected {{start: "21:00", end: "08:00"}}, got {got}',
        "unknown_key": "unknown key {got}",
        "distinct_days": "expected distinct numbers of at least 1, got {got}",
        "zero_or_more": "expected 0 or more, got {got}",
        "one_or_more": "expected 1 or more, got {got}",
        "weekday": "expected 0 (Monday) to 6 (Sunday), got {got}",
        "in_quiet_hours": "{got} lies in the quiet hours",
    }

    def __init__(self, key: str, code: str, got: object = None, *, shown: str | None = None) -> None:
        self.key, self.code = key, code  # key "" for the section itself
        self.got = shown if shown is not None else repr(got)
        super().__init__(f"{self.path}: " + self.WORDS[code].format(got=self.got))

    @property
    def path(self) -> str:
        """Where in the plan file: reminders.send_time, or reminders for the section itself."""
        return f"reminders.{self.key}" if self.key else "reminders"


def _time(key: str, v: Any) -> time:
    """A time from "09:00", a time, or an int: YAML 1.1 reads an unquoted 21:00 as 1260 (minutes since midnight)."""
    if isinstance(v, time):
        return v
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
        return time(v // 60, v % 60)
    if isinstance(v, str) and (m := _CLOCK.match(v.strip())) and int(m[1]) < 24 and int(m[2]) < 60:
        return time(int(m[1]), int(m[2]))
    raise PolicyError(key, "time", v)


def _int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise PolicyError(key, "whole", v)
    return v


def _ints(key: str, v: Any) -> tuple[int, ...]:
    if not isinstance(v, list | tuple):
        raise PolicyError(key, "whole_list", v)
    return tuple(_int(key, x) for x in v)


def _quiet(v: Any) -> QuietHours:
    if isinstance(v, QuietHours):
        return v
    if not isinstance(v, Mapping):
        raise PolicyError("quiet", "quiet_shape", v)
    for k in v:
        if k not in ("start", "end"):
            raise PolicyError("quiet", "unknown_key", k)
    d = QuietHours()
    return QuietHours(_time("quiet.start", v.get("start", d.start)), _time("quiet.end", v.get("end", d.end)))


@dataclass(frozen=True)
class Policy:
    """When reminders go out: working days before and after a due date, escalations, milestones, the digest."""

    before_workdays: tuple[int, ...] = (7, 3, 1)  # working days before the due date
    on_due_day: bool = True
    overdue_workdays: int = 3  # daily, on each of the first N working days after the due date
    escalate_unit_leader_after: int = 4  # working days after the due date: to the unit's leader contact
    escalate_lead_after: int = 6  # working days after the due date: to the lead unit(s) and the admins
    milestone_days: tuple[int, ...] = (90, 30, 7)  # calendar days before each milestone date
    send_time: time = time(9, 0)
    digest_weekday: int = 0  # Monday
    quiet: QuietHours = field(default_factory=QuietHours)

    def __post_init__(self) -> None:
        for name in ("before_workdays", "milestone_days"):
            days: tuple[int, ...] = getattr(self, name)
            if any(n < 1 for n in days) or len(set(days)) != len(days):
                raise PolicyError(name, "distinct_days", list(days))
        if self.overdue_workdays < 0:
            raise PolicyError("overdue_workdays", "zero_or_more", self.overdue_workdays)
        for name in ("escalate_unit_leader_after", "escalate_lead_after"):
            if getattr(self, name) < 1:
                raise PolicyError(name, "one_or_more", getattr(self, name))
        if not 0 <= self.digest_weekday <= 6:
            raise PolicyError("digest_weekday", "weekday", self.digest_weekday)
        if self.quiet.contains(at(date(2018, 1, 1), self.send_time)):
            raise PolicyError("send_time", "in_quiet_hours", shown=f"{self.send_time:%H:%M}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> Policy:
        """The policy from a plan file's optional `reminders:` section; ValueError names a key that is wrong."""
        if not data:
            return cls()
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for key, v in data.items():
            if key not in names:
                raise PolicyError("", "unknown_key", key)
            if key in ("before_workdays", "milestone_days"):
                kw[key] = _ints(key, v)
            elif key == "on_due_day":
                if not isinstance(v, bool):
                    raise PolicyError("on_due_day", "bool", v)
                kw[key] = v
            elif key == "send_time":
                kw[key] = _time(key, v)
            elif key == "quiet":
                kw[key] = _quiet(v)
            else:
                kw[key] = _int(key, v)
        return cls(**kw)
