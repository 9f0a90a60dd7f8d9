"""The README's screenshots: the home page with cards in several states, the gallery and a
video's page, each in the light and the dark theme, at 1366×900.

Made on request only: the ``screenshots`` marker is deselected unless asked for, so

    uv run pytest -m screenshots

rewrites docs/screenshots/{home,gallery,detail}-{light,dark}.png (``SCREENSHOT_DIR`` sends
them elsewhere). The studio is seeded as a real one looks: finished videos rendered by the
sandbox's renderer from Vietnamese prompts, one being made, one waiting in Rivya's queue and
one that failed.
"""

import io
import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw

from generations import catalog, videos
from generations.models import Generation, Status
from sandbox.render import render_video
from tests.browser import assert_no_problems, sign_in

pytestmark = [pytest.mark.screenshots, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1366, "height": 900}
MAX_BYTES = 400_000
THEMES = ("light", "dark")
# Sky, horizon, sun and hills of each reference picture, so every video looks its own.
PALETTES = [
    ((40, 60, 120), (240, 150, 90), (255, 220, 150), (40, 90, 70)),
    ((90, 150, 210), (200, 230, 240), (255, 250, 220), (70, 140, 60)),
    ((30, 20, 60), (200, 90, 120), (255, 180, 120), (50, 40, 80)),
    ((120, 170, 200), (240, 220, 180), (255, 240, 200), (150, 110, 60)),
]

# Newest first: (prompt, seconds, aspect ratio, sound, minutes ago, status).
STUDIO = [
    ("Đèn lồng giấy trôi trên sông Hoài lúc chạng vạng", 10, "16:9", True, 0.2, Status.QUEUED),
    ("Cô bé đội nón lá đi dọc hàng rào gỗ lúc hoàng hôn", 5, "16:9", False, 0.8, Status.PROCESSING),
    ("Chiếc thuyền giấy trôi trên phố cổ Hội An dưới mưa", 5, "16:9", True, 6, Status.READY),
    ("Đàn cò trắng bay chậm qua ruộng lúa lúc bình minh", 10, "16:9", False, 25, Status.READY),
    ("Con rồng bằng đèn lồng nhảy múa giữa phố đêm", 5, "1:1", True, 50, Status.FAILED),
    (
        "Ông lão bán kem đạp xe qua cầu Long Biên, máy quay lia chậm",
        5,
        "9:16",
        False,
        90,
        Status.READY,
    ),
    ("Chợ nổi Cái Răng buổi sớm, góc quay từ trên cao", 10, "1:1", True, 200, Status.READY),
    (
        "Sương mù phủ vịnh Hạ Long, một chiếc thuyền buồm lướt qua",
        5,
        "16:9",
        False,
        400,
        Status.READY,
    ),
    ("Một con mèo cam ngủ trên bậu cửa sổ, nắng xuyên qua lá", 5, "9:16", True, 900, Status.READY),
]


@pytest.fixture
def out_dir() -> Path:
    path = Path(os.environ.get("SCREENSHOT_DIR") or BASE_DIR / "docs" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def owner(django_user_model, password):
    return django_user_model.objects.create_user("minh.anh", "minh.anh@example.com", password)


@pytest.fixture
def context(new_context):
    return new_context(viewport=VIEWPORT, locale="vi-VN")


@pytest.fixture
def studio(sandbox, add_generation, team) -> list[Generation]:
    """The team's videos, newest first, as :data:`STUDIO` describes them, and the price list
    fetched from the sandbox."""
    catalog.refresh_catalog.call()
    team.name = "Xưởng phim Sen Vàng"
    team.save(update_fields=["name"])
    now = timezone.now()
    made = []
    for index, (prompt, seconds, ratio, sound, minutes_ago, status) in enumerate(STUDIO):
        created = now - timedelta(minutes=minutes_ago)
        fields = {"prompt": prompt, "duration": seconds, "aspect_ratio": ratio, "sound": sound}
        if status == Status.READY:
            generation = ready(add_generation, created, picture(index), **fields)
        else:
            generation = add_generation(
                status=status,
                submitted_at=created + timedelta(seconds=3),
                reserved_credits=None if status == Status.FAILED else 70,
                finished_at=created + timedelta(minutes=2) if status == Status.FAILED else None,
                error_code="generation_failed" if status == Status.FAILED else "",
                **fields,
            )
        Generation.objects.filter(pk=generation.pk).update(created_at=created)
        made.append(generation)
    return made


def picture(index: int) -> bytes:
    """A small landscape (sky, sun, hills) to use as a reference image."""
    sky, horizon, sun, hills = PALETTES[index % len(PALETTES)]
    width, height = 480, 270
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / height
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(sky, horizon, strict=True)),
        )
    x = 90 + 70 * index % 300
    draw.ellipse((x, 70, x + 70, 140), fill=sun)
    draw.ellipse((-120, 170, 260, 420), fill=hills)
    draw.ellipse((180, 190, 620, 460), fill=tuple(max(0, c - 25) for c in hills))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def ready(add_generation, created, reference: bytes, **fields) -> Generation:
    """A finished video with real media: the sandbox's rendering of its prompt."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "video.mp4"
        render_video(
            path,
            prompt=fields["prompt"],
            duration=fields["duration"],
            aspect_ratio=fields["aspect_ratio"],
            sound=fields["sound"],
            reference_image=reference,
        )
        probe = videos.probe(path)
        data = path.read_bytes()
        generation = add_generation(
            status=Status.READY,
            video=data,
            poster=probe.poster,
            reference=reference,
            reserved_credits=70,
            final_credits=55,
            video_size=len(data),
            video_duration=probe.duration,
            video_width=probe.width,
            video_height=probe.height,
            submitted_at=created + timedelta(seconds=3),
            finished_at=created + timedelta(seconds=95),
            **fields,
        )
    videos.fill_gallery_media(generation)
    generation.refresh_from_db()
    return generation


# Every image in view has arrived (lazy ones below the fold do not count) and every video
# has its first frame, so no loading spinner shows.
IN_VIEW_LOADED = """
() => {
  const inView = (element) => element.checkVisibility()
    && element.getBoundingClientRect().top < window.innerHeight;
  const images = [...document.images].filter((img) => img.getAttribute("src") && inView(img));
  const players = [...document.querySelectorAll("video")].filter(inView);
  return images.every((img) => img.complete && img.naturalWidth > 0)
    && players.every((video) => video.readyState >= 4);
}
"""
# The players fetch only metadata, and Chromium's controls keep a loading spinner meanwhile;
# loading them whole (they still show the poster) lets them settle.
LOAD_VIDEOS = """
() => document.querySelectorAll("video").forEach((video) => {
  video.preload = "auto";
  video.load();
})
"""


SCROLL_TO_TOP = (
    "(element) => window.scrollTo(0, element.getBoundingClientRect().top + scrollY - 16)"
)


def settle(page) -> None:
    """The page and the pictures in view loaded, so the screenshot is complete."""
    page.wait_for_load_state("networkidle")
    page.evaluate(LOAD_VIDEOS)
    page.wait_for_function(IN_VIEW_LOADED)
    # Chromium's player finishes its spinner's turn after loading; nothing tells when.
    page.wait_for_timeout(2500)


def test_the_readme_screenshots(watched, live_server, owner, password, studio, out_dir):
    page = watched
    sign_in(page, live_server.url, owner.get_username(), password, language="vi")
    # A portrait video: its page keeps the whole player within the window.
    detail = next(g for g in studio if g.status == Status.READY and g.aspect_ratio == "9:16")
    # Each page, and what to scroll to the top (the gallery's tiles, below its filters).
    pages = {
        "home": ("/", None),
        "gallery": ("/gallery/", "#gallery-download"),
        "detail": (detail.get_absolute_url(), None),
    }
    for theme in THEMES:
        page.emulate_media(color_scheme=theme)
        for name, (path, top) in pages.items():
            page.goto(f"{live_server.url}{path}")
            if top:
                page.locator(top).evaluate(SCROLL_TO_TOP)
            settle(page)
            widths = page.eval_on_selector_all("video", "all => all.map((v) => v.clientWidth)")
            assert all(widths), (name, widths)  # every player is drawn
            target = out_dir / f"{name}-{theme}.png"
            page.screenshot(path=str(target), caret="initial")
            assert target.stat().st_size < MAX_BYTES, (target, target.stat().st_size)
    assert_no_problems(page)
