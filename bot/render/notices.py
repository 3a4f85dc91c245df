"""A notice's standing in words, the same in chat and on the command line."""

from __future__ import annotations

from bot.domain.free_text import one_line, shortened
from bot.render.provenance import local_day
from bot.views.notices import NoticeStats
from i18n import Translator


def notice_line(st: NoticeStats, t: Translator, tz: object) -> str:
    """No. 3 (local date): the start of its text on one line, then recipients, delivered, signed, failed, pending and
    uncertain; then the chat groups it was posted to, each with where its copy stands."""
    notice = st.notice
    line = t("No. {n} ({date}): {text}\n  recipients {total}, delivered {delivered}, signed {signed}, "
             "failed {failed}, pending {pending}, uncertain {uncertain}", n=notice.id,
             date=t.date(local_day(notice.created_at, tz)), text=shortened(one_line(notice.text), 40),
             total=st.recipients,
             delivered=st.delivered, signed=st.signed, failed=st.failed, pending=st.pending, uncertain=st.uncertain)
    if not st.groups:
        return line
    labels = {"sent": t("posted"), "failed": t("failed"), "uncertain": t("uncertain"), "": t("pending")}
    posts = [t("{group} {status}", group=group, status=labels.get(state, labels[""])) for group, state in st.groups]
    return line + "\n  " + t("chat groups: {posts}", posts=("，" if t.lang == "zh" else ", ").join(posts))
