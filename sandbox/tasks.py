"""Background work of the sandbox, on the ``sandbox`` queue. Tasks take ids and are idempotent."""

from datetime import timedelta

from django.tasks import task
from django.utils import timezone

from sandbox import actions, webhooks
from sandbox.models import Generation


@task(queue_name="sandbox")
def advance_generation(generation_id: str) -> str:
    """Move a task along its timeline: render once it is processing, finish it when due.

    Re-enqueues itself for the next point in time until the task is terminal or paused.
    """
    generation = actions.advance(generation_id, render_early=True)
    if generation.is_terminal or generation.paused:
        return generation.status
    if generation.status == Generation.Status.QUEUED:
        when = generation.processing_at
    else:
        when = generation.due_at
    when = max(when, timezone.now() + timedelta(milliseconds=200))
    advance_generation.using(run_after=when).enqueue(generation_id)
    return generation.status


@task(queue_name="sandbox")
def deliver_webhook(delivery_id: str) -> str:
    """One webhook delivery attempt; a failure queues the next attempt with back-off."""
    return webhooks.deliver(delivery_id).status
