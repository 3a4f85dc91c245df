"""`planbot people import FILE`: WeCom userids bound to units and roles from a CSV (English or Chinese headers), all
rows or none, idempotent; a member bound this way talks to planbot on WeCom with no invite code."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from test_cli import planbot
from wecom_support import served

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.chat_models import AuditRow, IdentityRow, RoleRow
from bot.services.people import roles_of
from bot.services.plans import active_plan
from fakes import FakeWeComApi
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN

GOOD = """userid,name,unit,role
zhangsan,张三,盘山县,contact
lisi,李四,dawa,联络员
wang.wu@panjin,王五,,领导
zhaoliu,赵六,,admin
zhangsan,张三,大洼区,contact
"""
CHINESE = """账号,姓名,单位,角色
zhangsan,张三,盘山县,联络员
qianqi,钱七,兴隆台,联系人
"""
BAD = """userid,name,unit,role
zhangsan,张三,盘山县,contact
,无名,盘山县,contact
li si,李四,dawa,contact
wangwu,王五,火星区,contact
zhaoliu,赵六,,boss
sunba,孙八,,contact
zhangsan,张三,盘山县,contact
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bindings(env: dict[str, str]) -> dict[str, tuple[str, tuple[str, ...], bool, bool]]:
    """userid -> (display name, contact units in code order, leader, admin)."""
    app = bootstrap(Settings.from_env(env))
    try:
        with app.uow() as s:
            plan_row, _ = active_plan(s)
            out = {}
            for ident in s.scalars(select(IdentityRow).where(IdentityRow.channel == "wecom")):
                r = roles_of(ident.person, plan_row)
                out[ident.external_id] = (ident.person.display_name, tuple(sorted(r.contact_units)), r.leader, r.admin)
            return out
    finally:
        app.close()


def role_count(env: dict[str, str]) -> int:
    app = bootstrap(Settings.from_env(env))
    try:
        with app.uow() as s:
            return int(s.scalar(select(func.count()).select_from(RoleRow)) or 0)
    finally:
        app.close()


def test_a_file_binds_userids_to_units_and_roles_and_importing_it_again_changes_nothing(
        env: dict[str, str], tmp_path: Path) -> None:
    good = write(tmp_path, "people.csv", GOOD)
    first = planbot(env, "people", "import", str(good)).stdout
    assert "读取 5 行" in first and "新增企业微信成员 4 人" in first and "授予角色 5 个" in first
    assert bindings(env) == {
        "zhangsan": ("张三", ("dawa", "panshan"), False, False), "lisi": ("李四", ("dawa",), False, False),
        "wang.wu@panjin": ("王五", (), True, False), "zhaoliu": ("赵六", (), False, True)}
    roles = role_count(env)
    again = planbot(env, "people", "import", str(good), "--lang", "en").stdout
    assert "0 WeCom members new, 0 roles granted" in again
    assert role_count(env) == roles
    planbot(env, "people", "import", str(write(tmp_path, "人员.csv", CHINESE)))  # Chinese headers and role words
    assert bindings(env)["qianqi"] == ("钱七", ("xinglongtai",), False, False)


def test_bad_rows_are_reported_with_their_numbers_and_nothing_is_saved(env: dict[str, str], tmp_path: Path) -> None:
    proc = planbot(env, "people", "import", str(write(tmp_path, "bad.csv", BAD)), "--lang", "en", ok=False)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[:-1] == [
        "row 3: No userid.",
        "row 4: “li si” is not a WeCom userid (1 to 64 letters, digits, _ - . @).",
        "row 5: No unit matches “火星区”.",
        "row 6: Unknown role “boss”: write contact (联络员), leader (领导) or admin (管理员).",
        "row 7: A contact needs a unit.",
        "row 8: Same userid, role and unit as row 2.",
    ]
    assert "Nothing was imported" in lines[-1]
    assert bindings(env) == {}  # not even row 2, which was good
    zh = planbot(env, "people", "import", str(write(tmp_path, "bad.csv", BAD)), ok=False).stderr
    assert zh.splitlines()[0] == "第3行：缺少账号（userid）。"
    missing = planbot(env, "people", "import", str(write(tmp_path, "x.csv", "name,unit\n张三,盘山县\n")),
                      "--lang", "en", ok=False)
    assert "missing: userid, role" in missing.stderr


@pytest.mark.asyncio
async def test_an_imported_contact_reports_on_wecom_with_no_invite_code(env: dict[str, str], tmp_path: Path) -> None:
    planbot(env, "people", "import", str(write(tmp_path, "people.csv", GOOD)))
    with FakeWeComApi() as api:
        app = bootstrap(Settings.from_env(dict(
            env, PLANBOT_NOW="2018-10-15T10:00:00+08:00", WECOM_CORP_ID=CORP_ID, WECOM_AGENT_ID=str(AGENT_ID),
            WECOM_SECRET=SECRET, WECOM_TOKEN=TOKEN, WECOM_AES_KEY=AES_KEY, WECOM_API_URL=api.url)))
        try:
            async with served(app, api, db_processes=0) as running:
                menu = await running.member("lisi").say("填报")
            assert "[1] 高新技术企业总数" in menu and "邀请码" not in menu
            with app.uow() as s:
                audits = list(s.scalars(select(AuditRow.action).where(AuditRow.action == "people.import")))
            assert audits == ["people.import"]
        finally:
            app.close()
