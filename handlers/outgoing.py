"""What goes out fits the person's channel: long answers in numbered parts, keyboards past the channel's button count
paged (a "more" button), and every button's payload short: one that would not fit is sent as a reference into the
step's own table of payloads, kept with the conversation, and read back when the button is pressed."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.errors import UserError
from bot.messages import Button, Reply
from bot.render.fit import PAYLOAD_MAX, limits_for, page_rows, split_reply, utf8_len
from handlers.context import Ctx
from handlers.prompts import again

REFS = "_refs"  # conversation data: reference number -> the payload it stands for
MORE = "more"  # the action of the button that shows the next page of a keyboard
_REF = re.compile(r"^([0-9]{1,12})\|\*\|([0-9]{1,4})$")


def fit(ctx: Ctx, replies: list[Reply]) -> tuple[list[Reply], dict[str, str]]:
    """The replies as the person's channel can take them, and the table of the short payloads they use."""
    limits = limits_for(ctx.inbound.channel)
    out: list[Reply] = []
    for i, reply in enumerate(replies):
        if limits.buttons is not None and len(reply.flat_buttons) > limits.buttons:
            page = ctx.page if i == len(replies) - 1 else 0
            reply = replace(reply, buttons=page_rows(reply.buttons, limits.buttons, page, lambda nxt, now, pages: (
                ctx.button(ctx.t("More choices ({page}/{pages})", page=now + 1, pages=pages), MORE, str(nxt)))))
        out += split_reply(reply, limits, ctx.t)
    refs: dict[str, str] = {}
    return [_short(r, refs) for r in out], refs


def _short(reply: Reply, refs: dict[str, str]) -> Reply:
    """The reply with each payload too long for a button replaced by STEP|*|N (N: its number in refs)."""
    if not reply.buttons:
        return reply
    numbers = {p: k for k, p in refs.items()}

    def short(b: Button) -> Button:
        if utf8_len(b.payload) <= PAYLOAD_MAX or b.payload.startswith("0|"):  # (anytime ones are bounded at load)
            return b
        key = numbers.get(b.payload)
        if key is None:
            key = numbers[b.payload] = str(len(refs))
            refs[key] = b.payload
        return Button(b.label, f"{b.payload.split('|', 1)[0]}|*|{key}", b.words)

    return replace(reply, buttons=tuple(tuple(short(b) for b in row) for row in reply.buttons))


def resolve(ctx: Ctx, refs: object) -> None:
    """A pressed short payload (STEP|*|N) read back as the payload it stands for; one of an earlier step, or not in
    the table, is left as STEP|*| (refused as no longer valid, or not valid)."""
    m = _REF.match(ctx.inbound.payload or "")
    if m is None:
        return
    table = refs if isinstance(refs, dict) else {}
    full = table.get(m.group(2)) if int(m.group(1)) == ctx.version - 1 else None
    ctx.inbound = replace(ctx.inbound, payload=str(full) if isinstance(full, str) else f"{m.group(1)}|*|")


def more(ctx: Ctx, arg: str) -> list[Reply]:
    """The next page of the choices asked for (the step is kept)."""
    if ctx.prompt is None:
        raise UserError("That button is no longer valid. Please start again.")
    if not (arg.isascii() and arg.isdigit() and len(arg) <= 4):
        raise UserError("That button is not valid.")
    ctx.page = int(arg)
    return [again(ctx, ctx.prompt)]
