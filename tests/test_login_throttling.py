"""Login throttling on the site's and the admin's login pages, and the client address."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from rivyaweb.clients import client_address

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

SITE = "/accounts/login/"
ADMIN = "/admin/login/"


@pytest.fixture
def staff(django_user_model, password):
    return django_user_model.objects.create_user(
        "boss", "boss@example.com", password, is_staff=True
    )


def attempt(page, username, password, address="203.0.113.7", **headers):
    headers = {"accept-language": "en"} | {k.replace("_", "-"): v for k, v in headers.items()}
    client = Client(REMOTE_ADDR=address, headers=headers)
    return client.post(page, {"username": username, "password": password})


def main_section(response):
    """The page's own words, without the per-response nonce and CSRF token around them."""
    return re.search(r"<main.*</main>", response.text, flags=re.DOTALL).group()


def fail(page, username, times, address="203.0.113.7", **headers):
    for _ in range(times):
        response = attempt(page, username, "wrong guess", address, **headers)
        assert response.status_code == 200, "throttled too early"


@pytest.mark.parametrize("page", [SITE, ADMIN])
def test_the_eleventh_wrong_password_from_one_address_gets_429(page, staff):
    fail(page, staff.username, 10)
    response = attempt(page, staff.username, "wrong guess")
    assert response.status_code == 429
    assert 14 * 60 < int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed logins" in response.text
    assert "Try again in 15 minutes" in response.text


@pytest.mark.parametrize("page", [SITE, ADMIN])
def test_a_throttled_try_with_the_right_password_is_refused_too(page, staff, password):
    fail(page, staff.username, 10)
    response = attempt(page, staff.username, password)
    assert response.status_code == 429
    assert "_auth_user_id" not in response.client.session


def test_the_same_account_still_logs_in_from_another_address(owner, password):
    fail(SITE, owner.username, 10)
    assert attempt(SITE, owner.username, password).status_code == 429
    response = attempt(SITE, owner.username, password, address="198.51.100.20")
    assert response.status_code == 302
    assert response.client.session["_auth_user_id"] == str(owner.pk)


def test_unknown_accounts_get_the_same_answer(owner):
    with time_machine.travel(timezone.now(), tick=False):
        fail(SITE, owner.username, 10)
        fail(SITE, "nobody-by-that-name", 10)
        known = attempt(SITE, owner.username, "wrong guess")
        unknown = attempt(SITE, "nobody-by-that-name", "wrong guess")
    assert known.status_code == unknown.status_code == 429
    assert main_section(known) == main_section(unknown)
    assert known["Retry-After"] == unknown["Retry-After"]


def test_one_address_trying_many_accounts_is_capped(settings, owner, password):
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 25
    for number in range(5):
        fail(SITE, f"someone-{number}", 5)
    assert attempt(SITE, "someone-else", "wrong guess").status_code == 429
    assert attempt(SITE, owner.username, password).status_code == 429
    assert attempt(SITE, owner.username, password, address="198.51.100.20").status_code == 302


def test_the_default_cap_per_address_is_a_hundred_failures():
    for number in range(10):
        fail(SITE, f"someone-{number}", 10)
    assert attempt(SITE, "someone-else", "wrong guess").status_code == 429


def test_the_limit_lifts_after_the_window(owner, password):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        fail(SITE, owner.username, 10)
        clock.shift(timedelta(minutes=14))
        response = attempt(SITE, owner.username, password)
        assert response.status_code == 429
        assert 0 < int(response["Retry-After"]) <= 60
        assert "Try again in 1 minute," in response.text
        clock.shift(timedelta(minutes=1, seconds=1))
        assert attempt(SITE, owner.username, password).status_code == 302


def test_a_successful_login_clears_the_accounts_count(owner, password):
    fail(SITE, owner.username, 9)
    assert attempt(SITE, owner.username, password).status_code == 302
    fail(SITE, owner.username, 10)
    assert attempt(SITE, owner.username, "wrong guess").status_code == 429


def test_a_throttled_attempt_never_runs_the_password_hasher(monkeypatch, owner, password):
    fail(SITE, owner.username, 10)
    fail(SITE, "nobody-by-that-name", 10)
    calls = []
    for method in ("verify", "encode"):
        original = getattr(MD5PasswordHasher, method)

        def spy(self, *args, _original=original, **kwargs):
            calls.append(args)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(MD5PasswordHasher, method, spy)
    assert attempt(SITE, owner.username, password).status_code == 429
    assert attempt(SITE, "nobody-by-that-name", password).status_code == 429
    assert calls == []
    # The spy does see a password check that is not throttled.
    attempt(SITE, owner.username, password, address="198.51.100.20")
    assert calls


def test_the_forwarded_header_is_ignored_without_the_setting(owner, password):
    fail(SITE, owner.username, 10, address="10.0.0.2", x_forwarded_for="203.0.113.1")
    response = attempt(
        SITE, owner.username, password, address="10.0.0.2", x_forwarded_for="198.51.100.9"
    )
    assert response.status_code == 429


def test_the_forwarded_header_is_honoured_with_the_setting(settings, owner, password):
    settings.TRUSTED_PROXY_CLIENT_HEADER = "X-Forwarded-For"
    fail(SITE, owner.username, 10, address="10.0.0.2", x_forwarded_for="203.0.113.1")
    throttled = attempt(
        SITE, owner.username, password, address="10.0.0.2", x_forwarded_for="203.0.113.1"
    )
    assert throttled.status_code == 429
    # A forged left-most entry does not make the same client someone else.
    forged = attempt(
        SITE,
        owner.username,
        password,
        address="10.0.0.2",
        x_forwarded_for="198.51.100.9, 203.0.113.1",
    )
    assert forged.status_code == 429
    elsewhere = attempt(
        SITE, owner.username, password, address="10.0.0.2", x_forwarded_for="198.51.100.9"
    )
    assert elsewhere.status_code == 302


def test_the_throttled_page_is_translated(owner):
    fail(SITE, owner.username, 10)
    response = attempt(SITE, owner.username, "wrong guess", accept_language="vi")
    assert response.status_code == 429
    assert "Quá nhiều lần đăng nhập sai" in response.text


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"REMOTE_ADDR": "203.0.113.7"}, "203.0.113.7"),
        ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.9"}, "10.0.0.2"),
    ],
)
def test_the_client_is_the_socket_peer_by_default(meta, expected):
    assert client_address(RequestFactory().get("/", **meta)) == expected


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "198.51.100.9", "198.51.100.9"),
        (1, "6.6.6.6, 198.51.100.9", "198.51.100.9"),
        (2, "6.6.6.6, 198.51.100.9, 192.0.2.1", "198.51.100.9"),
        (2, "198.51.100.9", "198.51.100.9"),
        (1, "198.51.100.9:4711", "198.51.100.9"),
        (1, "[2001:db8::1]:4711", "2001:db8::1"),
        (1, "not an address", "10.0.0.2"),
        (1, "", "10.0.0.2"),
    ],
)
def test_the_trusted_header_names_the_client(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_CLIENT_HEADER = "X-Forwarded-For"
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_ipv6_clients_count_per_network(owner, password):
    fail(SITE, owner.username, 10, address="2001:db8:1:2::1")
    assert attempt(SITE, owner.username, password, address="2001:db8:1:2::99").status_code == 429
    assert attempt(SITE, owner.username, password, address="2001:db8:1:3::1").status_code == 302


def test_the_login_page_without_throttling_is_unchanged(client):
    assert client.get(reverse("login")).status_code == 200
