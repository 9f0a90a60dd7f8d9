"""Serve a file with HTTP Range support (RFC 9110 §14), so browsers can seek in videos.

One single byte range per request is honoured; a malformed ``Range`` header, several ranges,
a failed ``If-Range`` or a method other than GET/HEAD get the whole file with 200, as the RFC
allows. The bytes are read in chunks as the response is sent and released with the response.

Where the bytes come from is a *range source*: a local file (``FileSource``, what
``ranged_file_response`` uses) or an S3 object read with one ranged ``GetObject``
(``S3ObjectSource``). The parsing of ``Range`` and the headers are the same for both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.http import (
    content_disposition_header,
    http_date,
    parse_http_date_safe,
    quote_etag,
)

CHUNK_SIZE = 64 * 1024
RANGE_RE = re.compile(r"\s*bytes\s*=\s*([0-9]*)\s*-\s*([0-9]*)\s*", re.IGNORECASE | re.ASCII)
MAX_DIGITS = 1000  # int() refuses very long digit strings; longer ones are treated as malformed


class _Unsatisfiable(Exception):
    pass


class RangeSource(Protocol):
    """Where a ranged response reads its bytes."""

    def chunks(self, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``stop`` (exclusive), at most ``chunk_size`` at a time; fewer
        if the source ends early."""
        ...

    def close(self) -> None:
        """Release the source; called once with the response, read or not."""
        ...


class FileSource:
    """A seekable file, read in chunks and closed with the response."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file

    def chunks(self, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        position = start
        if position < stop:
            self.file.seek(position)
        while position < stop:
            chunk = self.file.read(min(chunk_size, stop - position))
            if not chunk:
                break  # the file shrank since its size was taken
            position += len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()


class S3ObjectSource:
    """An S3 object (a boto3 ``s3.Object``), read with a single ``GetObject`` for exactly
    the bytes to send (``Range: bytes=start-last``) and streamed from its body chunk by
    chunk: nothing is held in memory or written to disk. Nothing is fetched for HEAD, an
    empty range or a response closed unread.

    Only the bytes cross over: none of the bucket's headers reach the response.
    """

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.body: Any = None

    def chunks(self, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
        if start >= stop:
            return
        answer = self.obj.get(Range=f"bytes={start}-{stop - 1}")
        self.body = answer["Body"]
        if start > 0 and not answer.get("ContentRange", "").startswith(f"bytes {start}-"):
            # A server that ignored the range would send the object's first bytes instead.
            raise OSError(f"the storage did not honour the range starting at {start}")
        position = start
        for chunk in self.body.iter_chunks(chunk_size):
            chunk = chunk[: stop - position]
            if not chunk:
                break
            position += len(chunk)
            yield chunk
            if position >= stop:
                break

    def close(self) -> None:
        if self.body is not None:
            self.body.close()


def ranged_file_response(
    request: HttpRequest,
    file: BinaryIO,
    *,
    size: int,
    content_type: str,
    filename: str | None = None,
    as_attachment: bool = False,
    etag: str | None = None,
    last_modified: datetime | None = None,
    limit: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> HttpResponseBase:
    """Answer ``request`` with ``file`` (``size`` bytes, from offset 0); see
    ``ranged_response``. The response owns ``file`` and closes it when it is closed."""
    return ranged_response(
        request,
        FileSource(file),
        size=size,
        content_type=content_type,
        filename=filename,
        as_attachment=as_attachment,
        etag=etag,
        last_modified=last_modified,
        limit=limit,
        chunk_size=chunk_size,
    )


def ranged_response(
    request: HttpRequest,
    source: RangeSource,
    *,
    size: int,
    content_type: str,
    filename: str | None = None,
    as_attachment: bool = False,
    etag: str | None = None,
    last_modified: datetime | None = None,
    limit: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> HttpResponseBase:
    """Answer ``request`` with the ``size`` bytes of ``source``.

    Returns 200 with the whole content, 206 with one requested range, or 416 when the range
    lies beyond the end. HEAD gets the same headers and no body. The response owns
    ``source`` and closes it when it is closed.

    ``limit`` simulates a truncated file: no byte at file offset ``limit`` or beyond is ever
    sent. Status and ``Content-Range`` still describe the full range, but ``Content-Length`` is
    left out so that every server ends the short body cleanly (with a promised length, Django's
    development server would keep the connection open and the client would wait for its read
    timeout). ``last_modified`` should be timezone-aware.
    """
    headers = {"Accept-Ranges": "bytes"}
    if etag is not None:
        etag = quote_etag(etag)
        headers["ETag"] = etag
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified.timestamp())
    disposition = content_disposition_header(as_attachment, filename) if filename else None
    if disposition:
        headers["Content-Disposition"] = disposition

    try:
        byte_range = _requested_range(request, size, etag, headers.get("Last-Modified"))
    except _Unsatisfiable:
        source.close()
        headers["Content-Range"] = f"bytes */{size}"
        return HttpResponse(status=416, headers=headers)

    if byte_range is None:
        status, start, length = 200, 0, size
    else:
        status, (start, end) = 206, byte_range
        length = end - start + 1
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Type"] = content_type
    stop = start + length if limit is None else min(start + length, max(limit, start))
    if stop == start + length:
        headers["Content-Length"] = str(length)

    if request.method == "HEAD":
        source.close()
        return HttpResponse(status=status, headers=headers)
    body = _Slice(source, start, stop, chunk_size)
    return StreamingHttpResponse(body, status=status, headers=headers)


def _requested_range(
    request: HttpRequest, size: int, etag: str | None, last_modified: str | None
) -> tuple[int, int] | None:
    """The single ``(first, last)`` byte range to send, or None for the whole file.

    Raises _Unsatisfiable for a well-formed range that lies entirely past the end.
    """
    header = request.headers.get("Range")
    if header is None or request.method not in ("GET", "HEAD"):
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and not _if_range_matches(if_range.strip(), etag, last_modified):
        return None
    match = RANGE_RE.fullmatch(header)  # several ranges contain a comma and never match
    if match is None:
        return None
    first, last = match.groups()
    if len(first) > MAX_DIGITS or len(last) > MAX_DIGITS:
        return None
    if first:
        start = int(first)
        if last and int(last) < start:
            return None  # an invalid range-spec: ignore the header
        if start >= size:
            raise _Unsatisfiable
        return start, min(int(last), size - 1) if last else size - 1
    if not last:
        return None  # "bytes=-"
    suffix = int(last)
    if suffix == 0:
        raise _Unsatisfiable
    if size == 0:
        return None  # satisfiable in theory, but "bytes 0--1/0" cannot be written: send all
    return max(0, size - suffix), size - 1


def _if_range_matches(value: str, etag: str | None, last_modified: str | None) -> bool:
    if value.startswith(('"', "W/")):
        # Strong comparison: weak tags never match.
        return etag is not None and not etag.startswith("W/") and value == etag
    if last_modified is None:
        return False
    date = parse_http_date_safe(value)
    return date is not None and date == parse_http_date_safe(last_modified)


class _Slice:
    """Iterates over bytes ``start`` to ``stop`` of a source; closing it closes the source,
    even if iteration never began (StreamingHttpResponse calls ``close`` with the response)."""

    def __init__(self, source: RangeSource, start: int, stop: int, chunk_size: int) -> None:
        self.source = source
        self.start = start
        self.stop = stop
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        return self.source.chunks(self.start, self.stop, self.chunk_size)

    def close(self) -> None:
        self.source.close()
