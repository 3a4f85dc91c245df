"""The years a leader's question names ("2018年目标完成了吗"): what the scorecard is narrowed to."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.period_words import years_named

TODAY = date(2019, 1, 15)


@pytest.mark.parametrize(("text", "years"), [
    ("2018年目标完成了吗", {2018}), ("18年的目标", {2018}), ("２０２０年目标达到了没有", {2020}),
    ("去年的目标完成了吗", {2018}), ("今年", {2019}), ("前年", {2017}), ("were the 2018 targets met?", {2018}),
    ("last year's targets", {2018}), ("this year", {2019}),
    ("目标完成情况", set()), ("高企完成了12家", set()), ("完成了120家", set()),
])
def test_years_named(text: str, years: set[int]) -> None:
    assert years_named(text, TODAY) == years
