"""No secret in any output: `planbot run` as a subprocess against the fake Bot API when Telegram refuses the token,
and when the webhook settings are ones Telegram would refuse; a clear message and exit status, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fakes import FakeBotApi
from support import TELEGRAM_TOKEN

PLANBOT = Path(sys.executable).parent / "planbot"
BASE64_SECRET = "q8Zr+/4mXy0F1pQ2Hn9kT7w=="  # what `openssl rand -base64 16` gives


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`planbot run` until it stops by itself (stdin closed: it must not wait for the console either)."""
    return subprocess.run([str(PLANBOT), "run"], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)


def assert_no_secret(proc: subprocess.CompletedProcess[str], *secrets: str) -> None:
    out = proc.stdout + proc.stderr
    assert "Traceback" not in out, out
    for secret in secrets:
        assert secret not in out, out


@pytest.mark.parametrize("status", [401, 404])
def test_a_refused_token_stops_planbot_with_a_message_that_does_not_hold_it(
        status: int, fake: FakeBotApi, tg_env: dict[str, str]) -> None:
    fake.fail_next("getMe", status, times=5)
    proc = run(tg_env)
    assert proc.returncode == 2, proc.stderr
    assert "Telegram 拒绝了机器人令牌（TELEGRAM_BOT_TOKEN）" in proc.stderr
    assert_no_secret(proc, TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1])
    assert [m for m, _ in fake.calls] == ["getMe"]  # nothing else was tried with a token Telegram refused
    english = run(dict(tg_env, PLANBOT_LANG="en", TELEGRAM_BOT_TOKEN="123456:ANOTHER-wrong-token"))
    assert english.returncode == 2 and "Telegram refused the bot token" in english.stderr
    assert_no_secret(english, "ANOTHER-wrong-token")


@pytest.mark.parametrize(("secret", "words"), [
    (BASE64_SECRET, "may hold only A-Z, a-z, 0-9, _ and -"),
    ("x" * 300, "has 300 characters; Telegram takes at most 256"),
])
def test_a_webhook_secret_telegram_would_refuse_is_refused_at_start(
        secret: str, words: str, fake: FakeBotApi, tg_env: dict[str, str]) -> None:
    env = dict(tg_env, PLANBOT_LANG="en", TELEGRAM_WEBHOOK_URL="http://127.0.0.1:9/hook",
               TELEGRAM_WEBHOOK_SECRET=secret)
    proc = run(env)
    assert proc.returncode == 2 and words in proc.stderr, proc.stderr
    assert_no_secret(proc, secret, TELEGRAM_TOKEN)
    assert fake.calls == []  # refused before any request
