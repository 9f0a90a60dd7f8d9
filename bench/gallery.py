"""``gallery``: the team gallery, ``GET /gallery/``, on its first page and on page 500.

100,000 ready generations in 50 teams, inserted the way ``manage.py seed_gallery`` does
(varied prompts, ratios, durations, sound and dates; file names only, nothing is read from
storage). The measured team holds half of them, so page 500 (48 tiles a page: rows 23,953
to 24,000) exists; the 49 other teams share the rest. Page 500 is reached as the "load
more" link reaches it, by keyset: its cursor is computed from the data (the position of
the last row of page 499), not by walking 499 pages. Also measured: the htmx "load more"
fragment of page 500, and a prompt search (full text on PostgreSQL, contains on SQLite)
that fills page 1 and one that matches nothing, so reads every row of the team.

Baseline: ``GET /healthz`` through the same logged-in test client.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bench import data, measure, table
from generations.gallery import PAGE_SIZE, Cursor
from generations.management.commands.seed_gallery import SeedMedia, add_rows
from generations.models import AspectRatio, Generation

TOTAL = 100_000
TEAMS = 50
MEASURED_SHARE = TOTAL // 2
DEEP_PAGE = 500
DAYS = 120


def run(*, repeat: int, tmp: Path) -> None:
    print(
        f"gallery: GET /gallery/ with {TOTAL:,} generations in {TEAMS} teams "
        f"({MEASURED_SHARE:,} in the measured one), {PAGE_SIZE} tiles a page, test client, "
        f"logged in; median of {repeat} rounds"
    )
    cases = prepare()
    results = measure(cases, repeat=repeat)
    rows = data.request_rows(f"{MEASURED_SHARE:,}", cases, results)
    print(table(data.REQUEST_HEADER, rows), flush=True)
    first, deep = results["page 1"], results[f"page {DEEP_PAGE}"]
    print(f"page {DEEP_PAGE} / page 1: {deep.median / first.median:.2f}× (target ≤ 1.20×)")


def prepare() -> dict[str, Callable[[], Any]]:
    data.empty_database()
    rng = random.Random(8)  # noqa: S311 - benchmark data
    end = timezone.now()
    start = end - timedelta(days=DAYS)
    user, team = data.user_with_team("bench")
    add_rows(team, [user.pk], MEASURED_SHARE, fake_media(team), rng, start=start, end=end)
    rest = TOTAL - MEASURED_SHARE
    for i in range(1, TEAMS):
        other, other_team = data.user_with_team(f"bench{i}")
        share = rest // (TEAMS - 1) + (1 if i <= rest % (TEAMS - 1) else 0)
        add_rows(other_team, [other.pk], share, fake_media(other_team), rng, start=start, end=end)
    assert Generation.objects.count() == TOTAL
    if not data.is_sqlite():
        data.analyze()  # autovacuum's job in a deployment

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    gallery, healthz = reverse("gallery"), reverse("healthz")
    deep = f"{gallery}?after={deep_cursor(team).encode()}"
    search = f"{gallery}?q=lighthouse"
    # A word no prompt holds: every row of the team is read before the page is known empty.
    nothing = f"{gallery}?q=giraffe"
    check(client, gallery)
    check(client, deep)
    check(client, deep, HTTP_HX_REQUEST="true")
    assert client.get(search).status_code == 200
    assert 'class="gallery-tile' not in client.get(nothing).content.decode()
    assert client.get(healthz).status_code == 200
    return {
        "healthz": lambda: client.get(healthz),
        "page 1": lambda: client.get(gallery),
        f"page {DEEP_PAGE}": lambda: client.get(deep),
        f"page {DEEP_PAGE}, load more": lambda: client.get(deep, HTTP_HX_REQUEST="true"),
        "search, page 1": lambda: client.get(search),
        "search, no match": lambda: client.get(nothing),
    }


def deep_cursor(team: Any) -> Cursor:
    """The position after which page ``DEEP_PAGE`` starts, read straight from the data."""
    rows = Generation.objects.filter(team=team, deleted_at__isnull=True).order_by(
        "-created_at", "-id"
    )
    last = rows.values_list("created_at", "id")[(DEEP_PAGE - 1) * PAGE_SIZE - 1]
    return Cursor(*last)


def check(client: Client, url: str, **headers: str) -> None:
    page = client.get(url, **headers)
    assert page.status_code == 200, page.content[:500]
    assert page.content.count(b"data-generation-id=") == PAGE_SIZE, page.content[:500]
    assert b'rel="next"' in page.content


def fake_media(team: Any) -> dict[str, SeedMedia]:
    """File names only: the gallery page never reads a file."""
    prefix = f"teams/{team.pk}/seed"
    return {
        ratio: SeedMedia(
            video=f"{prefix}/{i}-video.mp4",
            poster=f"{prefix}/{i}-poster.jpg",
            poster_small=f"{prefix}/{i}-poster-small.jpg",
            preview=f"{prefix}/{i}-preview.mp4",
            sha256="0" * 64,
            size=3_000_000,
            duration=5.0,
            width=1280,
            height=720,
        )
        for i, ratio in enumerate(AspectRatio.values)
    }
