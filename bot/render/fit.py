"""Each channel's limits, and answers made to fit them: long texts split at line ends into numbered parts, long
captions sent as text, keyboards past a channel's button count paged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.domain.free_text import length
from bot.messages import Button, Reply
from i18n import Translator


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts a message (an emoji outside the BMP counts 2)."""
    return length(text)


def utf8_len(text: str) -> int:
    """Length in UTF-8 bytes, as WeCom counts a message and Telegram a button's callback data."""
    return len(text.encode())


@dataclass(frozen=True)
class Limits:
    """What one message of a channel may hold; None: no limit."""

    text: int | None = None  # one message's text, counted by `measure`
    caption: int | None = None  # a photo's or a document's caption (a channel without captions: None)
    payload_bytes: int | None = None  # a button's data, in UTF-8 bytes
    buttons: int | None = None  # buttons under one message
    markdown: int | None = None  # a markdown message, counted by `measure`
    measure: Callable[[str], int] = utf16_len


TELEGRAM = Limits(text=4096, caption=1024, payload_bytes=64, buttons=100)
WECOM = Limits(text=2048, payload_bytes=1024, markdown=4096, measure=utf8_len)  # more than 6 buttons: numbered text
CONSOLE = Limits()
LIMITS = {"telegram": TELEGRAM, "wecom": WECOM, "console": CONSOLE}
PAYLOAD_MAX = 64  # bytes of a button's payload on every channel (Telegram's callback_data), see handlers/outgoing
NUMBER_ROOM = 16  # what the "（12/34）" of a numbered part takes, at most


def limits_for(channel: str) -> Limits:
    """The limits of a channel by its name (an unknown channel: Telegram's, the strictest)."""
    return LIMITS.get(channel, TELEGRAM)


def _cut(line: str, limit: int, measure: Callable[[str], int]) -> tuple[str, str]:
    """The longest head of line within limit (never splitting a character), and the rest."""
    lo, hi = 1, len(line)  # the head line[:lo] always fits (one character is within any sensible limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(line[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return line[:lo], line[lo:]


def split_text(text: str, limit: int, measure: Callable[[str], int] = utf16_len) -> list[str]:
    """The text in pieces of at most limit (by measure), cut at line ends; a line too long alone is cut where it
    must. A text that fits is one piece, unchanged."""
    if measure(text) <= limit:
        return [text]
    pieces: list[str] = []
    lines: list[str] = []
    size = 0
    for line in text.split("\n"):
        while measure(line) > limit:
            if lines:
                pieces.append("\n".join(lines))
                lines, size = [], 0
            head, line = _cut(line, limit, measure)
            pieces.append(head)
        cost = measure(line) + (1 if lines else 0)
        if lines and size + cost > limit:
            pieces.append("\n".join(lines))
            lines, size, cost = [], 0, measure(line)
        lines.append(line)
        size += cost
    if lines:
        pieces.append("\n".join(lines))
    return [p.strip("\n") for p in pieces if p.strip()] or [text[:limit]]


def numbered(pieces: Sequence[str], t: Translator) -> list[str]:
    """Pieces of one answer, each headed by its number: （1/3）."""
    if len(pieces) < 2:
        return list(pieces)
    return [t("({n}/{total})", n=n, total=len(pieces)) + " " + p for n, p in enumerate(pieces, 1)]


def split_reply(reply: Reply, limits: Limits, t: Translator) -> list[Reply]:
    """A reply in as many messages as its text needs: numbered text parts, the buttons (and a request for text)
    under the last; a caption too long for its photo or file is sent as text before it."""
    media = reply.image is not None or reply.document is not None
    limit = limits.caption if media and limits.caption is not None else limits.text
    if limit is None or limits.measure(reply.text) <= limit:
        return [reply]
    if media:
        texts = split_reply(replace(reply, image=None, document=None, buttons=(), expects_text=False), limits, t)
        return [*texts, replace(reply, text="")]
    pieces = numbered(split_text(reply.text, limit - NUMBER_ROOM, limits.measure), t)
    last = len(pieces) - 1
    return [replace(reply, text=p) if i == last else Reply(p, chat=reply.chat) for i, p in enumerate(pieces)]


def page_rows(rows: tuple[tuple[Button, ...], ...], most: int, page: int,
              more: Callable[[int, int, int], Button]) -> tuple[tuple[Button, ...], ...]:
    """At most `most` buttons: the choices of page `page`, the last row (取消) kept under each page, and a button
    more(next page, this page, pages) that shows the next page (the last page's goes back to the first)."""
    if sum(len(r) for r in rows) <= most:
        return rows
    tail = rows[-1] if len(rows) > 1 and len(rows[-1]) < most // 2 else ()
    body = rows[:-1] if tail else rows
    room = max(1, most - len(tail) - 1)
    pages: list[list[tuple[Button, ...]]] = [[]]
    for row in body:
        row = row[:room]
        if pages[-1] and sum(len(r) for r in pages[-1]) + len(row) > room:
            pages.append([])
        pages[-1].append(row)
    n = min(max(page, 0), len(pages) - 1)
    shown = [*pages[n], (more((n + 1) % len(pages), n, len(pages)),)]
    return tuple([*shown, tail] if tail else shown)
