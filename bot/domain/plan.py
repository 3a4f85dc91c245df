"""The plan model: units, indicators with milestones, tasks. Immutable values built by the plan loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cached_property


class Kind(StrEnum):
    """How an indicator's figures behave over time."""

    STOCK = "stock"  # a level at a moment: the latest figure is the value
    FLOW = "flow"  # increments per period: the value is their sum since the plan began
    RATIO = "ratio"  # a share or percentage: the latest figure is the value
    GROWTH = "growth"  # an annual growth rate: the latest figure is the value
    STAGED = "staged"  # qualitative progress through named stages


class Comparator(StrEnum):
    """How a milestone is met: at least (以上) or more than (超过)."""

    GE = ">="
    GT = ">"

    def met(self, actual: Decimal, target: Decimal) -> bool:
        """Whether actual meets target under this comparator."""
        return actual >= target if self is Comparator.GE else actual > target


class Aggregation(StrEnum):
    """How the city figure is formed from unit figures."""

    SUM = "sum"  # the sum of the reporting units' figures; the lead unit's figure wins when given
    LEAD = "lead"  # the lead unit's figure only


class Cadence(StrEnum):
    """How often figures are reported."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


@dataclass(frozen=True)
class Text:
    """A phrase in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        """The phrase in lang ('zh' or 'en'); Chinese when lang is anything else."""
        return self.en if lang.startswith("en") else self.zh


@dataclass(frozen=True)
class Unit:
    """A body that leads or reports: a city bureau, a district or county, an economic zone."""

    code: str
    name: Text
    kind: str = "city_body"
    aliases: tuple[str, ...] = ()  # other names it goes by (a renamed body, a second nameplate)
    counted_in: tuple[str, ...] = ()  # units whose figures already include this one's (a zone inside districts)
    succeeded_by: str | None = None  # the unit that took over its work (a merger), for periods from succeeded_from
    succeeded_from: date | None = None


@dataclass(frozen=True)
class Milestone:
    """A target value due on a date; `relative` means baseline + value; staged milestones name a stage."""

    due: date
    value: Decimal
    relative: bool = False
    comparator: Comparator = Comparator.GE
    label: Text | None = None


@dataclass(frozen=True)
class Stage:
    """One named step of a staged (qualitative) indicator; its position is its value."""

    code: str
    name: Text


@dataclass(frozen=True)
class Thresholds:
    """Shortfall limits in percentage points: up to on_track is on track, up to behind is behind."""

    on_track: Decimal = Decimal(10)
    behind: Decimal = Decimal(30)


COUNT_WORDS = frozenset({"家", "个", "项", "人", "人次", "名", "次", "件", "支", "位", "所", "座"})


@dataclass(frozen=True)
class Schedule:
    """Reporting cadence and how many days after a period ends its report is due."""

    cadence: Cadence = Cadence.QUARTERLY
    due_days: int = 10


@dataclass(frozen=True)
class Indicator:
    """A target of the plan with its milestones, reporters and reporting schedule."""

    code: str
    name: Text
    kind: Kind
    measure: Text  # measure word / unit of the figure: 家 / enterprises, % / %
    milestones: tuple[Milestone, ...]
    lead_units: tuple[str, ...]
    reporting_units: tuple[str, ...]  # the units whose figures make up the city's
    aggregation: Aggregation = Aggregation.SUM
    baseline: Decimal | None = None
    schedule: Schedule = field(default_factory=Schedule)
    thresholds: Thresholds = field(default_factory=Thresholds)
    stages: tuple[Stage, ...] = ()
    task: int | None = None
    aliases: tuple[str, ...] = ()
    measure_words: tuple[str, ...] = ()  # measure words accepted besides measure.zh (个 for 家, 人 for 人次)
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    note: Text | None = None
    informational_units: tuple[str, ...] = ()  # report for information only: counted in other reporters' figures

    @cached_property
    def reporters(self) -> tuple[str, ...]:
        """Every unit that may report this indicator: lead units first, then the reporting units, then those that
        report for information only."""
        seen = dict.fromkeys(self.lead_units)
        seen.update(dict.fromkeys(self.reporting_units))
        seen.update(dict.fromkeys(self.informational_units))
        return tuple(seen)

    @cached_property
    def is_count(self) -> bool:
        """Whether its figures count things (enterprises, projects, people): whole numbers only."""
        return self.kind in (Kind.STOCK, Kind.FLOW) and self.measure.zh in COUNT_WORDS

    @cached_property
    def reporter_set(self) -> frozenset[str]:
        """The reporters, for membership tests."""
        return frozenset(self.reporters)

    @cached_property
    def reporting_set(self) -> frozenset[str]:
        """The reporting units, for membership tests."""
        return frozenset(self.reporting_units)

    @property
    def is_percent(self) -> bool:
        """Whether figures are percentages."""
        return self.kind in (Kind.RATIO, Kind.GROWTH)


@dataclass(frozen=True)
class Task:
    """A key task of the plan, with its lead and responsible units and the indicators it carries."""

    number: int
    title: Text
    lead_units: tuple[str, ...]
    responsible_units: tuple[str, ...]
    indicators: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """A whole action plan: its period, units, groups, tasks and indicators."""

    code: str
    title: Text
    start: date
    end: date
    timezone: str
    units: tuple[Unit, ...]
    groups: dict[str, tuple[str, ...]]
    indicators: tuple[Indicator, ...]
    tasks: tuple[Task, ...]
    document: Text | None = None
    reminders: dict[str, object] = field(default_factory=dict)  # the plan file's reminder policy settings

    @property
    def baseline_date(self) -> date:
        """The day before the plan starts: figures for the period ending then serve as baselines."""
        return date.fromordinal(self.start.toordinal() - 1)

    @cached_property
    def _by_code(self) -> tuple[dict[str, Unit], dict[str, Indicator]]:
        return {u.code: u for u in self.units}, {i.code: i for i in self.indicators}

    @cached_property
    def succeeded(self) -> tuple[Unit, ...]:
        """The units that another one succeeded (merged or renamed), in the plan's order: few or none."""
        return tuple(u for u in self.units if u.succeeded_by is not None)

    def reporting_for(self, ind: Indicator, unit: str, period_start: date) -> str:
        """The unit a figure counts for: the unit itself, or the unit it succeeded (for periods from the
        succession on) when it does not report this indicator itself."""
        if unit in ind.reporter_set:
            return unit
        for u in self.succeeded:
            if (u.succeeded_by == unit and u.succeeded_from is not None and period_start >= u.succeeded_from
                    and u.code in ind.reporter_set):
                return u.code
        return unit

    def answered_by(self, unit: str, period_start: date) -> str:
        """The unit whose people report unit's figures for a period: its successor (and the successor's, in turn)
        for periods from the succession on, else the unit itself."""
        seen = {unit}
        while (u := self._by_code[0].get(unit)) is not None and u.succeeded_by is not None \
                and u.succeeded_from is not None and period_start >= u.succeeded_from and u.succeeded_by not in seen:
            unit = u.succeeded_by
            seen.add(unit)
        return unit

    def unit(self, code: str) -> Unit:
        """The unit with this code (KeyError if there is none)."""
        return self._by_code[0][code]

    def indicator(self, code: str) -> Indicator:
        """The indicator with this code (KeyError if there is none)."""
        return self._by_code[1][code]
