"""Getting in and teaming up in real Chromium: A signs up and invites, B opens the link in a
browser of their own, signs up through it and lands in A's team, then makes a team of their
own and switches between the two with the header's switcher (no JavaScript needed)."""

from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from playwright.sync_api import expect

from generations.models import Generation, Status
from teams.models import Invitation, Membership, Team
from tests.browser import watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_A = "paper-lanterns-on-the-river-1"
PASSWORD_B = "a-kite-above-the-rice-fields-2"


def fill_signup(page, username: str, email: str, password: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_email", email)
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.click("main button[type=submit]")


def test_two_people_sign_up_team_up_and_switch_teams(
    live_server, browser, settings, fast_passwords, shots
):
    settings.ALLOW_SIGNUP = True
    base = live_server.url
    context_a = browser.new_context(locale="en-US", extra_http_headers={"Accept-Language": "en"})
    page_a = watch(context_a.new_page())

    # A finds the sign-up page from the login page.
    page_a.goto(f"{base}{reverse('login')}")
    page_a.click("text=Create an account")
    expect(page_a).to_have_url(f"{base}{reverse('signup')}")
    fill_signup(page_a, "anh", "anh@example.com", PASSWORD_A)
    page_a.wait_for_url(f"{base}{reverse('home')}")
    team_a = Membership.objects.get(user__username="anh").team
    expect(page_a.locator(".team-switcher .team-current")).to_have_text(team_a.name)

    # Sign-up is then closed: B can only come in through A's invitation.
    settings.ALLOW_SIGNUP = False
    page_a.click(".team-switcher summary")
    page_a.click("text=Team settings")
    expect(page_a).to_have_url(f"{base}{reverse('team_detail', args=[team_a.pk])}")
    page_a.select_option("#id_role", "admin")
    page_a.select_option("#id_expires_in_days", "7")
    page_a.fill("#id_max_uses", "1")
    page_a.click("#invitation-form button[type=submit]")
    link = page_a.locator("[data-invite-url]")
    expect(link).to_be_visible()
    invite_url = link.get_attribute("data-invite-url")
    assert invite_url and urlsplit(invite_url).path.startswith("/invite/")
    page_a.screenshot(path=str(shots / "invitation-made.png"), full_page=True)

    # B, in a browser of their own, with no session.
    context_b = browser.new_context(locale="en-US", extra_http_headers={"Accept-Language": "en"})
    page_b = watch(context_b.new_page())
    page_b.goto(invite_url)
    expect(page_b.locator("h1")).to_contain_text(team_a.name)
    page_b.click("text=Create an account and join")
    expect(page_b.locator("[data-invitation-team]")).to_contain_text(team_a.name)
    fill_signup(page_b, "binh", "binh@example.com", PASSWORD_B)
    page_b.wait_for_url(f"{base}{reverse('home')}")
    expect(page_b.locator(".team-switcher .team-current")).to_have_text(team_a.name)
    expect(page_b.locator(".messages")).to_contain_text(f"You joined {team_a.name}")
    binh = get_user_model().objects.get(username="binh")
    assert Membership.objects.get(team=team_a, user=binh).role == Membership.Role.ADMIN
    assert Invitation.objects.get(team=team_a).uses == 1
    # A personal team too, like every new account; A's team is the current one.
    assert Membership.objects.filter(user=binh).count() == 2

    # The link was single-use: opening it again says so.
    page_a.goto(invite_url)
    expect(page_a.locator("h1")).to_have_text("This invitation is no longer valid")

    # B makes a team of their own, which becomes the current one.
    page_b.click(".team-switcher summary")
    page_b.click("text=All teams")
    page_b.fill("#team-create #id_name", "Binh's studio")
    page_b.click("#team-create button[type=submit]")
    studio = Team.objects.get(name="Binh's studio")
    expect(page_b).to_have_url(f"{base}{reverse('team_detail', args=[studio.pk])}")
    expect(page_b.locator(".team-switcher .team-current")).to_have_text("Binh's studio")

    # Switching back and forth through the header, staying on the same page.
    page_b.click(".team-switcher summary")
    page_b.click(f"[data-switch-team='{team_a.pk}']")
    expect(page_b.locator(".team-switcher .team-current")).to_have_text(team_a.name)
    expect(page_b).to_have_url(f"{base}{reverse('team_detail', args=[studio.pk])}")
    page_b.click(".team-switcher summary")
    page_b.click(f"[data-switch-team='{studio.pk}']")
    expect(page_b.locator(".team-switcher .team-current")).to_have_text("Binh's studio")
    page_b.screenshot(path=str(shots / "switcher.png"), full_page=True)

    # A's team now lists B as an admin; A cannot see B's own team.
    page_a.goto(f"{base}{reverse('team_detail', args=[team_a.pk])}")
    expect(page_a.locator("tr[data-member='binh']")).to_contain_text("Admin")
    response = page_a.goto(f"{base}{reverse('team_detail', args=[studio.pk])}")
    assert response is not None and response.status == 404

    # A video of each team: each gallery shows its own team's only, and every URL of the
    # other team's video is a 404 for A, who is not in B's studio.
    ours = Generation.objects.create(
        team=team_a,
        created_by=Membership.objects.get(team=team_a, role="owner").user,
        prompt="A lantern festival on the river",
        status=Status.READY,
    )
    theirs = Generation.objects.create(
        team=studio, created_by=binh, prompt="Kites over the rice fields", status=Status.READY
    )
    page_a.goto(f"{base}{reverse('gallery')}")
    expect(page_a.locator(f"[data-generation-id='{ours.pk}']")).to_have_count(1)
    expect(page_a.locator(f"[data-generation-id='{theirs.pk}']")).to_have_count(0)
    page_b.goto(f"{base}{reverse('gallery')}")  # B works in the studio now
    expect(page_b.locator(f"[data-generation-id='{theirs.pk}']")).to_have_count(1)
    expect(page_b.locator(f"[data-generation-id='{ours.pk}']")).to_have_count(0)
    for name in ("generation_detail", "generation_video", "generation_poster"):
        response = page_a.goto(f"{base}{reverse(name, args=[theirs.pk])}")
        assert response is not None and response.status == 404, name

    violations = page_a.evaluate("window.__cspViolations") + page_b.evaluate(
        "window.__cspViolations"
    )
    context_a.close()
    context_b.close()
    assert violations == [], violations
    # The 404s this test asks for are expected; nothing else may complain.
    problems = [p for p in page_a.problems + page_b.problems if "status of 404" not in p]
    assert problems == [], problems
