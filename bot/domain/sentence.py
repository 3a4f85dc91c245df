"""What a reporting sentence says besides its figure (pure): a note (备注：...), an approximation (约12家, 12家左右,
十多家), a fall (下降, 减少, 负), cumulative wording (累计, 共计), an increase (新增, 新认定)."""

from __future__ import annotations

import re
import unicodedata

_NUM = r"(?:[0-9][0-9,.]*|[零〇一二两三四五六七八九十百千万亿点]+)"
_NOTE = re.compile(r"[\s,，;；。]*(?:(?:备注|附注)\s*[:：]?|(?:说明|注|note|remark)s?\s*[:：]"
                   r"|(?<=[\s,，;；。])(?:说明|notes?|remarks?)\s)\s*(?P<note>.*)$", re.IGNORECASE | re.DOTALL)
# a clause after the figure saying what it holds: 高企12家，其中新认定3家
_CLAUSE = re.compile(r"\s*[,，;；]\s*(?P<note>(?:其中|含|包括|包含|另有|内含|(?:including|of which)\b).*)$",
                     re.IGNORECASE | re.DOTALL)
_ASIDE = re.compile(r"[（(]\s*(?P<note>(?:含|其中|包括|包含|另有|内含)[^（）()]*)[）)]")
_APPROX = re.compile(
    rf"(?:约|大约|大概|大致|差不多|将近|接近|近|超过|逾|至少|不到|不少于|大于|小于|估计|预计)\s*(?:为|是|有)?\s*{_NUM}"
    r"|[一二三四五六七八九十百千]几|几[十百千万]"
    rf"|(?:{_NUM}\s*(?:余|多)|[十百千万]来)\s*(?:[家个项人名次件支位]|人次|%|万|亿)?"
    rf"|{_NUM}\s*(?:[家个项人名次件支位]|人次|%)?\s*(?:左右|上下|以上|出头)"
    r"|\b(?:about|around|approximately|roughly|nearly|almost|over|more than|at least|some)\s+[0-9]",
    re.IGNORECASE)
_FALL = re.compile(r"下降|减少|降低|负增长|下滑|回落|下跌|同比降|decrease|decline|fell|down|drop", re.IGNORECASE)
_CUMULATIVE = re.compile(r"累计|共计|总计|合计|一共|总共|迄今|截至目前共"
                         r"|(?<![公])共(?=\s*(?:有|达|为|引进|完成|实施|培训)?"
                         rf"\s*{_NUM})|in total|cumulative|so far", re.IGNORECASE)

# an increase, not a total: 新增12家, 今年新认定3家, 12 new (增加值 is value added, not an increase)
_INCREASE = re.compile(r"新增|净增|增加(?!值)|增长|新认定|新培育|新引进|新入库|新晋|\b(?:new|added|more)\b",
                       re.IGNORECASE)


def split_note(text: str) -> tuple[str, str | None]:
    """The sentence without its note, and the note (备注：含2家新认定 -> 含2家新认定; （含新认定2家）), if any."""
    m = _NOTE.search(text)
    if not m:
        aside = _ASIDE.search(text) or _CLAUSE.search(text)
        if aside:
            return text[: aside.start()] + text[aside.end():], " ".join(aside.group("note").split())
        return text, None
    note = " ".join(m.group("note").split())
    return text[: m.start()], note or None


def approximation(text: str) -> str | None:
    """The approximate figure in text (约12家, 12家左右, 十多家), if one is written as approximate."""
    m = _APPROX.search(unicodedata.normalize("NFKC", text))
    return m.group(0).strip() if m else None


def says_fall(text: str) -> bool:
    """Whether the sentence speaks of a fall (下降, 减少, 负增长)."""
    return _FALL.search(text) is not None


def says_cumulative(text: str) -> bool:
    """Whether the figure is written as a running total (累计, 共计, 一共, 共5个)."""
    return _CUMULATIVE.search(unicodedata.normalize("NFKC", text)) is not None


def says_increase(text: str) -> bool:
    """Whether the figure is written as an increase (新增, 增加, 新认定, new, added) rather than as a total."""
    return _INCREASE.search(unicodedata.normalize("NFKC", text)) is not None
