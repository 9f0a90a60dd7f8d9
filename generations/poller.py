"""The Rivya poll loop's unit of work: read the status of generations that are due.

``manage.py rivya_poller`` calls :func:`poll_due` in a loop. Any number of pollers may run
at once: a row is claimed with a lease (a conditional UPDATE, or ``SELECT … FOR UPDATE SKIP
LOCKED`` where the database has it) before it is read, and a claimed row is written back
only by the poller whose lease it carries.

Reads go out with bounded concurrency (:data:`CONCURRENCY` threads; only the HTTP call runs
in a thread, every database write happens in the calling thread) and under a rate budget of
``RIVYA_POLL_RATE`` reads per second. The budget is counted in Django's default cache: with a
shared cache (database, Redis, Memcached) all pollers share it, with the default local-memory
cache each poller process has its own.

Besides reading ``queued`` and ``processing`` rows, each round re-drives rows whose step was
lost: ``submitting`` or ``saving`` rows whose lease expired get their task enqueued again,
and ``pending`` rows that nobody took within ``REDRIVE_GRACE`` get ``submit``.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from generations import rivya, tasks
from generations.models import FIRST_POLL_AFTER, RETRY_CAP, Generation

logger = logging.getLogger(__name__)

CONCURRENCY = 4
# Reads after the first (which submit schedules FIRST_POLL_AFTER ahead) wait longer each
# time, ×GROWTH up to CAP, ± JITTER so rows created together drift apart.
GROWTH = 1.5
CAP = 30.0
JITTER = 0.1
DEFAULT_POLL_RATE = 5  # reads per second


def poll_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Handle up to ``limit`` due generations (plus up to ``limit`` re-drives); return how many.

    Each due row (``next_poll_at <= now`` and its lease expired) is claimed with a lease,
    read once with ``GET /generations/{id}``, and given its next poll time with backoff.
    """
    now = now or timezone.now()
    handled = redrive(now=now, limit=limit)
    key = _budget_key()
    granted = take_budget(limit, key=key)
    if not granted:
        return handled
    owner = f"poll:{uuid.uuid4().hex[:12]}:{tasks.worker_id()}"[:64]
    rows = Generation.objects.claim_due(now=now, limit=granted, owner=owner)
    if len(rows) < granted:
        return_budget(granted - len(rows), key=key)
    if rows:
        for row, answer in zip(rows, read_all(rows), strict=True):
            try:
                apply(row, answer, now=now, owner=owner)
            except Exception:
                # A bug must not leave the row leased for nothing: it is retried later.
                logger.exception("generation %s: applying the poll result failed", row.pk)
                row.release(owner, next_poll_at=now + timedelta(seconds=CAP))
    return handled + len(rows)


def next_delay(poll_count: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds until the next read after ``poll_count`` reads: 3 s growing ×1.5 to 30 s."""
    first = FIRST_POLL_AFTER.total_seconds()
    base = min(CAP, first * GROWTH ** max(0, poll_count))
    return base * (1 - JITTER + 2 * JITTER * rand())


# --- Rate budget -------------------------------------------------------------------------


def _budget_key() -> str:
    return f"rivya:poll-budget:{int(time.time())}"


def take_budget(wanted: int, *, key: str | None = None) -> int:
    """Take up to ``wanted`` reads from this second's budget; return how many were granted.

    Pass the same ``key`` to :func:`return_budget`, so reads given back after the second
    rolled over go back to the second they were taken from.
    """
    rate = int(getattr(settings, "RIVYA_POLL_RATE", DEFAULT_POLL_RATE))
    key = key or _budget_key()
    cache.add(key, 0, timeout=5)
    try:
        used = cache.incr(key, wanted)
    except ValueError:  # the key expired between add and incr
        cache.set(key, wanted, timeout=5)
        used = wanted
    granted = max(0, min(wanted, rate - (used - wanted)))
    if granted < wanted:
        return_budget(wanted - granted, key=key)
    return granted


def return_budget(unused: int, *, key: str | None = None) -> None:
    with contextlib.suppress(ValueError):
        cache.decr(key or _budget_key(), unused)


# --- Reading -------------------------------------------------------------------------------


def read_all(rows: list[Generation]) -> list[rivya.Generation | Exception]:
    """``GET /generations/{id}`` for each row, at most :data:`CONCURRENCY` at a time."""

    def read(task_id: str) -> rivya.Generation | Exception:
        try:
            return client.get_generation(task_id)
        except Exception as exc:  # handed to apply(), which decides what it means
            return exc

    with (
        rivya.client_from_settings(max_retries=0) as client,
        ThreadPoolExecutor(CONCURRENCY) as pool,
    ):
        return list(pool.map(read, [row.rivya_task_id for row in rows]))


def apply(
    row: Generation, answer: rivya.Generation | Exception, *, now: datetime, owner: str
) -> None:
    """Hand what one read said to the row (which acts only while this poller holds it)."""
    if isinstance(answer, rivya.RivyaError):
        delay = next_delay(row.poll_count + 1)
        if answer.retry_after is not None:
            delay = max(delay, min(answer.retry_after, RETRY_CAP))
        elif not answer.retryable:
            delay = CAP
        logger.warning("generation %s: poll failed (%r); next read in %.1fs", row.pk, answer, delay)
        row.read_failed(answer, owner, now + timedelta(seconds=delay), now=now)
    elif isinstance(answer, Exception):
        logger.error("generation %s: unexpected error while polling: %r", row.pk, answer)
        row.release(owner, next_poll_at=now + timedelta(seconds=CAP))
    elif answer.status == "succeeded":
        if row.rivya_succeeded(answer, owner):
            tasks.enqueue("mirror", str(row.pk))
    elif answer.status == "failed":
        row.rivya_failed(answer, owner)
    else:
        row.rivya_running(answer, owner, now + timedelta(seconds=next_delay(row.poll_count + 1)))


# --- Re-driving lost steps ------------------------------------------------------------------


def redrive(*, now: datetime, limit: int) -> int:
    """Enqueue again the step of rows whose worker went away; return how many."""
    count = 0
    for step, condition in Generation.objects.lost_steps(now=now).items():
        for pk in list(Generation.objects.filter(condition).values_list("pk", flat=True)[:limit]):
            if Generation.objects.take_lost(pk, condition, now=now):
                logger.warning("generation %s: re-driving %s", pk, step)
                tasks.enqueue(step, str(pk))
                count += 1
    return count
