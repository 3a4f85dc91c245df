"""Conversations people really have (issue #13), on the console: prompts answered in words, nothing half-said
lost, sentences that carry their context, everyday questions, pushed buttons reachable by typing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal

from sqlalchemy import select

from bot.bootstrap import bootstrap
from bot.config import Settings
from bot.db.models import FigureRow
from bot.messages import Inbound
from support import TestBot

HTE = "High-tech enterprises (total certified)"


@contextlib.contextmanager
def bot_at(env: dict[str, str], now: str) -> Iterator[TestBot]:
    """A console bot whose clock stands at now."""
    app = bootstrap(Settings.from_env(dict(env, PLANBOT_NOW=now)))
    try:
        yield TestBot(app)
    finally:
        app.close()


def contact_says(bot: TestBot, who: str, unit: str, *texts: str) -> None:
    """A contact of unit (in Chinese) sends texts one after another."""
    bot.join(who, "contact", unit, lang="zh")
    for text in texts:
        bot.say(who, text)


def figures(bot: TestBot) -> list[tuple[str, str, Decimal, str | None]]:
    with bot.app.uow() as s:
        return [(f.unit.code, f.period, f.value, f.note)
                for f in s.scalars(select(FigureRow).order_by(FigureRow.id))]


def test_a_confirmation_answered_in_words_zh(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    words = ("确认", "是", "好的", "对", "没问题", "确定", "提交", "可以", "行", "嗯",
             "ok", "yes", "y", "确认。", "好！")
    for n, word in enumerate(words, 10):
        out = testbot.say("alice", f"高新技术企业 {n}家")
        if n > 10:
            assert "更正理由" in out
            out = testbot.say("alice", "数据更新")
        assert "请确认" in out
        out = testbot.say("alice", word)
        assert ("已填报" if n == 10 else "已更正") in out, (word, out)
    assert figures(testbot) == [("panshan", "2018Q3", Decimal(9 + len(words)), None)]


def test_an_unrecognised_reply_re_asks_and_keeps_the_prompt(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高新技术企业 12家")
    out = testbot.say("alice", "blah blah")
    assert "is not one of the choices" in out and "Please confirm" in out and "[1] Confirm" in out
    out = testbot.say("alice", "？")
    assert "confirm saves it" in out and "Please confirm" in out
    out = testbot.say("alice", "/help")
    assert "confirm saves it" in out and "[1] Confirm" in out
    assert "Saved" in testbot.say("alice", "1")
    assert figures(testbot) == [("panshan", "2018Q3", Decimal(12), None)]


def test_edit_cancel_and_later_in_words(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    testbot.say("alice", "高企 12家")
    assert "请发送" in testbot.say("alice", "修改")
    assert "13家" in testbot.say("alice", "13")
    assert "已填报" in testbot.say("alice", "提交")
    assert "稍后" in "".join(testbot.labels("alice")) or testbot.labels("alice")
    assert "已取消" in testbot.say("alice", "以后再说")
    testbot.say("alice", "科小 20家")
    assert "已取消" in testbot.say("alice", "算了")
    assert [f[2] for f in figures(testbot)] == [Decimal(13)]


def test_a_question_at_a_prompt_is_answered_and_the_prompt_kept(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高企 12家")
    out = testbot.say("alice", "/whoami")
    assert "contact" in out and "Back to where we were" in out and "Please confirm" in out
    assert "Saved" in testbot.say("alice", "确认")


def test_a_stage_chosen_by_name_and_guided_choice_by_alias(testbot: TestBot) -> None:
    testbot.join("zone", "contact", "sci_tech_bureau", lang="zh")
    out = testbot.say("zone", "填报")
    assert "请选择" in out or "选择" in out
    out = testbot.say("zone", "国家级高新区")
    assert "申报准备就绪" in out
    out = testbot.say("zone", "申报准备就绪")
    assert "请确认" in out and "申报准备就绪" in out
    assert "已填报" in testbot.say("zone", "确认")


def test_a_new_report_while_one_awaits_confirmation_is_kept(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "研究院 2家")
    out = testbot.say("alice", "创新团队 1个")
    assert "I have kept “创新团队 1个”" in out and "Please confirm" in out
    out = testbot.say("alice", "1")
    assert "Saved: Industrial technology research institutes" in out and "earlier message" in out
    assert "Innovation teams" in out and "Please confirm" in out
    testbot.say("alice", "1")
    assert [(f[1], f[2]) for f in figures(testbot)] == [("2018Q3", Decimal(2)), ("2018Q3", Decimal(1))]


def test_period_words_resolved_against_the_clock_and_cadence(testbot: TestBot) -> None:
    testbot.join("dawa", "contact", "dawa")
    for said, label in (("二季度高企11家", "2018Q2"), ("第二季度 高企 11家", "2018Q2"), ("上季度 高企 11家", "2018Q3"),
                        ("Q2 高企 11家", "2018Q2"), ("6月底 高企 11家", "2018Q2"), ("去年底 高企 9家", "2017"),
                        ("2018年6月 高企11家", "2018Q2")):
        out = testbot.say("dawa", said)
        assert f"{label}: " in out and "Please confirm" in out, (said, out)
        testbot.say("dawa", "取消")
    assert "not one of its periods" in testbot.say("dawa", "2018年5月 高企11家")
    assert "not one of its periods" in testbot.say("dawa", "6月 创新团队 1个")  # a month's flow is not a quarter's


def test_a_unit_named_in_the_sentence(testbot: TestBot) -> None:
    testbot.join("dawa", "contact", "dawa")
    assert "cannot report for Panshan County Government" in testbot.say("dawa", "盘山高企12家")
    testbot.join("root", "admin")
    out = testbot.say("root", "盘山县 高企 15家")
    assert "Panshan County Government, " + HTE in out
    testbot.say("root", "确认")
    testbot.say("root", "/report 兴隆台")
    assert "Xinglongtai District Government, " + HTE in testbot.say("root", "高企 7家")
    testbot.say("root", "确认")
    assert sorted((f[0], f[2]) for f in figures(testbot)) == [("panshan", Decimal(15)), ("xinglongtai", Decimal(7))]


def test_signs_approximations_notes_fractions_measure_words(testbot: TestBot) -> None:
    testbot.join("bureau", "contact", "sci_tech_bureau")
    out = testbot.say("bureau", "技术合同成交额增速下降2.5%")
    assert "-2.5%" in out and "Please confirm" in out
    testbot.say("bureau", "取消")
    testbot.join("alice", "contact", "panshan")
    for approx in ("高企约12家", "高企12家左右", "高企十多家", "高企12余家"):
        assert "approximate figure" in testbot.say("alice", approx), approx
    assert "whole" in testbot.say("alice", "高企 3.5家")
    out = testbot.say("alice", "高企 12家 备注：含2家新认定")
    assert "Note: 含2家新认定" in out and "12 enterprises" in out
    testbot.say("alice", "确认")
    for sentence in ("高企 13个", "攻关项目3个", "研究院 1个"):
        out = testbot.say("alice", sentence)
        assert "Please confirm" in out or "Why change it" in out, (sentence, out)
        testbot.say("alice", "取消")
    testbot.join("hr", "contact", "hr_social_security_bureau")
    assert "3 person-times" in testbot.say("hr", "企业家培训 三个人")
    testbot.say("hr", "取消")
    assert figures(testbot) == [("panshan", "2018Q3", Decimal(12), "含2家新认定")]


def test_cumulative_wording_for_a_flow(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "2018年二季度 创新团队 3个")
    testbot.say("alice", "确认")
    out = testbot.say("alice", "累计引进创新团队5个")
    assert "2 teams added this period" in out and "running total of 5 teams" in out and "3 teams" in out
    testbot.say("alice", "确认")
    assert [(f[1], f[2]) for f in figures(testbot)] == [("2018Q2", Decimal(3)), ("2018Q3", Decimal(2))]


def test_an_increase_given_for_a_total_asks_for_the_total(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    testbot.say("alice", "二季度高企60家")
    testbot.say("alice", "确认")
    out = testbot.say("alice", "今年新增高新技术企业12家")  # 12 new ones: not a total of 12
    assert "按每期期末总数填报" in out and "上次报送：2018Q2为60家" in out and "请发送期末总数" in out
    assert "请确认" not in out
    out = testbot.say("alice", "新增12家")  # again, at the total's prompt: refused, the prompt kept
    assert "请发送期末总数" in out and "请确认" not in out
    assert "请确认" in testbot.say("alice", "72家")
    testbot.say("alice", "确认")
    assert [(f[1], f[2]) for f in figures(testbot)] == [("2018Q2", Decimal(60)), ("2018Q3", Decimal(72))]


def test_a_refused_figure_asks_the_question_again_and_keeps_it(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    testbot.say("alice", "/report")
    assert "请发送期末总数" in testbot.say("alice", "高新技术企业")
    out = testbot.say("alice", "高企现在多少家")
    assert "无法识别数字" in out and "请发送期末总数" in out  # what is wanted, asked again under the refusal
    out = testbot.say("alice", "帮助")  # the question is still the open one after a refusal
    assert "正在等待该指标的数值" in out and "请发送期末总数" in out
    testbot.say("alice", "/whoami")  # a command answered in between leaves the question open too
    assert "请发送期末总数" in testbot.say("alice", "帮助")
    assert "请确认" in testbot.say("alice", "72")


def test_switching_language_keeps_the_step_in_progress(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    testbot.say("alice", "高企72家")
    out = testbot.say("alice", "/language en")  # before, the figure awaiting confirmation was dropped
    assert "Language set: English." in out and "请确认" in out
    out = testbot.say("alice", "/language")  # the picker is a step of its own: it waits for this one
    assert "I have kept “/language”" in out and out.count("Back to where we were:") == 1
    out = testbot.say("alice", "确认")
    assert "Saved" in out and "Choose your language:" in out
    assert [(f[1], f[2]) for f in figures(testbot)] == [("2018Q3", Decimal(72))]


def test_a_typo_in_a_name_is_matched_by_similarity(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    out = testbot.say("alice", "高心技术企业 12家")
    assert "您是说高新技术企业总数吗" in out
    assert "请确认" in testbot.say("alice", "是")


def test_questions_in_everyday_words(testbot: TestBot) -> None:
    testbot.join("lee", "leader", lang="zh")
    assert "尚未报送" in testbot.say("lee", "哪些单位迟报了") or "未报送" in testbot.last_text("lee")
    assert "兴隆台" in testbot.say("lee", "哪个县还没报")
    assert "高新技术企业总数" in testbot.say("lee", "高企有多少了")
    assert "全社会研究与开发经费占GDP比重" in testbot.say("lee", "研发强度现在多少")
    out = testbot.say("lee", "/status 科技型")
    assert "科技型中小企业总数" in out and "[1]" in out
    assert "科技型中小企业总数" in testbot.say("lee", "1")
    testbot.say("lee", "/language en")
    assert "Xinglongtai" in testbot.say("lee", "who is late")
    assert "Xinglongtai" in testbot.say("lee", "which units are late")
    assert "Reporting rates" in testbot.say("lee", "reporting by unit")
    assert "Technology-based SMEs" in testbot.say("lee", "how are tech SMEs doing")


def test_source_by_an_english_name(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")
    testbot.say("alice", "高企 12家")
    testbot.say("alice", "确认")
    testbot.join("lee", "leader")
    assert "Panshan County Government, 2018Q3" in testbot.say("lee", "/source high-tech enterprises")


def test_broadcast_keeps_the_text_byte_for_byte_and_audience_by_name(testbot: TestBot) -> None:
    testbot.join("root", "admin", lang="zh")
    text = "请于１０日前报送三季度数据，谢谢！  （市科技局）"
    out = testbot.say("root", "/broadcast " + text)
    assert "请选择发送对象" in out
    out = testbot.say("root", "全体")
    assert text in out
    assert "已排队" in testbot.say("root", "发送") or "通知" in testbot.last_text("root")
    from bot.db.outbox_models import NoticeRow

    with testbot.app.uow() as s:
        assert [n.text for n in s.scalars(select(NoticeRow))] == [text]


def test_a_greeting_is_greeted_back_in_private_and_left_alone_in_a_group(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan", lang="zh")
    out = testbot.say("alice", "你好")
    assert "您好！" in out and "您可以：" in out  # before: "抱歉，未能理解您的意思"
    assert "您好！" not in testbot.say("alice", "/help")  # help asked for is not a greeting
    said_in_group = Inbound(channel="console", sender="alice", chat="-100", message_id="g-1", text="张科长你好",
                            is_group=True)
    assert testbot.console.router.handle(said_in_group).replies == []  # a greeting in a group is not for the bot


def test_a_notice_and_an_invite_asked_for_in_words(testbot: TestBot) -> None:
    testbot.join("root", "admin", lang="zh")
    help_text = testbot.say("root", "帮助")
    assert "发通知" in help_text and "通知情况" in help_text  # an admin is told how to send and follow notices
    assert "请发送通知内容" in testbot.say("root", "发通知")
    text = "请于１０日前报送三季度数据，谢谢！  （市科技局）"
    assert "请选择发送对象" in testbot.say("root", text)  # the next message is the notice, as typed
    testbot.say("root", "全体")
    testbot.say("root", "发送")
    assert "请选择发送对象" in testbot.say("root", "发通知：" + text + "（二）")  # the words after 发通知, as typed
    testbot.say("root", "全体")
    testbot.say("root", "发送")
    from bot.db.outbox_models import NoticeRow

    with testbot.app.uow() as s:
        assert [n.text for n in s.scalars(select(NoticeRow))] == [text, text + "（二）"]
    assert "盘山县人民政府单位联络员邀请码" in testbot.say("root", "邀请盘山县联系人")
    assert "领导邀请码" in testbot.say("root", "邀请一位领导")


def test_console_people_sign_a_notice_and_act_on_a_reminder_by_typing(testbot: TestBot) -> None:
    import asyncio
    from datetime import datetime

    from bot.channels.console import ConsoleSender
    from bot.views import notices as notice_views
    from reminders.dispatch import dispatch
    from reminders.scheduler import Ticker

    testbot.join("c0", "contact", "panshan", lang="zh")
    testbot.join("ada", "admin")
    testbot.say("ada", "/broadcast 请于10月20日前报送三季度数据")
    testbot.say("ada", "everyone")
    assert "queued" in testbot.say("ada", "send")
    sender = ConsoleSender()
    asyncio.run(dispatch(testbot.app.uow, sender, testbot.app.clock.now))
    assert any(chat == "c0" for chat, _ in sender.delivered)
    assert "签收" in testbot.say("c0", "收到")
    with testbot.app.uow() as s:
        notice = notice_views.recent(s)[0]
        assert notice_views.stats(s, notice.id).signed == 1
    assert "未能理解" in testbot.say("c0", "收到")  # pressed once: no longer a current choice
    at = datetime.fromisoformat("2018-10-15T09:00:00+08:00")
    assert Ticker(testbot.app, [], catch_up_workdays=1).sweep_now(at).queued > 0
    asyncio.run(dispatch(testbot.app.uow, sender, lambda: at))
    assert any(chat == "c0" and "2018Q3" in text for chat, text in sender.delivered[1:])
    out = testbot.say("c0", "立即填报")
    assert "盘山县人民政府" in out and "[1]" in out


def test_cancel_said_in_words_at_every_step(testbot: TestBot) -> None:
    testbot.join("alice", "contact", "panshan")  # an English speaker typing Chinese: buttons read Confirm/Edit/Cancel
    testbot.say("alice", "高企 12家")
    assert "Cancelled" in testbot.say("alice", "不对，取消")
    testbot.say("alice", "/report")
    testbot.say("alice", "1")
    assert "Cancelled" in testbot.say("alice", "算了不报了")  # at the figure's prompt: not read as a figure
    testbot.say("alice", "高企 12家")
    testbot.say("alice", "confirm")
    testbot.say("alice", "/correct 高企 13家")
    assert "Cancelled" in testbot.say("alice", "cancel that")  # at the reason's prompt: not taken as the reason
    testbot.say("alice", "/correct 高企 13家")
    out = testbot.say("alice", "有2家企业资格取消了")  # a reason that mentions 取消 is a reason
    assert "Please confirm" in out and "有2家企业资格取消了" in out
    assert "Corrected" in testbot.say("alice", "yes that's correct")
    assert [f[2] for f in figures(testbot)] == [Decimal(13)]


def test_a_step_left_too_long_ends_and_says_what_was_dropped(testbot: TestBot) -> None:
    from datetime import timedelta

    clock = testbot.app.clock
    assert testbot.app.settings.conversation_timeout == 30
    testbot.join("alice", "contact", "panshan", lang="zh")
    testbot.say("alice", "高企 12家")
    clock.set(clock.now() + timedelta(minutes=29))
    assert "已填报" in testbot.say("alice", "确认")  # within the timeout: the step waits
    testbot.say("alice", "科小 20家")
    testbot.say("alice", "研究院 2家")  # kept while the first awaits confirmation
    clock.set(clock.now() + timedelta(minutes=31))
    out = testbot.say("alice", "确认")  # meant for the dropped step: the notice alone, nothing saved
    assert "30分钟" in out and "科技型中小企业总数" in out and "20家" in out and "未保存" in out, out
    assert "研究院 2家" in out and "未能理解" not in out
    assert "未能理解" in testbot.say("alice", "确认")  # the step is over
    testbot.say("alice", "科小 20家")
    clock.set(clock.now() + timedelta(hours=2))
    out = testbot.say("alice", "我是谁")  # anything else is answered after the notice
    assert "科技型中小企业总数" in out and "联络员" in out
    assert [(f[2]) for f in figures(testbot)] == [Decimal(12)]


def test_a_leader_asks_whether_a_years_targets_were_met(env: dict[str, str]) -> None:
    """After a milestone date, "2018年目标完成了吗" gives that year's milestone results; with an indicator named, that
    indicator; in English too."""
    with bot_at(env, "2019-01-15T10:00:00+08:00") as bot:
        contact_says(bot, "sci", "sci_tech_bureau", "2018年四季度 高企79家", "确认")
        bot.join("lee", "leader", lang="zh")
        out = bot.say("lee", "2018年目标完成了吗")
        assert "节点目标完成情况" in out and "2018年12月31日，目标80家以上：未达成，2018Q4为79家" in out
        assert "2020年12月31日" not in out  # the year asked about, not the whole plan
        assert "2020年12月31日" in bot.say("lee", "目标完成情况")  # no year named: every milestone
        assert "2020年12月31日" not in bot.say("lee", "去年的目标完成了吗")  # (it is 2019)
        out = bot.say("lee", "高企目标完成了吗")
        assert "高新技术企业总数" in out and "科技型中小企业总数" not in out
        bot.say("lee", "/language en")
        out = bot.say("lee", "were the 2018 targets met?")
        assert "Milestone results" in out and "Dec 31, 2020" not in out
        assert "not reached" in out


def test_a_leader_asks_whether_targets_still_ahead_will_be_met(env: dict[str, str]) -> None:
    """Before a milestone's date, "2020年目标能完成吗" says where the current pace leads by that date, target by target;
    with an indicator named, that indicator's later milestones say it too."""
    with bot_at(env, "2018-10-15T10:00:00+08:00") as bot:
        contact_says(bot, "sci", "sci_tech_bureau", "2018年二季度 高企60家", "确认", "2018年三季度 高企70家", "确认")
        bot.join("lee", "leader", lang="zh")
        out = bot.say("lee", "2020年目标能完成吗")
        # +10 a quarter (92 days, Jun 30 → Sep 30): 70 + 10 × 823 / 92 ≈ 159 by Dec 31, 2020
        assert "2020年12月31日，目标超过100家：未到期；按当前进度届时预计159家，可望达成" in out
        assert "2018年12月31日" not in out
        out = bot.say("lee", "高企2020年目标能实现吗")
        assert "节点：2020年12月31日，目标超过100家：未到期；按当前进度届时预计159家，可望达成" in out
        bot.say("lee", "/language en")
        out = bot.say("lee", "will we meet the 2020 targets?")
        assert "at the current pace 159 enterprises by then, on course" in out


def test_a_leader_asks_about_one_unit(env: dict[str, str]) -> None:
    """"盘山县情况怎么样", "盘山县报了没有" and "/units 盘山县" give that unit: its reporting record, what it still
    owes and its latest figures (before, the first was "no indicator matches 盘山县", the second not understood)."""
    with bot_at(env, "2018-10-15T10:00:00+08:00") as bot:
        contact_says(bot, "pan", "panshan", "2018年二季度 高企13家", "确认")
        bot.join("lee", "leader", lang="zh")
        for question in ("盘山县情况怎么样", "盘山县报了没有", "/units 盘山县"):
            out = bot.say("lee", question)
            assert out.startswith("盘山县人民政府（截至2018年10月15日）："), (question, out)
            assert "尚未报送：\n  • " in out and "高新技术企业总数（2018Q3，2018年10月10日截止）" in out
            assert "最新数据：\n  高新技术企业总数：13家（2018Q2）" in out
        assert "大洼区人民政府" in bot.say("lee", "各单位报送情况")  # no unit named: the league table as before
        bot.say("lee", "/language en")
        out = bot.say("lee", "how is Panshan doing")
        assert "Panshan County Government, as of Oct 15, 2018:" in out and "13 enterprises for 2018Q2" in out
