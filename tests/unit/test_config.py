"""Settings refuse at start what Telegram's setWebhook would refuse later, without echoing any secret."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from i18n import translator_for

GOOD = "s3cret_for-tests"
BASE64 = "q8Zr+/4mXy0F1pQ2Hn9kT7w=="


def settings(**env: str) -> Settings:
    return Settings.from_env({"PLANBOT_DATA_DIR": "/tmp/planbot-config-test", **env})


@pytest.mark.parametrize(("url", "secret", "api", "words"), [
    ("http://bot.example.org/hook", GOOD, "", "must start with https://"),
    ("https://bot.example.org/hook", BASE64, "", "may hold only A-Z, a-z, 0-9, _ and -"),
    ("https://bot.example.org/hook", "a" * 257, "", "has 257 characters; Telegram takes at most 256"),
    ("https://bot.example.org/hook", "", "", "needs TELEGRAM_WEBHOOK_SECRET"),
    ("https://bot.example.org:8080/hook", GOOD, "", "uses port 8080"),
    ("https://bot.example.org:x/hook", GOOD, "", "no host name or a port that is not a number"),
    ("https:///hook", GOOD, "", "no host name"),
    ("ftp://bot.example.org/hook", GOOD, "http://127.0.0.1:8081", "must start with https://"),
    ("http://bot.example.org/hook", GOOD, "https://api.telegram.org", "must start with https://"),
])
def test_webhook_settings_telegram_would_refuse_are_refused_at_start(url: str, secret: str, api: str,
                                                                     words: str) -> None:
    env = {"TELEGRAM_WEBHOOK_URL": url, "TELEGRAM_WEBHOOK_SECRET": secret, "TELEGRAM_API_URL": api}
    with pytest.raises(ConfigError) as err:
        settings(**env)
    assert words in str(err.value)
    for lang in ("en", "zh"):
        shown = err.value.render(translator_for(lang))
        assert "TELEGRAM_WEBHOOK" in shown and (not secret or secret not in shown)
        assert "bot.example.org" not in shown


@pytest.mark.parametrize(("url", "api"), [
    ("https://bot.example.org/hook", ""),
    ("https://bot.example.org:8443/hook", ""),
    ("http://127.0.0.1:9999/hook", "http://127.0.0.1:8081"),  # a local Bot API server takes http and any port
])
def test_good_webhook_settings_pass(url: str, api: str) -> None:
    s = settings(TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET="A" * 256, TELEGRAM_API_URL=api)
    assert s.telegram_webhook_url == url


@pytest.mark.parametrize("listen", ["8080", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000", "127.0.0.1:０"])
def test_a_listen_address_without_a_port_is_refused(listen: str) -> None:
    with pytest.raises(ConfigError, match="is not HOST:PORT"):
        settings(PLANBOT_WEBHOOK_LISTEN=listen)
    assert "不符合" in ConfigError("PLANBOT_WEBHOOK_LISTEN={raw} is not HOST:PORT (for example 127.0.0.1:8080).",
                                 raw="x").render(translator_for("zh"))


def test_the_conversation_timeout_is_configurable_in_minutes() -> None:
    assert Settings.from_env({}).conversation_timeout == 30
    assert Settings.from_env({"PLANBOT_CONVERSATION_TIMEOUT": "45"}).conversation_timeout == 45
    for bad in ("0", "-5", "half an hour"):
        with pytest.raises(ConfigError):
            Settings.from_env({"PLANBOT_CONVERSATION_TIMEOUT": bad})
