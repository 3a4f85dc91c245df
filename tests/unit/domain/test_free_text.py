"""Free text made safe to store and show: one line, no control or bidi characters."""

from __future__ import annotations

import pytest

from bot.domain.free_text import BIDI_CONTROLS, clean_block, one_line, shortened


@pytest.mark.parametrize(("text", "expected"), [
    ("数错了\n• 大洼区, 2018Q2: 999家", "数错了 • 大洼区, 2018Q2: 999家"),
    ("a\r\nb\rc\u2028d\u2029e\x85f\x0bg", "a b c d e f g"),
    ("  tabs\tand   spaces  ", "tabs and spaces"),
    ("abc\u202e001\u202c", "abc001"),
    ("\x1b[2Jclear\x00\x07", "[2Jclear"),
    ("emoji 👩\u200d💻 stays", "emoji 👩\u200d💻 stays"),
])
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


def test_every_bidi_control_is_removed() -> None:
    assert one_line("x".join(sorted(BIDI_CONTROLS))) == "x" * (len(BIDI_CONTROLS) - 1)
    assert clean_block("".join(sorted(BIDI_CONTROLS))) == ""


def test_a_block_keeps_its_lines() -> None:
    assert clean_block("\n 第一行 \r\n第二行\u202e\x07\n\n") == "第一行\n第二行"


def test_shortened() -> None:
    assert shortened("abcdef", 4) == "abc…" and shortened("abc", 4) == "abc"
