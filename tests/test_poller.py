"""The poller against the sandbox over real HTTP: leases, status mapping, backoff, re-drives."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from credits.models import CreditEntry
from generations import poller, tasks
from generations.models import ENQUEUED, NOT_FOUND_GRACE, Generation, Status
from sandbox import models as sandbox_models
from tests.fixtures import drain, said, set_knobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]


def enqueued(name):
    return list(
        DBTaskResult.objects.filter(
            task_path=f"generations.tasks.{name}", status="READY"
        ).values_list("args_kwargs", flat=True)
    )


def submitted(add_generation, count=1, **fields):
    rows = []
    for _ in range(count):
        generation = add_generation(**fields)
        tasks.submit.call(str(generation.pk))
        generation.refresh_from_db()
        assert generation.status == Status.QUEUED
        rows.append(generation)
    return rows


def later(seconds=60):
    return timezone.now() + timedelta(seconds=seconds)


def test_next_delay_starts_near_three_seconds_and_grows_to_a_cap():
    delays = [poller.next_delay(n, rand=lambda: 0.5) for n in range(12)]
    assert delays[0] == pytest.approx(3.0)
    assert delays[1] == pytest.approx(4.5)
    assert delays == sorted(delays)
    assert delays[-1] == pytest.approx(poller.CAP)
    assert poller.next_delay(0, rand=lambda: 0.0) == pytest.approx(3.0 * (1 - poller.JITTER))
    assert poller.next_delay(0, rand=lambda: 1.0) == pytest.approx(3.0 * (1 + poller.JITTER))


def test_rows_not_due_yet_are_left_alone(add_generation):
    (generation,) = submitted(add_generation)
    assert poller.poll_due() == 0  # the first read is ~3 s after submit
    generation.refresh_from_db()
    assert generation.poll_count == 0


def test_a_read_schedules_the_next_with_backoff(add_generation, settings):
    # A long timeline, so the sandbox task is still in flight however slow this machine is.
    settings.SANDBOX_PROCESSING_SECONDS = 600
    (generation,) = submitted(add_generation)
    now = later(5)

    assert poller.poll_due(now=now) == 1

    generation.refresh_from_db()
    assert generation.status in {Status.QUEUED, Status.PROCESSING}
    assert generation.poll_count == 1
    assert generation.lease_owner == "" and generation.lease_until is None
    delay = (generation.next_poll_at - now).total_seconds()
    assert 4.5 * 0.89 < delay < 4.5 * 1.11


def test_processing_then_succeeded_moves_to_saving_and_enqueues_mirror(add_generation):
    (generation,) = submitted(add_generation)
    sandbox_models.Generation.objects.filter(pk=generation.rivya_task_id).update(
        processing_at=timezone.now() - timedelta(seconds=1), due_at=later(3600)
    )
    poller.poll_due(now=later())
    generation.refresh_from_db()
    assert generation.status == Status.PROCESSING
    assert generation.rivya_status == "processing"

    sandbox_models.Generation.objects.filter(pk=generation.rivya_task_id).update(
        due_at=timezone.now() - timedelta(seconds=1)
    )
    deadline = time.monotonic() + 30
    while generation.status != Status.SAVING and time.monotonic() < deadline:
        poller.poll_due(now=later(3600))
        generation.refresh_from_db()
    assert generation.status == Status.SAVING
    assert generation.final_credits == 55
    assert generation.lease_owner == ENQUEUED
    assert enqueued("mirror") == [{"args": [str(generation.pk)], "kwargs": {}}]


def test_a_failed_generation_is_refunded(add_generation):
    set_knobs(task_failure_rate=1.0)
    (generation,) = submitted(add_generation)
    sandbox_models.Generation.objects.filter(pk=generation.rivya_task_id).update(
        processing_at=timezone.now(), due_at=timezone.now()
    )

    poller.poll_due(now=later())

    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.error_code == "generation_failed"
    assert generation.final_credits == 0
    assert generation.finished_at is not None
    ledger = dict(CreditEntry.objects.filter(generation=generation).values_list("kind", "amount"))
    assert ledger == {"reserve": -55, "refund": 55}


def test_two_pollers_at_once_read_each_row_once(add_generation, settings):
    settings.RIVYA_POLL_RATE = 100
    settings.SANDBOX_QUEUED_SECONDS = 600  # every read answers "queued"
    rows = submitted(add_generation, count=6)
    now = later(5)
    results = []

    def run():
        try:
            results.append(poller.poll_due(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sum(results) == 6
    counts = Generation.objects.filter(pk__in=[r.pk for r in rows]).values_list(
        "poll_count", flat=True
    )
    assert sorted(counts) == [1] * 6


def test_a_row_leased_by_another_poller_is_skipped_until_the_lease_expires(add_generation):
    (generation,) = submitted(add_generation)
    now = later(5)
    Generation.objects.filter(pk=generation.pk).update(
        lease_owner="poll:other", lease_until=now + timedelta(seconds=30)
    )
    assert poller.poll_due(now=now) == 0

    assert poller.poll_due(now=now + timedelta(seconds=31)) == 1
    generation.refresh_from_db()
    assert generation.poll_count == 1
    assert generation.lease_owner == ""


def test_the_rate_budget_bounds_reads_per_second(add_generation, settings):
    settings.RIVYA_POLL_RATE = 2
    submitted(add_generation, count=4)
    # The clock stands still at the start of a second, so the window cannot roll over.
    second = int(time.time()) + 1
    with time_machine.travel(second, tick=False):
        assert poller.poll_due(now=later(5)) == 2
    with time_machine.travel(second + 1, tick=False):
        assert (poller.take_budget(5), poller.take_budget(1)) == (2, 0)


def test_rate_limited_reads_keep_the_row_and_say_so(add_generation):
    (generation,) = submitted(add_generation)
    set_knobs(rate_limit_other=0)
    now = later(5)

    assert poller.poll_due(now=now) == 1

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert generation.notice == "rate_limited"
    assert generation.next_poll_at > now
    assert generation.lease_owner == ""


def test_an_unknown_task_is_read_again_then_needs_attention(add_generation):
    generation = add_generation(
        status=Status.QUEUED,
        rivya_task_id="task_" + "A" * 24,
        submitted_at=timezone.now(),
        next_poll_at=timezone.now(),
        reserved_credits=55,
    )
    assert poller.poll_due(now=later(1)) == 1
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED

    assert poller.poll_due(now=later(NOT_FOUND_GRACE.total_seconds() + 60)) == 1
    generation.refresh_from_db()
    # A task we were told about may have been paid for: never failed, never a Retry.
    assert generation.status == Status.ATTENTION
    assert generation.error_code == "task_not_found"
    assert not generation.can_retry
    assert "no longer finds" in said(generation)
    assert not CreditEntry.objects.filter(generation=generation, kind="refund").exists()


def test_expired_leases_are_re_driven(add_generation):
    past = timezone.now() - timedelta(seconds=5)
    stuck_submit = add_generation(status=Status.SUBMITTING, lease_owner="dead", lease_until=past)
    stuck_mirror = add_generation(status=Status.SAVING, lease_owner="dead", lease_until=past)
    lost_pending = add_generation(created_at=timezone.now() - timedelta(minutes=5))
    fresh_pending = add_generation()
    held = add_generation(status=Status.SUBMITTING, lease_owner="alive", lease_until=later())

    assert poller.poll_due() == 3

    assert sorted(a["args"][0] for a in enqueued("submit")) == sorted(
        [str(stuck_submit.pk), str(lost_pending.pk)]
    )
    assert enqueued("mirror") == [{"args": [str(stuck_mirror.pk)], "kwargs": {}}]
    for row in (stuck_submit, stuck_mirror, lost_pending):
        row.refresh_from_db()
        assert row.lease_owner == ENQUEUED
        assert row.lease_until > timezone.now()
    fresh_pending.refresh_from_db()
    held.refresh_from_db()
    assert fresh_pending.lease_owner == "" and held.lease_owner == "alive"
    # A second round does not enqueue them again while the new lease runs.
    assert poller.poll_due() == 0


def test_a_re_driven_submit_finishes_the_job_once(add_generation):
    generation = add_generation(
        status=Status.SUBMITTING,
        lease_owner="dead",
        lease_until=timezone.now() - timedelta(seconds=5),
    )
    poller.poll_due()
    drain()
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert sandbox_models.Generation.objects.count() == 1


def test_a_refused_key_shows_a_notice_and_loses_nothing(add_generation, settings):
    settings.SANDBOX_PROCESSING_SECONDS = 600
    (generation,) = submitted(add_generation)
    # The server stops taking the app's key, as Rivya does with a revoked one.
    app_key = sandbox_models.ApiKey.objects.get(
        key_hash=sandbox_models.hash_key(settings.RIVYA_API_KEY)
    )
    app_key.status = sandbox_models.ApiKey.Status.REVOKED
    app_key.save(update_fields=["status"])

    assert poller.poll_due(now=later(5)) == 1

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert generation.notice == "access_refused"
    assert (generation.next_poll_at - later(5)).total_seconds() == pytest.approx(poller.CAP, abs=1)
    assert "rvya_sk_" not in generation.notice

    app_key.status = sandbox_models.ApiKey.Status.ACTIVE
    app_key.save(update_fields=["status"])
    assert poller.poll_due(now=later(60)) == 1
    generation.refresh_from_db()
    assert generation.status in {Status.QUEUED, Status.PROCESSING}
    assert generation.notice == ""
