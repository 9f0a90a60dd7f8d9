"""The page's one poller slows down while the tab is hidden (every 15 s, enough for the tab's
title to say a video is ready) and asks at once when the tab returns."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from generations.models import Generation, Status
from teams.models import Membership, Team


@pytest.fixture
def in_flight(owner):
    team = Team.objects.create(name="Studio")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    return Generation.objects.create(
        team=team, created_by=owner, prompt="A kite at dawn", status=Status.QUEUED
    )


def log_in(page, live_server, user, password):
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_poller_slows_down_while_hidden_and_asks_at_once_when_visible(
    live_server, page, owner, password, in_flight
):
    updates: list[str] = []
    page.on("request", lambda r: updates.append(r.url) if "/cards/updates" in r.url else None)
    log_in(page, live_server, owner, password)
    page.wait_for_timeout(2_500)
    assert updates, "a visible page with a card in flight polls every 2 s"

    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    page.wait_for_timeout(1_000)  # a request already on its way may still land
    before = len(updates)
    page.wait_for_timeout(5_000)
    assert len(updates) == before, "no poll within 15 s while the tab is hidden"

    in_flight.move(Status.FAILED, error_code="generation_failed")
    # Well before the next 2 s tick: the return to the tab asks at once.
    with page.expect_request(lambda r: "/cards/updates" in r.url, timeout=1_000):
        page.evaluate(
            """() => {
                Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
                document.dispatchEvent(new Event("visibilitychange"));
            }"""
        )
    # A locator, not a JavaScript predicate: the page's CSP forbids eval.
    expect(page.locator(f"#gen-{in_flight.pk}")).to_have_attribute(
        "data-status", "failed", timeout=2_000
    )
