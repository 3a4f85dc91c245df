"""The composition root: settings in, a migrated database, a clock and the active plan out."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import make_engine, migrate, session_factory
from bot.db.models import PlanRow
from bot.services.plans import LoadResult, load_plan_file, rebuild_missing_series


def bootstrap(settings: Settings, *, ensure_plan: bool = True) -> App:
    """Connect, apply migrations and, when no plan is loaded yet, load the configured plan file."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    app = App(settings, engine, session_factory(engine), Clock(settings.now))
    rebuild_missing_series(app.uow)  # derived data: built by the code that keeps it, not by a migration
    if ensure_plan:
        with app.uow() as s:
            loaded = s.scalar(select(PlanRow.id).where(PlanRow.active.is_(True)).limit(1))
        if loaded is None:
            load_default_plan(app)
    return app


def load_default_plan(app: App) -> LoadResult:
    """Load (or refresh) the configured plan file."""
    return load_plan_file(app.uow, app.settings.plan_file, app.clock.now())
