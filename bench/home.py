"""``home``: the home page, ``GET /`` (the form and the team's 20 newest cards).

The team holds N generations; the newest 20 are a mix a busy team sees: 14 ready videos,
4 in flight (so the page carries a poller) and 2 failed (each with a retry form). The page
is rendered in full with the deployment's manifest static files storage.

Baseline: ``GET /healthz`` through the same logged-in test client.
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

SIZES = (1_000, 10_000)
ON_PAGE = 20
IN_FLIGHT = 4
FAILED = 2


def run(*, repeat: int, tmp: Path) -> None:
    print(f"home: GET / with {ON_PAGE} cards, test client, logged in; median of {repeat} rounds")
    rows = []
    for size in SIZES:
        cases = prepare(size, analyzed=not data.is_sqlite())
        results = measure(cases, repeat=repeat)
        rows += data.request_rows(f"{size:,}", cases, results)
    print(table(data.REQUEST_HEADER, rows), flush=True)


def prepare(size: int, *, analyzed: bool) -> dict[str, Callable[[], Any]]:
    data.empty_database()
    user, team = data.user_with_team()
    data.add_generations(team, user, size - ON_PAGE + IN_FLIGHT + FAILED, start=data.long_ago(size))
    recent = data.long_ago(0) + timedelta(hours=1)
    data.add_generations(
        team,
        user,
        IN_FLIGHT,
        start=recent,
        status=Status.PROCESSING,
        rivya_status="processing",
        video="",
        poster="",
        finished_at=None,
    )
    data.add_generations(
        team,
        user,
        FAILED,
        start=recent + timedelta(minutes=1),
        status=Status.FAILED,
        rivya_status="failed",
        error_code="generation_failed",
        video="",
        poster="",
    )
    if analyzed:
        data.analyze()

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    home, healthz = reverse("home"), reverse("healthz")
    page = client.get(home)
    assert page.status_code == 200, page.content[:500]
    assert page.content.count(b'class="card gen-card') == ON_PAGE, page.content[:500]
    assert page.content.count(b"retry-form") == FAILED
    assert b'id="card-poller"' in page.content
    assert client.get(healthz).status_code == 200
    return {"healthz": lambda: client.get(healthz), "home page": lambda: client.get(home)}
