"""Iterating in real Chromium: the form keeps the choices after a video is made, Ctrl+Enter
sends it, and a file that is not an accepted image is refused before anything is sent."""

import pytest

from generations.models import Generation
from tests.browser import assert_no_problems, sign_in
from tests.fixtures import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST = "Một con diều đỏ bay trên ruộng lúa lúc bình minh"
SECOND = "Một con diều xanh bay trên ruộng lúa lúc hoàng hôn"
# A whole 1×1 GIF: Pillow would read it, but the form takes JPEG, PNG and WebP only.
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00"
    b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@pytest.fixture
def home_page(watched, live_server, owner, password):
    sign_in(watched, live_server.url, owner.get_username(), password)
    yield watched
    assert_no_problems(watched)


def test_choices_are_kept_and_ctrl_enter_sends_the_second_video(home_page):
    from playwright.sync_api import expect

    page = home_page
    page.fill("#id_prompt", FIRST)
    page.check("#id_duration_1")  # 10 seconds
    page.check("#id_sound")
    page.check("#id_aspect_ratio_2")
    chosen_ratio = page.locator("#id_aspect_ratio_2").get_attribute("value")
    page.click("#generation-form button[type=submit]")
    cards = page.locator("#cards [data-generation-id]")
    expect(cards).to_have_count(1)
    # The fresh form keeps what was chosen, the prompt included (the default).
    expect(page.locator("#id_prompt")).to_have_value(FIRST)
    expect(page.locator("#id_duration_1")).to_be_checked()
    expect(page.locator("#id_sound")).to_be_checked()
    expect(page.locator("#id_aspect_ratio_2")).to_be_checked()
    expect(page.locator("#id_keep_prompt")).to_be_checked()

    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.fill("#id_prompt", SECOND)
    page.locator("#id_prompt").press("Control+Enter")
    expect(cards).to_have_count(2)
    expect(page.locator("#id_prompt")).to_have_value(SECOND)
    assert len(posts) == 1  # sent once
    made = list(Generation.objects.order_by("created_at"))
    assert [g.prompt for g in made] == [FIRST, SECOND]
    assert {(g.duration, g.sound, g.aspect_ratio) for g in made} == {(10, True, chosen_ratio)}

    # Unticking "keep the prompt" clears it after the next video, and stays unticked.
    page.uncheck("#id_keep_prompt")
    page.fill("#id_prompt", FIRST + " again")
    page.locator("#id_prompt").press("Control+Enter")
    expect(cards).to_have_count(3)
    expect(page.locator("#id_prompt")).to_have_value("")
    expect(page.locator("#id_keep_prompt")).not_to_be_checked()
    expect(page.locator("#id_duration_1")).to_be_checked()


def test_a_gif_named_png_is_refused_before_anything_is_sent(home_page):
    from playwright.sync_api import expect

    page = home_page
    page.wait_for_load_state("networkidle")  # the page's own assets (the favicon) are in
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.fill("#id_prompt", FIRST)
    page.set_input_files(
        "#id_reference_image", files=[{"name": "kite.png", "mimeType": "image/png", "buffer": GIF}]
    )
    message = page.locator("[data-reference-bad-type]")
    expect(message).to_be_visible()
    expect(message).to_have_text("This file is not a JPEG, PNG or WebP image; choose another.")
    assert page.evaluate("document.getElementById('id_reference_image').files.length") == 0
    expect(page.locator("#id_prompt")).to_have_value(FIRST)  # nothing else is touched
    # The browser refused it alone: nothing but a static asset was fetched.
    assert [r for r in requests if "/static/" not in r] == []

    # A real PNG is accepted: the message goes and the preview shows.
    page.set_input_files(
        "#id_reference_image",
        files=[{"name": "kite.png", "mimeType": "image/png", "buffer": image_bytes("PNG")}],
    )
    expect(message).to_be_hidden()
    expect(page.locator("figure.reference-preview")).to_be_visible()
    assert page.evaluate("document.getElementById('id_reference_image').files.length") == 1
    assert Generation.objects.count() == 0
