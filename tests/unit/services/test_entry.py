"""Finding the unit a sentence names: the longest name wins, aliases count, ASCII names only as whole words."""

from __future__ import annotations

from dataclasses import replace

import pytest
from paths import PANJIN_PLAN

from bot.domain.plan import Plan
from bot.services.entry import find_unit_in
from bot.services.plan_file import read_plan_file

PANJIN = PANJIN_PLAN


@pytest.fixture(scope="module")
def plan() -> Plan:
    return read_plan_file(PANJIN)


@pytest.mark.parametrize(("text", "unit", "rest"), [
    ("盘山高企12家", "panshan", "高企12家"),
    ("盘山县人民政府 高企 15家", "panshan", "高企 15家"),
    ("大洼区高企11家", "dawa", "高企11家"),
    ("Panshan high-tech 12", "panshan", "high-tech 12"),
])
def test_a_named_unit_is_found(plan: Plan, text: str, unit: str, rest: str) -> None:
    found, left = find_unit_in(plan, text)
    assert found is not None and found.code == unit
    assert left == rest


@pytest.mark.parametrize("text", [
    "高新技术企业 12家",  # no unit named
    "xpanshan 12",  # an ASCII name inside a longer word is not the name
    "panshanese 12",
])
def test_no_unit_where_none_is_named(plan: Plan, text: str) -> None:
    found, left = find_unit_in(plan, text)
    assert found is None and left == text


def test_an_alias_names_its_unit(plan: Plan) -> None:
    units = tuple(replace(u, aliases=("胡家镇",)) if u.code == "panshan" else u for u in plan.units)
    renamed = replace(plan, units=units)
    found, left = find_unit_in(renamed, "胡家镇 高企 9家")
    assert found is not None and found.code == "panshan" and left == "高企 9家"
    assert find_unit_in(plan, "胡家镇 高企 9家")[0] is None  # the index follows the plan it was built for


def test_the_longest_name_wins(plan: Plan) -> None:
    zone = next(u for u in plan.units if u.kind == "zone")
    found, _ = find_unit_in(plan, f"{zone.name.zh} 高企 3家")
    assert found == zone
