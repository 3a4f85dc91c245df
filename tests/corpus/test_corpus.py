"""The corpus of messages people type (tests/corpus/*.yaml): each comes to what it should, on SQLite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import App
from bot.bootstrap import bootstrap
from bot.config import Settings
from corpus.runner import Case, Speaker, cases, judge

CASES = cases()
NOW = "2018-10-15T10:00:00+08:00"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 400
    assert {c.category for c in CASES} >= {"figures", "prompts", "questions", "admin", "pushed", "refusals"}
    assert {c.lang for c in CASES} == {"zh", "en"}


@pytest.fixture(scope="module")
def speaker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Speaker]:
    folder: Path = tmp_path_factory.mktemp("corpus")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "TELEGRAM_", "WECOM_"))}
    env.update({"PLANBOT_DATA_DIR": str(folder), "PLANBOT_NOW": NOW, "PLANBOT_LANG": "zh"})
    app: App = bootstrap(Settings.from_env(env))
    yield Speaker(app)
    app.close()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, speaker: Speaker) -> None:
    outcome, out, state = speaker.play(case)
    verdict = judge(case, outcome, out, state)
    assert verdict is None, f"{case.text!r} ({case.at}, {case.role}, {case.lang}) expected {case.expect}: " \
                            f"{verdict}\n{out}"
