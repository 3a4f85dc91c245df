"""The test suite's own manners: without PostgreSQL configured, one line says how to run its tests, no skip each."""

from __future__ import annotations

import os
import subprocess
import sys

from paths import ROOT


def test_without_postgres_one_line_says_how_to_run_its_tests() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PLANBOT_TEST_POSTGRES_URL", "PLANBOT_REQUIRE_POSTGRES")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-ra", "-p", "no:cacheprovider",
         "tests/integration/db/test_storage.py::test_decimals_round_trip_exactly"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert [line for line in lines if "PLANBOT_TEST_POSTGRES_URL=postgresql" in line] == [
        "1 PostgreSQL test not run; to run them: "
        "PLANBOT_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test python3 dev.py test"]
    assert "SKIPPED" not in proc.stdout and "skipped" not in lines[-1]
    assert "1 passed, 1 deselected" in lines[-1]
