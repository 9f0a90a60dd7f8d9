"""Writes that touch several things at once, shared by views (and later by tasks)."""

import contextlib
import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from credits import budgets
from generations import catalog, tasks
from generations.forms import ReferenceImage, StoredReference, stored_reference_of
from generations.models import (
    ENQUEUED,
    REDRIVE_GRACE,
    Favourite,
    Generation,
    ShareLink,
    generation_key,
)
from teams.models import Team

logger = logging.getLogger(__name__)

# Identical inputs from the same user within this window are one request (two tabs,
# a resubmit after Back with a fresh page).
DUPLICATE_WINDOW = timedelta(seconds=10)
# What SUBMISSIONS_PER_MINUTE counts over.
RATE_WINDOW = timedelta(minutes=1)


class TooManySubmissions(ValidationError):
    """More videos asked for in the last minute than ``SUBMISSIONS_PER_MINUTE`` allows."""


# Why a valid form can still create nothing; the form shows the message.
REFUSALS = (budgets.BudgetRefused, TooManySubmissions)


def create_generation(
    *,
    team: Team,
    user: Any,
    data: dict[str, Any],
    reference: ReferenceImage | StoredReference | None,
    retry_of: Generation | None = None,
) -> tuple[Generation, bool]:
    """Create a pending generation and queue its submission; no call to Rivya here.

    ``data`` holds ``prompt``, ``duration``, ``sound``, ``aspect_ratio`` and optionally
    ``form_token``. Returns ``(generation, created)``: an existing row and ``False`` when
    the same form was already used, or identical inputs arrived moments ago. Raises one of
    ``REFUSALS`` (and creates nothing, keeps no file) when the user asked for too many
    videos this minute, or the expected price does not fit the team's budget or the
    member's cap; otherwise that price is held until Rivya reserves (``credits.budgets``).
    A ``StoredReference`` is named as it is stored, never written again.
    """
    form_token = data.get("form_token")
    price = catalog.expected_price(team, data["duration"], data["sound"])
    generation = Generation(
        team=team,
        created_by=user,
        retry_of=retry_of,
        prompt=data["prompt"],
        duration=data["duration"],
        sound=data["sound"],
        aspect_ratio=data["aspect_ratio"],
        form_token=form_token,
        # The submit task may claim it at once; the poller re-drives it if the
        # queued task gets lost.
        lease_owner=ENQUEUED,
    )
    if reference is not None:
        generation.reference_mime = reference.mime
        generation.reference_name = reference.name
        generation.reference_sha256 = reference.sha256
    if isinstance(reference, StoredReference):
        # Another video's file, named again; the purge keeps it while any row names it.
        generation.reference_image.name = reference.key
    elif reference is not None:
        # Stored before the transaction, so no database lock is held during an upload
        # (to S3, say); a submission that turns out to be a duplicate removes it again.
        generation.reference_image.save(reference.name, ContentFile(reference.content), save=False)
    written = isinstance(reference, ReferenceImage)
    try:
        with transaction.atomic():
            # Serialises submissions of one team, so two parallel requests see each other
            # (``budgets.hold`` explains the lock's strength).
            Team.objects.select_for_update(no_key=True).filter(pk=team.pk).first()
            existing = _duplicate_of(team, user, data, reference, retry_of)
            if existing is None:
                _refuse_if_too_many(user)
                generation.lease_until = timezone.now() + REDRIVE_GRACE
                generation.save(force_insert=True)
                budgets.hold(team=team, user=user, price=price, generation_id=generation.pk)
                generation_id = str(generation.pk)
                transaction.on_commit(lambda: tasks.submit.enqueue(generation_id))
    except IntegrityError:
        # The same form token won a race in another request.
        existing = Generation.objects.filter(created_by=user, form_token=form_token).first()
        if existing is None:
            _discard_reference(generation, written)
            raise
    except BaseException:
        _discard_reference(generation, written)
        raise
    if existing is not None:
        _discard_reference(generation, written)
        return existing, False
    logger.info("generation %s created by user %s", generation.pk, user.pk)
    return generation, True


def _refuse_if_too_many(user: Any) -> None:
    """Counted in the database inside the submission's transaction, so every process and
    thread sees the same number (exact within a team, whose row lock serialises them)."""
    limit = settings.SUBMISSIONS_PER_MINUTE
    since = timezone.now() - RATE_WINDOW
    if Generation.objects.filter(created_by=user, created_at__gte=since).count() >= limit:
        raise TooManySubmissions(
            _("You asked for %(limit)s videos in the last minute; wait a moment and try again."),
            code="rate_limited",
            params={"limit": limit},
        )


def _discard_reference(generation: Generation, written: bool) -> None:
    """Remove the image this submission wrote; a file it only named is not its own."""
    if written and generation.reference_image:
        generation.reference_image.delete(save=False)


def _duplicate_of(
    team: Team,
    user: Any,
    data: dict[str, Any],
    reference: ReferenceImage | StoredReference | None,
    retry_of: Generation | None,
) -> Generation | None:
    form_token = data.get("form_token")
    if form_token is not None:
        same_form = Generation.objects.filter(created_by=user, form_token=form_token).first()
        if same_form is not None:
            return same_form
    recent = Generation.objects.filter(
        team=team,
        created_by=user,
        retry_of=retry_of,
        prompt=data["prompt"],
        duration=data["duration"],
        sound=data["sound"],
        aspect_ratio=data["aspect_ratio"],
        # The same picture, whatever it was called.
        reference_sha256=reference.sha256 if reference else "",
        created_at__gte=timezone.now() - DUPLICATE_WINDOW,
    )
    return recent.order_by("-created_at").first()


class ReferenceUnavailable(ValueError):
    """The reference image a video was made from is no longer in its team's storage."""


def retry_generation(generation: Generation, user: Any) -> tuple[Generation, bool]:
    """A new generation from the inputs of ``generation``, reference image included.

    The image is named where it is stored, never written again (as a kept image is, see
    ``forms.stored_reference_of``); the purge keeps it while any row names it. Raises
    ``ReferenceUnavailable`` (and creates nothing) when the original named an image that is
    gone from storage or lies outside its team's folder.
    """
    reference = stored_reference_of(generation)
    if reference is None and generation.reference_image:
        raise ReferenceUnavailable("the stored reference image can no longer be used")
    data = {
        "prompt": generation.prompt,
        "duration": generation.duration,
        "sound": generation.sound,
        "aspect_ratio": generation.aspect_ratio,
    }
    return create_generation(
        team=generation.team, user=user, data=data, reference=reference, retry_of=generation
    )


# File fields cleared once a deleted video's files are gone.
PURGED_FIELDS = {
    "video": "",
    "poster": "",
    "poster_small": "",
    "preview": "",
    "provenance": "",
    "reference_image": "",
}


def purge_deleted(*, now: Any = None) -> int:
    """Remove the stored files of videos deleted more than ``DELETE_GRACE`` ago.

    The row stays, its file fields emptied: the credit ledger refers to it, and money
    records are evidence. Its share links and favourites go with the files. Returns how
    many videos were purged; safe to run from several processes at once.
    """
    cutoff = (now or timezone.now()) - settings.DELETE_GRACE
    has_files = ~models.Q(**dict.fromkeys(PURGED_FIELDS, ""))
    due = Generation.objects.filter(deleted_at__lt=cutoff).filter(has_files)
    purged = 0
    for generation in due.iterator():
        _delete_files(generation)
        with transaction.atomic():
            ShareLink.objects.filter(generation=generation).delete()
            Favourite.objects.filter(generation=generation).delete()
            purged += Generation.objects.filter(pk=generation.pk, deleted_at__lt=cutoff).update(
                **PURGED_FIELDS
            )
    if purged:
        logger.info("purged the stored files of %d deleted video(s)", purged)
    return purged


def _delete_files(generation: Generation) -> None:
    """Every key of the row's folder: the files it names, and any left (older copies);
    and its reference image wherever the team stored it, unless another row still uses it."""
    storage = generation.video.storage
    folder = generation_key(generation, "").rstrip("/")
    # Only keys in the row's own folder: a file named elsewhere may be shared by other rows
    # (seeded demo rows share one video), and a purge never takes another row's media.
    keys = {key for key in generation.stored_files() if key.startswith(f"{folder}/")}
    with contextlib.suppress(FileNotFoundError):  # no folder: nothing else to find
        keys.update(f"{folder}/{name}" for name in storage.listdir(folder)[1])
    # A reference image is used again where it was first stored; it goes with the last
    # row that names it.
    reference = generation.reference_image.name or ""
    if reference.startswith(f"teams/{generation.team_id}/"):
        keys.add(reference)
    keys -= references_in_use(keys, besides=generation)
    for key in sorted(keys):
        storage.delete(key)


def references_in_use(keys: set[str], *, besides: Generation) -> set[str]:
    """Which of ``keys`` another row (deleted or not, until purged) names as its reference.

    No form can start naming a file once its rows are all purgeable: a kept-image token
    lives no longer than ``DELETE_GRACE`` (``forms.kept_max_age``).
    """
    others = Generation.objects.exclude(pk=besides.pk).filter(reference_image__in=keys)
    return set(others.values_list("reference_image", flat=True))
