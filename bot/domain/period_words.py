"""Period words in a sentence (二季度, 上季度, Q2, 6月底, 去年底, 上半年, 2018年9月), read against today and fitted
to an indicator's cadence (pure)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.period import Period, find_period, month, period_of, quarter, year
from bot.domain.plan import Cadence

_Q = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_CN_MONTH = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11,
             "十二": 12}
_YEAR_WORD = r"(?:(?P<y>\d{4})\s*年?|(?<![0-9.])(?P<y2>[1-9][0-9])\s*年|(?P<yw>今年|去年|本年|上年|前年))?\s*"
_WORDS = re.compile(
    r"(?<![0-9.])(?P<dy>\d{4})\s*[.．]\s*(?P<dm>1[0-2]|0?[1-9])(?![0-9])\s*(?:月|月份|月底|月末)?|"
    + _YEAR_WORD + r"(?:"
    r"(?:第\s*)?(?P<q>[一二三四1-4])\s*(?:季度|季)(?:末|底)?"
    r"|[Qq]\s*(?P<qq>[1-4])(?![0-9])"
    r"|(?P<rq>本|这个?|当|上个?|上一)\s*季度?(?:末|底)?"
    r"|(?P<h>上|下)半年(?:末|底)?"
    r"|(?P<m>1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])\s*月(?:份)?(?P<me>底|末)?"
    r"|(?P<rm>本|这个?|当|上个?|上一)\s*月(?:份)?(?:底|末)?"
    r"|(?P<ye>年底|年末|全年|年度)"
    r")"
    r"|(?P<ly>去年|上年|今年|本年)(?:底|末)?"
)
# a year alone, as a question names it ("2018年目标完成了吗", "18年的", "去年", "the 2018 targets", "last year")
_YEARS = re.compile(r"(?<![0-9])(?P<y>(?:19|20)\d\d)(?![0-9])|(?<![0-9.])(?P<y2>[1-9][0-9])\s*年"
                    r"|(?P<yw>今年|去年|本年|上年|前年|this year|last year)")


class PeriodWordError(ValueError):
    """A period named in words that does not fit the indicator's cadence; .said is the period as named."""

    def __init__(self, said: Said, cadence: Cadence) -> None:
        super().__init__(f"{said.text} does not fit {cadence.value}")
        self.said, self.cadence = said, cadence


@dataclass(frozen=True)
class Said:
    """A stretch of time named in a message: from start to end, and the words that named it."""

    start: date
    end: date
    text: str


def _year(m: re.Match[str], today: date) -> int | None:
    if m.group("y"):
        return int(m.group("y"))
    if m.group("y2"):  # 18年三季度: a year of this century
        return 2000 + int(m.group("y2"))
    word = m.group("yw") or m.groupdict().get("ly")
    if word in ("去年", "上年", "last year"):
        return today.year - 1
    if word == "前年":
        return today.year - 2
    if word in ("今年", "本年", "this year"):
        return today.year
    return None


def years_named(text: str, today: date) -> set[int]:
    """The years a question names: 2018, ２０１８, 18年, 今年, 去年, 前年, this year, last year."""
    return {y for m in _YEARS.finditer(unicodedata.normalize("NFKC", text).lower())
            if (y := _year(m, today)) is not None}


def _latest(make: object, y: int | None, today: date) -> Period:
    """The period made for year y; without a year, this year's, or last year's when this year's has not begun."""
    assert callable(make)
    p: Period = make(y if y is not None else today.year)
    if y is None and p.start > today:
        p = make(today.year - 1)
    return p


def find_said(text: str, today: date) -> tuple[Said | None, str]:
    """The period a sentence names (explicit labels first, then words), and the text without it."""
    period, rest = find_period(text)
    if period is not None:
        return Said(period.start, period.end, period.label), rest
    s = unicodedata.normalize("NFKC", text)
    for m in _WORDS.finditer(s):
        said = _read(m, today)
        if said is not None:
            return said, (s[: m.start()] + " " + s[m.end():]).strip()
    return None, text


def _read(m: re.Match[str], today: date) -> Said | None:
    if m.group("dy"):  # 2018.9
        p = month(int(m.group("dy")), int(m.group("dm")))
        return Said(p.start, p.end, m.group(0).strip())
    y = _year(m, today)
    if (q := m.group("q") or m.group("qq")) is not None:
        p = _latest(lambda yy: quarter(yy, _Q[q]), y, today)
    elif m.group("rq"):
        p = period_of(Cadence.QUARTERLY, today)
        if m.group("rq").startswith("上"):
            p = period_of(Cadence.QUARTERLY, p.start - timedelta(days=1))
    elif m.group("h"):
        first = m.group("h") == "上"
        p0 = _latest(lambda yy: quarter(yy, 1 if first else 3), y, today)
        end = quarter(p0.start.year, 2 if first else 4).end
        return Said(p0.start, end, m.group(0).strip())
    elif m.group("m"):
        k = m.group("m")
        mo = int(k) if k.isdigit() else _CN_MONTH[k]
        p = _latest(lambda yy: month(yy, mo), y, today)
    elif m.group("rm"):
        p = period_of(Cadence.MONTHLY, today)
        if m.group("rm").startswith("上"):
            p = period_of(Cadence.MONTHLY, p.start - timedelta(days=1))
    elif m.group("ye") or m.group("ly"):
        if m.group("ly") in ("今年", "本年") and not m.group(0).endswith(("底", "末")):
            return None  # 今年以来: since the start of the year, not the year's figure
        p = year(y if y is not None else today.year)
    else:
        return None
    return Said(p.start, p.end, m.group(0).strip())


def fit(said: Said, cadence: Cadence, level: bool) -> Period:
    """The indicator's period for what was said: the same period, or (for a level: a total, a share, a stage)
    the period of its cadence that ends on the same day (6月底 is the second quarter). PeriodWordError otherwise."""
    p = period_of(cadence, said.end)
    if p.end == said.end and (p.start == said.start or level):
        return p
    raise PeriodWordError(said, cadence)
