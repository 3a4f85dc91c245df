"""Answers made to fit a channel: split at line ends into numbered parts, captions, paged keyboards (bot/render/fit)."""

from __future__ import annotations

from pathlib import Path

from bot.messages import Button, Reply
from bot.render.fit import TELEGRAM, WECOM, limits_for, page_rows, split_reply, split_text, utf8_len, utf16_len
from i18n import translator_for

EN, ZH = translator_for("en"), translator_for("zh_Hans")


def test_a_text_that_fits_is_left_alone() -> None:
    assert split_text("一\n二", 3) == ["一\n二"]
    assert split_reply(Reply("短"), TELEGRAM, ZH) == [Reply("短")]
    assert limits_for("console").text is None and limits_for("wecom") is WECOM and limits_for("other") is TELEGRAM


def test_long_texts_are_cut_at_line_ends_within_the_limit() -> None:
    lines = [f"• 第{i}项指标：未报" for i in range(400)]
    pieces = split_text("\n".join(lines), 1000)
    assert all(utf16_len(p) <= 1000 for p in pieces) and len(pieces) > 1
    assert "\n".join(pieces).split("\n") == lines  # nothing lost, no line cut


def test_a_line_too_long_alone_is_cut_without_splitting_a_character() -> None:
    emoji = "🙂" * 3000  # 6,000 UTF-16 code units
    pieces = split_text("head\n" + emoji, 4096)
    assert [utf16_len(p) for p in pieces] == [4, 4096, 6000 - 4096]
    assert "".join(pieces[1:]) == emoji
    wecom = split_text("汉" * 1000, 2048, utf8_len)  # 3 bytes a character
    assert [utf8_len(p) for p in wecom] == [2046, 954]


def test_parts_are_numbered_in_the_readers_language_and_keep_buttons_on_the_last() -> None:
    yes = (Button("确认", "3|confirm|"),)
    long = Reply("\n".join(["很长的一行文字" * 30] * 60), (yes,), expects_text=True, chat="9")
    parts = split_reply(long, TELEGRAM, ZH)
    assert len(parts) == 4 and [p.text[:5] for p in parts] == ["（1/4）", "（2/4）", "（3/4）", "（4/4）"]
    assert all(utf16_len(p.text) <= 4096 for p in parts) and {p.chat for p in parts} == {"9"}
    assert [p.buttons for p in parts] == [(), (), (), (yes,)] and [p.expects_text for p in parts][-1]
    assert split_reply(Reply("x\n" * 3000), TELEGRAM, EN)[0].text.startswith("(1/2) x")


def test_a_caption_too_long_goes_as_text_before_the_picture() -> None:
    chart = Path("chart.png")
    assert split_reply(Reply("图" * 1024, image=chart), TELEGRAM, ZH) == [Reply("图" * 1024, image=chart)]
    parts = split_reply(Reply("图" * 1025, image=chart), TELEGRAM, ZH)
    assert parts == [Reply("图" * 1025), Reply("", image=chart)]


def test_a_keyboard_past_the_limit_is_paged_with_its_last_row_kept() -> None:
    rows = (*((Button(f"指标{i}", f"1|pick|i{i}"),) for i in range(105)), (Button("取消", "1|cancel|"),))

    def more(nxt: int, now: int, pages: int) -> Button:
        return Button(f"more {now + 1}/{pages}", f"1|more|{nxt}")

    first = page_rows(rows, 100, 0, more)
    labels = [b.label for row in first for b in row]
    assert len(labels) == 100 and labels[:2] == ["指标0", "指标1"] and labels[-2:] == ["more 1/2", "取消"]
    second = [b.label for row in page_rows(rows, 100, 1, more) for b in row]
    assert second[0] == "指标98" and second[-3:] == ["指标104", "more 2/2", "取消"]
    assert [b.payload for row in page_rows(rows, 100, 1, more) for b in row][-2] == "1|more|0"  # back to the first
    assert page_rows(rows[:99], 100, 0, more) == rows[:99]
