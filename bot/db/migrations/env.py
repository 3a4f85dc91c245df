"""Alembic environment: runs migrations on the engine planbot hands over."""

from alembic import context

import bot.db.chat_models
import bot.db.outbox_models  # noqa: F401  (registers the outbox tables)
from bot.db.models import Base

config = context.config
engine = config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
