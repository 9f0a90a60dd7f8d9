"""Live cards in real Chromium: a card keeps its size from the request to playback, its
progress follows the team's usual time, a Rivya outage is one banner, and a video made
while the tab is hidden shows in the tab's title and (when asked for) as a notification."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from generations.models import Generation, Status
from tests.browser import assert_no_problems, sign_in
from tests.fixtures import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HIDE = """(hidden) => {
    Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
    document.dispatchEvent(new Event("visibilitychange"));
}"""

# Records notifications instead of showing them; permission starts as "default", and
# asking for it (counted) grants it, for the page's later loads too.
FAKE_NOTIFICATION = """
window.__notifications = [];
window.__permissionAsked = 0;
function FakeNotification(title, options) {
  window.__notifications.push({title: title, body: (options || {}).body || ""});
}
FakeNotification.permission = sessionStorage.getItem("test-permission") || "default";
FakeNotification.requestPermission = function () {
  window.__permissionAsked += 1;
  sessionStorage.setItem("test-permission", "granted");
  FakeNotification.permission = "granted";
  return Promise.resolve("granted");
};
window.Notification = FakeNotification;
"""


@pytest.fixture
def home_page(watched, live_server, owner, team, password):
    watched.set_viewport_size({"width": 1366, "height": 900})
    yield lambda: sign_in(watched, live_server.url, owner.get_username(), password)
    assert_no_problems(watched)


def make_ready(generation: Generation, mp4: bytes) -> None:
    """What the copy step leaves: the video and its poster stored, the row ready."""
    if generation.status != Status.SAVING:
        assert generation.move(Status.SAVING, notice="")
    generation.video.save("video.mp4", ContentFile(mp4), save=False)
    generation.poster.save("poster.jpg", ContentFile(image_bytes("JPEG", (64, 36))), save=False)
    assert generation.move(
        Status.READY,
        video=generation.video.name,
        poster=generation.poster.name,
        video_duration=5.0,
        finished_at=timezone.now(),
    )


def test_cards_keep_their_size_from_the_request_to_playback(
    home_page, watched, add_generation, mp4_bytes, shots
):
    from playwright.sync_api import expect

    page = watched
    shapes = ("1:1", "16:9", "9:16")
    cards = {
        ratio: add_generation(
            status=Status.PROCESSING, aspect_ratio=ratio, prompt=f"A kite {ratio}"
        )
        for ratio in shapes
    }
    home_page()
    heights = {}
    for ratio, generation in cards.items():
        box = page.locator(f"#gen-{generation.pk}").bounding_box()
        heights[ratio] = box["height"]
    assert heights["9:16"] > heights["1:1"] > heights["16:9"]
    page.screenshot(path=str(shots / "cards-in-flight.png"), full_page=True)

    # Rivya stops answering: one banner above the cards, a quiet word on each.
    for generation in cards.values():
        generation.write(notice="unavailable")
    banner = page.locator("#rivya-status .rivya-banner")
    expect(banner).to_have_count(1, timeout=10_000)
    expect(banner).to_contain_text("Rivya is not answering")
    expect(page.locator(".gen-waiting-note")).to_have_count(3)
    expect(page.locator(".gen-notice")).to_have_count(0)
    page.screenshot(path=str(shots / "cards-rivya-out.png"), full_page=True)

    for generation in cards.values():
        make_ready(generation, mp4_bytes)
    for ratio, generation in cards.items():
        card = page.locator(f"#gen-{generation.pk}")
        expect(card).to_have_attribute("data-status", "ready", timeout=10_000)
        video = card.locator("video")
        expect(video).to_have_attribute("poster", f"/generations/{generation.pk}/poster")
        expect(video).to_have_js_property("readyState", 4, timeout=10_000)  # it can play
        assert abs(card.bounding_box()["height"] - heights[ratio]) <= 2, ratio
    expect(banner).to_have_count(0)  # nothing waits any more
    page.screenshot(path=str(shots / "cards-ready.png"), full_page=True)


def test_progress_follows_the_usual_time_and_respects_reduced_motion(
    home_page, watched, add_generation, mp4_bytes
):
    from playwright.sync_api import expect

    start = timezone.now() - timedelta(hours=1)
    add_generation(
        status=Status.READY,
        video=mp4_bytes,
        duration=10,
        sound=True,
        created_at=start,
        finished_at=start + timedelta(seconds=100),
    )
    # Asked 40 s ago, usually 100 s: the bar is 36 % along, and 90 % at 100 s.
    known = add_generation(
        status=Status.PROCESSING,
        duration=10,
        sound=True,
        created_at=timezone.now() - timedelta(seconds=40),
    )
    unknown = add_generation(status=Status.PROCESSING, duration=5, sound=False)
    page = watched
    page.emulate_media(reduced_motion="reduce")
    home_page()

    bar = page.locator(f"#gen-{known.pk} .gen-progress")
    expect(page.locator(f"#gen-{known.pk} .gen-estimate")).to_have_text("Usually about 1:40")
    share = bar.evaluate(
        "(bar) => bar.querySelector('span').getBoundingClientRect().width"
        " / bar.getBoundingClientRect().width"
    )
    assert 0.3 < share < 0.75, share  # however slow the page was to load
    moving = page.locator(f"#gen-{unknown.pk} .gen-progress span")
    assert moving.evaluate("(el) => getComputedStyle(el).animationName") == "none"

    page.emulate_media(reduced_motion="no-preference")
    assert moving.evaluate("(el) => getComputedStyle(el).animationName") == "progress"


def test_a_video_made_in_a_hidden_tab_shows_in_the_title_and_a_notification(
    home_page, watched, add_generation, mp4_bytes
):
    from playwright.sync_api import expect

    page = watched
    page.context.grant_permissions(["notifications"])
    page.add_init_script(FAKE_NOTIFICATION)
    # Already saving: the one change the hidden page waits for is the move to ready.
    generation = add_generation(status=Status.SAVING, prompt="A lantern on a lake")
    home_page()
    assert page.title() == "Make a video · Rivyaweb"

    control = page.locator("#notify-ready")
    expect(control).to_be_visible()
    assert page.evaluate("window.__permissionAsked") == 0  # never asked on load
    control.check()
    expect(control).to_be_checked()
    assert page.evaluate("window.__permissionAsked") == 1
    assert page.evaluate("localStorage.getItem('rivyaweb.notify-ready')") == "on"

    page.evaluate(HIDE, True)
    # While hidden the page asks only every 15 s; sooner here, to keep the test short.
    page.locator("#card-poller").evaluate("(el) => el.setAttribute('data-background-seconds', '0')")
    make_ready(generation, mp4_bytes)

    expect(page).to_have_title("(1) Ready · Make a video · Rivyaweb", timeout=10_000)
    assert page.evaluate("window.__notifications") == [
        {"title": "Ready", "body": "A lantern on a lake"}
    ]
    page.evaluate(HIDE, False)
    expect(page).to_have_title("Make a video · Rivyaweb")

    # The choice is remembered: the next page starts with it on, without asking again.
    page.reload()
    expect(page.locator("#notify-ready")).to_be_checked()
    assert page.evaluate("window.__permissionAsked") == 0
