"""`planbot plan validate | load | show`: the plan file and the active plan."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app import App
from bot.cli.common import print_json
from bot.render.text import KIND_LABELS, indicator_dict, unit_names, value_text
from bot.services.plan_file import read_plan_file
from bot.services.plans import active_plan, load_plan_file
from i18n import N_, Translator


def cmd_plan_validate(args: argparse.Namespace, t: Translator) -> int:
    """Check a plan file and report every problem with its place (needs no database)."""
    plan = read_plan_file(args.file)
    print(t("{file}: valid plan {code} with {n} indicators, {units} units and {tasks} tasks.",
            file=args.file, code=plan.code, n=len(plan.indicators), units=len(plan.units), tasks=len(plan.tasks)))
    return 0


def cmd_plan_load(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Load a plan file into the database; loading it again changes nothing."""
    result = load_plan_file(app.uow, Path(args.file), app.clock.now())
    if not result.changed:
        print(t("Plan {code} is already up to date.", code=result.code))
        return 0
    if result.created:
        print(t("Plan {code} loaded.", code=result.code))
        return 0
    print(t("Plan {code} updated; every report is kept.", code=result.code))
    for label, items in ((N_("Added: {items}"), result.added), (N_("Changed: {items}"), result.updated),
                         (N_("Retired (kept with their reports): {items}"), result.retired)):
        if items:
            print("  " + t(label, items=", ".join(items)))
    return 0


def cmd_plan_show(app: App, args: argparse.Namespace, t: Translator) -> int:
    """List the active plan's indicators with their milestones, units and kinds."""
    with app.uow() as s:
        _, plan = active_plan(s)
    if args.json:
        print_json({"code": plan.code, "title": {"zh": plan.title.zh, "en": plan.title.en},
                    "start": plan.start.isoformat(), "end": plan.end.isoformat(),
                    "units": [{"code": u.code, "name": {"zh": u.name.zh, "en": u.name.en}, "kind": u.kind}
                              for u in plan.units],
                    "groups": {g: list(m) for g, m in plan.groups.items()},
                    "indicators": [indicator_dict(plan, i) for i in plan.indicators]})
        return 0
    print(plan.title.get(t.lang))
    for n, ind in enumerate(plan.indicators, 1):
        milestones = "; ".join(f"{t.date(ms.due)} {ms.comparator.value} {value_text(ind, ms.value, t)}"
                               + (" " + t("(over baseline)") if ms.relative else "") for ms in ind.milestones)
        print(f"{n:>2}. {ind.name.get(t.lang)} [{ind.code}, {t(KIND_LABELS[ind.kind])}]")
        print(f"    {milestones}")
        print("    " + t("Lead: {units}", units=unit_names(plan, ind.lead_units, t)))
        if ind.reporting_units:
            print("    " + t("Reported by: {units}", units=unit_names(plan, ind.reporting_units, t)))
    return 0
