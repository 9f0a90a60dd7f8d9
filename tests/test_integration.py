"""The app's Rivya client against the sandbox over real HTTP (``live_server``)."""

import io
import time
import uuid

import av
import httpx
import pytest
from PIL import Image

from generations.rivya import Client
from generations.rivya.errors import IdempotencyConflict, InsufficientCredits, ValidationFailed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sandbox(settings, tmp_path, rivya_base):
    settings.SANDBOX_DATA_DIR = tmp_path / "sandbox"
    settings.SANDBOX_QUEUED_SECONDS = 0.2
    settings.SANDBOX_PROCESSING_SECONDS = 0.3
    with Client(settings.RIVYA_API_KEY, rivya_base) as client:
        yield client


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (20, 160, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def wait_terminal(client: Client, task_id: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while True:
        generation = client.get_generation(task_id)
        if generation.is_terminal or time.monotonic() > deadline:
            return generation
        time.sleep(0.2)


def test_client_makes_a_video_and_downloads_a_playable_mp4(sandbox, tmp_path):
    before = sandbox.get_credits().current_credits
    reference = sandbox.upload_file(
        png(), filename="ref.png", kind="image", model="kling-2-6", mime_type="image/png"
    )
    created = sandbox.create_generation(
        model="kling-2-6",
        prompt="Một chiếc đèn lồng trôi trên sông lúc hoàng hôn",
        params={
            "duration": "5",
            "sound": "true",
            "aspect_ratio": "16:9",
            "referenceMediaItems": [reference.as_reference_item()],
        },
        idempotency_key=str(uuid.uuid4()),
        client_request_id="integration-1",
    )
    assert created.status == "queued"
    assert created.reserved_credits == 55
    assert sandbox.get_credits().current_credits == before - 55

    done = wait_terminal(sandbox, created.id)
    assert done.status == "succeeded"
    assert done.final_credits == 55
    assert done.result is not None

    path = tmp_path / "video.mp4"
    with httpx.stream("GET", done.result.primary_url, timeout=30) as response:
        assert response.status_code == 200
        with path.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert container.streams.audio, "sound was requested"
        assert abs(float(container.duration / av.time_base) - 5.0) < 0.3
        assert sum(1 for _ in container.decode(video=0)) >= 100


def test_create_is_idempotent_across_retries_with_the_same_key(sandbox):
    key = str(uuid.uuid4())
    first = sandbox.create_generation(
        model="kling-2-6", prompt="a cat", params={"duration": "5"}, idempotency_key=key
    )
    balance = sandbox.get_credits().current_credits
    again = sandbox.create_generation(
        model="kling-2-6", prompt="a cat", params={"duration": "5"}, idempotency_key=key
    )
    assert again.id == first.id
    assert sandbox.get_credits().current_credits == balance
    with pytest.raises(IdempotencyConflict):
        sandbox.create_generation(
            model="kling-2-6", prompt="a dog", params={"duration": "5"}, idempotency_key=key
        )


def test_sandbox_rejections_surface_as_typed_errors(sandbox, settings):
    with pytest.raises(ValidationFailed) as excinfo:
        sandbox.create_generation(
            model="kling-2-6", prompt="x", params={"duration": 5}, idempotency_key="k-1"
        )
    assert excinfo.value.request_id and excinfo.value.request_id.startswith("req_")

    from sandbox.api import builtin_account

    account = builtin_account()
    account.balance = 10
    account.save(update_fields=["balance"])
    with pytest.raises(InsufficientCredits):
        sandbox.create_generation(
            model="kling-2-6", prompt="x", params={}, idempotency_key=str(uuid.uuid4())
        )
