"""Settings: a frozen dataclass built from an injectable environment mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

REPO_PLANS = Path(__file__).resolve().parent.parent / "plans"
DEFAULT_PLAN = REPO_PLANS / "panjin-2018-2020.yaml"


class ConfigError(ValueError):
    """A setting with a value planbot cannot use."""


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
    wecom_corp_id: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from environ (os.environ when None); PLANBOT_* variables, defaults for the rest."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("PLANBOT_DATA_DIR") or Path.cwd() / "data")
        url = env.get("PLANBOT_DATABASE_URL") or f"sqlite:///{data_dir / 'planbot.db'}"
        now = None
        if env.get("TELEGRAM_WEBHOOK_URL") and not env.get("TELEGRAM_WEBHOOK_SECRET"):
            raise ConfigError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET (any long random string)")
        if raw := env.get("PLANBOT_NOW"):
            try:
                now = datetime.fromisoformat(raw)
            except ValueError:
                raise ConfigError(f"PLANBOT_NOW={raw!r} is not an ISO date or date-time") from None
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
            wecom_corp_id=env.get("WECOM_CORP_ID") or None,
        )

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
            "wecom": "configured" if self.wecom_corp_id else "not configured",
        }


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{key} must be positive")
    return value


def _count(env: Mapping[str, str], key: str) -> int | None:
    raw = env.get(key)
    if not raw:
        return None
    if not raw.strip().isdigit():
        raise ConfigError(f"{key}={raw!r} is not a whole number (0 or more)")
    return int(raw)


def _redact_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            creds = creds.split(":", 1)[0] + ":***"
        return f"{scheme}://{creds}@{host}"
    return url
