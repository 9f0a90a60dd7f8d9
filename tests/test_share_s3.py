"""Share links on S3: the video and poster are streamed by the app, ranged, and nothing in
the answers names the storage key (``teams/<team id>/generations/<id>/…``): no redirect,
no presigned URL, none of the bucket's headers."""

import hashlib
import re
import tracemalloc
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from generations.models import Generation

pytestmark = [pytest.mark.django_db, pytest.mark.s3]

SHARE_URL = re.compile(r'data-share-url="([^"]+)"')
# Every byte position tells its offset apart, so a slice from the wrong place cannot match.
DATA = bytes(range(256)) * 4000  # 1,024,000 bytes
BIG = 8 * 1024 * 1024


@pytest.fixture
def on_s3(settings, s3_bucket, media_root):
    """S3 as the default storage (after ``media_root``, which would set local storage)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    return s3_bucket


@pytest.fixture
def shared(on_s3, roles, add_ready_video):
    """Make a ready video of ``data`` on S3 and a link to it; returns (generation, path)."""

    def share(data: bytes = DATA) -> tuple[Generation, str]:
        from storages.backends.s3 import S3Storage

        generation = add_ready_video(video=data, video_sha256=hashlib.sha256(data).hexdigest())
        response = roles.client("owner").post(
            reverse("generation_share", args=[generation.pk]), {"expires_in_days": "7"}
        )
        assert response.status_code == 200
        assert isinstance(generation.video.storage, S3Storage)
        share_url = unescape(SHARE_URL.search(response.content.decode()).group(1))
        return generation, share_url.removeprefix("http://testserver")

    return share


def body(response) -> bytes:
    # The test client closes a streamed response once its content is consumed.
    return b"".join(response.streaming_content) if response.streaming else response.content


def assert_reveals_nothing(response, content: bytes, generation: Generation) -> None:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    for secret in ("teams/", str(generation.pk), generation.pk.hex, "x-amz"):
        assert secret.lower() not in headers.lower(), (secret, headers)
        assert secret.encode().lower() not in content.lower(), secret
    assert not response.has_header("Location")


def test_the_shared_video_is_streamed_whole_with_its_validators(shared):
    generation, path = shared()
    response = Client().get(path + "video")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(DATA))
    assert response["Accept-Ranges"] == "bytes"
    assert response["ETag"] == f'"{generation.video_sha256}"'
    assert response.has_header("Last-Modified")
    assert response["Cache-Control"] == "private, max-age=60"
    assert response["Referrer-Policy"] == "no-referrer"
    content = body(response)
    assert content == DATA
    assert_reveals_nothing(response, content, generation)


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=1000-1999", 1000, 1999),  # a closed range
        ("bytes=1000000-", 1000000, len(DATA) - 1),  # open-ended
        ("bytes=-500", len(DATA) - 500, len(DATA) - 1),  # the last 500 bytes
        ("bytes=0-0", 0, 0),
        ("bytes=1023000-9999999", 1023000, len(DATA) - 1),  # past the end: clipped
    ],
)
def test_a_range_gets_206_with_exactly_its_slice(shared, header, start, end):
    generation, path = shared()
    response = Client().get(path + "video", headers={"range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start + 1)
    content = body(response)
    assert content == DATA[start : end + 1]
    assert_reveals_nothing(response, content, generation)


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=5000000-5000010", "bytes=-0"])
def test_an_unsatisfiable_range_gets_416(shared, header):
    generation, path = shared()
    response = Client().get(path + "video", headers={"range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"
    assert_reveals_nothing(response, body(response), generation)


def test_if_range_with_the_etag_keeps_the_range_and_a_stale_one_gets_everything(shared):
    generation, path = shared()
    fresh = Client().get(
        path + "video",
        headers={"range": "bytes=10-19", "if-range": f'"{generation.video_sha256}"'},
    )
    assert fresh.status_code == 206
    assert body(fresh) == DATA[10:20]
    stale = Client().get(path + "video", headers={"range": "bytes=10-19", "if-range": '"old"'})
    assert stale.status_code == 200
    assert body(stale) == DATA


def test_head_answers_the_headers_without_reading_the_object(shared):
    generation, path = shared()
    response = Client().head(path + "video", headers={"range": "bytes=100-"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-{len(DATA) - 1}/{len(DATA)}"
    assert response.content == b""
    assert_reveals_nothing(response, b"", generation)


def test_the_shared_poster_is_streamed_too(shared):
    generation, path = shared()
    response = Client().get(path + "poster")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    content = body(response)
    assert content == Generation.objects.get(pk=generation.pk).poster.open("rb").read()
    assert_reveals_nothing(response, content, generation)


def test_the_shared_page_names_no_storage_key(shared):
    generation, path = shared()
    response = Client().get(path)
    assert response.status_code == 200
    assert_reveals_nothing(response, response.content, generation)


def test_a_missing_object_is_404(shared, on_s3):
    generation, path = shared()
    on_s3.server.client().delete_object(Bucket=on_s3.name, Key=generation.video.name)
    assert Client().get(path + "video").status_code == 404


def test_team_pages_still_redirect_to_a_presigned_url(shared, roles):
    generation, _ = shared()
    response = roles.client("owner").get(reverse("generation_video", args=[generation.pk]))
    assert response.status_code == 302
    assert "X-Amz-Signature=" in response["Location"]


def test_streaming_a_large_object_keeps_memory_flat(shared):
    data = bytes(range(256)) * (BIG // 256)
    expected = hashlib.sha256(data).hexdigest()
    generation, path = shared(data)
    del data
    client = Client()
    # A first byte fetched beforehand: the S3 client loads its service model once (about a
    # megabyte of JSON) and that one-off cost is not what this test measures.
    warm = client.get(path + "video", HTTP_RANGE="bytes=0-0")
    assert b"".join(warm.streaming_content) == bytes([0])
    digest = hashlib.sha256()
    size = 0
    tracemalloc.start()
    try:
        response = client.get(path + "video")
        for chunk in response.streaming_content:
            digest.update(chunk)
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert size == BIG
    assert digest.hexdigest() == expected
    # Holding the object would take all 8 MiB; streaming holds a few 64 KiB chunks plus what
    # other threads of the test process happen to allocate meanwhile.
    assert peak < BIG // 4, f"peak {peak} bytes while streaming {BIG}"


@pytest.fixture
def get_object_calls(shared):
    """The ``Range`` of every ``GetObject`` the storage's S3 client makes (boto3's events)."""
    from django.core.files.storage import default_storage

    calls: list[str | None] = []

    def record(params, **kwargs):
        calls.append(params.get("Range"))

    events = default_storage.connection.meta.client.meta.events  # type: ignore[attr-defined]
    events.register("provide-client-params.s3.GetObject", record)
    yield calls
    events.unregister("provide-client-params.s3.GetObject", record)


def test_one_get_object_asks_for_exactly_the_bytes_sent(shared, get_object_calls):
    _, path = shared()
    get_object_calls.clear()  # making the link read the provenance record
    assert body(Client().get(path + "video", headers={"range": "bytes=1000-1999"}))
    assert get_object_calls == ["bytes=1000-1999"]
    get_object_calls.clear()
    assert body(Client().get(path + "video", headers={"range": "bytes=-500"}))
    assert get_object_calls == [f"bytes={len(DATA) - 500}-{len(DATA) - 1}"]


def test_head_416_and_an_unread_response_fetch_nothing(shared, get_object_calls):
    _, path = shared()
    get_object_calls.clear()
    assert Client().head(path + "video").status_code == 200
    assert Client().get(path + "video", headers={"range": "bytes=-0"}).status_code == 416
    Client().get(path + "video").close()
    assert get_object_calls == []
