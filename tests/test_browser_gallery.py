"""The gallery in real Chromium: hover previews and "load more".

The team is filled by ``manage.py seed_gallery``, so every tile has a real poster, small
poster and preview clip in local storage, served through the app's own views.
"""

import io
import os
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse

from generations import gallery
from generations.models import Generation
from tests.browser import assert_no_problems, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SEEDED = gallery.PAGE_SIZE + 12
HOVERED = 30
FULL_VIDEO = re.compile(r"/generations/[0-9a-f-]{36}/video")
PREVIEW = re.compile(r"/generations/([0-9a-f-]{36})/preview")

# Installed before any page script: how many videos play at once.
COUNT_PLAYING = """
window.__mostPlaying = 0;
function countPlaying() {
  var playing = Array.prototype.filter.call(document.querySelectorAll("video"), function (v) {
    return !v.paused && !v.ended;
  }).length;
  window.__mostPlaying = Math.max(window.__mostPlaying, playing);
}
document.addEventListener("playing", function (event) {
  countPlaying();
  var tile = event.target.closest(".gallery-tile");
  if (tile) tile.setAttribute("data-test-played", "yes");
}, true);
document.addEventListener("play", countPlaying, true);
setInterval(countPlaying, 20);
"""


# The pointer passes over one tile onto the next within the same task.
PASS_OVER = """([quick, rest]) => {
  const from = quick.querySelector(".tile-media"), to = rest.querySelector(".tile-media");
  from.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
  from.dispatchEvent(new MouseEvent("mouseout", {bubbles: true, relatedTarget: to}));
  to.dispatchEvent(new MouseEvent("mouseover", {bubbles: true, relatedTarget: from}));
}"""
LEAVE = """(tile) => tile.querySelector(".tile-media").dispatchEvent(
  new MouseEvent("mouseout", {bubbles: true, relatedTarget: document.body})
)"""


@pytest.fixture
def seeded(owner, team, media_root):
    call_command("seed_gallery", user=owner.get_username(), count=SEEDED, stdout=io.StringIO())
    return team


@pytest.fixture
def gallery_page(watched, live_server, owner, password, seeded):
    page = watched
    requests: list[str] = []
    page.on("request", lambda request: requests.append(urlsplit(request.url).path))
    page.add_init_script(COUNT_PLAYING)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server.url, owner.get_username(), password, next=reverse("gallery"))
    page.requests = requests
    return page


def test_hovering_across_tiles_plays_only_preview_clips_one_at_a_time(gallery_page):
    from playwright.sync_api import expect

    page = gallery_page
    tiles = page.locator(".gallery-tile")
    expect(tiles).to_have_count(gallery.PAGE_SIZE)
    for index in range(HOVERED):
        tile = tiles.nth(index)
        tile.scroll_into_view_if_needed()
        tile.locator(".tile-media").hover()
        expect(tile).to_have_attribute("data-test-played", "yes", timeout=15_000)
        expect(page.locator("video")).to_have_count(1)  # the one on this tile
        if index:
            expect(tiles.nth(index - 1).locator("video")).to_have_count(0)

    # Leaving the tile stops the clip and lets it go.
    page.hover("header.topbar .brand")
    expect(page.locator("video")).to_have_count(0)

    # Passing over a tile quicker than the delay starts nothing. The pointer's passage is
    # dispatched in one go, so a slow machine cannot stretch it past the delay.
    quick, rest = tiles.nth(HOVERED), tiles.nth(HOVERED + 1)
    page.evaluate(PASS_OVER, [quick.element_handle(), rest.element_handle()])
    expect(rest).to_have_attribute("data-test-played", "yes")
    page.evaluate(LEAVE, rest.element_handle())
    expect(page.locator("video")).to_have_count(0)

    hovered = {tiles.nth(i).get_attribute("data-generation-id") for i in range(HOVERED)}
    hovered.add(rest.get_attribute("data-generation-id"))
    previewed = {m.group(1) for p in page.requests if (m := PREVIEW.search(p))}
    # Scrolling a tile into view can slide another under the resting pointer, which may then
    # start its clip too: every hovered tile was previewed, and only previews were fetched.
    assert hovered <= previewed
    assert quick.get_attribute("data-generation-id") not in previewed
    assert not [p for p in page.requests if FULL_VIDEO.search(p)]
    assert page.evaluate("window.__mostPlaying") == 1
    assert_no_problems(page)


def test_keyboard_focus_plays_the_preview_and_leaving_stops_it(gallery_page):
    from playwright.sync_api import expect

    page = gallery_page
    first = page.locator(".gallery-tile").first
    first.locator(".tile-link").focus()
    expect(first).to_have_attribute("data-test-played", "yes")
    page.locator(".gallery-tile").nth(1).locator(".tile-link").focus()
    expect(first.locator("video")).to_have_count(0)
    page.locator("#id_q").focus()
    expect(page.locator("video")).to_have_count(0)
    assert page.evaluate("window.__mostPlaying") == 1


def test_scrolling_loads_more_tiles_without_repeating_any(gallery_page, seeded):
    from playwright.sync_api import expect

    page = gallery_page
    tiles = page.locator(".gallery-tile")
    expect(tiles).to_have_count(gallery.PAGE_SIZE)
    assert page.locator("#gallery-more a[rel=next]").count() == 1
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/gallery-top.png")
    page.locator("#gallery-more").scroll_into_view_if_needed()
    expect(tiles).to_have_count(SEEDED)
    expect(page.locator("#gallery-more")).to_have_count(0)  # nothing more to load
    shown = [tiles.nth(i).get_attribute("data-generation-id") for i in range(SEEDED)]
    expected = Generation.objects.filter(team=seeded).order_by("-created_at", "-id")
    assert shown == [str(pk) for pk in expected.values_list("pk", flat=True)]
    days = page.locator(".gallery-day time").evaluate_all("els => els.map(e => e.dateTime)")
    assert len(days) == len(set(days))
    assert page.url.endswith(reverse("gallery"))  # the same document, the same address
    # The browser told the server its time zone, for the days of later pages.
    assert any(c["name"] == "tz" and c["value"] for c in page.context.cookies())
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/gallery.png")
    assert_no_problems(page)
