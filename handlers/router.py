"""The router: one Inbound in, Replies out; de-duplicates, loads the person and their conversation, dispatches."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.bootstrap import App
from bot.db.chat_models import ConversationRow, IdentityRow, InboundSeenRow, PersonRow, RoleRow
from bot.db.engine import RELAXED
from bot.db.models import PlanRow, UnitRow
from bot.errors import UserError
from bot.people import Roles, identity_for, looks_like_code, roles_from, roles_of
from bot.plan_store import active_plan
from handlers import admin, leaders, notices, onboarding, query, report, source
from handlers.context import Ctx, Me, text_reply
from handlers.intents import recognise
from handlers.types import Inbound, Outcome, Reply
from i18n import translator_for

log = logging.getLogger(__name__)

CHOICES = "_choices"
# Core tables for the router's own bookkeeping rows: plain INSERT/UPDATE statements, no ORM unit of work
CONVERSATIONS: Table = ConversationRow.__table__  # type: ignore[assignment]
SEEN: Table = InboundSeenRow.__table__  # type: ignore[assignment]
IDENTITIES: Table = IdentityRow.__table__  # type: ignore[assignment]
PERSONS: Table = PersonRow.__table__  # type: ignore[assignment]
ROLES: Table = RoleRow.__table__  # type: ignore[assignment]
UNITS: Table = UnitRow.__table__  # type: ignore[assignment]
# statements built once (each caches its own cache key): identity + person + roles + conversation in one Core query,
# a row per role (one with role NULL for a person without any); ORM objects are loaded only when a handler asks
PERSON = (select(IDENTITIES.c.id, IDENTITIES.c.person_id, IDENTITIES.c.chat_id, PERSONS.c.display_name,
                 PERSONS.c.lang, CONVERSATIONS.c.state, CONVERSATIONS.c.data, ROLES.c.role, UNITS.c.code,
                 UNITS.c.plan_id)
          .join(PERSONS, PERSONS.c.id == IDENTITIES.c.person_id)
          .outerjoin(CONVERSATIONS, CONVERSATIONS.c.identity_id == IDENTITIES.c.id)
          .outerjoin(ROLES, ROLES.c.person_id == PERSONS.c.id)
          .outerjoin(UNITS, UNITS.c.id == ROLES.c.unit_id)
          .where(IDENTITIES.c.channel == bindparam("c"), IDENTITIES.c.external_id == bindparam("x"))
          .order_by(ROLES.c.id))
SET_CHAT = update(IDENTITIES).where(IDENTITIES.c.id == bindparam("id")).values(chat_id=bindparam("chat"))
SAVE_STATE = (update(CONVERSATIONS).where(CONVERSATIONS.c.identity_id == bindparam("id"))
              .values(state=bindparam("state"), data=bindparam("data"), updated_at=bindparam("at")))
NEW_STATE = insert(CONVERSATIONS).values(identity_id=bindparam("id"), state=bindparam("state"),
                                         data=bindparam("data"), updated_at=bindparam("at"))


Claim = Callable[[Session], bool]


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
                s.connection(execution_options={RELAXED: True})
            if not (claim(s) if claim is not None else self._first_sight(s, inbound, now)):
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

    @staticmethod
    def _first_sight(s: Session, inbound: Inbound, now: datetime) -> bool:
        """Record the message id as seen; False when it already was (a re-delivery)."""
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        seen = s.execute(insert(SEEN).values(channel=inbound.channel, message_id=inbound.message_id, received_at=now)
                         .on_conflict_do_nothing().returning(SEEN.c.id)).first()  # (rowcount: -1 on PostgreSQL)
        return seen is not None

    def _save_state(self, ctx: Ctx, existed: bool, replies: list[Reply]) -> None:
        data = dict(ctx.data, _v=ctx.version)
        last = replies[-1] if replies else None
        if last is not None and last.buttons and not last.expects_text:
            data[CHOICES] = [b.payload for b in last.flat_buttons]
        values = {"id": ctx.me.ident_id, "state": ctx.state, "data": json.dumps(data), "at": ctx.now}
        ctx.s.flush()  # the handler's own changes first (a new identity's row, figures), in the ORM's order
        ctx.s.connection().execute(SAVE_STATE if existed else NEW_STATE, values)


def load_person(s: Session, inbound: Inbound, plan_row: PlanRow, now: datetime
                ) -> tuple[Me, Roles, tuple[str, str] | None, IdentityRow | None]:
    """The sender (Me), their roles in the plan and their conversation (state, data), in one query; a new sender's
    identity and person are created (and returned: the ORM identity, else None)."""
    rows = s.connection().execute(PERSON, {"c": inbound.channel, "x": inbound.sender}).all()
    chat = None if inbound.is_group else inbound.chat
    if not rows:
        ident = identity_for(s, inbound.channel, inbound.sender, chat, inbound.sender_name, inbound.lang_hint, now)
        person = ident.person
        return (Me(ident.id, person.id, person.display_name, person.lang), roles_of(person, plan_row), None,
                ident)
    first = rows[0]
    if chat and first.chat_id != chat and not chat.startswith("-"):
        s.connection().execute(SET_CHAT, {"id": first.id, "chat": chat})
    roles = roles_from([(r.role, r.code, r.plan_id) for r in rows if r.role is not None], plan_row.id)
    conv = (first.state, first.data) if first.state is not None else None
    return Me(first.id, first.person_id, first.display_name, first.lang), roles, conv, None


def dispatch(ctx: Ctx, choices: list[str] | None) -> list[Reply]:
    """Choose the handler for this inbound: a button, a command or keyword, the step in progress, a figure."""
    payload = ctx.inbound.payload
    text = (ctx.inbound.text or "").strip()
    if payload is None and choices and text.isdigit() and 1 <= int(text) <= len(choices):
        payload = choices[int(text) - 1]  # a numbered choice on a channel without buttons
    if payload is not None:
        return on_button(ctx, payload)
    if not text:
        return [text_reply(ctx.t("Please send text: I can read messages, not pictures, voice or stickers."))]
    if ctx.inbound.is_group and ctx.state:
        ctx.reset()
    intent = recognise(text)
    awaiting = ctx.state in ("report.value", "report.reason")  # free text expected: only commands interrupt
    if intent is not None and (not awaiting or text.startswith("/") or intent.name == "cancel"):
        return on_intent(ctx, intent.name, intent.rest)
    if ctx.state == "report.value":
        return report.value(ctx, text)
    if ctx.state == "report.reason":
        return report.reason(ctx, text)
    if looks_like_code(text):  # an invite code, also for someone who already holds a role
        return onboarding.bind(ctx, text)
    if ctx.inbound.is_group:
        return []
    replies = report.one_shot(ctx, text)
    if replies is not None:
        return replies
    return [text_reply(ctx.t("Sorry, I did not understand that.") + "\n" + onboarding.help_text(ctx))]


INTENTS: dict[str, Callable[[Ctx, str], list[Reply]]] = {
    "start": onboarding.start,
    "help": lambda ctx, _: [text_reply(onboarding.help_text(ctx))],
    "language": onboarding.language,
    "whoami": lambda ctx, _: onboarding.whoami(ctx),
    "report": report.start,
    "correct": report.correct,
    "lagging": lambda ctx, _: query.lagging(ctx),
    "status": query.status,
    "missing": lambda ctx, _: query.missing(ctx),
    "invite": admin.invite,
    "broadcast": notices.start,
    "notices": lambda ctx, _: notices.overview(ctx),
    "source": source.source,
    "units": lambda ctx, _: leaders.units(ctx),
    "export": lambda ctx, _: leaders.export(ctx),
}
PRIVATE_ONLY = {"start", "report", "correct", "invite", "language", "broadcast", "notices"}


def on_intent(ctx: Ctx, name: str, rest: str) -> list[Reply]:
    """Run a recognised request."""
    if name == "cancel":
        had = bool(ctx.state)
        ctx.reset()
        return [text_reply(ctx.t("Cancelled.") if had else ctx.t("There was nothing to cancel."))]
    if name == "unknown_command":
        return [text_reply(ctx.t("I do not know that command.") + "\n" + onboarding.help_text(ctx))]
    if ctx.inbound.is_group and name in PRIVATE_ONLY:
        return [text_reply(ctx.t("Please do that in a private chat with me."))]
    if name not in ("report", "correct"):
        ctx.reset()
    return INTENTS[name](ctx, rest)


BUTTONS: dict[str, Callable[[Ctx, str], list[Reply]]] = {
    "pick": report.pick,
    "stage": report.stage,
    "confirm": lambda ctx, _: report.do_confirm(ctx),
    "edit": lambda ctx, _: report.edit(ctx),
    "lang": onboarding.set_language,
    "report": lambda ctx, _: report.start(ctx),
    "audience": notices.audience,
    "send": lambda ctx, _: notices.send(ctx),
    "resend": notices.resend,
    "sign": notices.sign,
    "source": source.source,
}


# buttons in pushed messages and answers, valid whatever the conversation step
GLOBAL_BUTTONS = {"report", "sign", "source"}


def on_button(ctx: Ctx, payload: str) -> list[Reply]:
    """A pressed button: it must belong to this person's current step, else it is refused politely."""
    parts = payload.split("|", 2)
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] not in {*BUTTONS, "cancel"}:
        log.warning("refused a malformed button payload")
        return [text_reply(ctx.t("That button is not valid."))]
    version, action, arg = int(parts[0]), parts[1], parts[2]
    if version != ctx.version - 1 and not (version == 0 and action in GLOBAL_BUTTONS):
        return [text_reply(ctx.t("That button is no longer valid. Please start again."))]
    if action == "cancel":
        return on_intent(ctx, "cancel", "")
    return BUTTONS[action](ctx, arg)
