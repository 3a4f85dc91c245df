"""What a handler sees: the session, the plan, the person, their roles, language, conversation state, the clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.app import App
from bot.db.chat_models import IdentityRow
from bot.db.models import PlanRow
from bot.domain.plan import Plan
from bot.errors import UserError
from bot.messages import Button, Inbound, Reply
from bot.services.people import Roles
from handlers.states import State
from i18n import Translator

if TYPE_CHECKING:  # handlers hand the session to services and views; they build no SQL
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Me:
    """The sender as the router read them: their identity and person, without loading ORM objects."""

    ident_id: int
    person_id: int
    display_name: str
    lang: str | None


@dataclass
class Ctx:
    """One inbound being handled, inside one database transaction."""

    app: App
    s: Session
    inbound: Inbound
    plan_row: PlanRow
    plan: Plan
    me: Me
    roles: Roles
    t: Translator
    now: datetime
    state: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    loaded: IdentityRow | None = None  # the ORM identity (with its person), loaded when a handler first asks
    queue: list[str] = field(default_factory=list)  # messages kept while a figure or notice awaited confirmation
    handled: str = ""  # what understood the message (for the corpus and the understanding benchmark)
    committed: bool = False  # an action was saved whose confirmation must reach the person (a figure, a signature)
    prompt: dict[str, Any] | None = None  # the question open before this message (its text and choices)
    page: int = 0  # which page of a long keyboard to show (handlers/outgoing.py)

    @property
    def ident(self) -> IdentityRow:
        """The sender's identity row, with its person (loaded on first use: most handlers need only `me`)."""
        if self.loaded is None:
            self.loaded = self.s.get_one(IdentityRow, self.me.ident_id)
        return self.loaded

    @property
    def today(self) -> date:
        """Today, by the app's clock."""
        return self.now.date()

    @property
    def who(self) -> str:
        """How this person is named in provenance: channel:id (display name)."""
        return f"{self.inbound.channel}:{self.inbound.sender} ({self.me.display_name})"

    def go(self, state: State, **data: Any) -> None:
        """Move the conversation to state, replacing its data."""
        self.state, self.data = state, dict(data)

    def reset(self) -> None:
        """End the conversation in progress."""
        self.go(State.IDLE)

    def button(self, label: str, action: str, arg: str = "") -> Button:
        """A button bound to this conversation's current step (a stale or forged one is refused)."""
        return Button(label, f"{self.version}|{action}|{arg}")

    def may(self, *, contact: bool = False, leader: bool = False, admin: bool = False) -> bool:
        """Whether the person holds one of these roles (a leader's question is also an admin's)."""
        return (contact and bool(self.roles.contact_units)) or (leader and (self.roles.leader or self.roles.admin)) \
            or (admin and self.roles.admin)

    def need(self, *, contact: bool = False, leader: bool = False, admin: bool = False) -> None:
        """Refuse politely unless the person holds one of the roles asked for."""
        if not self.roles.bound:
            raise UserError("You are not registered yet. Please send the invite code your administrator gave you.")
        if not self.may(contact=contact, leader=leader, admin=admin):
            if admin and not (contact or leader):
                raise UserError("Only administrators can do that. Send help to see what you can do.")
            if leader and not contact:
                raise UserError("Only leaders and administrators can ask that. Send help to see what you can do.")
            raise UserError("Only unit contacts can report figures. Send help to see what you can do.")


def text_reply(text: str, *rows: list[Button], expects_text: bool = False, asks: str | None = None) -> Reply:
    """A reply with optional rows of buttons; asks: its question alone, when the text also gives news."""
    return Reply(text, tuple(tuple(r) for r in rows if r), expects_text=expects_text, asks=asks)
