"""Verdicts a city can sign, from figures entered as a city would: on the milestone date, the day after, at the
plan's end and years later, in text, JSON and the workbook, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.domain.pace import Progress, Status
from bot.domain.period import parse_period
from bot.render.scorecard import scorecard, scorecard_json, scorecard_text
from bot.render.text import progress_dict, progress_text, unjudged_text
from bot.render.workbook import export_xlsx
from bot.services.figures import Entry, submit
from bot.services.plans import active_plan
from bot.views.progress import assess_all, not_reported
from i18n import translator_for

SH = ZoneInfo("Asia/Shanghai")
ZH, EN = translator_for("zh"), translator_for("en")


def report(app: App, unit: str, ind: str, period: str, value: str, on: str) -> None:
    with app.uow() as s:
        _, plan = active_plan(s)
    entry = Entry(plan.unit(unit), plan.indicator(ind), parse_period(period), Decimal(value))
    submit(app.uow, entry, "contact", "chat", datetime.fromisoformat(on).replace(hour=10, tzinfo=SH))


def seed(app: App) -> None:
    """Figures as the bureau would enter them, each a few days after its period ends."""
    lead = "sci_tech_bureau"
    # high-tech enterprises (no baseline; 80 by 2018, more than 100 by 2020): 79, then exactly 100
    for period, value, on in (("2018Q3", "72", "2018-10-08"), ("2018Q4", "79", "2019-01-08"),
                              ("2019Q4", "90", "2020-01-08"), ("2020Q4", "100", "2021-01-08")):
        report(app, lead, "hightech_enterprises", period, value, on)
    # tech SMEs (no baseline; 120, then 200): met both times
    report(app, lead, "tech_smes", "2018Q4", "125", "2019-01-07")
    report(app, lead, "tech_smes", "2020Q4", "210", "2021-01-07")
    # breakthroughs (a flow; 20 by 2018, 60 in all by 2020), reported by the year: 20, then 18 + 15 = 53
    for period, value, on in (("2018", "20", "2019-01-05"), ("2019", "18", "2020-01-05"), ("2020", "15", "2021-01-05")):
        report(app, lead, "key_tech_breakthroughs", period, value, on)
    # research institutes (baseline + 5 by 2018, 25 by 2020) without a 2017 figure: 2018 cannot be judged
    report(app, lead, "industrial_tech_institutes", "2018Q4", "12", "2019-01-06")
    report(app, lead, "industrial_tech_institutes", "2020Q4", "26", "2021-01-06")
    # R&D / GDP, an annual statistic published in September: 1.6% in 2017, 1.9% in 2018 against 2% (missed), then
    # 2.6% in 2020 against 2.5%
    report(app, lead, "rd_spending_gdp", "2017", "1.6", "2018-09-20")
    report(app, lead, "rd_spending_gdp", "2018", "1.9", "2019-09-20")
    report(app, lead, "rd_spending_gdp", "2020", "2.6", "2021-09-20")
    # the national high-tech zone (staged): breakthrough in 2018, approved (not yet "capacity strengthened") by 2020
    report(app, lead, "national_hightech_zone", "2017", "0", "2018-02-01")
    report(app, lead, "national_hightech_zone", "2018Q4", "2", "2019-01-04")
    report(app, lead, "national_hightech_zone", "2020Q4", "3", "2021-01-04")


def judged(app: App, as_of: date) -> dict[str, Progress]:
    with app.uow() as s:
        row, plan = active_plan(s)
        return {p.indicator.code: p for p in assess_all(s, row, plan, as_of)}


def statuses(progress: dict[str, Progress], *codes: str) -> list[Status]:
    return [progress[c].status for c in codes]


SEEN = ("hightech_enterprises", "tech_smes", "key_tech_breakthroughs", "industrial_tech_institutes",
        "rd_spending_gdp", "national_hightech_zone")


def test_verdicts_at_each_date(app: App) -> None:
    seed(app)
    with app.uow() as s:
        _, plan = active_plan(s)
    S = Status

    on_day = judged(app, date(2018, 12, 31))
    assert statuses(on_day, *SEEN) == [S.UNMET, S.ACHIEVED, S.ACHIEVED, S.NO_BASELINE, S.UNMET, S.ACHIEVED]
    text = progress_text(plan, on_day["hightech_enterprises"], ZH)
    assert "截至今日未达标" in text and "实际79家" in text and "目标80家以上" in text
    assert "牵头单位：市科技局" in text and "责任单位：双台子区人民政府" in text

    next_day = judged(app, date(2019, 1, 1))
    # the 2018 results stay beside statuses that now look towards 2020 (no baseline: that pace is unknown)
    assert statuses(next_day, *SEEN) == [S.MISSED, S.NO_BASELINE, S.ON_TRACK, S.NO_BASELINE, S.MISSED, S.ON_TRACK]
    assert [next_day[c].passed[0].verdict.value for c in SEEN] == [  # type: ignore[union-attr]
        "missed", "achieved", "achieved", "no_baseline", "missed", "achieved"]
    text = progress_text(plan, next_day["hightech_enterprises"], ZH)
    assert "节点：2018年12月31日，目标80家以上：未达成，2018Q4为79家" in text
    assert "目标超过100家" in text

    end_day = judged(app, date(2020, 12, 31))
    hte = end_day["hightech_enterprises"]
    assert hte.status is S.UNMET and hte.actual == 100  # exactly 100 is not "more than 100"
    assert "实际100家" in progress_text(plan, hte, ZH) and "目标超过100家" in progress_text(plan, hte, ZH)

    after = [judged(app, d) for d in (date(2021, 4, 11), date(2026, 12, 1))]
    due = [{"2020Q4", "2019"}, {"2020Q4", "2020"}]  # the annual statistics of 2020 fall due in September 2021
    for final, last_due in zip(after, due, strict=True):
        assert statuses(final, *SEEN) == [S.MISSED, S.ACHIEVED, S.MISSED, S.ACHIEVED, S.ACHIEVED, S.MISSED]
        assert all(p.final for p in final.values())
        assert final["key_tech_breakthroughs"].actual == 53
        others = [p for c, p in final.items() if c not in SEEN]
        assert {p.status for p in others} == {S.NO_DATA}
        assert {p.last_due_period.label for p in others if p.last_due_period} == last_due
    # the same final answer whenever asked (only who still owes an annual statistic differs in April 2021)
    quarterly = [c for c, p in after[0].items() if p.indicator.schedule.cadence.value == "quarterly"]
    texts = [[progress_text(plan, final[c], ZH) for c in quarterly] for final in after]
    assert texts[0] == texts[1]
    jsons = [[{k: v for k, v in progress_dict(plan, p, EN).items()
               if k not in ("as_of", "last_due_period", "missing_units")} for p in final.values()] for final in after]
    assert jsons[0] == jsons[1]
    text = progress_text(plan, after[1]["hightech_enterprises"], ZH)
    assert "最终结果：未完成（已逾期）" in text and "2020Q4实际100家" in text
    assert "2018年12月31日，目标80家以上：未达成，2018Q4为79家" in text


def test_unknown_is_never_zero(app: App) -> None:
    seed(app)
    with app.uow() as s:
        _, plan = active_plan(s)
    for as_of in (date(2018, 12, 31), date(2019, 1, 1), date(2020, 12, 31), date(2021, 4, 11), date(2026, 12, 1)):
        progress = judged(app, as_of)
        talent = progress["high_level_talent"]  # a flow nobody reported
        assert talent.actual is None and talent.status is Status.NO_DATA
        assert progress_dict(plan, talent, EN)["actual"] is None
        assert '"actual": null' in json.dumps(progress_dict(plan, talent, EN))
        text = progress_text(plan, talent, ZH)
        assert "实际暂无数据" in text and not re.search(r"实际0", text)
        for p in progress.values():
            expected = progress_text(plan, p, ZH)
            assert not re.search(r"应达\d+\.\d+人", expected)  # whole people, never 33.3


def test_the_answer_says_what_cannot_be_judged_and_how_to_fix_it(app: App) -> None:
    seed(app)
    with app.uow() as s:
        _, plan = active_plan(s)
    progress = list(judged(app, date(2019, 1, 1)).values())
    text = unjudged_text(plan, progress, ZH)
    assert text is not None
    assert "17 项指标中有 13 项无法判断" in text  # 11 without figures, tech SMEs and institutes without baselines
    assert "11 项缺少最近到期报告期的数据" in text and "2 项缺少基数" in text and "baseline" in text and "2017" in text


def test_scorecard_is_the_same_at_any_later_date(app: App) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        cards = [scorecard(plan, assess_all(s, row, plan, d)) for d in (date(2021, 6, 30), date(2026, 12, 1))]
    assert scorecard_json(cards[0]) == scorecard_json(cards[1])
    verdicts = {(r["code"], r["due"]): r["verdict"] for r in scorecard_json(cards[0])}
    assert len(verdicts) == sum(len(i.milestones) for i in plan.indicators)
    assert verdicts[("hightech_enterprises", "2018-12-31")] == "missed"
    assert verdicts[("hightech_enterprises", "2020-12-31")] == "missed"
    assert verdicts[("industrial_tech_institutes", "2018-12-31")] == "no_baseline"
    assert verdicts[("national_hightech_zone", "2018-12-31")] == "achieved"
    assert verdicts[("patent_share", "2020-12-31")] == "no_data"
    text = scorecard_text(cards[0], date(2021, 6, 30), ZH)
    assert "❌ 2018年12月31日，目标80家以上：未达成，2018Q4为79家" in text
    assert "✅ 2020年12月31日，目标200家以上：达成，2020Q4为210家" in text
    with app.uow() as s:
        row, plan = active_plan(s)
        early = scorecard(plan, assess_all(s, row, plan, date(2019, 1, 1)))
    assert [r.result.verdict for r in early if r.result.milestone.due.year == 2020] == [None] * 17


def test_not_reported_never_asks_for_a_period_after_the_plan(app: App) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        owed = not_reported(assess_all(s, row, plan, date(2026, 12, 1)))
    assert owed and {o.period.label for o in owed} <= {"2020Q4", "2020"}


def cells(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize("as_of", [date(2021, 4, 11), date(2026, 12, 1)])
def test_workbook_shows_the_final_results_and_the_milestone_results(app: App, tmp_path: Path, as_of: date) -> None:
    seed(app)
    with app.uow() as s:
        row, plan = active_plan(s)
        out = export_xlsx(s, row, plan, as_of, tmp_path / "a.xlsx", lang="zh")
    wb = load_workbook(out)
    summary = wb[wb.sheetnames[0]]
    by_name = {r[1]: (r, n) for n, r in enumerate(cells(summary), 1) if r[1]}
    hte, n = by_name["高新技术企业总数"]
    assert hte[3] == "未完成（已逾期）" and hte[4] == 100 and hte[5] == "2020Q4" and hte[7] == 100
    assert summary.cell(n, 8).number_format == '"超过"#,##0"家"'
    smes, n = by_name["科技型中小企业总数"]
    assert smes[3] == "已完成" and summary.cell(n, 8).number_format == '#,##0"家以上"'
    talent, _ = by_name["引进高层次创新人才"]
    assert talent[3] == "无数据" and talent[4] == "暂无数据"
    sheet = wb["节点目标考核表"]
    assert wb.sheetnames[1] == "节点目标考核表"
    rows = [r for r in cells(sheet)[4:] if r[0] is not None]
    assert len(rows) == sum(len(i.milestones) for i in plan.indicators)
    first = rows[0]
    assert first[1] == "高新技术企业总数" and first[4] == "未达成" and first[5] == 79 and first[6] == "2018Q4"
    assert [r[4] for r in rows if r[1] == "产业技术研究院总数"] == ["无基数", "达成"]


def test_the_zone_reports_for_information_without_double_counting(app: App) -> None:
    for unit, value in (("xinglongtai", "30"), ("liaodongwan", "20"), ("shuangtaizi", "5"), ("dawa", "6"),
                        ("panshan", "4")):
        report(app, unit, "hightech_enterprises", "2018Q3", value, "2018-10-08")
    report(app, "hightech_zone", "hightech_enterprises", "2018Q3", "12", "2018-10-09")  # six units, one owes
    with app.uow() as s:
        row, plan = active_plan(s)
        fast = {p.indicator.code: p for p in assess_all(s, row, plan, date(2018, 10, 15))}["hightech_enterprises"]
        full = {p.indicator.code: p for p in assess_all(s, row, plan, date(2018, 10, 15), unit_values=True)}[
            "hightech_enterprises"]
    assert fast.actual == full.actual == 65  # the zone's 12 firms are in Xinglongtai's and Liaodongwan's figures
    assert fast.missing_units == full.missing_units == ("liaohekou",)


def test_a_successors_figure_counts_for_the_unit_it_succeeded(app: App, tmp_path: Path) -> None:
    from paths import merged_zone_plan

    from bot.services.plans import load_plan_file

    path = merged_zone_plan(tmp_path)
    load_plan_file(app.uow, path, datetime(2019, 4, 1, tzinfo=SH))
    report(app, "merged_zone", "hightech_enterprises", "2019Q1", "7", "2019-04-05")
    with app.uow() as s:
        row, plan = active_plan(s)
        p = {p.indicator.code: p for p in assess_all(s, row, plan, date(2019, 4, 12), unit_values=True)}[
            "hightech_enterprises"]
    assert p.unit_values == {"liaohekou": Decimal(7)}  # saved for the unit it succeeded
    assert "liaohekou" not in p.missing_units
    with pytest.raises(Exception, match="does not report"):  # before the succession it is a unit of its own
        report(app, "merged_zone", "hightech_enterprises", "2018Q4", "7", "2019-04-05")


def test_an_older_figure_shown_while_the_period_due_is_unreported_says_which_period_it_is(app: App,
                                                                                         tmp_path: Path) -> None:
    seed(app)  # the zone reached its 2018 stage in 2018Q4 and nothing is reported for 2019 until 2020Q4
    with app.uow() as s:
        _, plan = active_plan(s)
    zone = judged(app, date(2019, 10, 20))["national_hightech_zone"]
    assert zone.status is Status.NO_DATA and zone.actual_period is not None
    text = progress_text(plan, zone, ZH)
    assert "最近一次报送（2018Q4）：晋升国家级高新区取得突破性进展" in text
    assert "实际晋升" not in text  # not read as the stage of the period due
    assert "last reported Breakthrough progress towards national-level status for 2018Q4" in progress_text(
        plan, zone, EN)
    with app.uow() as s:
        row, plan = active_plan(s)
        out = export_xlsx(s, row, plan, date(2019, 10, 20), tmp_path / "a.xlsx", lang="zh")
    summary = load_workbook(out).worksheets[0]
    zone_row = next(r for r in cells(summary) if r[1] == "晋升国家级高新区")
    assert zone_row[3:6] == ("无数据", "晋升国家级高新区取得突破性进展", "2018Q4")  # status, actual, its period
