"""Where the repository's files are, for tests at any depth of tests/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
DATA = ROOT / "tests" / "data"  # plan files and spreadsheets the tests read
PANJIN_PLAN = ROOT / "plans" / "panjin-2018-2020.yaml"
README = ROOT / "README.md"


def merged_zone_plan(folder: Path) -> Path:
    """The Panjin plan with one more unit, merged_zone (Merged zone), that takes over liaohekou's work from
    2019-01-01 (liaohekou's succeeded_by), written to folder/plan.yaml."""
    source = PANJIN_PLAN.read_text(encoding="utf-8")
    at = source.index("  - code: liaohekou")
    source = (source[:at] + "  - code: merged_zone\n    name: {zh: 合并后的经济区, en: Merged zone}\n    kind: zone\n"
              + source[at:])
    at = source.index("kind: zone", source.index("  - code: liaohekou")) + len("kind: zone")
    source = source[:at] + "\n    succeeded_by: {unit: merged_zone, from: 2019-01-01}" + source[at:]
    path = folder / "plan.yaml"
    path.write_text(source, encoding="utf-8")
    return path
