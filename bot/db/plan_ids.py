"""Database ids of a plan version's indicators and units: read once per database, plan version and process."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.db.models import IndicatorRow, PlanRow, UnitRow
from bot.errors import UserError
from i18n import N_

STALE = N_("The plan in the database is out of date: load the plan file again.")


@dataclass(frozen=True)
class PlanIds:
    """Codes to ids (and back) for one plan version. Rows are never deleted (a dropped code is retired), and a
    plan file that adds codes is a new version, so the ids of a version never change."""

    indicators: dict[str, int]
    unit_codes: dict[int, str]
    units: dict[str, int]
    memo: dict[str, Any] = field(default_factory=dict)  # other facts derived once per version (series: strays)

    def indicator(self, code: str) -> int:
        """The id of an indicator of this plan; UserError when the database lacks it (a plan file not loaded)."""
        try:
            return self.indicators[code]
        except KeyError:
            raise UserError(STALE) from None

    def unit(self, code: str) -> int:
        """The id of a unit of this plan; UserError when the database lacks it."""
        try:
            return self.units[code]
        except KeyError:
            raise UserError(STALE) from None


# per database (engine), the ids of the last plan version read: one entry each, dropped with the engine
_cache: weakref.WeakKeyDictionary[Engine, tuple[tuple[int, str], PlanIds]] = weakref.WeakKeyDictionary()


def plan_ids(s: Session, row: PlanRow) -> PlanIds:
    """The ids of the plan version in row, from the cache or read in two queries."""
    engine, key = s.get_bind(), (row.id, row.source_sha256)
    hit = _cache.get(engine) if isinstance(engine, Engine) else None
    if hit is not None and hit[0] == key:
        return hit[1]
    inds = dict(s.execute(select(IndicatorRow.code, IndicatorRow.id).where(IndicatorRow.plan_id == row.id)).all())
    codes = dict(s.execute(select(UnitRow.id, UnitRow.code).where(UnitRow.plan_id == row.id)).all())
    ids = PlanIds(inds, codes, {c: u for u, c in codes.items()})
    if isinstance(engine, Engine):
        _cache[engine] = (key, ids)
    return ids
