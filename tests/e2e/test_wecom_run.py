"""`planbot run` with WeCom configured, as a subprocess: it says what started, answers WeCom, logs no secret."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from wecom_support import free_port, wait_listening, wecom_vars

from bot.bootstrap import bootstrap
from bot.config import ConfigError, Settings
from fakes import FakeWeComApi, WeComCallbacks
from fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN
from support import invite

PLANBOT = Path(sys.executable).parent / "planbot"


def test_settings_take_all_of_wecom_or_none_and_never_show_a_secret() -> None:
    settings = Settings.from_env(wecom_vars("http://127.0.0.1:9", "127.0.0.1:8090"))
    assert settings.wecom_configured and settings.wecom_agent_id == AGENT_ID
    shown = repr(settings) + repr(settings.describe())
    assert SECRET not in shown and TOKEN not in shown and AES_KEY not in shown
    assert settings.describe()["wecom"] == "callback on 127.0.0.1:8090"
    with pytest.raises(ConfigError, match="WECOM_SECRET, WECOM_TOKEN") as e:
        Settings.from_env({"WECOM_CORP_ID": CORP_ID, "WECOM_AGENT_ID": "1", "WECOM_AES_KEY": AES_KEY})
    assert CORP_ID not in str(e.value)
    with pytest.raises(ConfigError, match="43 characters"):
        Settings.from_env(dict(wecom_vars("http://x", "x:1"), WECOM_AES_KEY="short"))
    with pytest.raises(ConfigError, match="WECOM_AGENT_ID"):
        Settings.from_env(dict(wecom_vars("http://x", "x:1"), WECOM_AGENT_ID="app"))
    assert Settings.from_env({}).describe()["wecom"] == "not configured"


def test_planbot_run_starts_wecom_answers_a_member_and_stops_on_sigint(env: dict[str, str]) -> None:
    port = free_port()
    with FakeWeComApi() as api:
        run_env = dict(env, PLANBOT_NOW="2018-10-15T10:00:00+08:00", **wecom_vars(api.url, f"127.0.0.1:{port}"))
        app = bootstrap(Settings.from_env(run_env))
        code = invite(app, "contact", "panshan")
        app.close()
        proc = subprocess.Popen([str(PLANBOT), "run"], env=run_env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}/wecom"
            callbacks = WeComCallbacks(url)
            wait_listening(port, proc)
            deadline = time.monotonic() + 60
            query, body = callbacks.envelope(callbacks.text("alice", code))
            assert httpx.post(url, params=query, content=body, timeout=10).status_code == 200
            while not api.to("alice"):
                assert time.monotonic() < deadline, "no answer from planbot run"
                time.sleep(0.05)
            assert "盘山县人民政府" in api.texts("alice")[0]
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"wecom: callback on 127.0.0.1:{port}" in out and "企业微信通道正在启动" in out
    for secret in (SECRET, TOKEN, AES_KEY, "TOKEN-1-"):
        assert secret not in out + err


def test_planbot_remind_sends_what_the_outbox_holds_for_wecom_members(env: dict[str, str]) -> None:
    from bot.db.outbox import Delivery, enqueue
    from bot.messages import Button
    from bot.services.people import identity_for

    with FakeWeComApi() as api:
        run_env = dict(env, PLANBOT_NOW="2018-10-10T08:00:00+08:00", **wecom_vars(api.url, "127.0.0.1:0"))
        app = bootstrap(Settings.from_env(run_env))
        # queued as the sweep queues a reminder (the sweep itself: test_wecom_push.py; here the sweep's PostgreSQL
        # leader lock, one per database, may be held by another test run sharing the server)
        with app.uow.begin() as s:
            ident = identity_for(s, "wecom", "alice", "alice", "alice", None, app.clock.now())
            enqueue(s, "remind:test", Delivery(ident.person_id, "wecom", "alice"), "reminder",
                    "盘山县人民政府：请报送2018Q3数据", app.clock.now(), buttons=[Button("填报", "0|report|")])
        app.close()
        proc = subprocess.run([str(PLANBOT), "remind", "--now", "2018-10-10T09:00"], env=run_env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        cards = [m for m in api.to("alice") if m["msgtype"] == "template_card"]
        assert cards and "盘山县" in api.texts("alice")[0] and "[填报]" in api.texts("alice")[0]
        assert SECRET not in proc.stdout + proc.stderr
