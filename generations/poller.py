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
and ``pending`` rows older than :data:`PENDING_GRACE` that nobody holds get ``submit``.
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
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from generations import rivya, tasks
from generations.models import POLLED, CreditEntry, Generation, Status, next_version

logger = logging.getLogger(__name__)

CONCURRENCY = 4
POLL_LEASE = timedelta(seconds=60)
FIRST_DELAY = 3.0  # seconds; submit schedules the first read this far ahead...
GROWTH = 1.5  # ...each later read waits this much longer...
CAP = 30.0  # ...up to this
JITTER = 0.1  # ± this fraction, so rows created together drift apart
PENDING_GRACE = timedelta(minutes=1)
NOT_FOUND_GRACE = timedelta(minutes=10)
DEFAULT_POLL_RATE = 5  # reads per second

MESSAGE_NOT_FOUND = "Rivya no longer knows this task."

RIVYA_TO_STATUS = {"queued": Status.QUEUED, "processing": Status.PROCESSING}


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
    rows, owner = claim_due(now=now, limit=granted)
    if len(rows) < granted:
        return_budget(granted - len(rows), key=key)
    if rows:
        for row, answer in zip(rows, read_all(rows), strict=True):
            try:
                apply(row, answer, now=now, owner=owner)
            except Exception:
                # A bug must not leave the row leased for nothing: it is retried later.
                logger.exception("generation %s: applying the poll result failed", row.pk)
                _release(row, owner, now + timedelta(seconds=CAP))
    return handled + len(rows)


def next_delay(poll_count: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds until the next read after ``poll_count`` reads: 3 s growing ×1.5 to 30 s."""
    base = min(CAP, FIRST_DELAY * GROWTH ** max(0, poll_count))
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


# --- Claiming ------------------------------------------------------------------------------


def _lease_expired(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim_due(*, now: datetime, limit: int) -> tuple[list[Generation], str]:
    """Lease up to ``limit`` due rows for this round; return them and the lease owner."""
    owner = f"poll:{uuid.uuid4().hex[:12]}:{tasks.worker_id()}"[:64]
    due = (
        Generation.objects.filter(status__in=POLLED, next_poll_at__lte=now)
        .filter(_lease_expired(now))
        .order_by("next_poll_at")
    )
    lease = {"lease_owner": owner, "lease_until": now + POLL_LEASE}
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
            Generation.objects.filter(pk__in=ids).update(**lease)
    else:
        # Without SKIP LOCKED: a conditional UPDATE per row; a rival's claim makes it miss.
        for pk in list(due.values_list("pk", flat=True)[:limit]):
            due.filter(pk=pk).update(**lease)
    rows = list(Generation.objects.filter(lease_owner=owner).order_by("next_poll_at"))
    return rows, owner


def _release(row: Generation, owner: str, next_poll_at: datetime, **fields: Any) -> int:
    return Generation.objects.filter(pk=row.pk, lease_owner=owner).update(
        lease_owner="", lease_until=None, next_poll_at=next_poll_at, **fields
    )


# --- Reading -------------------------------------------------------------------------------


def read_all(rows: list[Generation]) -> list[rivya.Generation | Exception]:
    """``GET /generations/{id}`` for each row, at most :data:`CONCURRENCY` at a time."""

    def read(task_id: str) -> rivya.Generation | Exception:
        try:
            return client.get_generation(task_id)
        except Exception as exc:  # handed to apply(), which decides what it means
            return exc

    with tasks.rivya_client() as client, ThreadPoolExecutor(CONCURRENCY) as pool:
        return list(pool.map(read, [row.rivya_task_id for row in rows]))


def apply(
    row: Generation, answer: rivya.Generation | Exception, *, now: datetime, owner: str
) -> None:
    """Write what one read said back to the row (only while this poller holds its lease)."""
    if isinstance(answer, Exception):
        _read_failed(row, answer, now=now, owner=owner)
    elif answer.status == "succeeded":
        _succeeded(row, answer, owner)
    elif answer.status == "failed":
        _failed(
            row,
            answer,
            owner,
            code=answer.error.code if answer.error else "generation_failed",
            message=answer.error.message if answer.error else "",
        )
    else:
        _still_running(row, answer, now=now, owner=owner)


def _still_running(row: Generation, answer: rivya.Generation, *, now: datetime, owner: str) -> None:
    status = RIVYA_TO_STATUS.get(answer.status, row.status)
    fields: dict[str, Any] = {
        "rivya_status": answer.status[:32],
        "poll_count": F("poll_count") + 1,
        "notice": "",
    }
    if status != row.status or row.notice:
        # Only a visible change moves changed_at, so live cards re-render only then.
        fields.update(status=status, changed_at=next_version())
    delay = next_delay(row.poll_count + 1)
    _release(row, owner, now + timedelta(seconds=delay), **fields)


def _succeeded(row: Generation, answer: rivya.Generation, owner: str) -> None:
    with transaction.atomic():
        moved = Generation.objects.filter(pk=row.pk, lease_owner=owner, status__in=POLLED).update(
            status=Status.SAVING,
            rivya_status=answer.status,
            final_credits=answer.final_credits,
            next_poll_at=None,
            lease_owner=tasks.ENQUEUED,
            lease_until=timezone.now() + tasks.REDRIVE_GRACE,
            attempts=0,
            notice="",
            changed_at=next_version(),
        )
        if moved:
            pk = str(row.pk)
            transaction.on_commit(lambda: tasks.mirror.enqueue(pk))


def _failed(
    row: Generation, answer: rivya.Generation | None, owner: str, *, code: str, message: str
) -> None:
    final = answer.final_credits if answer is not None and answer.final_credits is not None else 0
    with transaction.atomic():
        moved = Generation.objects.filter(pk=row.pk, lease_owner=owner, status__in=POLLED).update(
            status=Status.FAILED,
            rivya_status=answer.status if answer is not None else "",
            error_code=code[:64],
            error_message=message,
            final_credits=final,
            finished_at=timezone.now(),
            next_poll_at=None,
            lease_owner="",
            lease_until=None,
            notice="",
            changed_at=next_version(),
        )
        if moved and row.reserved_credits is not None:
            refund = row.reserved_credits - final
            CreditEntry.record(row, CreditEntry.Kind.REFUND, refund, note=f"final {final}")


def _read_failed(row: Generation, exc: Exception, *, now: datetime, owner: str) -> None:
    delay = next_delay(row.poll_count + 1)
    notice = row.notice
    if isinstance(exc, rivya.NotFound):
        since = row.submitted_at or row.created_at
        if now - since > NOT_FOUND_GRACE:
            logger.error("generation %s: Rivya does not know task %s", row.pk, row.rivya_task_id)
            _failed(row, None, owner, code="not_found", message=MESSAGE_NOT_FOUND)
            return
    elif isinstance(exc, rivya.RateLimited):
        delay = max(delay, min(exc.retry_after or 0.0, tasks.RETRY_CAP))
        notice = tasks.NOTICE_RATE_LIMITED
    elif isinstance(exc, rivya.RivyaConnectionError | rivya.ServiceUnavailable):
        notice = tasks.NOTICE_UNAVAILABLE
    elif isinstance(exc, rivya.AuthenticationError | rivya.PermissionDenied):
        # Nothing is lost: the task goes on at Rivya, and reads resume once the key is fixed.
        logger.error("generation %s: Rivya refused the API key (%s)", row.pk, exc.code)
        notice = tasks.NOTICE_ACCESS_REFUSED
        delay = CAP
    elif isinstance(exc, rivya.RivyaError):
        delay = CAP
    else:
        logger.error("generation %s: unexpected error while polling: %r", row.pk, exc)
        delay = CAP
    logger.warning("generation %s: poll failed (%r); next read in %.1fs", row.pk, exc, delay)
    fields: dict[str, Any] = {"poll_count": F("poll_count") + 1}
    if notice != row.notice:
        fields.update(notice=notice, changed_at=next_version())
    _release(row, owner, now + timedelta(seconds=delay), **fields)


# --- Re-driving lost steps ------------------------------------------------------------------


def redrive(*, now: datetime, limit: int) -> int:
    """Enqueue again the step of rows whose worker went away; return how many."""
    expired = _lease_expired(now)
    lost = [
        (Q(status=Status.SUBMITTING) & expired, tasks.submit),
        (Q(status=Status.SAVING) & expired, tasks.mirror),
        (Q(status=Status.PENDING, created_at__lt=now - PENDING_GRACE) & expired, tasks.submit),
    ]
    count = 0
    for condition, step in lost:
        for pk in list(Generation.objects.filter(condition).values_list("pk", flat=True)[:limit]):
            taken = Generation.objects.filter(condition, pk=pk).update(
                lease_owner=tasks.ENQUEUED, lease_until=now + tasks.REDRIVE_GRACE
            )
            if taken:
                logger.warning("generation %s: re-driving %s", pk, step.name)
                step.enqueue(str(pk))
                count += 1
    return count
