"""Serve a file with HTTP Range support (RFC 9110 §14), so browsers can seek in videos.

One single byte range per request is honoured; a malformed ``Range`` header, several ranges,
a failed ``If-Range`` or a method other than GET/HEAD get the whole file with 200, as the RFC
allows. The file is read in chunks as the response is sent and closed with the response.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO

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
    """Answer ``request`` with ``file`` (``size`` bytes, read from its current start at 0).

    Returns 200 with the whole file, 206 with one requested range, or 416 when the range lies
    beyond the end. HEAD gets the same headers and no body. The response owns ``file`` and
    closes it when it is closed.

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
        file.close()
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
        file.close()
        return HttpResponse(status=status, headers=headers)
    body = _FileSlice(file, start, stop, chunk_size)
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


class _FileSlice:
    """Iterates over bytes ``start`` to ``stop`` of a file; closing it closes the file, even if
    iteration never began (StreamingHttpResponse calls ``close`` with the response)."""

    def __init__(self, file: BinaryIO, start: int, stop: int, chunk_size: int) -> None:
        self.file = file
        self.start = start
        self.stop = stop
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        position = self.start
        if position < self.stop:
            self.file.seek(position)
        while position < self.stop:
            chunk = self.file.read(min(self.chunk_size, self.stop - position))
            if not chunk:
                break  # the file shrank since its size was taken
            position += len(chunk)
            yield chunk

    def close(self) -> None:
        self.file.close()
