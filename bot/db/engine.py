"""Engines, sessions and migrations: one database URL in, a migrated database out."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, Table, create_engine, event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUnavailable(Exception):
    """The database cannot be reached or opened."""


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, busy_timeout: bool = True) -> None:
    dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN, so SAVEPOINTs really nest (pysqlite quirk)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    if busy_timeout:
        cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


RELAXED = "planbot_relaxed_durability"  # execution option: this transaction's commit may skip the fsync
WRITER = "planbot_writer"  # execution option: on SQLite, take the write lock at BEGIN (waiting for it if need be)


def insert_or_skip(s: Session, table: Any) -> Any:
    """An INSERT into table that does nothing on a conflict (ON CONFLICT DO NOTHING), in the session's dialect."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(table)


_SKIPPING: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}


def insert_skipping(s: Session, table: Table, keys: tuple[str, ...], returning: tuple[str, ...] = ()) -> Any:
    """INSERT INTO table ... ON CONFLICT (keys) DO NOTHING [RETURNING returning], in the session's dialect, built
    once per dialect and kept: a statement object caches its own compiled form, so a hot path skips building it,
    and a statement run for many rows (executemany) is compiled once, where a multi-row VALUES is compiled each time.
    """
    key = (s.get_bind().dialect.name, table.name, keys, returning)
    stmt = _SKIPPING.get(key)
    if stmt is None:
        stmt = insert_or_skip(s, table).on_conflict_do_nothing(index_elements=list(keys))
        if returning:
            stmt = stmt.returning(*(table.c[c] for c in returning))
        _SKIPPING[key] = stmt
    return stmt


def _sqlite_begin(conn: Any) -> None:
    # synchronous=FULL (fsync at every commit) unless the transaction asked for RELAXED: then NORMAL, which in WAL
    # mode is still atomic and survives a crash of the process, but may lose the last commits on power loss. The
    # level can only change outside a transaction, so it is set here, before BEGIN, when it differs.
    level = "NORMAL" if conn.get_execution_options().get(RELAXED) else "FULL"
    if conn.info.get("synchronous") != level:
        conn.exec_driver_sql(f"PRAGMA synchronous={level}")
        conn.info["synchronous"] = level
    # A transaction that reads and then writes, while another process writes, fails at its first write at once
    # ("database is locked": its snapshot is stale); one that asked to be a WRITER waits for the lock at BEGIN instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITER) else "BEGIN")


def make_engine(url: str) -> Engine:
    """An engine for url; SQLite gets foreign keys, WAL and a busy timeout of 30 s (or the URL's ?timeout=seconds),
    and its folder is created."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        own_timeout = "timeout" in make_url(url).query  # pysqlite's connect(timeout=...) is its busy timeout
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_timeout=not own_timeout))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration pointing at our migrations and at this engine."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Apply every pending migration; raise DatabaseUnavailable if the database cannot be reached."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as e:
        raise DatabaseUnavailable(str(e.orig or e).strip().splitlines()[0]) from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to engine that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def relaxed_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose commits need not reach the disk before they return (SQLite: synchronous=NORMAL, which in WAL
    mode survives a crash of the process but may lose the last commits on a power cut), for bookkeeping that a
    power cut may set back as it sets back the router's own commits (the outcomes of held replies)."""
    return sessionmaker(engine.execution_options(**{RELAXED: True}), expire_on_commit=False)
