"""Iterating in real Chromium: the form keeps the choices and the reference image after a video
is made (stored once), Ctrl+Enter sends it, a card's "Use these settings" fills the form in
place, an image can be dropped or pasted, and a file that is not an accepted image is refused
before anything is sent."""

import re

import pytest

from generations.models import Generation, Status
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


def test_the_file_field_speaks_the_pages_language(watched, live_server, owner, password):
    """The browser's own "Choose File / No file chosen" would be in the browser's language:
    the field wears a face in the page's language, naming the chosen file."""
    from playwright.sync_api import expect

    page = watched
    sign_in(page, live_server.url, owner.get_username(), password, language="vi")
    face = page.locator(".file-picker-face")
    expect(face).to_be_visible()
    expect(face.locator(".file-picker-button")).to_have_text("Chọn ảnh")
    name = face.locator(".file-picker-name")
    expect(name).to_have_text("Chưa chọn ảnh")
    # The real field lies over the face: a click on the face reaches the field.
    assert page.locator("#id_reference_image").bounding_box() == face.bounding_box()
    box = face.bounding_box()
    assert box is not None
    # A click where the face's button is drawn: Playwright scrolls there, waits until the
    # page stops moving and checks that the field is what receives the click at that point.
    with page.expect_file_chooser() as chooser:
        page.locator("#id_reference_image").click(position={"x": 20, "y": box["height"] / 2})
    chooser.value.set_files(
        files=[{"name": "diều.png", "mimeType": "image/png", "buffer": image_bytes("PNG")}]
    )
    expect(name).to_have_text("diều.png")
    # A refused file leaves the field empty, and the face says so.
    page.set_input_files(
        "#id_reference_image", files=[{"name": "kite.png", "mimeType": "image/png", "buffer": GIF}]
    )
    expect(page.locator("[data-reference-bad-type]")).to_be_visible()
    expect(name).to_have_text("Chưa chọn ảnh")
    # The keyboard reaches the field, and its focus shows on the face.
    page.focus("#id_reference_image")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    outline = face.evaluate("element => getComputedStyle(element).outlineStyle")
    assert outline == "solid"
    assert_no_problems(page)


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_only_a_new_prompt_keeps_every_choice_and_the_image_stored_once(home_page, media_root):
    from playwright.sync_api import expect

    page = home_page
    page.fill("#id_prompt", FIRST)
    page.check("#id_duration_1")
    page.check("#id_sound")
    page.check("#id_aspect_ratio_2")
    page.set_input_files(
        "#id_reference_image",
        files=[{"name": "kite.png", "mimeType": "image/png", "buffer": image_bytes("PNG")}],
    )
    page.click("#generation-form button[type=submit]")
    cards = page.locator("#cards [data-generation-id]")
    expect(cards).to_have_count(1)
    first = Generation.objects.get()
    assert stored_files(media_root) == [first.reference_image.name]

    # The fresh form shows the same image, with the choice to remove it.
    preview = page.locator("figure.reference-preview")
    expect(preview).to_be_visible()
    expect(preview.locator("img")).to_have_attribute("src", re.compile(r"^/uploads/.+/preview$"))
    expect(page.locator("#id_reference_clear")).not_to_be_checked()
    # It loads: decode() rejects for an image that cannot be fetched or read.
    assert preview.locator("img").evaluate("image => image.decode().then(() => image.naturalWidth)")

    page.fill("#id_prompt", SECOND)
    page.locator("#id_prompt").press("Control+Enter")
    expect(cards).to_have_count(2)
    expect(page.locator("#id_duration_1")).to_be_checked()
    expect(page.locator("#id_sound")).to_be_checked()
    expect(page.locator("#id_aspect_ratio_2")).to_be_checked()
    expect(preview).to_be_visible()
    second = Generation.objects.exclude(pk=first.pk).get()
    assert second.prompt == SECOND
    assert (second.duration, second.sound, second.aspect_ratio) == (
        first.duration,
        first.sound,
        first.aspect_ratio,
    )
    # The same stored file, and no second upload of it to our storage.
    assert second.reference_image.name == first.reference_image.name
    assert second.reference_sha256 == first.reference_sha256
    assert stored_files(media_root) == [first.reference_image.name]

    # Removing it makes the next video without an image.
    page.check("#id_reference_clear")
    page.fill("#id_prompt", FIRST + " again")
    page.locator("#id_prompt").press("Control+Enter")
    expect(cards).to_have_count(3)
    expect(preview).to_be_hidden()
    assert not Generation.objects.order_by("-created_at").first().reference_image


def test_use_these_settings_fills_the_form_in_place(home_page, add_generation, live_server):
    from playwright.sync_api import expect

    page = home_page
    failed = add_generation(
        status=Status.FAILED,
        prompt="A lantern drifting on a dark lake",
        duration=10,
        sound=True,
        aspect_ratio="9:16",
        reference=image_bytes("PNG", color=(20, 200, 90)),
    )
    running = add_generation(status=Status.PROCESSING, prompt="Snow on a temple roof")
    page.goto(live_server.url + "/")
    page.evaluate("window.__samePage = true")
    page.locator(f"#gen-{failed.pk} a[data-use-settings]").click()
    expect(page.locator("#id_prompt")).to_have_value(failed.prompt)
    expect(page.locator("#id_prompt")).to_be_focused()
    expect(page.locator("#id_duration_1")).to_be_checked()
    expect(page.locator("#id_sound")).to_be_checked()
    expect(page.locator("#id_aspect_ratio_2")).to_be_checked()
    expect(page.locator("figure.reference-preview")).to_be_visible()
    assert page.evaluate("window.__samePage") is True  # no reload
    assert page.url == live_server.url + "/"

    page.locator(f"#gen-{running.pk} a[data-use-settings]").click()
    expect(page.locator("#id_prompt")).to_have_value(running.prompt)
    expect(page.locator("#id_prompt")).to_be_focused()
    expect(page.locator("#id_duration_0")).to_be_checked()
    expect(page.locator("figure.reference-preview")).to_be_hidden()

    page.locator(f"#gen-{failed.pk} a[data-use-settings]").click()
    expect(page.locator("#id_prompt")).to_have_value(failed.prompt)
    page.fill("#id_prompt", "A lantern drifting on a calm lake")
    page.locator("#id_prompt").press("Control+Enter")
    expect(page.locator("#cards [data-generation-id]")).to_have_count(3)
    made = Generation.objects.get(prompt="A lantern drifting on a calm lake")
    assert (made.duration, made.sound, made.aspect_ratio) == (10, True, "9:16")
    assert made.reference_image.name == failed.reference_image.name
    assert page.evaluate("window.__samePage") is True


# Builds a DataTransfer holding one file and sends ``kind`` events with it to ``selector``.
SEND_FILE = """
([selector, kinds, bytes, name, type]) => {
  const transfer = new DataTransfer();
  transfer.items.add(new File([new Uint8Array(bytes)], name, { type }));
  const target = document.querySelector(selector);
  for (const kind of kinds) {
    const event = kind === "paste"
      ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true })
      : new DragEvent(kind, { dataTransfer: transfer, bubbles: true, cancelable: true });
    target.dispatchEvent(event);
  }
  return document.getElementById("generation-form").classList.contains("is-drop-target");
}
"""


def send_file(page, selector, kinds, content, name="kite.png", mime="image/png") -> bool:
    return page.evaluate(SEND_FILE, [selector, kinds, list(content), name, mime])


def file_count(page) -> int:
    return page.evaluate("document.getElementById('id_reference_image').files.length")


def test_an_image_dropped_or_pasted_goes_into_the_form(home_page):
    from playwright.sync_api import expect

    page = home_page
    page.wait_for_load_state("networkidle")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    bad_type = page.locator("[data-reference-bad-type]")
    preview = page.locator("figure.reference-preview")

    # Dragged over the form, it shows where to drop; dropped, it is the chosen image.
    assert send_file(page, "#id_prompt", ["dragenter", "dragover"], image_bytes("PNG"))
    assert not send_file(page, ".cost", ["drop"], image_bytes("PNG"))
    expect(preview).to_be_visible()
    assert file_count(page) == 1

    # Something else dropped is refused with the usual message, and taken out.
    send_file(page, "#id_prompt", ["dragover", "drop"], GIF, "kite.png")
    expect(bad_type).to_be_visible()
    assert file_count(page) == 0
    expect(preview).to_be_hidden()

    # Leaving the form without dropping takes the drop state away.
    assert send_file(page, "#id_prompt", ["dragover"], image_bytes("PNG"))
    page.evaluate(
        """() => document.getElementById("id_prompt").dispatchEvent(
            new DragEvent("dragleave", { bubbles: true, relatedTarget: document.body }))"""
    )
    assert not page.evaluate(
        "document.getElementById('generation-form').classList.contains('is-drop-target')"
    )

    # A pasted text file is refused; a pasted image is taken, and sent with the form.
    send_file(page, "#id_prompt", ["paste"], b"just some words", "notes.txt", "text/plain")
    expect(bad_type).to_be_visible()
    assert file_count(page) == 0
    expect(page.locator("#id_prompt")).to_have_value("")  # nothing pasted as text
    picture = image_bytes("JPEG", color=(30, 60, 220))
    send_file(page, "#id_prompt", ["paste"], picture, "image.jpg", "image/jpeg")
    expect(bad_type).to_be_hidden()
    expect(preview).to_be_visible()
    assert file_count(page) == 1
    assert [r for r in requests if "/static/" not in r and not r.startswith("GET blob:")] == []

    page.fill("#id_prompt", FIRST)
    page.click("#generation-form button[type=submit]")
    expect(page.locator("#cards [data-generation-id]")).to_have_count(1)
    made = Generation.objects.get()
    assert made.reference_mime == "image/jpeg"
