"""Translations and locale-aware formatting: translator_for(lang) gives words, numbers and dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, parse_pattern
from babel.support import Translations

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "planbot"
SUPPORTED = ("zh_Hans", "en")
DEFAULT = "zh_Hans"


def N_(message: str) -> str:
    """Mark a message for extraction without translating it now (it is translated where shown)."""
    return message


def normalize(lang: str | None) -> str:
    """A supported locale for a language hint: zh, zh-CN, zh_Hans → zh_Hans; en, en-US → en."""
    if not lang:
        return DEFAULT
    low = lang.replace("-", "_").lower()
    if low.startswith("en"):
        return "en"
    return DEFAULT


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


@cache
def _number_pattern(digits: int) -> NumberPattern:
    """Grouped digits with at most `digits` decimals (as format_decimal parses it at every call)."""
    return parse_pattern("#,##0" + ("." + "#" * digits if digits else ""))


@cache
def _translations(locale: str) -> Translations:
    """The catalog for locale, read straight from its .po file (no compile step needed)."""
    po = LOCALES / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    translations = Translations()
    if po.exists():
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        for message in catalog:
            if message.id and message.string and not message.fuzzy:
                key = message.id if isinstance(message.id, str) else message.id[0]
                value = message.string if isinstance(message.string, str) else message.string[0]
                translations._catalog[key] = value
    return translations


@dataclass(frozen=True)
class Translator:
    """Words, numbers and dates in one locale."""

    locale: str

    @property
    def lang(self) -> str:
        """Short language code: 'zh' or 'en'."""
        return "en" if self.locale == "en" else "zh"

    def __call__(self, message: str, /, **params: object) -> str:
        """The translation of message, with {placeholders} filled from params."""
        text = _translations(self.locale).gettext(message)
        return text.format(**params) if params else text

    def number(self, value: Decimal | int | None, digits: int = 2) -> str:
        """A number with grouping and at most `digits` decimals; an em dash for none."""
        if value is None:
            return "—"
        text: str = _number_pattern(digits).apply(value, self._babel)  # babel's format_decimal, its parts cached
        return text

    def percent(self, value: Decimal | None, digits: int = 2) -> str:
        """A percentage given in percent units (2.5 → 2.5%)."""
        return "—" if value is None else f"{self.number(value, digits)}%"

    def date(self, value: date | None) -> str:
        """A date: 2018年12月31日 / Dec 31, 2018."""
        return "—" if value is None else format_date(value, format="medium", locale=self._babel)

    @property
    def _babel(self) -> Locale:
        return _locale(self.locale)


def translator_for(lang: str | None) -> Translator:
    """The translator for a language hint (zh_Hans when unknown)."""
    return Translator(normalize(lang))
