"""Background steps of a generation: ``submit`` it to Rivya, ``mirror`` its result; and
``snapshot_balance``, which stores Rivya's balance for the credit reconciliation.

Each task takes the generation's id as a string, claims the row with a lease and does one
idempotent thing; what the outcome means for the row (queued, rejected, needs attention,
retry later) is decided by the row's own methods in :mod:`generations.models`. Retries are
new enqueues with ``run_after``; the row's lease says when the poller should assume such a
retry was lost and re-drive it.

Lease protocol, shared with the poller:

* ``lease_owner == ENQUEUED``: a task has been enqueued for the row and may claim it at once;
  ``lease_until`` is when the poller should assume that task was lost.
* any other non-empty ``lease_owner``: a worker holds the row until ``lease_until``.
* ``lease_owner == ""``: nobody works on the row (a new row, or one the poller reads).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.tasks import task

from credits import snapshots
from credits.models import BalanceSnapshot
from generations import rivya, videos
from generations.models import COPY_LEASE, SUBMIT_LEASE, Generation, Status

logger = logging.getLogger(__name__)

# A copy renews its lease this often while bytes keep arriving.
RENEW_EVERY = 60.0  # seconds


def worker_id() -> str:
    """Who holds a lease: host, process and thread, so a log line can find it."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident()}"[:64]


def enqueue(step: str, generation_id: str, run_after: datetime | None = None) -> None:
    """Enqueue ``submit`` or ``mirror`` for the row once the current transaction commits."""
    chosen = {"submit": submit, "mirror": mirror}[step]
    if run_after is not None:
        chosen = chosen.using(run_after=run_after)
    transaction.on_commit(lambda: chosen.enqueue(generation_id), robust=True)


# --- submit ------------------------------------------------------------------------------


class ReferenceUnreadable(Exception):
    code = "reference_missing"
    message = "The stored reference image cannot be read."
    status = None
    retryable = False
    retry_after = None


@task
def submit(generation_id: str) -> None:
    """Send a pending generation to Rivya: upload its reference image, then create the task.

    The create call carries the row's stored Idempotency-Key and stored body on every
    attempt, so a retry after a lost answer gets the same Rivya task back, never a second.
    """
    owner = worker_id()
    generation = Generation.objects.claim(
        generation_id, [Status.PENDING, Status.SUBMITTING], owner=owner, lease=SUBMIT_LEASE
    )
    if generation is None:
        return
    generation.start_submitting(owner)
    try:
        with rivya.client_from_settings(max_retries=0) as client:
            if generation.reference_image and not generation.rivya_file_url:
                _upload_reference(client, generation, owner)
            body = generation.create_request(owner)
            if generation.confirm_window_over(owner):
                logger.error("generation %s: Rivya never confirmed its create", generation.pk)
                return
            generation.create_sent(owner)
            created = client.create_generation(
                model=body["model"],
                prompt=body["prompt"],
                params=body["params"],
                client_request_id=body.get("client_request_id"),
                idempotency_key=generation.idempotency_key,
            )
    except (rivya.RivyaError, ReferenceUnreadable) as exc:
        logger.warning(
            "generation %s: submit attempt %d (create %d) failed: %r",
            generation.pk,
            generation.attempts,
            generation.create_attempts,
            exc,
        )
        run_after = generation.submit_failed(exc, owner)
        if run_after is not None:
            enqueue("submit", generation_id, run_after)
        return
    if generation.accepted(created, owner):
        logger.info("generation %s submitted as %s", generation.pk, created.id)


def _upload_reference(client: rivya.Client, generation: Generation, owner: str) -> None:
    name = (generation.reference_image.name or "").rsplit("/", 1)[-1]
    try:
        image = generation.reference_image.open("rb")
    except OSError as exc:
        logger.exception("generation %s: the reference image is unreadable", generation.pk)
        raise ReferenceUnreadable from exc
    with image:
        uploaded = client.upload_file(
            image,
            filename=name,
            kind="image",
            model=generation.model,
            mime_type=generation.reference_mime or None,
            client_request_id=str(generation.pk),
            # Derived from the row's key: a retry replays the same upload.
            idempotency_key=f"{generation.idempotency_key}-reference",
        )
    generation.write(owner=owner, visible=False, rivya_file_url=uploaded.url)


# --- mirror ------------------------------------------------------------------------------


@task
def mirror(generation_id: str) -> None:
    """Copy a made video into our storage and mark the row ready.

    Reads the task from Rivya again first (its links may have been refreshed), falling back
    to the links read before; streams the video to storage under keys of this copy alone,
    renewing the lease while bytes arrive. Of two copies that race, the one that marks the
    row ready wins and the other removes only its own objects.
    """
    owner = worker_id()
    generation = Generation.objects.claim(
        generation_id, [Status.SAVING], owner=owner, lease=COPY_LEASE
    )
    if generation is None:
        return
    try:
        url = _result_url(generation, owner)
        copied = videos.copy_result(
            generation,
            url,
            copy_id=uuid.uuid4().hex[:12],
            on_progress=_lease_keeper(generation, owner),
        )
    except (rivya.RivyaError, videos.CopyError) as exc:
        logger.warning(
            "generation %s: copy attempt %d failed: %r", generation.pk, generation.attempts, exc
        )
        run_after = generation.copy_failed(exc, owner)
        if run_after is not None:
            enqueue("mirror", generation_id, run_after)
        return
    if generation.copied(copied, owner):
        logger.info("generation %s copied (%d bytes)", generation.pk, copied.size)
    else:
        logger.warning("generation %s: another copy won; removing this one", generation.pk)
        videos.discard(copied)


def _result_url(generation: Generation, owner: str) -> str:
    """The video's link: as Rivya gives it now, or as it gave it before if it cannot now."""
    try:
        with rivya.client_from_settings(max_retries=0) as client:
            remote = client.get_generation(generation.rivya_task_id)
    except rivya.RivyaError as exc:
        if not generation.result_urls or not exc.retryable:
            raise
        logger.warning("generation %s: re-reading the task failed (%r)", generation.pk, exc)
    else:
        urls = remote.result.links if remote.status == "succeeded" and remote.result else []
        if urls and urls != generation.result_urls:
            generation.write(owner=owner, visible=False, result_urls=urls)
    if not generation.result_urls:
        raise videos.CopyError("no_result", "Rivya gives no link to the video.", retryable=True)
    return str(generation.result_urls[0])


def _lease_keeper(
    generation: Generation, owner: str, clock: Callable[[], float] = time.monotonic
) -> Callable[[int], None]:
    """An ``on_progress`` that renews the lease every :data:`RENEW_EVERY` seconds and stops
    the copy if the lease was lost, so two copies never run past each other's lease."""
    renewed = clock()

    def keep(received: int) -> None:
        nonlocal renewed
        if clock() - renewed < RENEW_EVERY:
            return
        if not generation.renew(owner, COPY_LEASE):
            raise videos.CopyError("lease_lost", "Another worker took over this copy.")
        renewed = clock()

    return keep


# --- balance snapshots -------------------------------------------------------------------


def take_balance_snapshot() -> BalanceSnapshot:
    """Read Rivya's balance (``GET /credits``) and store it beside the ledger's total.

    Raises :class:`~generations.rivya.RivyaError` when Rivya cannot be read or answers
    something unreadable, ``ValueError`` for a balance that is not one (negative, say);
    either way nothing is stored.
    """
    with rivya.client_from_settings(max_retries=0) as client:
        balance = client.get_credits().current_credits
    return snapshots.record(balance)


@task
def snapshot_balance() -> int | None:
    """Take a balance snapshot if one is still due; returns its id, or None.

    Safe to run twice: a task queued by a second poller finds the first one's snapshot
    and does nothing. A failure is logged and stores nothing, so the snapshot stays due
    and the next housekeeping queues it again.
    """
    if not snapshots.due():
        return None
    try:
        snapshot = take_balance_snapshot()
    except (rivya.RivyaError, ValueError) as exc:
        logger.warning("balance snapshot failed, tried again later: %r", exc)
        return None
    logger.info(
        "balance snapshot %s: Rivya %d, ledger %d",
        snapshot.pk,
        snapshot.credits,
        snapshot.ledger_total,
    )
    return snapshot.pk


def snapshot_balance_if_due() -> bool:
    """Queue :func:`snapshot_balance` when the newest snapshot is old enough; True if queued.

    At most once per snapshot interval and process, so a stopped worker does not collect
    a pile of them, and a failed read is tried again one interval later.
    """
    if not snapshots.due():
        return False
    throttle = snapshots.interval().total_seconds()
    if not cache.add("generations:balance-snapshot", 1, throttle):
        return False
    snapshot_balance.enqueue()
    return True
