"""Copying videos: allowed hosts and addresses, pinned connections, streaming with a cap and a
deadline, MP4 checks, PyAV probe, per-copy keys on local and S3 storage.

Downloads from the API host come from the suite's fake server on loopback, so truncation,
redirects, drips and stalls are what a socket really does. Other hosts never get a socket:
the resolver is replaced in every test, and requests that would go to a public address are
answered by an ``httpx.MockTransport`` that records where they were sent. Any connection to
an address other than loopback fails the test.
"""

import hashlib
import io
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from django.core.files.storage import FileSystemStorage, default_storage, storages
from PIL import Image
from storages.backends.s3 import S3Storage

from generations import videos
from generations.models import Status
from tests.http_server import FakeServer

MiB = 1024 * 1024
MP4_HEAD = b"\x00\x00\x00\x18ftypisom" + b"\x00" * 12
# Global unicast addresses that stand for a CDN. No test ever connects to them.
PUBLIC = "93.184.215.14"
PUBLIC_2 = "151.101.65.69"
PUBLIC_V6 = "2606:4700::6810:84e5"


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


@pytest.fixture(autouse=True)
def api_on_loopback(settings):
    settings.RIVYA_API_BASE = "http://127.0.0.1:9/api/v1"
    settings.RIVYA_MEDIA_HOSTS = []
    settings.RIVYA_MAX_VIDEO_BYTES = 500 * MiB
    settings.RIVYA_DOWNLOAD_TIMEOUT = None
    settings.RIVYA_DOWNLOAD_MIN_RATE = MiB


class Resolver:
    """Scripted name resolution: each call to a name takes its next answer (the last one
    repeats); an unknown name does not resolve."""

    def __init__(self):
        self.answers: dict[str, list[list[str]]] = {}
        self.calls: list[str] = []

    def answer(self, name, *answers):
        self.answers[name] = [list(a) if isinstance(a, list | tuple) else [a] for a in answers]

    def __call__(self, host, port):
        self.calls.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else answers[0]


@pytest.fixture(autouse=True)
def resolver(monkeypatch):
    fake = Resolver()
    monkeypatch.setattr(videos, "resolve", fake)
    return fake


@pytest.fixture(autouse=True)
def connections(loopback_only):
    """Every address a socket was opened to; anything but loopback fails the test."""
    return loopback_only


def video(server, path, body, *, status=200, length=True, headers=None):
    """Serve ``body`` at ``path`` (bytes, or chunks sent one by one); return its URL.

    The server hangs up after each answer: a download that stops early leaves it nothing
    to wait for.
    """
    all_headers = {"Content-Type": "video/mp4", "Connection": "close", **(headers or {})}
    if length and isinstance(body, bytes):
        all_headers["Content-Length"] = str(len(body))
    elif isinstance(body, bytes):
        body = [body]
    return server.on(path, (status, all_headers, body))


class Recorder:
    """An ``httpx.MockTransport`` standing in for the internet: records every request."""

    def __init__(self, handler):
        self.requests: list[httpx.Request] = []

        def record(request):
            self.requests.append(request)
            return handler(request)

        self.transport = httpx.MockTransport(record)


def streamed(body):
    """An answer of the mock internet, streamed as a real transport streams it."""
    return httpx.Response(
        200, headers={"Content-Length": str(len(body))}, stream=httpx.ByteStream(body)
    )


def fetch(url, **kwargs):
    with tempfile.TemporaryFile() as target:
        return videos.download(url, target, **kwargs)


def refused(url, code="media_host_refused"):
    with pytest.raises(videos.CopyError) as caught:
        videos.check_url(url)
    assert (caught.value.code, caught.value.retryable) == (code, False), caught.value.message
    return caught.value


# --- Hosts and addresses --------------------------------------------------------------------


def test_the_api_host_is_allowed_on_loopback_and_connected_to_by_name(resolver):
    target = videos.check_url("http://127.0.0.1:8000/sandbox/media/task_x.mp4")
    assert target.addresses == ()
    assert videos.check_url("https://127.0.0.1/sandbox/media/task_x.mp4").addresses == ()
    assert resolver.calls == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/video.mp4",
        "file:///etc/passwd",
        "http://user:secret@127.0.0.1/video.mp4",
        "https://user@media.example.com/video.mp4",
        "http:///video.mp4",
        "https://media.example.com:99999/video.mp4",
        "https://[::1/video.mp4",
        12345,
        None,
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url):
    refused(url, "media_url_refused")


def test_any_public_https_host_is_allowed_and_pinned_to_its_address(resolver):
    resolver.answer("media.example.com", PUBLIC)
    target = videos.check_url("https://media.example.com/v.mp4?sig=abc")
    assert str(target.url) == "https://media.example.com/v.mp4?sig=abc"
    assert target.addresses == (PUBLIC,)
    assert resolver.calls == ["media.example.com"]


def test_plain_http_is_refused_for_any_host_but_the_api(resolver, settings):
    resolver.answer("media.example.com", PUBLIC)
    settings.RIVYA_MEDIA_HOSTS = ["media.example.com", PUBLIC]
    refused("http://media.example.com/v.mp4")
    refused(f"http://{PUBLIC}/v.mp4")
    assert resolver.calls == []


# Each stands for an address a public name must never lead to.
NOT_PUBLIC = [
    "0.0.0.0",  # noqa: S104 (an address to refuse, not to bind)
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.0.1",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.9",
    "192.0.2.1",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.7",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::127.0.0.1",  # IPv4-compatible
    "::8.8.8.8",  # IPv4-compatible, public inside: refused all the same
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:8.8.8.8",
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "64:ff9b:1::a00:1",  # local-use NAT64
    "100::1",  # discard-only
    "2001::1",  # Teredo
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:2::1",  # benchmarking
    "2001:db8::1",  # documentation
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "3fff::1",  # documentation
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",  # zone-scoped
    "fe80::1%2",
    "fec0::1",
    "ff02::1",
    "ff0e::1",
]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_a_name_resolving_to_an_address_that_is_not_public_is_refused(resolver, address):
    resolver.answer("media.example.com", address)
    refused("https://media.example.com/v.mp4")
    assert not videos.is_public(address)


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_an_address_that_is_not_public_is_refused_as_a_literal(resolver, settings, address):
    settings.RIVYA_API_BASE = "https://api.rivya.example/api/v1"  # not 127.0.0.1 here
    host = f"[{address.replace('%', '%25')}]" if ":" in address else address
    refused(f"https://{host}/v.mp4")
    assert resolver.calls == []


@pytest.mark.parametrize("address", [PUBLIC, PUBLIC_2, PUBLIC_V6, "8.8.8.8", "2a00:1450::1"])
def test_public_addresses_pass(address):
    assert videos.is_public(address)


def test_one_address_that_is_not_public_among_public_ones_is_enough(resolver):
    resolver.answer("media.example.com", [PUBLIC, PUBLIC_V6, "10.0.0.1"])
    refused("https://media.example.com/v.mp4")


@pytest.mark.parametrize(
    "host",
    ["2130706433", "127.1", "127.0.1", "0x7f000001", "0x7f.1", "0177.0.0.1", "017700000001"],
)
@pytest.mark.parametrize("resolves_to", ["127.0.0.1", PUBLIC])
def test_addresses_spelled_as_numbers_are_refused(resolver, settings, host, resolves_to):
    # Whatever the resolver would make of them, and even when listed.
    resolver.answer(host, resolves_to)
    refused(f"https://{host}/v.mp4")
    settings.RIVYA_MEDIA_HOSTS = [host]
    refused(f"https://{host}/v.mp4")
    # The API host is 127.0.0.1: another spelling of it is not the API host.
    refused(f"http://{host}:8000/sandbox/media/v.mp4")
    assert resolver.calls == []


def test_a_name_that_does_not_resolve_is_retryable(resolver):
    with pytest.raises(videos.CopyError) as caught:
        videos.check_url("https://gone.example.com/v.mp4")
    assert (caught.value.code, caught.value.retryable) == ("media_host_unresolved", True)
    assert resolver.calls == ["gone.example.com"]


def test_media_hosts_narrow_the_public_hosts_allowed(resolver, settings):
    settings.RIVYA_MEDIA_HOSTS = ["cdn.example.com", "*.media.example", " Videos.Example.ORG. "]
    for name in ("cdn.example.com", "a.media.example", "b.a.media.example", "videos.example.org"):
        resolver.answer(name, PUBLIC)
        assert videos.check_url(f"https://{name}/v.mp4").addresses == (PUBLIC,)
    resolver.calls.clear()
    for name in ("other.example.com", "media.example", "evilmedia.example", "example.org"):
        resolver.answer(name, PUBLIC)
        refused(f"https://{name}/v.mp4")
    refused(f"https://{PUBLIC}/v.mp4")  # an address not listed is not allowed either
    assert resolver.calls == []  # refused before any lookup


def test_a_listed_name_must_still_resolve_to_public_addresses(resolver, settings):
    settings.RIVYA_MEDIA_HOSTS = ["localhost", "cdn.example.com"]
    resolver.answer("localhost", "127.0.0.1")
    resolver.answer("cdn.example.com", "10.1.2.3")
    refused("https://localhost:8000/video.mp4")
    refused("https://cdn.example.com/video.mp4")


def test_a_listed_ip_literal_is_an_explicit_choice(resolver, settings):
    settings.RIVYA_MEDIA_HOSTS = ["10.1.2.3", "[fd00::1]", "*.cdn.example"]
    assert videos.check_url("https://10.1.2.3/video.mp4").addresses == ()
    assert videos.check_url("https://[fd00::1]:8443/video.mp4").addresses == ()
    refused("http://10.1.2.3/video.mp4")  # but only over https
    refused("https://10.1.2.4/video.mp4")
    assert resolver.calls == []


# --- Pinning --------------------------------------------------------------------------------


def test_the_request_goes_to_the_checked_address_even_if_the_name_rebinds(resolver, mp4_bytes):
    # A rebinding DNS server: a public address for the check, loopback for any later lookup.
    resolver.answer("media.example.com", PUBLIC, "127.0.0.1")
    internet = Recorder(lambda request: streamed(mp4_bytes))

    fetched = fetch("https://media.example.com/v.mp4?sig=abc", transport=internet.transport)

    assert fetched.size == len(mp4_bytes)
    [sent] = internet.requests
    assert str(sent.url) == f"https://{PUBLIC}/v.mp4?sig=abc"
    assert sent.headers["host"] == "media.example.com"
    assert sent.extensions["sni_hostname"] == "media.example.com"
    assert sent.headers["accept-encoding"] == "identity"
    assert resolver.calls == ["media.example.com"]  # looked up once, for the check
    refused("https://media.example.com/v.mp4")  # the second answer would have been refused


def test_an_ipv6_address_and_a_port_are_pinned_too(resolver, mp4_bytes):
    resolver.answer("xn--bcher-kva.example", PUBLIC_V6)
    internet = Recorder(lambda request: streamed(mp4_bytes))

    fetch("https://Bücher.example:8443/v.mp4", transport=internet.transport)

    [sent] = internet.requests
    assert str(sent.url) == f"https://[{PUBLIC_V6}]:8443/v.mp4"
    assert sent.headers["host"] == "xn--bcher-kva.example:8443"
    assert sent.extensions["sni_hostname"] == "xn--bcher-kva.example"


def test_the_next_checked_address_is_tried_when_one_does_not_connect(resolver, mp4_bytes):
    resolver.answer("media.example.com", [PUBLIC_V6, PUBLIC, PUBLIC_V6])

    def answer(request):
        if request.url.host == PUBLIC_V6:
            raise httpx.ConnectError("Network is unreachable", request=request)
        return streamed(mp4_bytes)

    internet = Recorder(answer)
    fetch("https://media.example.com/v.mp4", transport=internet.transport)
    assert [r.url.host for r in internet.requests] == [PUBLIC_V6, PUBLIC]


def test_no_checked_address_connecting_is_retryable(resolver):
    resolver.answer("media.example.com", [PUBLIC_V6, PUBLIC])

    def answer(request):
        raise httpx.ConnectError("Connection refused", request=request)

    internet = Recorder(answer)
    with pytest.raises(videos.CopyError) as caught:
        fetch("https://media.example.com/v.mp4", transport=internet.transport)
    assert (caught.value.code, caught.value.retryable) == ("download_failed", True)
    assert [r.url.host for r in internet.requests] == [PUBLIC_V6, PUBLIC]


def test_each_redirect_is_checked_and_pinned_again(resolver, mp4_bytes):
    resolver.answer("media.example.com", PUBLIC)
    resolver.answer("cdn.example.net", PUBLIC_2)

    def answer(request):
        if request.headers["host"] == "media.example.com":
            return httpx.Response(302, headers={"Location": "https://cdn.example.net/v.mp4?s=1"})
        return streamed(mp4_bytes)

    internet = Recorder(answer)
    fetch("https://media.example.com/v.mp4", transport=internet.transport)

    assert [
        (str(r.url), r.headers["host"], r.extensions["sni_hostname"]) for r in internet.requests
    ] == [
        (f"https://{PUBLIC}/v.mp4", "media.example.com", "media.example.com"),
        (f"https://{PUBLIC_2}/v.mp4?s=1", "cdn.example.net", "cdn.example.net"),
    ]


@pytest.mark.parametrize(
    ("location", "code"),
    [
        ("https://internal.example.net/v.mp4", "media_host_refused"),
        ("http://cdn.example.net/v.mp4", "media_host_refused"),
        ("https://127.1/v.mp4", "media_host_refused"),
        ("file:///etc/passwd", "media_url_refused"),
    ],
)
def test_a_redirect_to_a_refused_target_is_not_followed(resolver, location, code):
    resolver.answer("media.example.com", PUBLIC)
    resolver.answer("internal.example.net", "10.0.0.8")
    resolver.answer("cdn.example.net", PUBLIC_2)
    internet = Recorder(lambda request: httpx.Response(302, headers={"Location": location}))
    with pytest.raises(videos.CopyError) as caught:
        fetch("https://media.example.com/v.mp4", transport=internet.transport)
    assert caught.value.code == code
    assert len(internet.requests) == 1


def test_a_pinned_request_connects_to_the_address_with_the_name_as_host(server, connections):
    # Over a real socket: the name does not resolve at all, the address is what is used.
    server.on("/v.mp4", (200, {}, b"pinned"))
    target = videos.Target(
        httpx.URL(f"http://media.example.com:{server.port}/v.mp4"), addresses=("127.0.0.1",)
    )
    with httpx.Client(trust_env=False) as http:
        response = http.send(videos.pinned_request(http, target, "127.0.0.1", httpx.Timeout(5.0)))
    assert response.content == b"pinned"
    [seen] = server.requests
    assert seen.headers["Host"] == f"media.example.com:{server.port}"
    assert connections == ["127.0.0.1"]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for media.example.com and 127.0.0.1: (certificate, key)."""
    openssl = shutil.which("openssl") or pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
        + ["-nodes", "-days", "1", "-subj", "/CN=media.example.com"]
        + ["-addext", "subjectAltName=DNS:media.example.com,IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate):
    """The fake server speaking https with that certificate."""
    cert, key = certificate
    with FakeServer() as fake:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(cert, key)
        fake.server.socket = tls.wrap_socket(fake.server.socket, server_side=True)
        yield fake


def trusting(certificate):
    return ssl.create_default_context(cafile=certificate[0])


def test_over_tls_the_address_is_verified_as_the_name(tls_server, certificate):
    tls_server.on("/v.mp4", (200, {}, b"over tls"))

    def get(name):
        target = videos.Target(
            httpx.URL(f"https://{name}:{tls_server.port}/v.mp4"), addresses=("127.0.0.1",)
        )
        # A fresh connection each time, as in download(): a pooled one would be reused for
        # any name at the same address without a new handshake.
        with httpx.Client(
            verify=trusting(certificate),
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as http:
            return http.send(videos.pinned_request(http, target, "127.0.0.1", httpx.Timeout(5.0)))

    assert get("media.example.com").content == b"over tls"
    with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
        get("other.example.com")  # same address, a name the certificate does not cover
    assert [r.headers["Host"] for r in tls_server.requests] == [
        f"media.example.com:{tls_server.port}"
    ]


def test_a_redirect_from_the_api_host_to_an_internal_one_is_not_followed(server):
    url = server.on("/go", (302, {"Location": "http://10.0.0.1/x.mp4"}, b""))
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert caught.value.code == "media_host_refused"
    assert server.paths() == ["/go"]


def test_a_redirect_loop_ends_after_three_hops(server):
    url = server.on("/loop", (302, {"Location": "/loop"}, b""))
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert (caught.value.code, caught.value.retryable) == ("download_failed", False)
    assert server.paths() == ["/loop"] * 4


# --- Download -------------------------------------------------------------------------------


def test_download_records_checksum_and_size(server, mp4_bytes):
    video(server, "/v.mp4", mp4_bytes)
    server.on("/moved", (302, {"Location": "/v.mp4"}, b""))
    with tempfile.TemporaryFile() as target:
        fetched = videos.download(server.url + "/moved", target)
        target.seek(0)
        assert target.read() == mp4_bytes
    assert fetched.sha256 == hashlib.sha256(mp4_bytes).hexdigest()
    assert fetched.size == len(mp4_bytes)
    assert server.paths() == ["/moved", "/v.mp4"]


def test_a_body_that_is_not_mp4_is_refused(server):
    url = video(server, "/page", b"<html><body>not a video</body></html>")
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert (caught.value.code, caught.value.retryable) == ("not_mp4", False)


def test_a_compressed_body_is_refused(server, mp4_bytes):
    url = video(server, "/gz", mp4_bytes, headers={"Content-Encoding": "gzip"})
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert (caught.value.code, caught.value.retryable) == ("download_failed", False)


def test_the_size_cap_applies_to_announced_lengths(server, mp4_bytes):
    url = video(server, "/big", mp4_bytes)
    with pytest.raises(videos.CopyError) as caught:
        fetch(url, limit=len(mp4_bytes) - 1)
    assert caught.value.code == "video_too_large"


def test_the_size_cap_applies_while_streaming(server, settings):
    settings.RIVYA_MAX_VIDEO_BYTES = 2 * MiB
    url = video(server, "/endless", (MP4_HEAD, *[b"\x00" * MiB] * 8), length=False)
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert caught.value.code == "video_too_large"


def test_a_body_shorter_than_its_length_is_retryable(server, mp4_bytes):
    half = mp4_bytes[: len(mp4_bytes) // 2]
    url = video(server, "/short", [half], headers={"Content-Length": str(len(mp4_bytes))})
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert caught.value.retryable
    assert caught.value.code in {"download_truncated", "download_failed"}


def test_a_truncated_file_without_a_length_is_caught_by_its_boxes(server, mp4_bytes, tmp_path):
    url = video(server, "/cut", mp4_bytes[: len(mp4_bytes) // 2], length=False)
    path = tmp_path / "cut.mp4"
    with path.open("w+b") as target:
        fetched = videos.download(url, target)
    with pytest.raises(videos.CopyError) as caught:
        videos.check_boxes(path, fetched.size)
    assert (caught.value.code, caught.value.retryable) == ("download_truncated", True)
    whole = tmp_path / "whole.mp4"
    whole.write_bytes(mp4_bytes)
    videos.check_boxes(whole, len(mp4_bytes))


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (401, "download_failed", False),
        (403, "media_link_expired", False),
        (404, "download_failed", False),
        (410, "media_link_expired", False),
        (400, "download_failed", False),
        (408, "download_failed", True),
        (425, "download_failed", True),
        (429, "download_failed", True),
        (500, "download_failed", True),
        (503, "download_failed", True),
    ],
)
def test_error_statuses(server, status, code, retryable):
    url = video(server, f"/status{status}", b"nope", status=status)
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert caught.value.retry_after is None


def test_too_many_requests_passes_its_retry_after_on(server):
    url = video(server, "/busy", b"slow down", status=429, headers={"Retry-After": "7"})
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert (caught.value.retryable, caught.value.retry_after) == (True, 7.0)

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    url = video(server, "/later", b"slow down", status=429, headers={"Retry-After": when})
    with pytest.raises(videos.CopyError) as caught:
        fetch(url)
    assert 110 <= caught.value.retry_after <= 120


def test_memory_stays_bounded_for_a_large_video(server):
    size = 64 * MiB

    def large():
        yield MP4_HEAD
        sent = len(MP4_HEAD)
        block = b"\x07" * MiB
        while sent < size:
            piece = block[: min(MiB, size - sent)]
            sent += len(piece)
            yield piece

    url = video(server, "/large", large(), headers={"Content-Length": str(size)})
    tracemalloc.start()
    try:
        fetched = fetch(url)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fetched.size == size
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB for a {size / MiB:.0f} MiB video"


# --- Progress and the deadline --------------------------------------------------------------


def test_progress_is_reported_after_every_chunk(server, mp4_bytes):
    seen = []
    url = video(server, "/v.mp4", mp4_bytes)
    fetch(url, on_progress=seen.append)
    assert seen == sorted(seen)
    assert seen[-1] == len(mp4_bytes)


def test_progress_can_abort_the_download(server, mp4_bytes):
    class Stop(Exception):
        pass

    def stop(received):
        raise Stop(received)

    url = video(server, "/v.mp4", mp4_bytes)
    with pytest.raises(Stop):
        fetch(url, on_progress=stop)


def test_the_deadline_counts_from_the_start_on_its_own_clock(resolver, mp4_bytes):
    now = [1000.0]
    deadline = videos.Deadline(10, clock=lambda: now[0])
    seen = []

    def tick(received):
        seen.append(received)
        now[0] += 4  # each chunk takes four seconds

    resolver.answer("media.example.com", PUBLIC)
    chunks = [mp4_bytes[i : i + 1000] for i in range(0, 5000, 1000)]
    internet = Recorder(lambda request: httpx.Response(200, content=iter(chunks)))
    with pytest.raises(videos.CopyError) as caught:
        fetch(
            "https://media.example.com/v.mp4",
            transport=internet.transport,
            on_progress=tick,
            deadline=deadline,
        )
    assert (caught.value.code, caught.value.retryable) == ("download_too_slow", True)
    assert seen == [1000, 2000, 3000]  # at 1012 s, after the third chunk


@pytest.fixture
def released():
    """Set at the end of the test, so a server thread waiting on it finishes."""
    event = threading.Event()
    yield event
    event.set()


def test_a_steady_drip_is_stopped_at_the_deadline(server, settings):
    settings.RIVYA_DOWNLOAD_TIMEOUT = 0.5

    def drip():
        yield MP4_HEAD
        for _ in range(400):  # 10 s at this pace
            time.sleep(0.025)
            yield b"\x00"

    url = video(server, "/drip", drip(), length=False)
    seen = []
    with pytest.raises(videos.CopyError) as caught:
        fetch(url, on_progress=seen.append)
    assert (caught.value.code, caught.value.retryable) == ("download_too_slow", True)
    assert 1 < len(seen) < 200  # bytes kept coming, and most of them were never waited for


def stalling(released):
    """A body that starts, pauses, sends a byte, then stops until ``released``."""
    yield MP4_HEAD
    time.sleep(0.6)
    # From here a read waits for up to the 1 s the request started with, past the deadline.
    yield b"\x00"
    released.wait(30)
    yield b"\x00" * 99


@pytest.mark.parametrize("length", [True, False])
def test_a_body_that_stops_arriving_is_cut_at_the_deadline(server, released, length):
    deadline = videos.Deadline(1.0)

    headers = {"Content-Length": str(len(MP4_HEAD) + 100)} if length else {}
    url = video(server, "/stall", stalling(released), headers=headers)
    with pytest.raises(videos.CopyError) as caught:
        fetch(url, deadline=deadline)
    assert (caught.value.code, caught.value.retryable) == ("download_too_slow", True)
    # Cut at the deadline by shutting the connection, not by the read timeout after it.
    assert deadline.cut.is_set()
    assert not isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_a_body_that_stops_arriving_over_tls_is_cut_at_the_deadline(
    tls_server, certificate, released
):
    deadline = videos.Deadline(1.0)
    url = video(tls_server, "/stall", stalling(released), headers={"Content-Length": "124"})
    with pytest.raises(videos.CopyError) as caught:
        fetch(
            url.replace("http://", "https://"),  # the API host, 127.0.0.1
            transport=httpx.HTTPTransport(verify=trusting(certificate)),
            deadline=deadline,
        )
    assert caught.value.code == "download_too_slow"
    assert deadline.cut.is_set()
    assert not isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_the_deadline_follows_the_settings(settings):
    assert videos.download_deadline() == 500.0  # 500 MiB at 1 MiB/s
    settings.RIVYA_DOWNLOAD_MIN_RATE = 4 * MiB
    assert videos.download_deadline() == 125.0
    settings.RIVYA_MAX_VIDEO_BYTES = 10 * MiB
    assert videos.download_deadline() == 60.0  # never less than a minute
    settings.RIVYA_DOWNLOAD_TIMEOUT = 7.5
    assert videos.download_deadline() == 7.5


# --- Probe ----------------------------------------------------------------------------------


def test_probe_reads_the_real_facts_and_a_poster(mp4_bytes, tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(mp4_bytes)
    facts = videos.probe(path)
    assert facts.duration == pytest.approx(5.0, abs=0.1)
    poster = Image.open(io.BytesIO(facts.poster))
    assert poster.format == "JPEG"
    assert poster.size == (facts.width, facts.height)
    assert facts.width > facts.height  # 16:9


def test_probe_refuses_a_file_that_is_not_a_video(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 4000)
    with pytest.raises(videos.CopyError) as caught:
        videos.probe(path)
    assert caught.value.code == "video_unreadable"


# --- Copies in storage ----------------------------------------------------------------------


@pytest.fixture
def saving(add_generation):
    return add_generation(
        status=Status.SAVING,
        rivya_task_id="task_" + "M" * 24,
        reserved_credits=55,
        final_credits=55,
    )


def stored(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class FailingStorage(FileSystemStorage):
    """Local storage that breaks while writing the object whose key contains ``fragment``,
    after part of it is on disk."""

    def __init__(self, fragment, **kwargs):
        super().__init__(**kwargs)
        self.fragment = fragment

    def _save(self, name, content):
        if self.fragment in name:
            path = self.path(name)
            with open(path, "xb") as fh:
                fh.write(b"\x00\x00\x00\x18ftyp")
            raise OSError(28, "No space left on device")
        return super()._save(name, content)


@pytest.mark.django_db
def test_copy_result_writes_video_poster_and_provenance(
    server, mp4_bytes, media_root, saving, owner
):
    url = video(server, "/result.mp4", mp4_bytes)
    progress = []

    copied = videos.copy_result(saving, url, copy_id="first", on_progress=progress.append)

    prefix = f"teams/{saving.team_id}/generations/{saving.pk}/"
    assert (copied.video, copied.poster, copied.provenance) == (
        prefix + "video-first.mp4",
        prefix + "poster-first.jpg",
        prefix + "provenance-first.json",
    )
    assert progress[-1] == len(mp4_bytes)
    assert (media_root / copied.video).read_bytes() == mp4_bytes
    assert Image.open(media_root / copied.poster).format == "JPEG"
    assert copied.duration == pytest.approx(5.0, abs=0.1)
    record = json.loads((media_root / copied.provenance).read_text())
    assert record["prompt"] == saving.prompt
    assert record["params"] == saving.rivya_params()
    assert record["rivya_task_id"] == saving.rivya_task_id
    assert record["creator"] == owner.username
    assert record["team"] == saving.team_id
    assert record["copy_id"] == "first"
    assert record["reserved_credits"] == record["final_credits"] == 55
    assert record["video"]["sha256"] == copied.sha256 == hashlib.sha256(mp4_bytes).hexdigest()
    assert record["video"]["size"] == copied.size == len(mp4_bytes)
    assert record["video"]["width"] == copied.width
    assert url not in json.dumps(record)  # Rivya's URL is never kept


@pytest.mark.django_db
def test_a_second_copy_writes_its_own_keys_and_leaves_the_first_alone(
    server, mp4_bytes, media_root, saving
):
    url = video(server, "/result.mp4", mp4_bytes)
    first = videos.copy_result(saving, url, copy_id="first")
    before = stored(media_root)

    second = videos.copy_result(saving, url, copy_id="second")

    after = stored(media_root)
    assert {k: after[k] for k in before} == before  # byte for byte
    assert set(after) - set(before) == set(second.keys())
    assert len(second.keys()) == 5  # video, poster, small poster, preview, provenance
    assert (second.sha256, second.size) == (first.sha256, first.size)

    videos.discard(first)  # the caller kept the second
    assert set(stored(media_root)) == set(second.keys())
    videos.discard(first)  # nothing left to delete: no error


@pytest.mark.django_db
def test_a_reused_copy_id_never_overwrites_or_deletes_the_earlier_copy(
    server, mp4_bytes, media_root, saving
):
    url = video(server, "/result.mp4", mp4_bytes)
    videos.copy_result(saving, url, copy_id="same")
    before = stored(media_root)

    with pytest.raises(videos.CopyError) as caught:
        videos.copy_result(saving, url, copy_id="same")

    assert caught.value.code == "storage_conflict"
    assert stored(media_root) == before


@pytest.mark.django_db
@pytest.mark.parametrize("breaks_on", ["video-", "poster-", "provenance-"])
def test_a_copy_failing_half_way_removes_only_its_own_objects(
    server, mp4_bytes, media_root, saving, breaks_on
):
    url = video(server, "/result.mp4", mp4_bytes)
    videos.copy_result(saving, url, copy_id="kept")
    before = stored(media_root)

    with pytest.raises(videos.CopyError) as caught:
        videos.copy_result(
            saving,
            url,
            copy_id="broken",
            storage=FailingStorage(breaks_on, location=media_root),
        )

    assert (caught.value.code, caught.value.retryable) == ("storage_failed", True)
    assert stored(media_root) == before


@pytest.mark.django_db
def test_a_copy_stopped_by_progress_leaves_no_object_and_no_temporary_file(
    server, mp4_bytes, media_root, saving, monkeypatch, tmp_path
):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    url = video(server, "/result.mp4", mp4_bytes)

    def lease_lost(received):
        raise videos.CopyError("lease_lost", "Another worker took over this copy.")

    with pytest.raises(videos.CopyError) as caught:
        videos.copy_result(saving, url, copy_id="stopped", on_progress=lease_lost)

    assert caught.value.code == "lease_lost"
    assert stored(media_root) == {}
    assert list(scratch.iterdir()) == []


@pytest.mark.django_db
def test_a_result_that_is_not_a_video_stores_nothing(server, media_root, saving):
    url = video(server, "/fake.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 4000)
    with pytest.raises(videos.CopyError) as caught:
        videos.copy_result(saving, url, copy_id="fake")
    assert caught.value.code == "video_unreadable"
    assert stored(media_root) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("copy_id", ["", "../up", "a/b", "x" * 65, "é"])
def test_a_copy_id_must_be_a_plain_token(server, media_root, saving, copy_id):
    with pytest.raises(ValueError, match="copy_id"):
        videos.copy_result(saving, server.url + "/v.mp4", copy_id=copy_id)
    assert server.requests == []


@pytest.mark.s3
@pytest.mark.django_db
def test_copies_into_s3_play_from_a_presigned_url_and_are_discarded_alone(
    server, mp4_bytes, settings, s3_bucket, saving
):
    options = s3_bucket.storage_options()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
    }
    # Changing STORAGES through the settings fixture resets Django's cached storages.
    assert isinstance(storages["default"], S3Storage)

    def keys():
        listing = s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)
        return {obj["Key"] for obj in listing.get("Contents", [])}

    class FailingS3(S3Storage):
        def _save(self, name, content):
            if "provenance-" in name:
                raise OSError("connection reset")
            return super()._save(name, content)

    url = video(server, "/result.mp4", mp4_bytes)
    first = videos.copy_result(saving, url, copy_id="first")
    second = videos.copy_result(saving, url, copy_id="second")
    with pytest.raises(videos.CopyError):
        videos.copy_result(saving, url, copy_id="broken", storage=FailingS3(**options))
    assert keys() == {*first.keys(), *second.keys()}
    assert second.media.preview in keys()

    videos.discard(first)
    assert keys() == set(second.keys())

    presigned = default_storage.url(second.video)
    digest = hashlib.sha256()
    with httpx.stream("GET", presigned) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == second.sha256 == hashlib.sha256(mp4_bytes).hexdigest()

    signature_at = presigned.index("X-Amz-Signature=") + len("X-Amz-Signature=")
    flipped = "0" if presigned[signature_at] != "0" else "1"
    tampered = presigned[:signature_at] + flipped + presigned[signature_at + 1 :]
    assert httpx.get(tampered).status_code == 403
