"""The command line's manners: the common options on either side of the command, a reader that goes away, --json
where there is none, and the README's command table against the parser (each command's --help, as a subprocess)."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from paths import README

from bot.cli.parser import COMMON, JSON_OUTPUT, build_parser

PLANBOT = Path(sys.executable).parent / "planbot"
README = README
SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the command line, not the database, is tested

ARGUMENTS = {  # what each command needs besides the common options
    "run": ["--user", "u"], "chat": ["--user", "u"], "remind": ["--now", "2018-10-08T09:00"],
    "broadcast": ["--audience", "all", "--text", "hi"], "notices": ["--resend", "3"], "export": ["--format", "csv"],
    "units": ["--as-of", "2018-07-02"], "invite": ["--role", "admin"], "plan validate": ["p.yaml"],
    "plan load": ["p.yaml"], "plan show": [], "import": ["f.csv"], "lagging": ["--all"], "status": ["高企"],
    "scorecard": ["--as-of", "2021-06-30"],
    "report": ["--unit", "east", "--indicator", "高企", "--period", "2018Q1", "--value", "1"],
}


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command the parser accepts ("plan show" for a sub-command), with its own parser."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _commands(sub, f"{prefix}{name} ")
                found.update(inner or {f"{prefix}{name}": sub})
    return found


def planbot(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(PLANBOT), *args], env=env, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_every_command_takes_the_common_options_before_and_after_its_name() -> None:
    parser = build_parser()
    assert set(_commands(parser)) == set(ARGUMENTS), "a new command needs its arguments in ARGUMENTS"
    common = ["--lang", "en", "--demo", "--json"]
    for name, args in ARGUMENTS.items():
        words = name.split()
        before = vars(parser.parse_args([*common, *words, *args]))
        after = vars(parser.parse_args([*words, *args, *common]))
        between = vars(parser.parse_args([*words[:1], *common, *words[1:], *args]))
        assert before == after == between, name
        assert (after["lang"], after["demo"], after["json"]) == ("en", True, True), name
        plain = vars(parser.parse_args([*words, *args]))
        assert (plain["lang"], plain["demo"], plain["json"]) == (None, False, False), name
        last = vars(parser.parse_args(["--lang", "en", *words, *args, "--lang", "zh"]))
        assert last["lang"] == "zh", name  # given twice, the one nearer the end wins


@SQLITE
def test_common_options_after_the_command_work_end_to_end(env: dict[str, str], tmp_path: Path) -> None:
    after = planbot(env, "lagging", "--lang", "en", "--demo", "--json").stdout
    before = planbot(env, "--lang", "en", "--demo", "--json", "lagging").stdout
    assert after == before and '"status": "lagging"' in after and '"name": "Industrial technology' in after
    assert "As of Oct 15, 2018" in planbot(env, "lagging", "--demo", "--lang", "en").stdout


@SQLITE
def test_the_demo_workbook_says_it_holds_demo_data(env: dict[str, str], tmp_path: Path) -> None:
    demo, real = tmp_path / "demo.xlsx", tmp_path / "real.xlsx"
    planbot(env, "export", "--demo", "--lang", "en", "--out", str(demo))
    planbot(env, "--lang", "en", "export", "--out", str(real))
    assert str(load_workbook(demo).worksheets[0]["A1"].value).endswith("(demo data)")
    assert "demo" not in str(load_workbook(real).worksheets[0]["A1"].value)
    planbot(env, "export", "--demo", "--out", str(demo))
    assert "演示数据" in str(load_workbook(demo).worksheets[0]["A1"].value)


@SQLITE
def test_json_where_a_command_has_none_is_a_clear_error(env: dict[str, str]) -> None:
    proc = planbot(env, "invite", "--role", "admin", "--json", ok=False)
    assert proc.returncode == 2 and "planbot invite 没有 JSON 输出" in proc.stderr and proc.stdout == ""
    proc = planbot(env, "--json", "--lang", "en", "plan", "load", "plans/x.yaml", ok=False)
    assert proc.returncode == 2 and "planbot plan load has no JSON output" in proc.stderr


@SQLITE
@pytest.mark.parametrize(("args", "stdin"), [
    (["lagging", "--all"], ""),  # printed, then flushed at the end
    (["chat", "--user", "u"], "/help\n/lagging\n"),  # each reply flushed as it is written
])
def test_a_reader_that_goes_away_ends_the_command_quietly(env: dict[str, str], args: list[str], stdin: str) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader has gone before the first line is written, as `| head -1` is once it has one
    try:
        proc = subprocess.run([str(PLANBOT), *args], env=env, input=stdin, stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141  # 128 + SIGPIPE, what a shell shows for `yes | head -1`


def _readme_commands() -> dict[str, set[str]]:
    """The README's command table: each command (as the parser names it) with the options its row shows."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## The `planbot` command", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        m = re.match(r"\| `planbot ([^`]*)` \|", line)
        if m:
            usage = m.group(1)
            name = " ".join(re.match(r"[a-z ]+", usage).group(0).split())  # type: ignore[union-attr]
            rows[name] = set(re.findall(r"--[a-z][a-z-]*", usage))
    return rows


def test_the_readme_command_table_matches_the_parser_and_each_help() -> None:
    rows = _readme_commands()
    assert set(rows) == set(_commands(build_parser()))
    for name, shown in rows.items():
        proc = subprocess.run([str(PLANBOT), *name.split(), "--help"], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert proc.stdout.startswith(f"usage: planbot {name} "), proc.stdout
        accepted = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", proc.stdout)) - {"--help"}
        assert set(COMMON) <= accepted, name
        assert shown <= accepted, f"{name}: the README shows options the command does not take"
        assert accepted - set(COMMON) <= shown, f"{name}: options missing from its README row"
        assert ("--json" in shown) == (name in JSON_OUTPUT), f"{name}: the README's --json disagrees with the parser"
