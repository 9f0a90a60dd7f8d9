"""``poller``: claiming due generations and scheduling their next read, without HTTP.

``poll_due`` claims due rows with a lease, reads each from Rivya and writes the answer
back. The HTTP read would dominate any timing, so this measures the database part on
its own through the poller's seams, on a table of 10,000 due rows (``processing``, due,
no lease):

* ``Generation.objects.claim_due(now=, limit=50, owner=)``: lease one batch (SQLite: a
  conditional UPDATE per row; PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` and one UPDATE);
* the same plus ``apply()`` for each row with an already parsed "still processing" answer,
  which is what ``poll_due`` writes after a read: next poll time with backoff, lease freed.

Baseline: reading the ids of 50 due rows in the order the claim takes them,
``Generation.objects.filter(status__in=POLLED, next_poll_at__lte=now).order_by("next_poll_at")
.values_list("pk", flat=True)[:50]``. Every round starts from the same
10,000 due, unleased rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from bench import data, measure, ms, pct, per_second, table, times
from generations import poller, rivya
from generations.models import POLLED, Generation, Status

DUE = 10_000
BATCH = 50
STILL_PROCESSING = rivya.Generation.from_json({"id": "task", "status": "processing"})


def run(*, repeat: int, tmp: Path) -> None:
    print(f"poller: batches of {BATCH} out of {DUE:,} due rows, no HTTP; median of {repeat} rounds")
    cases, reset = prepare()
    # Small blocks: a round must not use up the 10,000 due rows.
    results = measure(cases, repeat=repeat, block=0.15, before_round=reset)
    baseline = results["read 50 due ids"]
    rows = []
    for name, result in results.items():
        reset()
        rows.append(
            [
                name,
                per_second(result.median / BATCH),
                ms(result.median),
                pct(result.spread),
                times(result.ratio(baseline)),
                data.count_queries(cases[name]),
            ]
        )
    header = ["per batch of 50", "rows/s", "per batch", "spread", "× read", "queries"]
    print(table(header, rows, left=1), flush=True)


def prepare() -> tuple[dict[str, Callable[[], object]], Callable[[], object]]:
    data.empty_database()
    user, team = data.user_with_team()
    data.add_generations(
        team,
        user,
        DUE,
        start=data.long_ago(DUE),
        status=Status.PROCESSING,
        rivya_status="processing",
        video="",
        poster="",
        finished_at=None,
        final_credits=None,
        submitted_at=timezone.now() - timedelta(minutes=1),
    )

    def reset() -> None:
        touched = Generation.objects.filter(Q(lease_until__isnull=False) | Q(poll_count__gt=0))
        touched.update(lease_owner="", lease_until=None, next_poll_at=F("created_at"), poll_count=0)
        if not data.is_sqlite():
            # What autovacuum does between rounds in a deployment: clear the dead row versions.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE generations_generation")

    Generation.objects.update(next_poll_at=F("created_at"))
    reset()

    def read() -> list[object]:
        now = timezone.now()
        due = Generation.objects.filter(status__in=POLLED, next_poll_at__lte=now)
        ids = list(due.order_by("next_poll_at").values_list("pk", flat=True)[:BATCH])
        assert len(ids) == BATCH
        return ids

    def claim() -> object:
        owner = f"bench:{uuid.uuid4().hex}"
        rows = Generation.objects.claim_due(now=timezone.now(), limit=BATCH, owner=owner)
        assert len(rows) == BATCH, "the round used up the due rows"
        return owner

    def claim_and_schedule() -> None:
        now = timezone.now()
        owner = f"bench:{uuid.uuid4().hex}"
        rows = Generation.objects.claim_due(now=now, limit=BATCH, owner=owner)
        assert len(rows) == BATCH, "the round used up the due rows"
        for row in rows:
            poller.apply(row, STILL_PROCESSING, now=now, owner=owner)

    claim_and_schedule()
    scheduled = Generation.objects.filter(
        poll_count=1, lease_owner="", next_poll_at__gt=timezone.now()
    )
    assert scheduled.count() == BATCH, "apply() did not schedule the claimed rows"
    return {
        "read 50 due ids": read,
        "claim_due": claim,
        "claim_due + apply": claim_and_schedule,
    }, reset
