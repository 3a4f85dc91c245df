"""Alembic migrations of planbot's schema."""
