"""Helpers of the held-reply crash tests (Telegram and WeCom): a plan of many units with one contact each, and what
became of the replies to their saved figures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select

from bot.app import App
from bot.db.models import FigureRow, UnitRow
from bot.db.outbox_models import OutboxRow
from bot.services.people import grant, identity_for
from bot.services.plans import active_plan

SAVED = "已填报"  # the reply to a saved figure says this


def write_plan(path: Path, units: int = 30) -> Path:
    """One stock indicator reported by `units` units, u00, u01, ... (as bench/inbound.py's plan)."""
    codes = [f"u{i:02d}" for i in range(units)]
    lines = ["plan: {code: held-replies, title: {zh: 测试计划, en: Test plan}, start: 2018-01-01, end: 2020-12-31}",
             "units:", "  - {code: bureau, name: {zh: 市科技局, en: Science Bureau}}"]
    lines += [f"  - {{code: {c}, name: {{zh: 测试单位{c}, en: Unit {c}}}, kind: district}}" for c in codes]
    lines += ["indicators:", "  - code: enterprises", "    name: {zh: 高新技术企业总数, en: High-tech enterprises}",
              "    aliases: [高新技术企业]", "    kind: stock", "    measure: {zh: 家, en: enterprises}",
              "    baseline: 60", "    lead: [bureau]", f"    reporters: [{', '.join(codes)}]",
              "    milestones: [{due: 2018-12-31, value: 80}]"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def add_contacts(app: App, channel: str, chats: list[str], now: datetime) -> None:
    """Make chats[i] (a person on channel, its chat id also its sender id) the contact of unit u{i:02d}."""
    with app.uow.begin() as s:
        plan_row, _ = active_plan(s)
        units = {u.code: u for u in s.scalars(select(UnitRow).where(UnitRow.plan_id == plan_row.id))}
        for i, chat in enumerate(chats):
            ident = identity_for(s, channel, chat, chat, f"c{i}", "zh-hans", now)
            grant(s, ident.person, "contact", units[f"u{i:02d}"], "test", now)


def figure_count(app: App) -> int:
    """Figures saved so far."""
    with app.uow() as s:
        return int(s.scalar(select(func.count()).select_from(FigureRow)) or 0)


def reply_statuses(app: App) -> dict[str, str]:
    """The status of each chat's held reply (outbox rows of kind reply), by chat id."""
    with app.uow() as s:
        return {r.chat_id: r.status for r in s.scalars(select(OutboxRow).where(OutboxRow.kind == "reply"))}
