"""Request body limits at the door, against ``manage.py serve`` (granian) over real sockets.

The server runs with its own ``TMPDIR``, where Django spools uploads, so a test can see
how much of a body ever reached the disk.
"""

import io
import os
import re
import select
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from generations.forms import REFERENCE_MAX_BYTES
from tests.test_serve import BASE_DIR, descendants, free_port, wait_until_healthy

MIB = 1024 * 1024
DEFAULT_LIMIT = 64 * 1024
HUGE = 60 * MIB
PIECE = 256 * 1024
ANSWER_TIMEOUT = 10


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``serve`` without worker or poller; yields (port, its TMPDIR, a logged-in client)."""
    home = tmp_path_factory.mktemp("limits")
    spool = home / "tmp"
    spool.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{home}/db.sqlite3",
        "MEDIA_ROOT": str(home / "media"),
        "TMPDIR": str(spool),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("RIVYA_API_KEY", "RIVYA_API_BASE", "DEBUG", "ALLOWED_HOSTS"):
        env.pop(name, None)
    log = home / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "1"]
            + ["--threads", "4", "--no-worker", "--no-poller"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(process, base, log)
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c"]
            + [
                "from django.contrib.auth.models import User; "
                "User.objects.create_user('maker', password='a long enough password')"
            ],
            cwd=BASE_DIR,
            env=env,
            check=True,
        )
        with httpx.Client(base_url=base, timeout=60, headers={"Accept-Language": "en"}) as client:
            client.get("/accounts/login/")
            login = client.post(
                "/accounts/login/",
                data={
                    "username": "maker",
                    "password": "a long enough password",
                    "csrfmiddlewaretoken": client.cookies["csrftoken"],
                },
            )
            assert login.status_code == 302, log.read_text()
            yield port, spool, client
    finally:
        for pid in descendants(process.pid):
            os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()


def largest_file(directory: Path) -> int:
    sizes = [0]
    for entry in os.scandir(directory):
        try:
            sizes.append(entry.stat().st_size)
        except FileNotFoundError:  # a spooled upload deleted meanwhile
            continue
    return max(sizes)


def send_until_answered(
    port: int, head: bytes, pieces: Iterator[bytes], spool: Path
) -> tuple[bytes, int, int]:
    """Send ``head``, then ``pieces`` one by one until the server answers or stops taking
    them. Returns (what the server answered, body bytes sent, largest spooled file)."""
    sent = biggest = 0
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT) as sock:
        sock.sendall(head)
        for piece in pieces:
            # A moment for the server to answer between pieces: the body goes out slowly.
            if select.select([sock], [], [], 0.02)[0]:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(piece)
            biggest = max(biggest, largest_file(spool))
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent, max(biggest, largest_file(spool))


def status_of(answer: bytes) -> int:
    match = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert match, answer[:200]
    return int(match.group(1))


def multipart_upload(total: int, boundary: str) -> Iterator[bytes]:
    """A multipart body with a ``total``-byte file field, in pieces."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
        f"{'x' * 32}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for _ in range(total // PIECE):
        yield b"\0" * PIECE


def chunked(pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def anonymous_login_upload(port: int, boundary: str, framing: str) -> bytes:
    """The head of a multipart login POST with a made-up CSRF cookie (and, in the body,
    the same made-up field)."""
    return (
        f"POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Cookie: csrftoken={'x' * 32}\r\n{framing}\r\nAccept-Language: en\r\n\r\n"
    ).encode()


def test_a_huge_anonymous_login_post_is_refused_before_its_body_is_read(served):
    port, spool, _client = served
    boundary = uuid.uuid4().hex
    head = anonymous_login_upload(port, boundary, f"Content-Length: {HUGE}")

    answer, sent, biggest = send_until_answered(port, head, multipart_upload(HUGE, boundary), spool)

    assert status_of(answer) == 413
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert b"at most 64.0" in answer
    assert sent < 16 * MIB, "the answer came long before the body was all sent"
    assert biggest <= DEFAULT_LIMIT, "nothing larger than the limit was spooled"


def test_a_chunked_body_over_the_limit_is_cut_off_with_413(served):
    port, spool, _client = served
    boundary = uuid.uuid4().hex
    head = anonymous_login_upload(port, boundary, "Transfer-Encoding: chunked")

    answer, sent, biggest = send_until_answered(
        port, head, chunked(multipart_upload(HUGE, boundary)), spool
    )

    assert status_of(answer) == 413
    assert sent < 16 * MIB
    assert biggest <= DEFAULT_LIMIT


def test_a_small_chunked_form_is_read_whole(served):
    port, _spool, client = served
    anonymous = httpx.Client(base_url=client.base_url, timeout=30)
    anonymous.get("/accounts/login/")
    token = anonymous.cookies["csrftoken"]
    body = f"username=nobody&password=wrong&csrfmiddlewaretoken={token}".encode()

    answer = anonymous.post(
        "/accounts/login/",
        content=iter([body[:10], body[10:]]),  # an iterator: httpx sends it chunked
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 200, "CSRF and the form both saw the body"
    assert 'name="username"' in answer.text


def noise_png(size: tuple[int, int]) -> bytes:
    """A real PNG of random pixels: it does not compress, so its size is about w×h×3."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def post_form(client: httpx.Client, image: bytes, prompt: str) -> httpx.Response:
    client.get("/")
    return client.post(
        "/",
        data={
            "prompt": prompt,
            "duration": "5",
            "aspect_ratio": "1:1",
            "form_token": str(uuid.uuid4()),
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        files={"reference_image": ("kite.png", image, "image/png")},
    )


def test_the_form_still_takes_a_nine_megabyte_image(served):
    _port, _spool, client = served
    image = noise_png((1750, 1700))
    assert 8.5e6 < len(image) < REFERENCE_MAX_BYTES

    created = post_form(client, image, "A kite over a field of noise")

    assert created.status_code == 302
    assert "A kite over a field of noise" in client.get("/").text


def test_an_image_just_over_its_limit_gets_the_forms_own_error(served):
    _port, _spool, client = served
    image = noise_png((1900, 1800))
    assert REFERENCE_MAX_BYTES < len(image) < REFERENCE_MAX_BYTES + MIB

    refused = post_form(client, image, "A kite too heavy to fly")

    assert refused.status_code == 200
    assert "has-error" in refused.text


def test_an_upload_far_over_the_forms_limit_gets_a_clear_413(served):
    _port, _spool, client = served

    refused = post_form(client, b"\0" * (REFERENCE_MAX_BYTES + 2 * MIB), "A kite")

    assert refused.status_code == 413
    assert refused.headers["content-type"].startswith("text/plain")
    assert "at most 10.5" in refused.text


def test_the_webhook_takes_a_megabyte_at_most(served):
    _port, _spool, client = served
    headers = {"Content-Type": "application/json"}

    small = client.post("/rivya/webhook", content=b" " * (MIB - 1), headers=headers)
    large = client.post("/rivya/webhook", content=b" " * (MIB + 1), headers=headers)

    assert small.status_code == 400, "read, and refused for its missing signature"
    assert large.status_code == 413


# --- in process: the settings, and a server that keeps hop-by-hop headers to itself --------


@pytest.mark.django_db
def test_the_default_limit_and_a_routes_limit_come_from_settings(client, settings):
    settings.REQUEST_BODY_LIMIT = 100
    form = {"username": "someone", "password": "x" * 200}

    assert client.post("/accounts/login/", form).status_code == 413

    settings.REQUEST_BODY_LIMITS = {"login": 10_000}
    assert client.post("/accounts/login/", form).status_code == 200


def test_the_development_server_gets_its_413_without_a_connection_header(live_server):
    # wsgiref-based servers refuse hop-by-hop headers from the application with a 500.
    answer = httpx.post(
        f"{live_server.url}/accounts/login/",
        content=b"x" * (DEFAULT_LIMIT + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 413
