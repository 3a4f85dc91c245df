"""Figures typed in chat (12家, 一百零五, 2.5%, 百分之二点五, 1.5万元) read strictly into Decimal (pure).

Values are never floats, NaN or infinities. A multiplier after a number is applied to the value: 1.5万 is
15000 and 1.5万元 is 15000 with measure 元 (the caller converts to the indicator's unit). Decimal places are
counted on the value after the multiplier, trailing zeros included as typed (2.50000 has five).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Context, Decimal

from bot.domain.cn_numerals import CnNumeralError, cn_to_decimal
from bot.domain.digits import odd_digit

REASON_EMPTY = "empty"
REASON_NO_NUMBER = "no_number"
REASON_TWO_NUMBERS = "two_numbers"
REASON_NOT_A_NUMBER = "not_a_number"
REASON_EXPONENT = "exponent"
REASON_NEGATIVE = "negative"
REASON_TOO_MANY_DECIMALS = "too_many_decimals"
REASON_BAD_SEPARATOR = "bad_separator"
REASON_MIXED = "mixed"

MEASURE_WORDS = ("家", "个人", "个", "项", "人次", "人", "名", "次", "件", "支", "位", "所", "座", "元")
_MAX_DIGITS = 24
_CTX = Context(prec=60)
_MULT_EXP = {"十": 1, "百": 2, "千": 3, "万": 4, "亿": 8}
_CN_DIGIT = "零〇一二两三四五六七八九"
_FIGURE = re.compile(
    r"(?P<pre>百分之)?(?P<sign>(?<![0-9A-Za-z])[+\-\u2212]\s*|负)?"
    r"(?:(?P<ar>[0-9]+(?:,[0-9]+)*(?:\.[0-9]+)?|\.[0-9]+)"
    rf"|(?P<cn>(?:[{_CN_DIGIT}十千万亿]|百(?!分))+(?:点[{_CN_DIGIT}]+)?))"
    r"(?P<mult>万亿|[十百千]?[万亿]|千|百(?!分))?"
    r"(?:\s*(?P<suffix>个?百分点|%|" + "|".join(MEASURE_WORDS) + "))?"
)
# A number running straight on into more numerals (1二3, 十2, 12万5, 3点五) mixes two ways of writing.
_NUMERAL_NEXT = re.compile(rf"[0-9{_CN_DIGIT}十千万亿]|百(?!分)|点[0-9{_CN_DIGIT}]|\.[{_CN_DIGIT}]")
_NUMERAL_RUN = re.compile(rf"[0-9{_CN_DIGIT}十百千万亿点.,]*")
_NAN = re.compile(r"(?<![A-Za-z])(?:nan|inf(?:inity)?)(?![A-Za-z])|∞|无穷|无限大", re.IGNORECASE)
_EXPONENT = re.compile(r"[0-9][eE][+\-]?[0-9]")
# Dates and periods are not the figure: 2018年, 2018Q3, 2018-09, 第三季度, 9月, 1-9月, 30日, 今年, 上半年.
_PERIOD = re.compile(
    r"(?:截至|截止到?|截止至)?(?:"
    r"(?<![0-9])[0-9]{4}\s*[-~至到]\s*[0-9]{4}\s*年度?"
    r"|(?<![0-9])[0-9]{4}\s*[-/]?\s*[Qq][1-4](?![0-9])"
    r"|(?<![0-9])[0-9]{4}\s*[-/]\s*[0-9]{1,2}(?![0-9])"
    r"|(?<![0-9])[0-9]{4}\s*年度?"
    r"|[〇零一二三四五六七八九]{4}\s*年度?"
    r"|(?<![0-9])[0-9]{1,2}\s*[-~至到]\s*[0-9]{1,2}\s*月份?"
    r"|(?<![0-9.])[0-9]{1,2}\s*月份?"
    rf"|(?<![{_CN_DIGIT}十百千万亿])(?:十[一二]?|[一二三四五六七八九])月份?"
    r"|(?<![0-9.])[0-9]{1,2}\s*[日号]"
    r"|(?:前|近)?(?:(?<![0-9.])[0-9]{1,2}|十[一二]?|[一二两三四五六七八九])\s*个月"
    r"|(?:前|第)?[一二三四1-4]\s*季度"
    r"|(?<![A-Za-z])[Qq][1-4](?![0-9])"
    r"|[上下]半年|(?:今|去|明|本|上|全|当)年度?|(?:本|上|当)(?:季度?|月)|年[底末初]"
    r"|截至目前|目前|当前|至今"
    r")[底末初]?"
)
# Words and set phrases whose numeral characters are not a figure (一批, 统一, 千万, 十四五).
_PHRASES = re.compile(
    rf"(?<![0-9{_CN_DIGIT}十百千万亿])(?<!百分)(?:"
    r"一些|一批|一下|一起|一样|一般|一致|一直|一定|一切|一同|一律|一旦|一体|一线|一流|一道|一边|一并"
    r"|一站式|一次性|一揽子|一带一路|一网通办|一件事|一把手|统一|唯一|之一|万一|千万|十分|三农"
    r"|十三五|十四五|十五五|两化|五位一体)"
)
# Before a Chinese numeral these make it a figure even when words follow it (新增十二户).
_TRIGGERS = (":", "=", "是", "为", "达到", "达", "了", "共", "共计", "合计", "新增", "增加", "减少", "完成",
             "实现", "约", "累计", "有")
# Linking words left just before the figure, dropped from the rest (高企为12家 -> 高企).
_LINKERS = ("达到", "共计", "合计", "累计", "新增", "增加", "增长", "完成", "实现", "约为", "约", "为",
            "是", "达", "共", "了")
_STRIP = " \t\r\n:,.;!?、。~…—"


class FigureError(ValueError):
    """A figure that cannot be accepted; .reason is a stable machine code, .detail optional str."""

    reason: str
    detail: str | None

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ParsedFigure:
    """A figure read from text: its value, percent or percentage points, and measure word."""

    value: Decimal
    percent: bool
    points: bool
    measure: str | None
    text: str


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    result: ParsedFigure | FigureError


def _build(m: re.Match[str]) -> ParsedFigure:
    """The figure of one match of _FIGURE (value, sign, multiplier, percent form, measure word)."""
    pre, suffix, mult = m.group("pre"), m.group("suffix") or "", m.group("mult") or ""
    if ar := m.group("ar"):
        groups = ar.split(".")[0].split(",")
        if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
            raise FigureError(REASON_BAD_SEPARATOR, ar)
        if sum(ch.isdigit() for ch in ar) > _MAX_DIGITS:
            raise FigureError(REASON_NOT_A_NUMBER, f"more than {_MAX_DIGITS} digits")
        value = Decimal(ar.replace(",", ""))
    elif pre and m.group("cn") == "百":
        value = Decimal(100)
    else:
        try:
            value = cn_to_decimal(m.group("cn"))
        except CnNumeralError as e:
            raise FigureError(REASON_NOT_A_NUMBER, f"{m.group('cn')}: {e}") from e
    if mult:
        value = value.scaleb(sum(_MULT_EXP[ch] for ch in mult), _CTX)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent > 0:
            value = value.quantize(Decimal(1), context=_CTX)
    if (m.group("sign") or "").strip() in ("-", "\u2212", "负") and value != 0:
        value = value.copy_negate()
    points = suffix.endswith("百分点")
    percent = bool(pre) or points or suffix == "%"
    if pre and suffix:
        raise FigureError(REASON_NOT_A_NUMBER, f"百分之 with {suffix}")
    measure = None if percent else {"个人": "人"}.get(suffix, suffix) or None  # 三个人: three people
    return ParsedFigure(value, percent, points, measure, m.group(0).strip())


def _is_word(scan: str, m: re.Match[str]) -> bool:
    """Whether a match is part of a word or code (万人, 5G), an ordinal (第三) or a rate (每万人)."""
    before, after = scan[: m.start()], scan[m.end() :]
    if before.endswith(("第", "每")):
        return True
    if m.group("ar"):
        return (before[-1:].isascii() and before[-1:].isalpha()) or (
            not m.group("suffix") and after[:1].isascii() and after[:1].isalpha())
    cn = m.group("cn")
    return not m.group("pre") and cn[0] != "十" and not any(ch in _CN_DIGIT for ch in cn)


def _in_context(scan: str, m: re.Match[str]) -> bool:
    """Whether a Chinese numeral stands as a figure: followed by a measure, percent form, end or punctuation,
    or preceded by a percent form, sign, linking word (为, 达到, 新增...) or space."""
    before, after = scan[: m.start()], scan[m.end() :]
    return bool(m.group("ar") or m.group("pre") or m.group("sign") or m.group("suffix")
                or not after[:1].isalnum() or before.endswith(_TRIGGERS) or before[-1:].isspace())


def _hits(scan: str) -> list[_Hit]:
    """Every figure in the scan text, each parsed or with the reason it cannot be."""
    hits: list[_Hit] = []
    pos = 0
    while (m := _FIGURE.search(scan, pos)) is not None:
        pos = m.end()
        if _is_word(scan, m):
            continue
        num_end = m.end("mult") if m.group("mult") else m.end("ar") if m.group("ar") else m.end("cn")
        if _NUMERAL_NEXT.match(scan, num_end):
            end = _NUMERAL_RUN.match(scan, num_end)
            pos = end.end() if end else num_end
            hits.append(_Hit(m.start(), pos, FigureError(REASON_MIXED, scan[m.start() : pos])))
            continue
        if not _in_context(scan, m):
            continue
        try:
            hits.append(_Hit(m.start(), m.end(), _build(m)))
        except FigureError as e:
            hits.append(_Hit(m.start(), m.end(), e))
    return hits


def _prepare(text: str) -> tuple[str, str, str]:
    """The NFKC text; that with periods blanked (NUL); and that with set phrases blanked too, for scanning.

    Only ASCII and full-width digits are digits: a character NFKC would turn into one (², ①, 𝟏) is refused."""
    if odd := odd_digit(text):
        raise FigureError(REASON_NOT_A_NUMBER, odd)
    norm = unicodedata.normalize("NFKC", text).strip()
    if not norm:
        raise FigureError(REASON_EMPTY)
    if found := _NAN.search(norm):
        raise FigureError(REASON_NOT_A_NUMBER, found.group(0))
    if found := _EXPONENT.search(norm):
        raise FigureError(REASON_EXPONENT, found.group(0))
    pmask = _PERIOD.sub(lambda p: "\0" * len(p.group(0)), norm)
    scan = _PHRASES.sub(lambda p: "\x01" * len(p.group(0)), pmask)
    return norm, pmask, scan


def _single(scan: str, none_reason: str) -> tuple[_Hit, ParsedFigure]:
    """The one figure in the scan text; raise when there is none, two or more, or it is invalid."""
    hits = _hits(scan)
    if len(hits) > 1:
        raise FigureError(REASON_TWO_NUMBERS, ", ".join(scan[h.start : h.end].strip() for h in hits))
    if not hits:
        raise FigureError(none_reason)
    if isinstance(hits[0].result, FigureError):
        raise hits[0].result
    return hits[0], hits[0].result


def _check(fig: ParsedFigure, allow_negative: bool, max_decimals: int | None) -> ParsedFigure:
    """The figure, once its sign and number of decimal places are allowed."""
    if fig.value < 0 and not allow_negative:
        raise FigureError(REASON_NEGATIVE, fig.text)
    exponent = fig.value.as_tuple().exponent
    if max_decimals is not None and isinstance(exponent, int) and -exponent > max_decimals:
        raise FigureError(REASON_TOO_MANY_DECIMALS, f"{fig.text}: at most {max_decimals} decimal places")
    return fig


def _whole(text: str, allow_negative: bool, max_decimals: int | None) -> ParsedFigure:
    """The figure when the whole text is one (optional measure word or percent form, trailing punctuation)."""
    norm, _, scan = _prepare(text)
    hit, fig = _single(scan, REASON_NOT_A_NUMBER)
    leftover = norm[: hit.start] + norm[hit.end :].strip(_STRIP)
    if leftover:
        raise FigureError(REASON_NOT_A_NUMBER, f"unexpected {leftover!r}")
    return _check(fig, allow_negative, max_decimals)


def parse_figure(text: str, *, allow_negative: bool = False, max_decimals: int = 4) -> ParsedFigure:
    """Read text that is exactly one figure (12, 12家, 2.5%, 百分之二点五, 1.5万元) or raise FigureError."""
    return _whole(text, allow_negative, max_decimals)


def parse_number(text: str) -> Decimal:
    """Read one plain number, Arabic or Chinese, signed or not, any decimals; no percent or measure word."""
    fig = _whole(text, True, None)
    if fig.percent or fig.measure:
        raise FigureError(REASON_NOT_A_NUMBER, f"a plain number was expected, not {fig.text!r}")
    return fig.value


def _drop_linkers(words: str) -> str:
    """The words without the linking words (为, 达到, 共, 新增...) at their end."""
    while cut := next((w for w in _LINKERS if words.endswith(w)), None):
        words = words[: -len(cut)].rstrip(_STRIP)
    return words


def find_figure(
    text: str, *, allow_negative: bool = False, max_decimals: int = 4
) -> tuple[ParsedFigure, str]:
    """The one figure in a message and the rest of its words (高新技术企业 12家 -> 12, 高新技术企业)."""
    _, pmask, scan = _prepare(text)
    hit, fig = _single(scan, REASON_NO_NUMBER)
    before = _drop_linkers(pmask[: hit.start].replace("\0", "").strip(_STRIP))
    after = pmask[hit.end :].replace("\0", "").strip(_STRIP)
    glue = " " if (before[-1:] + after[:1]).isascii() and (before[-1:] + after[:1]).isalnum() else ""
    return _check(fig, allow_negative, max_decimals), " ".join((before + glue + after).split())
