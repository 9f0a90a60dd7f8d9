"""Mirroring: allowed hosts, streaming with a cap, MP4 checks, PyAV probe, local and S3 storage.

Downloads come from a real HTTP server on loopback (a small threaded ``http.server``), so
truncation, redirects and missing lengths are what a socket really does.
"""

import hashlib
import io
import json
import tempfile
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from django.core.files.storage import default_storage, storages
from PIL import Image
from storages.backends.s3 import S3Storage

from generations import mirror
from generations.models import Status
from sandbox.render import render_video

MiB = 1024 * 1024


@pytest.fixture(scope="session")
def mp4_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    render_video(
        path, prompt="A paper boat on a river", duration=5, aspect_ratio="16:9", sound=False
    )
    return path.read_bytes()


class Routes(dict):
    """path -> (status, headers, body chunks or a callable making them)."""


@pytest.fixture
def server():
    routes = Routes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            status, headers, body = routes[self.path]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Connection", "close")
            self.end_headers()
            for chunk in body() if callable(body) else body:
                self.wfile.write(chunk)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.routes = routes
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def api_on_loopback(settings):
    settings.RIVYA_API_BASE = "http://127.0.0.1:9/api/v1"
    settings.RIVYA_MEDIA_HOSTS = []


def serve(server, path, body, *, status=200, length=True, headers=None):
    data = body if isinstance(body, bytes) else None
    all_headers = {"Content-Type": "video/mp4", **(headers or {})}
    if length and data is not None:
        all_headers["Content-Length"] = str(len(data))
    server.routes[path] = (status, all_headers, [data] if data is not None else body)
    return server.url + path


def fetch(url, **kwargs):
    with tempfile.TemporaryFile() as target:
        return mirror.download(url, target, **kwargs)


# --- Hosts ----------------------------------------------------------------------------------


def test_the_api_host_is_allowed_even_on_loopback():
    mirror.check_url("http://127.0.0.1:8000/sandbox/media/task_x.mp4")


@pytest.mark.parametrize(
    "url",
    [
        "http://media.example.com/video.mp4",
        "ftp://127.0.0.1/video.mp4",
        "file:///etc/passwd",
        "http://user:secret@127.0.0.1/video.mp4",
        "http:///video.mp4",
    ],
)
def test_other_urls_are_refused(url):
    with pytest.raises(mirror.MirrorError) as caught:
        mirror.check_url(url)
    assert not caught.value.retryable


def test_a_listed_host_that_resolves_to_loopback_is_refused(settings):
    settings.RIVYA_MEDIA_HOSTS = ["localhost"]
    with pytest.raises(mirror.MirrorError) as caught:
        mirror.check_url("http://localhost:8000/video.mp4")
    assert caught.value.code == "media_host_refused"


def test_a_listed_ip_literal_is_an_explicit_choice(settings):
    settings.RIVYA_MEDIA_HOSTS = ["127.0.0.2", "*.cdn.example"]
    mirror.check_url("http://127.0.0.2/video.mp4")
    assert mirror._host_allowed_by_list("a.cdn.example")
    assert not mirror._host_allowed_by_list("cdn.example")
    assert not mirror._host_allowed_by_list("evilcdn.example")


def test_a_redirect_to_another_host_is_not_followed(server):
    url = serve(server, "/go", [b""], status=302, headers={"Location": "http://10.0.0.1/x.mp4"})
    with pytest.raises(mirror.MirrorError) as caught:
        fetch(url)
    assert caught.value.code == "media_host_refused"


# --- Download -------------------------------------------------------------------------------


def test_download_records_checksum_and_size(server, mp4_bytes):
    url = serve(server, "/v.mp4", mp4_bytes)
    serve(server, "/moved", [b""], status=302, headers={"Location": "/v.mp4"})
    with tempfile.TemporaryFile() as target:
        fetched = mirror.download(server.url + "/moved", target)
        target.seek(0)
        assert target.read() == mp4_bytes
    assert fetched.sha256 == hashlib.sha256(mp4_bytes).hexdigest()
    assert fetched.size == len(mp4_bytes)
    assert url


def test_a_body_that_is_not_mp4_is_refused(server):
    url = serve(server, "/page", b"<html><body>not a video</body></html>")
    with pytest.raises(mirror.MirrorError) as caught:
        fetch(url)
    assert (caught.value.code, caught.value.retryable) == ("not_mp4", False)


def test_the_size_cap_applies_to_announced_lengths(server, mp4_bytes):
    url = serve(server, "/big", mp4_bytes)
    with pytest.raises(mirror.MirrorError) as caught:
        fetch(url, limit=len(mp4_bytes) - 1)
    assert caught.value.code == "video_too_large"


def test_the_size_cap_applies_while_streaming(server, settings):
    settings.RIVYA_MAX_VIDEO_BYTES = 2 * MiB

    def endless():
        yield b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12
        for _ in range(8):
            yield b"\x00" * MiB

    url = serve(server, "/endless", endless, length=False)
    with pytest.raises(mirror.MirrorError) as caught:
        fetch(url)
    assert caught.value.code == "video_too_large"


def test_a_body_shorter_than_its_length_is_retryable(server, mp4_bytes):
    url = serve(
        server,
        "/short",
        [mp4_bytes[: len(mp4_bytes) // 2]],
        headers={"Content-Length": str(len(mp4_bytes))},
    )
    with pytest.raises(mirror.MirrorError) as caught:
        fetch(url)
    assert caught.value.retryable
    assert caught.value.code in {"download_truncated", "download_failed"}


def test_a_truncated_file_without_a_length_is_caught_by_its_boxes(server, mp4_bytes, tmp_path):
    url = serve(server, "/cut", [mp4_bytes[: len(mp4_bytes) // 2]], length=False)
    path = tmp_path / "cut.mp4"
    with path.open("w+b") as target:
        fetched = mirror.download(url, target)
    with pytest.raises(mirror.MirrorError) as caught:
        mirror.check_boxes(path, fetched.size)
    assert (caught.value.code, caught.value.retryable) == ("download_truncated", True)
    whole = tmp_path / "whole.mp4"
    whole.write_bytes(mp4_bytes)
    mirror.check_boxes(whole, len(mp4_bytes))


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (403, False), (503, True)])
def test_error_statuses(server, status, retryable):
    url = serve(server, f"/status{status}", b"nope", status=status)
    with pytest.raises(mirror.MirrorError) as caught:
        fetch(url)
    assert (caught.value.code, caught.value.retryable) == ("download_failed", retryable)


def test_memory_stays_bounded_for_a_large_video(server):
    size = 64 * MiB

    def large():
        yield b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12
        sent = 24
        block = b"\x07" * MiB
        while sent < size:
            piece = block[: min(MiB, size - sent)]
            sent += len(piece)
            yield piece

    url = serve(server, "/large", large, headers={"Content-Length": str(size)})
    tracemalloc.start()
    try:
        fetched = fetch(url)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fetched.size == size
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB video"


# --- Probe and storage ----------------------------------------------------------------------


def test_probe_reads_the_real_facts_and_a_poster(mp4_bytes, tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes)
    facts = mirror.probe(path)
    assert facts.duration == pytest.approx(5.0, abs=0.1)
    poster = Image.open(io.BytesIO(facts.poster))
    assert poster.format == "JPEG"
    assert poster.size == (facts.width, facts.height)
    assert facts.width > facts.height  # 16:9


def test_probe_refuses_a_file_that_is_not_a_video(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 4000)
    with pytest.raises(mirror.MirrorError) as caught:
        mirror.probe(path)
    assert caught.value.code == "video_unreadable"


def saving_generation(make_generation):
    return make_generation(
        status=Status.SAVING,
        rivya_task_id="task_" + "M" * 24,
        reserved_credits=55,
        final_credits=55,
    )


@pytest.mark.django_db
def test_mirror_result_writes_video_poster_and_provenance(
    server, mp4_bytes, media_root, make_generation, owner
):
    generation = saving_generation(make_generation)
    url = serve(server, "/result.mp4", mp4_bytes)

    saved = mirror.mirror_result(generation, url)

    prefix = f"teams/{generation.team_id}/generations/{generation.pk}/"
    assert (saved.video, saved.poster, saved.provenance) == (
        prefix + "video.mp4",
        prefix + "poster.jpg",
        prefix + "provenance.json",
    )
    assert (media_root / saved.video).read_bytes() == mp4_bytes
    assert Image.open(media_root / saved.poster).format == "JPEG"
    record = json.loads((media_root / saved.provenance).read_text())
    assert record["prompt"] == generation.prompt
    assert record["params"] == generation.rivya_params()
    assert record["rivya_task_id"] == generation.rivya_task_id
    assert record["creator"] == owner.username
    assert record["team"] == generation.team_id
    assert record["reserved_credits"] == record["final_credits"] == 55
    assert record["video"]["sha256"] == hashlib.sha256(mp4_bytes).hexdigest()
    assert record["video"]["size"] == len(mp4_bytes)
    assert url not in json.dumps(record)  # Rivya's URL is never kept

    # A second run (e.g. after a crash before the row was marked ready) overwrites in place.
    again = mirror.mirror_result(generation, url)
    assert again == mirror.Mirrored(**{**saved.__dict__})
    assert sorted(p.name for p in (media_root / prefix).iterdir()) == [
        "poster.jpg",
        "provenance.json",
        "video.mp4",
    ]


@pytest.mark.s3
@pytest.mark.django_db
def test_mirror_into_s3_and_play_from_a_presigned_url(
    server, mp4_bytes, settings, s3_bucket, make_generation
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    # Changing STORAGES through the settings fixture resets Django's cached storages.
    assert isinstance(storages["default"], S3Storage)

    generation = saving_generation(make_generation)
    url = serve(server, "/result.mp4", mp4_bytes)
    saved = mirror.mirror_result(generation, url)

    keys = {
        obj["Key"]
        for obj in s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)["Contents"]
    }
    assert keys == {saved.video, saved.poster, saved.provenance}

    presigned = default_storage.url(saved.video)
    digest = hashlib.sha256()
    with httpx.stream("GET", presigned) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == saved.sha256 == hashlib.sha256(mp4_bytes).hexdigest()

    signature_at = presigned.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = "0" if presigned[signature_at] != "0" else "1"
    tampered = presigned[:signature_at] + flipped + presigned[signature_at + 1 :]
    assert httpx.get(tampered).status_code == 403
