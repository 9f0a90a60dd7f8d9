"""The detail page in real Chromium: favourite, share link opened in a fresh browser with no
session and revoked, remix with the stored reference image, delete and Undo."""

import hashlib
import json
import re
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from generations.models import Favourite, Generation, ShareLink, Status
from tests.browser import assert_no_problems, sign_in
from tests.fixtures import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMPT = "Một con diều đỏ bay trên ruộng lúa lúc bình minh"


# Installed before any page script: every CSP violation.
@pytest.fixture
def video(add_ready_video, mp4_bytes):
    """A ready video with a real MP4, a poster and a reference image."""
    return add_ready_video(
        video=mp4_bytes,
        prompt=PROMPT,
        duration=10,
        sound=True,
        aspect_ratio="16:9",
        reference=image_bytes("PNG", size=(320, 180), color=(200, 40, 40)),
    )


@pytest.fixture
def detail_page(watched, live_server, owner, password, video):
    page = watched
    sign_in(page, live_server.url, owner.get_username(), password)
    page.goto(f"{live_server.url}{video.get_absolute_url()}")
    yield page
    assert_no_problems(page)


def test_favourite_share_revoke_in_a_fresh_browser(detail_page, browser, live_server, video):
    from playwright.sync_api import expect

    page = detail_page
    favourite = page.locator("#favourite-button button")
    expect(favourite).to_have_attribute("aria-pressed", "false")
    favourite.click()
    expect(page.locator("#favourite-button button")).to_have_attribute("aria-pressed", "true")
    assert Favourite.objects.filter(generation=video).count() == 1

    page.select_option("#id_expires_in_days", "1")
    page.check("#id_show_prompt")
    page.click("#share-form button[type=submit]")
    link = page.locator("[data-share-url]")
    expect(link).to_be_visible()
    share_url = link.get_attribute("data-share-url")
    assert share_url.startswith(f"{live_server.url}/s/")

    stranger = browser.new_context()
    try:
        public = stranger.new_page()
        with public.expect_response(re.compile(r"/s/[^/]+/video$")) as answered:
            response = public.goto(share_url)
            assert response.status == 200
            player = public.locator("video.shared-video")
            expect(player).to_be_visible()
        assert answered.value.status in {200, 206}
        expect(public.locator(".shared-prompt")).to_have_text(PROMPT)
        assert str(video.pk) not in public.content()
        expect(public.locator('meta[property="og:type"]')).to_have_attribute(
            "content", "video.other"
        )

        page.goto(f"{live_server.url}{video.get_absolute_url()}")
        page.click(".share-links button[type=submit]")
        expect(page.locator(".messages")).to_contain_text("The link no longer works.")
        assert ShareLink.objects.get().revoked_at is not None
        assert public.goto(share_url).status == 404
    finally:
        stranger.close()


def test_remix_fills_the_form_with_the_stored_image_and_makes_a_new_video(
    detail_page, live_server, video
):
    from playwright.sync_api import expect

    page = detail_page
    page.click("#remix-link")
    page.wait_for_url(re.compile(r".*/\?remix="))
    expect(page.locator("#id_prompt")).to_have_value(PROMPT)
    expect(page.locator("#id_duration_1")).to_be_checked()  # 10 seconds
    expect(page.locator("#id_aspect_ratio_1")).to_be_checked()  # 16:9
    expect(page.locator("#id_sound")).to_be_checked()
    preview = page.locator("figure.reference-preview img")
    expect(preview).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", preview.element_handle()) == 320

    cards = page.locator("#cards [data-generation-id]")
    expect(cards).to_have_count(1)  # the original
    page.click("#generation-form button[type=submit]")
    expect(cards).to_have_count(2)
    expect(cards.first).to_have_attribute("data-status", "pending")
    remix = Generation.objects.exclude(pk=video.pk).get()
    assert remix.status == Status.PENDING
    assert remix.retry_of is None
    original = default_storage.open(video.reference_image.name).read()
    copied = default_storage.open(remix.reference_image.name).read()
    assert hashlib.sha256(copied).digest() == hashlib.sha256(original).digest()
    assert remix.reference_image.name == video.reference_image.name  # used again, not copied


def test_delete_then_undo(detail_page, live_server, video):
    from playwright.sync_api import expect

    page = detail_page
    page.click("#delete-form button[type=submit]")
    expect(page.locator("#deleted-notice")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("The video was deleted.")
    assert Generation.objects.get(pk=video.pk).deleted_at is not None
    # Gone from the gallery at once.
    page.goto(f"{live_server.url}{reverse('gallery')}")
    expect(page.locator(f'[data-generation-id="{video.pk}"]')).to_have_count(0)

    page.goto(f"{live_server.url}{video.get_absolute_url()}")
    page.click("#undo-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("The video is back.")
    expect(page.locator("#favourite-button")).to_be_visible()
    assert urlsplit(page.url).path == video.get_absolute_url()
    assert Generation.objects.get(pk=video.pk).deleted_at is None


def test_copy_prompt_puts_the_whole_prompt_on_the_clipboard(detail_page, live_server):
    from playwright.sync_api import expect

    page = detail_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    button = page.locator("[data-copy-from='#prompt-text']")
    button.click()
    expect(button).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == PROMPT
    expect(button).to_have_text("Copy prompt")


def test_download_and_provenance_links_answer_files(detail_page, video):
    page = detail_page
    with page.expect_download() as download:
        page.click("#download-link")
    # Chromium reads the RFC 5987 name: the Vietnamese one.
    assert download.value.suggested_filename == video.download_names("mp4")[1]
    assert "-một-con-diều-đỏ-bay" in download.value.suggested_filename
    with page.expect_download() as record:
        page.click("#provenance-download")
    with open(record.value.path(), encoding="utf-8") as file:
        assert json.load(file)["prompt"] == PROMPT


@pytest.mark.parametrize(
    "ratio",
    [
        "1:1",
        "16:9",
        "9:16",
    ],
)
def test_the_player_is_drawn_within_the_window_whatever_the_shape(
    watched, live_server, owner, password, add_ready_video, mp4_bytes, ratio
):
    video = add_ready_video(video=mp4_bytes, prompt=PROMPT, aspect_ratio=ratio)
    page = watched
    sign_in(page, live_server.url, owner.get_username(), password)
    page.goto(f"{live_server.url}{video.get_absolute_url()}")
    box = page.locator("#cards video").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, box
    # Its controls are in view without scrolling.
    assert box["y"] + box["height"] <= page.viewport_size["height"], box
    # The prompt is shown once, in full.
    assert page.get_by_text(PROMPT, exact=True).filter(visible=True).count() == 1
    assert_no_problems(page)
