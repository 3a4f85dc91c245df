"""Secrets kept out of logs: a filter that replaces them with *** in every record of the loggers that see them."""

from __future__ import annotations

import logging
import re


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
