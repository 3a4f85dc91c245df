"""The per-member limiter (30 a minute, 1,000 an hour), the text splitting and the card layout of WeCom sends."""

from __future__ import annotations

from bot.channels.wecom.limits import MemberLimiter
from bot.channels.wecom.send import TEXT_BYTES, card_parts, message_count, split_text
from bot.messages import Button


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def send(limiter: MemberLimiter, member: str, n: int = 1) -> float:
    """Reserve n slots and, when granted, have them answered at once."""
    wait = limiter.reserve(member, n)
    if not wait:
        limiter.done(member, n)
    return wait


def test_thirty_a_minute_then_wait_for_the_oldest_to_leave_the_window() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    for _ in range(30):
        assert send(limiter, "zhang") == 0
        clock.now += 1
    assert send(limiter, "wang") == 0  # members are counted apart
    wait = send(limiter, "zhang")
    assert wait == 1000.0 + 61 - clock.now  # until the first send leaves the 61 s window
    clock.now += wait
    assert send(limiter, "zhang") == 0


def test_a_window_counts_from_the_answers_not_the_reservations() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    assert limiter.reserve("zhou", 30) == 0  # taken at 1000 s, waiting for a connection ...
    assert 0 < limiter.reserve("zhou") <= 1  # the window is full of messages on their way: ask again shortly
    clock.now += 20
    limiter.done("zhou", 30)  # ... answered at 1020 s: WeCom may have counted them as late as that
    clock.now += 45
    assert send(limiter, "zhou") == 1020.0 + 61 - clock.now  # 61 s after the answers, not the reservations


def test_a_thousand_an_hour() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    for _ in range(1000):
        while (wait := send(limiter, "li")) > 0:
            clock.now += wait
    start = clock.now
    wait = send(limiter, "li")
    assert wait > 61 and clock.now + wait - start < 3605  # the hour's window, not the minute's
    assert clock.now + wait == limiter.members["li"].sent[0] + 3605


def test_several_slots_are_taken_together_or_not_at_all() -> None:
    clock = Clock()
    limiter = MemberLimiter(clock=clock)
    for _ in range(28):
        send(limiter, "zhao")
    assert send(limiter, "zhao", 3) > 0
    assert len(limiter.members["zhao"].sent) == 28 and limiter.members["zhao"].in_flight == 0  # nothing taken
    assert send(limiter, "zhao", 2) == 0
    assert len(limiter.members["zhao"].sent) == 30
    clock.now += 4000
    limiter.forget_idle()
    assert limiter.members == {}


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
