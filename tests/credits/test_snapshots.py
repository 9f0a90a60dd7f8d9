"""Balance snapshots: Rivya's balance read over real HTTP (the sandbox, or a scripted
server for answers the sandbox never gives), stored beside the ledger's total."""

import logging
import os
import signal
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from credits import ledger, snapshots
from credits.models import BalanceSnapshot, CreditEntry
from generations import poller, tasks
from sandbox.api import builtin_account
from tests.fixtures import SANDBOX_KEY, drain, set_knobs
from tests.http_server import FakeServer, as_json

SNAPSHOT_TASK = "generations.tasks.snapshot_balance"


def stop_on_second_round(rounds):
    """A ``poll_due`` that sends this process SIGTERM on its second call."""

    def poll_due(*, limit):
        rounds.append(limit)
        if len(rounds) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return 0

    return poll_due


def queued_snapshots() -> int:
    return DBTaskResult.objects.filter(task_path=SNAPSHOT_TASK, status="READY").count()


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("auditor", "auditor@example.com", is_staff=True)


# --- record and due ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_snapshot_stores_the_balance_with_the_ledgers_total_and_newest_entry(staff):
    ledger.adjust(amount=500, reason="Top-up in Rivya", made_by=staff)
    newest = ledger.adjust(amount=-20, reason="Refund by Rivya support", made_by=staff)

    snapshot = snapshots.record(9_480)

    snapshot.refresh_from_db()
    assert snapshot.credits == 9_480
    assert snapshot.ledger_total == 480
    assert snapshot.ledger_last_id == newest.pk
    assert timezone.now() - snapshot.taken_at < timedelta(seconds=5)


@pytest.mark.django_db
def test_a_snapshot_of_an_empty_ledger_has_a_zero_total_and_no_entry():
    snapshot = snapshots.record(0)
    assert (snapshot.credits, snapshot.ledger_total, snapshot.ledger_last_id) == (0, 0, None)


@pytest.mark.django_db
@pytest.mark.parametrize("balance", [-1, True, 12.0, "100", None, 2**63])
def test_a_value_that_is_not_a_balance_stores_nothing(balance):
    with pytest.raises(ValueError):
        snapshots.record(balance)
    assert not BalanceSnapshot.objects.exists()


@pytest.mark.django_db
def test_a_snapshot_is_due_when_none_exists_or_the_newest_is_old_enough(settings):
    settings.BALANCE_SNAPSHOT_MINUTES = 10
    now = timezone.now()
    assert snapshots.due(now)

    BalanceSnapshot.objects.create(credits=1, ledger_total=0, taken_at=now - timedelta(minutes=30))
    BalanceSnapshot.objects.create(credits=1, ledger_total=0, taken_at=now - timedelta(minutes=9))
    assert not snapshots.due(now)
    assert snapshots.due(now + timedelta(minutes=1))

    settings.BALANCE_SNAPSHOT_MINUTES = 5
    assert snapshots.due(now)


# --- the task, against the sandbox -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
def test_the_task_reads_the_sandbox_wallet_over_http(staff, http_calls):
    ledger.adjust(amount=-55, reason="Opening difference", made_by=staff)
    account = builtin_account()
    type(account).objects.filter(pk=account.pk).update(balance=7_321)

    tasks.snapshot_balance.enqueue()
    drain()

    snapshot = BalanceSnapshot.objects.get()
    assert (snapshot.credits, snapshot.ledger_total) == (7_321, -55)
    assert [call.url.path for call in http_calls] == ["/sandbox/api/v1/credits"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
def test_the_task_does_nothing_when_another_took_the_snapshot_first(http_calls):
    snapshots.record(10_000)
    tasks.snapshot_balance.enqueue()
    drain()
    assert BalanceSnapshot.objects.count() == 1
    assert http_calls == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
@pytest.mark.parametrize(
    "knobs",
    [{"public_api_disabled": True}, {"error_rate": 1.0}, {"drop_rate": 1.0}],
    ids=["kill switch", "server errors", "dropped connections"],
)
def test_rivya_down_is_logged_without_the_key_and_stores_nothing(knobs, caplog):
    set_knobs(**knobs)
    with caplog.at_level(logging.INFO):
        tasks.snapshot_balance.enqueue()
        drain()

    assert not BalanceSnapshot.objects.exists()
    assert "balance snapshot failed" in caplog.text
    assert SANDBOX_KEY not in caplog.text

    # The snapshot stays due: once Rivya is back, the next check takes it.
    set_knobs(public_api_disabled=False, error_rate=0.0, drop_rate=0.0)
    tasks.snapshot_balance.enqueue()
    drain()
    assert BalanceSnapshot.objects.get().credits == 10_000


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "body",
    [
        {},
        {"current_credits": None},
        {"current_credits": "plenty"},
        {"current_credits": -5},
        {"current_credits": 1.5},
        ["current_credits", 5],
    ],
    ids=["missing", "null", "text", "negative", "fraction", "not an object"],
)
def test_a_bad_answer_is_logged_and_stores_nothing(settings, caplog, body):
    with FakeServer() as fake:
        fake.on("/api/v1/credits", as_json(200, body, **{"x-request-id": "req_bad"}))
        settings.RIVYA_API_BASE = f"{fake.url}/api/v1"
        settings.RIVYA_API_KEY = SANDBOX_KEY
        tasks.snapshot_balance.enqueue()
        drain()
        assert fake.paths() == ["/api/v1/credits"]
    assert not BalanceSnapshot.objects.exists()
    assert "balance snapshot failed" in caplog.text
    assert SANDBOX_KEY not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_balance_sent_as_text_digits_is_read_as_the_number(settings):
    with FakeServer() as fake:
        fake.on("/api/v1/credits", as_json(200, {"current_credits": "8120", "plan": "team"}))
        settings.RIVYA_API_BASE = f"{fake.url}/api/v1"
        tasks.snapshot_balance.enqueue()
        drain()
    assert BalanceSnapshot.objects.get().credits == 8_120


# --- the poller's housekeeping ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_due_snapshot_is_queued_once_per_interval():
    assert tasks.snapshot_balance_if_due()
    # A second check before the task ran (or after it failed) queues nothing more.
    assert not tasks.snapshot_balance_if_due()
    assert queued_snapshots() == 1


@pytest.mark.django_db
def test_a_fresh_snapshot_queues_nothing():
    snapshots.record(10_000)
    assert not tasks.snapshot_balance_if_due()
    assert queued_snapshots() == 0


@pytest.mark.django_db(transaction=True)  # the loop closes connections between rounds
@pytest.mark.usefixtures("sandbox")
def test_the_poller_queues_a_snapshot_at_start_and_the_worker_takes_it(monkeypatch):
    monkeypatch.setattr(poller, "poll_due", stop_on_second_round([]))
    call_command("rivya_poller", "--interval", "0.01")
    assert queued_snapshots() == 1

    drain()
    assert BalanceSnapshot.objects.get().credits == 10_000


@pytest.mark.django_db(transaction=True)
def test_a_broken_check_is_logged_and_polling_goes_on(monkeypatch, caplog):
    def broken():
        raise RuntimeError("the database went away")

    rounds = []
    monkeypatch.setattr(tasks, "snapshot_balance_if_due", broken)
    monkeypatch.setattr(poller, "poll_due", stop_on_second_round(rounds))
    call_command("rivya_poller", "--interval", "0.01")
    assert len(rounds) == 2
    assert "Balance snapshot check failed" in caplog.text


# --- the operator's command ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
def test_the_command_takes_a_snapshot_now_even_if_one_is_fresh(capsys):
    snapshots.record(10_000)
    call_command("snapshot_balance")
    newest = BalanceSnapshot.objects.latest()
    assert BalanceSnapshot.objects.count() == 2
    assert f"Snapshot {newest.pk} at " in capsys.readouterr().out
    total = CreditEntry.objects.aggregate(total=Sum("amount"))["total"] or 0
    assert (newest.credits, newest.ledger_total) == (10_000, total)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
def test_the_command_fails_loudly_when_rivya_is_down():
    set_knobs(public_api_disabled=True)
    with pytest.raises(CommandError, match="nothing stored"):
        call_command("snapshot_balance")
    assert not BalanceSnapshot.objects.exists()
