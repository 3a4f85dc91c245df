"""How fast hostile plan files are refused, and what a plan just under the size cap costs to load.

Prints, for each case, the wall and CPU time of read_plan_file and the peak of Python allocations (tracemalloc):
a billion-laughs file (9 ** 9 values once expanded), a 53 MB file, and a valid plan of ~1 MB (the Panjin plan with
generated indicators, just under MAX_PLAN_BYTES). Usage: .venv/bin/python bench/plan_limits.py
"""

from __future__ import annotations

import copy
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import DEFAULT_PLAN  # noqa: E402
from bot.services.plan_file import read_plan_file  # noqa: E402
from bot.services.plan_problems import PlanFileError  # noqa: E402
from bot.services.plan_spec import MAX_PLAN_BYTES  # noqa: E402


def big_plan(path: Path) -> int:
    """A valid plan just under the size cap: the Panjin plan with copies of its first indicator; its indicators."""
    doc = yaml.safe_load(DEFAULT_PLAN.read_text(encoding="utf-8"))
    template = doc["indicators"][0]

    def text(n: int) -> str:
        extra = [copy.deepcopy(template) | {"code": f"generated_{i}", "aliases": [f"生成{i}", f"gen {i}"],
                                            "name": {"zh": f"生成指标{i}", "en": f"Generated indicator {i}"}}
                 for i in range(n)]
        return yaml.safe_dump(doc | {"indicators": doc["indicators"] + extra}, allow_unicode=True, sort_keys=False)

    per = len(text(10).encode()) - len(text(0).encode())
    n = int((MAX_PLAN_BYTES * 0.97 - len(text(0).encode())) / (per / 10))
    path.write_text(text(n), encoding="utf-8")
    return n


def _read(path: Path) -> str:
    try:
        plan = read_plan_file(path)
        return f"loaded, {len(plan.indicators)} indicators"
    except PlanFileError as e:
        return "refused: " + e.problems[0].message.split(";")[0].format(n="N")


def measure(label: str, path: Path) -> None:
    """Wall and CPU time of reading one plan file; then, in a second read, the peak of Python allocations."""
    wall, cpu = time.perf_counter(), time.process_time()
    outcome = _read(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tracemalloc.start()
    _read(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    size = path.stat().st_size
    print(f"{label:<15} {size / 1e6:6.2f} MB  wall {wall * 1000:7.1f} ms  cpu {cpu * 1000:7.1f} ms  "
          f"peak {peak / 1e6:5.1f} MB  {outcome}")


def main() -> None:
    """Run the three cases."""
    with tempfile.TemporaryDirectory() as tmp:
        huge, big = Path(tmp) / "huge.yaml", Path(tmp) / "big.yaml"
        with huge.open("w", encoding="utf-8") as fh:
            fh.write("plan: {code: big}\n" + "# padding to 53 MB, as in the issue\n" * 1_500_000)
        big_plan(big)
        measure("billion laughs", ROOT / "tests" / "data" / "billion-laughs.yaml")
        measure("53 MB file", huge)
        measure("~1 MB plan", big)
        measure("Panjin plan", DEFAULT_PLAN)


if __name__ == "__main__":
    main()
