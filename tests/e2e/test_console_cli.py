"""The console as a newcomer meets it: `planbot run` and `planbot chat` as subprocesses, state kept between runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PLANBOT = Path(sys.executable).parent / "planbot"


def run(env: dict[str, str], args: list[str], stdin: str) -> str:
    proc = subprocess.run([str(PLANBOT), *args], input=stdin, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stdout


def test_run_opens_a_console_for_an_admin_and_leader(env: dict[str, str]) -> None:
    env = dict(env, PLANBOT_NOW="2018-10-15T10:00:00+08:00")
    out = run(env, ["run"], "/whoami\n/invite 盘山县 contact\n/quit\n")
    assert "telegram: not configured" in out
    assert "local" in out and "管理员" in out and "领导" in out
    code = [line for line in out.splitlines() if len(line) == 24 and " " not in line]
    assert code, out
    out = run(env, ["run"], f"{code[0]}\n高新技术企业 12家\n1\n/quit\n")
    assert "盘山县人民政府" in out and "12家" in out


def test_chat_keeps_state_between_invocations(env: dict[str, str]) -> None:
    env = dict(env, PLANBOT_NOW="2018-10-15T10:00:00+08:00")
    code = subprocess.run([str(PLANBOT), "invite", "--unit", "dawa", "--role", "contact"], env=env,
                          capture_output=True, text=True, check=True).stdout.strip()
    run(env, ["chat", "--user", "mei"], f"{code}\n填报\n")
    out = run(env, ["chat", "--user", "mei"], "1\n")  # the choice offered in the previous run
    assert "2018Q3" in out
    out = run(env, ["chat", "--user", "mei"], "15家\n1\n")
    assert "15家" in out


def test_demo_has_something_to_answer(env: dict[str, str]) -> None:
    out = run(env, ["chat", "--demo", "--user", "demo-leader"], "/lagging\n/missing\n")
    # the demo's figures are seeded: the same answer every time
    # expected counts in whole units, targets with their comparator (#15)
    assert "🔴 产业技术研究院总数：滞后\n实际5家，按序时进度应达9家，2018年12月31日目标10家以上\n" in out
    assert "2018Q3未报送：盘山县人民政府、辽河口生态经济区管委会" in out
    assert "\n• 盘山县人民政府：重点科技成果转化项目（2018Q3，2018年10月10日截止）；" in out  # /missing
    assert "您是演示管理员 demo admin：管理员" in run(env, ["chat", "--demo", "--user", "demo-admin"], "/whoami\n")


def test_remind_with_the_demo_data_sends_what_is_due_once(env: dict[str, str]) -> None:
    first = run(env, ["remind", "--demo", "--now", "2018-10-08T09:00"], "")
    lines = [line for line in first.splitlines() if line.startswith("→ ")]
    panshan = "→ demo-panshan: 提醒：盘山县人民政府2018Q3数据将于2018年10月10日截止报送"
    assert any(line.startswith(panshan) for line in lines)
    assert any(line.startswith("→ demo-leader: 每周简报") for line in lines)
    assert any(line.startswith("→ demo-sci_tech_bureau: 节点预警") for line in lines)
    second = run(env, ["remind", "--demo", "--now", "2018-10-08T09:00"], "")
    assert not [line for line in second.splitlines() if line.startswith("→ ")]
    assert "本次发出 0 条" in second
    later = run(env, ["remind", "--demo", "--now", "2018-10-15T09:00"], "")
    overdue = {line.split(":")[0] for line in later.splitlines() if line.startswith("→ ") and "逾期提醒" in line}
    counties = {"→ demo-" + u for u in ("shuangtaizi", "xinglongtai", "dawa", "panshan", "liaodongwan", "liaohekou")}
    assert overdue & counties == {"→ demo-panshan", "→ demo-liaohekou"}  # only the late units are chased


def test_broadcast_and_notices_on_the_command_line(env: dict[str, str]) -> None:
    env = dict(env, PLANBOT_NOW="2018-10-15T10:00:00+08:00")
    code = subprocess.run([str(PLANBOT), "invite", "--unit", "dawa", "--role", "contact"], env=env,
                          capture_output=True, text=True, check=True).stdout.strip()
    run(env, ["chat", "--user", "mei"], f"{code}\n")
    out = run(env, ["broadcast", "--audience", "group:counties_and_zones", "--text", "请于10月20日前报送", "--yes"], "")
    assert "1人" in out
    pushed = run(env, ["remind", "--now", "2018-10-15T10:01"], "")
    assert "→ mei: 通知：请于10月20日前报送" in pushed and "[1] 签收" in pushed
    out = run(env, ["notices", "--json"], "")
    assert '"delivered": 1' in out and '"signed": 0' in out
