"""Copy a finished video from Rivya into our storage, with bounded memory and time.

The download streams into a temporary file on the worker's disk (never the web server's)
while its SHA-256 and size are computed, under a size cap, an overall deadline and with an
MP4 check on the first bytes. The complete local copy is probed with PyAV (real duration
and dimensions, a poster frame) and then handed to the default storage, which copies it in
chunks (S3: multipart). Nothing ever holds the whole video in memory. The gallery's media
(a small poster, a placeholder colour, a preview clip: see :mod:`generations.previews`) are
made from the same local copy; when they cannot be, the video is saved without them and
``manage.py make_previews`` can make them later from the stored video.

Which URLs are followed:

- the API base's host, on http or https, connected to by name: the built-in sandbox and
  local stand-ins serve media there, on loopback;
- any other host over https only, and only when every address it resolves to is public.
  ``RIVYA_MEDIA_HOSTS`` (exact names or ``*.example.com``), when not empty, narrows this to
  the listed hosts; an IP literal listed there is the operator's explicit choice and is
  allowed even if private.

The connection goes to the address that was checked, never to a second lookup of the name
(which an attacker's DNS could answer differently): the request is sent to that IP with the
original ``Host`` header and, over https, the original name as SNI and for certificate
verification. Each redirect is checked and pinned again.

Every copy writes its own keys (``video-<copy_id>.mp4``, ``poster-…``, ``poster-small-…``,
``preview-…``, ``provenance-…``), never an object it did not write itself: of two copies of
one generation that race, the caller keeps one and calls :func:`discard` on the other.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import av
import httpx
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.utils import timezone

from generations import previews
from generations.models import Generation, generation_key

# ``resolve`` is looked up here at call time, so tests can replace ``videos.resolve``.
from rivyaweb.addresses import NUMERIC_LABEL, is_public, resolve

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 3
DEFAULT_MAX_VIDEO_BYTES = 500 * 1024 * 1024
DEFAULT_MIN_RATE = 1024 * 1024  # bytes per second
MIN_DEADLINE = 60.0  # seconds: a small cap must not make a slow start fatal
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0
COPY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Compressed bodies are refused, so a small answer cannot inflate into a huge one in memory.
REQUEST_HEADERS = {"Accept-Encoding": "identity"}

Resolver = Callable[[str, int], Sequence[str]]


class CopyError(Exception):
    """Why a result could not be copied; ``retryable`` says whether trying again may help,
    ``retry_after`` (seconds) how long the server asked us to wait, if it did."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"CopyError(code={self.code!r}, retryable={self.retryable})"


@dataclass(frozen=True)
class Target:
    """A checked URL and the checked addresses to connect to, in order of preference;
    none: connect by name (the API host, an IP literal)."""

    url: httpx.URL
    addresses: tuple[str, ...] = ()


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
class GalleryMedia:
    """Storage keys of a small poster and a preview clip, and a placeholder colour; each
    empty when it could not be made."""

    poster_small: str = ""
    preview: str = ""
    placeholder: str = ""

    def fields(self) -> dict[str, str]:
        """The row's fields this sets: only those that were made."""
        made = {
            "poster_small": self.poster_small,
            "preview": self.preview,
            "placeholder": self.placeholder,
        }
        return {name: value for name, value in made.items() if value}


@dataclass(frozen=True)
class Copied:
    """Storage keys and facts of one stored copy of a video."""

    video: str
    poster: str
    provenance: str
    sha256: str
    size: int
    duration: float | None
    width: int
    height: int
    media: GalleryMedia = GalleryMedia()

    def keys(self) -> list[str]:
        """Every object this copy wrote."""
        extra = [self.media.poster_small, self.media.preview]
        return [self.video, self.poster, self.provenance, *(key for key in extra if key)]


def max_video_bytes() -> int:
    return int(getattr(settings, "RIVYA_MAX_VIDEO_BYTES", DEFAULT_MAX_VIDEO_BYTES))


def download_deadline() -> float:
    """Seconds a whole download may take: ``RIVYA_DOWNLOAD_TIMEOUT``, or the size cap at
    ``RIVYA_DOWNLOAD_MIN_RATE`` bytes per second (at least a minute)."""
    configured = getattr(settings, "RIVYA_DOWNLOAD_TIMEOUT", None)
    if configured:
        return float(configured)
    rate = float(getattr(settings, "RIVYA_DOWNLOAD_MIN_RATE", DEFAULT_MIN_RATE))
    return max(MIN_DEADLINE, max_video_bytes() / rate)


# --- Hosts -------------------------------------------------------------------------------


def _media_hosts() -> list[str]:
    return [e.strip().lower().rstrip(".") for e in settings.RIVYA_MEDIA_HOSTS if e.strip()]


def _listed(host: str, entries: list[str]) -> bool:
    for entry in entries:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry.strip("[]"):
            return True
    return False


def _listed_addresses(entries: list[str]) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    listed = set()
    for entry in entries:
        with suppress(ValueError):
            listed.add(ipaddress.ip_address(entry.strip("[]")))
    return listed


def _refused(host: str, why: str) -> CopyError:
    return CopyError("media_host_refused", f"The result host {host!r} is refused: {why}.")


def _url_refused() -> CopyError:
    return CopyError("media_url_refused", "The result URL is not a plain http(s) URL.")


def check_url(url: object) -> Target:
    """Check a URL we are asked to download from; raise :class:`CopyError` if we must not.

    Returns where to connect: by name for the API host and IP literals, else the checked
    addresses.
    """
    if not isinstance(url, str):
        raise _url_refused()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _url_refused() from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in {"http", "https"} or not host or parts.username or parts.password:
        raise _url_refused()
    if host == (urlsplit(settings.RIVYA_API_BASE).hostname or "").rstrip("."):
        return Target(_parse(url))
    if scheme != "https":
        raise _refused(host, "plain http is only followed to the API host")
    if "%" in host:
        raise _refused(host, "a zone-scoped address or an encoded name")
    entries = _media_hosts()
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if literal in _listed_addresses(entries):
            return Target(_parse(url))  # the operator listed this very address
        if entries:
            raise _refused(host, "not in RIVYA_MEDIA_HOSTS")
        if not is_public(host):
            raise _refused(host, "not a public address")
        return Target(_parse(url))
    if NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        raise _refused(host, "an address spelled as a name")
    parsed = _parse(url)
    name = parsed.raw_host.decode("ascii").rstrip(".")
    if entries and not (_listed(host, entries) or _listed(name, entries)):
        raise _refused(host, "not in RIVYA_MEDIA_HOSTS")
    try:
        addresses = list(resolve(name, port or 443))
    except (OSError, UnicodeError) as exc:
        raise CopyError(
            "media_host_unresolved", f"The result host {host!r} does not resolve.", retryable=True
        ) from exc
    if not addresses:
        raise CopyError(
            "media_host_unresolved", f"The result host {host!r} has no address.", retryable=True
        )
    if not all(is_public(address) for address in addresses):
        raise _refused(host, "it resolves to an address that is not public")
    return Target(parsed, addresses=tuple(dict.fromkeys(addresses)))


def _parse(url: str) -> httpx.URL:
    try:
        return httpx.URL(url).copy_with(fragment=None)
    except (httpx.InvalidURL, UnicodeError):
        raise _url_refused() from None


def pinned_request(
    http: httpx.Client, target: Target, address: str | None, timeout: httpx.Timeout
) -> httpx.Request:
    """The GET for ``target``: to ``address``, as if to its name (None: to its name)."""
    if address is None:
        return http.build_request("GET", target.url, headers=REQUEST_HEADERS, timeout=timeout)
    return http.build_request(
        "GET",
        target.url.copy_with(host=address),
        headers={**REQUEST_HEADERS, "Host": target.url.netloc.decode("ascii")},
        # httpcore hands this to the TLS handshake as server_hostname: SNI and the name
        # the certificate is verified against.
        extensions={"sni_hostname": target.url.raw_host.decode("ascii").rstrip(".")},
        timeout=timeout,
    )


# --- Download ----------------------------------------------------------------------------


class Deadline:
    """The moment a download must have finished by, on an injectable monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.at = clock() + seconds
        self.cut = threading.Event()

    def left(self) -> float:
        return self.at - self.clock()

    def passed(self) -> bool:
        return self.cut.is_set() or self.left() <= 0

    def too_slow(self) -> CopyError:
        return CopyError(
            "download_too_slow",
            f"The download did not finish within {self.seconds:g} seconds.",
            retryable=True,
        )

    def check(self) -> None:
        if self.passed():
            raise self.too_slow()

    def timeout(self) -> httpx.Timeout:
        """Per-operation timeouts that never reach past the deadline."""
        left = max(self.left(), 0.001)
        return httpx.Timeout(
            connect=min(CONNECT_TIMEOUT, left),
            read=min(READ_TIMEOUT, left),
            write=min(READ_TIMEOUT, left),
            pool=min(CONNECT_TIMEOUT, left),
        )

    @contextmanager
    def watch(self, response: httpx.Response) -> Iterator[None]:
        """Shut the connection down at the deadline.

        The check after each chunk stops a body that drips; this stops one that stops
        arriving altogether, which would otherwise wait out a whole read timeout.
        """
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None

        def cut() -> None:
            self.cut.set()
            if sock is not None:
                # The plain socket's shutdown, not SSLSocket's (which also drops its TLS
                # state from under the reading thread): wakes the blocked read with EOF.
                with suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

        timer = threading.Timer(max(self.left(), 0.0), cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()


def download(
    url: str,
    target: IO[bytes],
    *,
    limit: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    deadline: Deadline | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Download:
    """Stream ``url`` into ``target``; check hosts, size cap, deadline, length and the MP4
    signature.

    Memory use is one network chunk, whatever the size. Redirects are followed by hand so
    each hop is checked and pinned. ``on_progress(bytes_so_far)`` runs after every chunk;
    whatever it raises stops the download and propagates.
    """
    limit = max_video_bytes() if limit is None else limit
    deadline = deadline or Deadline(download_deadline())
    with httpx.Client(
        transport=transport,
        follow_redirects=False,
        # Proxies from the environment would connect on our behalf, past the pinning.
        trust_env=False,
        # A pooled connection is keyed by address, not by the name it was opened for.
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as http:
        for _hop in range(MAX_REDIRECTS + 1):
            checked = check_url(url)
            response = _send(http, checked, deadline)
            try:
                if not response.is_redirect:
                    return _receive(response, target, limit, deadline, on_progress)
                url = str(checked.url.join(response.headers["location"]))
            except httpx.InvalidURL:
                raise _url_refused() from None
            finally:
                response.close()
    raise CopyError("download_failed", f"More than {MAX_REDIRECTS} redirects.")


def _send(http: httpx.Client, target: Target, deadline: Deadline) -> httpx.Response:
    """Send to the first checked address that takes the connection, as a client connecting
    by name would try each address in turn."""
    failed: httpx.HTTPError | None = None
    for address in target.addresses or (None,):
        deadline.check()
        request = pinned_request(http, target, address, deadline.timeout())
        try:
            return http.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            failed = exc
        except httpx.HTTPError as exc:
            raise _broke_off(exc, deadline) from exc
    assert failed is not None
    raise _broke_off(failed, deadline) from failed


def _broke_off(exc: httpx.HTTPError, deadline: Deadline) -> CopyError:
    if deadline.passed():
        return deadline.too_slow()
    return CopyError(
        "download_failed", f"The download broke off: {type(exc).__name__}.", retryable=True
    )


def _chunks(response: httpx.Response, deadline: Deadline) -> Iterator[bytes]:
    """The body's chunks as they arrive, with transport errors turned into CopyError.

    Raw chunks: re-chunking would hold a slow drip back from the deadline check and from
    ``on_progress``. Only the reading is guarded, so whatever ``on_progress`` raises in the
    consumer's loop propagates unchanged.
    """
    try:
        yield from response.iter_raw()
    except httpx.HTTPError as exc:
        raise _broke_off(exc, deadline) from exc


def _receive(
    response: httpx.Response,
    target: IO[bytes],
    limit: int,
    deadline: Deadline,
    on_progress: Callable[[int], None] | None,
) -> Download:
    _check_status(response)
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        raise CopyError("download_failed", "The video was sent compressed.")
    expected = _content_length(response)
    if expected is not None and expected > limit:
        raise CopyError("video_too_large", f"The video is larger than {limit} bytes.")
    digest = hashlib.sha256()
    size = 0
    head = b""
    target.seek(0)
    target.truncate()
    with deadline.watch(response):
        for chunk in _chunks(response, deadline):
            size += len(chunk)
            if size > limit:
                raise CopyError("video_too_large", f"The video is larger than {limit} bytes.")
            if len(head) < 12:
                head += chunk[: 12 - len(head)]
            digest.update(chunk)
            target.write(chunk)
            if on_progress is not None:
                on_progress(size)
            deadline.check()
    # A connection shut at the deadline ends a body without a length as if it were whole.
    deadline.check()
    target.flush()
    if expected is not None and size != expected:
        raise CopyError(
            "download_truncated",
            f"Received {size} of {expected} bytes.",
            retryable=True,
        )
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise CopyError("not_mp4", "The result does not start like an MP4 file.")
    return Download(sha256=digest.hexdigest(), size=size)


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if status == 200:
        return
    message = f"The download answered HTTP {status}."
    if status >= 500 or status in {408, 425, 429}:
        raise CopyError(
            "download_failed", message, retryable=True, retry_after=_retry_after(response)
        )
    if status in {403, 410}:
        raise CopyError("media_link_expired", message)
    raise CopyError("download_failed", message)


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, from either of its forms; None if absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _content_length(response: httpx.Response) -> int | None:
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
        raise CopyError(
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
            frame = previews.poster_frame(container, stream, duration)
            poster = previews.jpeg(frame.to_image()) if frame is not None else None
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise CopyError("video_unreadable", f"The video cannot be read: {exc}") from exc
    if not width or not height or poster is None:
        raise CopyError("video_unreadable", "The video has no decodable picture.")
    return Probe(duration=duration, width=width, height=height, poster=poster)


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


# --- Storage -----------------------------------------------------------------------------


def _save(storage: Storage, key: str, content: File[Any], written: list[str]) -> str:
    """Write a new object at exactly ``key`` and record it in ``written``.

    An existing object is left alone: it belongs to another copy (S3 would overwrite it,
    local storage would pick another name).
    """
    try:
        exists = storage.exists(key)
    except Exception as exc:
        raise _storage_failed(exc) from exc
    if exists:
        raise CopyError(
            "storage_conflict", f"{key} exists already; a copy id was reused.", retryable=True
        )
    # Ours from here: it did not exist and the copy id is this call's alone, so a partial
    # write that fails half-way is ours to remove.
    written.append(key)
    try:
        saved = storage.save(key, content)
    except Exception as exc:
        raise _storage_failed(exc) from exc
    if saved != key:
        written.append(saved)
        raise CopyError("storage_failed", "The storage renamed the file.", retryable=True)
    return saved


def _storage_failed(exc: Exception) -> CopyError:
    return CopyError("storage_failed", f"The storage failed: {type(exc).__name__}.", retryable=True)


def _delete(storage: Storage, keys: Sequence[str]) -> Exception | None:
    """Delete every key that exists; return the first error, after trying them all."""
    failed: Exception | None = None
    for key in keys:
        try:
            if storage.exists(key):
                storage.delete(key)
        except Exception as exc:
            logger.warning("could not delete %s: %r", key, exc)
            failed = failed or exc
    return failed


def provenance(generation: Generation, fetched: Download, copy_id: str) -> dict[str, Any]:
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
        "copy_id": copy_id,
        "video": {"sha256": fetched.sha256, "size": fetched.size},
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def copy_result(
    generation: Generation,
    url: str,
    *,
    copy_id: str,
    storage: Storage | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> Copied:
    """Download ``url`` and store video, poster, gallery media and provenance under keys of
    this copy.

    ``copy_id`` (letters, digits, ``-`` and ``_``) must be unique to this call, e.g. a
    random hex string. On any failure the objects this call wrote are deleted before the
    error propagates; objects of other copies are never touched. Gallery media that cannot
    be made are left out (and logged): they never make the copy fail.
    """
    if not COPY_ID.fullmatch(copy_id):
        raise ValueError(f"copy_id must match {COPY_ID.pattern}, not {copy_id!r}")
    storage = storage or default_storage
    written: list[str] = []
    try:
        with tempfile.NamedTemporaryFile(prefix="rivya-", suffix=".mp4") as local:
            fetched = download(url, local, on_progress=on_progress)
            path = Path(local.name)
            check_boxes(path, fetched.size)
            facts = probe(path)
            local.seek(0)
            video_key = _save(
                storage,
                generation_key(generation, f"video-{copy_id}.mp4"),
                File(local),
                written,
            )
            media = GalleryMedia(
                poster_small=_small_poster(storage, generation, copy_id, facts.poster, written),
                preview=_preview(storage, generation, copy_id, path, facts.duration, written),
                placeholder=_placeholder(generation, facts.poster),
            )
        poster_key = _save(
            storage,
            generation_key(generation, f"poster-{copy_id}.jpg"),
            ContentFile(facts.poster),
            written,
        )
        record = provenance(generation, fetched, copy_id)
        record["video"].update(
            {"duration": facts.duration, "width": facts.width, "height": facts.height}
        )
        document = json.dumps(record, ensure_ascii=False, indent=2).encode()
        provenance_key = _save(
            storage,
            generation_key(generation, f"provenance-{copy_id}.json"),
            ContentFile(document),
            written,
        )
    except BaseException:
        _delete(storage, written)
        raise
    return Copied(
        video=video_key,
        poster=poster_key,
        provenance=provenance_key,
        sha256=fetched.sha256,
        size=fetched.size,
        duration=facts.duration,
        width=facts.width,
        height=facts.height,
        media=media,
    )


def discard(copied: Copied, *, storage: Storage | None = None) -> None:
    """Delete exactly the objects of ``copied`` (a copy that lost the race)."""
    failed = _delete(storage or default_storage, copied.keys())
    if failed is not None:
        raise _storage_failed(failed) from failed


# --- Gallery media -----------------------------------------------------------------------
#
# Each is made and stored on its own; one that fails is logged and left empty, never
# failing what it is made for. Objects stored are added to ``written``; a part stored by a
# failing write is removed at once.


def _placeholder(generation: Generation, poster: bytes) -> str:
    try:
        return previews.placeholder(poster)
    except Exception as exc:
        logger.warning("generation %s: no placeholder colour: %r", generation.pk, exc)
        return ""


def _small_poster(
    storage: Storage, generation: Generation, token: str, poster: bytes, written: list[str]
) -> str:
    key = generation_key(generation, f"poster-small-{token}.jpg")
    try:
        return _store_made(storage, key, lambda: previews.small_poster(poster), written)
    except Exception as exc:
        logger.warning("generation %s: no small poster: %r", generation.pk, exc)
        return ""


def _preview(
    storage: Storage,
    generation: Generation,
    token: str,
    video: Path,
    duration: float | None,
    written: list[str],
) -> str:
    key = generation_key(generation, f"preview-{token}.mp4")
    try:
        return _store_made(
            storage, key, lambda: previews.make_preview(video, duration=duration), written
        )
    except Exception as exc:
        logger.warning("generation %s: no preview clip: %r", generation.pk, exc)
        return ""


def _store_made(storage: Storage, key: str, make: Callable[[], bytes], written: list[str]) -> str:
    """Store what ``make()`` returns at ``key``; if that fails, remove any part stored."""
    mine: list[str] = []
    try:
        saved = _save(storage, key, ContentFile(make()), mine)
    except BaseException:
        _delete(storage, mine)
        raise
    written.extend(mine)
    return saved


def fill_gallery_media(generation: Generation, *, storage: Storage | None = None) -> str:
    """Make the gallery media a ready video lacks, from its stored video and poster, under
    keys of a new token (``manage.py make_previews``, for videos saved before these
    existed).

    Returns ``"made"`` (the row has what could be made), ``"failed"`` (nothing could be
    made; logged) or ``"changed"`` (the row changed meanwhile, e.g. another run filled it
    or it was deleted: what this call stored is deleted again).
    """
    storage = storage or default_storage
    written: list[str] = []
    try:
        fields = _fill(storage, generation, uuid.uuid4().hex[:12], written).fields()
        if fields and generation.gallery_media_made(video=generation.video.name or "", **fields):
            return "made"
    except BaseException:
        _delete(storage, written)
        raise
    _delete(storage, written)
    return "changed" if fields else "failed"


def _fill(storage: Storage, generation: Generation, token: str, written: list[str]) -> GalleryMedia:
    small = colour = clip = ""
    if not generation.poster_small or not generation.placeholder:
        poster = _read_stored(storage, generation, generation.poster.name or "")
        if poster is not None and not generation.poster_small:
            small = _small_poster(storage, generation, token, poster, written)
        if poster is not None and not generation.placeholder:
            colour = _placeholder(generation, poster)
    if not generation.preview:
        with tempfile.NamedTemporaryFile(prefix="rivya-", suffix=".mp4") as local:
            if _copy_stored(storage, generation, generation.video.name or "", local):
                clip = _preview(
                    storage, generation, token, Path(local.name), generation.video_duration, written
                )
    return GalleryMedia(poster_small=small, preview=clip, placeholder=colour)


def _read_stored(storage: Storage, generation: Generation, name: str) -> bytes | None:
    """A small stored object's bytes (a poster), or None (logged) when it cannot be read."""
    try:
        with storage.open(name, "rb") as source:
            data: bytes = source.read()
    except Exception as exc:
        logger.warning("generation %s: cannot read its poster: %r", generation.pk, exc)
        return None
    return data


def _copy_stored(storage: Storage, generation: Generation, name: str, target: IO[bytes]) -> bool:
    """Copy a stored video into ``target`` in chunks; False (logged) when it cannot be read.

    An S3 object is downloaded straight into ``target``: reading it through the storage's
    file would first hold all of it in memory.
    """
    try:
        with storage.open(name, "rb") as source:
            s3_object = getattr(source, "obj", None)  # django-storages' S3File
            if s3_object is not None:
                s3_object.download_fileobj(target)
            else:
                shutil.copyfileobj(source, target, 1024 * 1024)
        target.flush()
    except Exception as exc:
        logger.warning("generation %s: cannot read its stored video: %r", generation.pk, exc)
        return False
    return True
