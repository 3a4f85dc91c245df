"""The router: one Inbound in, Replies out; de-duplicates, loads the person and their conversation, dispatches."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.app import App
from bot.db.chat_models import IdentityRow
from bot.db.conversations import first_sight, move_chat, reactivate, relax_durability, save_conversation, sender_rows
from bot.db.models import PlanRow
from bot.domain.digits import choice_number
from bot.errors import UserError
from bot.messages import Inbound, Outcome, Reply
from bot.services.people import Roles, identity_for, looks_like_code, roles_from, roles_of
from bot.services.plans import active_plan
from handlers import commands, onboarding, report
from handlers.context import Ctx, Me, text_reply
from handlers.intents import recognise
from handlers.states import State
from i18n import translator_for

if TYPE_CHECKING:  # the session is handed on; the router builds no SQL
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHOICES = "_choices"
Claim = Callable[["Session"], bool]


class Router:
    """Handles each inbound in one transaction: nothing half-done survives an error or a crash."""

    def __init__(self, app: App) -> None:
        self.app = app

    def handle(self, inbound: Inbound, claim: Claim | None = None) -> Outcome:
        """Answer one message or button press; a message id seen before does nothing.

        claim, given by a channel that stores its updates (Telegram's inbox), marks the update handled inside this
        transaction and says whether it was still to be handled; otherwise the message id is recorded as seen. Either
        way the mark commits together with the update's effect, or not at all. With a claim, the commit need not
        reach the disk before the replies go out (SQLite: synchronous=NORMAL): the update itself was stored with a
        full fsync before it was acknowledged, so if a power cut loses this commit, it loses the handled mark with
        the effect, and the update is handled again on the next start.
        """
        now = self.app.clock.now()
        with self.app.uow() as s:
            if claim is not None:  # the update is stored durably and replayed if this commit is lost: no fsync
                relax_durability(s)
            if not (claim(s) if claim is not None else first_sight(s, inbound.channel, inbound.message_id, now)):
                s.rollback()
                return Outcome(duplicate=True)
            plan_row, plan = active_plan(s)
            me, roles, conv, ident = load_person(s, inbound, plan_row, now)
            data = json.loads(conv[1]) if conv else {}
            ctx = Ctx(self.app, s, inbound, plan_row, plan, me, roles, translator_for(me.lang or inbound.lang_hint),
                      now, conv[0] if conv else "", data, int(data.pop("_v", 0)) + 1, ident)
            choices = ctx.data.pop(CHOICES, None)
            try:
                replies = dispatch(ctx, choices)
            except UserError as e:  # an error the person can fix; deliberate records (failed codes) are kept
                replies = [text_reply(e.render(ctx.t))]
            self._save_state(ctx, conv is not None, replies)
            s.commit()
        return Outcome(replies)

    def _save_state(self, ctx: Ctx, existed: bool, replies: list[Reply]) -> None:
        data = dict(ctx.data, _v=ctx.version)
        last = replies[-1] if replies else None
        if last is not None and last.buttons and not last.expects_text:
            data[CHOICES] = [b.payload for b in last.flat_buttons]
        save_conversation(ctx.s, ctx.me.ident_id, existed, ctx.state, json.dumps(data), ctx.now)


def load_person(s: Session, inbound: Inbound, plan_row: PlanRow, now: datetime
                ) -> tuple[Me, Roles, tuple[str, str] | None, IdentityRow | None]:
    """The sender (Me), their roles in the plan and their conversation (state, data), in one query; a new sender's
    identity and person are created (and returned: the ORM identity, else None)."""
    rows = sender_rows(s, inbound.channel, inbound.sender)
    chat = None if inbound.is_group else inbound.chat
    if not rows:
        ident = identity_for(s, inbound.channel, inbound.sender, chat, inbound.sender_name, inbound.lang_hint, now)
        person = ident.person
        return (Me(ident.id, person.id, person.display_name, person.lang), roles_of(person, plan_row), None,
                ident)
    first = rows[0]
    if chat and first.chat_id != chat and not chat.startswith("-"):
        move_chat(s, first.id, chat)
    if chat and not first.active:  # they had blocked the bot; writing to it privately again unblocks it
        reactivate(s, first.person_id)
    roles = roles_from([(r.role, r.code, r.plan_id) for r in rows if r.role is not None], plan_row.id)
    conv = (first.state, first.data) if first.state is not None else None
    return Me(first.id, first.person_id, first.display_name, first.lang), roles, conv, None


def dispatch(ctx: Ctx, choices: list[str] | None) -> list[Reply]:
    """Choose the handler for this inbound: a button, a command or keyword, the step in progress, a figure."""
    payload = ctx.inbound.payload
    text = (ctx.inbound.text or "").strip()
    number = choice_number(text)  # ASCII or full-width digits only: int("²") would raise
    if payload is None and choices and number is not None and 1 <= number <= len(choices):
        payload = choices[number - 1]  # a numbered choice on a channel without buttons
    if payload is not None:
        return on_button(ctx, payload)
    if not text:
        return [text_reply(ctx.t("Please send text: I can read messages, not pictures, voice or stickers."))]
    if ctx.inbound.is_group and ctx.state:
        ctx.reset()
    intent = recognise(text, commands.SLASH, commands.KEYWORDS)
    answer = commands.FREE_TEXT.get(State(ctx.state)) if ctx.state in State._value2member_map_ else None
    if intent is not None and (answer is None or text.startswith("/") or intent.name == "cancel"):
        return on_intent(ctx, intent.name, intent.rest)
    if answer is not None:
        return answer(ctx, text)
    if looks_like_code(text):  # an invite code, also for someone who already holds a role
        return onboarding.bind(ctx, text)
    if ctx.inbound.is_group:
        return []
    replies = report.one_shot(ctx, text)
    if replies is not None:
        return replies
    return [text_reply(ctx.t("Sorry, I did not understand that.") + "\n" + commands.help_text(ctx))]


def on_intent(ctx: Ctx, name: str, rest: str) -> list[Reply]:
    """Run a recognised request, if this person may make it here."""
    if name == "unknown_command":
        return [text_reply(ctx.t("I do not know that command.") + "\n" + commands.help_text(ctx))]
    command = commands.BY_NAME[name]
    if ctx.inbound.is_group and command.private:
        return [text_reply(ctx.t("Please do that in a private chat with me."))]
    commands.require(ctx, command.may)
    if name not in ("report", "correct", "cancel"):
        ctx.reset()
    return command.run(ctx, rest)


def on_button(ctx: Ctx, payload: str) -> list[Reply]:
    """A pressed button: it must belong to this person's current step, else it is refused politely."""
    parts = payload.split("|", 2)
    action = commands.BUTTONS.get(parts[1]) if len(parts) == 3 else None
    step_ok = parts[0].isascii() and parts[0].isdigit() and len(parts[0]) <= 12  # int() of 5,000 digits raises
    if action is None or not step_ok:
        log.warning("refused a malformed button payload")
        return [text_reply(ctx.t("That button is not valid."))]
    version, arg = int(parts[0]), parts[2]
    if version != ctx.version - 1 and not (version == 0 and action.anytime):
        return [text_reply(ctx.t("That button is no longer valid. Please start again."))]
    commands.require(ctx, action.may)
    return action.run(ctx, arg)
