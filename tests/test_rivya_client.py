import gzip
import io
import json
import logging
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from generations.rivya import (
    AuthenticationError,
    Client,
    IdempotencyConflict,
    InsufficientCredits,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    RivyaAPIError,
    RivyaConnectionError,
    ServiceUnavailable,
    ValidationFailed,
    client_from_settings,
    error_from_response,
)
from generations.rivya import client as client_module
from generations.rivya.errors import parse_retry_after

KEY = "rvya_sk_test_9f8e7d6c5b4a39281706"
BASE = "https://rivya.test/api/v1"

GENERATION = {
    "id": "task_abc",
    "status": "queued",
    "model": "kling-2-6",
    "reserved_credits": 55,
    "final_credits": 0,
    "created_at": "2026-05-11T00:00:00.000Z",
    "updated_at": "2026-05-11T00:00:00.000Z",
    "result": None,
    "error": None,
}
FILE = {
    "id": "file_abc",
    "object": "file",
    "url": "https://rivya.test/files/file_abc/reference.png",
    "kind": "image",
    "name": "reference.png",
    "mime_type": "image/png",
    "size_bytes": 4,
}


def envelope(status, code, message="Something is wrong.", request_id="req_123", headers=None):
    body = {"error": {"code": code, "message": message, "requestId": request_id}}
    return httpx.Response(status, json=body, headers=headers)


class Rivya:
    """A scripted Rivya: answers requests in order and records what it was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request):
        request.read()
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def make_client(sleeps):
    clients = []

    def make(*answers, **kwargs):
        rivya = Rivya(*answers)
        kwargs.setdefault("random", lambda: 1.0)
        client = Client(
            KEY, BASE, transport=httpx.MockTransport(rivya), sleep=sleeps.append, **kwargs
        )
        clients.append(client)
        return client, rivya

    yield make
    for client in clients:
        client.close()


# --- Error mapping ------------------------------------------------------------

ALL_CODES = [
    ("public_api_disabled", 503, ServiceUnavailable, True),
    ("api_key_missing", 401, AuthenticationError, False),
    ("api_key_invalid", 401, AuthenticationError, False),
    ("api_key_revoked", 401, AuthenticationError, False),
    ("api_key_expired", 401, AuthenticationError, False),
    ("api_scope_denied", 403, PermissionDenied, False),
    ("rate_limited", 429, RateLimited, True),
    ("validation_failed", 400, ValidationFailed, False),
    ("not_found", 404, NotFound, False),
    ("webhook_url_rejected", 400, ValidationFailed, False),
    ("chat_model_not_supported", 400, ValidationFailed, False),
    ("chat_session_conflict", 409, RivyaAPIError, False),
    ("chat_attachment_not_supported", 400, ValidationFailed, False),
    ("idempotency_conflict", 409, IdempotencyConflict, False),
    ("insufficient_credits", 402, InsufficientCredits, False),
]


@pytest.mark.parametrize(("code", "status", "cls", "retryable"), ALL_CODES)
def test_every_documented_code_raises_its_class(make_client, code, status, cls, retryable):
    client, _ = make_client(envelope(status, code, "Rivya says no.", "req_42"), max_retries=0)

    with pytest.raises(cls) as caught:
        client.get_credits()

    error = caught.value
    assert type(error) is cls
    assert (error.code, error.status, error.request_id) == (code, status, "req_42")
    assert error.message == "Rivya says no."
    assert error.retryable is retryable
    assert "req_42" in str(error)
    assert code in str(error)
    assert "Rivya says no." in str(error)


def test_unknown_4xx_code_still_parses_and_is_not_retried(make_client, sleeps):
    client, rivya = make_client(envelope(400, "brand_new_code", request_id="req_new"))

    with pytest.raises(RivyaAPIError) as caught:
        client.get_credits()

    assert type(caught.value) is RivyaAPIError
    assert caught.value.code == "brand_new_code"
    assert caught.value.request_id == "req_new"
    assert caught.value.retryable is False
    assert len(rivya.requests) == 1
    assert sleeps == []


def test_unknown_5xx_code_is_service_unavailable_and_retryable(make_client):
    client, rivya = make_client(envelope(500, "upstream_exploded"), max_retries=1)

    with pytest.raises(ServiceUnavailable) as caught:
        client.get_credits()

    assert caught.value.code == "upstream_exploded"
    assert caught.value.retryable is True
    assert len(rivya.requests) == 2


def test_non_json_502_is_a_sensible_error(make_client):
    html = httpx.Response(502, text="<html><body>Bad gateway</body></html>")
    client, _ = make_client(html, max_retries=0)

    with pytest.raises(ServiceUnavailable) as caught:
        client.get_credits()

    error = caught.value
    assert (error.code, error.status, error.request_id) == ("http_502", 502, None)
    assert error.message == "Bad Gateway"
    assert error.retryable is True
    assert "http_502" in str(error)


def test_json_body_without_envelope_uses_status_code():
    response = httpx.Response(418, json={"detail": "no"}, headers={"X-Request-Id": "req_hdr"})

    error = error_from_response(response)

    assert type(error) is RivyaAPIError
    assert (error.code, error.request_id, error.retryable) == ("http_418", "req_hdr", False)


def test_rate_limited_carries_retry_after():
    response = envelope(429, "rate_limited", headers={"Retry-After": "12"})

    error = error_from_response(response)

    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0


def test_retry_after_accepts_http_date():
    when = datetime(2026, 5, 11, 12, 0, 30, tzinfo=UTC)
    now = datetime(2026, 5, 11, 12, 0, 0, tzinfo=UTC).timestamp()

    assert parse_retry_after(format_datetime(when, usegmt=True), now=now) == 30.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") == 0.0


# --- Retries --------------------------------------------------------------------


def test_connection_error_is_retried(make_client, sleeps):
    client, rivya = make_client(
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("peer closed"),
        httpx.Response(200, json={"current_credits": 120}),
    )

    assert client.get_credits().current_credits == 120
    assert len(rivya.requests) == 3
    assert len(sleeps) == 2


def test_429_sleeps_exactly_retry_after(make_client, sleeps):
    client, rivya = make_client(
        envelope(429, "rate_limited", headers={"Retry-After": "7"}),
        httpx.Response(200, json={"current_credits": 5}),
    )

    assert client.get_credits().current_credits == 5
    assert sleeps == [7.0]
    assert len(rivya.requests) == 2


def test_429_retry_after_is_capped(make_client, sleeps):
    client, _ = make_client(
        envelope(429, "rate_limited", headers={"Retry-After": "3600"}),
        httpx.Response(200, json={"current_credits": 5}),
    )

    client.get_credits()

    assert sleeps == [client_module.RETRY_AFTER_CAP]


def test_429_without_retry_after_backs_off(make_client, sleeps):
    client, _ = make_client(
        envelope(429, "rate_limited"), httpx.Response(200, json={"current_credits": 5})
    )

    client.get_credits()

    assert sleeps == [client_module.BACKOFF_BASE]


def test_5xx_backoff_grows_and_stays_under_the_cap(make_client, sleeps):
    client, rivya = make_client(envelope(503, "public_api_disabled"), max_retries=9)

    with pytest.raises(ServiceUnavailable):
        client.get_credits()

    assert len(rivya.requests) == 10
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert max(sleeps) <= client_module.BACKOFF_CAP


def test_backoff_uses_full_jitter(make_client, sleeps):
    client, _ = make_client(envelope(500, "boom"), max_retries=3, random=lambda: 0.25)

    with pytest.raises(ServiceUnavailable):
        client.get_credits()

    assert sleeps == [0.125, 0.25, 0.5]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "validation_failed"),
        (401, "api_key_invalid"),
        (402, "insufficient_credits"),
        (403, "api_scope_denied"),
        (404, "not_found"),
        (409, "idempotency_conflict"),
    ],
)
def test_client_errors_are_never_retried(make_client, sleeps, status, code):
    client, rivya = make_client(envelope(status, code))

    with pytest.raises(RivyaAPIError):
        client.create_generation(model="kling-2-6", prompt="A cat", params={}, idempotency_key="k")

    assert len(rivya.requests) == 1
    assert sleeps == []


def test_read_timeout_is_retried_then_surfaces_as_connection_error(make_client, sleeps):
    client, rivya = make_client(httpx.ReadTimeout("slow"), max_retries=2)

    with pytest.raises(RivyaConnectionError) as caught:
        client.get_generation("task_abc")

    assert caught.value.retryable is True
    assert not isinstance(caught.value, RivyaAPIError)
    assert len(rivya.requests) == 3
    assert len(sleeps) == 2


def test_non_transient_transport_error_is_not_retried(make_client, sleeps):
    client, rivya = make_client(httpx.UnsupportedProtocol("gopher"))

    with pytest.raises(RivyaConnectionError):
        client.get_credits()

    assert len(rivya.requests) == 1
    assert sleeps == []


# --- create_generation ------------------------------------------------------------


def test_create_generation_sends_the_same_idempotency_key_on_every_attempt(make_client):
    client, rivya = make_client(
        httpx.ReadTimeout("lost answer"),
        envelope(500, "internal_error"),
        envelope(429, "rate_limited", headers={"Retry-After": "1"}),
        httpx.Response(201, json=GENERATION),
    )

    generation = client.create_generation(
        model="kling-2-6", prompt="A cat", params={"duration": "5"}, idempotency_key="row-key-1"
    )

    assert generation.id == "task_abc"
    assert len(rivya.requests) == 4
    assert {r.headers["Idempotency-Key"] for r in rivya.requests} == {"row-key-1"}
    assert len({r.content for r in rivya.requests}) == 1


def test_create_generation_sends_body_as_given(make_client):
    client, rivya = make_client(httpx.Response(200, json=GENERATION))
    params = {
        "duration": "10",
        "sound": "false",
        "aspect_ratio": "9:16",
        "referenceMediaItems": [{"url": "https://rivya.test/f.png", "kind": "image"}],
    }

    client.create_generation(
        model="kling-2-6",
        prompt="Một con mèo",
        params=params,
        idempotency_key="k-2",
        client_request_id="gen-17",
    )

    request = rivya.requests[0]
    assert request.method == "POST"
    assert request.url == f"{BASE}/generations"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "model": "kling-2-6",
        "prompt": "Một con mèo",
        "params": params,
        "client_request_id": "gen-17",
    }


def test_create_generation_omits_client_request_id_when_not_given(make_client):
    client, rivya = make_client(httpx.Response(200, json=GENERATION))

    client.create_generation(model="kling-2-6", prompt="A cat", params={}, idempotency_key="k")

    assert "client_request_id" not in json.loads(rivya.requests[0].content)


def test_create_generation_requires_a_key(make_client):
    client, rivya = make_client(httpx.Response(200, json=GENERATION))

    with pytest.raises(ValueError):
        client.create_generation(model="kling-2-6", prompt="A cat", params={}, idempotency_key="")
    assert rivya.requests == []


# --- Other endpoints ----------------------------------------------------------------


def test_get_generation_quotes_the_id(make_client):
    client, rivya = make_client(httpx.Response(200, json=GENERATION))

    client.get_generation("task/../credits?x=1")

    assert rivya.requests[0].url.raw_path == b"/api/v1/generations/task%2F..%2Fcredits%3Fx%3D1"


def test_get_generation_parses_a_finished_task(make_client):
    finished = {
        **GENERATION,
        "status": "succeeded",
        "final_credits": 55,
        "result": {"primary_url": "https://m.test/v.mp4", "urls": ["https://m.test/v.mp4"]},
    }
    client, rivya = make_client(httpx.Response(200, json=finished))

    generation = client.get_generation("task_abc")

    assert generation.is_terminal
    assert generation.result.primary_url == "https://m.test/v.mp4"
    assert rivya.requests[0].method == "GET"


@pytest.mark.parametrize("status", [200, 201, 202])
def test_any_2xx_is_success(make_client, status):
    client, _ = make_client(httpx.Response(status, json={"current_credits": 3}))

    assert client.get_credits().current_credits == 3


def test_success_body_that_is_not_json_is_malformed_and_not_retried(make_client, sleeps):
    client, rivya = make_client(httpx.Response(200, text="<html>maintenance</html>"))

    with pytest.raises(MalformedResponse) as caught:
        client.get_credits()

    assert isinstance(caught.value, RivyaConnectionError)
    assert caught.value.retryable is False
    assert len(rivya.requests) == 1
    assert sleeps == []


def huge_json(size):
    return b'{"current_credits": 3, "pad": "' + b"x" * size + b'"}'


class Endless(httpx.SyncByteStream):
    """A body with no Content-Length that never ends; counts what was pulled from it."""

    def __init__(self):
        self.pulled = 0

    def __iter__(self):
        while True:
            self.pulled += 65536
            yield b" " * 65536


def test_a_body_declared_too_large_is_refused_unread(make_client, sleeps):
    body = huge_json(client_module.MAX_BODY_BYTES)
    client, rivya = make_client(httpx.Response(200, content=body))

    with pytest.raises(MalformedResponse) as caught:
        client.get_credits()

    assert "over" in str(caught.value) and caught.value.status == 200
    assert len(rivya.requests) == 1 and sleeps == []


def test_an_endless_body_is_cut_at_the_cap(make_client):
    stream = Endless()
    client, _ = make_client(httpx.Response(200, stream=stream))

    with pytest.raises(MalformedResponse):
        client.get_credits()

    assert stream.pulled <= client_module.MAX_BODY_BYTES + 65536


def test_a_compressed_body_is_capped_after_decompression(make_client):
    bomb = gzip.compress(huge_json(client_module.MAX_BODY_BYTES * 4))
    assert len(bomb) < client_module.MAX_BODY_BYTES
    client, _ = make_client(httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"}))

    with pytest.raises(MalformedResponse):
        client.get_credits()


def test_a_compressed_body_under_the_cap_is_decoded(make_client):
    body = gzip.compress(json.dumps({"current_credits": 7}).encode())
    client, _ = make_client(httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"}))

    assert client.get_credits().current_credits == 7


def test_an_oversized_error_body_is_dropped_and_the_status_decides(make_client, sleeps):
    page = b"<html>" + b"x" * client_module.MAX_BODY_BYTES + b"</html>"
    client, rivya = make_client(
        httpx.Response(502, content=page),
        httpx.Response(200, json={"current_credits": 3}),
    )

    assert client.get_credits().current_credits == 3
    assert len(rivya.requests) == 2 and len(sleeps) == 1


def test_generation_without_status_is_malformed(make_client):
    client, _ = make_client(httpx.Response(200, json={"id": "task_abc"}))

    with pytest.raises(MalformedResponse):
        client.get_generation("task_abc")


def test_get_file_reads_alternative_spellings(make_client):
    body = {"file_id": "file_x", "url": "https://r.test/x.mp4", "mimeType": "video/mp4"}
    client, rivya = make_client(httpx.Response(200, json=body))

    file = client.get_file("file_x")

    assert (file.id, file.mime_type) == ("file_x", "video/mp4")
    assert rivya.requests[0].url == f"{BASE}/files/file_x"


def test_list_models_is_public_and_skips_unreadable_entries(make_client):
    body = {
        "object": "list",
        "data": [
            {"id": "kling-2-6", "display_name": "Kling 2.6", "api_status": "available"},
            {"display_name": "no id"},
            "junk",
            {"id": "z-image", "api_status": "coming_soon", "future_field": {"a": 1}},
        ],
    }
    client, rivya = make_client(httpx.Response(200, json=body))

    models = client.list_models()

    assert [m.id for m in models] == ["kling-2-6", "z-image"]
    assert [m.is_available for m in models] == [True, False]
    assert "Authorization" not in rivya.requests[0].headers
    assert rivya.requests[0].url == f"{BASE}/models"


# --- upload_file ------------------------------------------------------------------------


class ChunkReader(io.BytesIO):
    """A binary file that remembers how it was read."""

    def __init__(self, data):
        super().__init__(data)
        self.read_sizes = []

    def read(self, size=-1):
        self.read_sizes.append(size)
        return super().read(size)


def multipart_parts(request):
    boundary = request.headers["Content-Type"].split("boundary=")[1].encode()
    parts = {}
    for chunk in request.content.split(b"--" + boundary)[1:-1]:
        head, _, body = chunk.strip(b"\r\n").partition(b"\r\n\r\n")
        name = head.split(b'name="')[1].split(b'"')[0].decode()
        parts[name] = (head, body)
    return parts


def test_upload_file_streams_the_file_object(make_client):
    data = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 800  # ~200 KB
    reader = ChunkReader(data)
    client, rivya = make_client(httpx.Response(200, json=FILE))

    file = client.upload_file(
        reader,
        filename="reference.png",
        kind="image",
        model="kling-2-6",
        mime_type="image/png",
        client_request_id="gen-9",
    )

    assert file.id == "file_abc"
    assert reader.read_sizes and all(0 < size <= 64 * 1024 for size in reader.read_sizes)
    request = rivya.requests[0]
    assert request.url == f"{BASE}/files"
    assert request.headers["Content-Type"].startswith("multipart/form-data")
    parts = multipart_parts(request)
    assert parts["file"][1] == data
    assert b'filename="reference.png"' in parts["file"][0]
    assert b"Content-Type: image/png" in parts["file"][0]
    assert parts["kind"][1] == b"image"
    assert parts["model"][1] == b"kling-2-6"
    assert parts["client_request_id"][1] == b"gen-9"


def test_upload_file_rewinds_and_keeps_its_key_across_retries(make_client, tmp_path):
    path = tmp_path / "ref.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + b"x" * 5000)
    client, rivya = make_client(
        httpx.ReadTimeout("lost"),
        envelope(503, "public_api_disabled"),
        httpx.Response(200, json=FILE),
    )

    with path.open("rb") as handle:
        client.upload_file(handle, filename="ref.jpg", kind="image", model=None)

    assert len(rivya.requests) == 3
    bodies = [multipart_parts(r)["file"][1] for r in rivya.requests]
    assert bodies == [path.read_bytes()] * 3
    keys = {r.headers["Idempotency-Key"] for r in rivya.requests}
    assert len(keys) == 1
    uuid.UUID(keys.pop())
    assert "model" not in multipart_parts(rivya.requests[0])


def test_upload_file_accepts_bytes_and_makes_a_new_key_per_call(make_client):
    client, rivya = make_client(httpx.Response(200, json=FILE))

    client.upload_file(b"\x89PNG....", filename="a.png", kind="image", model="kling-2-6")
    client.upload_file(b"\x89PNG....", filename="a.png", kind="image", model="kling-2-6")
    client.upload_file(
        b"\x89PNG", filename="a.png", kind="image", model=None, idempotency_key="mine"
    )

    keys = [r.headers["Idempotency-Key"] for r in rivya.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"
    assert multipart_parts(rivya.requests[0])["file"][1] == b"\x89PNG...."


# --- Configuration, headers, secrecy ---------------------------------------------------------


def test_requests_carry_user_agent_and_bearer_key(make_client):
    client, rivya = make_client(httpx.Response(200, json={"current_credits": 1}))

    client.get_credits()

    request = rivya.requests[0]
    assert request.headers["User-Agent"] == client_module.USER_AGENT
    assert request.headers["User-Agent"].startswith("Rivyaweb/")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.url == f"{BASE}/credits"


def test_timeouts_are_explicit_and_connect_differs_from_read(make_client):
    client, rivya = make_client(httpx.Response(200, json={"current_credits": 1}))

    client.get_credits()

    sent = rivya.requests[0].extensions["timeout"]
    assert sent["connect"] == client_module.CONNECT_TIMEOUT
    assert sent["read"] == client_module.READ_TIMEOUT
    assert sent["connect"] != sent["read"]
    assert client.timeout.connect != client.timeout.read


def test_timeout_can_be_overridden(make_client):
    custom = httpx.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)
    client, rivya = make_client(httpx.Response(200, json={"current_credits": 1}), timeout=custom)

    client.get_credits()

    assert rivya.requests[0].extensions["timeout"]["read"] == 2.0


def test_the_key_never_shows_in_repr_errors_or_logs(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    echoing = envelope(401, "api_key_invalid", f"Key {KEY} is not valid.", "req_echo")
    client, _ = make_client(
        httpx.ConnectError(f"cannot reach with {KEY}"),
        envelope(500, "boom", request_id="req_500"),
        echoing,
    )

    with pytest.raises(AuthenticationError) as caught:
        client.get_credits()

    assert KEY not in repr(client)
    assert KEY not in repr(client._auth)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
    assert KEY not in caught.value.message
    assert caplog.records
    assert KEY not in caplog.text
    assert "req_500" in caplog.text
    assert "req_echo" in caplog.text


def test_retries_are_logged_with_attempt_and_wait(make_client, caplog):
    caplog.set_level(logging.INFO, logger="generations.rivya")
    client, _ = make_client(
        envelope(429, "rate_limited", request_id="req_rl", headers={"Retry-After": "2"}),
        httpx.Response(200, json={"current_credits": 1}),
    )

    client.get_credits()

    (retry,) = [r for r in caplog.records if r.name == "generations.rivya.client"]
    message = retry.getMessage()
    assert "GET /credits" in message
    assert "attempt 1" in message
    assert "2.00s" in message
    assert "req_rl" in message


def test_context_manager_closes_the_connection_pool():
    with Client(KEY, BASE, transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        assert not client._http.is_closed
    assert client._http.is_closed


def test_client_from_settings(settings):
    settings.RIVYA_API_KEY = KEY
    settings.RIVYA_API_BASE = "https://rivya.example/api/v1"

    with client_from_settings() as client:
        assert client.base_url == "https://rivya.example/api/v1"
        assert client._auth._header == f"Bearer {KEY}"
        assert KEY not in repr(client)


def test_client_refuses_an_empty_key():
    with pytest.raises(ValueError):
        Client("", BASE)
