"""Plans in the database: load a plan file idempotently, and read back the active plan."""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import CitySeriesRow, FigureRow, IndicatorRow, PlanRow, UnitRow
from bot.db.series import rebuild
from bot.domain.plan import Plan
from bot.errors import UserError
from bot.services.plan_file import load_yaml, parse_plan, read_plan_file


def rebuild_missing_series(uow: sessionmaker[Session]) -> int:
    """Build the city series of every stored plan that has figures but no series yet (a database from before the
    series existed); the number of plans rebuilt. One cheap query when nothing is missing."""
    has_figures = exists().where(FigureRow.indicator_id == IndicatorRow.id, IndicatorRow.plan_id == PlanRow.id)
    has_series = exists().where(CitySeriesRow.indicator_id == IndicatorRow.id, IndicatorRow.plan_id == PlanRow.id)
    with uow.begin() as s:
        stale = s.execute(select(PlanRow.id, PlanRow.source_text, PlanRow.source_path)
                          .where(has_figures, ~has_series)).all()
        for plan_id, text, path in stale:
            rebuild(s, plan_id, parse_plan(load_yaml(text, path), path))
    return len(stale)


@dataclass
class LoadResult:
    """What loading a plan file changed."""

    code: str
    created: bool = False
    changed: bool = False
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)


def load_plan_file(uow: sessionmaker[Session], path: Path, now: datetime) -> LoadResult:
    """Validate the plan file and store it; loading the same file twice changes nothing."""
    plan = read_plan_file(path)
    text = path.read_text(encoding="utf-8")
    with uow.begin() as s:
        return _store(s, plan, text, str(path), now)


def _store(s: Session, plan: Plan, text: str, path: str, now: datetime) -> LoadResult:
    result = LoadResult(plan.code)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row = s.scalar(select(PlanRow).where(PlanRow.code == plan.code))
    if row is None:
        row = PlanRow(code=plan.code, source_path=path, loaded_at=now, active=True,
                      title_zh=plan.title.zh, title_en=plan.title.en, source_text=text, source_sha256=digest)
        s.add(row)
        s.flush()
        result.created = result.changed = True
    elif row.source_text == text and row.active:
        return result
    else:
        result.changed = True
        row.source_text, row.source_sha256, row.source_path, row.loaded_at = text, digest, path, now
        row.title_zh, row.title_en = plan.title.zh, plan.title.en
    if not row.active or result.created:
        s.execute(update(PlanRow).where(PlanRow.id != row.id).values(active=False))
        row.active = True
    _sync_units(s, row.id, plan, result)
    _sync_indicators(s, row.id, plan, result)
    s.flush()
    rebuild(s, row.id, plan)  # who reports what, and the plan's start, shape the city series
    return result


def _sync_units(s: Session, plan_id: int, plan: Plan, result: LoadResult) -> None:
    rows = {u.code: u for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == plan_id))}
    wanted = {u.code: {"name_zh": u.name.zh, "name_en": u.name.en, "kind": u.kind, "active": True}
              for u in plan.units}
    _sync(s, UnitRow, "unit", plan_id, rows, wanted, result)


def _sync_indicators(s: Session, plan_id: int, plan: Plan, result: LoadResult) -> None:
    rows = {i.code: i for i in s.scalars(select(IndicatorRow).where(IndicatorRow.plan_id == plan_id))}
    wanted = {i.code: {"name_zh": i.name.zh, "name_en": i.name.en, "kind": i.kind.value, "position": n,
                       "active": True} for n, i in enumerate(plan.indicators)}
    _sync(s, IndicatorRow, "indicator", plan_id, rows, wanted, result)


def _sync(s: Session, model: type[UnitRow] | type[IndicatorRow], what: str, plan_id: int,
          rows: dict[str, Any], wanted: dict[str, dict[str, Any]], result: LoadResult) -> None:
    """Bring the stored rows to the plan file's: add the new codes, update the changed, retire the gone (a retired
    row keeps its figures)."""
    for code, values in wanted.items():
        row = rows.pop(code, None)
        if row is None:
            s.add(model(plan_id=plan_id, code=code, **values))
            result.added.append(f"{what} {code}")
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            result.updated.append(f"{what} {code}")
    for row in rows.values():
        if row.active:
            row.active = False
            result.retired.append(f"{what} {row.code}")


_cache: dict[tuple[Any, ...], tuple[PlanRow, Plan]] = {}
_COLUMNS = (PlanRow.id, PlanRow.code, PlanRow.title_zh, PlanRow.title_en, PlanRow.source_path, PlanRow.source_sha256,
            PlanRow.loaded_at, PlanRow.active)
# built once (it then caches its own key): asked at every message; a Core query, not an ORM load
ACTIVE = select(*_COLUMNS).where(PlanRow.active.is_(True)).order_by(PlanRow.loaded_at.desc()).limit(1)


def warm_plan(uow: sessionmaker[Session]) -> Plan | None:
    """The active plan, read and parsed now so that the first message does not wait for it; None when none is
    loaded yet."""
    with uow() as s, contextlib.suppress(UserError):
        return active_plan(s)[1]
    return None


def active_plan(s: Session) -> tuple[PlanRow, Plan]:
    """The active plan's row and model; UserError when no plan has been loaded.

    The row is a detached copy, made once per loaded plan and shared: read its columns, do not change it (load a
    plan file to change a plan). Reading one row's columns costs a third of loading it into the session.
    """
    found = s.connection().execute(ACTIVE).first()
    if found is None:
        raise UserError("No plan is loaded yet: run `planbot plan load FILE` first.")
    key = tuple(found)
    cached = _cache.get(key)
    if cached is None:  # the text is read and parsed only when the plan changed
        text = s.scalar(select(PlanRow.source_text).where(PlanRow.id == found.id))
        row = PlanRow(source_text=text, **{c.key: v for c, v in zip(_COLUMNS, found, strict=True)})
        cached = (row, parse_plan(load_yaml(text or "", found.source_path), found.source_path))
        _cache.clear()
        _cache[key] = cached
    return cached
