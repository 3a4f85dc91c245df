"""The per-member limiter (30 a minute, 1,000 an hour), the text splitting and the card layout of WeCom sends."""

from __future__ import annotations

from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.send import TEXT_BYTES, card_parts, message_count, split_text
from handlers.types import Button


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_thirty_a_minute_then_wait_for_the_oldest_to_leave_the_window() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    for _ in range(30):
        assert limiter.reserve("zhang") == 0
        clock.now += 1
    assert limiter.reserve("wang") == 0  # members are counted apart
    wait = limiter.reserve("zhang")
    assert wait == 1000.0 + 61 - clock.now  # until the first send leaves the 61 s window
    clock.now += wait
    assert limiter.reserve("zhang") == 0


def test_a_thousand_an_hour() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    for _ in range(1000):
        while (wait := limiter.reserve("li")) > 0:
            clock.now += wait
    start = clock.now
    wait = limiter.reserve("li")
    assert wait > 61 and clock.now + wait - start < 3605  # the hour's window, not the minute's
    assert clock.now + wait == limiter.sent["li"][0] + 3605


def test_several_slots_are_taken_together_or_not_at_all() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    for _ in range(28):
        limiter.reserve("zhao")
    assert limiter.reserve("zhao", 3) > 0
    assert len(limiter.sent["zhao"]) == 28  # nothing taken
    assert limiter.reserve("zhao", 2) == 0
    assert len(limiter.sent["zhao"]) == 30
    clock.now += 4000
    limiter.forget_idle()
    assert limiter.sent == {}


def test_long_texts_are_split_within_wecoms_bytes() -> None:
    text = "\n".join(f"第{n}行：高新技术企业总数 进度滞后" for n in range(300))
    pieces = split_text(text)
    assert len(pieces) > 1 and all(len(p.encode()) <= TEXT_BYTES for p in pieces)
    assert "\n".join(pieces) == text
    one_line = "指" * 2000
    assert "".join(split_text(one_line)) == one_line and all(len(p.encode()) <= TEXT_BYTES
                                                           for p in split_text(one_line))


def test_cards_hold_short_texts_and_follow_long_ones() -> None:
    short = "确认保存？\n高新技术企业总数 2018Q3：12家"
    assert card_parts(short) == ("", "确认保存？", "高新技术企业总数 2018Q3：12家")
    long = "通知：" + "请于10月20日前报送三季度数据。" * 20
    before, title, body = card_parts(long)
    assert before == long and title.endswith("…") and len(title) == 26 and body == ""
    buttons = [Button("签收", "0|sign|1")]
    assert message_count("短", buttons) == 1 and message_count(long, buttons) == 2
    assert message_count("选一个", [Button(str(n), f"0|pick|{n}") for n in range(7)]) == 1  # numbered text
