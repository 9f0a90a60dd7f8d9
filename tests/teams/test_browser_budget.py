"""Budgets in real Chromium: the owner sets the team's budget and a member's cap with the
page's own forms (no JavaScript needed), sees a mistake in a cap refused beside that member,
and the page, its usage bars included, runs under the strict CSP without a violation."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from credits import ledger
from credits.models import BudgetEvent
from generations.models import Status
from teams.access import ensure_personal_team
from teams.models import Membership
from tests.browser import assert_no_problems, sign_in
from tests.fixtures import paid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_owner_sets_a_budget_and_a_cap_in_the_browser(
    live_server, watched, fast_passwords, password, shots
):
    users = get_user_model().objects
    owner = users.create_user("owner", "owner@example.com", password)
    team = ensure_personal_team(owner)
    creator = users.create_user("creator", "creator@example.com", password)
    Membership.objects.create(team=team, user=creator)
    # Still with Rivya, so the home page that greets the owner asks for no video file.
    video = paid(team, creator, duration=5, sound=False, credits=55, status=Status.QUEUED)
    ledger.record(video, "reserve", -55)
    page = watched
    sign_in(page, live_server.url, owner.get_username(), password)
    page.goto(f"{live_server.url}{team.get_absolute_url()}")

    page.fill("#budget-form input[name=monthly_credit_budget]", "200")
    page.click("#budget-form button[type=submit]")
    expect(page.locator("#budget-meter")).to_have_attribute("value", "55")
    expect(page.locator("[data-left]")).to_have_text("145")

    row = page.locator("tr[data-limit-member='creator']")
    row.locator("input[name=monthly_credit_cap]").fill("-5")
    row.locator("button[type=submit]").click()
    row = page.locator("tr[data-limit-member='creator']")
    expect(row.locator(".errorlist")).to_be_visible()
    row.locator("input[name=monthly_credit_cap]").fill("60")
    row.locator("button[type=submit]").click()
    row = page.locator("tr[data-limit-member='creator']")
    expect(row).to_have_attribute("data-cap", "60")
    expect(row.locator("meter.cap-meter")).to_be_visible()
    expect(page.locator("#budget-events tbody tr")).to_have_count(2)
    page.screenshot(path=shots / "team-budget.png", full_page=True)

    assert [e.new_value for e in BudgetEvent.objects.order_by("pk")] == [200, 60]
    # The refused cap answered 400, as it should; nothing else may complain.
    page.problems[:] = [p for p in page.problems if "status of 400" not in p]
    assert_no_problems(page)
