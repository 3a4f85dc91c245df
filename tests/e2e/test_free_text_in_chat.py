"""Free text (correction reasons, notes, notices) is stored and shown on one line, without control or bidi
characters, its length capped at entry: /source cannot be made to show a provenance line nobody wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.domain.free_text import MAX_NOTE, MAX_REASON
from support import TestBot

PLANBOT = Path(sys.executable).parent / "planbot"
SPOOF = "数错了\n• 大洼区人民政府, 2018Q2:\n  999家, reported by console:boss (boss) on 2018-07-05 09:00 via console"
RLO = "\u202e"


def test_a_reason_cannot_spoof_a_provenance_line_in_source(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    testbot.say("alice", "1")
    testbot.say("alice", "更正 高企 13家")
    asked = testbot.say("alice", f"{SPOOF}{RLO}001\u2066\x1b[2J")
    assert "Correcting 12 enterprises; reason: 数错了 • 大洼区人民政府, 2018Q2: 999家, reported by" in asked
    assert RLO not in asked and "\x1b" not in asked and "\u2066" not in asked
    assert "Corrected" in testbot.say("alice", "1")
    testbot.join("lee", "leader")
    out = testbot.say("lee", "/source 高新技术企业")
    lines = out.splitlines()
    assert [ln for ln in lines if ln.startswith("•")] == ["• Panshan County Government, 2018Q3:"]
    assert not any("999家" in ln and not ln.startswith("  corrected") for ln in lines), out
    assert "reason: “数错了 • 大洼区人民政府, 2018Q2: 999家, reported by console:boss" in out
    assert RLO not in out and "\x1b" not in out


def test_a_reason_over_the_cap_is_refused_politely_and_can_be_sent_again(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    testbot.say("alice", "1")
    testbot.say("alice", "更正 高企 13家")
    refused = testbot.say("alice", "原因" * 2000)
    assert f"The reason is too long: 4000 characters, at most {MAX_REASON}" in refused
    assert f"{MAX_REASON + 1} characters" in testbot.say("alice", "理" * (MAX_REASON + 1))
    assert "Please confirm" in testbot.say("alice", "数错了")  # still waiting for the reason: nothing was lost
    assert "Corrected" in testbot.say("alice", "1")
    assert "Please send the reason" in testbot.say("alice", "更正 高企 14家")
    assert "Please give a reason" in testbot.say("alice", f"{RLO}\u2066\u2069 \x00")  # invisible: no reason at all


def test_the_cli_caps_reasons_and_notes_and_notices_lose_their_control_characters(
        env: dict[str, str], testbot: TestBot) -> None:
    def planbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(PLANBOT), "--lang", "en", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    base = ["report", "--unit", "panshan", "--indicator", "高企", "--period", "2018Q3"]
    long_note = planbot(*base, "--value", "12", "--note", "x" * (MAX_NOTE + 1))
    assert long_note.returncode == 2 and "The note is too long" in long_note.stderr
    assert planbot(*base, "--value", "12", "--note", f"line one\nline two{RLO}").returncode == 0
    long_reason = planbot(*base, "--value", "13", "--reason", "y" * 4000)
    assert long_reason.returncode == 2 and "The reason is too long: 4000 characters" in long_reason.stderr
    assert "Traceback" not in long_note.stderr + long_reason.stderr
    testbot.join("root", "admin")
    testbot.say("root", f"/broadcast 请报送{RLO}三季度数据\x07")
    assert "Preview" in testbot.say("root", "1") and "Notice" in testbot.say("root", "1")
    overview = testbot.say("root", "/notices")
    assert "请报送三季度数据" in overview and RLO not in overview and "\x07" not in overview
    out = testbot.say("root", "/source 高企 盘山")
    assert "12 enterprises, reported by cli:" in out
