"""The theme in real Chromium: Auto follows the system, the header's buttons switch at once
and the choice stays after a reload; without JavaScript the same buttons work by a post."""

import pytest

from teams.models import ThemeChoice
from tests.browser import assert_no_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DARK_BG = "rgb(15, 17, 21)"
LIGHT_BG = "rgb(245, 246, 248)"


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def test_auto_follows_the_system_and_the_switch_changes_the_page_at_once(
    watched, live_server, owner, password, team
):
    from playwright.sync_api import expect

    page = watched
    page.emulate_media(color_scheme="dark")
    sign_in(page, live_server.url, owner.get_username(), password)
    html = page.locator("html")
    expect(html).not_to_have_attribute("data-theme", "light")
    assert background(page) == DARK_BG
    page.emulate_media(color_scheme="light")
    assert background(page) == LIGHT_BG

    page.emulate_media(color_scheme="dark")
    url = page.url
    page.get_by_role("button", name="Light theme").click()
    expect(html).to_have_attribute("data-theme", "light")
    expect(page.get_by_role("button", name="Light theme")).to_have_attribute("aria-pressed", "true")
    assert page.url == url  # no reload
    assert background(page) == LIGHT_BG
    assert page.evaluate("getComputedStyle(document.documentElement).colorScheme") == "light"
    assert ThemeChoice.objects.get(user=owner).theme == "light"

    page.reload()
    expect(html).to_have_attribute("data-theme", "light")
    assert background(page) == LIGHT_BG

    page.get_by_role("button", name="Auto theme (as the device is set)").click()
    expect(html).not_to_have_attribute("data-theme", "light")
    assert page.evaluate("document.documentElement.hasAttribute('data-theme')") is False
    assert background(page) == DARK_BG
    assert_no_problems(page)


def test_without_javascript_the_switch_posts_and_comes_back(browser, live_server, owner, team):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.emulate_media(color_scheme="light")
        page.set_extra_http_headers({"Accept-Language": "en"})
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("button", name="Dark theme").click()
        page.wait_for_url(f"{live_server.url}/accounts/login/")
        assert page.locator("html").get_attribute("data-theme") == "dark"
        assert background(page) == DARK_BG
    finally:
        context.close()


def test_the_admin_switches_with_the_same_buttons_and_keeps_the_choice(
    watched, live_server, django_user_model
):
    from playwright.sync_api import expect

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-admin-1234")
    page = watched
    page.emulate_media(color_scheme="light")
    sign_in(page, live_server.url, "root", "pw-admin-1234", next="/admin/")
    assert background(page) == "rgb(255, 255, 255)"  # --panel, light
    page.locator("#user-tools").get_by_role("button", name="Dark theme").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background(page) == "rgb(23, 26, 33)"  # --panel, dark
    assert ThemeChoice.objects.get(user=root).theme == "dark"
    page.goto(f"{live_server.url}/admin/credits/creditentry/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert_no_problems(page)
