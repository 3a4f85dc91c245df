"""Runs the corpus of messages people type (tests/corpus/*.yaml) through the console channel's router.

Each block names a category, who speaks (a unit contact, the science bureau's contact, a leader, an admin), their
language and where the conversation stands (idle, or at one of the prompts); each case is a message and what it
should come to:

- ``confirm:IND:VALUE[:PERIOD]``: a figure understood and put to the person to confirm (or to give a reason for);
- ``do:NAME``: a command or a button (typed) understood as NAME (lagging, status, missing, confirm, cancel, ...);
- ``refused``: understood and refused politely (an approximate figure, a fraction of a count, another unit);
- ``reask``: not one of the choices: the same prompt asked again, the step kept;
- ``help``: help given (at a prompt: that prompt explained and kept);
- ``guess``: a near-miss name: "did you mean ...?" with buttons;
- ``queued``: a new report kept until the one awaiting confirmation is done.

A case may add ``says``: a piece of text the replies must contain.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from bot.app import App
from bot.channels.console import ConsoleSender, render
from bot.messages import Inbound, Outcome
from support import TestBot

HERE = Path(__file__).parent
ROLES = {"contact": ("contact", "panshan"), "bureau": ("contact", "sci_tech_bureau"), "leader": ("leader", None),
         "admin": ("admin", None), "hr": ("contact", "hr_social_security_bureau")}
PRELUDES: dict[str, list[str]] = {
    "idle": [],
    "pick": ["/report"],
    "value": ["/report", "高新技术企业"],
    "stage": ["/report", "国家级高新区"],
    "confirm": ["科技型中小企业 20家"],
    "next": ["/report", "产业技术研究院", "2", "1"],
    "reason": ["高新技术企业 10家", "1", "/correct 高新技术企业 11家"],
    "guess": ["高心技术企业 12家"],
    "audience": ["/broadcast 请于10月20日前报送三季度数据"],
    "bconfirm": ["/broadcast 请于10月20日前报送三季度数据", "1"],
    "language": ["/language"],
}


@dataclass(frozen=True)
class Case:
    """One message of the corpus and what it should come to."""

    category: str
    file: str
    role: str
    lang: str
    at: str
    text: str
    expect: str
    says: str | None = None

    @property
    def id(self) -> str:
        """A readable test id."""
        return f"{self.file}:{self.at}:{self.text}"


def cases(folder: Path = HERE) -> list[Case]:
    """Every case of every corpus file in folder (the corpus itself by default)."""
    out: list[Case] = []
    for path in sorted(folder.glob("*.yaml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")):
            for item in block["cases"]:
                text, expect, *rest = item
                out.append(Case(block["category"], path.stem, block.get("role", "contact"), block.get("lang", "zh"),
                                block.get("at", "idle"), str(text), str(expect), rest[0] if rest else None))
    return out


class Speaker:
    """Plays each case as a new person of its role (so cases do not disturb one another) on one app."""

    def __init__(self, app: App) -> None:
        self.bot = TestBot(app)
        self.n = 0
        self.notice_sender = ConsoleSender()

    def _new(self, case: Case) -> str:
        self.n += 1
        user = f"{case.role}-{self.n}"
        role, unit = ROLES[case.role]
        self.bot.join(user, role, unit, lang=case.lang)
        return user

    def _no_figures(self) -> None:
        """Start from no figures, so a prompt is reached the same way each time (a test's own clean-up)."""
        from sqlalchemy import delete

        from bot.db.models import CitySeriesRow, FigureRevisionRow, FigureRow

        with self.bot.app.uow.begin() as s:
            for row in (FigureRevisionRow, FigureRow, CitySeriesRow):
                s.execute(delete(row))

    def play(self, case: Case) -> tuple[Outcome, str, dict[str, Any]]:
        """The outcome of the case's message, its replies as the console shows them, and the state after it."""
        user = self._new(case)
        if case.at != "idle" or case.expect.startswith("confirm"):
            self._no_figures()
        if case.at == "notice":
            self._push_notice()
        for line in PRELUDES.get(case.at, []):
            self.bot.say(user, line)
        inbound = Inbound(channel="console", sender=user, chat=user, message_id=f"corpus-{self.n}", text=case.text,
                          sender_name=user)
        outcome = self.bot.console.router.handle(inbound)
        out = "\n".join(render(r) for r in outcome.replies)
        return outcome, out, self._state(user)

    def _push_notice(self) -> None:
        admin = f"admin-n{self.n}"
        self.bot.join(admin, "admin")
        self.bot.say(admin, "/broadcast 请于10月20日前报送三季度数据")
        self.bot.say(admin, "everyone")
        self.bot.say(admin, "send")
        asyncio.run(_dispatch(self.bot.app, self.notice_sender))

    def _state(self, user: str) -> dict[str, Any]:
        import json

        from bot.db.conversations import sender_rows

        with self.bot.app.uow() as s:
            rows = sender_rows(s, "console", user)
        first = rows[0]
        data = json.loads(first.data) if first.data else {}
        return {"state": first.state or "", **data}


async def _dispatch(app: App, sender: ConsoleSender) -> None:
    from reminders.dispatch import dispatch

    await dispatch(app.uow, sender, app.clock.now)


def judge(case: Case, outcome: Outcome, out: str, state: dict[str, Any]) -> str | None:
    """None when the case came to what it should; else what happened instead."""
    kind, _, arg = case.expect.partition(":")
    got = f"handled={outcome.handled} refused={outcome.refused} state={state.get('state')!r}"
    if case.says and case.says not in out:
        return f"replies lack {case.says!r}; {got}"
    if kind == "confirm":
        ind, _, rest = arg.partition(":")
        value, _, period = rest.partition(":")
        if state.get("state") not in ("report.confirm", "report.reason") or state.get("ind") != ind \
                or Decimal(str(state.get("value"))) != Decimal(value) or (period and state.get("period") != period):
            return f"{got} ind={state.get('ind')} value={state.get('value')} period={state.get('period')}"
        return None
    if kind == "total":  # an increase given for a total: the total is asked for, the increase not taken as it
        ind, _, period = arg.partition(":")
        asked = state.get("state") == "report.value" and state.get("ind") == ind
        if not asked or (period and state.get("period") != period):
            return f"{got} ind={state.get('ind')} period={state.get('period')}"
        return None
    if kind == "do":
        ok = outcome.handled in (f"command:{arg}", f"button:{arg}") and not (outcome.refused and arg != "cancel")
        return None if ok else got
    if kind == "refused":  # nothing half-said is dropped: at a prompt, the prompt is kept
        kept = case.at in ("idle", "notice") or bool(state.get("state"))
        return None if outcome.refused and kept else got
    if kind == "reask":
        return None if outcome.handled == "reask" and state.get("state") else got
    if kind == "help":  # at a prompt, the prompt is kept
        kept = case.at in ("idle", "notice") or bool(state.get("state"))
        return None if outcome.handled in ("help:prompt", "command:help") and kept else got
    if kind == "guess":
        return None if state.get("state") == "report.guess" else got
    if kind == "queued":
        return None if outcome.handled == "queued" and state.get("_queue") else got
    raise ValueError(f"unknown expectation {case.expect!r}")


def run_all(app: App, selected: list[Case] | None = None) -> Iterator[tuple[Case, str | None, str]]:
    """Play every case; yield it with the verdict (None: as expected) and the replies."""
    speaker = Speaker(app)
    for case in selected if selected is not None else cases():
        outcome, out, state = speaker.play(case)
        yield case, judge(case, outcome, out, state), out
