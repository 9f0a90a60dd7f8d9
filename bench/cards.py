"""``cards``: the live card updates endpoint, ``GET /cards/updates?since=…&ids=…``.

A logged-in user's team holds N generations; the newest 20 are in flight and on the page,
so the page polls with their 20 ids. Two cases:

* nothing changed since the version the page holds: 204, no body;
* 5 of the 20 changed: 200 with 5 out-of-band card swaps and a new poller element.

Baseline: ``GET /healthz`` through the same client, the cost floor of one request through
the whole middleware stack (it runs one ``SELECT 1``). Django's test client calls the WSGI
handler in-process, so there is no socket or server in either number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse

from bench import data, measure, table
from generations.models import Status
from generations.views import version_of

SIZES = (1_000, 10_000)
ON_PAGE = 20
CHANGED = 5


def run(*, repeat: int, tmp: Path) -> None:
    print(
        f"cards: GET /cards/updates for {ON_PAGE} polled cards, test client, logged in; "
        f"median of {repeat} rounds"
    )
    rows = []
    for size, analyzed in runs():
        cases = prepare(size, analyzed=analyzed)
        results = measure(cases, repeat=repeat)
        rows += data.request_rows(f"{size:,}{' analyzed' if analyzed else ''}", cases, results)
    print(table(data.REQUEST_HEADER, rows), flush=True)


def runs() -> list[tuple[int, bool]]:
    """Team sizes, and whether ``ANALYZE`` ran (SQLite: without, then the largest with)."""
    if data.is_sqlite():
        return [*((size, False) for size in SIZES), (SIZES[-1], True)]
    return [(size, True) for size in SIZES]


def prepare(size: int, *, analyzed: bool) -> dict[str, Callable[[], Any]]:
    """A team of ``size`` generations and the three requests to time, each checked once."""
    data.empty_database()
    user, team = data.user_with_team()
    old = size - ON_PAGE
    data.add_generations(team, user, old, start=data.long_ago(size))
    recent_start = data.long_ago(0) + timedelta(hours=1)
    polled = data.add_generations(
        team,
        user,
        ON_PAGE,
        start=recent_start,
        status=Status.PROCESSING,
        rivya_status="processing",
        video="",
        poster="",
        video_sha256="",
        finished_at=None,
        final_credits=None,
    )
    # The page saw every card at `before`; 5 of them moved on to `after` since.
    before = recent_start + timedelta(minutes=5)
    after = before + timedelta(seconds=1)
    for i, generation in enumerate(polled):
        generation.changed_at = after if i < CHANGED else before
    type(polled[0]).objects.bulk_update(polled, ["changed_at"])
    if analyzed:
        data.analyze()

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    ids = ",".join(str(g.pk) for g in polled)
    updates = reverse("card_updates")
    unchanged_url = f"{updates}?since={version_of(after)}&ids={ids}"
    changed_url = f"{updates}?since={version_of(before)}&ids={ids}"
    healthz = reverse("healthz")

    check(client.get(healthz), 200, b'"status": "ok"')
    check(client.get(unchanged_url), 204, b"")
    swapped = client.get(changed_url)
    check(swapped, 200, b'id="card-poller"')
    # 5 cards and the poller, each swapped out of band.
    assert swapped.content.count(b'hx-swap-oob="outerHTML"') == CHANGED + 1, swapped.content

    return {
        "healthz": lambda: client.get(healthz),
        "nothing changed (204)": lambda: client.get(unchanged_url),
        f"{CHANGED} changed (OOB swaps)": lambda: client.get(changed_url),
    }


def check(response: Any, status: int, marker: bytes) -> None:
    """The benchmark measures what it claims: the right answer, not an error page."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert marker in response.content, response.content[:500]
