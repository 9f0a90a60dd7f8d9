"""The background steps against a Rivya that answers wrongly, over real HTTP on loopback.

A tiny threaded HTTP server plays Rivya; each test scripts its answers. The real tasks
(``submit``, ``mirror``) and the poller run against it. Whatever it answers, the row ends in
a sensible state with a human message (or keeps retrying with a notice), the ledger holds at
most one entry of each kind, and nothing connects anywhere but loopback.
"""

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from credits.models import CreditEntry
from generations import poller, tasks, videos
from generations.models import (
    CONFIRM_WINDOW,
    COPY_MAX_ATTEMPTS,
    ENQUEUED,
    REDRIVE_GRACE,
    RETRY_CAP,
    Generation,
    Status,
)
from tests.http_server import Answer, FakeServer, as_json

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("media_root"),
]

KEY = "rvya_sk_test_x"
TASK = "task_" + "R" * 24


@pytest.fixture
def rivya(settings):
    fake = FakeServer()
    settings.RIVYA_API_BASE = f"{fake.url}/api/v1"
    settings.RIVYA_SANDBOX = False
    settings.RIVYA_API_KEY = KEY
    settings.RIVYA_MEDIA_HOSTS = []
    yield fake
    fake.close()


@pytest.fixture(autouse=True)
def connections(loopback_only):
    """Nothing here may connect anywhere but loopback."""
    return loopback_only


def one_reserve_at_most(generation: Generation) -> None:
    for kind in CreditEntry.Kind.values:
        count = CreditEntry.objects.filter(generation=generation, kind=kind).count()
        assert count <= 1, (kind, count)


# --- submit -----------------------------------------------------------------------------------


def submit(generation: Generation) -> Generation:
    tasks.submit.call(str(generation.pk))
    generation.refresh_from_db()
    return generation


def retrying(generation: Generation, notice: str) -> None:
    assert generation.status == Status.SUBMITTING
    assert generation.notice == notice
    assert generation.lease_owner == ENQUEUED
    assert not generation.can_retry
    # The poller re-drives it if the scheduled retry is lost; never in a year's time.
    latest = timezone.now() + timedelta(seconds=RETRY_CAP) + REDRIVE_GRACE
    assert generation.lease_until <= latest + timedelta(seconds=5)


@pytest.mark.parametrize(
    "answer",
    [
        (200, {"Content-Type": "application/json"}, b"<html>not json</html>"),
        as_json(200, {"status": "queued"}),
        as_json(200, {"error": {"code": "validation_failed", "message": "bad"}}),
        as_json(200, ["a", "list"]),
        (200, {"Content-Type": "application/json"}, b'{"pad": "' + b"x" * 5_000_000 + b'"}'),
        (200, {"Content-Type": "application/json"}, b"\xff\xfe\x00\x01"),
    ],
    ids=["not-json", "no-id", "error-envelope", "list", "huge", "binary"],
)
def test_submit_keeps_retrying_an_unreadable_answer_with_a_notice(rivya, add_generation, answer):
    rivya.on("/api/v1/generations", answer)
    generation = submit(add_generation())
    # The create went out: Rivya may have made the task, so it is confirmed, not failed.
    retrying(generation, "confirming")
    assert not CreditEntry.objects.exists()


def test_500_forever_is_asked_again_then_needs_attention_never_failed(rivya, add_generation):
    rivya.on("/api/v1/generations", as_json(500, {"error": {"code": "boom", "message": "x"}}))
    generation = add_generation()
    for _ in range(12):
        generation = submit(generation)
        retrying(generation, "confirming")
    with time_machine.travel(timezone.now() + CONFIRM_WINDOW, tick=False):
        generation = submit(generation)
    assert generation.status == Status.ATTENTION
    assert generation.error_code == "create_unconfirmed"
    assert generation.lease_owner == ""
    assert not generation.can_retry
    posts = rivya.paths("POST")
    assert len(posts) == 12  # one call per attempt, no hidden retries, none past the window
    assert not CreditEntry.objects.exists()


@pytest.mark.parametrize(
    "retry_after", ["-5", "999999", "abc", "Wed, 21 Oct 2099 07:28:00 GMT", ""]
)
def test_rate_limits_with_absurd_retry_after_retry_soon_with_a_notice(
    rivya, add_generation, retry_after
):
    body = {"error": {"code": "rate_limited", "message": "slow down"}}
    rivya.on("/api/v1/generations", as_json(429, body, **{"Retry-After": retry_after}))
    generation = submit(add_generation())
    retrying(generation, "rate_limited")


def test_an_invalid_key_rejects_with_a_message_that_does_not_carry_the_key(rivya, add_generation):
    body = {"error": {"code": "api_key_invalid", "message": f"Key {KEY} is not valid."}}
    rivya.on("/api/v1/generations", as_json(401, body))
    generation = submit(add_generation())
    assert generation.status == Status.REJECTED
    assert generation.error_code == "api_key_invalid"
    assert generation.error_message
    assert KEY not in generation.error_message
    assert not CreditEntry.objects.exists()


def test_an_unknown_status_is_accepted_and_reserved_once(rivya, add_generation):
    created = {"id": TASK, "status": "warming_up", "reserved_credits": 40}
    rivya.on("/api/v1/generations", as_json(200, created))
    generation = submit(add_generation())
    assert generation.status == Status.QUEUED
    assert generation.rivya_task_id == TASK
    submit(generation)  # a duplicate run changes nothing
    assert CreditEntry.objects.filter(generation=generation, kind="reserve").count() == 1

    # The poller keeps the row in flight while Rivya reports a status it does not know.
    rivya.on(f"/api/v1/generations/{TASK}", as_json(200, {"id": TASK, "status": "mystery"}))
    poller.poll_due(now=timezone.now() + timedelta(minutes=1))
    generation.refresh_from_db()
    assert generation.status == Status.QUEUED
    assert generation.next_poll_at is not None
    assert generation.lease_owner == ""


@pytest.mark.parametrize(
    "answer",
    [
        (200, {}, b"not json"),
        as_json(200, {"status": "succeeded"}),
        as_json(401, {"error": {"code": "api_key_invalid", "message": KEY}}),
        as_json(500, {}),
    ],
    ids=["not-json", "no-id", "bad-key", "500"],
)
def test_the_poller_releases_the_row_whatever_the_read_says(rivya, add_generation, answer):
    generation = add_generation(
        status=Status.PROCESSING,
        rivya_task_id=TASK,
        reserved_credits=40,
        next_poll_at=timezone.now(),
    )
    rivya.on(f"/api/v1/generations/{TASK}", answer)
    poller.poll_due(now=timezone.now() + timedelta(minutes=1))
    generation.refresh_from_db()
    assert generation.status == Status.PROCESSING
    assert generation.lease_owner == ""
    assert generation.next_poll_at > timezone.now()
    assert KEY not in generation.notice
    one_reserve_at_most(generation)


# --- mirror -----------------------------------------------------------------------------------


@pytest.fixture
def saving(add_generation):
    """A made video waiting for its copy (credits were settled when Rivya said so)."""
    return add_generation(
        status=Status.SAVING,
        rivya_task_id=TASK,
        rivya_status="succeeded",
        reserved_credits=40,
        final_credits=40,
    )


@pytest.fixture
def resolves_to(monkeypatch):
    """Make every name resolve to the given addresses (no real DNS here)."""

    def use(*addresses: str) -> None:
        monkeypatch.setattr(videos, "resolve", lambda host, port: list(addresses))

    return use


def succeeded(url: object) -> Answer:
    return as_json(200, {"id": TASK, "status": "succeeded", "result": {"primary_url": url}})


def mirror(generation: Generation) -> Generation:
    tasks.mirror.call(str(generation.pk))
    generation.refresh_from_db()
    return generation


def needs_attention(generation: Generation, code: str) -> None:
    """The copy cannot work as things are: the row waits for staff, never failed."""
    assert generation.status == Status.ATTENTION, (generation.status, generation.notice)
    assert generation.error_code == code
    assert generation.error_message
    assert KEY not in generation.error_message
    assert generation.lease_owner == ""
    assert not generation.video
    assert not generation.can_retry
    assert not CreditEntry.objects.filter(generation=generation).exists()  # nothing refunded


def copy_again(generation: Generation) -> Generation:
    assert generation.copy_again()
    return mirror(generation)


def test_succeeded_without_a_result_is_retried_then_needs_attention(rivya, saving):
    rivya.on(
        f"/api/v1/generations/{TASK}",
        as_json(200, {"id": TASK, "status": "succeeded", "result": None}),
    )
    generation = mirror(saving)
    assert generation.status == Status.SAVING
    assert generation.notice == "copy_retry"
    Generation.objects.filter(pk=saving.pk).update(
        attempts=COPY_MAX_ATTEMPTS, lease_owner="", lease_until=None
    )
    needs_attention(mirror(saving), "no_result")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://10.0.0.1/video.mp4", "media_host_refused"),
        ("https://169.254.169.254/latest/meta-data", "media_host_refused"),
        ("https://[::ffff:127.0.0.1]/video.mp4", "media_host_refused"),
        ("https://2130706433/video.mp4", "media_host_refused"),
        ("https://media.example.com/video.mp4", "media_host_refused"),  # resolves privately
        ("http://localhost/video.mp4", "media_host_refused"),  # plain http, not the API host
        ("file:///etc/passwd", "media_url_refused"),
        ("ftp://127.0.0.1/video.mp4", "media_url_refused"),
        ("http://user:pw@127.0.0.1/video.mp4", "media_url_refused"),
        (12345, "media_url_refused"),
    ],
)
def test_result_urls_on_refused_hosts_wait_for_staff_before_connecting(
    rivya, saving, resolves_to, url, code
):
    resolves_to("10.1.2.3")
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(url))
    needs_attention(mirror(saving), code)
    # Only the status read went out, to the fake Rivya.
    assert rivya.paths() == [f"/api/v1/generations/{TASK}"]


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1/video.mp4", "http://localhost:{port}/media/v.mp4", "file:///etc/passwd"],
)
def test_redirects_to_refused_hosts_are_not_followed(rivya, saving, target):
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/v.mp4"))
    rivya.on("/media/v.mp4", (302, {"Location": target.format(port=rivya.port)}, b""))
    needs_attention(
        mirror(saving), "media_url_refused" if "file" in target else "media_host_refused"
    )
    assert rivya.paths().count("/media/v.mp4") == 1


def test_a_redirect_loop_ends(rivya, saving):
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/v.mp4"))
    rivya.on("/media/v.mp4", (302, {"Location": f"{rivya.url}/media/v.mp4"}, b""))
    needs_attention(mirror(saving), "download_failed")


def test_html_instead_of_mp4_waits_for_staff_who_copy_it_again(rivya, saving, mp4_bytes):
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/v.mp4"))
    rivya.on("/media/v.mp4", (200, {"Content-Type": "video/mp4"}, b"<!doctype html><p>hi"))
    needs_attention(mirror(saving), "not_mp4")

    # Rivya hands out a new link when the task is read again.
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/fixed.mp4"))
    rivya.on("/media/fixed.mp4", (200, {"Content-Type": "video/mp4"}, mp4_bytes))
    generation = copy_again(saving)
    assert generation.status == Status.READY
    assert generation.result_urls == [f"{rivya.url}/media/fixed.mp4"]
    assert generation.video_size == len(mp4_bytes)


def test_an_expired_link_is_refreshed_by_copying_again(rivya, saving, mp4_bytes):
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/old.mp4"))
    rivya.on("/media/old.mp4", as_json(403, {"error": "expired"}))
    needs_attention(mirror(saving), "media_link_expired")

    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/new.mp4"))
    rivya.on("/media/new.mp4", (200, {"Content-Type": "video/mp4"}, mp4_bytes))
    assert copy_again(saving).status == Status.READY


def test_a_slow_drip_is_cut_at_its_deadline_and_retried(rivya, saving, settings, mp4_bytes):
    settings.RIVYA_DOWNLOAD_TIMEOUT = 0.3

    def drip():
        for start in range(0, len(mp4_bytes), 1000):
            time.sleep(0.05)
            yield mp4_bytes[start : start + 1000]

    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/v.mp4"))
    rivya.on("/media/v.mp4", lambda seen: (200, {"Content-Type": "video/mp4"}, drip()))
    generation = mirror(saving)
    assert generation.status == Status.SAVING
    assert generation.notice == "copy_retry"
    assert generation.error_code == "download_too_slow"
    assert generation.lease_owner == ENQUEUED

    settings.RIVYA_DOWNLOAD_TIMEOUT = None
    rivya.on("/media/v.mp4", (200, {"Content-Type": "video/mp4"}, mp4_bytes))
    Generation.objects.filter(pk=saving.pk).update(lease_owner="", lease_until=None)
    assert mirror(saving).status == Status.READY


@pytest.mark.parametrize("announced", [True, False])
def test_a_video_over_the_cap_waits_for_staff(rivya, saving, settings, announced):
    settings.RIVYA_MAX_VIDEO_BYTES = 1000
    body = b"\0\0\0\x18ftypmp42" + b"\0" * 5000
    rivya.on(f"/api/v1/generations/{TASK}", succeeded(f"{rivya.url}/media/v.mp4"))
    if announced:
        rivya.on("/media/v.mp4", (200, {}, body))
    else:
        # No Content-Length: the cap must hold while streaming.
        rivya.on("/media/v.mp4", (200, {}, [body]))
    needs_attention(mirror(saving), "video_too_large")


def test_a_status_read_that_fails_keeps_retrying_with_a_notice(rivya, saving):
    rivya.on(f"/api/v1/generations/{TASK}", as_json(503, {}))
    generation = mirror(saving)
    assert generation.status == Status.SAVING
    assert generation.notice == "copy_retry"
    assert generation.lease_owner == ENQUEUED
    assert not CreditEntry.objects.exists()


def test_when_rivya_cannot_be_read_the_links_read_before_are_used(rivya, saving, mp4_bytes):
    url = rivya.on("/media/kept.mp4", (200, {"Content-Type": "video/mp4"}, mp4_bytes))
    Generation.objects.filter(pk=saving.pk).update(result_urls=[url])
    rivya.on(f"/api/v1/generations/{TASK}", as_json(503, {}))
    generation = mirror(saving)
    assert generation.status == Status.READY
    assert generation.video_sha256
