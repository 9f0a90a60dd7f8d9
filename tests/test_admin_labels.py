"""The admin reads naturally in both languages: plural names, units on durations and
credits, short column titles; the generation's page hides what only the app's machinery
reads."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from credits.models import BalanceSnapshot, BudgetAlert, BudgetEvent, Hold
from generations.models import Generation, ShareLink, Status
from teams.models import Membership

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
VI = {"HTTP_ACCEPT_LANGUAGE": "vi"}


@pytest.fixture
def staff_client(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    client.force_login(root)
    return client


@pytest.fixture
def video(add_ready_video):
    return add_ready_video(
        duration=10,
        sound=True,
        aspect_ratio="16:9",
        rivya_task_id="task_77",
        reserved_credits=1100,
        final_credits=1055,
        video_duration=10.0,
        video_width=1280,
        video_height=720,
        video_size=2_400_000,
        form_token="6f1c7a52-4d61-4d8a-9d0e-8d7c0c5b7e11",
        lease_owner="worker-host-4242",
    )


def test_list_counts_read_as_plurals(staff_client, video, owner):
    ShareLink.make(generation=video, by=owner, days=7, show_prompt=False)
    ShareLink.make(generation=video, by=owner, days=7, show_prompt=False)
    english = staff_client.get("/admin/generations/sharelink/", **EN).content.decode()
    assert "2 share links" in english
    ledger = staff_client.get("/admin/credits/creditentry/", **EN).content.decode()
    assert "credit ledger" not in ledger


def test_generation_list_shows_units_and_merged_columns(staff_client, video):
    body = staff_client.get("/admin/generations/generation/", **EN).content.decode()
    assert "10 s · 16:9 · sound" in body
    assert "1,100 → 1,055" in body
    assert "Credits: reserved → final" in body
    assert "team and creator" in body.lower()
    vietnamese = staff_client.get("/admin/generations/generation/", **VI).content.decode()
    assert "10 giây · 16:9 · âm thanh" in vietnamese
    assert "Credits: reserved" not in vietnamese


def test_the_duration_filter_has_units(staff_client, video, add_generation):
    add_generation(duration=5)
    body = staff_client.get("/admin/generations/generation/", **EN).content.decode()
    assert "?duration=10" in body
    assert ">10 s</a>" in body
    assert ">5 s</a>" in body
    assert 'href="?error_code="' not in body  # no link without text for "no error"
    filtered = staff_client.get("/admin/generations/generation/", {"duration": "10"}, **EN)
    assert filtered.content.decode().count('name="_selected_action"') == 1
    assert staff_client.get("/admin/generations/generation/", {"duration": "x"}).status_code == 200


def test_generation_page_hides_internal_fields(staff_client, video):
    response = staff_client.get(f"/admin/generations/generation/{video.pk}/change/", **EN)
    assert response.status_code == 200
    body = response.content.decode()
    for hidden in (
        video.idempotency_key,
        "6f1c7a52-4d61-4d8a-9d0e-8d7c0c5b7e11",
        "worker-host-4242",
        "Idempotency key",
        "Form token",
        "Create body",
        "Lease owner",
        "Video sha256",
        "Poster small",
    ):
        assert hidden not in body, hidden
    for shown in ("task_77", "1,100 credits", "1,055 credits", "10 s", "1280 × 720", "2.3\xa0MB"):
        assert shown in body, shown
    assert 'name="prompt"' not in body  # still read-only


def test_credit_figures_carry_their_unit(staff_client, video, team, owner):
    BalanceSnapshot.objects.create(credits=1_234_567, ledger_total=-2_000, ledger_last_id=1)
    stuck = Generation.objects.create(
        team=team, created_by=owner, prompt="A kite", status=Status.SUBMITTING
    )
    Hold.objects.create(generation=stuck, team=team, user=owner, credits=110)
    month = date.today().replace(day=1)
    BudgetEvent.objects.create(
        team=team, kind=BudgetEvent.Kind.TEAM_BUDGET, old_value=None, new_value=500, month=month
    )
    BudgetAlert.objects.create(
        team=team, member=owner, month=month, threshold=90, spent=450, limit=500
    )
    assert "1,234,567 credits" in staff_client.get("/admin/credits/balancesnapshot/", **EN).text
    assert "110 credits" in staff_client.get("/admin/credits/hold/", **EN).text
    events = staff_client.get("/admin/credits/budgetevent/", **EN).text
    assert "no limit → 500 credits" in events
    alerts = staff_client.get("/admin/credits/budgetalert/", **EN).text
    assert "450 of 500 credits" in alerts
    assert "90 %" in alerts
    vietnamese = staff_client.get("/admin/credits/hold/", **VI).text
    assert "110 tín dụng" in vietnamese


def test_memberships_and_share_links_are_listed_read_only(staff_client, video, owner, team):
    memberships = staff_client.get("/admin/teams/membership/", **EN)
    assert memberships.status_code == 200
    assert "no limit" in memberships.text
    assert "/admin/teams/membership/add/" not in memberships.text
    membership = Membership.objects.get(user=owner, team=team)
    page = staff_client.get(f"/admin/teams/membership/{membership.pk}/change/", **EN)
    assert page.status_code == 200
    assert 'name="role"' not in page.text
    link, _token = ShareLink.make(generation=video, by=owner, days=7, show_prompt=True)
    links = staff_client.get("/admin/generations/sharelink/", **EN)
    assert "Active" in links.text
    detail = staff_client.get(f"/admin/generations/sharelink/{link.pk}/change/", **EN)
    assert detail.status_code == 200
    assert link.token_hash not in detail.text
    link.expires_at = timezone.now() - timedelta(days=1)
    link.save()
    assert "Expired" in staff_client.get("/admin/generations/sharelink/", **EN).text


def test_staff_without_the_admin_get_the_login_page(client, owner):
    client.force_login(owner)
    response = client.get("/admin/teams/membership/")
    assert response.status_code == 302


def test_the_admin_is_named_after_the_product(staff_client):
    english = staff_client.get("/admin/", **EN).content.decode()
    assert "Rivyaweb administration" in english
    assert "Django administration" not in english
    vietnamese = staff_client.get("/admin/", **VI).content.decode()
    assert "Quản trị Rivyaweb" in vietnamese
