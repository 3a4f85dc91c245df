"""Hostile files given to the `planbot` command (a subprocess): refused with a clear message, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from paths import DATA

PLANBOT = Path(sys.executable).parent / "planbot"
BILLION_LAUGHS = DATA / "billion-laughs.yaml"


def planbot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run planbot; a hang (a bomb being expanded) fails the test instead of the machine."""
    return subprocess.run([str(PLANBOT), *args], env=env, capture_output=True, text=True, timeout=60)


def test_a_yaml_bomb_and_a_huge_plan_file_are_refused(env: dict[str, str], tmp_path: Path) -> None:
    bomb, huge = BILLION_LAUGHS, tmp_path / "huge.yaml"
    with huge.open("w", encoding="utf-8") as fh:
        fh.write("plan: {code: big}\n" + "# padding to 53 MB, as in the issue\n" * 1_500_000)
    for file, words in ((bomb, "锚点和别名被反复引用"), (huge, "文件大于 1024 KB")):
        proc = planbot(env, "plan", "load", str(file))
        assert proc.returncode == 2, proc.stderr
        assert words in proc.stderr and "Traceback" not in proc.stderr
    proc = planbot(env, "--lang", "en", "plan", "validate", str(bomb))
    assert proc.returncode == 2 and "anchors and aliases used over and over" in proc.stderr
    assert "高新技术企业总数" in planbot(env, "plan", "show").stdout  # the plan loaded before is still the one
