"""The App: everything a command, a channel or a handler needs (settings, database, clock), built by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.config import Settings
from bot.db.engine import make_engine, session_factory


@dataclass
class App:
    """Everything a command or a channel needs, built once."""

    settings: Settings
    engine: Engine
    uow: sessionmaker[Session]
    clock: Clock
    telegram_username: str | None = None  # known once the Telegram channel has asked getMe

    @classmethod
    def connect(cls, settings: Settings, clock: Clock | None = None, telegram_username: str | None = None) -> App:
        """Connect to the configured database (already migrated: bootstrap() migrates) with this clock."""
        engine = make_engine(settings.database_url)
        return cls(settings, engine, session_factory(engine), clock or Clock(settings.now), telegram_username)

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()
