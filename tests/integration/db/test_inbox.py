"""The inbox's claim: an update is marked handled once, whether or not it was stored first."""

from __future__ import annotations

from bot.app import App
from bot.db.inbox import Inbox


def claim(app: App, inbox: Inbox, update_id: str, *, commit: bool = True) -> bool:
    with app.uow() as s:
        claimed = inbox.claim(s, update_id, app.clock.now(), {"update_id": int(update_id)})
        if commit:
            s.commit()
        return claimed


def test_a_stored_update_is_claimed_once(app: App) -> None:
    inbox = Inbox(app.uow, "telegram")
    inbox.store([("10", {"update_id": 10}), ("11", {"update_id": 11})], app.clock.now())
    assert claim(app, inbox, "10") and not claim(app, inbox, "10")
    assert [u["update_id"] for u in inbox.pending()] == [11]


def test_a_claim_rolled_back_leaves_the_update_pending(app: App) -> None:
    inbox = Inbox(app.uow, "telegram")
    inbox.store([("12", {"update_id": 12})], app.clock.now())
    assert claim(app, inbox, "12", commit=False)  # the handling failed: nothing committed
    assert [u["update_id"] for u in inbox.pending()] == [12]
    assert claim(app, inbox, "12")
    assert inbox.pending() == []


def test_an_update_never_stored_is_recorded_as_handled_when_claimed(app: App) -> None:
    inbox = Inbox(app.uow, "telegram")
    assert claim(app, inbox, "13") and not claim(app, inbox, "13")
    inbox.store([("13", {"update_id": 13})], app.clock.now())  # a late re-delivery is stored as it is: handled
    assert inbox.pending() == [] and not claim(app, inbox, "13")
