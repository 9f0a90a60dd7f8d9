import io
from datetime import UTC, datetime

import httpx
import pytest
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from django.urls import path

from rivyaweb.ranges import CHUNK_SIZE, ranged_file_response

DATA = bytes(range(256)) * 1000  # 256,000 bytes, every offset distinguishable
SIZE = len(DATA)
MODIFIED = datetime(2026, 11, 20, 8, 30, 15, tzinfo=UTC)
MODIFIED_HTTP = "Fri, 20 Nov 2026 08:30:15 GMT"


class RecordingFile(io.BytesIO):
    """A real in-memory file that remembers how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def serve(data=DATA, method="get", headers=None, **kwargs):
    request = getattr(RequestFactory(), method)("/media/video.mp4", headers=headers or {})
    file = RecordingFile(data)
    response = ranged_file_response(
        request, file, size=len(data), content_type="video/mp4", **kwargs
    )
    return response, file


def body(response) -> bytes:
    try:
        if response.streaming:
            return b"".join(response.streaming_content)
        return response.content
    finally:
        response.close()


def test_without_range_streams_the_whole_file_in_chunks():
    response, file = serve()
    assert isinstance(response, StreamingHttpResponse)
    assert response.status_code == 200
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(SIZE)
    assert response["Content-Type"] == "video/mp4"
    assert not response.has_header("Content-Range")
    assert file.reads == []  # nothing read before the server iterates
    assert body(response) == DATA
    assert max(file.reads) <= CHUNK_SIZE
    assert len(file.reads) >= SIZE // CHUNK_SIZE
    assert file.closed


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),  # start
        ("bytes=0-0", 0, 0),
        ("bytes=1000-70999", 1000, 70999),  # middle, spans several chunks
        (f"bytes={SIZE - 10}-{SIZE - 1}", SIZE - 10, SIZE - 1),  # end
        ("bytes=250000-", 250000, SIZE - 1),  # open-ended
        (f"bytes=255990-{SIZE * 5}", 255990, SIZE - 1),  # last past the end is clamped
        ("bytes=-100", SIZE - 100, SIZE - 1),  # suffix
        (f"bytes=-{SIZE * 3}", 0, SIZE - 1),  # suffix larger than the file
        ("Bytes=10-19", 10, 19),  # the unit is case-insensitive
        ("bytes=0-" + "9" * 40, 0, SIZE - 1),
    ],
)
def test_single_range_gets_206_with_exact_bytes(header, start, end):
    response, file = serve(headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == DATA[start : end + 1]
    assert file.closed


@pytest.mark.parametrize(
    "header",
    [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0", "bytes=" + "9" * 40 + "-"],
)
def test_unsatisfiable_range_gets_416(header):
    response, file = serve(headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{SIZE}"
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == b""
    assert file.closed


@pytest.mark.parametrize(
    "header",
    [
        "bytes=abc",
        "bytes=5-2",  # last before first: an invalid range-spec
        "bytes=-",
        "bytes=",
        "items=0-5",
        "0-5",
        "bytes=0-1,5-6",  # several ranges: we send the whole file instead of multipart
        "bytes=0-1, -5",
        "bytes=١-٢",  # non-ASCII digits
        "bytes=" + "1" * 2000 + "-",
    ],
)
def test_malformed_or_multiple_ranges_are_ignored(header):
    response, _ = serve(headers={"Range": header})
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert not response.has_header("Content-Range")
    assert body(response) == DATA


def test_range_is_ignored_for_methods_other_than_get_and_head():
    response, _ = serve(method="post", headers={"Range": "bytes=0-9"})
    assert response.status_code == 200
    assert body(response) == DATA


def test_head_sends_the_get_headers_without_a_body():
    response, file = serve(method="head")
    assert response.status_code == 200
    assert response["Content-Length"] == str(SIZE)
    assert response["Accept-Ranges"] == "bytes"
    assert file.closed and file.reads == []
    assert body(response) == b""


def test_head_with_a_range():
    response, file = serve(method="head", headers={"Range": "bytes=100-199"})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{SIZE}"
    assert response["Content-Length"] == "100"
    assert body(response) == b""
    assert file.closed


class TestEmptyFile:
    def test_whole_file(self):
        response, file = serve(data=b"")
        assert response.status_code == 200
        assert response["Content-Length"] == "0"
        assert body(response) == b""
        assert file.closed

    def test_any_first_byte_is_unsatisfiable(self):
        response, _ = serve(data=b"", headers={"Range": "bytes=0-"})
        assert response.status_code == 416
        assert response["Content-Range"] == "bytes */0"

    def test_suffix_range_gets_the_empty_whole(self):
        response, _ = serve(data=b"", headers={"Range": "bytes=-5"})
        assert response.status_code == 200
        assert response["Content-Length"] == "0"
        assert body(response) == b""


class TestValidators:
    def test_etag_and_last_modified_headers(self):
        response, _ = serve(etag="abc123", last_modified=MODIFIED)
        assert response["ETag"] == '"abc123"'
        assert response["Last-Modified"] == MODIFIED_HTTP
        body(response)

    def test_quoted_etag_is_kept(self):
        response, _ = serve(etag='"abc123"')
        assert response["ETag"] == '"abc123"'
        body(response)

    @pytest.mark.parametrize("if_range", ['"abc123"', MODIFIED_HTTP])
    def test_matching_if_range_keeps_the_range(self, if_range):
        response, _ = serve(
            etag="abc123",
            last_modified=MODIFIED,
            headers={"Range": "bytes=0-9", "If-Range": if_range},
        )
        assert response.status_code == 206
        assert body(response) == DATA[:10]

    @pytest.mark.parametrize(
        "if_range",
        [
            '"other"',
            'W/"abc123"',  # If-Range needs a strong match
            "Fri, 20 Nov 2026 08:30:16 GMT",
            "yesterday",
        ],
    )
    def test_mismatching_if_range_sends_the_whole_file(self, if_range):
        response, _ = serve(
            etag="abc123",
            last_modified=MODIFIED,
            headers={"Range": "bytes=0-9", "If-Range": if_range},
        )
        assert response.status_code == 200
        assert body(response) == DATA

    def test_if_range_without_validators_sends_the_whole_file(self):
        response, _ = serve(headers={"Range": "bytes=0-9", "If-Range": '"abc123"'})
        assert response.status_code == 200
        body(response)

    def test_weak_etag_never_satisfies_if_range(self):
        response, _ = serve(
            etag='W/"abc123"', headers={"Range": "bytes=0-9", "If-Range": 'W/"abc123"'}
        )
        assert response.status_code == 200
        body(response)


def test_filename_sets_an_inline_content_disposition():
    response, _ = serve(filename="mèo nhảy.mp4")
    assert response["Content-Disposition"].startswith("inline; filename*=utf-8''")
    assert "m%C3%A8o" in response["Content-Disposition"]
    body(response)


def test_attachment_disposition():
    response, _ = serve(filename="cat.mp4", as_attachment=True)
    assert response["Content-Disposition"] == 'attachment; filename="cat.mp4"'
    body(response)


class TestLimit:
    def test_cuts_the_whole_file_short(self):
        response, file = serve(limit=SIZE // 2)
        assert response.status_code == 200
        assert not response.has_header("Content-Length")
        assert body(response) == DATA[: SIZE // 2]
        assert file.closed

    def test_cuts_a_range_at_the_file_offset(self):
        response, _ = serve(limit=150, headers={"Range": "bytes=100-199"})
        assert response.status_code == 206
        assert response["Content-Range"] == f"bytes 100-199/{SIZE}"
        assert not response.has_header("Content-Length")
        assert body(response) == DATA[100:150]

    def test_range_past_the_limit_gets_no_bytes(self):
        response, _ = serve(limit=150, headers={"Range": "bytes=200-"})
        assert response.status_code == 206
        assert body(response) == b""

    def test_limit_beyond_the_data_changes_nothing(self):
        response, _ = serve(limit=SIZE, headers={"Range": "bytes=-10"})
        assert response["Content-Length"] == "10"
        assert body(response) == DATA[-10:]

    def test_zero_limit(self):
        response, _ = serve(limit=0)
        assert body(response) == b""


def test_closing_an_unread_response_closes_the_file():
    response, file = serve(headers={"Range": "bytes=5-"})
    response.close()
    assert file.closed


def test_file_shorter_than_announced_ends_the_body_early():
    request = RequestFactory().get("/")
    response = ranged_file_response(
        request, io.BytesIO(b"short"), size=100, content_type="application/octet-stream"
    )
    assert body(response) == b"short"


# Over real HTTP (Django's threaded development server): a truncated body must end the
# response promptly instead of leaving the client waiting for bytes that never come.


def truncated_view(request):
    return ranged_file_response(
        request, io.BytesIO(DATA), size=SIZE, content_type="video/mp4", limit=1000
    )


def ranged_view(request):
    return ranged_file_response(
        request, io.BytesIO(DATA), size=SIZE, content_type="video/mp4", etag="v1"
    )


urlpatterns = [path("truncated", truncated_view), path("ranged", ranged_view)]


@pytest.mark.urls(__name__)
def test_over_http_truncated_body_ends_promptly(live_server):
    with httpx.Client(base_url=live_server.url, timeout=5) as client:
        response = client.get("/truncated")
        assert response.status_code == 200
        assert response.content == DATA[:1000]


@pytest.mark.urls(__name__)
def test_over_http_ranges_on_a_kept_alive_connection(live_server):
    with httpx.Client(base_url=live_server.url, timeout=5) as client:
        first = client.get("/ranged", headers={"Range": "bytes=0-1023"})
        second = client.get("/ranged", headers={"Range": "bytes=-16", "If-Range": '"v1"'})
        whole = client.get("/ranged")
    assert (first.status_code, first.content) == (206, DATA[:1024])
    assert (second.status_code, second.content) == (206, DATA[-16:])
    assert (whole.status_code, whole.content) == (200, DATA)
    assert whole.headers["content-length"] == str(SIZE)
