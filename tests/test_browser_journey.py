"""A new person's whole path in real Chromium, in both languages and at desktop and phone sizes:
sign up, make a video with a reference image, watch its card become ready, find it in the
gallery, open it, remix it into a second video, download it and share it with someone who is
not signed in.

A real worker and the poller run against the sandbox (``background``), so every card moves by
itself as it does under ``manage.py serve``. The desktop person makes a landscape video, the
phone person a portrait one. Each step leaves a screenshot in ``shots``.
"""

import hashlib
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.urls import reverse

from generations.models import Generation, Status
from tests.browser import assert_no_problems, watch
from tests.fixtures import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "lanterns-over-the-perfume-river-7"
PROMPT = "Chiếc thuyền giấy trôi trên phố cổ Hội An dưới mưa, máy quay lia chậm"
READY_TIMEOUT_MS = 60_000
REFERENCE_PNG = image_bytes(size=(320, 180), color=(40, 120, 200))
SIZES = {
    "desktop": {"viewport": {"width": 1366, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# The shape each size makes: its aspect ratio, the form's radio for it, the video's pixels.
SHAPES = {
    "desktop": ("16:9", "id_aspect_ratio_1", (1280, 720)),
    "phone": ("9:16", "id_aspect_ratio_2", (720, 1280)),
}
# A few words each page shows, per language: enough to see the language was followed.
WORDS = {
    "en": {
        "signup": "Sign up",
        "home": "Make a video",
        "gallery": "Gallery",
        "remix": "Remix",
        "download": "Download",
        "share": "Your share link",
    },
    "vi": {
        "signup": "Đăng ký",
        "home": "Tạo video",
        "gallery": "Thư viện",
        "remix": "Phối lại",
        "download": "Tải xuống",
        "share": "Liên kết chia sẻ của bạn",
    },
}

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"

# Waits until the shared page's video has its metadata (duration, size); fails on a media error.
LOADS = """
async (video) => {
  if (video.readyState < 1) {
    await new Promise((resolve, reject) => {
      video.addEventListener("loadedmetadata", resolve, {once: true});
      video.addEventListener("error", () => reject(new Error("media error")), {once: true});
      video.load();
    });
  }
  return {duration: video.duration, width: video.videoWidth, height: video.videoHeight};
}
"""


# Two people cover both languages and both sizes: a Vietnamese creator on a phone and an
# English one at a desk. The language changes only words, which every step checks, so the
# two other pairings would repeat the same path for a minute of CI without finding more.
PEOPLE = [("vi", "phone"), ("en", "desktop")]


@pytest.fixture(params=PEOPLE, ids=[f"{language}-{size}" for language, size in PEOPLE])
def person(request) -> tuple[str, str]:
    return request.param


@pytest.fixture
def language(person) -> str:
    return person[0]


@pytest.fixture
def size(person) -> str:
    return person[1]


@pytest.fixture
def context(new_context, language, size):
    """The person's browser: their language and their screen."""
    return new_context(
        locale="vi-VN" if language == "vi" else "en-US",
        extra_http_headers={"Accept-Language": language},
        **SIZES[size],
    )


@pytest.fixture
def reference_png(tmp_path) -> Path:
    path = tmp_path / "boat.png"
    path.write_bytes(REFERENCE_PNG)
    return path


class Journey:
    """The person's page, with the words of their language and a screenshot per step."""

    def __init__(self, page, base_url: str, language: str, size: str, shots: Path) -> None:
        self.page = page
        self.base = base_url
        self.words = WORDS[language]
        self.size = size
        self.ratio, self.ratio_radio, self.pixels = SHAPES[size]
        self.shots = shots
        self.prefix = f"journey-{language}-{size}"

    def shot(self, step: str) -> None:
        """Save what the page shows now; no page scrolls sideways, whatever the size."""
        # caret="initial": hiding the caret would leave style="" on inputs (a CSP violation
        # once htmx copies the form).
        self.page.screenshot(path=str(self.shots / f"{self.prefix}-{step}.png"), caret="initial")
        assert self.page.evaluate(NO_SIDEWAYS_SCROLL), f"{step} scrolls sideways"

    def go_to_gallery(self) -> None:
        """Through the top bar's link, opening its menu first when it is collapsed."""
        page = self.page
        link = page.locator("header.topbar").get_by_role("link", name=self.words["gallery"])
        menu = page.locator("header.topbar button[aria-controls][aria-expanded]").first
        if not link.is_visible() and menu.count() and menu.is_visible():
            menu.click()
        if link.is_visible():
            link.click()
        else:
            page.goto(f"{self.base}{reverse('gallery')}")
        page.wait_for_url(f"{self.base}{reverse('gallery')}")


def sign_up(journey: Journey, username: str) -> None:
    from playwright.sync_api import expect

    page = journey.page
    page.goto(f"{journey.base}{reverse('signup')}")
    expect(page.locator("h1")).to_have_text(journey.words["signup"])
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    journey.shot("1-signup")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{journey.base}{reverse('home')}")
    expect(page.locator("h1")).to_have_text(journey.words["home"])


def make_a_video(journey: Journey, image: Path) -> Generation:
    from playwright.sync_api import expect

    page = journey.page
    page.fill("#id_prompt", PROMPT)
    page.locator("label[for=id_duration_0]").click()  # 5 seconds
    page.locator(f"label[for={journey.ratio_radio}]").click()
    page.locator("label[for=id_sound]").click()
    page.set_input_files("#id_reference_image", str(image))
    expect(page.locator("figure.reference-preview img")).to_be_visible()
    journey.shot("2-form")
    page.click("#generation-form button[type=submit]")
    card = page.locator("#cards [data-generation-id]")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    expect(card.locator("video")).to_be_visible()
    card.scroll_into_view_if_needed()
    journey.shot("3-ready")
    generation = Generation.objects.get()
    assert card.get_attribute("data-generation-id") == str(generation.pk)
    assert (generation.status, generation.prompt) == (Status.READY, PROMPT)
    chosen = (generation.duration, generation.aspect_ratio, generation.sound)
    assert chosen == (5, journey.ratio, True)
    assert default_storage.open(generation.reference_image.name).read() == REFERENCE_PNG
    return generation


def open_from_the_gallery(journey: Journey, generation: Generation) -> None:
    from playwright.sync_api import expect

    page = journey.page
    journey.go_to_gallery()
    expect(page.locator("h1")).to_have_text(journey.words["gallery"])
    tile = page.locator(f'.gallery-tile[data-generation-id="{generation.pk}"]')
    expect(tile.locator("img.tile-poster")).to_be_visible()
    tile.scroll_into_view_if_needed()
    journey.shot("4-gallery")
    tile.locator("a.tile-link").click()
    page.wait_for_url(f"{journey.base}{generation.get_absolute_url()}")
    expect(page.locator("#prompt-text")).to_have_text(PROMPT)
    expect(page.locator("#cards video")).to_be_visible()
    journey.shot("5-detail")


def remix(journey: Journey, original: Generation) -> Generation:
    """The detail page's Remix fills the form with the original's choices and image."""
    from playwright.sync_api import expect

    page = journey.page
    link = page.locator("#remix-link")
    expect(link).to_have_text(journey.words["remix"])
    link.click()
    page.wait_for_url(re.compile(r".*/\?remix="))
    expect(page.locator("#id_prompt")).to_have_value(PROMPT)
    expect(page.locator("#id_duration_0")).to_be_checked()
    expect(page.locator(f"#{journey.ratio_radio}")).to_be_checked()
    expect(page.locator("#id_sound")).to_be_checked()
    expect(page.locator("figure.reference-preview img")).to_be_visible()
    page.fill("#id_prompt", PROMPT + ", trời hửng nắng")
    page.click("#generation-form button[type=submit]")
    card = page.locator("#cards [data-generation-id]").first
    expect(card).not_to_have_attribute("data-generation-id", str(original.pk))
    expect(card).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)
    card.scroll_into_view_if_needed()
    journey.shot("6-remixed")
    second = Generation.objects.exclude(pk=original.pk).get()
    assert second.status == Status.READY
    assert (second.duration, second.aspect_ratio, second.sound) == (5, journey.ratio, True)
    assert default_storage.open(second.reference_image.name).read() == REFERENCE_PNG
    return second


def download(journey: Journey, generation: Generation) -> None:
    """The file that arrives is the stored MP4, byte for byte."""
    page = journey.page
    page.goto(f"{journey.base}{generation.get_absolute_url()}")
    link = page.locator("#download-link")
    assert link.inner_text().strip() == journey.words["download"]
    with page.expect_download() as started:
        link.click()
    body = Path(started.value.path()).read_bytes()
    assert body[4:8] == b"ftyp", body[:16]  # an MP4
    assert len(body) == generation.video_size == default_storage.size(generation.video.name)
    assert hashlib.sha256(body).hexdigest() == generation.video_sha256
    assert started.value.suggested_filename.endswith(".mp4")


def share(journey: Journey, browser, generation: Generation) -> None:
    """A share link opened by someone signed out: the page loads and its video plays."""
    from playwright.sync_api import expect

    page = journey.page
    page.click("#share-form button[type=submit]")
    expect(page.locator("#share-new-heading")).to_have_text(journey.words["share"])
    share_url = page.locator("[data-share-url]").get_attribute("data-share-url")
    assert share_url and share_url.startswith(f"{journey.base}/s/")
    journey.shot("7-shared")

    stranger = browser.new_context(**SIZES[journey.size])
    try:
        public = watch(stranger.new_page())
        response = public.goto(share_url)
        assert response is not None and response.status == 200
        player = public.locator("video.shared-video")
        expect(player).to_be_visible()
        loaded = player.evaluate(LOADS)
        assert loaded["duration"] == pytest.approx(5.0, abs=0.15), loaded
        assert (loaded["width"], loaded["height"]) == journey.pixels, loaded
        assert str(generation.pk) not in public.content()
        public.screenshot(path=str(journey.shots / f"{journey.prefix}-8-public.png"))
        assert_no_problems(public)
    finally:
        stranger.close()


def test_a_new_person_signs_up_makes_finds_remixes_downloads_and_shares_a_video(
    live_server,
    background,
    settings,
    fast_passwords,
    watched,
    browser,
    language,
    size,
    reference_png,
    shots,
):
    settings.ALLOW_SIGNUP = True
    journey = Journey(watched, live_server.url, language, size, shots)
    username = f"lan-{language}-{size}"

    sign_up(journey, username)
    first = make_a_video(journey, reference_png)
    assert first.created_by == get_user_model().objects.get(username=username)
    open_from_the_gallery(journey, first)
    remix(journey, first)
    download(journey, first)
    share(journey, browser, first)
    assert_no_problems(watched)
