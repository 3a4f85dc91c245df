"""Chinese numerals (十二, 一百零五, 两千三百, 一万二千, 三点五) read strictly into int or Decimal (pure)."""

from __future__ import annotations

from decimal import Decimal

ZEROS = "零〇"
DIGITS: dict[str, int] = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                          "七": 7, "八": 8, "九": 9}
SMALL_UNITS: dict[str, int] = {"十": 10, "百": 100, "千": 1000}
BIG_UNITS: dict[str, int] = {"万": 10**4, "亿": 10**8}
DECIMAL_POINT = "点"
NUMERAL_CHARS = "".join(DIGITS) + "".join(SMALL_UNITS) + "".join(BIG_UNITS)


class CnNumeralError(ValueError):
    """Text that is not a well-formed Chinese numeral."""


def _section(s: str, leading_ten: bool) -> int:
    """A value below 10000 written with 千/百/十 (一百零五, 两千三, 十二); 两千三 means 2300."""
    if not s:
        raise CnNumeralError("missing digits")
    total, last, pending, after_zero = 0, 10_000, None, False
    for i, ch in enumerate(s):
        if ch in ZEROS:
            if pending is not None or after_zero or last == 10_000 or i == len(s) - 1:
                raise CnNumeralError(f"misplaced {ch}")
            after_zero = True
        elif ch in DIGITS:
            if pending is not None:
                raise CnNumeralError("digit-by-digit numerals (一二三, 二〇一八) are ambiguous")
            pending = DIGITS[ch]
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            if unit >= last or (after_zero and unit * 10 >= last):
                raise CnNumeralError(f"misplaced {ch}")
            if pending is None:
                if ch != "十" or not ((i == 0 and leading_ten) or after_zero):
                    raise CnNumeralError(f"{ch} needs a digit before it")
                pending = 1
            total += pending * unit
            last, pending, after_zero = unit, None, False
        else:
            raise CnNumeralError(f"{ch!r} is not a Chinese numeral")
    if pending is not None:
        if after_zero and last < 100:
            raise CnNumeralError("misplaced 零")
        # A bare last digit right after 百 or 千 is the next place down (一百五 = 150, 两千三 = 2300).
        total += pending if last in (10, 10_000) or after_zero else pending * last // 10
    return total


def _tail(s: str, big: int) -> int:
    """What follows 万 or 亿: nothing, 零 and a smaller value, a bare digit (一万二 = 12000), or a value."""
    if not s:
        return 0
    if s[0] in ZEROS:
        value = _below(s[1:], big > 10**4, leading_ten=True)
        if value >= big // 10:
            raise CnNumeralError("misplaced 零")
        return value
    if len(s) == 1 and s in DIGITS:
        return DIGITS[s] * big // 10
    return _below(s, big > 10**4, leading_ten=False)


def _below(s: str, allow_wan: bool, leading_ten: bool) -> int:
    """A value below 10**8 when allow_wan (using 万), else below 10**4."""
    if allow_wan and "万" in s:
        head, _, rest = s.partition("万")
        return _section(head, leading_ten) * 10**4 + _tail(rest, 10**4)
    return _section(s, leading_ten)


def cn_to_int(text: str) -> int:
    """The value of an integer Chinese numeral (十二 = 12, 一百零五 = 105, 一万二千 = 12000)."""
    if not text:
        raise CnNumeralError("empty")
    if text in ZEROS:
        return 0
    if len(text) > 1 and all(ch in DIGITS for ch in text):
        raise CnNumeralError("digit-by-digit numerals (一二三, 二〇一八) are ambiguous")
    if "亿" in text:
        head, _, rest = text.partition("亿")
        return _below(head, True, leading_ten=True) * 10**8 + _tail(rest, 10**8)
    return _below(text, True, leading_ten=True)


def cn_to_decimal(text: str) -> Decimal:
    """The value of a Chinese numeral with an optional 点 part read digit by digit (十二点零五 = 12.05)."""
    head, point, frac = text.partition(DECIMAL_POINT)
    if not point:
        return Decimal(cn_to_int(text))
    if not frac or any(ch not in DIGITS or ch == "两" for ch in frac):
        raise CnNumeralError("the part after 点 must be digits (零 to 九)")
    return Decimal(f"{cn_to_int(head)}.{''.join(str(DIGITS[ch]) for ch in frac)}")
