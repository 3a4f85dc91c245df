"""What Telegram refuses, as the fake Bot API checks it: each rule gives the description of Telegram's 400 answer,
or None. From the Bot API documentation (sendMessage, sendPhoto, InlineKeyboardButton, setWebhook)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

TEXT_MAX = 4096  # characters of a message's text, after entities parsing (counted in UTF-16 code units)
CAPTION_MAX = 1024  # characters of a caption
CALLBACK_DATA_MAX = 64  # bytes of a button's callback_data
BUTTONS_MAX = 100  # buttons in one inline keyboard
WEBHOOK_PORTS = (443, 80, 88, 8443)  # the ports api.telegram.org posts webhooks to (a --local server: any)
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
BUTTON_ACTIONS = ("callback_data", "url", "login_url", "switch_inline_query", "switch_inline_query_current_chat",
                  "switch_inline_query_chosen_chat", "callback_game", "pay", "web_app", "copy_text")


def utf16(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts text (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def text_refusal(text: object) -> str | None:
    """A message's text: 1 to 4,096 characters, not only white space."""
    if not isinstance(text, str) or not text.strip():
        return "Bad Request: message text is empty"
    if utf16(text) > TEXT_MAX:
        return "Bad Request: message is too long"
    return None


def caption_refusal(caption: object) -> str | None:
    """A caption: at most 1,024 characters."""
    if isinstance(caption, str) and utf16(caption) > CAPTION_MAX:
        return "Bad Request: message caption is too long"
    return None


def markup_refusal(markup: object) -> str | None:
    """An inline keyboard: rows of buttons, at most 100, each with a text and exactly one action; callback_data of
    1 to 64 bytes."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        return "Bad Request: can't parse reply keyboard markup JSON object"
    keyboard: Any = markup.get("inline_keyboard")
    if keyboard is None:
        return None  # a reply keyboard, ForceReply, ReplyKeyboardRemove: not checked here
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        return "Bad Request: can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of Arrays"
    buttons = [b for row in keyboard for b in row]
    if len(buttons) > BUTTONS_MAX:
        return "Bad Request: reply markup is too long"
    for b in buttons:
        if not isinstance(b, dict) or not isinstance(b.get("text"), str) or not b["text"].strip():
            return "Bad Request: can't parse inline keyboard button: Text must be non-empty"
        if sum(1 for k in BUTTON_ACTIONS if k in b) != 1:
            return "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        data = b.get("callback_data")
        if "callback_data" in b and (not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_MAX):
            return "Bad Request: BUTTON_DATA_INVALID"
    return None


def webhook_refusal(params: dict[str, Any], local: bool) -> str | None:
    """setWebhook: an HTTPS URL on port 443, 80, 88 or 8443 (a local Bot API server started with --local takes
    http:// and any port); a secret_token of 1 to 256 of A-Z a-z 0-9 _ -."""
    if "secret_token" in params and not SECRET.fullmatch(str(params["secret_token"])):
        return "Bad Request: secret token contains unallowed characters"
    url = str(params.get("url") or "")
    if not url:
        return None  # an empty URL removes the webhook
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "Bad Request: bad webhook: Wrong port number specified in the URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Bad Request: bad webhook: Wrong HTTP URL specified"
    if not local and parts.scheme != "https":
        return "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
    if not local and port not in WEBHOOK_PORTS:
        return "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
    return None
