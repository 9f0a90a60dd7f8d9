"""The one state machine: every allowed transition works, every other is refused, and no
code outside the model modules writes a status."""

import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from generations import tasks, videos
from generations.models import (
    IN_FLIGHT,
    RETRYABLE_BY_USER,
    STALLED,
    TERMINAL,
    TRANSITIONS,
    Generation,
    InvalidTransition,
    Status,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

ROOT = Path(__file__).resolve().parent.parent
PAIRS = [(source, target) for source in Status for target in Status]


@pytest.mark.django_db
@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_every_allowed_transition_works_and_every_other_is_refused(add_generation, source, target):
    generation = add_generation(status=source)
    if target in TRANSITIONS[source]:
        assert generation.move(target)
        assert Generation.objects.get(pk=generation.pk).status == target
    else:
        with pytest.raises(InvalidTransition):
            generation.move(target)
        assert Generation.objects.get(pk=generation.pk).status == source


@pytest.mark.django_db
def test_a_move_from_a_state_the_row_left_changes_nothing(add_generation):
    generation = add_generation(status=Status.SAVING)
    stale = Generation.objects.get(pk=generation.pk)
    assert generation.move(Status.READY)
    assert not stale.move(Status.ATTENTION)  # it thinks the row is still saving
    assert Generation.objects.get(pk=generation.pk).status == Status.READY


@pytest.mark.django_db
def test_a_move_needs_the_lease_when_an_owner_is_given(add_generation):
    generation = add_generation(status=Status.SAVING, lease_owner="worker-a")
    assert not generation.move(Status.READY, owner="worker-b")
    assert generation.move(Status.READY, owner="worker-a")


def test_every_status_is_in_flight_stalled_or_terminal():
    assert set(Status) == IN_FLIGHT | STALLED | TERMINAL
    assert not IN_FLIGHT & STALLED and not IN_FLIGHT & TERMINAL and not STALLED & TERMINAL


def test_money_rules_in_the_table():
    # A create that may have reached Rivya never becomes failed or rejected.
    assert Status.FAILED not in TRANSITIONS[Status.SUBMITTING]
    assert Status.REJECTED not in TRANSITIONS[Status.ATTENTION]
    # A made video is kept or waits for staff, never failed.
    assert TRANSITIONS[Status.SAVING] == {Status.READY, Status.ATTENTION}
    # Only rows with no task, or a task Rivya failed, offer a paying Retry.
    assert {Status.FAILED, Status.REJECTED} == RETRYABLE_BY_USER


def test_no_status_is_written_outside_the_model_modules():
    found = subprocess.run(
        ["git", "grep", "-n", "update(" + "status", "--", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    files = {line.split(":", 1)[0] for line in found}
    assert files <= {"generations/models.py", "sandbox/models.py"}, found


def test_the_transition_table_in_the_docs_matches_the_code():
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("<!-- transitions -->")[1].split("<!-- /transitions -->")[0]
    documented = {}
    for row in table.strip().splitlines()[2:]:
        cells = [cell.strip(" `") for cell in row.strip("|").split("|")]
        documented[cells[0]] = set(re.findall(r"[a-z]+", cells[1])) - {"nothing"}
    assert documented == {str(k): {str(v) for v in vs} for k, vs in TRANSITIONS.items()}


@pytest.mark.django_db
def test_a_long_copy_renews_its_lease_and_stops_once_it_lost_it(add_generation):
    generation = add_generation(
        status=Status.SAVING, lease_owner="copier", lease_until=timezone.now()
    )
    now = [0.0]
    keep = tasks._lease_keeper(generation, "copier", clock=lambda: now[0])

    keep(1_000)  # too soon to write anything
    assert Generation.objects.get(pk=generation.pk).lease_until <= timezone.now()

    now[0] = tasks.RENEW_EVERY
    keep(2_000)
    renewed = Generation.objects.get(pk=generation.pk).lease_until
    assert renewed > timezone.now() + timedelta(minutes=10)

    Generation.objects.filter(pk=generation.pk).update(lease_owner="someone-else")
    now[0] = 2 * tasks.RENEW_EVERY
    with pytest.raises(videos.CopyError) as lost:
        keep(3_000)
    assert lost.value.code == "lease_lost"
