"""Migrations, each self-contained: a migration imports nothing of planbot's (it carries what it runs)."""
