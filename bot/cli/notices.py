"""`planbot broadcast` (a notice to be signed for) and `planbot notices` (who received and signed)."""

from __future__ import annotations

import argparse

from bot.app import App
from bot.cli.common import instant, print_json, who
from bot.services.plans import active_plan
from i18n import Translator


def cmd_broadcast(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Preview a notice and its audience, then (after yes, or with --yes) queue it; a scheduler sends it."""
    from bot.services import notices

    now = app.clock.now()
    send_at = instant(app, args.at) if args.at else None
    args.text = notices.checked_text(args.text)  # refused before anything is asked when it is too long
    with app.uow.begin() as s:
        row, plan = active_plan(s)
        people = notices.resolve(s, row, plan, args.audience, now)
        print(t("Preview: this notice goes to {n} people, each with a sign-for-it button:\n\n{text}",
                n=len(people), text=args.text))
        if not args.yes:
            answer = input(t("Send it? [y/N] ")).strip().lower()
            if answer not in ("y", "yes", "是", "确认"):
                print(t("Cancelled."))
                return 0
        notice = notices.broadcast(s, row, plan, args.text, args.audience, who(), now, send_at,
                                   groups=app.settings.group_targets)
        print(t("Notice {n} queued for {count} people. Ask /notices to see who has signed.", n=notice.id,
                count=notice.recipients))
    return 0


def cmd_notices(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Delivered, signed, failed and pending counts of recent notices; --resend N re-queues the undelivered,
    --resend-unsigned N everyone who has not signed."""
    from bot.db.outbox import counts
    from bot.render.notices import notice_line
    from bot.services import notices
    from bot.views import notices as notice_views

    with app.uow.begin() as s:
        if args.resend or args.resend_unsigned:
            n = args.resend or args.resend_unsigned
            again = notices.resend_undelivered if args.resend else notices.resend_unsigned
            count = again(s, n, app.clock.now())
            print(t("Notice {n} queued again for {count} people.", n=n, count=count))
            return 0
        found = notice_views.recent(s, 20)
        if args.json:
            print_json([{"id": st.notice.id, "text": st.notice.text, "audience": st.notice.audience,
                         "recipients": st.recipients, "delivered": st.delivered, "signed": st.signed,
                         "failed": st.failed, "pending": st.pending, "uncertain": st.uncertain,
                         "groups": [{"audience": group, "status": status} for group, status in st.groups]}
                        for st in (notice_views.stats(s, n.id) for n in found)])
            return 0
        for notice in found:
            print(notice_line(notice_views.stats(s, notice.id), t, app.clock.tz))
        missed = counts(s).get("missed", 0)
        if missed:
            print(t("Reminders recorded as missed (too old to send late): {n}.", n=missed))
    return 0
