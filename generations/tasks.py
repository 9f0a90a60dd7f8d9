"""Background steps of a generation: ``submit`` to Rivya, ``mirror`` its result.

Each task takes the generation's id as a string, reloads the row, claims it with a lease
(a conditional UPDATE) and does one idempotent thing, so running a task twice, or a worker
dying at any line, loses nothing and charges nothing twice. Retries are new enqueues with
``run_after``; the row's ``lease_until`` is set to that time so the poller
(:mod:`generations.poller`) re-drives the row only if the retry itself gets lost.

Lease protocol, shared with the poller:

* ``lease_owner == ENQUEUED``: a task has been enqueued for the row and may claim it at once;
  ``lease_until`` is when the poller should assume that task was lost.
* any other non-empty ``lease_owner``: a worker holds the row until ``lease_until``.
* ``lease_owner == ""``: nobody works on the row (a new row, or one the poller reads).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext_noop

import generations.mirror as mirroring
from generations import rivya
from generations.models import CreditEntry, Generation, Status, next_version

logger = logging.getLogger(__name__)

ENQUEUED = "enqueued"

SUBMIT_LEASE = timedelta(minutes=3)
SUBMIT_MAX_ATTEMPTS = 8
SUBMIT_GIVE_UP_AFTER = timedelta(minutes=30)

MIRROR_LEASE = timedelta(minutes=10)
MIRROR_MAX_ATTEMPTS = 6

RETRY_BASE = 2.0  # seconds before the first retry; doubles each time...
RETRY_CAP = 120.0  # ...up to this
# How long the poller waits past a scheduled retry before assuming it was lost.
REDRIVE_GRACE = timedelta(seconds=60)

FIRST_POLL_AFTER = timedelta(seconds=3)

# Stored untranslated and translated when shown ({% translate generation.notice %}),
# so each viewer reads them in their own language.
NOTICE_RATE_LIMITED = gettext_noop("Rivya is rate limiting us; retrying…")
NOTICE_UNAVAILABLE = gettext_noop("Rivya is not answering right now; retrying…")
NOTICE_DOWNLOAD_RETRY = gettext_noop("Saving the video failed; retrying…")
NOTICE_ACCESS_REFUSED = gettext_noop(
    "Rivya refused our access key; an administrator must check it. We keep checking."
)
MESSAGE_SUBMIT_GAVE_UP = gettext_noop("Rivya could not be reached; the video was not made.")
MESSAGE_REFERENCE_MISSING = gettext_noop("The reference image could not be read.")


def worker_id() -> str:
    """Who holds a lease: host, process and thread, so a log line can find it."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident()}"[:64]


def rivya_client() -> rivya.Client:
    """A client that does not retry by itself: tasks and the poller retry by re-enqueueing,
    so a rate limit never holds a worker asleep."""
    return rivya.Client(settings.RIVYA_API_KEY, settings.RIVYA_API_BASE, max_retries=0)


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retry number ``attempt`` (1-based): exponential with full jitter,
    never sooner than a ``Retry-After`` the server gave."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2.0 ** max(0, attempt - 1))
    delay = ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not crypto
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_CAP))
    return delay


def claim(generation_id: str, states: list[str], lease: timedelta) -> Generation | None:
    """Take the row for this worker if it is in ``states`` and nobody else holds it."""
    now = timezone.now()
    free = Q(lease_owner__in=["", ENQUEUED]) | Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    claimed = (
        Generation.objects.filter(pk=generation_id, status__in=states)
        .filter(free)
        .update(
            lease_owner=worker_id(),
            lease_until=now + lease,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None
    return Generation.objects.select_related("team", "created_by").get(pk=generation_id)


def schedule_retry(generation: Generation, task_name: str, delay: float, **fields: Any) -> datetime:
    """Hand the row back and enqueue ``task_name`` again after ``delay`` seconds."""
    run_after = timezone.now() + timedelta(seconds=delay)
    Generation.objects.filter(pk=generation.pk, lease_owner=worker_id()).update(
        lease_owner=ENQUEUED,
        lease_until=run_after + REDRIVE_GRACE,
        changed_at=next_version(),
        **fields,
    )
    step = submit if task_name == "submit" else mirror
    transaction.on_commit(
        lambda: step.using(run_after=run_after).enqueue(str(generation.pk)), robust=True
    )
    return run_after


# --- submit ------------------------------------------------------------------------------


@task
def submit(generation_id: str) -> None:
    """Send a pending generation to Rivya: upload its reference image, then create the task.

    The create call carries the row's stored Idempotency-Key on every attempt, so a retry
    after a lost answer gets the same Rivya task back instead of a second one.
    """
    generation = claim(generation_id, [Status.PENDING, Status.SUBMITTING], SUBMIT_LEASE)
    if generation is None:
        return
    if generation.status == Status.PENDING:
        generation.transition(Status.PENDING, Status.SUBMITTING)
    with rivya_client() as client:
        try:
            _submit(client, generation)
        except rivya.RivyaError as exc:
            _submit_failed(generation, exc)
        except OSError:
            logger.exception("generation %s: the reference image is unreadable", generation.pk)
            _reject(generation, "reference_missing", MESSAGE_REFERENCE_MISSING)


def _submit(client: rivya.Client, generation: Generation) -> None:
    params = generation.rivya_params()
    if generation.reference_image:
        if not generation.rivya_file_url:
            _upload_reference(client, generation)
        params["referenceMediaItems"] = [reference_item(generation)]
    created = client.create_generation(
        model=generation.model,
        prompt=generation.prompt,
        params=params,
        idempotency_key=generation.idempotency_key,
        client_request_id=str(generation.pk),
    )
    now = timezone.now()
    with transaction.atomic():
        moved = generation.transition(
            Status.SUBMITTING,
            Status.QUEUED,
            rivya_task_id=created.id,
            rivya_status=created.status,
            reserved_credits=created.reserved_credits,
            submitted_at=now,
            next_poll_at=now + FIRST_POLL_AFTER,
            lease_owner="",
            lease_until=None,
            poll_count=0,
            attempts=0,
            notice="",
        )
        if moved and created.reserved_credits is not None:
            CreditEntry.record(generation, CreditEntry.Kind.RESERVE, -created.reserved_credits)
    logger.info("generation %s submitted as %s", generation.pk, created.id)


def _upload_reference(client: rivya.Client, generation: Generation) -> None:
    name = (generation.reference_image.name or "").rsplit("/", 1)[-1]
    with generation.reference_image.open("rb") as image:
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
    generation.touch(rivya_file_url=uploaded.url)


def reference_item(generation: Generation) -> dict[str, object]:
    """The ``referenceMediaItems`` entry, built from the row alone so that every attempt
    sends the same body (the Idempotency-Key replays only an identical request)."""
    item: dict[str, object] = {
        "url": generation.rivya_file_url,
        "kind": "image",
        "name": (generation.reference_image.name or "").rsplit("/", 1)[-1],
    }
    if generation.reference_mime:
        item["mimeType"] = generation.reference_mime
    return item


def _submit_failed(generation: Generation, exc: rivya.RivyaError) -> None:
    if not exc.retryable and not isinstance(exc, rivya.RivyaConnectionError):
        code = getattr(exc, "code", "invalid_response")
        logger.warning("generation %s rejected by Rivya: %r", generation.pk, exc)
        _reject(generation, code, getattr(exc, "message", str(exc)))
        return
    too_old = timezone.now() - generation.created_at > SUBMIT_GIVE_UP_AFTER
    if generation.attempts >= SUBMIT_MAX_ATTEMPTS or too_old:
        logger.warning("generation %s: giving up submitting after %r", generation.pk, exc)
        _fail(generation, Status.SUBMITTING, "submit_gave_up", MESSAGE_SUBMIT_GAVE_UP)
        return
    notice = NOTICE_RATE_LIMITED if isinstance(exc, rivya.RateLimited) else NOTICE_UNAVAILABLE
    delay = retry_delay(generation.attempts, getattr(exc, "retry_after", None))
    logger.warning(
        "generation %s: submit attempt %d failed (%r); retrying in %.1fs",
        generation.pk,
        generation.attempts,
        exc,
        delay,
    )
    schedule_retry(generation, "submit", delay, notice=notice)


def _reject(generation: Generation, code: str, message: str) -> None:
    generation.transition(
        [Status.PENDING, Status.SUBMITTING],
        Status.REJECTED,
        error_code=code[:64],
        error_message=message,
        finished_at=timezone.now(),
        lease_owner="",
        lease_until=None,
        notice="",
    )


def _fail(generation: Generation, from_state: str, code: str, message: str) -> None:
    generation.transition(
        from_state,
        Status.FAILED,
        error_code=code,
        error_message=message,
        finished_at=timezone.now(),
        lease_owner="",
        lease_until=None,
        notice="",
    )


# --- mirror ------------------------------------------------------------------------------


@task
def mirror(generation_id: str) -> None:
    """Copy a succeeded generation's video into our storage and mark the row ready.

    Reads the task from Rivya again for a fresh result URL, streams it to storage with
    :func:`generations.mirror.mirror_result`, and settles the credits. A re-run after
    ``ready`` does nothing; a re-run after partial writes overwrites the same keys.
    """
    generation = claim(generation_id, [Status.SAVING], MIRROR_LEASE)
    if generation is None:
        return
    try:
        with rivya_client() as client:
            remote = client.get_generation(generation.rivya_task_id)
        url = remote.result.primary_url if remote.result else None
        if remote.status != "succeeded" or not url:
            raise mirroring.MirrorError(
                "no_result", f"Rivya reports {remote.status!r} without a result URL."
            )
        saved = mirroring.mirror_result(generation, url)
    except (rivya.RivyaError, mirroring.MirrorError) as exc:
        _mirror_failed(generation, exc)
        return
    final = remote.final_credits
    if final is None:
        final = generation.final_credits or generation.reserved_credits
    with transaction.atomic():
        moved = generation.transition(
            Status.SAVING,
            Status.READY,
            video=saved.video,
            poster=saved.poster,
            provenance=saved.provenance,
            video_sha256=saved.sha256,
            video_size=saved.size,
            video_duration=saved.duration,
            video_width=saved.width,
            video_height=saved.height,
            final_credits=final,
            finished_at=timezone.now(),
            lease_owner="",
            lease_until=None,
            notice="",
        )
        if moved:
            settle(generation)
    logger.info("generation %s mirrored (%d bytes)", generation.pk, saved.size)


def settle(generation: Generation) -> None:
    """Ledger entry that closes a reservation: gives back what was reserved but not spent.

    Entries of one generation sum to minus what it finally cost.
    """
    reserved = generation.reserved_credits or 0
    final = generation.final_credits if generation.final_credits is not None else reserved
    CreditEntry.record(generation, CreditEntry.Kind.SETTLE, reserved - final, note=f"final {final}")


def _mirror_failed(generation: Generation, exc: Exception) -> None:
    retryable = getattr(exc, "retryable", False)
    code = getattr(exc, "code", "mirror_failed")
    message = getattr(exc, "message", str(exc))
    if retryable and generation.attempts < MIRROR_MAX_ATTEMPTS:
        delay = retry_delay(generation.attempts, getattr(exc, "retry_after", None))
        logger.warning(
            "generation %s: mirror attempt %d failed (%r); retrying in %.1fs",
            generation.pk,
            generation.attempts,
            exc,
            delay,
        )
        schedule_retry(generation, "mirror", delay, notice=NOTICE_DOWNLOAD_RETRY)
        return
    logger.error("generation %s: mirroring failed for good: %r", generation.pk, exc)
    with transaction.atomic():
        # Rivya made (and charged for) the video even though we could not keep it.
        moved = generation.transition(
            Status.SAVING,
            Status.FAILED,
            error_code=str(code)[:64],
            error_message=message,
            finished_at=timezone.now(),
            lease_owner="",
            lease_until=None,
            notice="",
        )
        if moved:
            settle(generation)
