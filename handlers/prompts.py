"""Prompts that accept words: a choice by its number, its label, a synonym or a near-miss; help at a prompt;
a reply that fits nothing re-asks the same prompt, so no input drops a conversation but an explicit cancel."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from bot.db.outbox import latest_push
from bot.domain.digits import choice_number, odd_digit
from bot.messages import Button, Reply
from handlers.context import Ctx, text_reply
from handlers.states import State
from i18n import N_

PROMPT = "_prompt"
CHOICES = "_choices"
PUSHED_USED = "_pushed_used"  # the pushed message whose button was last pressed by typing
_PUNCT = " \t\r\n。.!！~～、,，;；:：?？…\"'“”‘’()（）[]【】"
_CN_INDEX = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_INDEX = re.compile(r"^(?:第|选|选择|no\.?|number|#)?\s*([0-9]{1,3}|[一二两三四五六七八九十])\s*(?:个|项|号|条)?$")
_LABEL_TAIL = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
FUZZY_SCORE = 80

HELP: Mapping[str, str] = {
    State.LANGUAGE: N_("I am asking which language to use: reply 中文 or English."),
    State.REPORT_PICK: N_("I am asking which indicator you want to report: reply with its number or its name."),
    State.REPORT_VALUE: N_("I am asking for the figure of this indicator: type it, e.g. 12 or 2.5%. "
                           "cancel stops."),
    State.REPORT_REASON: N_("A figure is already saved for this period, so I need the reason for the change, in a "
                            "few words (e.g. new statistical scope). cancel stops and keeps the saved figure."),
    State.REPORT_CONFIRM: N_("I am waiting for you to check the figure: confirm saves it, edit lets you type it "
                             "again, cancel drops it."),
    State.REPORT_NEXT: N_("The figure is saved. Reply yes to report the next indicator, or later to stop for now."),
    State.REPORT_GUESS: N_("I was not sure which indicator you meant: reply with the number or the name of the right "
                           "one, or cancel."),
    State.BROADCAST_TEXT: N_("I am asking for the text of the notice: type it as it should be sent. cancel stops."),
    State.BROADCAST_AUDIENCE: N_("I am asking who should receive the notice: reply with the number or the name of "
                                 "an audience."),
    State.BROADCAST_CONFIRM: N_("I am waiting for you to check the notice: send sends it, cancel drops it."),
}


@dataclass(frozen=True)
class Choice:
    """One choice offered at a prompt: its button payload, label and other words for it."""

    payload: str
    label: str
    words: tuple[str, ...] = ()

    @property
    def action(self) -> str:
        """The button's action name."""
        parts = self.payload.split("|", 2)
        return parts[1] if len(parts) == 3 else ""


def norm(text: str) -> str:
    """Text as compared with choices: NFKC, lower case, no spaces or surrounding punctuation."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split()).strip(_PUNCT)


def _label_norm(label: str) -> str:
    return norm(_LABEL_TAIL.sub("", label.lstrip("✓ ")))


def stored(rows: Iterable[Sequence[Button]]) -> list[list[Any]]:
    """Buttons as kept with the conversation (JSON): [payload, label, words]."""
    return [[b.payload, b.label, list(b.words)] for row in rows for b in row]


def loaded(raw: object) -> list[Choice]:
    """Choices read back from the conversation's data (also the older list of payloads)."""
    out: list[Choice] = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, str):
            out.append(Choice(item, ""))
        elif isinstance(item, list) and len(item) == 3:
            out.append(Choice(str(item[0]), str(item[1]), tuple(str(w) for w in item[2])))
    return out


def choose(text: str, choices: Sequence[Choice], synonyms: Mapping[str, tuple[str, ...]],
           numbers: bool = True, loose: bool = True) -> Choice | None:
    """The choice text names: its number, its label or words, a synonym of its action, a part or a near-miss;
    loose (at a prompt): also a short reply holding a synonym (好的继续, 先不报了)."""
    n = norm(text)
    if not n or not choices or odd_digit(text) is not None:  # ² or ١: not a choice's number (nor its words)
        return None
    if numbers and (number := choice_number(text)) is not None:  # ASCII or full-width digits only
        return choices[number - 1] if 1 <= number <= len(choices) else None
    if numbers and (m := _INDEX.match(n)):
        k = m.group(1)
        i = int(k) if k.isdigit() else _CN_INDEX[k]
        return choices[i - 1] if 1 <= i <= len(choices) else None
    def named(c: Choice) -> bool:
        return n == _label_norm(c.label) or n in (norm(w) for w in c.words)

    def synonym(c: Choice) -> bool:
        return n in (norm(w) for w in synonyms.get(c.action, ()))

    def part(c: Choice) -> bool:
        return len(n) >= 2 and not any(ch.isdigit() for ch in n) and (
            n in _label_norm(c.label) or any(len(norm(w)) >= 2 and norm(w) in n for w in (c.label, *c.words)))

    asking = text.rstrip().endswith(("?", "？"))  # 嗯？ is a puzzled question, not a yes
    for match in (named, part) if asking else (named, synonym, part):
        found = [c for c in choices if match(c)]
        if len({c.payload for c in found}) == 1:
            return found[0]
        if found:
            return None  # several fit: re-ask rather than guess
    if loose and not asking and (said := _said_in(n, choices, synonyms) or _said_in_words(text, choices, synonyms)):
        return said
    if len(n) < 3:
        return None
    scored = sorted(((max([fuzz.ratio(n, _label_norm(c.label)), *(fuzz.ratio(n, norm(w)) for w in c.words)]), c)
                     for c in choices if c.label), key=lambda sc: -sc[0])
    if scored and scored[0][0] >= FUZZY_SCORE and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1]
    return None


def pushed_choice(ctx: Ctx, text: str, synonyms: Mapping[str, tuple[str, ...]], numbers: bool
                  ) -> tuple[int, str] | None:
    """A button of the newest message pushed to the person (签收, 立即填报) named by text: the message's id and the
    button's payload. Each push's buttons are pressed by typing once (the caller records it with PUSHED_USED)."""
    push = latest_push(ctx.s, ctx.me.person_id)
    if push is None or ctx.data.get(PUSHED_USED) == push[0]:
        return None
    choice = choose(text, loaded(stored([push[1]])), synonyms, numbers=numbers)
    return None if choice is None else (push[0], choice.payload)


def _said_in(n: str, choices: Sequence[Choice], synonyms: Mapping[str, tuple[str, ...]]) -> Choice | None:
    """The choice whose longest synonym (two characters or more) a short reply contains (好的继续, 先不报了, 数字不对):
    the longest wins (不确认 over 确认); a tie between two different choices is no answer."""
    if len(n) > 12 or any(ch.isdigit() for ch in n):
        return None
    best: tuple[int, list[Choice]] = (0, [])
    for c in choices:
        size = max((len(w) for w in map(norm, synonyms.get(c.action, ())) if len(w) >= 2 and w in n), default=0)
        if size and size > best[0]:
            best = (size, [c])
        elif size and size == best[0]:
            best[1].append(c)
    return best[1][0] if len({c.payload for c in best[1]}) == 1 else None


_EN_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _said_in_words(text: str, choices: Sequence[Choice], synonyms: Mapping[str, tuple[str, ...]]) -> Choice | None:
    """An English reply of a few words holding one choice's synonym as whole words (yes that's correct, cancel it
    please): the longest synonym wins; a tie between two different choices is no answer."""
    low = unicodedata.normalize("NFKC", text).lower()
    if not low.isascii() or any(ch.isdigit() for ch in low):
        return None
    words = _EN_WORDS.findall(low)
    if not 1 < len(words) <= 6:
        return None
    said = " " + " ".join(words) + " "
    best: tuple[int, list[Choice]] = (0, [])
    for c in choices:
        size = max((len(w) for w in synonyms.get(c.action, ()) if w.isascii() and len(w) >= 2
                    and f" {' '.join(_EN_WORDS.findall(w.lower()))} " in said), default=0)
        if size and size > best[0]:
            best = (size, [c])
        elif size and size == best[0]:
            best[1].append(c)
    return best[1][0] if len({c.payload for c in best[1]}) == 1 else None


def prompt_of(reply: Reply | None) -> dict[str, Any] | None:
    """A reply that asks something (buttons, or a figure to type), as kept with the conversation."""
    if reply is None or not (reply.buttons or reply.expects_text):
        return None
    return {"text": reply.asks or reply.text, "rows": [stored([row]) for row in reply.buttons],
            "expects_text": reply.expects_text}


def again(ctx: Ctx, prompt: Mapping[str, Any], lead: str = "") -> Reply:
    """The stored prompt asked again, its buttons bound to the conversation's current step."""
    rows = []
    for row in prompt.get("rows", []):
        buttons = []
        for c in loaded(row):
            _, action, arg = [*c.payload.split("|", 2), "", ""][:3]
            version = c.payload.split("|", 1)[0]
            payload = c.payload if version == "0" else f"{ctx.version}|{action}|{arg}"
            buttons.append(Button(c.label, payload, c.words))
        rows.append(buttons)
    text = str(prompt.get("text", ""))  # kept as the question (asks): asked again, it does not gather leads
    return text_reply((lead + "\n" if lead else "") + text, *rows, expects_text=bool(prompt.get("expects_text")),
                      asks=text)


def explain(ctx: Ctx, prompt: Mapping[str, Any] | None) -> list[Reply]:
    """Help at a prompt: what it asks and how to answer, then the prompt again (the step is kept)."""
    help_line = HELP.get(ctx.state)
    lines = [ctx.t(help_line) if help_line else ctx.t("I am waiting for your answer to my last question.")]
    if prompt and prompt.get("rows") and not prompt.get("expects_text"):
        lines.append(ctx.t("You can reply with the number of a choice, its words, or cancel to stop."))
    replies = [text_reply("\n".join(lines))]
    if prompt:
        replies.append(again(ctx, prompt))
    return replies


def reask(ctx: Ctx, text: str, prompt: Mapping[str, Any] | None) -> list[Reply]:
    """A reply that fits none of the choices: say so and ask the same question again."""
    head = ctx.t("Sorry, “{text}” is not one of the choices.", text=text.strip()[:40])
    if prompt is None:
        return [text_reply(head + "\n" + ctx.t("cancel stops what you were doing."))]
    return [again(ctx, prompt, head + " " + ctx.t("Please choose one (its number or its words):"))]
