"""The ledger matches Rivya to the credit: a mixed run against the sandbox over real HTTP,
with a real worker and the poller, between two balance snapshots."""

import io
import re

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client

from credits import audit, ledger
from credits.models import BalanceSnapshot, CreditEntry
from generations import tasks
from generations.models import Status
from sandbox import models as sandbox_models
from sandbox.api import builtin_account
from tests.fixtures import run_until, set_knobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]

SETTLED = {Status.READY, Status.FAILED, Status.REJECTED, Status.ATTENTION}
# Five seconds cost the model's base (55); ten with sound 70; ten without more than the
# wallet holds, so Rivya refuses it for insufficient credits.
PRICES = {"kling-2-6": {"10|true|1:1": 70, "10|false|1:1": 20_000}}
TOO_LONG = "A lantern festival on the river " * 40  # over the 1,000 characters Rivya takes


def snapshot() -> BalanceSnapshot:
    """A snapshot taken the way an operator takes one: ``manage.py snapshot_balance``."""
    call_command("snapshot_balance", stdout=io.StringIO())
    return BalanceSnapshot.objects.latest()


def wallet() -> int:
    """The sandbox's own record of the balance, read from its table."""
    return builtin_account().balance


def difference(first: BalanceSnapshot, last: BalanceSnapshot) -> int:
    """Rivya's change between two snapshots minus the ledger's movement between them."""
    return audit.reconcile(first, last).difference


def page_difference(client: Client, first: BalanceSnapshot, last: BalanceSnapshot) -> str:
    """The difference as the reconciliation page shows it, in English."""
    page = client.get(
        "/admin/credits/reconciliation/",
        {"first": first.pk, "last": last.pk},
        headers={"accept-language": "en"},
    )
    assert page.status_code == 200
    found = re.search(
        r'<tr class="([^"]*)">\s*<th[^>]*>Difference</th>\s*<td[^>]*>(.*?)</td>', page.text
    )
    assert found, page.text
    return f"{found[1]}: {found[2]}"


def submit_all(add_generation, *rows: dict) -> list:
    generations = [add_generation(**fields) for fields in rows]
    for generation in generations:
        tasks.submit.enqueue(str(generation.pk))
    for generation in generations:
        run_until(generation, SETTLED, hurry_retries=True, timeout=90)
    return generations


def statuses(generations) -> list[str]:
    return [generation.status for generation in generations]


def entries(generations) -> list[list[tuple[str, int]]]:
    """Each generation's ledger entries as (kind, amount), in a fixed order."""
    return [
        sorted(CreditEntry.objects.filter(generation=g).values_list("kind", "amount"))
        for g in generations
    ]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-1234-root")


@pytest.fixture
def staff_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


def top_up(client: Client, credits: int) -> None:
    """Credits added to the sandbox's wallet on its control page, as Rivya's billing would."""
    response = client.post("/sandbox/control/", {"form": "topup", "credits": credits})
    assert response.status_code == 302


def test_after_a_mixed_run_the_ledger_moves_exactly_as_the_wallet(
    add_generation, settings, superuser, staff_client, live_server
):
    settings.SANDBOX_PRICES = PRICES
    before = wallet()
    first = snapshot()
    assert (first.credits, difference(first, first)) == (before, 0)

    succeeded = submit_all(
        add_generation, {}, {"duration": 10, "sound": True}, {"prompt": "Rain on a tin roof"}
    )
    assert statuses(succeeded) == [Status.READY] * 3
    assert entries(succeeded) == [
        [("reserve", -55), ("settle", 0)],
        [("reserve", -70), ("settle", 0)],
        [("reserve", -55), ("settle", 0)],
    ]

    set_knobs(task_failure_rate=1.0)
    failed = submit_all(add_generation, {}, {"duration": 10, "sound": True})
    assert statuses(failed) == [Status.FAILED] * 2
    assert entries(failed) == [
        [("refund", 55), ("reserve", -55)],
        [("refund", 70), ("reserve", -70)],
    ]
    set_knobs(task_failure_rate=0.0)

    refused = submit_all(add_generation, {"prompt": TOO_LONG}, {"duration": 10, "sound": False})
    assert statuses(refused) == [Status.REJECTED] * 2
    assert [g.error_code for g in refused] == ["validation_failed", "insufficient_credits"]
    assert entries(refused) == [[], []]

    # Creates that outlast the read timeout, then answers lost: every create is sent
    # again under its key, several times, until an answer arrives.
    settings.RIVYA_READ_TIMEOUT = 0.5
    set_knobs(create_delay_seconds=0.8, lose_first_answers=3)
    retried = submit_all(add_generation, {}, {"duration": 10, "sound": True})
    settings.RIVYA_READ_TIMEOUT = 30.0
    assert statuses(retried) == [Status.READY] * 2
    assert all(g.create_attempts >= 4 for g in retried)
    assert entries(retried) == [
        [("reserve", -55), ("settle", 0)],
        [("reserve", -70), ("settle", 0)],
    ]
    set_knobs(create_delay_seconds=0.0, lose_first_answers=0)

    # Made and charged, but its copy is refused (the link is on another, loopback host):
    # it waits for staff, and the ledger keeps the charge.
    set_knobs(media_host=f"127.0.0.1:{live_server.thread.port}")
    attention = submit_all(add_generation, {})
    assert statuses(attention) == [Status.ATTENTION]
    assert entries(attention) == [[("reserve", -55), ("settle", 0)]]
    set_knobs(media_host="")

    last = snapshot()
    charged = 55 + 70 + 55 + 55 + 70 + 55
    assert wallet() - before == last.credits - first.credits == -charged
    assert last.ledger_total - first.ledger_total == -charged
    assert difference(first, last) == 0
    assert audit.reconcile(first, last).entries_total == -charged
    assert page_difference(staff_client, first, last) == "difference: 0"
    # Every task the sandbox made is one reserve entry, and the other way round.
    tasks_made = set(sandbox_models.Generation.objects.values_list("id", flat=True))
    reserved = CreditEntry.objects.filter(kind="reserve").values_list("rivya_task_id", flat=True)
    assert sorted(reserved) == sorted(tasks_made) and len(tasks_made) == 8

    # A top-up Rivya's billing made, not yet explained in the ledger: the drift shows.
    top_up(staff_client, 500)
    drifted = snapshot()
    assert difference(last, drifted) == difference(first, drifted) == 500
    assert (
        page_difference(staff_client, first, drifted) == "difference nonzero: <strong>500</strong>"
    )

    # Staff record it as an adjustment: explained, the difference is zero again.
    ledger.adjust(amount=500, reason="Top-up of 500 credits bought in Rivya", made_by=superuser)
    explained = snapshot()
    assert difference(last, explained) == difference(first, explained) == 0
    assert page_difference(staff_client, first, explained) == "difference: 0"
    total = CreditEntry.objects.aggregate(total=Sum("amount"))["total"]
    assert explained.ledger_total == total == -charged + 500


def test_a_create_sent_many_times_makes_one_task_and_one_reserve_entry(add_generation, settings):
    first = snapshot()
    settings.RIVYA_READ_TIMEOUT = 0.5
    set_knobs(create_delay_seconds=0.8, lose_first_answers=8)

    (generation,) = submit_all(add_generation, {})
    settings.RIVYA_READ_TIMEOUT = 30.0

    assert generation.status == Status.READY
    assert generation.create_attempts >= 9  # eight answers lost, the ninth heard
    assert sandbox_models.Generation.objects.count() == 1
    reserves = CreditEntry.objects.filter(generation=generation, kind="reserve")
    assert list(reserves.values_list("amount", "rivya_task_id")) == [
        (-55, sandbox_models.Generation.objects.get().id)
    ]
    last = snapshot()
    assert last.credits - first.credits == last.ledger_total - first.ledger_total == -55
