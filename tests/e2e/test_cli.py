"""The `planbot` command end to end, as a subprocess, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from paths import DATA
from sqlalchemy import create_engine, select

from bot.db.models import FigureRow

DATA = DATA
WORKED = DATA / "worked-example.yaml"
PLANBOT = Path(sys.executable).parent / "planbot"


def planbot(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(PLANBOT), *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def figure_rows(env: dict[str, str]) -> list[tuple[object, ...]]:
    """Every figure row in the database the command used, as stored."""
    engine = create_engine(env["PLANBOT_DATABASE_URL"])
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(select(FigureRow).order_by(FigureRow.id))]
    finally:
        engine.dispose()


def planbot_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(planbot(env, *args).stdout)


def test_plan_show_lists_the_seventeen_indicators_with_the_documents_figures(env: dict[str, str]) -> None:
    data = planbot_json(env, "plan", "show", "--json")
    inds = {i["code"]: i for i in data["indicators"]}
    assert len(inds) == 17
    ms = {c: [(m["due"], m.get("value", m.get("stage")), m["comparator"]) for m in i["milestones"]]
          for c, i in inds.items()}
    assert ms["hightech_enterprises"] == [("2018-12-31", 80, ">="), ("2020-12-31", 100, ">")]
    assert ms["tech_smes"] == [("2018-12-31", 120, ">="), ("2020-12-31", 200, ">=")]
    assert ms["rd_spending_gdp"] == [("2018-12-31", 2, ">="), ("2020-12-31", 2.5, ">=")]
    assert ms["key_tech_breakthroughs"][-1][:2] == ("2020-12-31", 60)
    assert inds["industrial_tech_institutes"]["milestones"][0]["relative_to_baseline"] is True
    assert ms["national_hightech_zone"][0][1] == "breakthrough"
    assert inds["hightech_enterprises"]["kind"] == "stock"
    assert inds["key_tech_breakthroughs"]["kind"] == "flow"
    assert inds["tech_contract_growth"]["kind"] == "growth"
    assert "shuangtaizi" in inds["hightech_enterprises"]["reporting_units"]
    assert inds["entrepreneur_training"]["lead_units"] == ["organization_dept", "sci_tech_bureau"]
    text = planbot(env, "plan", "show").stdout
    assert "高新技术企业总数" in text and "2018年12月31日" in text


def test_worked_example_through_report_and_lagging(env: dict[str, str]) -> None:
    planbot(env, "plan", "load", str(WORKED))
    planbot(env, "report", "--unit", "bureau", "--indicator", "高新技术企业", "--period", "2018Q2", "--value", "90")

    def status() -> dict[str, Any]:
        rows = planbot_json(env, "lagging", "--as-of", "2018-07-02", "--json", "--all")
        return {r["code"]: r for r in rows}["enterprises"]

    row = status()
    assert row["status"] == "on_track"
    assert row["expected"] == pytest.approx(90.08, abs=0.01)
    assert row["actual"] == 90 and row["target"] == 120 and row["due"] == "2018-12-31"
    for value, expected in (("80", "behind"), ("65", "lagging"), ("125", "achieved")):
        planbot(env, "report", "--unit", "bureau", "--indicator", "enterprises", "--period", "2018Q2",
                "--value", value, "--reason", "checked again")
        assert status()["status"] == expected
    lagging = planbot_json(env, "lagging", "--as-of", "2018-07-02", "--json")
    assert [r["code"] for r in lagging] == ["rd_share"]  # achieved is not listed; no data is
    assert {"code", "name", "status", "actual", "expected", "target", "due", "shortfall_pp"} <= set(lagging[0])


def test_loading_twice_changes_nothing_and_an_edit_keeps_reports(env: dict[str, str], tmp_path: Path) -> None:
    planbot(env, "plan", "load", str(WORKED))
    assert "already up to date" in planbot(env, "--lang", "en", "plan", "load", str(WORKED)).stdout
    planbot(env, "report", "--unit", "east", "--indicator", "enterprises", "--period", "2018Q1", "--value", "40")
    edited = tmp_path / "edited.yaml"
    edited.write_text(WORKED.read_text(encoding="utf-8").replace("value: 120", "value: 130"), encoding="utf-8")
    out = planbot(env, "--lang", "en", "plan", "load", str(edited)).stdout
    assert "updated" in out
    row = planbot_json(env, "status", "enterprises", "--as-of", "2018-04-20", "--json")
    assert row["target"] == 130 and row["units"] == {"east": 40}


def test_validate_reports_each_problem_with_its_place(tmp_path: Path, env: dict[str, str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(WORKED.read_text(encoding="utf-8").replace("kind: ratio", "kind: ratios")
                   .replace('reporters: ["@districts"]', 'reporters: ["@nowhere"]'), encoding="utf-8")
    proc = planbot(env, "--lang", "en", "plan", "validate", str(bad), ok=False)
    assert proc.returncode == 2
    assert f"{bad}: indicators[1].kind: input should be" in proc.stderr
    assert "indicators[0].reporters[0]: unknown unit group 'nowhere'" in proc.stderr
    zh = planbot(env, "plan", "validate", str(bad), ok=False)  # PLANBOT_LANG=zh: the problems in Chinese too
    assert f"{bad}：indicators[1].kind：应为以下之一" in zh.stderr
    assert "indicators[0].reporters[0]：未知的单位组 'nowhere'" in zh.stderr
    assert planbot(env, "plan", "validate", str(WORKED)).returncode == 0


@pytest.mark.parametrize(("args", "needle"), [
    (["report", "--unit", "nobody", "--indicator", "高企", "--period", "2018Q1", "--value", "1"], "nobody"),
    (["report", "--unit", "区", "--indicator", "高企", "--period", "2018Q1", "--value", "1"], "east"),
    (["report", "--unit", "east", "--indicator", "高企", "--period", "2018Q9", "--value", "1"], "2018Q9"),
    (["report", "--unit", "east", "--indicator", "高企", "--period", "2018Q1", "--value", "abc"], "abc"),
    (["report", "--unit", "east", "--indicator", "高企", "--period", "2018Q1", "--value", "-3"], "-3"),
    (["report", "--unit", "east", "--indicator", "高企", "--period", "2022Q1", "--value", "3"], "2022Q1"),
    (["report", "--unit", "east", "--indicator", "rd_share", "--period", "2018", "--value", "3"], "东区"),
    (["status", "不存在的指标"], "不存在的指标"),
    (["lagging", "--as-of", "2018-13-01"], "2018-13-01"),
])
def test_bad_input_gets_a_clear_error_and_status_2(env: dict[str, str], args: list[str], needle: str) -> None:
    planbot(env, "plan", "load", str(WORKED))
    proc = planbot(env, *args, ok=False)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert proc.stdout == ""


def test_a_second_report_for_the_same_period_needs_a_correction(env: dict[str, str]) -> None:
    planbot(env, "plan", "load", str(WORKED))
    args = ["report", "--unit", "east", "--indicator", "enterprises", "--period", "2018Q1"]
    planbot(env, *args, "--value", "40")
    proc = planbot(env, "--lang", "en", *args, "--value", "41", ok=False)
    assert proc.returncode == 2 and "correct it and give a reason" in proc.stderr
    out = planbot(env, "--lang", "en", *args, "--value", "41", "--reason", "typo").stdout
    assert "40 enterprises → 41 enterprises" in out


def test_import_is_all_or_nothing(env: dict[str, str], tmp_path: Path) -> None:
    planbot(env, "plan", "load", str(WORKED))
    bad = tmp_path / "figures.csv"
    bad.write_text("unit,indicator,period,value\neast,enterprises,2018Q1,40\nwest,enterprises,2018Q1,x\n"
                   "west,nothing,2018Q1,3\n", encoding="utf-8")
    proc = planbot(env, "--lang", "en", "import", str(bad), ok=False)
    assert proc.returncode == 2
    assert "row 3:" in proc.stderr and "row 4:" in proc.stderr and "row 2:" not in proc.stderr
    assert planbot_json(env, "status", "enterprises", "--as-of", "2018-04-20", "--json")["units"] == {}
    good = tmp_path / "figures.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in (["单位", "指标", "期间", "数值"], ["东区", "高企", "2018Q1", 40], ["西区", "高企", "2018Q1", "35"]):
        ws.append(r)
    wb.save(good)
    assert planbot(env, "--lang", "en", "import", str(good)).stdout == f"Imported 2 figures from {good}.\n"
    assert planbot_json(env, "status", "enterprises", "--as-of", "2018-04-20", "--json")["units"] == {
        "east": 40, "west": 35}
    history = figure_rows(env)
    assert len(history) == 2
    assert planbot(env, "--lang", "en", "import", str(good)).stdout == f"Imported 0 figures from {good}.\n"
    assert planbot_json(env, "status", "enterprises", "--as-of", "2018-04-20", "--json")["units"] == {
        "east": 40, "west": 35}
    assert figure_rows(env) == history  # no second entry, no correction


def test_database_down_is_a_clear_error(env: dict[str, str]) -> None:
    down = dict(env, PLANBOT_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none")
    proc = planbot(down, "--lang", "en", "lagging", ok=False)
    assert proc.returncode == 2 and "database is unavailable" in proc.stderr


def test_export_and_units_on_the_command_line(env: dict[str, str], tmp_path: Path) -> None:
    planbot(env, "plan", "load", str(WORKED))
    planbot(env, "report", "--unit", "east", "--indicator", "enterprises", "--period", "2018Q1", "--value", "40")
    out = tmp_path / "figures.csv"
    planbot(env, "export", "--format", "csv", "--as-of", "2018-07-02", "--out", str(out))
    text = out.read_text(encoding="utf-8-sig")
    assert "enterprises" in text and "east" in text and "40" in text
    book = tmp_path / "book.xlsx"
    planbot(env, "--lang", "en", "export", "--as-of", "2018-07-02", "--out", str(book))
    from openpyxl import load_workbook

    assert load_workbook(book).sheetnames[0] == "Summary"
    rates = planbot_json(env, "units", "--as-of", "2018-07-20", "--json")
    assert {r["unit"]: (r["on_time"], r["missing"]) for r in rates}["west"] == (0, 2)  # Q1 and Q2 fell due


def test_remind_catch_up_records_late_reminders_as_missed(env: dict[str, str]) -> None:
    """The reminder of 26 September 09:00 swept a working day late with --catch-up 0 is recorded as missed and never
    sent; the next one (30 September, a make-up working day) goes out on time."""
    env = dict(env, PLANBOT_NOW="2018-09-26T08:00:00+08:00")
    code = planbot(env, "invite", "--unit", "panshan", "--role", "contact").stdout.split()[0]
    subprocess.run([str(PLANBOT), "chat", "--user", "pan"], input=f"{code}\n", env=env, capture_output=True,
                   text=True, check=True, timeout=120)
    assert "→ pan" not in planbot(env, "remind", "--now", "2018-09-26T08:30").stdout  # the last sweep before 09:00
    late = planbot(env, "--lang", "en", "remind", "--now", "2018-09-27T09:00", "--catch-up", "0").stdout
    assert late == "Reminders due: 0; messages queued: 0; sent now: 0; too old (marked missed): 9.\n"  # 9 units
    again = planbot(env, "--lang", "en", "remind", "--now", "2018-09-27T09:05").stdout
    assert "→ pan" not in again, again  # missed stays missed, even with the default catch-up of one working day
    on_time = planbot(env, "remind", "--now", "2018-09-30T09:00").stdout
    assert [line for line in on_time.splitlines() if line.startswith("→ pan")] == [
        "→ pan: 提醒：盘山县人民政府2018Q3数据将于2018年10月10日截止报送（还剩3个工作日）。"
        "尚未填报：高新技术企业总数、科技型中小企业总数、核心技术攻关项目、产业技术研究院总数、"
        "引进高层次创新人才、引进创新团队、重点科技成果转化项目。"], on_time


def test_a_notice_longer_than_a_chat_message_is_refused_naming_the_limit(env: dict[str, str]) -> None:
    for lang, words in (("en", "The notice is too long: 6650 characters, at most 4000"),
                        ("zh", "通知太长：6650个字，最多4000个字")):
        proc = planbot(env, "--lang", lang, "broadcast", "--audience", "all", "--text", "请报送" * 2216 + "谢谢",
                       "--yes", ok=False)
        assert proc.returncode == 2 and words in proc.stderr and proc.stdout == "", proc.stderr
    assert planbot_json(env, "notices", "--json") == []


def test_broadcast_at_a_later_time_and_resend_on_the_command_line(env: dict[str, str]) -> None:
    env = dict(env, PLANBOT_NOW="2018-10-15T10:00:00+08:00")
    code = planbot(env, "invite", "--unit", "panshan", "--role", "contact").stdout.split()[0]
    subprocess.run([str(PLANBOT), "chat", "--user", "pan"], input=f"{code}\n", env=env, capture_output=True,
                   text=True, check=True, timeout=120)
    out = planbot(env, "--lang", "en", "broadcast", "--audience", "units:panshan", "--text", "年报材料请于周五前报送",
                  "--at", "2018-10-16T09:00", "--yes").stdout
    assert "Notice 1 queued for 1 people" in out, out

    def notice_lines(now: str) -> list[str]:
        lines = planbot(env, "remind", "--now", now).stdout.splitlines()
        return [line for line in lines if line.startswith("→ pan: 通知")]

    assert notice_lines("2018-10-15T10:05") == []  # not before its time
    assert notice_lines("2018-10-16T09:00") == ["→ pan: 通知：年报材料请于周五前报送"]
    assert notice_lines("2018-10-16T09:10") == []  # once
    assert planbot_json(env, "notices", "--json")[0] | {"text": ""} == {
        "id": 1, "text": "", "audience": "units:panshan", "recipients": 1, "delivered": 1, "signed": 0, "failed": 0,
        "pending": 0, "uncertain": 0, "groups": []}
    out = planbot(env, "--lang", "en", "notices", "--resend", "1").stdout
    assert out == "Notice 1 queued again for 0 people.\n"  # --resend: only those it could not reach (#16)
    out = planbot(env, "--lang", "en", "notices", "--resend-unsigned", "1").stdout
    assert out == "Notice 1 queued again for 1 people.\n"  # the explicit choice: everyone who has not signed
    assert notice_lines("2018-10-16T09:20") == ["→ pan: 通知：年报材料请于周五前报送"]
