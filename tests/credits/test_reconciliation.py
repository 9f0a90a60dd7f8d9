"""Reconciliation: the ledger's movement between two balance snapshots against Rivya's
change, with a deliberate drift; and the anomalies list, each kind found and not invented."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from credits import audit, ledger, snapshots
from credits.models import BalanceSnapshot, CreditEntry
from generations.models import Generation, Status
from teams.models import Team
from tests.credits.test_dashboard import EN, RECONCILIATION, Spend

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

Kind = CreditEntry.Kind
NOW = datetime(2026, 3, 20, 12, 0, tzinfo=ZoneInfo("UTC"))


def snapshot(credits: int, taken_at: datetime | None = None) -> BalanceSnapshot:
    """Rivya's balance beside the ledger's total and newest entry, as the poller stores it."""
    if taken_at is None:
        return snapshots.record(credits)
    with time_machine.travel(taken_at, tick=False):
        return snapshots.record(credits)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def studio(owner):
    return Team.objects.create(name="Studio")


def spend(team, user, reserve, back, back_kind=Kind.SETTLE, task="task", when=None):
    when = when or datetime.now(tz=ZoneInfo("UTC"))
    return Spend(team, user, reserve, when, back, back_kind, when, task=task).make()


@pytest.fixture
def wallet(studio, owner):
    """A wallet of 10,000 credits, then a success (55 reserved, 5 back) and a failure (40
    reserved, 40 back): Rivya's balance is 9,950 and the ledger moved by -50."""
    first = snapshot(10_000)
    spend(studio, owner, 55, 5, task="task_ok")
    spend(studio, owner, 40, 40, Kind.REFUND, task="task_failed")
    return first, snapshot(9_950)


# --- The computation -----------------------------------------------------------------------


def test_a_ledger_that_explains_rivyas_change_has_no_difference(wallet):
    result = audit.reconcile(*wallet)
    assert (result.rivya_change, result.ledger_movement, result.difference) == (-50, -50, 0)
    assert (result.entry_count, result.entries_total) == (4, -50)
    assert [entry.kind for entry in result.entries] == ["reserve", "settle", "reserve", "refund"]


def test_a_top_up_without_an_adjustment_is_a_drift_until_one_is_recorded(wallet, staff, studio):
    _, before = wallet
    topped_up = snapshot(9_950 + 300)  # Rivya's balance grew; the ledger does not know why
    drift = audit.reconcile(before, topped_up)
    assert (drift.rivya_change, drift.ledger_movement, drift.difference) == (300, 0, 300)
    assert drift.entry_count == 0

    ledger.adjust(amount=300, reason="Top-up on 20 March", made_by=staff)
    explained = audit.reconcile(before, snapshot(10_250))
    assert (explained.difference, explained.entry_count, explained.entries_total) == (0, 1, 300)


def test_the_snapshots_may_come_in_either_order(wallet):
    first, last = wallet
    result = audit.reconcile(last, first)
    assert (result.first, result.last, result.difference) == (first, last, 0)
    assert result.rivya_change == -50


# --- The page ------------------------------------------------------------------------------


def difference_row(html: str) -> str:
    return re.search(r'<tr class="difference[^"]*">.*?</tr>', html, flags=re.DOTALL).group(0)


def test_the_page_compares_the_latest_two_snapshots_by_default(wallet, staff_client):
    response = staff_client.get(RECONCILIATION, **EN)
    assert response.status_code == 200
    html = response.text
    assert response.context["result"].last == wallet[1]
    assert 'id="rivya-change">-50<' in html
    assert 'id="ledger-movement">-50<' in html
    assert 'class="difference"' in difference_row(html)
    assert 'id="agree"' in html
    assert 'id="drift"' not in html
    assert "4 ledger entries between the two snapshots" in html


def test_the_page_highlights_a_drift(wallet, staff_client):
    _, before = wallet
    drifted = snapshot(9_950 - 7)  # Rivya took 7 credits the ledger never heard of
    response = staff_client.get(RECONCILIATION, {"first": before.pk, "last": drifted.pk}, **EN)
    html = response.text
    row = difference_row(html)
    assert 'class="difference nonzero"' in row
    assert "<strong>-7</strong>" in row
    assert 'id="drift"' in html
    assert 'id="agree"' not in html


def test_the_entries_between_are_paginated(studio, owner, staff_client):
    first = snapshot(10_000)
    for number in range(30):
        spend(studio, owner, 10, 0, task=f"task_{number}")
    last = snapshot(10_000 - 300)
    query = {"first": first.pk, "last": last.pk}
    page = staff_client.get(RECONCILIATION, query, **EN)
    assert len(page.context["entries"]) == 50
    assert "60 ledger entries" in page.text
    assert f'href="?first={first.pk}&amp;last={last.pk}&amp;page=2"' in page.text
    second = staff_client.get(RECONCILIATION, {**query, "page": "2"}, **EN)
    assert len(second.context["entries"]) == 10
    for bad in ("0", "-1", "x", "999", "9" * 400):
        response = staff_client.get(RECONCILIATION, {**query, "page": bad}, **EN)
        assert response.status_code == 200
        assert len(response.context["entries"]) in {50, 10}


def test_a_date_range_picks_its_first_and_last_snapshot(studio, owner, staff_client):
    day = datetime(2026, 3, 1, 9, 0, tzinfo=ZoneInfo("UTC"))
    snapshots = [snapshot(10_000 - n, taken_at=day + timedelta(days=n)) for n in range(5)]
    response = staff_client.get(RECONCILIATION, {"start": "2026-03-02", "end": "2026-03-04"})
    result = response.context["result"]
    assert (result.first, result.last) == (snapshots[1], snapshots[3])
    assert result.difference == -2  # Rivya lost 2 credits, the ledger nothing


@pytest.mark.parametrize(
    "query",
    [
        {"first": "abc", "last": "1"},
        {"first": "-1", "last": "1"},
        {"first": str(2**70), "last": str(2**63)},
        {"first": "999999", "last": "999998"},
        {"first": "same", "last": "same"},
        {"first": "1"},
        {"start": "2026-02-30"},
        {"start": "0000-01-01", "end": "9999-12-31"},
        {"start": "2030-01-01", "end": "2030-01-02"},
        {"end": "x" * 5000},
        {"first": "\x00", "page": "\x00"},
    ],
)
def test_bad_choices_show_the_latest_two_with_a_message(query, wallet, staff_client):
    if query.get("first") == "same":
        query = {"first": wallet[0].pk, "last": wallet[0].pk}
    response = staff_client.get(RECONCILIATION, query, **EN)
    assert response.status_code == 200
    assert (response.context["result"].first, response.context["result"].last) == wallet
    assert "the latest two are shown" in response.text


def test_without_two_snapshots_the_page_says_so_and_lists_anomalies(staff_client):
    snapshot(10_000)
    response = staff_client.get(RECONCILIATION, **EN)
    assert response.status_code == 200
    assert response.context["result"] is None
    assert "needs two balance snapshots; there is 1." in response.text
    assert 'id="anomaly-attention"' in response.text


# --- Anomalies -----------------------------------------------------------------------------


def found(kind: str, **kwargs) -> set:
    lists = {listed.kind: listed for listed in audit.anomalies(**kwargs)}
    return {row.object_id for row in lists[kind].rows}


def reserve_at(when, team, user, task, back=None, back_kind=Kind.SETTLE):
    generation = Spend(team, user, 50, when, back, back_kind, when, task=task).make()
    return generation.pk


def test_reservations_left_open_past_the_limit_are_found(studio, owner, settings):
    settings.RECONCILE_UNSETTLED_HOURS = 24
    old = NOW - timedelta(hours=25)
    stuck = reserve_at(old, studio, owner, "task_stuck")
    reserve_at(old, studio, owner, "task_settled", back=0)
    reserve_at(NOW - timedelta(hours=30), studio, owner, "task_refunded", 50, Kind.REFUND)
    reserve_at(NOW - timedelta(hours=1), studio, owner, "task_young")
    assert found("unsettled", now=NOW) == {stuck}
    settings.RECONCILE_UNSETTLED_HOURS = 48
    assert found("unsettled", now=NOW) == set()


def generation(team, user, status, reserved=None, final=None, task="task"):
    return Generation.objects.create(
        team=team,
        created_by=user,
        prompt=f"{status} {reserved} {final}",
        status=status,
        rivya_task_id=task,
        reserved_credits=reserved,
        final_credits=final,
    )


def test_successes_charged_other_than_reserved_are_found(studio, owner):
    cheaper = generation(studio, owner, Status.READY, 55, 40)
    dearer = generation(studio, owner, Status.SAVING, 70, 71)
    generation(studio, owner, Status.READY, 50, 50)
    generation(studio, owner, Status.FAILED, 50, 0)
    generation(studio, owner, Status.PROCESSING, 50, None)
    generation(studio, owner, Status.READY)  # no credits known either way
    assert found("mismatch") == {cheaper.pk, dearer.pk}


def test_ledger_entries_without_a_rivya_task_are_found_but_not_adjustments(studio, owner, staff):
    spend(studio, owner, 10, 0, task="task_known")
    untasked = generation(studio, owner, Status.PROCESSING, task="")
    ledger.record(untasked, Kind.RESERVE, -10)
    ledger.adjust(amount=5, reason="goodwill", made_by=staff, team=studio)
    entry = CreditEntry.objects.get(generation=untasked)
    assert found("no_task") == {entry.pk}


def test_generations_that_need_attention_are_found(studio, owner):
    waiting = generation(studio, owner, Status.ATTENTION, 50)
    generation(studio, owner, Status.READY, 50, 50)
    generation(studio, owner, Status.FAILED, 50, 0)
    assert found("attention") == {waiting.pk}


def test_a_clean_ledger_has_no_anomalies(wallet):
    assert all(listed.count == 0 and not listed.rows for listed in audit.anomalies())


def test_long_lists_are_cut_but_counted(studio, owner):
    for number in range(3):
        generation(studio, owner, Status.ATTENTION, task=f"t{number}")
    (attention,) = [listed for listed in audit.anomalies(limit=2) if listed.kind == "attention"]
    assert (attention.count, len(attention.rows)) == (3, 2)


def test_the_page_links_each_anomaly_to_its_admin_page(studio, owner, staff_client, wallet):
    waiting = generation(studio, owner, Status.ATTENTION, 50)
    untasked = generation(studio, owner, Status.PROCESSING, task="")
    ledger.record(untasked, Kind.RESERVE, -10)
    entry = CreditEntry.objects.get(generation=untasked)
    html = staff_client.get(RECONCILIATION, **EN).text
    generation_url = f"/admin/generations/generation/{waiting.pk}/change/"
    entry_url = f"/admin/credits/creditentry/{entry.pk}/change/"
    assert f'href="{generation_url}"' in html
    assert f'href="{entry_url}"' in html
    assert staff_client.get(generation_url).status_code == 200
    assert staff_client.get(entry_url).status_code == 200
