"""Figures typed in chat: exact Decimal values or exact reason codes (bot.domain.figures)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from bot.domain import figures
from bot.domain.cn_numerals import CnNumeralError, cn_to_decimal, cn_to_int
from bot.domain.figures import FigureError, ParsedFigure, find_figure, parse_figure, parse_number


@dataclass(frozen=True)
class Ok:
    """An accepted figure: its exact value, percent form and measure word."""

    value: str
    percent: bool = False
    points: bool = False
    measure: str | None = None


def D(s: str) -> Decimal:
    return Decimal(s)


NEG: dict[str, Any] = {"allow_negative": True}

# (text, keyword arguments, expected: Ok(...) or a reason code)
PARSE_CASES: list[tuple[str, dict[str, Any], Ok | str]] = [
    # ASCII and full-width digits
    ("12", {}, Ok("12")),
    ("0", {}, Ok("0")),
    ("  12  ", {}, Ok("12")),
    ("１２", {}, Ok("12")),
    ("１２３４５", {}, Ok("12345")),
    ("+5", {}, Ok("5")),
    ("007", {}, Ok("7")),  # leading zeros are harmless
    # thousands separators
    ("1,234", {}, Ok("1234")),
    ("1,234,567", {}, Ok("1234567")),
    ("1,234,567.5", {}, Ok("1234567.5")),
    ("１，２３４", {}, Ok("1234")),  # full-width comma becomes ASCII
    ("1,2345", {}, figures.REASON_BAD_SEPARATOR),
    ("12,34", {}, figures.REASON_BAD_SEPARATOR),
    ("1234,567", {}, figures.REASON_BAD_SEPARATOR),
    ("1,23", {}, figures.REASON_BAD_SEPARATOR),
    (",123", {}, figures.REASON_NOT_A_NUMBER),
    # decimals; choice: "12." is 12 followed by a full stop, ".5" is 0.5, "..5" is garbage
    ("12.5", {}, Ok("12.5")),
    ("２．５", {}, Ok("2.5")),
    ("0.5", {}, Ok("0.5")),
    (".5", {}, Ok("0.5")),
    ("12.", {}, Ok("12")),
    ("12。", {}, Ok("12")),
    ("..5", {}, figures.REASON_NOT_A_NUMBER),
    ("2.1234", {}, Ok("2.1234")),
    ("2.12345", {}, figures.REASON_TOO_MANY_DECIMALS),
    ("2.50000", {}, figures.REASON_TOO_MANY_DECIMALS),  # trailing zeros count as typed
    ("2.125", {"max_decimals": 2}, figures.REASON_TOO_MANY_DECIMALS),
    ("2.12", {"max_decimals": 2}, Ok("2.12")),
    ("3.5", {"max_decimals": 0}, figures.REASON_TOO_MANY_DECIMALS),
    ("1.23456万", {}, Ok("12345.6")),  # decimals are counted on the value after 万
    ("2.12345%", {}, figures.REASON_TOO_MANY_DECIMALS),
    # Chinese numerals
    ("十二", {}, Ok("12")),
    ("十", {}, Ok("10")),
    ("二十", {}, Ok("20")),
    ("一十五", {}, Ok("15")),
    ("一百零五", {}, Ok("105")),
    ("一百〇五", {}, Ok("105")),
    ("两千三百", {}, Ok("2300")),
    ("两千三", {}, Ok("2300")),  # a bare last digit is the next place down
    ("一百五", {}, Ok("150")),
    ("一千零十", {}, Ok("1010")),
    ("一万二千", {}, Ok("12000")),
    ("一万二", {}, Ok("12000")),
    ("一万零五百", {}, Ok("10500")),
    ("十万", {}, Ok("100000")),
    ("十万一千", {}, Ok("101000")),
    ("三亿", {}, Ok("300000000")),
    ("一亿零五百万", {}, Ok("105000000")),
    ("零", {}, Ok("0")),
    ("两", {}, Ok("2")),
    ("三点五", {}, Ok("3.5")),
    ("十二点零五", {}, Ok("12.05")),
    ("零点五", {}, Ok("0.5")),
    ("三点五万", {}, Ok("35000")),
    ("一二三", {}, figures.REASON_NOT_A_NUMBER),  # digit by digit is ambiguous
    ("二〇一八", {}, figures.REASON_NOT_A_NUMBER),
    ("一百零", {}, figures.REASON_NOT_A_NUMBER),
    ("三点两", {}, figures.REASON_NOT_A_NUMBER),
    ("十二点", {}, figures.REASON_NOT_A_NUMBER),
    ("万", {}, figures.REASON_NOT_A_NUMBER),
    ("百万", {}, figures.REASON_NOT_A_NUMBER),  # write 一百万
    ("一批", {}, figures.REASON_NOT_A_NUMBER),
    # multipliers after Arabic numbers
    ("1.5万", {}, Ok("15000")),
    ("2亿", {}, Ok("200000000")),
    ("3千", {}, Ok("3000")),
    ("3千万", {}, Ok("30000000")),
    ("1,000万", {}, Ok("10000000")),
    ("1.5万元", {}, Ok("15000", measure="元")),
    ("2.5亿元", {}, Ok("250000000", measure="元")),
    ("三亿元", {}, Ok("300000000", measure="元")),
    ("1.2万人次", {}, Ok("12000", measure="人次")),
    # percent forms
    ("2.5%", {}, Ok("2.5", percent=True)),
    ("２．５％", {}, Ok("2.5", percent=True)),
    ("2.5 %", {}, Ok("2.5", percent=True)),
    ("五十%", {}, Ok("50", percent=True)),
    ("百分之二点五", {}, Ok("2.5", percent=True)),
    ("百分之2.5", {}, Ok("2.5", percent=True)),
    ("百分之一", {}, Ok("1", percent=True)),
    ("百分之百", {}, Ok("100", percent=True)),
    ("2.5个百分点", {}, Ok("2.5", percent=True, points=True)),
    ("2.5百分点", {}, Ok("2.5", percent=True, points=True)),
    ("两个百分点", {}, Ok("2", percent=True, points=True)),
    ("百分之五%", {}, figures.REASON_NOT_A_NUMBER),
    # measure words
    ("12家", {}, Ok("12", measure="家")),
    ("12 家", {}, Ok("12", measure="家")),
    ("12个", {}, Ok("12", measure="个")),
    ("5项", {}, Ok("5", measure="项")),
    ("3人", {}, Ok("3", measure="人")),
    ("8人次", {}, Ok("8", measure="人次")),
    ("4名", {}, Ok("4", measure="名")),
    ("6次", {}, Ok("6", measure="次")),
    ("7件", {}, Ok("7", measure="件")),
    ("一百零五家", {}, Ok("105", measure="家")),
    ("一万二千家。", {}, Ok("12000", measure="家")),
    ("12户", {}, figures.REASON_NOT_A_NUMBER),  # not a known measure word
    ("12家家", {}, figures.REASON_NOT_A_NUMBER),
    # NaN, infinities, exponents
    ("NaN", {}, figures.REASON_NOT_A_NUMBER),
    ("nan", {}, figures.REASON_NOT_A_NUMBER),
    ("inf", {}, figures.REASON_NOT_A_NUMBER),
    ("-inf", {}, figures.REASON_NOT_A_NUMBER),
    ("Infinity", {}, figures.REASON_NOT_A_NUMBER),
    ("∞", {}, figures.REASON_NOT_A_NUMBER),
    ("无穷", {}, figures.REASON_NOT_A_NUMBER),
    ("无穷大", {}, figures.REASON_NOT_A_NUMBER),
    ("1e5", {}, figures.REASON_EXPONENT),
    ("1E-3", {}, figures.REASON_EXPONENT),
    ("2.5e+3", {}, figures.REASON_EXPONENT),
    # negatives
    ("-5", {}, figures.REASON_NEGATIVE),
    ("- 5", {}, figures.REASON_NEGATIVE),
    ("−5", {}, figures.REASON_NEGATIVE),  # U+2212 minus sign
    ("－5", {}, figures.REASON_NEGATIVE),  # full-width hyphen-minus
    ("负五", {}, figures.REASON_NEGATIVE),
    ("-2.5%", {}, figures.REASON_NEGATIVE),
    ("-5", NEG, Ok("-5")),
    ("负五", NEG, Ok("-5")),
    ("负3.5", NEG, Ok("-3.5")),
    ("-1.5万", NEG, Ok("-15000")),
    ("-0.5个百分点", NEG, Ok("-0.5", percent=True, points=True)),
    ("-0", {}, Ok("0")),  # choice: minus zero is zero, not negative
    # two numbers
    ("12 15", {}, figures.REASON_TWO_NUMBERS),
    ("12家和15家", {}, figures.REASON_TWO_NUMBERS),
    ("12, 15", {}, figures.REASON_TWO_NUMBERS),
    ("1/2", {}, figures.REASON_TWO_NUMBERS),
    ("十二 十五", {}, figures.REASON_TWO_NUMBERS),
    # mixed Arabic and Chinese digits
    ("1二3", {}, figures.REASON_MIXED),
    ("十2", {}, figures.REASON_MIXED),
    ("二3", {}, figures.REASON_MIXED),
    ("12万5", {}, figures.REASON_MIXED),
    ("3点五", {}, figures.REASON_MIXED),
    ("三点5", {}, figures.REASON_MIXED),
    # empty and garbage
    ("", {}, figures.REASON_EMPTY),
    ("   ", {}, figures.REASON_EMPTY),
    ("　", {}, figures.REASON_EMPTY),  # ideographic space
    ("abc", {}, figures.REASON_NOT_A_NUMBER),
    ("5G", {}, figures.REASON_NOT_A_NUMBER),
    ("0x1F", {}, figures.REASON_NOT_A_NUMBER),
    ("12abc", {}, figures.REASON_NOT_A_NUMBER),
    ("：12", {}, figures.REASON_NOT_A_NUMBER),  # only trailing punctuation is allowed
    ("高新技术企业12家", {}, figures.REASON_NOT_A_NUMBER),  # words: use find_figure
    ("2018年", {}, figures.REASON_NOT_A_NUMBER),
    ("１２３４５６７８９０１２３４５６７８９０１２３４５", {}, figures.REASON_NOT_A_NUMBER),  # 25 digits
]


@pytest.mark.parametrize(("text", "kwargs", "expected"), PARSE_CASES, ids=[c[0] or "-" for c in PARSE_CASES])
def test_parse_figure(text: str, kwargs: dict[str, Any], expected: Ok | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(FigureError) as info:
            parse_figure(text, **kwargs)
        assert info.value.reason == expected
        return
    fig = parse_figure(text, **kwargs)
    assert isinstance(fig.value, Decimal)
    assert fig.value == D(expected.value)
    assert (fig.percent, fig.points, fig.measure) == (expected.percent, expected.points, expected.measure)


def test_parse_case_count() -> None:
    assert len(PARSE_CASES) >= 70


# (text, expected: (value, rest) or a reason code)
FIND_CASES: list[tuple[str, tuple[str, str] | str]] = [
    ("高新技术企业 12家", ("12", "高新技术企业")),
    ("科技型中小企业：一百零五", ("105", "科技型中小企业")),
    ("研发经费占比2.3%", ("2.3", "研发经费占比")),
    ("今年新增高新技术企业12家", ("12", "新增高新技术企业")),
    ("2018年第三季度高新技术企业12家", ("12", "高新技术企业")),
    ("2018Q3 高企 12", ("12", "高企")),
    ("截至2018年9月30日，高企12家", ("12", "高企")),
    ("1-9月高企12家", ("12", "高企")),
    ("近三个月新增高企12家", ("12", "新增高企")),
    ("一季度高企十二家", ("12", "高企")),
    ("高新技术企业数量达到一百零五家", ("105", "高新技术企业数量")),
    ("高企为十二", ("12", "高企")),
    ("高企共12家。", ("12", "高企")),
    ("新增十二户", ("12", "户")),  # 新增 before a Chinese numeral makes it a figure
    ("研发投入强度达2.5个百分点", ("2.5", "研发投入强度")),
    ("占比百分之五十以上", ("50", "占比以上")),
    ("研发经费 1.5万元", ("15000", "研发经费")),
    ("每万人口发明专利拥有量12件", ("12", "每万人口发明专利拥有量")),
    ("5G基站 120个", ("120", "5G基站")),
    ("十四五期间新增高企12家", ("12", "十四五期间新增高企")),
    ("三年行动计划完成12项", ("12", "三年行动计划")),
    ("打造十大产业集群12个", ("12", "打造十大产业集群")),
    ("第一批高企12家", ("12", "第一批高企")),  # an ordinal is not a figure
    ("R&D spending 12", ("12", "R&D spending")),
    ("高企１２家", ("12", "高企")),
    ("高企12家，科小15家", figures.REASON_TWO_NUMBERS),
    ("高企12家 15家", figures.REASON_TWO_NUMBERS),
    ("2018 高企 12家", figures.REASON_TWO_NUMBERS),  # a bare year without 年 is a number
    ("新增一批企业", figures.REASON_NO_NUMBER),
    ("一些企业统一申报", figures.REASON_NO_NUMBER),
    ("高新技术企业", figures.REASON_NO_NUMBER),
    ("2018年第三季度", figures.REASON_NO_NUMBER),
    ("", figures.REASON_EMPTY),
    ("高企-5家", figures.REASON_NEGATIVE),
    ("高企：NaN", figures.REASON_NOT_A_NUMBER),
    ("高企1e5家", figures.REASON_EXPONENT),
    ("高企 1二3家", figures.REASON_MIXED),
    ("高企12.12345家", figures.REASON_TOO_MANY_DECIMALS),
    ("高企1,2345家", figures.REASON_BAD_SEPARATOR),
    ("高企：一二三", figures.REASON_NOT_A_NUMBER),
]


@pytest.mark.parametrize(("text", "expected"), FIND_CASES, ids=[c[0] or "-" for c in FIND_CASES])
def test_find_figure(text: str, expected: tuple[str, str] | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(FigureError) as info:
            find_figure(text)
        assert info.value.reason == expected
        return
    fig, rest = find_figure(text)
    assert (fig.value, rest) == (D(expected[0]), expected[1])


def test_find_figure_reports_percent_and_measure() -> None:
    fig, rest = find_figure("研发经费占比2.3%")
    assert fig == ParsedFigure(D("2.3"), True, False, None, "2.3%")
    assert rest == "研发经费占比"
    fig, _ = find_figure("高新技术企业 12家")
    assert (fig.measure, fig.percent, fig.text) == ("家", False, "12家")


def test_find_figure_allow_negative() -> None:
    fig, rest = find_figure("研发经费增速：-2.5%", allow_negative=True)
    assert (fig.value, fig.percent, rest) == (D("-2.5"), True, "研发经费增速")


def test_find_case_count() -> None:
    assert len(FIND_CASES) >= 15


def test_parsed_figure_text_is_nfkc() -> None:
    assert parse_figure("２．５％").text == "2.5%"


def test_figure_error_fields() -> None:
    with pytest.raises(FigureError) as info:
        parse_figure("1,2345")
    assert isinstance(info.value, ValueError)
    assert info.value.reason == "bad_separator"
    assert info.value.detail == "1,2345"
    with pytest.raises(FigureError) as info:
        parse_figure("")
    assert info.value.detail is None


def test_reason_codes_match_their_names() -> None:
    names = [n for n in dir(figures) if n.startswith("REASON_")]
    assert len(names) == 9
    for name in names:
        assert getattr(figures, name) == name.removeprefix("REASON_").lower()


def test_values_are_decimal_never_float() -> None:
    for text in ("12", "2.5%", "三点五", "1.5万"):
        assert type(parse_figure(text).value) is Decimal
        assert parse_figure(text).value.is_finite()
    assert str(parse_figure("1.5万").value) == "15000"
    assert str(parse_figure("12.50").value) == "12.50"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", D("12")), ("-5", D("-5")), ("负三点五", D("-3.5")), ("一万二千", D("12000")),
     ("2.123456", D("2.123456"))],
)
def test_parse_number(text: str, expected: Decimal) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [("5%", "not_a_number"), ("12家", "not_a_number"), ("", "empty"), ("nan", "not_a_number"),
     ("1e3", "exponent"), ("1 2", "two_numbers")],
)
def test_parse_number_rejects(text: str, reason: str) -> None:
    with pytest.raises(FigureError) as info:
        parse_number(text)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("text", "value"), [("九千九百九十九", 9999), ("一万亿", 10**12), ("二十万零三百", 200300)]
)
def test_cn_to_int(text: str, value: int) -> None:
    assert cn_to_int(text) == value


@pytest.mark.parametrize("text", ["", "点五", "一二", "十十", "一千零五百", "一亿亿", "百"])
def test_cn_numeral_errors(text: str) -> None:
    with pytest.raises(CnNumeralError):
        cn_to_decimal(text)
