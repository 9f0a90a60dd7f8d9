"""Copy a finished video from Rivya into our storage, with bounded memory.

The download streams into a temporary file on the worker's disk (never the web server's)
while its SHA-256 and size are computed, under a size cap and with an MP4 check on the first
bytes. The complete local copy is probed with PyAV (real duration and dimensions, a poster
frame) and then handed to the default storage, which copies it in chunks (S3: multipart).
Nothing ever holds the whole video in memory.

Only URLs on allowed hosts are followed: the API base's host, plus ``RIVYA_MEDIA_HOSTS``
(exact names or ``*.example.com``). A host other than the API's must not resolve to a
private, loopback or otherwise internal address unless it is listed as an IP literal.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import logging
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import av
import httpx
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.utils import timezone

from generations.models import Generation, generation_key

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
MAX_REDIRECTS = 3
DEFAULT_MAX_VIDEO_BYTES = 500 * 1024 * 1024
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=60.0, pool=10.0)
POSTER_AT = 0.5  # seconds into the video
POSTER_QUALITY = 85


class MirrorError(Exception):
    """Why a result could not be mirrored; ``retryable`` says whether trying again may help."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable

    def __repr__(self) -> str:
        return f"MirrorError(code={self.code!r}, retryable={self.retryable})"


@dataclass(frozen=True)
class Download:
    sha256: str
    size: int


@dataclass(frozen=True)
class Probe:
    duration: float | None
    width: int
    height: int
    poster: bytes


@dataclass(frozen=True)
class Mirrored:
    """Storage keys and facts of a mirrored video."""

    video: str
    poster: str
    provenance: str
    sha256: str
    size: int
    duration: float | None
    width: int
    height: int


def max_video_bytes() -> int:
    return int(getattr(settings, "RIVYA_MAX_VIDEO_BYTES", DEFAULT_MAX_VIDEO_BYTES))


# --- Hosts -------------------------------------------------------------------------------


def _host_allowed_by_list(host: str) -> bool:
    for entry in settings.RIVYA_MEDIA_HOSTS:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry.strip("[]"):
            return True
    return False


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global or ip.is_multicast


def check_url(url: str) -> None:
    """Refuse a URL we must not download from; raise :class:`MirrorError` if so."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password:
        raise MirrorError("media_url_refused", "The result URL is not a plain http(s) URL.")
    api_host = (urlsplit(settings.RIVYA_API_BASE).hostname or "").lower()
    if host == api_host:
        return
    if not _host_allowed_by_list(host):
        raise MirrorError("media_host_refused", f"The result host {host!r} is not allowed.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return  # an IP literal in the list is an explicit choice
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise MirrorError(
            "media_host_unresolved", f"The result host {host!r} does not resolve.", retryable=True
        ) from exc
    if any(_is_internal(str(info[4][0])) for info in infos):
        raise MirrorError(
            "media_host_refused", f"The result host {host!r} resolves to an internal address."
        )


# --- Download ----------------------------------------------------------------------------


def download(url: str, target: IO[bytes], *, limit: int | None = None) -> Download:
    """Stream ``url`` into ``target``; check host, size cap, length and the MP4 signature.

    Memory use is one chunk, whatever the size. Redirects are followed by hand so each
    hop's host is checked.
    """
    limit = max_video_bytes() if limit is None else limit
    with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=False) as http:
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(url)
            try:
                with http.stream("GET", url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    return _receive(response, target, limit)
            except httpx.HTTPError as exc:
                raise MirrorError(
                    "download_failed",
                    f"The download broke off: {type(exc).__name__}.",
                    retryable=True,
                ) from exc
    raise MirrorError("download_failed", "Too many redirects.")


def _receive(response: httpx.Response, target: IO[bytes], limit: int) -> Download:
    if response.status_code != 200:
        retryable = response.status_code in {408, 425, 429} or response.status_code >= 500
        raise MirrorError(
            "download_failed",
            f"The download answered HTTP {response.status_code}.",
            retryable=retryable,
        )
    expected = _content_length(response)
    if expected is not None and expected > limit:
        raise MirrorError("video_too_large", f"The video is larger than {limit} bytes.")
    digest = hashlib.sha256()
    size = 0
    head = b""
    target.seek(0)
    target.truncate()
    for chunk in response.iter_bytes(CHUNK_SIZE):
        size += len(chunk)
        if size > limit:
            raise MirrorError("video_too_large", f"The video is larger than {limit} bytes.")
        if len(head) < 12:
            head += chunk[: 12 - len(head)]
        digest.update(chunk)
        target.write(chunk)
    target.flush()
    if expected is not None and size != expected:
        raise MirrorError(
            "download_truncated",
            f"Received {size} of {expected} bytes.",
            retryable=True,
        )
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise MirrorError("not_mp4", "The result does not start like an MP4 file.")
    return Download(sha256=digest.hexdigest(), size=size)


def _content_length(response: httpx.Response) -> int | None:
    if response.headers.get("content-encoding", "identity") != "identity":
        return None
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def check_boxes(path: Path, size: int) -> None:
    """Walk the top-level MP4 boxes: the last one must end exactly at the end of the file.

    Catches a truncated file even when the server announced the shortened length.
    """
    offset = 0
    with path.open("rb") as fh:
        while offset < size:
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                break
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 1 and len(header) == 16:
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:
                box_size = size - offset
            if box_size < 8:
                break
            offset += box_size
    if offset != size:
        raise MirrorError(
            "download_truncated",
            "The video's boxes do not match its length.",
            retryable=True,
        )


# --- Probe -------------------------------------------------------------------------------


def probe(path: Path) -> Probe:
    """Duration, width, height and a poster JPEG, read with PyAV from the local copy.

    PyAV reads the file through FFmpeg's demuxer: only the index and the frames it
    decodes are loaded, never the whole file.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = _duration(container, stream)
            poster = _poster(container, stream, duration)
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise MirrorError("video_unreadable", f"The video cannot be read: {exc}") from exc
    if not width or not height or poster is None:
        raise MirrorError("video_unreadable", "The video has no decodable picture.")
    return Probe(duration=duration, width=width, height=height, poster=poster)


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


def _poster(container: Any, stream: Any, duration: float | None) -> bytes | None:
    at = POSTER_AT if duration is None or duration > POSTER_AT else 0.0
    frame = None
    if at and stream.time_base is not None:
        container.seek(int(at / stream.time_base), stream=stream)
    for decoded in container.decode(stream):
        frame = decoded
        if decoded.time is None or decoded.time >= at:
            break
    if frame is None:
        return None
    buffer = io.BytesIO()
    frame.to_image().save(buffer, format="JPEG", quality=POSTER_QUALITY)
    return buffer.getvalue()


# --- Storage -----------------------------------------------------------------------------


def _save(storage: Storage, key: str, content: File[Any]) -> str:
    """Write ``key`` exactly, replacing an earlier partial attempt's object."""
    if storage.exists(key):
        storage.delete(key)
    saved = storage.save(key, content)
    if saved != key:
        raise MirrorError("storage_failed", "The storage renamed the file.", retryable=True)
    return saved


def provenance(generation: Generation, fetched: Download) -> dict[str, Any]:
    """What was asked, who asked, what Rivya answered and what we stored."""
    creator = generation.created_by
    return {
        "generation": str(generation.pk),
        "team": generation.team_id,
        "creator": creator.get_username(),
        "model": generation.model,
        "prompt": generation.prompt,
        "params": generation.rivya_params(),
        "reference_image": bool(generation.reference_image),
        "rivya_task_id": generation.rivya_task_id,
        "reserved_credits": generation.reserved_credits,
        "final_credits": generation.final_credits,
        "created_at": _iso(generation.created_at),
        "submitted_at": _iso(generation.submitted_at),
        "mirrored_at": _iso(timezone.now()),
        "video": {"sha256": fetched.sha256, "size": fetched.size},
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def mirror_result(generation: Generation, url: str, *, storage: Storage | None = None) -> Mirrored:
    """Download ``url`` and store video, poster and provenance under the generation's keys."""
    storage = storage or default_storage
    with tempfile.NamedTemporaryFile(prefix="rivya-", suffix=".mp4") as local:
        fetched = download(url, local)
        path = Path(local.name)
        check_boxes(path, fetched.size)
        facts = probe(path)
        local.seek(0)
        video_key = _save(storage, generation_key(generation, "video.mp4"), File(local))
    poster_key = _save(storage, generation_key(generation, "poster.jpg"), ContentFile(facts.poster))
    record = provenance(generation, fetched)
    record["video"].update(
        {"duration": facts.duration, "width": facts.width, "height": facts.height}
    )
    document = json.dumps(record, ensure_ascii=False, indent=2).encode()
    provenance_key = _save(
        storage, generation_key(generation, "provenance.json"), ContentFile(document)
    )
    return Mirrored(
        video=video_key,
        poster=poster_key,
        provenance=provenance_key,
        sha256=fetched.sha256,
        size=fetched.size,
        duration=facts.duration,
        width=facts.width,
        height=facts.height,
    )
