#!/usr/bin/env python3
"""How much of what people type planbot understands: the corpus (tests/corpus/*.yaml) played on the console channel,
the share of messages that came to what they should, per category, with the clock at 2018-10-15 on SQLite.

Categories: figures (a figure in a sentence, idle), prompts (answers typed at each prompt), questions (leaders' and
contacts' questions), admin (notices, invites, reporting for a named unit), pushed (answers to a notice or reminder),
refusals (figures that must be refused with their reason). Targets: figures >= 98%, questions >= 95%.

    .venv/bin/python bench/understanding.py [--show-misses] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from corpus.runner import cases, run_all  # noqa: E402

from bot.bootstrap import bootstrap  # noqa: E402
from bot.config import Settings  # noqa: E402

TARGETS = {"figures": 98.0, "questions": 95.0}


def main() -> int:
    """Play the corpus and print the share understood per category; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="print each message not understood")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "corpus",
                        help="a folder of corpus files (default tests/corpus), e.g. a new held-out set")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "TELEGRAM_", "WECOM_"))}
    with tempfile.TemporaryDirectory() as folder:
        env.update({"PLANBOT_DATA_DIR": folder, "PLANBOT_NOW": "2018-10-15T10:00:00+08:00", "PLANBOT_LANG": "zh"})
        app = bootstrap(Settings.from_env(env))
        total, good = Counter[str](), Counter[str]()
        started = time.perf_counter()
        try:
            for case, verdict, _ in run_all(app, cases(args.corpus)):
                total[case.category] += 1
                good[case.category] += verdict is None
                if verdict is not None and args.show_misses:
                    print(f"  miss [{case.category}] {case.text!r} at {case.at} ({case.lang}): {verdict}")
        finally:
            app.close()
        elapsed = time.perf_counter() - started
    print(f"{'category':<11} {'cases':>5} {'understood':>10} {'share':>7}  target")
    failed = False
    for cat in sorted(total):
        share = 100.0 * good[cat] / total[cat]
        target = TARGETS.get(cat)
        ok = target is None or share >= target
        failed |= not ok
        mark = "" if target is None else f">= {target:.0f}%  {'PASS' if ok else 'FAIL'}"
        print(f"{cat:<11} {total[cat]:>5} {good[cat]:>10} {share:>6.1f}%  {mark}")
    n, g = sum(total.values()), sum(good.values())
    print(f"{'all':<11} {n:>5} {g:>10} {100.0 * g / n:>6.1f}%   ({elapsed:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
