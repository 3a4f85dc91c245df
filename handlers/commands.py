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
from handlers import admin, leaders, notices, onboarding, query, report, source
from handlers.context import Ctx, text_reply
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


def cancel(ctx: Ctx, _: str) -> list[Reply]:
    """Stop what the person was doing."""
    had = bool(ctx.state)
    ctx.reset()
    return [text_reply(ctx.t("Cancelled.") if had else ctx.t("There was nothing to cancel."))]


def show_help(ctx: Ctx, _: str) -> list[Reply]:
    """What this person can say."""
    return [text_reply(help_text(ctx))]


COMMANDS: tuple[Command, ...] = (
    Command("report", lambda ctx, arg: report.start(ctx, arg), ("/report",), ("填报", "报送", "上报", "report"),
            may=(CONTACT, ADMIN), private=True, menu=N_("Report this period's figures"),
            help=(N_("• 填报 or /report: report this period's figures, step by step"),
                  N_("• a figure in one sentence, e.g. 高新技术企业 12家"))),
    Command("correct", report.correct, ("/correct",), ("更正", "修正", "改正", "correct", "correction"),
            may=(CONTACT, ADMIN), private=True, menu=N_("Correct a figure"),
            help=(N_("• 更正 or /correct: correct a figure, with a reason"),)),
    Command("lagging", lambda ctx, _: query.lagging(ctx), ("/lagging",),
            ("滞后", "落后", "lagging", "behind", "哪些指标", "which targets"), may=(LEADER,),
            help=(N_("• 哪些指标滞后 or /lagging: targets behind their pace"),), menu=N_("Targets behind their pace")),
    Command("status", query.status, ("/status",),
            ("进展", "进度", "怎么样", "如何", "情况", "status", "progress", "how is", "how are"), may=(LEADER,),
            help=(N_("• 高新技术企业进展如何 or /status NAME: one indicator"),), menu=N_("How one indicator is doing")),
    Command("missing", lambda ctx, _: query.missing(ctx), ("/missing",),
            ("谁还没报", "谁没报", "没报", "未报", "还没报", "未报送", "not reported", "missing", "who has not"),
            may=(LEADER,), help=(N_("• 谁还没报 or /missing: units that have not reported"),),
            menu=N_("Units that have not reported")),
    Command("scorecard", lambda ctx, _: query.scorecard(ctx), ("/scorecard",),
            ("考核表", "考核", "成绩单", "节点目标完成", "scorecard", "milestone results"), may=(LEADER,),
            help=(N_("• 考核表 or /scorecard: every milestone's result (reached, not reached, no data)"),)),
    Command("units", lambda ctx, _: leaders.units(ctx), ("/units",),
            ("各单位报送情况", "报送情况", "报送率", "reporting rates", "league table"), may=(LEADER,),
            help=(N_("• 各单位报送情况 or /units: on-time, late and missing reports by unit"),)),
    Command("source", source.source, ("/source",), ("来源", "出处", "谁报的", "source"), may=(LEADER, CONTACT),
            help=(N_("• /source NAME: who reported each figure, and its corrections"),)),
    Command("export", lambda ctx, _: leaders.export(ctx), ("/export",), ("导出", "export", "excel"), may=(LEADER,),
            help=(N_("• 导出 or /export: the Excel workbook for the annual assessment"),)),
    Command("invite", admin.invite, ("/invite",), may=(ADMIN,), private=True,
            help=(N_("• /invite UNIT contact|leader|admin [7d]: make an invite code"),)),
    Command("broadcast", notices.start, ("/broadcast",), may=(ADMIN,), private=True),
    Command("notices", lambda ctx, _: notices.overview(ctx), ("/notices",), ("签收情况", "通知情况", "notices"),
            may=(ADMIN,), private=True),
    Command("language", onboarding.language, ("/language", "/lang"),
            ("english", "英文", "中文", "chinese", "language", "语言"), private=True,
            help=(N_("• /language: 中文 / English"),), menu=N_("Switch language: 中文 / English")),
    Command("help", show_help, ("/help",), ("帮助", "help", "怎么用", "菜单", "menu"), menu=N_("What I can do")),
    Command("cancel", cancel, ("/cancel",), ("取消", "cancel", "算了"),
            help=(N_("• 取消 or /cancel: stop what you are doing"),), menu=N_("Stop what you are doing")),
    Command("whoami", lambda ctx, _: onboarding.whoami(ctx), ("/whoami",), ("我是谁", "whoami", "who am i")),
    Command("start", onboarding.start, ("/start",), private=True),
)
BY_NAME = {c.name: c for c in COMMANDS}
SLASH = {name: c.name for c in COMMANDS for name in c.slash}
KEYWORDS = [(c.name, c.words) for c in COMMANDS if c.words]

BUTTONS: dict[str, Action] = {
    "pick": Action(report.pick, (CONTACT, ADMIN)),
    "stage": Action(report.stage, (CONTACT, ADMIN)),
    "confirm": Action(lambda ctx, _: report.do_confirm(ctx), (CONTACT, ADMIN)),
    "edit": Action(lambda ctx, _: report.edit(ctx), (CONTACT, ADMIN)),
    "cancel": Action(cancel),
    "lang": Action(onboarding.set_language),
    "audience": Action(notices.audience, (ADMIN,)),
    "send": Action(lambda ctx, _: notices.send(ctx), (ADMIN,)),
    "resend": Action(notices.resend, (ADMIN,)),
    "report": Action(lambda ctx, _: report.start(ctx), (CONTACT, ADMIN), anytime=True),
    "sign": Action(notices.sign, anytime=True),
    "source": Action(source.source, (LEADER, CONTACT), anytime=True),
}

# steps at which typed text is the answer (only commands and cancel interrupt them)
FREE_TEXT: dict[State, Handler] = {
    State.REPORT_VALUE: report.value,
    State.REPORT_REASON: report.reason,
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
