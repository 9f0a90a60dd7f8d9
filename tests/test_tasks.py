"""The submit task against the sandbox over real HTTP, with its fault knobs."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from generations import tasks
from generations.models import CreditEntry, Generation, Status
from sandbox import models as sandbox_models
from sandbox.api import builtin_account
from tests.fixtures import drain, image_bytes, set_knobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]


def queued_tasks(name):
    return DBTaskResult.objects.filter(task_path=f"generations.tasks.{name}", status="READY")


def wait_and_drain(result_rows):
    """Sleep until the latest re-enqueued task is due, then run it."""
    run_after = max(row.run_after for row in result_rows)
    time.sleep(max(0.0, (run_after - timezone.now()).total_seconds()) + 0.05)
    drain()


def test_submit_creates_one_rivya_task_and_reserves_credits(add_generation):
    generation = add_generation(duration=5, sound=False, aspect_ratio="16:9")
    before = timezone.now()

    tasks.submit.enqueue(str(generation.pk))
    drain()

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    remote = sandbox_models.Generation.objects.get()
    assert generation.rivya_task_id == remote.id
    assert remote.client_request_id == str(generation.pk)
    assert remote.params == {"duration": "5", "sound": "false", "aspect_ratio": "16:9"}
    assert generation.reserved_credits == remote.reserved_credits == 55
    assert generation.lease_owner == "" and generation.lease_until is None
    assert before + timedelta(seconds=2) < generation.next_poll_at < before + timedelta(seconds=10)
    entry = CreditEntry.objects.get(generation=generation)
    assert (entry.kind, entry.amount, entry.rivya_task_id) == ("reserve", -55, remote.id)


def test_submit_sends_the_reference_image_through_the_files_api(add_generation):
    generation = add_generation(reference=image_bytes())

    tasks.submit.enqueue(str(generation.pk))
    drain()

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    uploaded = sandbox_models.File.objects.get()
    assert (uploaded.kind, uploaded.model, uploaded.mime_type) == (
        "image",
        "kling-2-6",
        "image/png",
    )
    assert uploaded.client_request_id == str(generation.pk)
    assert generation.rivya_file_url == uploaded.url
    # The sandbox finds the file by the URL sent in params.referenceMediaItems.
    remote = sandbox_models.Generation.objects.get()
    assert remote.reference_file_id == uploaded.id
    assert tasks.reference_item(generation)["url"] == uploaded.url


def test_submit_run_twice_sends_once(add_generation):
    generation = add_generation(reference=image_bytes())

    tasks.submit.call(str(generation.pk))
    tasks.submit.call(str(generation.pk))

    assert sandbox_models.File.objects.count() == 1
    assert sandbox_models.Generation.objects.count() == 1
    assert CreditEntry.objects.count() == 1


def test_a_lost_create_answer_is_replayed_into_one_task(add_generation):
    generation = add_generation()
    set_knobs(answer_lost_rate=1.0)

    tasks.submit.enqueue(str(generation.pk))
    drain()

    generation.refresh_from_db()
    assert generation.status == Status.SUBMITTING
    assert generation.notice == tasks.NOTICE_UNAVAILABLE
    assert generation.lease_owner == tasks.ENQUEUED
    assert sandbox_models.Generation.objects.count() == 1  # Rivya made it; we never heard

    set_knobs(answer_lost_rate=0.0)
    wait_and_drain(queued_tasks("submit"))

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert generation.notice == ""
    remote = sandbox_models.Generation.objects.get()
    assert generation.rivya_task_id == remote.id
    assert builtin_account().balance == 10_000 - 55
    assert CreditEntry.objects.filter(generation=generation, kind="reserve").count() == 1


def test_a_worker_killed_mid_submit_is_taken_over_after_its_lease(add_generation):
    generation = add_generation()
    # A worker claimed the row and died: its lease is still running.
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING,
        lease_owner="dead-worker",
        lease_until=timezone.now() + timedelta(minutes=1),
    )
    tasks.submit.call(str(generation.pk))
    generation.refresh_from_db()
    assert generation.status == Status.SUBMITTING
    assert not sandbox_models.Generation.objects.exists()

    Generation.objects.filter(pk=generation.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    tasks.submit.call(str(generation.pk))
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert sandbox_models.Generation.objects.count() == 1


def test_insufficient_credits_rejects_without_charging(add_generation):
    account = builtin_account()
    sandbox_models.Account.objects.filter(pk=account.pk).update(balance=10)
    generation = add_generation()

    tasks.submit.call(str(generation.pk))

    generation.refresh_from_db()
    assert generation.status == Status.REJECTED
    assert generation.card_status == Status.FAILED
    assert generation.error_code == "insufficient_credits"
    assert generation.finished_at is not None
    assert not CreditEntry.objects.exists()
    assert not queued_tasks("submit").exists()


def test_a_prompt_rivya_refuses_is_rejected(add_generation):
    generation = add_generation(prompt="x" * 1001)

    tasks.submit.call(str(generation.pk))

    generation.refresh_from_db()
    assert generation.status == Status.REJECTED
    assert generation.error_code == "validation_failed"
    assert generation.error_message
    assert not sandbox_models.Generation.objects.exists()


def test_rate_limiting_is_retried_after_retry_after(add_generation):
    set_knobs(rate_limit_generations=0, rate_window_seconds=60)
    generation = add_generation()
    before = timezone.now()

    tasks.submit.call(str(generation.pk))

    generation.refresh_from_db()
    assert generation.status == Status.SUBMITTING
    assert generation.notice == tasks.NOTICE_RATE_LIMITED
    assert generation.attempts == 1
    retry = queued_tasks("submit").get()
    assert retry.args_kwargs["args"] == [str(generation.pk)]
    # The sandbox's window resets within a minute: Retry-After is honoured.
    assert retry.run_after > before + timedelta(seconds=0.9)
    assert generation.lease_until == retry.run_after + tasks.REDRIVE_GRACE


def test_submit_gives_up_after_bounded_attempts(add_generation):
    set_knobs(public_api_disabled=True)
    generation = add_generation()
    Generation.objects.filter(pk=generation.pk).update(attempts=tasks.SUBMIT_MAX_ATTEMPTS - 1)

    tasks.submit.call(str(generation.pk))

    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.error_code == "submit_gave_up"
    assert generation.lease_owner == ""
    assert not queued_tasks("submit").exists()


def test_submit_ignores_rows_that_moved_on(add_generation):
    generation = add_generation(status=Status.READY)
    tasks.submit.call(str(generation.pk))
    tasks.submit.call("00000000-0000-0000-0000-000000000000")
    generation.refresh_from_db()
    assert generation.status == Status.READY
    assert not sandbox_models.Generation.objects.exists()
