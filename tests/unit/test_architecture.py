"""The layout holds: imports run one way (import-linter), migrations carry their own code, the code is lint-clean."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

BIN = Path(sys.executable).parent
OURS = ("bot", "handlers", "reminders", "i18n")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_imports_run_one_way() -> None:
    """import-linter's contracts in pyproject.toml: a wrong arrow fails with the import that breaks it."""
    done = _run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout and "0 broken" in done.stdout


@pytest.mark.parametrize("path", sorted((ROOT / "bot/db/migrations/versions").glob("[0-9]*.py")), ids=lambda p: p.name)
def test_a_migration_imports_nothing_of_ours(path: Path) -> None:
    """An old migration must not change when application code changes: it imports only alembic and SQLAlchemy."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
    assert [m for m in found if m.split(".")[0] in OURS or m.startswith(".")] == [], found


def test_ruff_finds_nothing() -> None:
    """The style the project set in pyproject.toml."""
    done = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_finds_nothing() -> None:
    """Type hints everywhere, checked strictly."""
    done = _run(str(BIN / "mypy"), "--no-incremental")
    assert done.returncode == 0, done.stdout + done.stderr
