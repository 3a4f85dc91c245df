"""Secrets kept out of logs and output: a filter that replaces them with *** in every record of the loggers that
see them, and, as the last line for what no filter sees (a traceback, a library's message that quotes a token, a
warning printed by a thread), stdout and stderr that replace every configured secret with ***."""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO, cast
from urllib.parse import urlsplit


class RedactToken(logging.Filter):
    """Replaces the bot token (and any bot<digits>:<secret> in a URL) with *** in log records."""

    PATTERN = re.compile(r"bot\d+:[A-Za-z0-9_-]+")

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without the secret; never drops a record."""
        message = record.getMessage()
        clean = self.PATTERN.sub("bot***", message.replace(self.token, "***")) if self.token else message
        if clean != message:
            record.msg, record.args = clean, None
        return True


def protect_logs(token: str) -> RedactToken:
    """Install the redacting filter on the loggers that see request URLs, and on the root handlers."""
    redact = RedactToken(token)
    for name in ("httpx", "httpcore", "aiohttp.client", "telegram", "telegram.ext", "telegram.request",
                 "uvicorn.access"):
        logging.getLogger(name).addFilter(redact)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact


SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|AES|KEY")
PREFIXES = ("TELEGRAM_", "WECOM_", "PLANBOT_")
MIN_LENGTH = 6  # shorter values would also blank out ordinary words


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The secret values in an environment, longest first: variables of planbot (TELEGRAM_*, WECOM_*, PLANBOT_*)
    whose name says TOKEN, SECRET, PASSWORD, AES or KEY, the secret half of a bot token and database passwords."""
    found: set[str] = set()
    for name, value in environ.items():
        if name.startswith(PREFIXES) and SECRET_NAME.search(name) and value:
            found.add(value)
            found.add(value.partition(":")[2])  # a bot token 123456:secret: its secret half alone
        if name.startswith(PREFIXES) and name.endswith("_URL") and "@" in value:
            with contextlib.suppress(ValueError):
                found.add(urlsplit(value).password or "")
    return sorted((s for s in found if len(s) >= MIN_LENGTH), key=len, reverse=True)


class RedactingStream:
    """A text stream that writes through to another with every secret replaced by ***."""

    def __init__(self, stream: TextIO, secrets: Sequence[str]) -> None:
        self.stream, self.secrets = stream, list(secrets)

    def write(self, text: str) -> int:
        """Write text without its secrets."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return self.stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def protect_output(environ: Mapping[str, str]) -> list[str]:
    """Wrap sys.stdout and sys.stderr so that no configured secret reaches them; the secrets found."""
    secrets = secrets_in(environ)
    if secrets:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, RedactingStream):
                setattr(sys, name, cast(TextIO, RedactingStream(stream, secrets)))
    return secrets
