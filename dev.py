#!/usr/bin/env python3
"""Set up and run planbot with nothing but Python 3.11+: `python3 dev.py run` or `python3 dev.py test`.

The first call makes a virtual environment in .venv and installs planbot with its test tools from
pyproject.toml; later calls reinstall only when pyproject.toml changes. Extra arguments go to the
command: `python3 dev.py run --lang en`, `python3 dev.py test -k pace`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".install-stamp"


def ensure_env() -> None:
    """Create .venv and install the project into it when missing or out of date."""
    if sys.version_info < (3, 11):  # noqa: UP036 (this file runs before the venv exists, on any Python)
        sys.exit(f"planbot needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest and (BIN / "planbot").exists():
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing planbot and its dependencies into .venv ...", file=sys.stderr)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(digest)


def main() -> int:
    """Dispatch `run` (start the bot) or `test` (run the whole test suite)."""
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_env()
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "run":
        argv = [str(BIN / "planbot"), "run", *rest]
    else:
        argv = [str(BIN / "python"), "-m", "pytest", *rest]
    return subprocess.call(argv, cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
