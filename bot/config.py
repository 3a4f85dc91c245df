"""Settings: a frozen dataclass built from an injectable environment mapping."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypedDict
from urllib.parse import urlsplit

from bot.domain.groups import AUDIENCES
from i18n import N_, Translator

REPO_PLANS = Path(__file__).resolve().parent.parent / "plans"
DEFAULT_PLAN = REPO_PLANS / "panjin-2018-2020.yaml"


WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")  # Telegram's rule for setWebhook's secret_token
WEBHOOK_PORTS = (443, 80, 88, 8443)  # the ports Telegram posts webhooks to (a local Bot API server: any)
ROBOT_CHANNEL = "wecom_robot"  # the outbox channel of WeCom group robots (a chat id is an audience)
ROBOT_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")  # a robot's webhook key: a UUID


class ConfigError(ValueError):
    """A setting with a value planbot cannot use; the message (a catalog msgid) never holds a secret's value."""

    def __init__(self, msgid: str, /, **params: object) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params

    def render(self, t: Translator) -> str:
        """The message in t's language."""
        return t(self.msgid, **self.params)


@dataclass(frozen=True)
class Settings:
    """Everything planbot reads from its environment."""

    data_dir: Path
    database_url: str
    plan_file: Path
    now: datetime | None = None
    lang: str = "zh_Hans"
    telegram_token: str | None = None
    telegram_api_url: str | None = None
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    telegram_max_rate: float = 25.0
    db_processes: int | None = None  # processes doing a channel's database work (None: the channel's default)
    conversation_timeout: float = 30.0  # minutes a step waits for its answer (handlers/timeout.py)
    wecom_corp_id: str | None = None
    # WeCom (企业微信) self-built app: see wecom_settings(); the secrets are left out of repr()
    wecom_agent_id: int | None = None
    wecom_secret: str | None = field(default=None, repr=False)
    wecom_token: str | None = field(default=None, repr=False)
    wecom_aes_key: str | None = field(default=None, repr=False)
    wecom_api_url: str = "https://qyapi.weixin.qq.com"
    wecom_listen: str = "127.0.0.1:8090"
    wecom_callback_max_age: float = 300.0  # seconds a callback's timestamp may be from now (replay protection)
    wecom_daily_quota: int | None = None  # messages the app may send a day (None: not counted)
    wecom_max_rate: float = 100.0  # message/send calls a second, overall
    # WeCom group robots: (audience, webhook key) pairs from WECOM_ROBOT_KEYS; the keys are secrets
    wecom_robot_keys: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from environ (os.environ when None); PLANBOT_* variables, defaults for the rest."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("PLANBOT_DATA_DIR") or Path.cwd() / "data")
        url = env.get("PLANBOT_DATABASE_URL") or f"sqlite:///{data_dir / 'planbot.db'}"
        now = None
        if env.get("TELEGRAM_WEBHOOK_URL"):
            _check_webhook(env["TELEGRAM_WEBHOOK_URL"], env.get("TELEGRAM_WEBHOOK_SECRET") or "",
                           env.get("TELEGRAM_API_URL") or "")
        _check_listen(env.get("PLANBOT_WEBHOOK_LISTEN") or "127.0.0.1:8080")
        if raw := env.get("PLANBOT_NOW"):
            try:
                now = datetime.fromisoformat(raw)
            except ValueError:
                raise ConfigError(N_("PLANBOT_NOW={raw} is not an ISO date or date-time"), raw=repr(raw)) from None
        return cls(
            data_dir=data_dir,
            database_url=url,
            plan_file=Path(env.get("PLANBOT_PLAN_FILE") or DEFAULT_PLAN),
            now=now,
            lang=env.get("PLANBOT_LANG") or "zh_Hans",
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_api_url=env.get("TELEGRAM_API_URL") or None,
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            webhook_listen=env.get("PLANBOT_WEBHOOK_LISTEN") or "127.0.0.1:8080",
            telegram_max_rate=_float(env, "TELEGRAM_MAX_RATE", 25.0),
            db_processes=_count(env, "PLANBOT_DB_PROCESSES"),
            conversation_timeout=_float(env, "PLANBOT_CONVERSATION_TIMEOUT", 30.0),
            **wecom_settings(env),
        )

    @property
    def group_targets(self) -> tuple[tuple[str, str], ...]:
        """The push-only chat groups, (channel, audience): a WeCom group robot per audience in WECOM_ROBOT_KEYS."""
        return tuple((ROBOT_CHANNEL, audience) for audience, _ in self.wecom_robot_keys)

    @property
    def wecom_configured(self) -> bool:
        """Whether every WeCom setting the channel needs is set (wecom_settings refuses a partial set)."""
        return bool(self.wecom_corp_id and self.wecom_agent_id is not None and self.wecom_secret
                    and self.wecom_token and self.wecom_aes_key)

    def describe(self) -> dict[str, str]:
        """What is configured, safe to print: no secrets, only whether they are set."""
        return {
            "database": _redact_url(self.database_url),
            "data_dir": str(self.data_dir),
            "plan_file": str(self.plan_file),
            "clock": self.now.isoformat() if self.now else "real time",
            "telegram": ("webhook" if self.telegram_webhook_url else "polling") if self.telegram_token
            else "not configured",
            "telegram_api": self.telegram_api_url or "https://api.telegram.org",
            "wecom": f"callback on {self.wecom_listen}" if self.wecom_configured else "not configured",
            "wecom_robots": ", ".join(a for a, _ in self.wecom_robot_keys) or "none",
        }


def _check_webhook(url: str, secret: str, api_url: str) -> None:
    """What Telegram's setWebhook would refuse, refused at start: a webhook URL that is not https:// (a local Bot API
    server, TELEGRAM_API_URL, also takes http:// and any port), a port Telegram does not post to, a secret that is
    not 1-256 of A-Z a-z 0-9 _ - (openssl rand -base64 gives + / =). Neither the URL nor the secret is echoed."""
    if not secret:
        raise ConfigError(N_("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET: 1 to 256 characters of A-Z, a-z, "
                             "0-9, _ and - (openssl rand -hex 32 makes one)."))
    if len(secret) > 256:
        raise ConfigError(N_("TELEGRAM_WEBHOOK_SECRET has {n} characters; Telegram takes at most 256."), n=len(secret))
    if not WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError(N_("TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (Telegram's rule; "
                             "openssl rand -base64 gives + / =): openssl rand -hex 32 makes one."))
    local = bool(api_url) and (urlsplit(api_url).hostname or "") != "api.telegram.org"
    parts = urlsplit(url.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme != "https" and not (local and parts.scheme == "http"):
        raise ConfigError(N_("TELEGRAM_WEBHOOK_URL must start with https:// (Telegram posts webhooks over HTTPS "
                             "only; http:// works only with a local Bot API server, TELEGRAM_API_URL)."))
    if not parts.hostname or port == -1:
        raise ConfigError(N_("TELEGRAM_WEBHOOK_URL has no host name or a port that is not a number."))
    if not local and port is not None and port not in WEBHOOK_PORTS:
        raise ConfigError(N_("TELEGRAM_WEBHOOK_URL uses port {port}; Telegram posts webhooks only to ports 443, 80, "
                             "88 and 8443."), port=port)


def _check_listen(raw: str) -> None:
    """PLANBOT_WEBHOOK_LISTEN must be HOST:PORT with a port from 1 to 65535."""
    _, sep, port = raw.rpartition(":")
    if not sep or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise ConfigError(N_("PLANBOT_WEBHOOK_LISTEN={raw} is not HOST:PORT (for example 127.0.0.1:8080)."),
                          raw=repr(raw))
WECOM_REQUIRED = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


class WeComFields(TypedDict):
    """The WeCom part of Settings."""

    wecom_corp_id: str | None
    wecom_agent_id: int | None
    wecom_secret: str | None
    wecom_token: str | None
    wecom_aes_key: str | None
    wecom_api_url: str
    wecom_listen: str
    wecom_callback_max_age: float
    wecom_daily_quota: int | None
    wecom_max_rate: float
    wecom_robot_keys: tuple[tuple[str, str], ...]


def wecom_settings(env: Mapping[str, str]) -> WeComFields:
    """The WeCom fields of Settings: all of WECOM_REQUIRED or none (errors name variables, never values)."""
    given = [k for k in WECOM_REQUIRED if env.get(k)]
    if given and len(given) < len(WECOM_REQUIRED):
        missing = ", ".join(k for k in WECOM_REQUIRED if k not in given)
        raise ConfigError(N_("WeCom is partly configured: {missing} not set."), missing=missing)
    agent = env.get("WECOM_AGENT_ID") or None
    if agent is not None and not agent.strip().isdigit():
        raise ConfigError(N_("WECOM_AGENT_ID is not a whole number (the app's AgentId)."))
    key = env.get("WECOM_AES_KEY") or None
    if key is not None and len(key) != 43:
        raise ConfigError(N_("WECOM_AES_KEY is not 43 characters long (the app's EncodingAESKey)."))
    return {
        "wecom_corp_id": env.get("WECOM_CORP_ID") or None,
        "wecom_agent_id": int(agent) if agent is not None else None,
        "wecom_secret": env.get("WECOM_SECRET") or None,
        "wecom_token": env.get("WECOM_TOKEN") or None,
        "wecom_aes_key": key,
        "wecom_api_url": (env.get("WECOM_API_URL") or "https://qyapi.weixin.qq.com").rstrip("/"),
        "wecom_listen": env.get("PLANBOT_WECOM_LISTEN") or "127.0.0.1:8090",
        "wecom_callback_max_age": _float(env, "WECOM_CALLBACK_MAX_AGE", 300.0),
        "wecom_daily_quota": _positive(env, "WECOM_DAILY_QUOTA"),
        "wecom_max_rate": _float(env, "WECOM_MAX_RATE", 100.0),
        "wecom_robot_keys": robot_keys(env.get("WECOM_ROBOT_KEYS") or ""),
    }


def robot_keys(raw: str) -> tuple[tuple[str, str], ...]:
    """WECOM_ROBOT_KEYS, "leaders=KEY,contacts=KEY": a group robot's webhook key per audience (errors never quote
    a key)."""
    pairs: dict[str, str] = {}
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        audience, sep, key = (part.strip() for part in item.partition("="))
        if not sep or audience not in AUDIENCES:
            raise ConfigError(N_("WECOM_ROBOT_KEYS takes AUDIENCE=KEY pairs separated by commas; the audience is one "
                                 "of {audiences}."), audiences=", ".join(AUDIENCES))
        if not ROBOT_KEY.fullmatch(key):
            raise ConfigError(N_("WECOM_ROBOT_KEYS: the key for {audience} is not a group robot's webhook key (the "
                                 "key=... part of its webhook address)."), audience=audience)
        pairs[audience] = key
    return tuple(pairs.items())


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(N_("{key}={raw} is not a number"), key=key, raw=repr(raw)) from None
    if value <= 0:
        raise ConfigError(N_("{key} must be positive"), key=key)
    return value


def _count(env: Mapping[str, str], key: str) -> int | None:
    raw = env.get(key)
    if not raw:
        return None
    if not re.fullmatch(r"\s*[0-9]+\s*", raw):
        raise ConfigError(N_("{key}={raw} is not a whole number (0 or more)"), key=key, raw=repr(raw))
    return int(raw)


def _positive(env: Mapping[str, str], key: str) -> int | None:
    value = _count(env, key)
    if value == 0:
        raise ConfigError(N_("{key} must be positive"), key=key)
    return value


def _redact_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url
