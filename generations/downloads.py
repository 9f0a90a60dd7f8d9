"""Bulk download: the videos selected in the gallery as one ZIP, streamed from storage.

Nothing is built in memory or on disk. The archive is a ``zipstream.ZipStream`` of entries
that read their file from storage in chunks only while the response is being sent, so
memory stays at about one chunk whatever the selection weighs. Entries are stored, not
compressed (videos do not compress), and zip64 records are written whenever a size or an
offset passes 4 GiB, so archives of any size open everywhere.

Every size is known before the first byte goes out: the storage is asked for each file's
size (one stat, or one HEAD on S3) before the headers are sent, so ``Content-Length`` is
exact and browsers show progress. A selection is all or nothing: an id that is not a ready
video of the current team, or one more than ``GALLERY_ZIP_MAX_ITEMS``, refuses the whole
request with a page saying why; nothing is ever dropped silently.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from zipstream import ZIP_STORED, ZipStream

from generations.accounts import current_team, generations_for_user
from generations.models import Generation, Status

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024


class Refused(Exception):
    """Why a selection cannot be downloaded: shown to the person, nothing is sent."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@login_required
@require_POST
def gallery_download(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The selected videos (repeated ``ids`` fields) of the current team as one ZIP."""
    try:
        ids = selected_ids(request.POST.getlist("ids"), max_items())
        generations = downloadable(request, ids)
        archive = build_archive(generations)
    except Refused as refusal:
        return render(
            request,
            "generations/gallery_download_refused.html",
            {"message": refusal.message},
            status=refusal.status,
        )
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Length"] = str(len(archive))
    response["Content-Disposition"] = content_disposition_header(
        True, archive_name(len(generations))
    )
    response["Cache-Control"] = "private, no-store"
    return response


def max_items() -> int:
    return int(settings.GALLERY_ZIP_MAX_ITEMS)


def selected_ids(values: list[str], limit: int) -> list[str]:
    """The distinct ids asked for, in order; refuse an empty or too large selection."""
    ids = list(dict.fromkeys(value.strip() for value in values if value.strip()))
    if not ids:
        raise Refused(_("No video was selected. Select one or more videos, then download."))
    if len(ids) > limit:
        raise Refused(
            _(
                "You selected %(count)d videos, but at most %(limit)d can be downloaded at "
                "once. Nothing was downloaded; select fewer and download them in several parts."
            )
            % {"count": len(ids), "limit": limit}
        )
    return ids


def downloadable(request: HttpRequest, ids: list[str]) -> list[Generation]:
    """The ready, visible videos of the current team among ``ids``; refuse if any is not."""
    pks = set()
    for value in ids:
        try:
            pks.add(uuid.UUID(value))
        except ValueError:
            continue  # counted below as one that cannot be downloaded
    generations = list(
        generations_for_user(request)
        .filter(
            pk__in=pks,
            team=current_team(request),
            status=Status.READY,
            deleted_at__isnull=True,
        )
        .exclude(video="")
        .select_related("created_by")
        .order_by("created_at", "id")
    )
    missing = len(ids) - len(generations)
    if missing:
        raise Refused(
            ngettext(
                "%(missing)d of the %(count)d selected videos cannot be downloaded: it is "
                "not ready, was deleted or is not in this team. Nothing was downloaded; "
                "select again.",
                "%(missing)d of the %(count)d selected videos cannot be downloaded: they "
                "are not ready, were deleted or are not in this team. Nothing was "
                "downloaded; select again.",
                missing,
            )
            % {"missing": missing, "count": len(ids)}
        )
    return generations


# --- The archive ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """A file in storage, read in chunks only when the archive reaches it."""

    storage: Storage
    name: str

    def __iter__(self) -> Iterator[bytes]:
        return read_chunks(self.storage, self.name)


def build_archive(generations: Iterable[Generation]) -> ZipStream:
    """A sized, stored (uncompressed) ZIP of each video and its provenance JSON.

    Every size is read from storage here, before any header is sent; a video that cannot
    be read refuses the download (503) instead of breaking it half-way.
    """
    archive = ZipStream(compress_type=ZIP_STORED, sized=True)
    names = UniqueNames()
    for generation in generations:
        base = names.take(entry_name(generation))
        storage, key = generation.video.storage, generation.video.name or ""
        size = stored_size(storage, key)
        if size is None:
            logger.warning("video %s is missing from storage", key)
            raise unreadable()
        if generation.video_size not in (None, size):
            logger.warning(
                "video %s has %d bytes in storage, %s in its row", key, size, generation.video_size
            )
        archive.add(Stored(storage, key), f"{base}.mp4", size=size)
        data, arcname, size = provenance_entry(generation, f"{base}.json")
        archive.add(data, arcname, size=size)
    return archive


def stored_size(storage: Storage, name: str) -> int | None:
    """The file's size as the storage has it (one stat or HEAD); None when it is missing."""
    try:
        return int(storage.size(name))
    except FileNotFoundError:
        return None
    except Exception as exc:
        logger.warning("cannot read the size of %s for a download: %r", name, exc)
        raise unreadable() from exc


def unreadable() -> Refused:
    return Refused(
        _(
            "Some of the selected videos cannot be read from storage right now. Nothing was "
            "downloaded; try again in a moment."
        ),
        status=503,
    )


def provenance_entry(generation: Generation, arcname: str) -> tuple[Any, str, int]:
    """``add()``'s arguments for the provenance JSON: the stored one, or one rebuilt from
    the row when none was kept."""
    storage, key = generation.video.storage, generation.provenance or ""
    if key:
        size = stored_size(storage, key)
        if size is not None:
            return Stored(storage, key), arcname, size
        logger.warning("provenance %s is missing; rebuilt from the row", key)
    document = json.dumps(rebuilt_provenance(generation), ensure_ascii=False, indent=2).encode()
    return document, arcname, len(document)


def rebuilt_provenance(generation: Generation) -> dict[str, Any]:
    """What the copy step records (``videos.provenance``), from what the row still holds."""
    return {
        "generation": str(generation.pk),
        "team": generation.team_id,
        "creator": generation.created_by.get_username(),
        "model": generation.model,
        "prompt": generation.prompt,
        "params": generation.rivya_params(),
        "reference_image": bool(generation.reference_image),
        "rivya_task_id": generation.rivya_task_id,
        "reserved_credits": generation.reserved_credits,
        "final_credits": generation.final_credits,
        "created_at": _iso(generation.created_at),
        "submitted_at": _iso(generation.submitted_at),
        "finished_at": _iso(generation.finished_at),
        "video": {
            "sha256": generation.video_sha256 or None,
            "size": generation.video_size,
            "duration": generation.video_duration,
            "width": generation.video_width,
            "height": generation.video_height,
        },
        "rebuilt": True,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def read_chunks(storage: Storage, name: str) -> Iterator[bytes]:
    """The file's bytes in chunks of ``CHUNK_SIZE``, never more at once.

    django-storages' S3 file downloads the whole object into a temporary file on its
    first read, so on S3 the object's body is streamed from ``GetObject`` instead.
    """
    if _is_s3(storage):
        s3_file: Any = storage.open(name, "rb")  # a HEAD only; its ``obj`` is the object
        body = s3_file.obj.get()["Body"]
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()
        return
    with storage.open(name, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk


def _is_s3(storage: Storage) -> bool:
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


# --- Names ---------------------------------------------------------------------------------


def entry_name(generation: Generation) -> str:
    """The name a download of this video has on its own (``Generation.download_names``:
    ``2026-11-29-con-mèo-nhảy-múa``), without the extension. Letters, digits and hyphens
    only: no separators, dots or invisible characters reach an archive's entry names."""
    return generation.download_names("mp4")[1].removesuffix(".mp4")


class UniqueNames:
    """Hands out names once each, ignoring case (as Windows and macOS do): ``name``,
    ``name (2)``, ``name (3)``…"""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, name: str) -> str:
        candidate, number = name, 1
        while candidate.casefold() in self.taken:
            number += 1
            candidate = f"{name} ({number})"
        self.taken.add(candidate.casefold())
        return candidate


def archive_name(count: int) -> str:
    """``rivyaweb-2026-11-29-12-videos.zip``: nothing about the team in it."""
    day = timezone.localdate().isoformat()
    return f"rivyaweb-{day}-{count}-video{'s' if count != 1 else ''}.zip"
