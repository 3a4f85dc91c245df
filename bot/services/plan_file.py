"""Read and validate a plan file (YAML) into the domain Plan; every problem is reported with its place."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ValidationError

from bot.domain import plan as m
from bot.services.plan_problems import PlanFileError, Problem, check_reminders, from_pydantic, loc, problem
from bot.services.plan_spec import (
    MAX_PLAN_BYTES,
    MAX_YAML_NODES,
    RELATIVE,
    HeaderSpec,
    IndicatorSpec,
    MilestoneSpec,
    PlanSpec,
    SpecT,
    TaskSpec,
    TextSpec,
    UnitSpec,
)
from i18n import N_

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when there


def _expanded_size(node: yaml.Node, sizes: dict[int, int], limit: int) -> int:
    """How many nodes the document has once its aliases are expanded (as a validator walks it), stopping past limit.

    An alias is a second reference to a node already read, so nine lines of anchors can stand for a billion nodes
    (billion laughs); each node's size is computed once. A node that contains itself counts as past the limit."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = limit + 1  # while inside it: an alias back to it is a cycle
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, sizes, limit)
        if total > limit:
            break
    sizes[id(node)] = total
    return total


def load_yaml(text: str, name: str = "<plan>") -> Any:
    """Parse one YAML document safely, refusing one whose aliases expand past MAX_YAML_NODES; PlanFileError."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and _expanded_size(node, {}, MAX_YAML_NODES) > MAX_YAML_NODES:
            raise PlanFileError([problem(name, "", N_("the YAML expands to more than {n} values (anchors and "
                                                    "aliases used over and over); refused"), n=MAX_YAML_NODES)])
        return None if node is None else loader.construct_document(node)
    except RecursionError:
        raise PlanFileError([problem(name, "", N_("the YAML is nested too deeply; refused"))]) from None
    finally:
        loader.dispose()


def read_plan_file(path: str | Path) -> m.Plan:
    """Load and validate the plan file at path; raise PlanFileError listing every problem.

    A file over MAX_PLAN_BYTES is refused before it is read (a plan of a few hundred indicators is far smaller)."""
    p = Path(path)
    name = str(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_PLAN_BYTES + 1)
        if len(data) > MAX_PLAN_BYTES:
            raise PlanFileError([problem(name, "", N_("the file is larger than {n} KB; a plan file is far smaller"),
                                         n=MAX_PLAN_BYTES // 1024)])
        raw = load_yaml(data.decode("utf-8"), name)
    except FileNotFoundError:
        raise PlanFileError([problem(name, "", N_("file not found"))]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PlanFileError([problem(name, "", N_("cannot read the file: {error}"), error=e)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(e, "problem", None) or str(e)
        raise PlanFileError([problem(name, where, N_("not valid YAML: {error}"), error=what)]) from None
    return parse_plan(raw, name)


def parse_plan(raw: Any, name: str = "<plan>") -> m.Plan:
    """Validate a plan document (already parsed YAML/JSON) and build the Plan; raise PlanFileError."""
    if not isinstance(raw, dict):
        raise PlanFileError([problem(name, "", N_("the file must be a mapping with plan, units and indicators"))])
    try:
        spec = PlanSpec.model_validate(raw)
    except ValidationError as e:
        problems = [from_pydantic(name, loc(list(err["loc"])), err) for err in e.errors()]
        sections = _valid_parts(raw)
        known = {(p.path, p.message) for p in problems}
        problems += [p for p in _cross_check(sections, name) if (p.path, p.message) not in known]
        if isinstance(raw.get("reminders"), dict):  # every problem in one pass: the reminders too
            problems += check_reminders(raw["reminders"], name)
        raise PlanFileError(problems) from None
    problems = _cross_check(_Sections.of(spec), name)
    problems += check_reminders(spec.reminders, name)
    if problems:
        raise PlanFileError(problems)
    return _build(spec)


@dataclass
class _Sections:
    """The parts of a plan document that passed schema validation, each item with its index in the file."""

    header: HeaderSpec | None
    groups: dict[str, list[str]]
    units: list[tuple[int, UnitSpec]]
    tasks: list[tuple[int, TaskSpec]]
    indicators: list[tuple[int, IndicatorSpec]]
    invalid_codes: tuple[str, ...] = ()  # codes of indicators that failed validation: referring to them is fine

    @classmethod
    def of(cls, spec: PlanSpec) -> _Sections:
        return cls(spec.plan, spec.groups, list(enumerate(spec.units)), list(enumerate(spec.tasks)),
                   list(enumerate(spec.indicators)))


def _valid_items(raw: Any, model: type[SpecT]) -> list[tuple[int, SpecT]]:
    """The items that validate, each with its index; an item wrong only in optional fields is checked without them,
    so that its cross-references are reported in the same pass."""
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append((i, model.model_validate(item)))
        except ValidationError as e:
            if not isinstance(item, dict):
                continue
            wrong = {err["loc"][0] for err in e.errors() if err["loc"]}
            with contextlib.suppress(ValidationError):
                out.append((i, model.model_validate({k: v for k, v in item.items() if k not in wrong})))
    return out


def _valid_parts(raw: dict[str, Any]) -> _Sections:
    """Whatever validates on its own, so that cross-references can still be checked."""
    try:
        header: HeaderSpec | None = HeaderSpec.model_validate(raw.get("plan"))
    except ValidationError:
        header = None
    groups = raw.get("groups")
    ok_groups = {str(k): [str(x) for x in v] for k, v in groups.items()
                 if isinstance(v, list)} if isinstance(groups, dict) else {}
    indicators = _valid_items(raw.get("indicators"), IndicatorSpec)
    got = raw.get("indicators")
    raw_inds: list[Any] = got if isinstance(got, list) else []
    valid = {i for i, _ in indicators}
    invalid = tuple(str(item["code"]) for i, item in enumerate(raw_inds)
                    if i not in valid and isinstance(item, dict) and "code" in item)
    return _Sections(header, ok_groups, _valid_items(raw.get("units"), UnitSpec),
                     _valid_items(raw.get("tasks"), TaskSpec), indicators, invalid)


class _Checker:
    def __init__(self, sections: _Sections, name: str) -> None:
        self.sections, self.name = sections, name
        self.problems: list[Problem] = []
        self.units = {u.code for _, u in sections.units}

    def add(self, path: str, template: str, **params: object) -> None:
        self.problems.append(problem(self.name, path, template, **params))

    def unique(self, items: list[tuple[int, str]], path: str, template: str) -> None:
        seen: set[str] = set()
        for i, code in items:
            if code in seen:
                self.add(f"{path}[{i}]", template, code=repr(code))
            seen.add(code)

    def refs(self, refs: list[str], path: str) -> None:
        for i, ref in enumerate(refs):
            if ref.startswith("@"):
                if ref[1:] not in self.sections.groups:
                    self.add(f"{path}[{i}]", N_("unknown unit group {group}"), group=repr(ref[1:]))
            elif ref not in self.units:
                self.add(f"{path}[{i}]", N_("unknown unit {unit}"), unit=repr(ref))


def _cross_check(sec: _Sections, name: str) -> list[Problem]:
    c = _Checker(sec, name)
    if sec.header is not None:
        if sec.header.end <= sec.header.start:
            c.add("plan.end", N_("must be after plan.start"))
        try:
            ZoneInfo(sec.header.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            c.add("plan.timezone", N_("unknown time zone {zone}"), zone=repr(sec.header.timezone))
    c.unique([(i, u.code) for i, u in sec.units], "units", N_("duplicate unit code {code}"))
    for i, u in sec.units:
        c.refs(u.counted_in, f"units[{i}].counted_in")
        if u.succeeded_by is not None:
            c.refs([u.succeeded_by.unit], f"units[{i}].succeeded_by.unit")
    for g, members in sec.groups.items():
        for i, code in enumerate(members):
            if code not in c.units:
                c.add(f"groups.{g}[{i}]", N_("unknown unit {unit}"), unit=repr(code))
    codes = [ind.code for _, ind in sec.indicators] + list(sec.invalid_codes)
    c.unique([(i, ind.code) for i, ind in sec.indicators], "indicators", N_("duplicate indicator code {code}"))
    c.unique([(i, str(t.number)) for i, t in sec.tasks], "tasks", N_("duplicate task number {code}"))
    tasks = {t.number for _, t in sec.tasks}
    for ti, t in sec.tasks:
        c.refs(t.lead, f"tasks[{ti}].lead")
        c.refs(t.responsible, f"tasks[{ti}].responsible")
        for j, code in enumerate(t.indicators):
            if code not in codes:
                c.add(f"tasks[{ti}].indicators[{j}]", N_("unknown indicator {code}"), code=repr(code))
    for ii, ind in sec.indicators:
        _check_indicator(c, ind, f"indicators[{ii}]", sec.header, tasks)
    return c.problems


def _check_indicator(c: _Checker, ind: IndicatorSpec, at: str, header: HeaderSpec | None, tasks: set[int]) -> None:
    c.refs(ind.lead, f"{at}.lead")
    c.refs(ind.reporters, f"{at}.reporters")
    if ind.task is not None and ind.task not in tasks:
        c.add(f"{at}.task", N_("no task number {n} in tasks"), n=ind.task)
    if ind.aggregation == "sum" and not ind.reporters:
        c.add(f"{at}.reporters", N_("aggregation 'sum' needs at least one reporting unit"))
    stages = [s.code for s in ind.stages]
    c.unique(list(enumerate(stages)), f"{at}.stages", N_("duplicate stage code {code}"))
    if ind.kind == "staged" and len(stages) < 2:
        c.add(f"{at}.stages", N_("a staged indicator needs at least two stages"))
    if ind.kind != "staged" and stages:
        c.add(f"{at}.stages", N_("only staged indicators have stages, not kind {kind}"), kind=repr(ind.kind))
    if ind.range and ind.range.min is not None and ind.range.max is not None and ind.range.min > ind.range.max:
        c.add(f"{at}.range", N_("min is greater than max"))
    previous: date | None = None
    for mi, ms in enumerate(ind.milestones):
        mp = f"{at}.milestones[{mi}]"
        if header is not None and not header.start <= ms.due <= header.end:
            c.add(f"{mp}.due", N_("{due} is outside the plan ({start} to {end})"), due=ms.due, start=header.start,
                  end=header.end)
        if previous is not None and ms.due <= previous:
            c.add(f"{mp}.due", N_("milestones must be in date order, one per date"))
        previous = ms.due
        if ind.kind == "staged":
            if ms.value is not None:
                c.add(f"{mp}.value", N_("a staged indicator's milestone names a stage, not a value"))
            if ms.stage is None:
                c.add(f"{mp}.stage", N_("required field is missing"))
            elif ms.stage not in stages:
                c.add(f"{mp}.stage", N_("unknown stage {stage}"), stage=repr(ms.stage))
        else:
            if ms.stage is not None:
                c.add(f"{mp}.stage", N_("only staged indicators have stages, not kind {kind}"), kind=repr(ind.kind))
            if ms.value is None:
                c.add(f"{mp}.value", N_("required field is missing"))
            elif isinstance(ms.value, str) and ind.kind == "flow":
                c.add(f"{mp}.value", N_("a flow indicator counts from zero: give the cumulative value"))


def expand(refs: list[str], groups: dict[str, list[str]]) -> tuple[str, ...]:
    """Unit codes for refs, expanding "@group" references, in order and without repeats."""
    out: dict[str, None] = {}
    for ref in refs:
        for code in groups[ref[1:]] if ref.startswith("@") else [ref]:
            out[code] = None
    return tuple(out)


def _text(t: TextSpec | None) -> m.Text | None:
    return m.Text(t.zh, t.en) if t else None


def _milestone(ms: MilestoneSpec, ind: IndicatorSpec) -> m.Milestone:
    comparator = m.Comparator(ms.comparator or ind.comparator)
    if ind.kind == "staged":
        index = [s.code for s in ind.stages].index(ms.stage or "")
        return m.Milestone(ms.due, Decimal(index), comparator=comparator, label=_text(ms.label))
    if isinstance(ms.value, str):
        match = RELATIVE.match(ms.value)
        assert match
        return m.Milestone(ms.due, Decimal(match.group(1)), True, comparator, _text(ms.label))
    assert ms.value is not None
    return m.Milestone(ms.due, ms.value, False, comparator, _text(ms.label))


def _build(spec: PlanSpec) -> m.Plan:
    groups = spec.groups
    defaults = spec.defaults
    indicators = []
    counted_in = {u.code: set(u.counted_in) for u in spec.units}

    def reporting(ind: IndicatorSpec) -> tuple[str, ...]:
        return expand(ind.reporters, groups)

    for ind in spec.indicators:
        sched = ind.schedule or defaults.schedule
        thr = ind.thresholds or defaults.thresholds
        indicators.append(
            m.Indicator(
                code=ind.code,
                name=m.Text(ind.name.zh, ind.name.en),
                kind=m.Kind(ind.kind),
                measure=m.Text(ind.measure.zh, ind.measure.en),
                milestones=tuple(_milestone(ms, ind) for ms in ind.milestones),
                lead_units=expand(ind.lead, groups),
                reporting_units=tuple(u for u in reporting(ind) if not counted_in[u] & set(reporting(ind))),
                informational_units=tuple(u for u in reporting(ind) if counted_in[u] & set(reporting(ind))),
                aggregation=m.Aggregation(ind.aggregation),
                baseline=Decimal(0) if ind.kind == "staged" and ind.baseline is None else ind.baseline,
                schedule=m.Schedule(m.Cadence(sched.cadence), sched.due_days),
                thresholds=m.Thresholds(thr.on_track, thr.behind),
                stages=tuple(m.Stage(s.code, m.Text(s.name.zh, s.name.en)) for s in ind.stages),
                task=ind.task,
                aliases=tuple(ind.aliases),
                measure_words=tuple(ind.measure_words),
                min_value=ind.range.min if ind.range else None,
                max_value=ind.range.max if ind.range else None,
                note=_text(ind.note),
            )
        )
    return m.Plan(
        code=spec.plan.code,
        title=m.Text(spec.plan.title.zh, spec.plan.title.en),
        start=spec.plan.start,
        end=spec.plan.end,
        timezone=spec.plan.timezone,
        units=tuple(m.Unit(u.code, m.Text(u.name.zh, u.name.en), u.kind, tuple(u.aliases), tuple(u.counted_in),
                           u.succeeded_by.unit if u.succeeded_by else None,
                           u.succeeded_by.from_ if u.succeeded_by else None) for u in spec.units),
        groups={g: expand(members, {}) for g, members in groups.items()},
        indicators=tuple(indicators),
        tasks=tuple(
            m.Task(t.number, m.Text(t.title.zh, t.title.en), expand(t.lead, groups),
                   expand(t.responsible, groups), tuple(t.indicators))
            for t in spec.tasks
        ),
        document=_text(spec.plan.document),
        reminders=dict(spec.reminders),
    )
