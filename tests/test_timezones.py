"""Dates and times read as the viewer's clock on every page, from the browser's "tz" cookie
(rivyaweb/timezones.py); a missing or unknown zone leaves the site's TIME_ZONE (UTC)."""

import re
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.models import Generation

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
# 00:06 UTC on 30 November is 07:06 in Hanoi and 01:06 in Paris.
MADE = datetime(2026, 11, 30, 0, 6, tzinfo=UTC)


@pytest.fixture
def made(add_generation):
    generation = add_generation(prompt="A lantern over the Perfume River")
    Generation.objects.filter(pk=generation.pk).update(created_at=MADE)
    return generation


def requested(client, generation) -> str:
    page = client.get(reverse("generation_detail", args=[generation.pk]), **EN).content.decode()
    found = re.search(r'<time datetime="[^"]+">([^<]+)</time>', page)
    assert found, "no request time on the detail page"
    return found.group(1)


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Asia/Ho_Chi_Minh", "Nov. 30, 2026, 7:06 a.m."),
        ("Europe/Paris", "Nov. 30, 2026, 1:06 a.m."),
        ("", "Nov. 30, 2026, 12:06 a.m."),
        ("Not/AZone", "Nov. 30, 2026, 12:06 a.m."),
        ("../../etc/passwd", "Nov. 30, 2026, 12:06 a.m."),
    ],
)
def test_the_detail_page_shows_the_viewers_clock(owner_client, made, zone, shown):
    if zone:
        owner_client.cookies["tz"] = zone
    assert requested(owner_client, made) == shown


def test_one_viewers_zone_never_reaches_the_next_request(owner_client, owner, made):
    owner_client.cookies["tz"] = "Asia/Ho_Chi_Minh"
    assert requested(owner_client, made).endswith("7:06 a.m.")
    other = Client()
    other.force_login(owner)
    assert requested(other, made).endswith("12:06 a.m.")
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_admin_shows_the_viewers_clock(django_user_model, made):
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("root", "r@example.com", "x"))
    staff.cookies["tz"] = "Asia/Ho_Chi_Minh"
    page = staff.get(f"/admin/generations/generation/{made.pk}/change/", **EN).content.decode()
    assert "2026-11-30 07:06" in page or "7:06 a.m." in page


def test_vietnamese_reads_the_time_then_the_day(owner_client, made):
    owner_client.cookies["tz"] = "Asia/Ho_Chi_Minh"
    page = owner_client.get(
        reverse("generation_detail", args=[made.pk]), HTTP_ACCEPT_LANGUAGE="vi"
    ).content.decode()
    assert "07:06, ngày 30 tháng 11 năm 2026" in page
