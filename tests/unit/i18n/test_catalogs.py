"""The message catalogs are complete, in step with the code, and checked for every kind of problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from i18n import SUPPORTED, translator_for
from i18n.catalog import KEYWORDS, MAPPING, TEMPLATE, catalog_path, extract, placeholders, problems


@pytest.fixture(scope="module")
def extracted() -> Catalog:
    return extract()


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_catalog_has_no_problems(locale: str, extracted: Catalog) -> None:
    # Fails on a message in the code missing from the catalog, an untranslated or fuzzy entry,
    # differing placeholders, or a stale entry: run `python -m i18n.catalog`, then translate.
    assert problems(locale, extracted=extracted) == []


def test_supported_locales_are_the_ones_checked() -> None:
    assert set(SUPPORTED) == {"zh_Hans", "en"}


def test_translator_uses_the_catalogs() -> None:
    assert translator_for("zh")("lagging") == "滞后"
    assert translator_for("zh-CN")("on track") == "符合序时进度"
    assert translator_for("en")("lagging") == "lagging"
    assert translator_for("zh")("{pp} points behind the time-elapsed pace", pp="3.5") == "落后序时进度3.5个百分点"


@pytest.mark.parametrize("path", [TEMPLATE, *(catalog_path(locale) for locale in SUPPORTED)], ids=str)
def test_every_catalog_parses(path: Path) -> None:
    with path.open("rb") as fh:
        catalog = read_po(fh)
    assert len(catalog) > 0
    assert all(isinstance(message.id, str) for message in catalog)


def test_english_catalog_mirrors_the_msgids() -> None:
    with catalog_path("en").open("rb") as fh:
        catalog = read_po(fh, locale="en")
    assert [m.id for m in catalog if m.id and m.string != m.id] == []


def test_chinese_catalog_uses_chinese_punctuation() -> None:
    with catalog_path("zh_Hans").open("rb") as fh:
        catalog = read_po(fh, locale="zh_Hans")
    ascii_after_hanzi = re.compile(r"[\u4e00-\u9fff][,:;?!]|[\u4e00-\u9fff]\.$")
    assert [m.string for m in catalog if m.id and ascii_after_hanzi.search(str(m.string))] == []


def test_babel_cfg_marks_the_same_keywords_and_packages() -> None:
    with MAPPING.open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(MAPPING))
    assert {pattern.split("/")[0] for pattern, method in method_map if method == "python"} == {
        "bot", "handlers", "reminders", "i18n"}
    assert all(options["keywords"] == KEYWORDS for options in options_map.values())


def test_extract_finds_every_keyword_and_skips_tests(tmp_path: Path) -> None:
    (tmp_path / "babel.cfg").write_text(MAPPING.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "sample.py").write_text(
        "def f(ctx, t):\n"
        "    t('plain {n}', n=1)\n"
        "    ctx.t('through ctx')\n"
        "    N_('marked')\n"
        "    raise UserError('user error {x}', x=2)\n"
        "    Violation('violation {v}', {'v': 3})\n"
        "    print('not marked')\n",
        encoding="utf-8",
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("t('from a test')\n", encoding="utf-8")
    (tmp_path / ".venv" / "bot").mkdir(parents=True)
    (tmp_path / ".venv" / "bot" / "lib.py").write_text("t('from the venv')\n", encoding="utf-8")
    catalog = extract(tmp_path)
    assert [m.id for m in catalog if m.id] == ["plain {n}", "through ctx", "marked", "user error {x}", "violation {v}"]
    assert catalog["marked"].locations == [("bot/sample.py", 4)]


def test_placeholders_are_parsed_with_string_formatter() -> None:
    assert placeholders("{a} and {b!r}, {c:>{width}} {{literal}}") == {"{a}", "{b}", "{c}", "{width}"}
    with pytest.raises(ValueError):
        placeholders("unmatched {")


PO_WITH_EVERY_PROBLEM = """\
msgid ""
msgstr ""
"Content-Type: text/plain; charset=utf-8\\n"

msgid "Fine {n}"
msgstr "很好{n}"

msgid "Untranslated"
msgstr ""

#, fuzzy
msgid "Fuzzy"
msgstr "模糊"

msgid "Lost {unit}"
msgstr "丢失"

msgid "Invented"
msgstr "多了{extra}"

msgid "Renamed {old}"
msgstr "改名{new}"

msgid "Broken {x}"
msgstr "坏了{x"

msgid "Stale"
msgstr "过时"
"""


def test_problems_catches_each_kind(tmp_path: Path) -> None:
    po = tmp_path / "planbot.po"
    po.write_text(PO_WITH_EVERY_PROBLEM, encoding="utf-8")
    code = Catalog()
    for msgid in ("Fine {n}", "Untranslated", "Fuzzy", "Lost {unit}", "Invented", "Renamed {old}", "Broken {x}",
                  "Missing"):
        code.add(msgid)
    found = problems("zh_Hans", po_path=po, extracted=code)

    def about(msgid: str) -> list[str]:
        return [p for p in found if f"“{msgid}”" in p]

    assert about("Fine {n}") == []
    assert len(about("Missing")) == 1 and "missing from the catalog" in about("Missing")[0]
    assert len(about("Untranslated")) == 1 and "untranslated" in about("Untranslated")[0]
    assert len(about("Fuzzy")) == 1 and "fuzzy" in about("Fuzzy")[0]
    assert len(about("Lost {unit}")) == 1 and "missing {unit}" in about("Lost {unit}")[0]
    assert len(about("Invented")) == 1 and "unknown {extra}" in about("Invented")[0]
    assert len(about("Renamed {old}")) == 1 and "missing {old}; unknown {new}" in about("Renamed {old}")[0]
    assert len(about("Broken {x}")) == 1 and "not a valid format string" in about("Broken {x}")[0]
    assert len(about("Stale")) == 1 and "no longer in the code" in about("Stale")[0]
    assert len(found) == 8
    assert all(p.startswith("zh_Hans: ") for p in found)


def test_problems_reports_a_missing_catalog(tmp_path: Path) -> None:
    found = problems("zh_Hans", po_path=tmp_path / "nowhere.po", extracted=Catalog())
    assert len(found) == 1 and "does not exist" in found[0]


def test_a_complete_catalog_has_no_problems(tmp_path: Path) -> None:
    po = tmp_path / "planbot.po"
    po.write_text('msgid "Hello {name}"\nmsgstr "你好，{name}"\n', encoding="utf-8")
    code = Catalog()
    code.add("Hello {name}")
    assert problems("zh_Hans", po_path=po, extracted=code) == []
