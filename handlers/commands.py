"""The conversation table: every command and button, what handles it, who may use it, its help line and menu entry.

A new command is one handler function and one line here. Commands are matched by their /slash names and keywords
(the longest keyword found in the message wins; on a tie, the one found first in the message); `may` names the
roles allowed (none: anyone); `private` commands are refused in groups; `help` lines are shown to those who may use
the command; `menu` puts it in Telegram's command menu, in table order. Typed free text at a step that expects it
goes to FREE_TEXT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.messages import Reply
from handlers import admin, leaders, notices, onboarding, outgoing, query, report, report_sentence, source
from handlers.context import Ctx, text_reply
from handlers.intents import recognise
from handlers.states import State
from i18n import N_

Handler = Callable[[Ctx, str], list[Reply]]
CONTACT, LEADER, ADMIN = "contact", "leader", "admin"


@dataclass(frozen=True)
class Command:
    """A request a person can make by /name or in words."""

    name: str
    run: Handler
    slash: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    may: tuple[str, ...] = ()
    private: bool = False
    help: tuple[str, ...] = ()
    menu: str | None = None


@dataclass(frozen=True)
class Action:
    """What a button does; `anytime` buttons (in pushed messages and answers) are valid at any step."""

    run: Handler
    may: tuple[str, ...] = ()
    anytime: bool = False
    words: tuple[str, ...] = ()  # what a person may type instead of pressing it (both languages)


def cancel(ctx: Ctx, _: str) -> list[Reply]:
    """Stop what the person was doing."""
    had = bool(ctx.state)
    ctx.reset()
    return [text_reply(ctx.t("Cancelled.") if had else ctx.t("There was nothing to cancel."))]


GREETINGS = ("你好", "您好", "在吗", "在不在", "早上好", "上午好", "下午好", "晚上好", "hello", "hi", "hey",
             "good morning", "good afternoon")


def show_help(ctx: Ctx, _: str) -> list[Reply]:
    """What this person can say; a greeting is greeted back first (in a private chat: in a group it is not for me)."""
    said = recognise(ctx.inbound.text or "", {}, (("greeting", GREETINGS),))  # "hi", not the hi in "this"
    greeted = said is not None and said.name == "greeting"
    if greeted and ctx.inbound.is_group:
        return []
    if greeted:
        return [text_reply(ctx.t("Hello, {name}!", name=ctx.me.display_name) + "\n" + help_text(ctx))]
    return [text_reply(help_text(ctx))]


COMMANDS: tuple[Command, ...] = (
    Command("report", lambda ctx, arg: report.start(ctx, arg), ("/report",), (
                "填报", "报送", "上报", "我要填报", "报数", "报数据", "填数", "怎么报", "如何填报", "怎么填",
                "开始填报", "上报数据", "报数据", "我要报", "要报数", "填数据", "录入数据", "提交数据",
                "report", "how do i report", "how to report", "submit", "how do i submit", "report figures",
                "i want to report", "enter figures", "enter data"),
            may=(CONTACT, ADMIN), private=True, menu=N_("Report this period's figures"),
            help=(N_("• report or /report: report this period's figures, step by step"),
                  N_("• a figure in one sentence, e.g. high-tech enterprises 12"))),
    Command("correct", report_sentence.correct, ("/correct",), (
                "更正", "修正", "改正", "修改数据", "改数据", "改数", "报错了", "填错了要改", "数据有误",
                "correct", "correction", "fix a figure", "fix", "amend"),
            may=(CONTACT, ADMIN), private=True, menu=N_("Correct a figure"),
            help=(N_("• correct or /correct: correct a figure, with a reason"),)),
    Command("lagging", lambda ctx, _: query.lagging(ctx), ("/lagging",),
            ("滞后", "落后", "进度慢", "完成得不好", "完成不好", "没完成", "未完成", "拖后腿", "lagging", "behind",
             "不达标", "没达标", "未达标", "达不到", "完不成", "进度不够",
             "哪些指标", "which targets", "which indicators", "behind schedule", "off track", "off-track",
             "falling behind", "anything behind", "not on track", "at risk"), may=(LEADER,),
            help=(N_("• which targets are lagging? or /lagging: targets behind their pace"),),
            menu=N_("Targets behind their pace")),
    Command("status", query.status, ("/status",),
            ("进展", "进度", "怎么样", "如何", "情况", "多少", "有多少", "占比", "比重", "完成了多少", "达到多少",
             "多少家", "status", "progress", "how is", "how are", "how many", "how much", "doing"), may=(LEADER,),
            help=(N_("• how are high-tech enterprises doing? or /status NAME: one indicator"),),
            menu=N_("How one indicator is doing")),
    Command("missing", query.missing, ("/missing",),
            ("谁还没报", "谁没报", "没报", "未报", "还没报", "未报送", "报了没有", "报了没", "报了吗", "报没报",
             "有没有报", "交了没有", "交了吗", "has reported", "reported yet", "迟报", "没交", "未交", "还没交", "逾期",
             "拖欠", "欠报", "超期", "没报送", "未报数", "没报数", "没有报", "没有报送", "没有交",
             "没有上报", "未上报", "没上报", "还没上报", "not reported", "hasn't reported", "missing",
             "who has not", "late", "overdue", "not yet reported", "haven't reported", "has not reported",
             "hasn't reported", "who's missing", "not submitted", "haven't submitted"),
            may=(LEADER,), help=(N_("• who has not reported? or /missing: units that have not reported"),),
            menu=N_("Units that have not reported")),
    Command("scorecard", query.scorecard_or_status, ("/scorecard",),
            ("考核表", "考核", "成绩单", "节点目标完成", "目标完成", "完成情况", "完成了吗", "完成了没", "完成没有",
             "完成得怎么样", "实现了吗", "实现情况", "目标实现", "达到了吗", "达到了没", "达成了吗", "达成情况",
             "终期评估", "中期评估", "评估结果", "考核结果", "年度考核",
             "能完成吗", "能否完成", "能不能完成", "完成得了吗", "能实现吗", "能否实现", "能不能实现", "能达到吗",
             "能否达到", "能不能达到", "能达成吗", "will we meet", "will we reach", "will the targets", "can we meet",
             "can we reach", "on course to",
             "scorecard", "milestone results", "milestone", "milestones", "targets met", "targets reached",
             "did we meet", "did we reach", "met the targets", "meet the targets", "hit the targets",
             "against the targets", "against targets", "final assessment", "assessment", "year-end", "year end"),
            may=(LEADER,), help=(
                N_("• were the targets met? or /scorecard: every milestone's result (reached, not reached, no data)"),
            )),
    Command("units", leaders.units, ("/units",),
            ("各单位报送情况", "报送情况", "报送率", "各单位", "按单位", "单位排名", "reporting rates", "league table",
             "reporting by unit", "by unit", "per unit", "on-time rate", "reporting rate", "按时报送率",
             "按时报送", "报送排名"), may=(LEADER,),
            help=(N_("• reporting by unit or /units: on-time, late and missing reports by unit"),
                  N_("• how is Panshan doing? or /units NAME: one unit's reports, what it owes, its latest figures"))),
    Command("source", source.source, ("/source",),
            ("来源", "出处", "谁报的", "是谁报的", "谁填的", "从哪来", "哪来的", "source", "come from", "who reported",
             "where did", "where does", "哪来", "数据来源"),
            may=(LEADER, CONTACT),
            help=(N_("• /source NAME: who reported each figure, and its corrections"),)),
    Command("export", lambda ctx, _: leaders.export(ctx), ("/export",),
            ("导出", "导出考核表", "考核表导出", "下载", "导出表格", "export", "excel", "download", "workbook",
             "spreadsheet", "xlsx"),
            may=(LEADER,),
            help=(N_("• export or /export: the Excel workbook for the annual assessment"),)),
    Command("invite", admin.invite, ("/invite",), ("邀请码", "邀请", "invite"), may=(ADMIN,), private=True,
            help=(N_("• invite a Panshan contact or /invite UNIT contact|leader|admin [7d]: make an invite code"),)),
    Command("broadcast", notices.start, ("/broadcast",), notices.SAID, may=(ADMIN,), private=True,
            help=(N_("• send a notice or /broadcast TEXT: a notice to every unit, or to a group, to be signed for"),)),
    Command("notices", lambda ctx, _: notices.overview(ctx), ("/notices",), ("签收情况", "通知情况", "notices"),
            may=(ADMIN,), private=True,
            help=(N_("• notices or /notices: who has received and signed for each notice"),)),
    Command("language", onboarding.language, ("/language", "/lang"),
            ("english", "英文", "中文", "chinese", "language", "语言"), private=True,
            help=(N_("• /language: 中文 / English"),), menu=N_("Switch language: 中文 / English")),
    Command("help", show_help, ("/help",),
            ("帮助", "help", "怎么用", "菜单", "能做什么", "你能做什么", "有什么功能", "功能", "menu",
             "what can you do", "能干啥", "能干什么", "干什么用", "使用说明", "怎么使用",
             "how does this work", "commands", "what can i do", "how do i use", "how to use", "可以干什么",
             "可以做什么", *GREETINGS), menu=N_("What I can do")),
    Command("cancel", cancel, ("/cancel",), ("取消", "cancel", "算了", "撤销", "never mind", "forget it"),
            help=(N_("• cancel or /cancel: stop what you are doing"),), menu=N_("Stop what you are doing")),
    Command("whoami", lambda ctx, _: onboarding.whoami(ctx), ("/whoami",), ("我是谁", "whoami", "who am i")),
    Command("start", onboarding.start, ("/start",), private=True),
)
BY_NAME = {c.name: c for c in COMMANDS}
SLASH = {name: c.name for c in COMMANDS for name in c.slash}
KEYWORDS = [(c.name, c.words) for c in COMMANDS if c.words]

YES = ("确认", "是", "对", "好", "好的", "没问题", "确定", "提交", "可以", "行", "嗯", "嗯嗯", "是的", "对的",
       "好滴", "确认无误", "无误", "保存", "没错", "同意", "就这样", "就这个", "👍", "👌",
       "ok", "okay", "yes", "y", "yep", "sure", "confirm", "correct", "right")
NO = ("取消", "算了", "不报了", "不是", "不确认", "不提交", "不用", "先不报", "不要", "不要了", "不用了", "放弃",
      "不", "否", "都不是", "都不对", "撤销", "no", "n", "nope", "cancel", "stop", "none", "none of them",
      "neither", "never mind", "forget it")
LATER = ("稍后", "以后再说", "稍后再报", "晚点", "晚点再报", "等会", "先这样", "先到这", "明天再报", "回头再报",
         "later", "not now", "done", "done for now")
BUTTONS: dict[str, Action] = {
    "pick": Action(report.pick, (CONTACT, ADMIN),
                   words=(*YES, "继续", "下一个", "下一项", "继续填报", "接着", "接着报", "next", "continue")),
    "stage": Action(report.stage, (CONTACT, ADMIN)),
    "confirm": Action(lambda ctx, _: report.do_confirm(ctx), (CONTACT, ADMIN), words=YES),
    "edit": Action(lambda ctx, _: report.edit(ctx), (CONTACT, ADMIN),
                   words=("修改", "改", "重填", "改一下", "重新填", "重新输入", "填错了", "错了", "不对", "有误",
                          "写错了", "edit", "change", "redo", "wrong")),
    "cancel": Action(cancel, words=(*NO, *LATER)),
    "lang": Action(onboarding.set_language),
    "audience": Action(notices.audience, (ADMIN,)),
    "send": Action(lambda ctx, _: notices.send(ctx), (ADMIN,), words=(*YES, "发送", "发", "发出", "send")),
    "resend": Action(notices.resend, (ADMIN,), words=("重发", "再发", "resend")),
    "guess": Action(report_sentence.guessed, (CONTACT, ADMIN), words=YES),
    "report": Action(lambda ctx, _: report.start(ctx), (CONTACT, ADMIN), anytime=True,
                     words=("立即填报", "现在填报", "马上填报", "填报", "去填报", "报", "report", "report now")),
    "sign": Action(notices.sign, anytime=True,
                   words=("签收", "收到", "已阅", "已收到", "已读", "知道了", "收到了", "好的收到", "sign", "signed",
                          "received", "got it", "noted", "ok")),
    "source": Action(source.source, (LEADER, CONTACT), anytime=True, words=("来源", "出处", "source")),
    "status": Action(query.status, (LEADER,)),
    outgoing.MORE: Action(outgoing.more, words=("更多", "下一页", "more", "next page")),
}
SYNONYMS = {name: a.words for name, a in BUTTONS.items()}

# steps at which typed text is the answer (only commands, cancel and help interrupt them)
FREE_TEXT: dict[State, Handler] = {
    State.REPORT_VALUE: report_sentence.value,
    State.REPORT_REASON: report.reason,
    State.BROADCAST_TEXT: notices.text_typed,
}


def allowed(ctx: Ctx, may: tuple[str, ...]) -> bool:
    """Whether this person may use something open to the roles in may (none: anyone)."""
    return not may or ctx.may(contact=CONTACT in may, leader=LEADER in may, admin=ADMIN in may)


def require(ctx: Ctx, may: tuple[str, ...]) -> None:
    """Refuse politely (UserError) unless this person may use something open to the roles in may."""
    if may:
        ctx.need(contact=CONTACT in may, leader=LEADER in may, admin=ADMIN in may)


def help_text(ctx: Ctx) -> str:
    """What this person can say: the help lines of the commands they may use, reporting first, then questions."""
    t = ctx.t
    if not ctx.roles.bound:
        return t("Please send the invite code your administrator gave you. /language switches language.")
    rank = {CONTACT: 0, LEADER: 1, ADMIN: 2}
    shown = sorted((c for c in COMMANDS if c.help and allowed(ctx, c.may)),
                   key=lambda c: rank[c.may[0]] if c.may else len(rank))
    return "\n".join([t("You can say:"), *(t(line) for c in shown for line in c.help)])


def menu() -> list[tuple[str, str]]:
    """Telegram's command menu: (command without its slash, description to translate), in table order."""
    return [(c.slash[0].lstrip("/"), c.menu) for c in COMMANDS if c.menu and c.slash]
