"""The gallery's bulk download in real Chromium: tick tiles, press the button, get a ZIP."""

import hashlib
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from generations.models import Status
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DAY = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)


@pytest.fixture
def videos(add_generation, mp4_bytes):
    made = []
    for number, (prompt, content) in enumerate(
        [
            ("con mèo nhảy múa", mp4_bytes),
            ("A paper boat", b"second video " * 5000),
            ("Not selected", b"third video " * 5000),
        ]
    ):
        made.append(
            add_generation(
                status=Status.READY,
                prompt=prompt,
                video=content,
                video_sha256=hashlib.sha256(content).hexdigest(),
                video_size=len(content),
                created_at=DAY + timedelta(minutes=number),
            )
        )
    return made


def tick(page, generation) -> None:
    page.locator(f'[data-generation-id="{generation.pk}"] input[name="ids"]').check()


def test_ticked_tiles_download_as_one_zip(live_server, page, owner, password, videos, tmp_path):
    sign_in(page, live_server.url, owner.get_username(), password, next=reverse("gallery"))
    tick(page, videos[0])
    tick(page, videos[1])

    with page.expect_download() as started:
        page.locator("#gallery-download button[type=submit]").click()
    download = started.value

    assert download.suggested_filename.startswith("rivyaweb-")
    assert download.suggested_filename.endswith("-2-videos.zip")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == [
            "2026-11-28-con-mèo-nhảy-múa.mp4",
            "2026-11-28-con-mèo-nhảy-múa.json",
            "2026-11-28-a-paper-boat.mp4",
            "2026-11-28-a-paper-boat.json",
        ]
        for generation, name in zip(videos, archive.namelist()[::2], strict=False):
            assert hashlib.sha256(archive.read(name)).hexdigest() == generation.video_sha256
    # The gallery stays where it was, the ticks with it.
    assert page.url.endswith(reverse("gallery"))


def test_a_selection_over_the_cap_says_why(live_server, page, owner, password, videos, settings):
    settings.GALLERY_ZIP_MAX_ITEMS = 2
    page.set_extra_http_headers({"Accept-Language": "en"})
    sign_in(page, live_server.url, owner.get_username(), password, next=reverse("gallery"))
    for generation in videos:
        tick(page, generation)

    page.locator("#gallery-download button[type=submit]").click()

    expect(page.locator("[role=alert]")).to_contain_text(
        "You selected 3 videos, but at most 2 can be downloaded at once."
    )
    page.get_by_role("link", name="Back to the gallery").click()
    page.wait_for_url(f"{live_server.url}{reverse('gallery')}")
