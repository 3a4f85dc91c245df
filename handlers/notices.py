"""Notices in chat: /broadcast (audience, preview, confirm), /notices (who has received and signed), 签收."""

from __future__ import annotations

from bot.domain.free_text import clean_block
from bot.errors import UserError
from bot.messages import Button, Reply
from bot.render.notices import notice_line
from bot.services import notices
from bot.views import notices as notice_views
from handlers.context import Ctx, text_reply
from handlers.states import State

AUDIENCE_WORDS = {  # what an admin may type for an audience (its label works too)
    "all": ("所有人", "全体", "全部", "大家", "都发", "all", "everybody"),
    "role:contact": ("联络员", "所有联络员", "各单位联络员", "contacts", "unit contacts"),
    "role:leader": ("领导", "领导们", "各位领导", "leaders"),
    "overdue": ("逾期", "未报", "没报的", "overdue", "late"),
}


SAID = ("发通知", "发送通知", "发布通知", "群发通知", "下发通知", "send a notice", "send notice", "broadcast a notice")
"""Words that start a notice without the command; what follows them is the notice, as typed."""


def start(ctx: Ctx, text: str) -> list[Reply]:
    """/broadcast TEXT, or 发通知 [TEXT]: choose the audience (asking for the text first when there is none)."""
    raw = ctx.inbound.text or ""
    if not raw.lstrip().startswith("/"):  # said in words: the notice is what follows them, byte for byte
        low = raw.lower()
        at = min(((i, len(w)) for w in SAID if (i := low.find(w)) >= 0), default=None)
        text = raw[at[0] + at[1]:].lstrip(" \t:：,，。.") if at is not None else ""
    if not clean_block(text):
        ctx.go(State.BROADCAST_TEXT)
        return [text_reply(ctx.t("Please send the text of the notice, as it should be sent."),
                           [ctx.button(ctx.t("Cancel"), "cancel")], expects_text=True)]
    return text_typed(ctx, text)


def text_typed(ctx: Ctx, text: str) -> list[Reply]:
    """The notice's text: choose the audience."""
    text = clean_block(text)
    if not text:
        raise UserError("Write the notice after the command, e.g. /broadcast Please send the Q3 figures by the 10th")
    text = notices.checked_text(text)
    ctx.go(State.BROADCAST_AUDIENCE, text=text)
    t = ctx.t
    rows = [[Button(label, ctx.button(label, "audience", code).payload, AUDIENCE_WORDS.get(code, ()))]
            for code, label in _audiences(ctx)]
    return [text_reply(t("Who should receive it?"), *rows, [ctx.button(t("Cancel"), "cancel")])]


def _audiences(ctx: Ctx) -> list[tuple[str, str]]:
    """The audiences offered as buttons: (code, label)."""
    t = ctx.t
    options = [(code, t(name)) for code, name in notices.AUDIENCE_NAMES.items() if code != "role:admin"]
    return options + [(f"group:{g}", t("unit group {name}", name=g)) for g in ctx.plan.groups]


def audience(ctx: Ctx, code: str) -> list[Reply]:
    """An audience chosen: show the preview and how many will receive it."""
    if ctx.state != State.BROADCAST_AUDIENCE:
        raise UserError("That button is no longer valid. Please start again.")
    if code not in {c for c, _ in _audiences(ctx)}:
        raise UserError("That button is not valid.")
    people = notices.resolve(ctx.s, ctx.plan_row, ctx.plan, code, ctx.now)
    text = ctx.data["text"]
    ctx.go(State.BROADCAST_CONFIRM, text=text, audience=code)
    t = ctx.t
    preview = t("Preview: this notice goes to {n} people, each with a sign-for-it button:\n\n{text}",
                n=len(people), text=text)
    return [text_reply(preview, [ctx.button(t("Send"), "send"), ctx.button(t("Cancel"), "cancel")])]


def send(ctx: Ctx) -> list[Reply]:
    """Confirmed: queue the notice for every recipient."""
    if ctx.state != State.BROADCAST_CONFIRM:
        raise UserError("That button is no longer valid. Please start again.")
    notice = notices.broadcast(ctx.s, ctx.plan_row, ctx.plan, ctx.data["text"], ctx.data["audience"], ctx.who,
                               ctx.now, groups=ctx.app.settings.group_targets)
    ctx.reset()
    return [text_reply(ctx.t("Notice {n} queued for {count} people. Ask /notices to see who has signed.",
                             n=notice.id, count=notice.recipients))]


def overview(ctx: Ctx) -> list[Reply]:
    """/notices: the latest notices with delivered, signed, failed and pending counts."""
    t = ctx.t
    lines, rows = [], []
    for notice in notice_views.recent(ctx.s):
        st = notice_views.stats(ctx.s, notice.id)
        lines.append(notice_line(st, t, ctx.app.clock.tz))
        if st.signed < st.recipients:
            rows.append([ctx.button(t("Re-send No. {n} to those who have not signed", n=notice.id), "resend",
                                    str(notice.id))])
    if not lines:
        return [text_reply(t("No notices yet. /broadcast TEXT sends one."))]
    return [text_reply("\n".join(lines), *rows)]


def _number(arg: str) -> int:
    """A notice number from a button: a few ASCII digits (it fits the database's integer), else refused."""
    if not (arg.isascii() and arg.isdigit()) or len(arg) > 9:
        raise UserError("That button is not valid.")
    return int(arg)


def resend(ctx: Ctx, arg: str) -> list[Reply]:
    """Re-send a notice to everyone who has not signed for it."""
    n = notices.resend_unsigned(ctx.s, _number(arg), ctx.now)
    ctx.reset()
    return [text_reply(ctx.t("Notice {n} queued again for {count} people.", n=arg, count=n))]


def sign(ctx: Ctx, arg: str) -> list[Reply]:
    """The 签收 button under a notice."""
    new = notices.sign(ctx.s, _number(arg), ctx.ident.person_id, ctx.now)
    if new:
        ctx.committed = True
        return [text_reply(ctx.t("Signed for notice {n}. Thank you.", n=arg))]
    return [text_reply(ctx.t("You had already signed for notice {n}.", n=arg))]
