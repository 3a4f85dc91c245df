"""What a message asks for, from commands and keywords in Chinese and English."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

COMMANDS = {
    "/start": "start", "/help": "help", "/language": "language", "/lang": "language", "/report": "report",
    "/correct": "correct", "/lagging": "lagging", "/status": "status", "/missing": "missing",
    "/invite": "invite", "/cancel": "cancel", "/whoami": "whoami", "/broadcast": "broadcast",
    "/notices": "notices", "/source": "source", "/units": "units", "/export": "export",
}
KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("cancel", ("取消", "cancel", "算了")),
    ("notices", ("签收情况", "通知情况", "notices")),
    ("units", ("各单位报送情况", "报送情况", "报送率", "reporting rates", "league table")),
    ("export", ("导出", "export", "excel")),
    ("source", ("来源", "出处", "谁报的", "source")),

    ("help", ("帮助", "help", "怎么用", "菜单", "menu")),
    ("missing", ("谁还没报", "谁没报", "没报", "未报", "还没报", "未报送", "not reported", "missing", "who has not")),
    ("lagging", ("滞后", "落后", "lagging", "behind", "哪些指标", "which targets")),
    ("correct", ("更正", "修正", "改正", "correct", "correction")),
    ("report", ("填报", "报送", "上报", "report")),
    ("status", ("进展", "进度", "怎么样", "如何", "情况", "status", "progress", "how is", "how are")),
    ("language", ("english", "英文", "中文", "chinese", "language", "语言")),
    ("whoami", ("我是谁", "whoami", "who am i")),
]


@dataclass(frozen=True)
class Intent:
    """A recognised request and the rest of the message (arguments)."""

    name: str
    rest: str


def normalize(text: str) -> str:
    """NFKC, trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def recognise(text: str) -> Intent | None:
    """The request in text: a /command (with @botname stripped) or a keyword; None when neither."""
    s = normalize(text)
    if s.startswith("/"):
        head, _, rest = s.partition(" ")
        name = COMMANDS.get(head.split("@", 1)[0].lower())
        return Intent(name or "unknown_command", rest.strip())
    if s in ("?", "？"):
        return Intent("help", "")
    low = s.lower()
    for name, words in KEYWORDS:
        if any(_has(low, w) for w in words):
            return Intent(name, _strip(s, words))
    return None


def _has(low: str, word: str) -> bool:
    if word.isascii() and word.replace(" ", "").isalpha():
        return re.search(rf"\b{re.escape(word)}\b", low) is not None
    return word in low


def _strip(s: str, words: tuple[str, ...]) -> str:
    for w in sorted(words, key=len, reverse=True):
        i = s.lower().find(w)
        if i >= 0 and _has(s.lower(), w):
            s = s[:i] + s[i + len(w):]
    return " ".join(s.split()).strip(" ：:，,。.？?！!")
