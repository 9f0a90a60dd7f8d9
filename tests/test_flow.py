"""The whole background flow over real HTTP: pending → ready against the sandbox.

A real django-tasks-db worker runs our tasks and the sandbox's, the poller reads statuses,
and the video ends up in local storage or in a real S3 server (SeaweedFS).
"""

import hashlib
import json
import time
from datetime import timedelta

import httpx
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from credits.models import CreditEntry
from generations import poller, tasks
from generations.models import Status
from sandbox import conf as sandbox_conf
from sandbox import models as sandbox_models
from sandbox.api import builtin_account
from tests.fixtures import drain, image_bytes, run_until, set_knobs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sandbox")]


def sandbox_video_sha256(task_id):
    path = sandbox_conf.data_dir() / "media" / f"{task_id}.mp4"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ledger(generation):
    return dict(CreditEntry.objects.filter(generation=generation).values_list("kind", "amount"))


def test_a_generation_goes_from_pending_to_ready_with_its_video(add_generation, media_root):
    generation = add_generation(reference=image_bytes(), duration=5, aspect_ratio="9:16")
    tasks.submit.enqueue(str(generation.pk))

    generation = run_until(generation, {Status.READY, Status.FAILED, Status.REJECTED})

    assert generation.status == Status.READY, generation.error_message
    remote = sandbox_models.Generation.objects.get()
    assert remote.reference_file is not None
    assert generation.video_sha256 == sandbox_video_sha256(remote.id)
    video = media_root / generation.video.name
    assert hashlib.sha256(video.read_bytes()).hexdigest() == generation.video_sha256
    assert generation.video_size == video.stat().st_size
    assert generation.video_duration == pytest.approx(5.0, abs=0.1)
    assert generation.video_height > generation.video_width  # 9:16
    assert (media_root / generation.poster.name).read_bytes()[:2] == b"\xff\xd8"
    provenance = json.loads((media_root / generation.provenance).read_text())
    assert provenance["rivya_task_id"] == remote.id
    assert provenance["video"]["sha256"] == generation.video_sha256
    assert generation.final_credits == 55
    assert generation.finished_at is not None
    assert generation.lease_owner == "" and generation.notice == ""
    assert ledger(generation) == {"reserve": -55, "settle": 0}


def test_a_lost_create_answer_still_makes_one_task_and_one_debit(add_generation, media_root):
    generation = add_generation()
    set_knobs(answer_lost_rate=1.0)
    tasks.submit.enqueue(str(generation.pk))
    drain()
    generation.refresh_from_db()
    assert generation.status == Status.SUBMITTING
    set_knobs(answer_lost_rate=0.0)

    generation = run_until(generation, {Status.READY, Status.FAILED})

    assert generation.status == Status.READY
    assert sandbox_models.Generation.objects.count() == 1
    assert builtin_account().balance == 10_000 - 55
    assert ledger(generation) == {"reserve": -55, "settle": 0}


def test_a_truncated_download_is_retried_to_the_right_checksum(add_generation, media_root):
    set_knobs(truncate_media=True)
    generation = add_generation()
    tasks.submit.enqueue(str(generation.pk))

    deadline = time.monotonic() + 60
    while generation.notice != "copy_retry":
        assert time.monotonic() < deadline, generation.status
        drain()
        poller.poll_due(now=timezone.now() + timedelta(minutes=1))
        generation.refresh_from_db()
    assert generation.status == Status.SAVING  # never ready with half a video
    assert generation.error_code == "download_truncated"
    assert not generation.can_retry
    assert not generation.video

    set_knobs(truncate_media=False)
    generation = run_until(generation, {Status.READY, Status.FAILED})

    assert generation.status == Status.READY
    assert generation.video_sha256 == sandbox_video_sha256(generation.rivya_task_id)
    assert generation.attempts >= 2


@pytest.mark.s3
def test_mirroring_into_s3_stores_everything_and_plays_from_a_presigned_url(
    add_generation, settings, s3_bucket
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    generation = add_generation(reference=image_bytes())
    tasks.submit.enqueue(str(generation.pk))

    generation = run_until(generation, {Status.READY, Status.FAILED, Status.REJECTED})

    assert generation.status == Status.READY, generation.error_message
    listing = s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    prefix = f"teams/{generation.team_id}/generations/{generation.pk}/"
    # Each copy writes keys of its own; the row names the ones that were kept.
    assert {obj["Key"] for obj in listing} == {
        prefix + "reference.png",
        generation.video.name,
        generation.poster.name,
        generation.poster_small.name,
        generation.preview.name,
        generation.provenance,
    }
    assert generation.video.name.startswith(prefix + "video-")
    assert generation.preview.name.startswith(prefix + "preview-")
    url = default_storage.url(generation.video.name)
    with httpx.stream("GET", url) as response:
        assert response.status_code == 200
        digest = hashlib.sha256()
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == generation.video_sha256
    assert generation.video_sha256 == sandbox_video_sha256(generation.rivya_task_id)


def test_the_sandbox_webhook_makes_the_row_due_at_once(
    add_generation, media_root, settings, live_server
):
    secret = "whsec_flow_" + "s" * 20
    settings.RIVYA_WEBHOOK_SECRET = secret
    settings.SANDBOX_WEBHOOK_URL = f"{live_server.url}/rivya/webhook"
    settings.SANDBOX_WEBHOOK_SECRET = secret
    settings.SANDBOX_WEBHOOK_ALLOWED_URL_PREFIXES = [live_server.url]
    generation = add_generation()
    tasks.submit.call(str(generation.pk))
    generation.refresh_from_db()
    far = timezone.now() + timedelta(hours=1)
    generation.write(next_poll_at=far)

    # Only the sandbox works now: it finishes the task and delivers the signed event.
    deadline = time.monotonic() + 60
    while not sandbox_models.WebhookDelivery.objects.filter(status="succeeded").exists():
        assert time.monotonic() < deadline
        drain()
        time.sleep(0.2)
    delivery = sandbox_models.WebhookDelivery.objects.get()
    assert delivery.response_status == 200

    generation.refresh_from_db()
    assert generation.status == Status.QUEUED  # the push alone changes no state
    assert generation.next_poll_at < far
    assert poller.poll_due() == 1  # due now, without waiting for its backoff
    generation.refresh_from_db()
    assert generation.status == Status.SAVING
