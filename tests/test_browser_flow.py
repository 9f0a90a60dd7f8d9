"""The whole flow in real Chromium: log in, fill the form, watch the card, play the video.

A real django-tasks-db worker and the poller run in a background thread while the browser
waits, against the sandbox over real HTTP (``live_server``), so the card goes through its
states by itself, as it does under ``manage.py serve``. The video is then played in
Chromium from local files (ranged responses) and from a real S3 server (SeaweedFS) through
a presigned URL.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from generations.models import Generation, Status
from sandbox import models as sandbox_models
from tests.browser import assert_no_problems, sign_in
from tests.fixtures import image_bytes, paid

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parent.parent
PROMPT = "Một con diều đỏ bay trên ruộng lúa lúc bình minh, máy quay lia chậm"
CARD_ORDER = ["pending", "submitting", "queued", "processing", "saving", "ready"]
READY_TIMEOUT_MS = 60_000
VIDEO_PATH = re.compile(r"/generations/[0-9a-f-]{36}/video")
REFERENCE_PNG = image_bytes(size=(320, 180), color=(200, 40, 40))


# Records each data-status a card shows, in order, however the card is swapped in.
RECORD_STATUSES = """
() => {
  window.__statuses = [];
  window.__noReload = true;
  const record = () => {
    const card = document.querySelector("#cards [data-generation-id]");
    const list = window.__statuses;
    if (card && list[list.length - 1] !== card.dataset.status) list.push(card.dataset.status);
  };
  new MutationObserver(record).observe(document.getElementById("cards"), {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-status"],
  });
}
"""

# Plays the video muted, then seeks to 3 s; fails on a media error or after a timeout.
PLAY_AND_SEEK = """
async (video) => {
  const within = (promise, what) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(what + " timed out")), 15000)),
  ]);
  const failed = new Promise((_, reject) => video.addEventListener("error", () =>
    reject(new Error("media error " + (video.error && video.error.code)))));
  video.muted = true;
  await within(Promise.race([video.play(), failed]), "play");
  video.pause();
  const afterPlay = video.readyState;
  const seeked = new Promise((resolve) => video.addEventListener("seeked", resolve, {once: true}));
  video.currentTime = 3;
  await within(Promise.race([seeked, failed]), "seek");
  return {
    readyState: Math.max(afterPlay, video.readyState),
    width: video.videoWidth,
    height: video.videoHeight,
    duration: video.duration,
    currentTime: video.currentTime,
    seekableEnd: video.seekable.length ? video.seekable.end(0) : 0,
    src: video.currentSrc,
  };
}
"""


@pytest.fixture
def reference_png(tmp_path) -> Path:
    path = tmp_path / "kite.png"
    path.write_bytes(REFERENCE_PNG)
    return path


@pytest.fixture
def not_an_image(tmp_path) -> Path:
    """Starts with PNG's signature, so the browser's first-bytes check lets it through, but is
    no image: only the server can refuse it (a file refused in the browser is in
    test_browser_iterate.py)."""
    path = tmp_path / "notes.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    return path


def log_in(page, base_url: str, user, password: str) -> None:
    page.goto(f"{base_url}{reverse('home')}")
    assert urlsplit(page.url).path == reverse("login")  # login is required
    sign_in(page, base_url, user.get_username(), password)


def fill_form(page, image: Path) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#generation-form .cost")).to_contain_text("about 55 credits")
    page.fill("#id_prompt", PROMPT)
    page.locator("label[for=id_duration_0]").click()  # 5 seconds
    page.locator("label[for=id_aspect_ratio_1]").click()  # 16:9
    page.check("#id_sound")
    page.set_input_files("#id_reference_image", str(image))


def submit_bad_file_then_the_image(page, not_an_image: Path, image: Path, shots: Path) -> None:
    """A refused file answers with an error beside its field and keeps what was typed."""
    from playwright.sync_api import expect

    fill_form(page, not_an_image)
    page.click("#generation-form button[type=submit]")
    error = page.locator("#generation-form .field.has-error .errorlist")
    expect(error).to_have_count(1)
    expect(page.locator("#generation-form .has-error #id_reference_image")).to_have_count(1)
    expect(page.locator("#id_prompt")).to_have_value(PROMPT)
    expect(page.locator("#id_aspect_ratio_1")).to_be_checked()
    expect(page.locator("#id_sound")).to_be_checked()
    assert Generation.objects.count() == 0
    # caret="initial": hiding the caret leaves style="" on every input, which htmx then
    # copies onto the swapped-in form, a CSP violation of the test's own making.
    page.screenshot(path=str(shots / "form-error.png"), full_page=True, caret="initial")

    page.set_input_files("#id_reference_image", str(image))
    expect(page.locator(".reference-preview img")).to_be_visible()  # the preview, before submit


def watch_card_until_ready(page) -> Generation:
    from playwright.sync_api import expect

    page.evaluate(RECORD_STATUSES)
    page.click("#generation-form button[type=submit]")
    card = page.locator("#cards [data-generation-id]")
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-status", "ready", timeout=READY_TIMEOUT_MS)

    assert page.evaluate("window.__noReload") is True  # the same document all along
    statuses = page.evaluate("window.__statuses")
    assert statuses[-1] == "ready", statuses
    assert len(statuses) >= 2 and statuses[0] in CARD_ORDER[:-1], statuses
    order = [CARD_ORDER.index(status) for status in statuses]
    assert order == sorted(order), statuses  # never backwards, never failed
    # Screen readers hear that it is ready (the status word and the prompt).
    expect(page.locator("#card-announcer")).to_contain_text(f"Ready: {PROMPT[:40]}")

    generation = Generation.objects.get()
    assert generation.status == Status.READY
    assert card.get_attribute("data-generation-id") == str(generation.pk)
    assert generation.aspect_ratio == "16:9" and generation.duration == 5 and generation.sound
    assert generation.prompt == PROMPT
    video = card.locator("video")
    assert video.get_attribute("src") == reverse("generation_video", args=[generation.pk])
    assert video.get_attribute("poster") == reverse("generation_poster", args=[generation.pk])
    html = page.content()
    assert "/sandbox/" not in html and generation.rivya_task_id not in html
    return generation


def assert_plays_and_seeks(page) -> dict[str, float]:
    played = page.locator("#cards video").evaluate(PLAY_AND_SEEK)
    assert played["readyState"] >= 2, played
    assert (played["width"], played["height"]) == (1280, 720), played
    assert played["duration"] == pytest.approx(5.0, abs=0.15), played
    assert played["currentTime"] == pytest.approx(3.0, abs=0.1), played
    assert played["seekableEnd"] == pytest.approx(played["duration"], abs=0.15), played
    return played


def assert_reference_reached_the_files_api() -> None:
    remote = sandbox_models.Generation.objects.get()
    assert remote.reference_file is not None
    assert remote.reference_file.kind == "image"
    assert remote.reference_file.model == "kling-2-6"
    assert remote.reference_file.mime_type == "image/png"
    assert remote.reference_file.size_bytes == len(REFERENCE_PNG)
    assert sandbox_models.File.objects.count() == 1


def deployed_csp(env: dict[str, str]) -> dict[str, list[str]]:
    """SECURE_CSP as the settings compute it in a process started with ``env``."""
    code = "import json; from django.conf import settings; print(json.dumps(settings.SECURE_CSP))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rivyaweb.settings", **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_a_video_is_made_and_plays_from_local_files(
    live_server,
    background,
    media_root,
    watched,
    owner,
    password,
    reference_png,
    not_an_image,
    shots,
):
    page = watched
    ranged: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda response: (
            ranged.append((urlsplit(response.url).path, response.status))
            if VIDEO_PATH.fullmatch(urlsplit(response.url).path)
            else None
        ),
    )
    log_in(page, live_server.url, owner, password)
    submit_bad_file_then_the_image(page, not_an_image, reference_png, shots)

    generation = watch_card_until_ready(page)
    video_path = reverse("generation_video", args=[generation.pk])
    played = assert_plays_and_seeks(page)

    assert urlsplit(played["src"]).path == video_path  # played from our server
    assert (video_path, 206) in ranged, ranged  # Chromium read it with Range requests
    assert_reference_reached_the_files_api()
    stored = media_root / generation.video.name
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == generation.video_sha256
    assert_no_problems(page)
    page.screenshot(path=str(shots / "home-ready.png"), full_page=True)


@pytest.mark.s3
def test_a_video_is_made_into_s3_and_plays_from_a_presigned_url(
    live_server,
    background,
    settings,
    s3_bucket,
    watched,
    owner,
    password,
    reference_png,
    not_an_image,
    shots,
):
    endpoint = s3_bucket.server.endpoint
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    # The policy a deployment with these variables gets (settings read them at import).
    settings.SECURE_CSP = deployed_csp(
        {"AWS_STORAGE_BUCKET_NAME": s3_bucket.name, "AWS_S3_ENDPOINT_URL": endpoint}
    )
    page = watched
    from_s3: list[int] = []
    page.on(
        "response",
        lambda response: (
            from_s3.append(response.status)
            if response.url.startswith(endpoint) and "/video-" in response.url
            else None
        ),
    )
    log_in(page, live_server.url, owner, password)
    submit_bad_file_then_the_image(page, not_an_image, reference_png, shots)

    generation = watch_card_until_ready(page)
    played = assert_plays_and_seeks(page)

    assert played["src"].endswith(reverse("generation_video", args=[generation.pk]))
    assert from_s3 and set(from_s3) <= {200, 206}, from_s3  # the presigned URL answered
    assert_reference_reached_the_files_api()
    prefix = f"teams/{generation.team_id}/generations/{generation.pk}/"
    client = s3_bucket.server.client()
    listing = client.list_objects_v2(Bucket=s3_bucket.name, Prefix=prefix)["Contents"]
    keys = {obj["Key"] for obj in listing}
    assert {generation.video.name, generation.poster.name, generation.provenance} <= keys, keys
    body = client.get_object(Bucket=s3_bucket.name, Key=generation.video.name)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == generation.video_sha256
    provenance = json.loads(
        client.get_object(Bucket=s3_bucket.name, Key=generation.provenance)["Body"].read()
    )
    assert provenance["video"]["sha256"] == generation.video_sha256
    assert provenance["prompt"] == PROMPT
    poster = client.get_object(Bucket=s3_bucket.name, Key=generation.poster.name)["Body"].read()
    assert poster[:2] == b"\xff\xd8"
    assert re.search(r"/generations/[0-9a-f-]+/poster", page.content())
    assert_no_problems(page)
    page.screenshot(path=str(shots / "home-ready-s3.png"), full_page=True)


def test_the_expected_price_follows_the_chosen_duration_and_sound(
    live_server, watched, owner, team, password
):
    from playwright.sync_api import expect

    # Failed ones (refunded, nothing to play); what Rivya reserved still tells the price.
    paid(team, owner, duration=5, sound=False, credits=55, status=Status.FAILED)
    paid(team, owner, duration=10, sound=True, credits=110, status=Status.FAILED)
    page = watched
    log_in(page, live_server.url, owner, password)
    price = '.expected-price[data-duration="{}"][data-sound="{}"]'
    short_silent = page.locator(price.format(5, "off"))
    long_with_sound = page.locator(price.format(10, "on"))
    expect(short_silent).to_be_visible()
    expect(long_with_sound).to_be_hidden()

    page.locator("label[for=id_duration_1]").click()  # 10 seconds
    page.check("#id_sound")
    expect(long_with_sound).to_be_visible()
    expect(long_with_sound).to_contain_text("about 110 credits")
    expect(short_silent).to_be_hidden()

    page.uncheck("#id_sound")  # 10 s without sound: never paid for, so not from history
    expect(page.locator(".expected-price:visible")).to_have_count(1)
    expect(page.locator(price.format(10, "off"))).to_be_visible()
    expect(page.locator(price.format(10, "off"))).not_to_contain_text("your team")
    assert_no_problems(page)
