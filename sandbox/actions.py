"""The generation timeline: create, advance, render, succeed, fail (contract §3, §8 item 16).

Every state change is a conditional ``UPDATE … WHERE status = …`` that checks the row count,
so a GET, a background task and the control page can all call these at once and each
transition (and its refund or webhook event) happens exactly once.

How ``succeeded`` is reached: a background task (queue ``sandbox``) renders the video as
soon as the task is ``processing`` and finishes it when its time is up. Reads do not depend
on a worker: ``GET /generations/{id}`` calls :func:`advance`, which performs any transition
whose time has come and, when the video is due but nobody has rendered it, claims the render
(a conditional UPDATE on ``render_state``) and renders it inline. Two requests never render
the same task twice; a request that loses the claim answers ``processing``.
"""

import logging
import os
import random
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import Image, ImageDraw

from sandbox import conf, render, webhooks
from sandbox.models import Account, File, Generation, SandboxConfig, new_id

logger = logging.getLogger(__name__)

IMAGE_SIZES = {"1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344)}


def media_dir() -> Path:
    path = conf.data_dir() / "media"
    path.mkdir(parents=True, exist_ok=True)
    return path


def create_generation(
    account: Account,
    *,
    model: str,
    prompt: str,
    params: dict[str, str],
    reference_file: File | None,
    client_request_id: str,
    price: int,
    origin: str,
) -> Generation | None:
    """Debit the wallet and create the task; None when the balance is too low.

    Must run inside a transaction (the caller's idempotency transaction). ``origin`` is
    the scheme and host the request came in on, kept for the task's webhook payloads.
    """
    debited = Account.objects.filter(pk=account.pk, balance__gte=price).update(
        balance=F("balance") - price
    )
    if not debited:
        return None
    config = SandboxConfig.load()
    now = timezone.now()
    processing_at = now + timedelta(seconds=config.queued_seconds)
    generation = Generation.objects.create(
        id=new_id("task"),
        account=account,
        model=model,
        prompt=prompt,
        params=params,
        reference_file=reference_file,
        client_request_id=client_request_id,
        reserved_credits=price,
        will_fail=random.random() < config.task_failure_rate,  # noqa: S311
        processing_at=processing_at,
        due_at=processing_at + timedelta(seconds=config.processing_seconds),
        origin=origin,
        created_at=now,
        updated_at=now,
    )
    schedule(generation)
    return generation


def schedule(generation: Generation) -> None:
    """Enqueue the background step for the task's next point in time (after commit)."""
    from sandbox import tasks

    when = generation.processing_at if generation.status == Generation.Status.QUEUED else None
    when = when or generation.due_at
    transaction.on_commit(
        lambda: tasks.advance_generation.using(run_after=when).enqueue(generation.pk)
    )


def advance(generation_id: str, *, render_early: bool = False) -> Generation:
    """Apply every transition whose time has come and return the fresh row."""
    generation = Generation.objects.get(pk=generation_id)
    now = timezone.now()
    if generation.paused or generation.is_terminal:
        return generation
    if generation.status == Generation.Status.QUEUED and now >= generation.processing_at:
        Generation.objects.move(
            generation.pk, [Generation.Status.QUEUED], Generation.Status.PROCESSING
        )
        generation.refresh_from_db()
    if generation.status != Generation.Status.PROCESSING:
        return generation
    due = now >= generation.due_at
    if generation.will_fail:
        if due:
            fail(generation.pk)
    elif generation.render_state != Generation.Render.DONE and (due or render_early):
        render_result(generation.pk)
    generation.refresh_from_db()
    if due and generation.render_state == Generation.Render.DONE:
        succeed(generation.pk)
        generation.refresh_from_db()
    return generation


def render_result(generation_id: str) -> bool:
    """Render the task's result file unless another process holds the claim."""
    now = timezone.now()
    stale = now - timedelta(seconds=conf.get("SANDBOX_RENDER_LEASE_SECONDS"))
    claimed = (
        Generation.objects.filter(pk=generation_id)
        .filter(
            Q(render_state=Generation.Render.PENDING)
            | Q(render_state=Generation.Render.RENDERING, render_started_at__lt=stale)
        )
        .update(render_state=Generation.Render.RENDERING, render_started_at=now)
    )
    if not claimed:
        return False
    generation = Generation.objects.select_related("reference_file").get(pk=generation_id)
    target = media_dir() / generation.result_name
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        if generation.model == "z-image":
            _render_image(partial, generation)
        else:
            reference = None
            if generation.reference_file is not None:
                reference = file_path(generation.reference_file).read_bytes()
            render.render_video(
                partial,
                prompt=generation.prompt,
                duration=int(generation.params.get("duration", "5")),
                aspect_ratio=generation.params.get("aspect_ratio", "1:1"),
                sound=generation.params.get("sound") == "true",
                reference_image=reference,
            )
        partial.replace(target)
    except Exception:
        logger.exception("sandbox render failed for %s", generation_id)
        partial.unlink(missing_ok=True)
        Generation.objects.filter(pk=generation_id).update(
            render_state=Generation.Render.PENDING, render_started_at=None
        )
        raise
    Generation.objects.filter(pk=generation_id).update(
        render_state=Generation.Render.DONE, video_size=target.stat().st_size
    )
    return True


def _render_image(path: Path, generation: Generation) -> None:
    size = IMAGE_SIZES[generation.params.get("aspect_ratio", "1:1")]
    image = Image.new("RGB", size, (40, 44, 80))
    ImageDraw.Draw(image).text((32, 32), generation.prompt[:200], fill=(255, 255, 255))
    image.save(path, format="PNG")


def file_path(file: File) -> Path:
    return conf.data_dir() / file.relative_path


def succeed(generation_id: str) -> bool:
    with transaction.atomic():
        done = Generation.objects.move(
            generation_id,
            [Generation.Status.PROCESSING],
            Generation.Status.SUCCEEDED,
            final_credits=F("reserved_credits"),
        )
        if done:
            webhooks.emit(Generation.objects.get(pk=generation_id))
    return bool(done)


def fail(generation_id: str) -> bool:
    """End a task as failed and refund its reservation in full (§8 item 14)."""
    with transaction.atomic():
        generation = Generation.objects.get(pk=generation_id)
        done = Generation.objects.move(
            generation_id,
            [Generation.Status.QUEUED, Generation.Status.PROCESSING],
            Generation.Status.FAILED,
            final_credits=0,
        )
        if done:
            Account.objects.filter(pk=generation.account_id).update(
                balance=F("balance") + generation.reserved_credits
            )
            webhooks.emit(Generation.objects.get(pk=generation_id))
    return bool(done)


def fast_forward(generation_id: str) -> None:
    """Make every remaining step of the timeline due now (control page)."""
    now = timezone.now()
    Generation.objects.filter(pk=generation_id).update(processing_at=now, due_at=now, paused=False)
    advance(generation_id)


def set_paused(generation_id: str, paused: bool) -> None:
    Generation.objects.filter(pk=generation_id).update(paused=paused)
    if not paused:
        generation = Generation.objects.get(pk=generation_id)
        with transaction.atomic():
            schedule(generation)
