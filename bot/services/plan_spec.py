"""The plan file's schema: what each section may hold, checked by pydantic field by field."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from i18n import N_

MAX_PLAN_BYTES = 1024 * 1024  # the Panjin plan is 25 KB
MAX_YAML_NODES = 200_000  # values once aliases are expanded; the Panjin plan has about 1,800
_SLUG = r"^[a-z][a-z0-9_]*$"
MAX_CODE = 40  # characters of an indicator's code: "0|source|CODE" is the data of a button that is always valid
RELATIVE = re.compile(r"^\s*baseline\s*\+\s*([0-9]+(?:\.[0-9]+)?)\s*$")


class SpecMessage(ValueError):
    """A validation message with its parameters, so that it can be shown in the reader's language."""

    def __init__(self, template: str, **params: object) -> None:
        super().__init__(template.format(**params))
        self.template, self.params = template, params


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SpecT = TypeVar("SpecT", bound=Strict)


class TextSpec(Strict):
    zh: Annotated[str, Field(min_length=1)]
    en: Annotated[str, Field(min_length=1)]


class ScheduleSpec(Strict):
    cadence: Literal["monthly", "quarterly", "yearly"] = "quarterly"
    due_days: Annotated[int, Field(ge=0, le=366)] = 10  # annual statistics come out up to a year late


class ThresholdSpec(Strict):
    on_track: Annotated[Decimal, Field(ge=0)] = Decimal(10)
    behind: Annotated[Decimal, Field(ge=0)] = Decimal(30)

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdSpec:
        if self.on_track > self.behind:  # {on_track: 40, behind: 30} would make "behind" unreachable
            raise SpecMessage(N_("on_track ({on_track}) must not be greater than behind ({behind})"),
                       on_track=self.on_track, behind=self.behind)
        return self


class RangeSpec(Strict):
    min: Decimal | None = None
    max: Decimal | None = None


class MilestoneSpec(Strict):
    due: date
    value: Decimal | str | None = None
    stage: str | None = None
    comparator: Literal[">=", ">"] | None = None
    label: TextSpec | None = None

    @field_validator("value")
    @classmethod
    def _value_form(cls, v: Decimal | str | None) -> Decimal | str | None:
        if isinstance(v, str) and not RELATIVE.match(v):
            raise SpecMessage(N_('must be a number or "baseline + N"'))
        return v


class SuccessionSpec(Strict):
    unit: str
    from_: Annotated[date, Field(alias="from")]


class UnitSpec(Strict):
    code: Annotated[str, Field(pattern=_SLUG)]
    name: TextSpec
    kind: Literal["city_body", "district", "county", "zone"] = "city_body"
    aliases: list[Annotated[str, Field(min_length=1)]] = []
    counted_in: list[str] = []
    succeeded_by: SuccessionSpec | None = None


class StageSpec(Strict):
    code: Annotated[str, Field(pattern=_SLUG)]
    name: TextSpec


class TaskSpec(Strict):
    number: Annotated[int, Field(ge=1)]
    title: TextSpec
    lead: list[str]
    responsible: list[str] = []
    indicators: list[str] = []


class IndicatorSpec(Strict):
    code: Annotated[str, Field(pattern=_SLUG, max_length=MAX_CODE)]  # a button's data carries it (Telegram: 64 B)
    number: int | None = None
    task: int | None = None
    name: TextSpec
    aliases: list[str] = []
    kind: Literal["stock", "flow", "ratio", "growth", "staged"]
    measure: TextSpec
    measure_words: list[str] = []  # other measure words people use for its figures (家 and 个 for enterprises)
    comparator: Literal[">=", ">"] = ">="
    baseline: Decimal | None = None
    lead: Annotated[list[str], Field(min_length=1)]
    reporters: list[str] = []
    aggregation: Literal["sum", "lead"] = "sum"
    range: RangeSpec | None = None
    milestones: Annotated[list[MilestoneSpec], Field(min_length=1)]
    stages: list[StageSpec] = []
    schedule: ScheduleSpec | None = None
    thresholds: ThresholdSpec | None = None
    source: TextSpec | None = None
    note: TextSpec | None = None


class HeaderSpec(Strict):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    title: TextSpec
    document: TextSpec | None = None
    start: date
    end: date
    timezone: str = "Asia/Shanghai"


class DefaultsSpec(Strict):
    schedule: ScheduleSpec = ScheduleSpec()
    thresholds: ThresholdSpec = ThresholdSpec()


class PlanSpec(Strict):
    plan: HeaderSpec
    defaults: DefaultsSpec = DefaultsSpec()
    reminders: dict[str, Any] = {}
    units: Annotated[list[UnitSpec], Field(min_length=1)]
    groups: dict[str, list[str]] = {}
    tasks: list[TaskSpec] = []
    indicators: Annotated[list[IndicatorSpec], Field(min_length=1)]
