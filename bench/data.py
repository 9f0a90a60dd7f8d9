"""Builders for benchmark data: a user, their team, and many generations at once.

Imported only after ``django.setup()`` (``bench/__main__.py`` does that first).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import Result, ms, pct, per_second, times
from generations.models import Generation, Status
from teams.models import Membership, Team

PROMPT = (
    "Một con mèo cam nhảy qua hàng rào gỗ lúc hoàng hôn, máy quay chậm theo sau, "
    "ánh nắng vàng xuyên qua lá cây."
)


def empty_database() -> None:
    """Remove every row, so each benchmark starts from the same place.

    On SQLite that includes the planner's statistics: ``flush`` keeps ``sqlite_stat1``, and
    statistics an earlier benchmark gathered on other data (a team of in-flight cards, say)
    would steer the next one's queries to the wrong index.
    """
    call_command("flush", verbosity=0, interactive=False)
    if is_sqlite():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone():
                cursor.execute("DELETE FROM sqlite_stat1")
                cursor.execute("ANALYZE sqlite_schema")  # makes the planner reload them


def user_with_team(username: str = "bench") -> tuple[Any, Team]:
    user = get_user_model().objects.create_user(username, f"{username}@example.com")
    team = Team.objects.create(name=f"{username}'s team", personal=True)
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    return user, team


def ready_fields(pk: uuid.UUID, team: Team) -> dict[str, Any]:
    """What a mirrored generation carries (file names only; nothing is read from storage)."""
    prefix = f"teams/{team.pk}/generations/{pk}"
    return {
        "status": Status.READY,
        "rivya_status": "succeeded",
        "rivya_task_id": f"task_{pk.hex}",
        "reserved_credits": 50,
        "final_credits": 50,
        "video": f"{prefix}/video.mp4",
        "poster": f"{prefix}/poster.jpg",
        "video_sha256": "0" * 64,
        "video_size": 3_000_000,
        "video_duration": 5.0,
        "video_width": 1024,
        "video_height": 1024,
    }


def add_generations(
    team: Team,
    user: Any,
    count: int,
    *,
    start: datetime,
    step: timedelta = timedelta(seconds=1),
    **fields: Any,
) -> list[Generation]:
    """``count`` generations created ``step`` apart from ``start`` on, ready unless told."""
    rows = []
    for i in range(count):
        pk = uuid.uuid4()
        created = start + i * step
        values = {**ready_fields(pk, team), "finished_at": created + timedelta(minutes=2)}
        values.update(fields)
        rows.append(
            Generation(
                id=pk,
                team=team,
                created_by=user,
                prompt=PROMPT,
                idempotency_key=str(uuid.uuid4()),
                created_at=created,
                changed_at=created,
                **values,
            )
        )
    return Generation.objects.bulk_create(rows, batch_size=500)


def long_ago(rows: int, step: timedelta = timedelta(seconds=1)) -> datetime:
    """A start time such that ``rows`` rows ``step`` apart end a day before now."""
    return timezone.now() - timedelta(days=1) - rows * step


def analyze() -> None:
    """Refresh the planner's statistics (``ANALYZE``).

    PostgreSQL's autovacuum does this in a deployment, so the PostgreSQL runs always call
    it after loading. Nothing runs it on SQLite, so the SQLite runs show both states.
    """
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def is_sqlite() -> bool:
    return connection.vendor == "sqlite"


REQUEST_HEADER = ["team rows", "request", "req/s", "per request", "spread", "× healthz", "queries"]


def count_queries(request: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        request()
    return len(queries)


def request_rows(
    label: str, cases: Mapping[str, Callable[[], Any]], results: Mapping[str, Result]
) -> list[list[object]]:
    """One table row per request, timed against the ``healthz`` baseline of the same run."""
    baseline = results["healthz"]
    return [
        [
            label,
            name,
            per_second(result.median),
            ms(result.median),
            pct(result.spread),
            times(result.ratio(baseline)),
            count_queries(cases[name]),
        ]
        for name, result in results.items()
    ]
