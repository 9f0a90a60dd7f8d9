from datetime import timedelta

import pytest
from django.utils import timezone

from credits import ledger
from credits.models import CreditEntry
from generations.models import Generation, Status
from teams.models import Membership, Team


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    client.force_login(admin)
    return client


@pytest.fixture
def spent(owner):
    team = Team.objects.create(name="Studio")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    generation = Generation.objects.create(
        team=team, created_by=owner, prompt="A kite", rivya_task_id="task_abc"
    )
    ledger.record(generation, CreditEntry.Kind.RESERVE, -55)
    return generation


@pytest.mark.django_db
def test_admin_lists_generations_and_ledger_filtered_by_team(staff_client, spent):
    response = staff_client.get(
        "/admin/generations/generation/", {"team__id__exact": spent.team_id}
    )
    assert response.status_code == 200
    assert "task_abc" in response.text
    response = staff_client.get("/admin/credits/creditentry/", {"team__id__exact": spent.team_id})
    assert response.status_code == 200
    assert "-55" in response.text


@pytest.mark.django_db
def test_the_credit_ledger_cannot_be_edited_or_deleted(staff_client, spent):
    entry = CreditEntry.objects.get()
    url = f"/admin/credits/creditentry/{entry.pk}/change/"
    response = staff_client.post(url, {"amount": "0", "kind": "reserve"})
    assert response.status_code in {302, 403} or "readonly" in response.text
    entry.refresh_from_db()
    assert entry.amount == -55
    assert staff_client.post(f"/admin/credits/creditentry/{entry.pk}/delete/").status_code == 403
    # The add page records an adjustment (tests/credits/test_audit_admin.py), never a
    # lifecycle entry.
    assert CreditEntry.objects.count() == 1


@pytest.mark.django_db
def test_recording_the_same_step_twice_writes_one_entry(spent):
    ledger.record(spent, CreditEntry.Kind.RESERVE, -55)
    assert CreditEntry.objects.filter(generation=spent).count() == 1


@pytest.mark.django_db
def test_generation_detail_in_admin_is_read_only(staff_client, spent):
    response = staff_client.get(f"/admin/generations/generation/{spent.pk}/change/")
    assert response.status_code == 200
    assert 'name="prompt"' not in response.text


def run_action(staff_client, action, *generations):
    return staff_client.post(
        "/admin/generations/generation/",
        {"action": action, "_selected_action": [str(g.pk) for g in generations]},
        follow=True,
        headers={"accept-language": "en"},
    )


def queued(name):
    from django_tasks_db.models import DBTaskResult

    return [
        row.args_kwargs["args"][0]
        for row in DBTaskResult.objects.filter(task_path=f"generations.tasks.{name}")
    ]


@pytest.mark.django_db
def test_rows_that_need_attention_are_listed_with_attempts_and_first_attempt(
    staff_client, add_generation
):
    first = timezone.now() - timedelta(days=1, minutes=5)
    stuck = add_generation(
        status=Status.ATTENTION,
        error_code="create_unconfirmed",
        create_attempts=37,
        first_create_at=first,
    )
    add_generation(status=Status.READY)
    response = staff_client.get("/admin/generations/generation/", {"status__exact": "attention"})
    assert response.status_code == 200
    assert "create_unconfirmed" in response.text
    assert ">37<" in response.text
    assert f"{timezone.localtime(first):%Y-%m-%d %H:%M}" in response.text
    # The key is internal: not shown, but staff can still find its row by it.
    assert stuck.idempotency_key not in response.text
    found = staff_client.get("/admin/generations/generation/", {"q": stuck.idempotency_key})
    assert found.text.count('name="_selected_action"') == 1
    assert response.text.count('name="_selected_action"') == 1


@pytest.mark.django_db
def test_asking_again_resends_an_unconfirmed_create_and_rereads_a_lost_task(
    staff_client, add_generation, django_capture_on_commit_callbacks
):
    unconfirmed = add_generation(status=Status.ATTENTION, error_code="create_unconfirmed")
    lost = add_generation(
        status=Status.ATTENTION, error_code="task_not_found", rivya_task_id="task_lost"
    )
    made = add_generation(
        status=Status.ATTENTION,
        error_code="not_mp4",
        rivya_task_id="task_made",
        rivya_status="succeeded",
    )
    ready = add_generation(status=Status.READY)

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "ask_rivya_again", unconfirmed, lost, made, ready)

    assert "2 of 4 generations were sent back to work." in response.text
    for row in (unconfirmed, lost, made, ready):
        row.refresh_from_db()
    assert unconfirmed.status == Status.SUBMITTING
    assert unconfirmed.confirm_until > timezone.now()
    assert queued("submit") == [str(unconfirmed.pk)]
    assert lost.status == Status.QUEUED and lost.next_poll_at <= timezone.now()
    # A made video is copied again, never created again.
    assert made.status == Status.ATTENTION
    assert ready.status == Status.READY


@pytest.mark.django_db
def test_copying_again_resends_only_made_videos_to_the_copy_step(
    staff_client, add_generation, django_capture_on_commit_callbacks
):
    made = add_generation(
        status=Status.ATTENTION,
        error_code="media_host_refused",
        rivya_task_id="task_made",
        rivya_status="succeeded",
    )
    unconfirmed = add_generation(status=Status.ATTENTION, error_code="create_unconfirmed")

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, "copy_again", made, unconfirmed)

    assert "1 of 2 generations were sent back to work." in response.text
    made.refresh_from_db()
    unconfirmed.refresh_from_db()
    assert made.status == Status.SAVING and made.attempts == 0
    assert queued("mirror") == [str(made.pk)]
    assert unconfirmed.status == Status.ATTENTION


@pytest.mark.django_db
def test_every_field_of_a_team_inline_is_named_by_its_column_and_its_own_row(
    staff_client, owner, member
):
    """A tabular inline names its columns only in the table's head; each field gets its own
    name, and each row its own (the admin's related-field wrapper shares its attrs between
    rows, so a name set there would land one row late)."""
    import re
    from html import unescape

    team = Team.objects.create(name="Studio")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    page = staff_client.get(
        f"/admin/teams/team/{team.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    names = {
        field: unescape(name)
        for field, name in re.findall(
            r'<select name="memberships-(\d-\w+)"[^>]*aria-label="([^"]+)"', page
        )
    }
    assert names["0-user"] == "User, owner @ Studio (owner)"
    assert names["0-role"] == "Role, owner @ Studio (owner)"
    assert names["1-user"] == "User, member @ Studio (member)"
    assert names["1-role"] == "Role, member @ Studio (member)"
    assert 'aria-label="Monthly credit cap, member @ Studio (member)"' in page
    assert 'aria-label="Delete, member @ Studio (member)"' in page
    assert 'aria-label="User, new row"' in page  # the template row that "Add another" copies
