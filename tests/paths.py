"""Where the repository's files are, for tests at any depth of tests/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
DATA = ROOT / "tests" / "data"  # plan files and spreadsheets the tests read
PANJIN_PLAN = ROOT / "plans" / "panjin-2018-2020.yaml"
README = ROOT / "README.md"
