"""Conversations through the console channel, on SQLite and PostgreSQL: report, correct, ask, refuse."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.chat_models import AuditRow, InviteRow
from bot.db.models import FigureRevisionRow, FigureRow
from bot.domain.period import parse_period
from bot.messages import Inbound
from bot.services.figures import Entry, submit
from bot.services.people import create_invite, looks_like_code
from bot.services.plans import active_plan
from support import TestBot

HTE = "High-tech enterprises (total certified)"
SMES = "Technology-based SMEs (total)"


def figures(bot: TestBot) -> list[tuple[str, Decimal, str]]:
    with bot.app.uow() as s:
        return [(f.period, f.value, f.via) for f in s.scalars(select(FigureRow).order_by(FigureRow.id))]


def test_guided_report_confirm_and_next(testbot: TestBot) -> None:
    assert "unit contact for Panshan" in testbot.join("alice", "contact", "panshan")
    out = testbot.say("alice", "/report")
    assert "7 of 7 indicators still to report" in out and f"[1] {HTE} (2018Q3)" in out
    assert "please send the total at the end of the period" in testbot.say("alice", "1")
    confirm = testbot.say("alice", "12家")
    assert f"Please confirm: Panshan County Government, {HTE}, 2018Q3: 12 enterprises" in confirm
    out = testbot.say("alice", "1")
    assert f"Saved: {HTE}, 2018Q3: 12 enterprises." in out and f"Next: {SMES}?" in out
    assert figures(testbot) == [("2018Q3", Decimal(12), "console")]
    out = testbot.say("alice", "which targets are lagging?")  # a question she may not ask: the step is asked again
    assert "Only leaders" in out and f"Next: {SMES}?" in out
    assert "Saved:" not in out  # the question again, without the news of the save that came with it
    assert "6 of 7" in testbot.say("alice", "填报")


def test_one_shot_in_chinese_numerals_and_correction_keeps_history(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    assert "105 enterprises" in testbot.say("alice", "科技型中小企业：一百零五")
    testbot.say("alice", "1")
    out = testbot.say("alice", "更正 科技型中小企业 110家")
    assert "already has 105 enterprises" in out and "reason" in out
    testbot.say("alice", "统计口径调整")
    assert "105 enterprises → 110 enterprises" in testbot.say("alice", "1")
    with testbot.app.uow() as s:
        revs = [(r.value, r.previous_value, r.reason) for r in s.scalars(select(FigureRevisionRow))]
    assert revs == [(Decimal(105), None, None), (Decimal(110), Decimal(105), "统计口径调整")]


def test_figures_that_do_not_fit_are_refused_politely(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    assert "not 人" in testbot.say("alice", "高新技术企业 12人")
    assert "more than one number" in testbot.say("alice", "高企12家，科小15家")
    assert "not as a percentage" in testbot.say("alice", "高新技术企业 12%")
    testbot.say("alice", "填报")
    testbot.say("alice", "1")
    assert "cannot be negative" in testbot.say("alice", "-3")
    assert "not a number I can read" in testbot.say("alice", "很多")
    assert "above the highest sensible value" in testbot.say("alice", "99999999")
    assert "Please confirm" in testbot.say("alice", "12")  # still in the same step after the errors
    assert figures(testbot) == []


def test_ratio_reported_by_the_lead_unit(testbot: TestBot) -> None:
    testbot.join("bureau", "contact", "sci_tech_bureau")
    assert "80%" in testbot.say("bureau", "研发机构比例80%")
    testbot.say("bureau", "1")
    assert figures(testbot) == [("2018Q3", Decimal("80"), "console")]


def test_an_annual_statistic_is_asked_for_the_last_year(testbot: TestBot) -> None:
    testbot.join("bureau", "contact", "sci_tech_bureau")  # in October 2018, R&D/GDP is known for 2017 only
    assert "2.3%" in testbot.say("bureau", "研发经费占比2.3%")
    testbot.say("bureau", "1")
    assert figures(testbot) == [("2017", Decimal("2.3"), "console")]


def test_a_half_finished_report_survives_a_restart(testbot: TestBot, chat_env: dict[str, str]) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "填报")
    testbot.say("alice", "2")
    testbot.app.close()
    again = TestBot(bootstrap(Settings.from_env(chat_env)))
    try:
        assert f"{SMES}, 2018Q3: 88 enterprises" in again.say("alice", "88")
        assert "Saved" in again.say("alice", "1")
    finally:
        again.app.close()


def test_the_same_message_id_is_handled_once(testbot: TestBot) -> None:
    code = testbot.invite("leader")
    inbound = Inbound(channel="console", sender="zoe", chat="zoe", message_id="m-1", text=code, lang_hint="en")
    first = testbot.console.router.handle(inbound)
    second = testbot.console.router.handle(inbound)
    assert "Welcome" in first.replies[0].text
    assert second.duplicate and second.replies == []


def test_refusals_by_role(testbot: TestBot) -> None:
    assert "not registered yet" in testbot.say("nobody", "填报", lang="en")
    assert "not registered yet" in testbot.say("nobody", "高新技术企业 12家")
    testbot.join("alice", "contact", "panshan")
    assert "only report for your own unit" in testbot.say("alice", "/report 兴隆台区")
    assert "Only administrators" in testbot.say("alice", "/invite 兴隆台区 contact")
    assert "Only leaders" in testbot.say("alice", "哪些指标滞后")
    assert "does not report" in testbot.say("alice", "研发经费占比2.3%")
    testbot.join("lee", "leader")
    assert "Only unit contacts" in testbot.say("lee", "填报")


def test_invite_codes_single_use_expiry_and_lockout(testbot: TestBot) -> None:
    code = testbot.invite("contact", "dawa")
    assert "Welcome" in testbot.say("a", code, lang="en")
    assert "already been used" in testbot.say("b", code, lang="en")
    with testbot.app.uow.begin() as s:
        row, _ = active_plan(s)
        old, _ = create_invite(s, row, "leader", None, timedelta(days=7), "test",
                               testbot.app.clock.now() - timedelta(days=8))
    assert "expired" in testbot.say("c", old, lang="en")
    for _ in range(4):  # with the expired one, five wrong codes
        assert "not valid" in testbot.say("c", "x" * 24)
    assert "Too many wrong codes" in testbot.say("c", testbot.invite("leader"))
    assert "Welcome" in testbot.say("d", testbot.invite("leader"), lang="en")  # others are not locked out
    with testbot.app.uow() as s:
        actions = [a.action for a in s.scalars(select(AuditRow))]
    assert actions.count("invite.redeem") == 2 and actions.count("invite.create") == 4


def test_an_invite_code_that_holds_a_keyword_is_still_a_code(testbot: TestBot) -> None:
    # codes are random URL-safe text: now and then one holds "-ok-", "_help" or "y" between separators
    code = "Zq7-OK-help_y-3xJd9Lp2sW"
    assert looks_like_code(code)
    testbot.invite("leader")
    with testbot.app.uow.begin() as s:
        row = s.scalars(select(InviteRow).order_by(InviteRow.id.desc())).first()
        assert row is not None
        row.code_hash = hashlib.sha256(code.encode()).hexdigest()
    assert "Welcome" in testbot.say("zoe", code, lang="en")
    assert "Targets needing attention" in testbot.say("zoe", "which targets are lagging?")  # bound as a leader


def test_the_invite_lockout_lasts_15_minutes_and_counts_only_the_last_15(testbot: TestBot) -> None:
    """Wrong codes older than 15 minutes stop counting; a lock lifts 15 minutes after the last wrong code, and the
    count starts again from nothing."""
    clock, t0 = testbot.app.clock, testbot.app.clock.now().replace(hour=10, minute=0, second=0, microsecond=0)
    clock.set(t0)
    for _ in range(3):
        assert "not valid" in testbot.say("e", "x" * 24, lang="en")
    clock.set(t0 + timedelta(minutes=16))  # those three no longer count
    for _ in range(2):
        assert "not valid" in testbot.say("e", "y" * 24, lang="en")
    assert "Welcome" in testbot.say("e", testbot.invite("leader"), lang="en")  # 2 in the window, not 5

    clock.set(t0 + timedelta(minutes=20))
    for _ in range(5):
        assert "not valid" in testbot.say("g", "z" * 24, lang="en")
    code = testbot.invite("contact", "dawa")
    assert "Too many wrong codes. Please try again after 10:35." in testbot.say("g", code, lang="en")
    clock.set(t0 + timedelta(minutes=34))
    assert "Too many wrong codes" in testbot.say("g", code, lang="en")
    clock.set(t0 + timedelta(minutes=36))  # the lock has lifted, and the count starts again
    for _ in range(4):
        assert "not valid" in testbot.say("g", "w" * 24, lang="en")
    assert "Welcome" in testbot.say("g", code, lang="en")


def test_stale_and_forged_buttons_are_refused(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "填报")
    stale = testbot.last["alice"][0]
    testbot.say("alice", "取消")
    assert "no longer valid" in "\n".join(r.text for r in testbot.console.press("alice", stale))
    assert "not valid" in "\n".join(r.text for r in testbot.console.press("alice", "9|drop_tables|x"))
    assert figures(testbot) == []


def test_leader_questions_and_language(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    testbot.say("alice", "1")
    testbot.join("lee", "leader", lang="zh")
    out = testbot.say("lee", "/language en")
    assert "English" in out
    out = testbot.say("lee", "which targets are lagging?")
    assert "As of Oct 15, 2018" in out and "Targets needing attention" in out
    out = testbot.say("lee", "who has not reported?")
    assert "Xinglongtai District Government" in out and "Panshan" not in out.split(HTE)[0]
    out = testbot.say("lee", "/status 高企")
    assert "Panshan County Government: 12 enterprises" in out


def test_nobody_is_left_in_silence(testbot: TestBot) -> None:
    assert "invite code" in testbot.say("x", "hello there", lang="en")
    testbot.join("lee", "leader")
    out = testbot.say("lee", "asdfgh")
    assert "did not understand" in out and "/lagging" in out
    assert "do not know that command" in testbot.say("lee", "/frobnicate")


def test_the_source_of_a_figure_with_its_corrections(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    testbot.say("alice", "1")
    testbot.say("alice", "更正 高企 13家")
    testbot.say("alice", "数错了")
    testbot.say("alice", "1")
    testbot.join("lee", "leader")
    status = testbot.console.send("lee", "/status 高企")
    payload = status[0].flat_buttons[0].payload
    assert status[-1].image is not None and status[-1].image.exists()  # the chart
    assert payload == "0|source|hightech_enterprises"
    out = "\n".join(r.text for r in testbot.console.press("lee", payload))
    assert "Panshan County Government, 2018Q3:" in out
    assert "12 enterprises, reported by console:alice (alice)" in out and "via console" in out
    assert "corrected 12 enterprises → 13 enterprises by console:alice (alice)" in out and "reason: “数错了”" in out
    assert "Sources of" in testbot.say("alice", "/source 高企")  # a contact sees their own unit's
    assert "only report for your own unit" in testbot.say("alice", "/source 高企 兴隆台区")


def test_a_long_source_list_says_what_it_leaves_out(testbot: TestBot) -> None:
    with testbot.app.uow() as s:
        _, plan = active_plan(s)
    ind = plan.indicator("hightech_enterprises")
    now = testbot.app.clock.now()
    for u in ind.reporters:  # each unit's figure reported, then corrected 8 times: ten lines a unit
        entry = Entry(plan.unit(u), ind, parse_period("2018Q3"), Decimal(10), None, None)
        submit(testbot.app.uow, entry, "test", "console", now)
        for k in range(1, 9):
            submit(testbot.app.uow, replace(entry, value=Decimal(10 + k), reason="typo"), "test", "console", now)
    testbot.join("lee", "leader")
    out = testbot.say("lee", "/source 高企")
    shown = out.count("• ")
    assert len(ind.reporters) * 10 > 60 and 0 < shown < len(ind.reporters)  # whole figures, as many as fit
    assert out.count("reported by") == shown and out.count("corrected") == 8 * shown
    assert f"… and {len(ind.reporters) - shown} more figures: name a unit or a period to see them" in out
    last = plan.unit(sorted(ind.reporters)[-1]).name.get("en")
    one = testbot.say("lee", f"/source 高企 {last}")
    assert one.count("• ") == 1 and "more figures" not in one and one.count("corrected") == 8


def test_league_table_and_workbook_in_chat(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    testbot.say("alice", "1")
    testbot.join("lee", "leader")
    out = testbot.say("lee", "各单位报送情况")
    assert "Reporting rates, worst first" in out and "Xinglongtai District Government" in out
    assert "Only leaders" in testbot.say("alice", "/units")
    replies = testbot.console.send("lee", "/export")
    path = replies[0].document
    assert path is not None and path.suffix == ".xlsx" and path.exists()
    from openpyxl import load_workbook

    wb = load_workbook(path)
    assert wb.sheetnames[0] == "Summary" and "Provenance" in wb.sheetnames


def test_after_the_plan_has_ended_the_final_period_is_asked_for(env: dict[str, str]) -> None:
    from bot.bootstrap import bootstrap as boot
    from bot.config import Settings as Cfg

    app = boot(Cfg.from_env(dict(env, PLANBOT_NOW="2026-11-25T10:00:00+08:00")))
    try:
        bot = TestBot(app)
        bot.join("alice", "contact", "panshan")
        assert "(2020Q4)" in bot.say("alice", "填报")
        assert "2020Q4: 105 enterprises" in bot.say("alice", "科技型中小企业：一百零五")
        assert "Saved" in bot.say("alice", "1")
    finally:
        app.close()


def test_a_chart_is_drawn_once_and_redrawn_when_its_figures_change(testbot: TestBot) -> None:
    testbot.join("lee", "leader")
    first = testbot.console.send("lee", "/lagging")[-1].image
    assert first is not None and first.exists()
    drawn_at = first.stat().st_mtime_ns
    testbot.join("kim", "leader")  # another leader asking the same question gets the same picture
    again = testbot.console.send("kim", "/lagging")[-1].image
    assert again == first and first.stat().st_mtime_ns == drawn_at
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    testbot.say("alice", "1")
    changed = testbot.console.send("lee", "/lagging")[-1].image
    assert changed is not None and changed != first and changed.exists()
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no half-written pictures left
