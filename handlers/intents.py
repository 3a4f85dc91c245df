"""What a message asks for: a /command or a keyword (Chinese or English) from the conversation table."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Intent:
    """A recognised request and the rest of the message (arguments)."""

    name: str
    rest: str


def normalize(text: str) -> str:
    """NFKC, trimmed, inner whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


def recognise(text: str, slash: Mapping[str, str], keywords: Sequence[tuple[str, tuple[str, ...]]]
              ) -> Intent | None:
    """The request in text: a /command (with @botname stripped) or a keyword; None when neither.

    slash maps "/name" to a request; keywords lists (request, words): the longest word found wins; on a tie, the
    one that comes first in the message ("取消填报" cancels), then the request listed first."""
    s = normalize(text)
    if s.startswith("/"):
        head = s.partition(" ")[0]
        name = slash.get(head.split("@", 1)[0].lower())
        raw = text.strip()
        rest = raw[len(raw.split(maxsplit=1)[0]):].strip() if raw.split(maxsplit=1) else ""
        return Intent(name or "unknown_command", rest)  # the arguments as typed: a notice keeps every byte
    if s in ("?", "？"):
        return Intent("help", "")
    low = s.lower()
    best: tuple[int, int, str, tuple[str, ...]] | None = None
    for name, words in keywords:
        found = [(-len(w), low.find(w)) for w in words if _has(low, w)]
        if found:
            size, at = min(found)
            if best is None or (size, at) < best[:2]:
                best = (size, at, name, words)
    return Intent(best[2], _strip(s, best[3])) if best else None


def _has(low: str, word: str) -> bool:
    """Whether low holds word; an English word only as a whole word (export in 下载export, not in exporter)."""
    if word not in low:  # asked of every keyword at every message: the plain test first
        return False
    whole = _whole_word(word)
    return whole is None or whole.search(low) is not None


@functools.cache
def _whole_word(word: str) -> re.Pattern[str] | None:
    """The pattern that finds an English word only as a whole word; None for a word matched anywhere."""
    if word.isascii() and word.replace(" ", "").isalpha():
        return re.compile(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])")
    return None


# Saying "stop" at any step, also where typed text is the answer (a figure, a reason): the whole message must be
# made of these words (取消, 算了, 不报了, never mind ...) and filler (不对, 吧, 了, that, please ...), and hold one
# of the first, so that a reason such as "有2家企业资格取消了" is a reason, not a cancel.
_STOP = ("取消", "算了", "撤销", "撤回", "作废", "放弃", "退出", "不要了", "不用了", "不需要了", "先这样",
         "cancel", "abort", "never mind", "nevermind", "forget it", "forget about it", "scrap that", "stop", "quit",
         "drop it", "don't bother")
_STOP_VERB = re.compile(r"(?:先|暂时|暂|还是|那就|就)?(?:不|别|甭)(?:用|要|想)?(?:再)?"
                        r"(?:报|填|填报|上报|报送|改|修改|更正|发|发送|提交|弄|搞|做|录|录入)了?")
_FILLER = ("不对", "错了", "搞错了", "弄错了", "写错了", "填错了", "不是", "好的", "好吧", "那", "就", "还是", "先",
           "吧", "了", "啊", "呀", "哈", "呢", "嗯", "哦", "噢", "谢谢", "对不起", "抱歉", "我", "这个", "这条", "这次",
           "本次", "填报", "上报", "报送", "报数", "发送", "通知", "操作", "更正", "修改", "数据", "一下",
           "report", "reporting", "sending", "send", "notice", "broadcast", "correction", "figure",
           "no", "oh", "ok", "okay", "sorry", "please", "pls", "that", "it", "this", "one", "the", "all", "just",
           "thanks", "thank you", "wrong", "i", "want", "to", "let's", "lets", "and")
_NEGATED = re.compile(r"(?:不|别|不要|甭|无需|不用)\s*(?:取消|撤销|作废|放弃)|don't cancel|do not cancel|not cancel",
                      re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,，、.。!！?？;；:：~～…]+")


def is_cancel(text: str) -> bool:
    """Whether a message only says "stop what we are doing" (不对，取消; 算了不报了; 不发了; cancel that)."""
    s = normalize(text).lower()
    if not s or len(s) > 30 or _NEGATED.search(s):
        return False
    words = [w for w in _SEPARATORS.split(s) if w]
    rest = " ".join(words)
    said = False
    for word in sorted(_STOP, key=len, reverse=True):
        if _has(rest, word):
            rest, said = _cut(rest, word), True
    rest, n = _STOP_VERB.subn(" ", rest)
    said = said or n > 0
    for word in sorted(_FILLER, key=len, reverse=True):
        rest = _cut(rest, word) if _has(rest, word) else rest
    return said and not rest.strip()


def _cut(s: str, word: str) -> str:
    """s without word (an English word only where it stands alone)."""
    if word.isascii():
        return re.sub(rf"(?<![a-z0-9']){re.escape(word)}(?![a-z0-9'])", " ", s)
    return s.replace(word, " ")


def _strip(s: str, words: tuple[str, ...]) -> str:
    for w in sorted(words, key=len, reverse=True):
        i = s.lower().find(w)
        if i >= 0 and _has(s.lower(), w):
            s = s[:i] + s[i + len(w):]
    return " ".join(s.split()).strip(" ：:，,。.？?！!")
