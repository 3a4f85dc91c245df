"""The scheduler's leader lock on PostgreSQL when its connection is cut, and concurrent `planbot remind` runs."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.outbox_models import OutboxRow
from reminders.scheduler import LOCK, LOCK_KEY, Ticker
from support import TestBot

PLANBOT = Path(sys.executable).parent / "planbot"


def cut_lock_connection(url: str) -> int:
    """Terminate the backend that holds an advisory lock (as a PostgreSQL restart or a network cut would).

    The call waits until the backend has exited (up to 30 s), so its locks are released when it returns:
    without the timeout the signal is only sent, and the lock may still be held for a moment.
    """
    admin = create_engine(url)
    try:
        with admin.begin() as c:
            key = c.execute(text(f"SELECT {LOCK}"), {"k": LOCK_KEY}).scalar_one()  # this schema's lock
            return sum(c.execute(text(
                "SELECT pg_terminate_backend(pid, 30000) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid::bigint = (:key >> 32) & 4294967295 AND objid::bigint = :key & 4294967295"),
                {"key": key}).scalars())  # the backends that terminated
    finally:
        admin.dispose()


def test_a_leader_whose_lock_connection_died_stops_leading_and_stops_cleanly(postgres_url: str,
                                                                             tmp_path: Path) -> None:
    env = {"PLANBOT_DATABASE_URL": postgres_url, "PLANBOT_DATA_DIR": str(tmp_path),
           "PLANBOT_NOW": "2018-10-09T08:00:00+08:00"}
    first, second = bootstrap(Settings.from_env(env)), bootstrap(Settings.from_env(env))
    try:
        one, two = Ticker(first, []), Ticker(second, [])
        assert [one.is_leader(), two.is_leader()] == [True, False]
        assert cut_lock_connection(postgres_url) == 1
        assert two.is_leader()  # the server released the lock with the connection: the other one takes it
        assert not one.is_leader()  # and the first no longer believes it leads
        one.stop()  # nothing to release, nothing raised
        assert cut_lock_connection(postgres_url) == 1
        two.stop()  # its lock connection is dead: stopping does not raise
        assert one.is_leader()  # and the lock can be taken again
        one.stop()
    finally:
        first.close()
        second.close()


def test_concurrent_remind_runs_sweep_once(postgres_url: str, tmp_path: Path) -> None:
    """Three `planbot remind --now` at once, on six days: each reminder is queued and sent once."""
    env = {"PLANBOT_DATABASE_URL": postgres_url, "PLANBOT_DATA_DIR": str(tmp_path),
           "PLANBOT_NOW": "2018-10-09T08:00:00+08:00", "PATH": str(PLANBOT.parent)}
    app = bootstrap(Settings.from_env(env))
    try:
        bot = TestBot(app)
        for n, unit in enumerate(("panshan", "dawa", "xinglongtai", "shuangtaizi")):
            bot.join(f"c{n}", "contact", unit)
        days = ["2018-10-08T09:00", "2018-10-09T09:00", "2018-10-10T09:00", "2018-10-11T09:00", "2018-10-12T09:00",
                "2018-10-15T09:00"]

        def remind(at: str) -> str:
            proc = subprocess.run([str(PLANBOT), "remind", "--now", at], env=env, capture_output=True, text=True,
                                  timeout=120)
            assert proc.returncode == 0, proc.stderr
            return proc.stdout

        for day in days:
            with ThreadPoolExecutor(3) as pool:
                outs = list(pool.map(remind, [day] * 3))
            printed = [line for out in outs for line in out.splitlines() if line.startswith("→")]
            assert len(printed) == len(set(printed))  # no message printed (sent) twice
        with app.uow() as s:
            statuses = dict(s.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all())
            keys = list(s.scalars(select(OutboxRow.key)))
        assert statuses.get("sent", 0) > 0 and set(statuses) <= {"sent", "missed"}
        assert len(keys) == len(set(keys))
    finally:
        app.close()
