"""Only ASCII and full-width digits are digits: in figures, periods, numbered choices and durations."""

from __future__ import annotations

import pytest

from bot.domain.digits import choice_number, odd_digit
from bot.domain.figures import FigureError, find_figure, parse_figure
from bot.domain.period import PeriodError, find_period, parse_period
from bot.errors import UserError
from bot.services.people import parse_duration

ODD = ["²", "①", "𝟏𝟐", "١٢", "⒓", "½", "⑫", "𝟚", "¹²"]


@pytest.mark.parametrize("text", ODD)
def test_odd_digits_are_found_and_refused_as_figures(text: str) -> None:
    assert odd_digit(text) is not None
    assert choice_number(text) is None
    with pytest.raises(FigureError) as e:
        parse_figure(text)
    assert e.value.reason == "not_a_number"
    with pytest.raises(FigureError):
        find_figure(f"高新技术企业 {text}家")


@pytest.mark.parametrize("text", ["12", "１２", "十二", "一百零五", "参与单位 12家", "Ⅻ"])
def test_plain_digits_and_chinese_numerals_are_not_odd(text: str) -> None:
    assert odd_digit(text) is None


def test_choice_numbers_are_ascii_or_full_width() -> None:
    assert [choice_number(t) for t in ("1", " 2 ", "１２", "0")] == [1, 2, 12, 0]
    assert [choice_number(t) for t in ("", "1.5", "-1", "1e3", "9999999", "²")] == [None] * 6
    assert parse_figure("１２家").value == 12


def test_periods_and_durations_take_plain_digits_only() -> None:
    assert parse_period("２０１８Q3").label == "2018Q3"
    for odd in ("𝟐𝟎𝟏𝟖Q3", "٢٠١٨", "2018Q³"):
        with pytest.raises(PeriodError):
            parse_period(odd)
    assert find_period("𝟐𝟎𝟏𝟖年 高企 12家")[0] is None
    assert parse_duration("７d").days == 7
    for odd in ("𝟕d", "٧d", "²d"):
        with pytest.raises(UserError):
            parse_duration(odd)
