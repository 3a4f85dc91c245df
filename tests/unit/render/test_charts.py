"""Charts: valid PNGs in Chinese and English, every glyph in the CJK font, no crash on thin or odd data."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal as D
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure
from matplotlib.font_manager import FontProperties, fontManager
from matplotlib.ft2font import FT2Font
from matplotlib.image import imread
from paths import PANJIN_PLAN

from bot.domain.pace import Figure, Point, Progress, Status, assess, city_series, effective_day, rank
from bot.domain.period import parse_period
from bot.domain.plan import Plan
from bot.render.charts import chinese_font, font_path, indicator_chart, overview_chart, progress_shares
from bot.render.text import STATUS_LABELS
from bot.services.plan_file import read_plan_file
from i18n import Translator, translator_for

PLAN_FILE = PANJIN_PLAN
AS_OF = date(2018, 10, 20)
LANGS = ["zh", "en"]
LEAD = "sci_tech_bureau"
GLYPH_MISSING = r"Glyph \d+ .* missing from font"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return read_plan_file(PLAN_FILE)


def fig(period: str, value: str | int, unit: str = LEAD) -> Figure:
    p = parse_period(period)
    return Figure(unit, p, D(str(value)), effective_day(p, date(2030, 1, 1)))


FIGURES: dict[str, list[Figure]] = {
    # a ratio falling behind its pace (baseline from the 2017 figure)
    "rd_spending_gdp": [fig("2017", "1.6"), fig("2018Q1", "1.65"), fig("2018Q2", "1.7"), fig("2018Q3", "1.72")],
    # negative growth rates
    "tech_contract_growth": [fig("2017", 8), fig("2018Q1", -3), fig("2018Q2", "-5.5"), fig("2018Q3", -2)],
    # a flow summed from districts, on track
    "key_tech_breakthroughs": [fig("2018Q1", 4, "panshan"), fig("2018Q2", 5, "dawa"), fig("2018Q3", 8, "dawa")],
    # far above its target
    "innovation_teams": [fig("2018Q1", 30, "dawa"), fig("2018Q2", 40, "dawa"), fig("2018Q3", 20, "dawa")],
    # a staged indicator
    "national_hightech_zone": [fig("2017", 0), fig("2018Q1", 1), fig("2018Q3", 1)],
    # a single figure after the baseline
    "patent_share": [fig("2017", 40), fig("2018Q3", 41)],
    # a stock with a baseline but no figure in the plan period
    "hightech_enterprises": [fig("2017", 60, "dawa")],
    # a stock reported without a baseline: its absolute target is below reach, its pace unknown
    "tech_smes": [fig("2018Q3", 90, "dawa")],
}


def progress_for(plan: Plan, figures: dict[str, list[Figure]], as_of: date = AS_OF) -> list[Progress]:
    return rank(assess(plan, ind, figures.get(ind.code, []), as_of) for ind in plan.indicators)


def series_for(plan: Plan, code: str, figures: list[Figure], as_of: date = AS_OF) -> list[Point]:
    return city_series(plan.indicator(code), [f for f in figures if f.period.start >= plan.start], as_of)


def strictly(render: Callable[[], Path]) -> Path:
    """Run render with every warning (a missing glyph among them) raised as an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render()


def assert_png(path: Path, size: tuple[int, int] | None = None) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    height, width = image.shape[:2]
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    if size is not None:
        assert (width, height) == size
    assert width >= 400 and height >= 200
    rgb = (image[..., :3] * 255).round().astype(np.uint32)
    colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
    assert len(colours) > 20  # not blank: text, lines and bars in several colours


def render_one(plan: Plan, code: str, t: Translator, tmp_path: Path, figures: list[Figure] | None = None,
               as_of: date = AS_OF) -> Path:
    figures = FIGURES.get(code, []) if figures is None else figures
    p = assess(plan, plan.indicator(code), figures, as_of)
    series = series_for(plan, code, figures, as_of)
    return strictly(lambda: indicator_chart(plan, p, series, t, tmp_path / f"{code}-{t.lang}-{as_of}.png"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("code", sorted(FIGURES))
def test_indicator_chart_is_a_png_without_missing_glyphs(plan: Plan, code: str, lang: str, tmp_path: Path) -> None:
    path = render_one(plan, code, translator_for(lang), tmp_path)
    assert path == tmp_path / f"{code}-{lang}-{AS_OF}.png"
    assert_png(path, (960, 540))  # 8 × 4.5 in at 120 dpi


@pytest.mark.parametrize("lang", LANGS)
def test_overview_chart_is_a_png_without_missing_glyphs(plan: Plan, lang: str, tmp_path: Path) -> None:
    progress = progress_for(plan, FIGURES)
    assert {p.status for p in progress} >= {Status.LAGGING, Status.ON_TRACK, Status.ACHIEVED, Status.NO_BASELINE}
    path = strictly(lambda: overview_chart(plan, progress, translator_for(lang), tmp_path / "overview.png"))
    assert_png(path)
    assert imread(path).shape[1] == 960


def test_the_strict_check_catches_a_missing_glyph_with_the_default_font(tmp_path: Path) -> None:
    def render_with(font: FontProperties) -> Path:
        figure = MplFigure(figsize=(4, 2), dpi=120)
        FigureCanvasAgg(figure)
        figure.add_subplot().set_title("高新技术企业总数：滞后", fontproperties=font)
        path = tmp_path / "plain.png"
        figure.savefig(path, format="png")
        return path

    with pytest.raises(UserWarning, match=GLYPH_MISSING):
        strictly(lambda: render_with(FontProperties(family="DejaVu Sans")))
    assert_png(strictly(lambda: render_with(chinese_font())), (480, 240))


def test_the_font_ships_with_mplfonts_and_is_registered() -> None:
    path = font_path()
    assert path.is_file() and path.name == "NotoSansCJKsc-Regular.otf" and "mplfonts" in path.parts
    assert fontManager.findfont(chinese_font(), fallback_to_default=False) == str(path)
    assert sum(f.fname == str(path) for f in fontManager.ttflist) >= 1
    chinese_font(), chinese_font()  # registering again adds nothing
    assert len({(f.fname, f.name, f.weight) for f in fontManager.ttflist if f.fname == str(path)}) == sum(
        f.fname == str(path) for f in fontManager.ttflist)


def test_the_font_has_every_glyph_the_charts_show_in_chinese(plan: Plan) -> None:
    zh = translator_for("zh")
    texts = [ind.name.zh for ind in plan.indicators] + [ind.measure.zh for ind in plan.indicators]
    texts += [s.name.zh for ind in plan.indicators for s in ind.stages]
    texts += [u.name.zh for u in plan.units]
    texts += [zh(label) for label in STATUS_LABELS.values()]
    texts += [zh.date(AS_OF), "0123456789.,%−-：（）、"]
    assert all(zh(label) != label for label in STATUS_LABELS.values())  # the labels really are Chinese
    font = FT2Font(str(font_path()))
    missing = sorted({ch for text in texts for ch in text if not ch.isspace() and font.get_char_index(ord(ch)) == 0})
    assert missing == []


def test_shares_are_actual_and_pace_against_the_target(plan: Plan) -> None:
    progress = {p.indicator.code: p for p in progress_for(plan, FIGURES)}
    for code in ("rd_spending_gdp", "key_tech_breakthroughs", "tech_contract_growth"):
        p = progress[code]
        actual, expected = progress_shares(plan, p)
        assert p.actual is not None and p.expected is not None and p.target is not None
        assert actual == pytest.approx(float(p.actual / p.target * 100))  # 72 of 80 is 90%
        assert expected == pytest.approx(float(p.expected / p.target * 100))  # the pace, drawn as a marker
    assert progress_shares(plan, progress["tech_smes"]) == (75.0, None)  # 90 of 120; no baseline, no pace
    assert progress_shares(plan, progress["high_level_talent"])[0] is None  # nothing reported: no bar, not 0


EDGE_CASES: dict[str, tuple[str, list[Figure], date]] = {
    "no figures, no baseline": ("hightech_enterprises", [], AS_OF),
    "no figures for a flow": ("highend_talent", [], AS_OF),
    "no figures for a staged indicator": ("ip_pledge_fund", [], AS_OF),
    "relative milestone without baseline": ("industrial_tech_institutes", [fig("2018Q2", 7, "dawa")], AS_OF),
    "a single figure": ("rd_institution_share", [fig("2018Q2", 70)], AS_OF),
    "a single figure with a baseline": ("sci_tech_contribution", [fig("2017", 50), fig("2018Q3", 52)], AS_OF),
    "far above target": ("tech_smes", [fig("2017", 100, "dawa"), fig("2018Q3", 5000, "dawa")], AS_OF),
    "all negative growth": ("hightech_value_added_growth", [fig("2017", -4), fig("2018Q1", -20), fig("2018Q3", -35)],
                            AS_OF),
    "staged beyond its stages": ("national_hightech_zone", [fig("2017", 0), fig("2018Q1", 1), fig("2018Q2", 4)], AS_OF),
    "after the plan ended": ("tech_contract_growth", FIGURES["tech_contract_growth"], date(2021, 6, 30)),
    "on the first day": ("rd_spending_gdp", FIGURES["rd_spending_gdp"], date(2018, 1, 1)),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_edge_cases_render(plan: Plan, case: str, lang: str, tmp_path: Path) -> None:
    code, figures, as_of = EDGE_CASES[case]
    assert_png(render_one(plan, code, translator_for(lang), tmp_path, figures, as_of), (960, 540))


def nothing_known(plan: Plan, code: str, status: Status) -> Progress:
    return Progress(indicator=plan.indicator(code), as_of=AS_OF, status=status, actual=None, actual_period=None,
                    expected=None, target=None, due=None, shortfall_pp=None, baseline=None, forecast=None,
                    last_due_period=None)


@pytest.mark.parametrize("lang", LANGS)
def test_all_none_values_render(plan: Plan, lang: str, tmp_path: Path) -> None:
    t = translator_for(lang)
    blank = [nothing_known(plan, ind.code, Status.NO_DATA if i % 2 else Status.NO_BASELINE)
             for i, ind in enumerate(plan.indicators)]
    assert_png(strictly(lambda: overview_chart(plan, blank, t, tmp_path / "blank-overview.png")))
    for p in blank[:3] + [b for b in blank if b.indicator.stages][:1]:
        path = tmp_path / f"blank-{p.indicator.code}.png"
        assert_png(strictly(lambda p=p, path=path: indicator_chart(plan, p, [], t, path)), (960, 540))


@pytest.mark.parametrize("lang", LANGS)
def test_overview_of_nothing_and_of_extremes_render(plan: Plan, lang: str, tmp_path: Path) -> None:
    t = translator_for(lang)
    assert_png(strictly(lambda: overview_chart(plan, [], t, tmp_path / "empty.png")))
    extremes = {code: figures for _, (code, figures, _) in EDGE_CASES.items() if figures}
    progress = progress_for(plan, extremes)
    assert_png(strictly(lambda: overview_chart(plan, progress, t, tmp_path / "extremes.png")))
    one = [p for p in progress if p.indicator.code == "tech_smes"]
    assert_png(strictly(lambda: overview_chart(plan, one, t, tmp_path / "one.png")))


def test_charts_render_from_worker_threads(plan: Plan, tmp_path: Path) -> None:
    progress = progress_for(plan, FIGURES)
    by_code = {p.indicator.code: p for p in progress}

    def job(i: int) -> Path:
        t = translator_for(LANGS[i % 2])
        if i % 3 == 0:
            return overview_chart(plan, progress, t, tmp_path / f"thread-{i}.png")
        code = sorted(FIGURES)[i % len(FIGURES)]
        return indicator_chart(plan, by_code[code], series_for(plan, code, FIGURES[code]), t, tmp_path / f"t-{i}.png")

    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = list(pool.map(job, range(6)))
    for path in paths:
        assert_png(path)


def test_output_folder_is_created_and_bytes_are_png(plan: Plan, tmp_path: Path) -> None:
    p = assess(plan, plan.indicator("patent_share"), FIGURES["patent_share"], AS_OF)
    path = indicator_chart(plan, p, series_for(plan, "patent_share", FIGURES["patent_share"]), translator_for("zh"),
                           tmp_path / "a" / "b" / "chart.png")
    assert path.is_file()
    assert imread(BytesIO(path.read_bytes())).shape[:2] == (540, 960)
