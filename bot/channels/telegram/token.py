"""The bot token Telegram refuses, said without the token: PTB's own error quotes it whole."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from telegram.error import InvalidToken

from bot.errors import UserError
from i18n import N_


class TokenRejected(UserError):
    """Telegram refused the bot token (getMe answered 401 or 404)."""

    def __init__(self) -> None:
        super().__init__(N_("Telegram refused the bot token (TELEGRAM_BOT_TOKEN): it is wrong or has been revoked. "
                            "Get the right one from @BotFather and start again."))


@contextlib.contextmanager
def token_checked() -> Iterator[None]:
    """Turn PTB's InvalidToken, whose message holds the whole token ("The token `123:...` was rejected"), into
    TokenRejected, which holds none; the original is dropped, not chained, so no traceback can print it."""
    try:
        yield
    except InvalidToken:
        raise TokenRejected() from None
