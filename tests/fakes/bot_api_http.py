"""The fake Bot API's wire format: its error answers, and the parameters of a request as Telegram reads them."""

from __future__ import annotations

import contextlib
import json
import re
from email.parser import Parser
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

Params = dict[str, Any]
SENT_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "editMessageText")
RATE_LIMITED = frozenset({"sendMessage", "sendPhoto", "sendDocument"})  # what max_per_second counts
# String-typed Bot API parameters are never JSON-decoded (a text "123" stays "123"); the rest are, when they parse.
STRING_PARAMS = frozenset({
    "text", "caption", "parse_mode", "url", "secret_token", "callback_query_id", "language_code", "action", "emoji",
    "inline_message_id", "ip_address", "business_connection_id", "message_effect_id", "title", "description",
    "short_description", "name", "photo", "document", "sticker", "voice", "audio", "video", "animation"})
DESCRIPTIONS = {400: "Bad Request: chat not found", 401: "Unauthorized", 403: "Forbidden: bot was blocked by the user",
                404: "Not Found", 409: "Conflict: terminated by other getUpdates request", 502: "Bad Gateway"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")


class ApiError(Exception):
    """An error answer: {"ok": false, "error_code": status, "description": ..., ["parameters": ...]}."""

    def __init__(self, status: int, description: str | None = None, parameters: Params | None = None) -> None:
        self.status, self.parameters = status, parameters
        self.description = description or DESCRIPTIONS.get(status) or HTTPStatus(status).phrase
        super().__init__(self.description)

    def response(self) -> JSONResponse:
        """The answer as Telegram gives it, with this status."""
        body: Params = {"ok": False, "error_code": self.status, "description": self.description}
        return JSONResponse(body | ({"parameters": self.parameters} if self.parameters else {}), self.status)


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, str) and key not in STRING_PARAMS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _multipart(body: bytes, content_type: str) -> Params:
    """multipart/form-data by hand (starlette's parser needs python-multipart): text fields and file dicts."""
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError("multipart body without boundary")
    out: Params = {}
    for part in body.split(b"--" + m.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = Parser().parsestr(head.decode("utf-8", "replace"))
        name, filename = str(headers.get_param("name", header="content-disposition")), headers.get_filename()
        out[name] = content.decode() if filename is None else {
            "filename": filename, "size": len(content), "mime_type": headers.get_content_type(), "content": content}
    return out


async def request_params(request: Request) -> Params:
    """A request's parameters, from its query string and its JSON, urlencoded or multipart body, as Telegram does."""
    raw: Params = dict(request.query_params)
    content_type, body = request.headers.get("content-type", ""), await request.body()
    if body and content_type.startswith("application/json"):
        raw.update(json.loads(body))
    elif body and content_type.startswith("multipart/form-data"):
        raw.update(_multipart(body, content_type))
    elif body:
        raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    params = {k: _decode(k, v) for k, v in raw.items()}
    for k, v in params.items():  # "attach://name" points at the multipart file part "name"
        if isinstance(v, str) and v.startswith("attach://") and isinstance(raw.get(v[9:]), dict):
            params[k] = raw[v[9:]]
    return params
