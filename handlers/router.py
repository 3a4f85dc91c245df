"""The router: one Inbound in, Replies out; de-duplicates, loads the person and their conversation, dispatches."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.app import App
from bot.db.chat_models import IdentityRow
from bot.db.conversations import first_sight, move_chat, reactivate, relax_durability, save_conversation, sender_rows
from bot.db.models import PlanRow
from bot.db.outbox import Delivery, hold_reply
from bot.errors import UserError, echo
from bot.messages import Inbound, Outcome, Reply
from bot.services.entry import guess_indicators, match_indicator
from bot.services.people import Roles, identity_for, looks_like_code, roles_from, roles_of
from bot.services.plans import active_plan
from handlers import commands, onboarding, outgoing, prompts, query, report, report_sentence, timeout
from handlers.context import Ctx, Me, text_reply
from handlers.intents import Intent, is_cancel, recognise
from handlers.states import HOLDING, State
from i18n import translator_for

if TYPE_CHECKING:  # the session is handed on; the router builds no SQL
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

QUESTIONS = frozenset({"status", "lagging", "missing", "units", "source", "help", "export", "scorecard"})
QUEUE = "_queue"  # messages that started something new while a figure or notice awaited confirmation
Claim = Callable[["Session"], bool]


class Router:
    """Handles each inbound in one transaction: nothing half-done survives an error or a crash."""

    def __init__(self, app: App, *, hold_replies: bool = False) -> None:
        self.app = app
        self.hold_replies = hold_replies  # the channel sends held replies through reminders.replies.DurableReplies

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
            choices = prompts.loaded(ctx.data.pop(prompts.CHOICES, None))
            prompt = ctx.prompt = ctx.data.pop(prompts.PROMPT, None)
            ctx.queue = list(ctx.data.pop(QUEUE, []))
            outgoing.resolve(ctx, ctx.data.pop(outgoing.REFS, None))
            parked = inbound.is_group and bool(ctx.state)  # a private step is set aside in a group, not dropped
            if parked:
                ctx.state, ctx.data, ctx.queue, choices, prompt = "", {}, [], [], None
                ctx.prompt = None
            lead, answered = [], False
            if timeout.expired(ctx, conv[2] if conv else None):  # left too long: dropped, and said so
                answered = answers_dropped(ctx, choices)
                lead = [timeout.expire(ctx)]
                choices, prompt = [], None
                ctx.prompt = None
            before = ctx.state
            try:
                replies = [] if answered else dispatch(ctx, choices, prompt)
                refused = False
            except UserError as e:  # an error the person can fix; deliberate records (failed codes) are kept
                replies, refused = [text_reply(e.render(ctx.t))], True
            if lead and (answered or ctx.handled == "unknown"):  # "确认" or "12" for the dropped step: the notice
                replies, ctx.handled = [], "expired"
            replies = lead + carry_on(ctx, before, prompt, replies, refused)
            sent, refs = outgoing.fit(ctx, replies)  # split, paged and with short payloads for the channel
            if not (parked and not ctx.state):  # a group message leaves the private step as it was, time included
                self._save_state(ctx, conv is not None, replies, refs, prompt if ctx.state == before else None)
            held = self._hold(ctx, sent) if self.hold_replies and ctx.committed else ()
            s.commit()
        return Outcome(sent, handled=ctx.handled, refused=refused, held=held, person_id=ctx.me.person_id,
                       lang=ctx.t.lang)

    def _hold(self, ctx: Ctx, replies: list[Reply]) -> tuple[int | None, ...]:
        """The text replies to a committed action, kept as outbox rows in its transaction: a crash before they are
        sent loses none (the dispatcher sends them after the restart), and none goes twice."""
        inbound = ctx.inbound
        return tuple(
            hold_reply(ctx.s, f"reply:{inbound.channel}:{inbound.message_id}:{i}",
                       Delivery(ctx.me.person_id, inbound.channel, r.chat or inbound.chat), r.text, ctx.now,
                       list(r.flat_buttons))
            if r.image is None and r.document is None else None
            for i, r in enumerate(replies))

    def _save_state(self, ctx: Ctx, existed: bool, replies: list[Reply], refs: dict[str, str],
                    open_prompt: dict[str, Any] | None) -> None:
        """Keep the conversation: its step, data and the question it waits on (the last reply's, else the one still
        open in the same step: a refused answer or a question answered leaves it as it was)."""
        data = dict(ctx.data, _v=ctx.version)
        if refs:
            data[outgoing.REFS] = refs
        last = replies[-1] if replies else None
        if last is not None and last.buttons and not last.expects_text:
            data[prompts.CHOICES] = prompts.stored(last.buttons)
        prompt = prompts.prompt_of(last) or open_prompt
        if ctx.state and prompt is not None:
            data[prompts.PROMPT] = prompt
        if ctx.queue:
            data[QUEUE] = ctx.queue
        save_conversation(ctx.s, ctx.me.ident_id, existed, ctx.state, json.dumps(data), ctx.now)


def load_person(s: Session, inbound: Inbound, plan_row: PlanRow, now: datetime
                ) -> tuple[Me, Roles, tuple[str, str, datetime] | None, IdentityRow | None]:
    """The sender (Me), their roles in the plan and their conversation (state, data, when it last moved), in one
    query; a new sender's identity and person are created (and returned: the ORM identity, else None)."""
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
    conv = (first.state, first.data, first.updated_at) if first.state is not None else None
    return Me(first.id, first.person_id, first.display_name, first.lang), roles, conv, None


def dispatch(ctx: Ctx, choices: list[prompts.Choice], prompt: dict[str, Any] | None) -> list[Reply]:
    """Choose the handler for this inbound: a button (pressed, or typed as its number or words), a command or
    keyword, the step in progress, a figure; at a prompt, anything else asks the same question again."""
    payload = ctx.inbound.payload
    text = (ctx.inbound.text or "").strip()
    figure = bool(text) and payload is None and not text.startswith("/") and report_sentence.is_report_of_another(
        ctx, text, any_indicator=True)  # "高企 12家" reports a figure, whatever choice or keyword it contains
    if payload is None and ctx.state and is_cancel(text):  # 不对，取消 / 算了不报了 / cancel that: at every step
        return on_intent(ctx, "cancel", "")
    # an invite code is random text, and now and then holds a keyword ("Zq7-OK-help_y..."): never read as one
    intent = None if not text or looks_like_code(text) else recognise(text, commands.SLASH, commands.KEYWORDS)
    if payload is None and text and choices and not figure:
        # a question is not a loose answer: "我可以做什么" holds 可以 (yes), and must not confirm a figure
        asking = intent is not None and intent.name in QUESTIONS
        choice = prompts.choose(text, choices, commands.SYNONYMS, loose=bool(ctx.state) and not asking)
        payload = choice.payload if choice is not None else None
    if payload is not None:
        return on_button(ctx, payload)
    if not text:
        ctx.handled = "not_text"
        return [text_reply(ctx.t("Please send text: I can read messages, not pictures, voice or stickers."))]
    if figure and intent is not None and intent.name in QUESTIONS:
        intent = None
    state = State(ctx.state) if ctx.state in State._value2member_map_ else State.IDLE
    answer = commands.FREE_TEXT.get(state)
    if intent is not None and intent.name == "help" and state:
        ctx.handled = "help:prompt"
        return prompts.explain(ctx, prompt)
    if state in HOLDING and starts_something(ctx, text, intent):
        ctx.handled = "queued"
        ctx.queue.append(text)
        return [text_reply(ctx.t("First finish the step in progress (confirm it or cancel it): I have kept “{text}” "
                                 "and will come to it next.", text=echo(text)))]
    # where typed text is the answer, only a /command interrupts it: "有2家企业资格取消了" is a reason, not a cancel
    # (a message saying only "stop" was taken up above)
    if intent is not None and (answer is None or text.startswith("/")):
        return on_intent(ctx, intent.name, intent.rest)
    if answer is not None:
        ctx.handled = f"answer:{state.value}"
        if state is State.REPORT_VALUE and report_sentence.is_report_of_another(ctx, text):
            ctx.handled = "figure"
            return report_sentence.one_shot(ctx, text) or answer(ctx, text)
        return answer(ctx, text)
    if looks_like_code(text):  # an invite code, also for someone who already holds a role
        ctx.handled = "code"
        return onboarding.bind(ctx, text)
    if ctx.inbound.is_group:
        return []
    ctx.handled = "figure"
    replies = report_sentence.one_shot(ctx, text)
    if replies is not None:
        return replies
    pushed = prompts.pushed_choice(ctx, text, commands.SYNONYMS, numbers=not choices)
    if pushed is not None:  # 签收 typed under a notice, 立即填报 under a reminder
        replies = on_button(ctx, pushed[1])
        ctx.data[prompts.PUSHED_USED] = pushed[0]
        return replies
    if state:
        ctx.handled = "reask"
        return prompts.reask(ctx, text, prompt)
    ctx.handled = "indicator"
    named = named_indicator(ctx, text)
    if named is not None:
        return named
    ctx.handled = "unknown"
    return [text_reply(ctx.t("Sorry, I did not understand that.") + "\n" + commands.help_text(ctx))]


def answers_dropped(ctx: Ctx, choices: list[prompts.Choice]) -> bool:
    """Whether a message answers the step about to be dropped for its timeout (确认, 1, 12, 取消): it is then not
    handled again as if nothing were in progress (a "1" pressing some other button)."""
    text = (ctx.inbound.text or "").strip()
    if ctx.inbound.payload is not None or not text or is_cancel(text):
        return ctx.inbound.payload is not None or is_cancel(text)
    state = State(ctx.state) if ctx.state in State._value2member_map_ else State.IDLE
    if state in commands.FREE_TEXT:
        return not text.startswith("/") and recognise(text, commands.SLASH, commands.KEYWORDS) is None \
            and not report_sentence.is_report_of_another(ctx, text, any_indicator=True)
    return prompts.choose(text, choices, commands.SYNONYMS, loose=True) is not None


def named_indicator(ctx: Ctx, text: str) -> list[Reply] | None:
    """An indicator's name alone: how it is doing (for a leader), or its figure asked for (for a contact)."""
    ind = match_indicator(ctx.plan, text)
    if ind is not None and commands.allowed(ctx, (commands.LEADER,)):
        ctx.handled = "command:status"
        return query.status(ctx, ind.code)
    if ind is not None and ctx.roles.contact_units and ind.reporter_set & set(ctx.roles.contact_units):
        return report.ask_indicator(ctx, ind)
    if ind is None and commands.allowed(ctx, (commands.LEADER,)) and len(text) <= 20 and guess_indicators(ctx.plan,
                                                                                                           text):
        ctx.handled = "command:status"
        return query.which_indicator(ctx, text, "status")
    return None


def starts_something(ctx: Ctx, text: str, intent: Intent | None) -> bool:
    """Whether a message starts a new report or notice (it then waits until the step in progress is done)."""
    if intent is not None:  # the language picker is a step of its own; /language en is not (it keeps the step)
        return intent.name in ("report", "correct", "broadcast") or (
            intent.name == "language" and onboarding.chosen_language(intent.rest, text) is None)
    return report_sentence.is_report_of_another(ctx, text, any_indicator=True)


def carry_on(ctx: Ctx, before: str, prompt: dict[str, Any] | None, replies: list[Reply],
             refused: bool = False) -> list[Reply]:
    """After a handler: a prompt still open is asked again under an answer that was not a prompt (so its choices
    stay the person's current ones), and a question to type an answer to under a refused answer; a step just
    finished takes up the messages kept while it was open."""
    last = replies[-1] if replies else None
    if ctx.state and ctx.state == before and prompt is not None and prompts.prompt_of(last) is None \
            and (refused or not prompt.get("expects_text")) \
            and ctx.inbound.payload is None:  # a pressed button's row is still there
        replies = [*replies, prompts.again(ctx, prompt, ctx.t("Back to where we were:"))]
    for _ in range(3):
        if ctx.state in HOLDING or not ctx.queue:
            break
        text = ctx.queue.pop(0)
        replies.append(text_reply(ctx.t("Now your earlier message: “{text}”", text=echo(text))))
        try:
            replies += _redo(ctx, text)
        except UserError as e:
            replies.append(text_reply(e.render(ctx.t)))
    return replies


def _redo(ctx: Ctx, text: str) -> list[Reply]:
    """Handle a kept message as if it had just been sent."""
    intent = recognise(text, commands.SLASH, commands.KEYWORDS)
    if intent is not None:
        return on_intent(ctx, intent.name, intent.rest)
    return report_sentence.one_shot(ctx, text) or [text_reply(ctx.t("Sorry, I did not understand that."))]


def on_intent(ctx: Ctx, name: str, rest: str) -> list[Reply]:
    """Run a recognised request, if this person may make it here."""
    ctx.handled = f"command:{name}"
    if name == "unknown_command":
        return [text_reply(ctx.t("I do not know that command.") + "\n" + commands.help_text(ctx))]
    command = commands.BY_NAME[name]
    if ctx.inbound.is_group and command.private:
        return [text_reply(ctx.t("Please do that in a private chat with me."))]
    commands.require(ctx, command.may)
    return command.run(ctx, rest)  # a question at a prompt is answered and the prompt kept (carry_on)


def on_button(ctx: Ctx, payload: str) -> list[Reply]:
    """A pressed button: it must belong to this person's current step, else it is refused politely."""
    parts = payload.split("|", 2)
    step_ok = parts[0].isascii() and parts[0].isdigit() and len(parts[0]) <= 12  # int() of 5,000 digits raises
    if len(parts) == 3 and parts[1] == "*" and step_ok:  # a short payload not in this step's table (outgoing)
        if int(parts[0]) == ctx.version - 1:
            return [text_reply(ctx.t("That button is not valid."))]
        return [text_reply(ctx.t("That button is no longer valid. Please start again."))]
    action = commands.BUTTONS.get(parts[1]) if len(parts) == 3 else None
    if action is None or not step_ok:
        log.warning("refused a malformed button payload")
        return [text_reply(ctx.t("That button is not valid."))]
    version, arg = int(parts[0]), parts[2]
    ctx.handled = f"button:{parts[1]}"
    if version != ctx.version - 1 and not (version == 0 and action.anytime):
        return [text_reply(ctx.t("That button is no longer valid. Please start again."))]
    commands.require(ctx, action.may)
    return action.run(ctx, arg)
