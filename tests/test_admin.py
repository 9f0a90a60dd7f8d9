import pytest

from generations.models import CreditEntry, Generation, Membership, Team


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
    CreditEntry.record(generation, CreditEntry.Kind.RESERVE, -55)
    return generation


@pytest.mark.django_db
def test_admin_lists_generations_and_ledger_filtered_by_team(staff_client, spent):
    response = staff_client.get(
        "/admin/generations/generation/", {"team__id__exact": spent.team_id}
    )
    assert response.status_code == 200
    assert "task_abc" in response.text
    response = staff_client.get(
        "/admin/generations/creditentry/", {"team__id__exact": spent.team_id}
    )
    assert response.status_code == 200
    assert "-55" in response.text


@pytest.mark.django_db
def test_the_credit_ledger_cannot_be_edited_or_deleted(staff_client, spent):
    entry = CreditEntry.objects.get()
    url = f"/admin/generations/creditentry/{entry.pk}/change/"
    response = staff_client.post(url, {"amount": "0", "kind": "reserve"})
    assert response.status_code in {302, 403} or "readonly" in response.text
    entry.refresh_from_db()
    assert entry.amount == -55
    assert (
        staff_client.post(f"/admin/generations/creditentry/{entry.pk}/delete/").status_code == 403
    )
    assert staff_client.get("/admin/generations/creditentry/add/").status_code == 403
    assert CreditEntry.objects.count() == 1


@pytest.mark.django_db
def test_recording_the_same_step_twice_writes_one_entry(spent):
    CreditEntry.record(spent, CreditEntry.Kind.RESERVE, -55)
    assert CreditEntry.objects.filter(generation=spent).count() == 1


@pytest.mark.django_db
def test_generation_detail_in_admin_is_read_only(staff_client, spent):
    response = staff_client.get(f"/admin/generations/generation/{spent.pk}/change/")
    assert response.status_code == 200
    assert 'name="prompt"' not in response.text
