"""The composition root: settings in, a migrated database, a clock and the active plan out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import make_engine, migrate, session_factory
from bot.db.models import PlanRow
from bot.plan_store import LoadResult, load_plan_file


@dataclass
class App:
    """Everything a command or a channel needs, built once."""

    settings: Settings
    engine: Engine
    uow: sessionmaker[Session]
    clock: Clock
    telegram_username: str | None = None  # known once the Telegram channel has asked getMe

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def bootstrap(settings: Settings, *, ensure_plan: bool = True) -> App:
    """Connect, apply migrations and, when no plan is loaded yet, load the configured plan file."""
    engine = make_engine(settings.database_url)
    migrate(engine)
    app = App(settings, engine, session_factory(engine), Clock(settings.now))
    if ensure_plan:
        with app.uow() as s:
            loaded = s.scalar(select(PlanRow.id).where(PlanRow.active.is_(True)).limit(1))
        if loaded is None:
            load_default_plan(app)
    return app


def load_default_plan(app: App) -> LoadResult:
    """Load (or refresh) the configured plan file."""
    return load_plan_file(app.uow, app.settings.plan_file, app.clock.now())
