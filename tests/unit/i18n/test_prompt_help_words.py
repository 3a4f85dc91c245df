"""Help names the words of its own language: English help says cancel/confirm, Chinese help says 取消/确认."""

from __future__ import annotations

import re

import pytest

from handlers.commands import COMMANDS, SYNONYMS
from handlers.prompts import HELP
from handlers.states import State
from i18n import translator_for

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_WORD = re.compile(r"(?<![/A-Za-z])(cancel|confirm|edit|yes|later|send|report|correct)(?![A-Za-z])")
LANGUAGE_NAMES = re.compile(r"中文|English")  # a language is named in its own language in both


def lines() -> list[str]:
    """Every help line a person can be shown at a prompt or in the command list."""
    extra = ["You can reply with the number of a choice, its words, or cancel to stop.",
             "cancel stops what you were doing."]
    return [*HELP.values(), *(line for c in COMMANDS for line in c.help), *extra]


@pytest.mark.parametrize("msgid", lines())
def test_english_help_names_english_words(msgid: str) -> None:
    shown = translator_for("en")(msgid)
    assert not CJK.search(LANGUAGE_NAMES.sub("", shown)), shown


@pytest.mark.parametrize("msgid", lines())
def test_chinese_help_names_chinese_words(msgid: str) -> None:
    shown = translator_for("zh")(msgid)
    assert CJK.search(shown) and not ENGLISH_WORD.search(LANGUAGE_NAMES.sub("", shown)), shown


def test_the_english_words_help_names_work_at_that_prompt() -> None:
    said = {State.REPORT_CONFIRM: {"confirm": "confirm", "edit": "edit", "cancel": "cancel"},
            State.REPORT_NEXT: {"yes": "pick", "later": "cancel"},
            State.BROADCAST_CONFIRM: {"send": "send", "cancel": "cancel"}}
    for state, words in said.items():
        shown = translator_for("en")(HELP[state])
        for word, action in words.items():
            assert re.search(rf"\b{word}\b", shown), (state, word)
            assert word in SYNONYMS[action], (state, word, action)
