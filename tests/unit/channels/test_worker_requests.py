"""The database process takes the requests the channel waits on (store, mark, outcomes) before updates to route."""

from __future__ import annotations

import io

from bot.channels.shared.workers import Requests, frame


def test_urgent_requests_go_before_the_updates_waiting_to_be_routed() -> None:
    sent = [(1, "handle", ()), (2, "handle", ()), (3, "store", ()), (4, "handle", ()), (5, "mark", ()),
            (6, "outcomes", ())]
    requests = Requests()
    requests.read(io.BytesIO(b"".join(frame(r) for r in sent)))  # (to the end: the parent has closed the pipe)
    taken = [requests.next() for _ in sent]
    assert [key for key, _, _ in taken] == [3, 5, 6, 1, 2, 4]  # urgent ones in their order, then the others in theirs
    assert requests.next() is None  # every request read has been taken, and no more will come
