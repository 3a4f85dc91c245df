"""The plan loader: the whole Panjin plan loads; each kind of malformed file gives its own message and place."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from paths import DATA

from bot.config import DEFAULT_PLAN
from bot.domain.plan import Aggregation, Comparator, Kind
from bot.services.plan_file import load_yaml, parse_plan, read_plan_file
from bot.services.plan_problems import PlanFileError
from bot.services.plan_spec import MAX_PLAN_BYTES
from i18n import translator_for

WORKED = DATA / "worked-example.yaml"


def test_the_panjin_plan_loads_whole() -> None:
    plan = read_plan_file(DEFAULT_PLAN)
    assert len(plan.indicators) == 17 and len(plan.tasks) == 13
    assert {u.code for u in plan.units} >= {"sci_tech_bureau", "shuangtaizi", "xinglongtai", "dawa", "panshan",
                                            "liaodongwan", "liaohekou", "hightech_zone"}
    hte = plan.indicator("hightech_enterprises")
    assert hte.kind is Kind.STOCK and hte.aggregation is Aggregation.SUM
    assert [(m.value, m.comparator) for m in hte.milestones] == [(Decimal(80), Comparator.GE),
                                                                   (Decimal(100), Comparator.GT)]
    assert len(hte.reporting_units) == 6
    institutes = plan.indicator("industrial_tech_institutes")
    assert institutes.milestones[0].relative and institutes.milestones[0].value == 5
    assert plan.indicator("rd_spending_gdp").milestones[-1].value == Decimal("2.5")
    assert plan.indicator("national_hightech_zone").kind is Kind.STAGED
    assert plan.baseline_date.isoformat() == "2017-12-31"
    assert {t.number for t in plan.tasks} == set(range(1, 14))


def _worked() -> dict[str, object]:
    data = yaml.safe_load(WORKED.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _problems(mutate: object) -> list[str]:
    data = _worked()
    assert callable(mutate)
    mutate(data)
    with pytest.raises(PlanFileError) as err:
        parse_plan(data, "plan.yaml")
    return [f"{p.path}: {p.message}" for p in err.value.problems]


CASES = [
    (lambda d: d["indicators"][0].pop("kind"), "indicators[0].kind: required field is missing"),
    (lambda d: d["indicators"][0].update(kind="level"), "indicators[0].kind: input should be"),
    (lambda d: d["indicators"][0].update(colour="red"), "indicators[0].colour: unknown field"),
    (lambda d: d["indicators"][0]["milestones"][0].update(value="lots"),
     'indicators[0].milestones[0].value: value error, must be a number or "baseline + N"'),
    (lambda d: d["indicators"][0]["milestones"][0].update(due="2018-02-30"), "indicators[0].milestones[0].due:"),
    (lambda d: d["indicators"][0]["milestones"][0].update(due="2025-12-31"),
     "indicators[0].milestones[0].due: 2025-12-31 is outside the plan"),
    (lambda d: d["indicators"][0]["milestones"].reverse(),
     "indicators[0].milestones[1].due: milestones must be in date order"),
    (lambda d: d["indicators"][0].update(lead=["mayor"]), "indicators[0].lead[0]: unknown unit 'mayor'"),
    (lambda d: d["indicators"][0].update(reporters=["@nowhere"]),
     "indicators[0].reporters[0]: unknown unit group 'nowhere'"),
    (lambda d: d["indicators"][1].update(code="enterprises"), "indicators[1]: duplicate indicator code"),
    (lambda d: d["units"].append({"code": "east", "name": {"zh": "东", "en": "E"}}), "units[3]: duplicate unit code"),
    (lambda d: d["indicators"][0].update(code="Enterprises!"), "indicators[0].code: string should match pattern"),
    (lambda d: d["indicators"][0].update(code="e" * 41),  # "0|source|CODE" must fit a button's 64 bytes
     "indicators[0].code: string should have at most 40 characters"),
    (lambda d: d["plan"].update(end="2017-01-01"), "plan.end: must be after plan.start"),
    (lambda d: d["plan"].update(timezone="Mars/Olympus"), "plan.timezone: unknown time zone"),
    (lambda d: d["indicators"][0]["name"].pop("en"), "indicators[0].name.en: required field is missing"),
    (lambda d: d["indicators"][1].update(aggregation="sum"),
     "indicators[1].reporters: aggregation 'sum' needs at least one reporting unit"),
    (lambda d: d["indicators"][0].update(kind="staged"), "indicators[0].stages: a staged indicator needs"),
    (lambda d: d["indicators"][0].update(range={"min": 10, "max": 1}), "indicators[0].range: min is greater"),
    (lambda d: d["indicators"][0]["milestones"][0].update(value="baseline + 5", comparator="≥"),
     "indicators[0].milestones[0].comparator: input should be '>=' or '>'"),
    (lambda d: d.pop("units"), "units: required field is missing"),
    (lambda d: d.update(reminders={"before_due": [3]}), "reminders: unknown key 'before_due'"),
]


@pytest.mark.parametrize(("mutate", "expected"), CASES)
def test_each_malformed_file_says_where_and_why(mutate: object, expected: str) -> None:
    problems = _problems(mutate)
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    def two(d: dict) -> None:  # type: ignore[type-arg]
        d["indicators"][0].update(lead=["mayor"])
        d["indicators"][1].update(kind="level")

    assert len(_problems(two)) == 2


def test_broken_yaml_says_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("plan:\n  code: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlanFileError) as err:
        read_plan_file(bad)
    assert str(err.value).startswith(f"{bad}: line ")
    with pytest.raises(PlanFileError, match="file not found"):
        read_plan_file(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match="must be a mapping"):
        read_plan_file(tmp_path / "list.yaml")


def test_plan_files_cite_the_plan_not_files_outside_the_repository() -> None:
    for path in DEFAULT_PLAN.parent.glob("*.yaml"):
        comments = [line for line in path.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("#")]
        cited = [line for line in comments if "seed/" in line or "PLAN-NOTES" in line or ".md" in line]
        assert cited == [], f"{path.name} cites files that are not in the repository: {cited}"
    assert "盘政办发〔2018〕21号" in DEFAULT_PLAN.read_text(encoding="utf-8").splitlines()[1]


BILLION_LAUGHS = DATA / "billion-laughs.yaml"  # 9 ** 9 values once expanded


def test_aliases_that_expand_past_the_cap_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError) as err:
        read_plan_file(BILLION_LAUGHS)
    assert [p.template for p in err.value.problems] == [
        "the YAML expands to more than {n} values (anchors and aliases used over and over); refused"]
    assert "200000" in str(err.value)
    (tmp_path / "self.yaml").write_text("groups: &g {a: *g}\n", encoding="utf-8")
    with pytest.raises(PlanFileError, match="expands to more than"):
        read_plan_file(tmp_path / "self.yaml")
    (tmp_path / "deep.yaml").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"nested too deeply|maximum nesting depth"):
        read_plan_file(tmp_path / "deep.yaml")


def test_a_few_aliases_are_fine() -> None:
    text = DEFAULT_PLAN.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)
    assert load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("w", encoding="utf-8") as fh:
        fh.write(DEFAULT_PLAN.read_text(encoding="utf-8"))
        fh.write("# padding\n" * (MAX_PLAN_BYTES // 10))
    with pytest.raises(PlanFileError) as err:
        read_plan_file(huge)
    assert "larger than 1024 KB" in str(err.value)
    assert "大于" in err.value.problems[0].render(translator_for("zh"))


def test_a_problem_quoting_braces_is_shown_as_it_is(tmp_path: Path) -> None:
    bad = tmp_path / "braces.yaml"
    bad.write_text("plan: {code: x}\nunits: {a: {b\n", encoding="utf-8")
    with pytest.raises(PlanFileError) as err:
        read_plan_file(bad)
    english = [str(p) for p in err.value.problems] + [p.render(translator_for("en")) for p in err.value.problems]
    chinese = [p.render(translator_for("zh")) for p in err.value.problems]
    assert all("not valid YAML" in s and "'}'" in s for s in english), english
    assert all("不是有效的 YAML" in s and "'}'" in s for s in chinese), chinese


def test_inverted_thresholds_are_refused() -> None:
    def inverted(d: dict) -> None:  # type: ignore[type-arg]
        d["indicators"][0]["thresholds"] = {"on_track": 40, "behind": 30}

    problems = _problems(inverted)
    assert any("indicators[0].thresholds" in p and "on_track (40) must not be greater than behind (30)" in p
               for p in problems), problems


def test_one_pass_finds_the_reminders_and_no_false_references() -> None:
    def several(d: dict) -> None:  # type: ignore[type-arg]
        d["indicators"][0]["kind"] = "level"  # the indicator itself is wrong...
        d["reminders"] = {"send_time": "25:00"}  # ...and so are the reminders
        d.setdefault("tasks", []).append({"number": 99, "title": {"zh": "任务", "en": "Task"}, "lead": [],
                                          "responsible": [], "indicators": [d["indicators"][0]["code"]]})

    problems = _problems(several)
    assert any(".kind" in p for p in problems) and any("reminders.send_time" in p for p in problems), problems
    assert not any("unknown indicator" in p for p in problems), problems  # it exists, it is only malformed


def test_problems_are_worded_in_the_readers_language() -> None:
    from i18n import translator_for

    def two(d: dict) -> None:  # type: ignore[type-arg]
        d["indicators"][0].update(lead=["mayor"], thresholds={"on_track": 40, "behind": 30})

    with pytest.raises(PlanFileError) as err:
        data = _worked()
        two(data)
        parse_plan(data, "x.yaml")
    zh = [p.render(translator_for("zh")) for p in err.value.problems]
    en = [p.render(translator_for("en")) for p in err.value.problems]
    assert "x.yaml：indicators[0].lead[0]：未知的单位 'mayor'" in zh
    assert "x.yaml：indicators[0].thresholds：on_track（40）不能大于 behind（30）" in zh
    assert en == [str(p) for p in err.value.problems]


@pytest.mark.parametrize(("reminders", "zh", "en"), [
    ({"send_time": "25:00"}, "x.yaml：reminders.send_time：应为“09:00”这样的时间，实为 '25:00'",
     "x.yaml: reminders.send_time: expected a time like \"09:00\", got '25:00'"),
    ({"before_due": [3]}, "x.yaml：reminders：未知的设置项 'before_due'",
     "x.yaml: reminders: unknown key 'before_due'"),
    ({"digest_weekday": 9}, "x.yaml：reminders.digest_weekday：应为0（周一）到6（周日），实为 9",
     "x.yaml: reminders.digest_weekday: expected 0 (Monday) to 6 (Sunday), got 9"),
    ({"send_time": "22:00"}, "x.yaml：reminders.send_time：22:00 在免打扰时段内",
     "x.yaml: reminders.send_time: 22:00 lies in the quiet hours"),
])
def test_reminder_problems_are_worded_in_the_readers_language(reminders: dict[str, object], zh: str, en: str) -> None:
    from i18n import translator_for

    data = _worked()
    data["reminders"] = reminders
    with pytest.raises(PlanFileError) as err:
        parse_plan(data, "x.yaml")
    assert [p.render(translator_for("zh")) for p in err.value.problems] == [zh]
    assert [p.render(translator_for("en")) for p in err.value.problems] == [en]


def test_a_successor_reports_for_the_unit_it_succeeded() -> None:
    from datetime import date

    data = _worked()
    units = data["units"]
    assert isinstance(units, list)
    units.append({"code": "new_west", "name": {"zh": "新西区", "en": "New West"}, "aliases": ["西区新城"]})
    next(u for u in units if u["code"] == "west")["succeeded_by"] = {"unit": "new_west", "from": "2019-01-01"}
    plan = parse_plan(data, "x.yaml")
    ind = plan.indicator("enterprises")
    assert plan.unit("west").succeeded_by == "new_west"
    assert plan.reporting_for(ind, "new_west", date(2019, 1, 1)) == "west"  # counts for the unit it succeeded
    assert plan.reporting_for(ind, "new_west", date(2018, 10, 1)) == "new_west"  # not before the succession
    assert plan.reporting_for(ind, "east", date(2019, 1, 1)) == "east"
    units[-1]["code"] = "other"
    with pytest.raises(PlanFileError) as err:
        parse_plan(data, "x.yaml")
    assert any("succeeded_by.unit" in str(p) and "new_west" in str(p) for p in err.value.problems)
