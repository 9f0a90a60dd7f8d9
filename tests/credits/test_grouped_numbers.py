"""Credits read as people write numbers in their language: "10.000" in Vietnamese, "10,000" in
English, wherever a person reads them. Attributes that scripts and meters read stay plain."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credits import ledger, snapshots
from credits.models import CreditEntry
from tests.credits.conftest import ask, set_budget, set_cap
from tests.fixtures import paid

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root", "price_list"),
]

VI = {"HTTP_ACCEPT_LANGUAGE": "vi"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def spent(team, user, credits):
    """A video for which Rivya reserved ``credits``, in the ledger."""
    generation = paid(team, user, duration=10, sound=True, credits=credits)
    ledger.record(generation, CreditEntry.Kind.RESERVE, -credits)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def balance_line(client, headers) -> str:
    page = client.get(reverse("home"), **headers).content.decode()
    found = re.search(r'<p class="rivya-balance" id="rivya-balance">(.*?)</p>', page, re.S)
    assert found, "no balance line"
    return " ".join(found.group(1).split())


def test_the_balance_is_grouped_and_a_fresh_one_reads_just_now(owner_client):
    snapshots.record(12500)
    assert balance_line(owner_client, VI) == "Số dư Rivya: 12.500 tín dụng, vừa cập nhật."
    assert balance_line(owner_client, EN) == "Rivya balance: 12,500 credits, read just now."


def test_an_older_balance_says_how_old(owner_client):
    with time_machine.travel(timezone.now() - timedelta(minutes=3), tick=False):
        snapshots.record(1234567)
    assert (
        balance_line(owner_client, VI) == "Số dư Rivya: 1.234.567 tín dụng, cập nhật 3 phút trước."
    )
    assert balance_line(owner_client, EN) == "Rivya balance: 1,234,567 credits, 3 minutes ago."


def test_budget_and_price_lines_on_the_form_are_grouped(roles, team):
    creator = roles.user("creator")
    set_budget(team, 25000)
    set_cap(team, creator, 12000)
    spent(team, creator, 1200)
    page = text(roles.client("creator").get(reverse("home"), **VI).content.decode())
    assert "Ngân sách nhóm: tháng này còn 23.800 trên 25.000 tín dụng." in page
    assert "Hạn mức hằng tháng của bạn: còn 10.800 trên 12.000 tín dụng." in page
    assert "khoảng 1.200 tín dụng" in page


def test_the_team_page_groups_what_people_read_and_keeps_attributes_plain(owner_client, team):
    set_budget(team, 25000)
    page = owner_client.get(reverse("team_detail", args=[team.pk]), **VI).content.decode()
    assert 'data-budget="25000"' in page
    assert 'max="25000"' in page
    assert "25.000 tín dụng" in text(page)
    english = owner_client.get(reverse("team_detail", args=[team.pk]), **EN).content.decode()
    assert "25,000 credits" in text(english)


def test_a_refusal_names_its_figures_grouped(roles, team):
    creator = roles.user("creator")
    set_budget(team, 1040)
    spent(team, creator, 1000)
    response = ask(roles.client("creator"))
    assert response.status_code == 200
    assert "has 40 of 1,040 credits left this month; this video needs about 55." in text(
        response.content.decode()
    )


def test_the_credit_dashboard_groups_its_totals(django_user_model, roles, team):
    spent(team, roles.user("creator"), 1500)
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "x"))
    page = staff.get("/admin/credits/dashboard/", **VI).content.decode()
    assert re.search(r'id="total-spent">\s*1\.500\s*<', page), "total not grouped"
