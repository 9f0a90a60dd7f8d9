"""The submit task against the sandbox over real HTTP, with its fault knobs.

Money rules under test: a create that may have reached Rivya is asked again with the same
key and body until Rivya answers; only a definite refusal rejects; past Rivya's idempotency
window the row needs attention, never failed, never a paying Retry.
"""

from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from credits.models import CreditEntry
from generations import tasks
from generations.models import (
    CONFIRM_WINDOW,
    REDRIVE_GRACE,
    Generation,
    Status,
)
from sandbox import models as sandbox_models
from sandbox.api import _builtin_key, builtin_account
from sandbox.models import ApiKey
from tests.fixtures import SANDBOX_KEY, drain, hurry, image_bytes, said, set_knobs, until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]


def queued_tasks(name):
    return DBTaskResult.objects.filter(task_path=f"generations.tasks.{name}", status="READY")


def run_retry(name="submit"):
    """Run the scheduled retry now: its ``run_after`` is brought forward, not waited for."""
    assert queued_tasks(name).exists(), f"no {name} retry was scheduled"
    hurry()
    drain()


def reload(generation):
    generation.refresh_from_db()
    return generation


def test_submit_creates_one_rivya_task_and_reserves_credits(add_generation):
    generation = add_generation(duration=5, sound=False, aspect_ratio="16:9")
    before = timezone.now()

    tasks.submit.enqueue(str(generation.pk))
    drain()

    generation = reload(generation)
    assert generation.status == Status.QUEUED
    remote = sandbox_models.Generation.objects.get()
    assert generation.rivya_task_id == remote.id
    assert remote.client_request_id == str(generation.pk)
    assert remote.params == {"duration": "5", "sound": "false", "aspect_ratio": "16:9"}
    assert generation.reserved_credits == remote.reserved_credits == 55
    assert generation.lease_owner == "" and generation.lease_until is None
    assert before + timedelta(seconds=2) < generation.next_poll_at < before + timedelta(seconds=10)
    assert generation.create_attempts == 1
    entry = CreditEntry.objects.get(generation=generation)
    assert (entry.kind, entry.amount, entry.rivya_task_id) == ("reserve", -55, remote.id)


def test_submit_sends_the_reference_image_through_the_files_api(add_generation):
    generation = add_generation(reference=image_bytes())

    tasks.submit.enqueue(str(generation.pk))
    drain()

    generation = reload(generation)
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
    assert generation.create_body["params"]["referenceMediaItems"][0]["url"] == uploaded.url


def test_submit_run_twice_sends_once(add_generation):
    generation = add_generation(reference=image_bytes())

    tasks.submit.call(str(generation.pk))
    tasks.submit.call(str(generation.pk))

    assert sandbox_models.File.objects.count() == 1
    assert sandbox_models.Generation.objects.count() == 1
    assert CreditEntry.objects.count() == 1


def test_lost_answers_never_fail_the_row_and_end_in_one_task(add_generation):
    """Nine answers lost in a row: the old code gave up after eight and offered a paying
    Retry; now every attempt asks again with the same key and body."""
    set_knobs(lose_first_answers=9)
    generation = add_generation()

    tasks.submit.call(str(generation.pk))
    for attempt in range(1, 10):
        generation = reload(generation)
        assert generation.status == Status.SUBMITTING, attempt
        assert generation.notice == "confirming"
        assert "Confirming with Rivya since" in said(generation)
        assert not generation.can_retry
        assert generation.create_attempts == attempt
        assert sandbox_models.Generation.objects.count() == 1  # made on the first attempt
        run_retry()

    generation = reload(generation)
    assert generation.status == Status.QUEUED
    assert generation.notice == ""
    remote = sandbox_models.Generation.objects.get()
    assert generation.rivya_task_id == remote.id
    assert builtin_account().balance == 10_000 - 55
    assert CreditEntry.objects.filter(generation=generation, kind="reserve").count() == 1


def test_every_attempt_sends_the_same_body(add_generation, http_calls):
    set_knobs(lose_first_answers=2)
    generation = add_generation(reference=image_bytes())
    tasks.submit.call(str(generation.pk))
    run_retry()
    run_retry()

    creates = [r for r in http_calls if r.method == "POST" and r.url.path.endswith("/generations")]
    assert len(creates) == 3
    assert len({r.content for r in creates}) == 1
    assert {r.headers["Idempotency-Key"] for r in creates} == {generation.idempotency_key}
    assert reload(generation).status == Status.QUEUED


def test_a_create_slower_than_the_read_timeout_is_confirmed_not_rejected(add_generation, settings):
    """The retry reaches Rivya while the first create still runs: 409 on our own key means
    "still in progress", not a refusal."""
    settings.RIVYA_READ_TIMEOUT = 0.5
    # Long enough that the retry below reaches the sandbox before this create ends, even on a
    # machine loaded with other work.
    set_knobs(create_delay_seconds=6.0)
    generation = add_generation()

    tasks.submit.call(str(generation.pk))  # times out; the sandbox goes on creating
    assert reload(generation).status == Status.SUBMITTING
    set_knobs(create_delay_seconds=0.0)
    run_retry()  # 409 idempotency_conflict: still in progress

    generation = reload(generation)
    assert generation.status == Status.SUBMITTING
    assert generation.notice == "confirming"
    assert generation.create_attempts == 2
    assert not generation.can_retry

    until(lambda: sandbox_models.Generation.objects.exists(), timeout=30)
    run_retry()  # the replay of the first create
    generation = reload(generation)
    assert generation.status == Status.QUEUED
    assert generation.rivya_task_id == sandbox_models.Generation.objects.get().id
    assert builtin_account().balance == 10_000 - 55


def test_a_key_already_used_for_another_request_is_a_refusal(add_generation, sandbox):
    generation = add_generation()
    # Someone else's request took the key first, with a different body.
    taken = httpx.post(
        f"{sandbox}/generations",
        headers={"Authorization": f"Bearer {SANDBOX_KEY}", "Idempotency-Key": generation.pk.hex},
        json={"model": "kling-2-6", "prompt": "another video", "params": {}},
    )
    assert taken.status_code == 200
    Generation.objects.filter(pk=generation.pk).update(idempotency_key=generation.pk.hex)

    tasks.submit.call(str(generation.pk))

    generation = reload(generation)
    assert generation.status == Status.REJECTED
    assert generation.error_code == "idempotency_conflict"
    assert generation.can_retry
    assert not CreditEntry.objects.filter(generation=generation).exists()


def test_past_the_idempotency_window_the_row_needs_attention(add_generation):
    set_knobs(lose_first_answers=100)
    generation = add_generation()
    tasks.submit.call(str(generation.pk))
    assert reload(generation).status == Status.SUBMITTING

    with time_machine.travel(timezone.now() + CONFIRM_WINDOW + timedelta(minutes=1), tick=False):
        run_retry()

    generation = reload(generation)
    assert generation.status == Status.ATTENTION
    assert generation.error_code == "create_unconfirmed"
    assert not generation.can_retry
    assert "never confirmed" in said(generation)
    # Nothing is sent past the window: the same key could then make a second task.
    assert generation.create_attempts == 1
    assert sandbox_models.Generation.objects.count() == 1  # Rivya made it; staff will ask


def test_staff_asking_again_finds_the_task_the_first_attempt_made(add_generation):
    set_knobs(lose_first_answers=1)
    generation = add_generation()
    tasks.submit.call(str(generation.pk))
    with time_machine.travel(timezone.now() + CONFIRM_WINDOW + timedelta(minutes=1), tick=False):
        run_retry()
    generation = reload(generation)
    assert generation.status == Status.ATTENTION

    assert generation.ask_again() == "submit"
    tasks.submit.call(str(generation.pk))

    generation = reload(generation)
    assert generation.status == Status.QUEUED
    assert sandbox_models.Generation.objects.count() == 1
    assert builtin_account().balance == 10_000 - 55


def test_a_submission_that_never_sent_a_create_gives_up_without_charge(add_generation):
    set_knobs(public_api_disabled=True)
    generation = add_generation(reference=image_bytes())  # the upload fails first
    tasks.submit.call(str(generation.pk))
    generation = reload(generation)
    assert generation.status == Status.SUBMITTING
    assert generation.create_attempts == 0
    assert generation.notice == "unavailable"

    with time_machine.travel(timezone.now() + CONFIRM_WINDOW + timedelta(minutes=1), tick=False):
        run_retry()

    generation = reload(generation)
    assert generation.status == Status.REJECTED
    assert generation.error_code == "submit_gave_up"
    assert generation.can_retry
    assert not sandbox_models.Generation.objects.exists()


def revoke_key(revoked=True):
    key = _builtin_key(SANDBOX_KEY)
    key.status = ApiKey.Status.REVOKED if revoked else ApiKey.Status.ACTIVE
    key.save(update_fields=["status"])


def test_a_refused_key_on_the_first_create_rejects(add_generation):
    revoke_key()
    generation = add_generation()
    tasks.submit.call(str(generation.pk))
    generation = reload(generation)
    assert generation.status == Status.REJECTED
    assert generation.error_code == "api_key_revoked"
    assert "access key" in said(generation)


def test_a_refused_key_after_an_unanswered_create_keeps_asking(add_generation):
    set_knobs(lose_first_answers=1)
    generation = add_generation()
    tasks.submit.call(str(generation.pk))  # created at Rivya, answer lost

    revoke_key()
    run_retry()
    generation = reload(generation)
    assert generation.status == Status.SUBMITTING
    assert generation.notice == "access_refused"

    revoke_key(revoked=False)
    run_retry()
    assert reload(generation).status == Status.QUEUED
    assert sandbox_models.Generation.objects.count() == 1


def test_a_worker_killed_mid_submit_is_taken_over_after_its_lease(add_generation):
    generation = add_generation()
    # A worker claimed the row and died: its lease is still running.
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.SUBMITTING,
        lease_owner="dead-worker",
        lease_until=timezone.now() + timedelta(minutes=1),
    )
    tasks.submit.call(str(generation.pk))
    assert reload(generation).status == Status.SUBMITTING
    assert not sandbox_models.Generation.objects.exists()

    Generation.objects.filter(pk=generation.pk).update(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    tasks.submit.call(str(generation.pk))
    assert reload(generation).status == Status.QUEUED
    assert sandbox_models.Generation.objects.count() == 1


def test_insufficient_credits_rejects_without_charging(add_generation):
    account = builtin_account()
    sandbox_models.Account.objects.filter(pk=account.pk).update(balance=10)
    generation = add_generation()

    tasks.submit.call(str(generation.pk))

    generation = reload(generation)
    assert generation.status == Status.REJECTED
    assert generation.card_status == Status.FAILED
    assert generation.error_code == "insufficient_credits"
    assert generation.finished_at is not None
    assert "not enough credits" in said(generation)
    assert generation.rivya_says  # Rivya's own words are kept for the card
    assert not CreditEntry.objects.exists()
    assert not queued_tasks("submit").exists()


def test_a_prompt_rivya_refuses_is_rejected_with_its_words(add_generation):
    generation = add_generation(prompt="x" * 1001)

    tasks.submit.call(str(generation.pk))

    generation = reload(generation)
    assert generation.status == Status.REJECTED
    assert generation.error_code == "validation_failed"
    assert generation.rivya_message
    assert generation.rivya_says == generation.rivya_message
    assert not sandbox_models.Generation.objects.exists()


def test_rate_limiting_is_retried_after_retry_after(add_generation):
    set_knobs(rate_limit_generations=0, rate_window_seconds=60)
    generation = add_generation()
    before = timezone.now()

    tasks.submit.call(str(generation.pk))

    generation = reload(generation)
    assert generation.status == Status.SUBMITTING
    assert generation.notice == "rate_limited"
    assert generation.attempts == 1
    retry = queued_tasks("submit").get()
    assert retry.args_kwargs["args"] == [str(generation.pk)]
    # The sandbox's window resets within a minute: Retry-After is honoured.
    assert retry.run_after > before + timedelta(seconds=0.9)
    assert generation.lease_until == retry.run_after + REDRIVE_GRACE


def test_submit_ignores_rows_that_moved_on(add_generation):
    generation = add_generation(status=Status.READY)
    tasks.submit.call(str(generation.pk))
    tasks.submit.call("00000000-0000-0000-0000-000000000000")
    assert reload(generation).status == Status.READY
    assert not sandbox_models.Generation.objects.exists()
