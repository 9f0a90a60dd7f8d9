"""Generations of a team.

The ``Generation`` row is the single source of truth for one video: every step of
its life (submit, poll, mirror) reads the row, does one idempotent thing and writes
the row back with a conditional update, so nothing is lost or charged twice when a
step runs twice or a process dies at any line.
"""

import random
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Now
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from credits import ledger
from teams.models import Team, hash_token, new_token


class Status(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SUBMITTING = "submitting", _("Sending")
    QUEUED = "queued", _("Queued")
    PROCESSING = "processing", _("Generating")
    SAVING = "saving", _("Saving")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")
    ATTENTION = "attention", _("Needs attention")


# Every allowed change of status, written once. ``Generation.move`` refuses anything else.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.SUBMITTING, Status.REJECTED}),
    # Rejected only on a definite refusal; a create that may have reached Rivya goes to
    # attention once Rivya's idempotency window has passed, never to failed or rejected.
    Status.SUBMITTING: frozenset({Status.QUEUED, Status.REJECTED, Status.ATTENTION}),
    Status.QUEUED: frozenset({Status.PROCESSING, Status.SAVING, Status.FAILED, Status.ATTENTION}),
    Status.PROCESSING: frozenset({Status.SAVING, Status.FAILED, Status.ATTENTION}),
    # Rivya made (and charged for) the video: it is kept or waits for staff, never failed.
    Status.SAVING: frozenset({Status.READY, Status.ATTENTION}),
    # Staff ask Rivya again (submit or read) or copy the result again.
    Status.ATTENTION: frozenset({Status.SUBMITTING, Status.QUEUED, Status.SAVING}),
    Status.READY: frozenset(),
    Status.FAILED: frozenset(),
    Status.REJECTED: frozenset(),
}

TERMINAL = frozenset(status for status, targets in TRANSITIONS.items() if not targets)
# Waiting for staff: not moving on its own, but not finished either.
STALLED = frozenset({Status.ATTENTION})
IN_FLIGHT = frozenset(set(Status) - TERMINAL - STALLED)
# States the poller reads from Rivya.
POLLED = frozenset({Status.QUEUED, Status.PROCESSING})
# A Rivya task may exist (and be paid for): never offered as a paying Retry.
RETRYABLE_BY_USER = frozenset({Status.FAILED, Status.REJECTED})


class InvalidTransition(ValueError):
    """A status change that is not in :data:`TRANSITIONS`."""


def check_transition(source: str, target: str) -> None:
    if target not in TRANSITIONS[source]:
        raise InvalidTransition(f"a generation cannot go from {source} to {target}")


# --- Card words, written once ------------------------------------------------------------------

# In-flight notices: the row keeps trying on its own.
NOTICES = {
    "rate_limited": _("Rivya is rate limiting us; retrying…"),
    "unavailable": _("Rivya is not answering right now; retrying…"),
    "access_refused": _(
        "Rivya refused our access key; an administrator must check it. We keep checking."
    ),
    "copy_retry": _("The video is made; copying it here failed, retrying…"),
}

# Notices that say Rivya itself is out of reach, not that one video has trouble: the home
# page shows them once, as a banner above the cards, most serious first; the cards only
# say they wait for Rivya.
OUTAGES = {
    "access_refused": _(
        "Rivya refused our access key; an administrator must check it. Your videos keep "
        "their place and will continue by themselves once it works."
    ),
    "unavailable": _(
        "Rivya is not answering; your videos keep their place and will continue by themselves."
    ),
    "rate_limited": _(
        "Rivya is busy and asks us to slow down; your videos keep their place and will "
        "continue by themselves."
    ),
}


def outage_of(notices: Iterable[str]) -> str:
    """The banner for the most serious outage among ``notices`` (of rows in flight), or ""."""
    present = set(notices)
    for notice, words in OUTAGES.items():
        if notice in present:
            return str(words)
    return ""


# Why a row ended (or waits for staff), by status and error code; "" is the fallback.
COPY_PROBLEM = _(
    "The video was made and paid for, but copying it here failed. An administrator can "
    "copy it again; it will not be charged twice."
)
MESSAGES: dict[str, dict[str, Any]] = {
    Status.FAILED: {
        "": _("Rivya could not make this video. Reserved credits are refunded."),
    },
    Status.REJECTED: {
        "": _("Rivya refused this video. Nothing was charged."),
        "insufficient_credits": _(
            "There are not enough credits for this video. Nothing was charged."
        ),
        "validation_failed": _(
            "Rivya refused the prompt or its settings. Change them and try again. "
            "Nothing was charged."
        ),
        "api_key_missing": _(
            "Rivya refused our access key; an administrator must check it. Nothing was charged."
        ),
        "idempotency_conflict": _(
            "Rivya refused this request as a duplicate of another one. Nothing was charged."
        ),
        "reference_missing": _("The reference image could not be read. Nothing was sent."),
        "submit_gave_up": _(
            "Rivya could not be reached for a day, so nothing was sent or charged."
        ),
    },
    Status.ATTENTION: {
        "": COPY_PROBLEM,
        "create_unconfirmed": _(
            "Rivya never confirmed this request. An administrator is checking it; it will "
            "not be charged twice."
        ),
        "task_not_found": _(
            "Rivya no longer finds this video's task. An administrator is checking it."
        ),
        "media_host_refused": _(
            "The video was made, but its link points to a host we do not download from. "
            "An administrator can copy it again; it will not be charged twice."
        ),
        "media_link_expired": _(
            "The video was made, but its link no longer works. An administrator can copy it "
            "again; it will not be charged twice."
        ),
        "not_mp4": _(
            "The video was made, but Rivya's link did not give an MP4 file. An administrator "
            "can copy it again; it will not be charged twice."
        ),
        "video_unreadable": _(
            "The video was made, but the copy cannot be played. An administrator can copy it "
            "again; it will not be charged twice."
        ),
        "video_too_large": _(
            "The video was made, but it is larger than this site keeps. An administrator can "
            "copy it again; it will not be charged twice."
        ),
    },
}
for _code in ("api_key_invalid", "api_key_revoked", "api_key_expired", "api_scope_denied"):
    MESSAGES[Status.REJECTED][_code] = MESSAGES[Status.REJECTED]["api_key_missing"]


class AspectRatio(models.TextChoices):
    SQUARE = "1:1", _("Square 1:1")
    LANDSCAPE = "16:9", _("Landscape 16:9")
    PORTRAIT = "9:16", _("Portrait 9:16")


DURATIONS = (5, 10)
# Characters of the prompt in a download's file name.
DOWNLOAD_SLUG_LENGTH = 60


# --- Timing of the lifecycle (each constant lives here only) --------------------------------

# ``lease_owner`` of a row whose step was enqueued: a worker may claim it at once, and the
# poller re-drives it if the task is still unclaimed at ``lease_until``.
ENQUEUED = "enqueued"
SUBMIT_LEASE = timedelta(minutes=3)
# Longer than the longest download (``videos.download_deadline()``, 500 s by default), and
# renewed while a copy makes progress.
COPY_LEASE = timedelta(minutes=15)
POLL_LEASE = timedelta(seconds=60)
# How long the poller waits past a scheduled retry before assuming it was lost.
REDRIVE_GRACE = timedelta(seconds=60)
# Rivya's guidance: wait 2–3 s after a submit before the first read (contract §3.6).
FIRST_POLL_AFTER = timedelta(seconds=3)
# How long Rivya keeps an Idempotency-Key (contract §8 item 21): until then, asking again
# with the same key and body can only return the task the first attempt created.
CONFIRM_WINDOW = timedelta(hours=24)
# What an administrator's "ask again" gives a row that needs attention.
ASK_AGAIN_WINDOW = timedelta(hours=1)
# A task Rivya does not find this long after its create is reported, not guessed at.
NOT_FOUND_GRACE = timedelta(minutes=10)
COPY_MAX_ATTEMPTS = 8
RETRY_BASE = 2.0  # seconds before the first retry of a step; doubles each time...
RETRY_CAP = 300.0  # ...up to this; a server's Retry-After is honoured up to this too

# Codes of a definite refusal of a create: Rivya made nothing under our key.
REFUSAL_CODES = frozenset(
    {
        "validation_failed",
        "insufficient_credits",
        "webhook_url_rejected",
        "chat_model_not_supported",
        "chat_attachment_not_supported",
    }
)


def retry_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before retry number ``attempt`` (1-based): exponential with full jitter up to
    :data:`RETRY_CAP`, never sooner than a ``Retry-After`` the server gave."""
    ceiling = min(RETRY_CAP, RETRY_BASE * 2.0 ** max(0, attempt - 1))
    delay = ceiling / 2 + random.random() * ceiling / 2  # noqa: S311 - jitter, not crypto
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_CAP))
    return delay


def _lease_free(now: datetime) -> models.Q:
    return (
        models.Q(lease_owner__in=["", ENQUEUED])
        | models.Q(lease_until__isnull=True)
        | models.Q(lease_until__lt=now)
    )


def _lease_expired(now: datetime) -> models.Q:
    return models.Q(lease_until__isnull=True) | models.Q(lease_until__lt=now)


class GenerationQuerySet(models.QuerySet["Generation"]):
    def for_user(self, user: Any) -> "GenerationQuerySet":
        return self.filter(team__memberships__user=user)

    def in_flight(self) -> "GenerationQuerySet":
        return self.filter(status__in=IN_FLIGHT)

    def claim(
        self, pk: Any, states: Iterable[str], *, owner: str, lease: timedelta
    ) -> "Generation | None":
        """Take the row for ``owner`` if it is in ``states`` and nobody else holds it.

        A conditional UPDATE: of two workers racing, exactly one gets the row.
        """
        now = timezone.now()
        claimed = (
            self.filter(pk=pk, status__in=list(states))
            .filter(_lease_free(now))
            .update(lease_owner=owner, lease_until=now + lease, attempts=F("attempts") + 1)
        )
        if not claimed:
            return None
        return self.select_related("team", "created_by").get(pk=pk)

    def claim_due(self, *, now: datetime, limit: int, owner: str) -> list["Generation"]:
        """Lease up to ``limit`` rows whose Rivya status is due to be read."""
        due = (
            self.filter(status__in=POLLED, next_poll_at__lte=now)
            .filter(_lease_expired(now))
            .order_by("next_poll_at")
        )
        lease = {"lease_owner": owner, "lease_until": now + POLL_LEASE}
        if connection.features.has_select_for_update_skip_locked:
            with transaction.atomic():
                ids = list(
                    due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit]
                )
                self.filter(pk__in=ids).update(**lease)
        else:
            # Without SKIP LOCKED: a conditional UPDATE per row; a rival's claim makes it miss.
            for pk in list(due.values_list("pk", flat=True)[:limit]):
                due.filter(pk=pk).update(**lease)
        return list(self.filter(lease_owner=owner).order_by("next_poll_at"))

    def lost_steps(self, *, now: datetime) -> dict[str, models.Q]:
        """Rows whose background step went away, by the step that must run again."""
        expired = _lease_expired(now)
        return {
            "submit": (
                models.Q(status=Status.SUBMITTING)
                | models.Q(status=Status.PENDING, created_at__lt=now - REDRIVE_GRACE)
            )
            & expired,
            "mirror": models.Q(status=Status.SAVING) & expired,
        }

    def take_lost(self, pk: Any, condition: models.Q, *, now: datetime) -> bool:
        """Mark a lost row as enqueued again; False when another poller took it first."""
        return bool(
            self.filter(condition, pk=pk).update(
                lease_owner=ENQUEUED, lease_until=now + REDRIVE_GRACE
            )
        )

    def make_due(self, rivya_task_id: str) -> int:
        """A webhook's hint: read these tasks at the next poll round."""
        return self.filter(rivya_task_id=rivya_task_id, status__in=POLLED).update(
            next_poll_at=timezone.now()
        )


def generation_key(generation: "Generation", name: str) -> str:
    """Storage key under the team's prefix; nothing from a user or Rivya goes in it."""
    return f"teams/{generation.team_id}/generations/{generation.pk}/{name}"


def reference_upload_to(generation: "Generation", filename: str) -> str:
    extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(
        generation.reference_mime, "bin"
    )
    return generation_key(generation, f"reference.{extension}")


def video_upload_to(generation: "Generation", filename: str) -> str:
    return generation_key(generation, "video.mp4")


def poster_upload_to(generation: "Generation", filename: str) -> str:
    return generation_key(generation, "poster.jpg")


def next_version() -> models.Expression:
    """The ``changed_at`` an UPDATE of a generation writes: a new live-card version.

    The database's clock, but always at least a microsecond after the newest version of
    the row's team. SQLite's clock only has milliseconds, and rows are created with the
    application's microseconds, so ``NOW()`` alone could tie with or fall behind a version
    a poller already holds, and that change would never reach it.
    """
    newest = (
        Generation.objects.filter(team_id=models.OuterRef("team_id"))
        .order_by("-changed_at")
        .values("changed_at")[:1]
    )
    return Greatest(
        Now(),
        models.ExpressionWrapper(
            models.Subquery(newest) + timedelta(microseconds=1),
            output_field=models.DateTimeField(),
        ),
    )


class Generation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="generations", verbose_name=_("team")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="generations",
        verbose_name=_("creator"),
    )
    retry_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="retries",
        verbose_name=_("retry of"),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.PENDING, db_index=True
    )

    # What the creator asked for.
    model = models.CharField(_("model"), max_length=64, default="kling-2-6")
    prompt = models.TextField(_("prompt"))
    duration = models.PositiveSmallIntegerField(_("duration"), default=5)
    sound = models.BooleanField(_("sound"), default=False)
    aspect_ratio = models.CharField(
        _("aspect ratio"), max_length=8, choices=AspectRatio, default=AspectRatio.SQUARE
    )
    reference_image = models.FileField(
        _("reference image"), upload_to=reference_upload_to, max_length=300, blank=True
    )
    reference_mime = models.CharField(max_length=32, blank=True)
    reference_name = models.CharField(max_length=255, blank=True)
    reference_sha256 = models.CharField(max_length=64, blank=True)
    # Guards against double submission: one row per rendered form.
    form_token = models.UUIDField(null=True, blank=True, editable=False)

    # Talking to Rivya.
    idempotency_key = models.CharField(max_length=64, unique=True, editable=False)
    rivya_file_url = models.URLField(max_length=2000, blank=True)
    rivya_task_id = models.CharField(_("Rivya task"), max_length=128, blank=True, db_index=True)
    rivya_status = models.CharField(_("Rivya status"), max_length=32, blank=True)
    reserved_credits = models.PositiveIntegerField(_("reserved credits"), null=True, blank=True)
    final_credits = models.PositiveIntegerField(_("final credits"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    # Our technical account of what went wrong, for administrators.
    error_message = models.TextField(_("error details"), blank=True)
    # Rivya's own words about a refusal or a failure, shown on the card as they came.
    rivya_message = models.CharField(_("Rivya's message"), max_length=500, blank=True)
    # Transient trouble shown on the card while we keep trying: a key of NOTICES.
    notice = models.CharField(_("notice"), max_length=32, blank=True)
    # The create request, built once and sent unchanged on every attempt, so Rivya's
    # idempotency record can only ever answer with the task of the first attempt.
    create_body = models.JSONField(null=True, blank=True, editable=False)
    create_attempts = models.PositiveIntegerField(_("create attempts"), default=0)
    first_create_at = models.DateTimeField(_("first create attempt"), null=True, blank=True)
    # Until when an unconfirmed create is asked again before it needs attention.
    confirm_until = models.DateTimeField(null=True, blank=True)
    # Rivya's result URLs as last read; kept so a failed copy can be tried again.
    result_urls = models.JSONField(default=list, blank=True)

    # Scheduling: which process works on the row, and when it is next due.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)

    # The mirrored result in our storage.
    video = models.FileField(_("video"), upload_to=video_upload_to, max_length=300, blank=True)
    poster = models.FileField(_("poster"), upload_to=poster_upload_to, max_length=300, blank=True)
    # The gallery's media, made when the video is saved: a small poster for the
    # ``srcset``, a short muted preview clip for hovering, and the poster's dominant
    # colour ("#rrggbb") shown until the poster loads.
    poster_small = models.FileField(max_length=300, blank=True)
    preview = models.FileField(max_length=300, blank=True)
    placeholder = models.CharField(max_length=7, blank=True)
    provenance = models.CharField(max_length=300, blank=True)
    video_sha256 = models.CharField(max_length=64, blank=True)
    video_size = models.PositiveBigIntegerField(null=True, blank=True)
    video_duration = models.FloatField(null=True, blank=True)
    video_width = models.PositiveIntegerField(null=True, blank=True)
    video_height = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(_("sent to Rivya"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Set by the database on every change; live cards ask for rows changed since a value.
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Soft delete: hidden everywhere at once, restorable for ``UNDO_WINDOW``; the stored
    # files go with the housekeeping after ``DELETE_GRACE``.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("deleted by"),
    )

    objects = GenerationQuerySet.as_manager()

    class Meta:
        verbose_name = _("generation")
        verbose_name_plural = _("generations")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="gen_team_created"),
            # The gallery's keyset: (created_at, id) within a team, visible rows only.
            models.Index(
                fields=["team", "-created_at", "-id"],
                name="gen_gallery",
                condition=models.Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["team", "changed_at"], name="gen_team_changed"),
            models.Index(fields=["status", "next_poll_at"], name="gen_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "form_token"], name="one_generation_per_form"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prompt[:40]} ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.idempotency_key:
            self.idempotency_key = str(uuid.uuid4())
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("generation_detail", args=[self.pk])

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def card_status(self) -> str:
        """The state a card shows: a rejected submission reads as failed."""
        return Status.FAILED if self.status == Status.REJECTED else self.status

    def rivya_params(self) -> dict[str, object]:
        """Kling 2.6 parameters, as the strings Rivya expects."""
        return {
            "duration": str(self.duration),
            "sound": "true" if self.sound else "false",
            "aspect_ratio": self.aspect_ratio,
        }

    def reference_item(self) -> dict[str, object]:
        """The ``referenceMediaItems`` entry for the image uploaded to Rivya's Files API."""
        item: dict[str, object] = {
            "url": self.rivya_file_url,
            "kind": "image",
            "name": (self.reference_image.name or "").rsplit("/", 1)[-1],
        }
        if self.reference_mime:
            item["mimeType"] = self.reference_mime
        return item

    # --- Moving through the lifecycle ------------------------------------------------------
    #
    # Every write below is one conditional UPDATE that checks the status it expects and,
    # where a worker holds the row, the lease owner; it returns whether it changed the row,
    # so a task, the poller, a webhook and a view that race never both act.

    def move(
        self,
        to: str,
        *,
        source: str | Iterable[str] | None = None,
        owner: str | None = None,
        **fields: Any,
    ) -> bool:
        """Change the status to ``to`` if the row is still in ``source`` (default: the
        status this instance holds) and, given an ``owner``, still leased to it."""
        if source is None:
            source = self.status
        sources = [source] if isinstance(source, str) else list(source)
        for each in sources:
            check_transition(each, to)
        rows = Generation.objects.filter(pk=self.pk, status__in=sources)
        if owner is not None:
            rows = rows.filter(lease_owner=owner)
        changed = rows.update(status=to, changed_at=next_version(), **fields)
        if changed:
            self.refresh_from_db()
        return bool(changed)

    def finish(self, to: str, *, owner: str | None = None, **fields: Any) -> bool:
        """Move to a final state (or one that waits for staff), letting go of the row."""
        fields.setdefault("finished_at", timezone.now())
        with transaction.atomic():
            moved = self.move(
                to,
                owner=owner,
                lease_owner="",
                lease_until=None,
                next_poll_at=None,
                notice="",
                **fields,
            )
            if moved and to in TERMINAL:
                # No reservation will come now: a budget hold still open is let go.
                ledger.end_hold(self.pk)
        return moved

    def write(
        self,
        *,
        owner: str | None = None,
        visible: bool = True,
        refresh: bool = True,
        **fields: Any,
    ) -> bool:
        """Write ``fields`` without changing the status (only while ``owner`` holds the row).

        ``visible`` changes make a new live-card version; bookkeeping does not, so cards
        re-render only when they would look different. ``refresh=False`` skips reloading
        the instance, for callers that are done with it (the poller, once per row read).
        """
        rows = Generation.objects.filter(pk=self.pk)
        if owner is not None:
            rows = rows.filter(lease_owner=owner)
        if visible:
            fields["changed_at"] = next_version()
        changed = rows.update(**fields)
        if changed and refresh:
            self.refresh_from_db()
        return bool(changed)

    def release(self, owner: str, **fields: Any) -> bool:
        """Let go of the row, writing ``fields`` (only while ``owner`` holds it)."""
        rows = Generation.objects.filter(pk=self.pk, lease_owner=owner)
        return bool(rows.update(lease_owner="", lease_until=None, **fields))

    def hand_over(self, owner: str, run_after: datetime, **fields: Any) -> bool:
        """Release the row to a task enqueued for ``run_after``; the poller re-drives the
        row only if that task is lost."""
        return self.write(
            owner=owner, lease_owner=ENQUEUED, lease_until=run_after + REDRIVE_GRACE, **fields
        )

    def renew(self, owner: str, lease: timedelta) -> bool:
        """Extend ``owner``'s lease; False when it was lost (another worker took the row)."""
        rows = Generation.objects.filter(pk=self.pk, lease_owner=owner)
        return bool(rows.update(lease_until=timezone.now() + lease))

    # --- Submitting ------------------------------------------------------------------------

    def start_submitting(self, owner: str) -> None:
        if self.status == Status.PENDING:
            self.move(Status.SUBMITTING, owner=owner)

    def create_request(self, owner: str) -> dict[str, Any]:
        """The body of ``POST /generations``: built on the first attempt, then stored, so
        every later attempt sends exactly the same request under the same key."""
        if self.create_body is None:
            params = self.rivya_params()
            if self.reference_image:
                params["referenceMediaItems"] = [self.reference_item()]
            body = {
                "model": self.model,
                "prompt": self.prompt,
                "params": params,
                "client_request_id": str(self.pk),
            }
            Generation.objects.filter(pk=self.pk, create_body__isnull=True).update(create_body=body)
            self.refresh_from_db(fields=["create_body"])
        assert self.create_body is not None
        return dict(self.create_body)

    def confirm_window_over(self, owner: str) -> bool:
        """True (and the row needs attention) when an unconfirmed create may no longer be
        sent again: past Rivya's idempotency window the same key could make a second task."""
        if self.confirm_until is None or timezone.now() < self.confirm_until:
            return False
        self.finish(Status.ATTENTION, owner=owner, error_code="create_unconfirmed")
        return True

    def create_sent(self, owner: str) -> None:
        """Recorded (and committed) before the create goes out: from now on a Rivya task
        may exist, so this row can no longer be failed or rejected on a guess."""
        now = timezone.now()
        fields: dict[str, Any] = {"create_attempts": F("create_attempts") + 1}
        if self.first_create_at is None:
            fields.update(first_create_at=now, confirm_until=now + CONFIRM_WINDOW)
        self.write(owner=owner, visible=False, **fields)

    def accepted(self, created: Any, owner: str) -> bool:
        """Rivya accepted the create: the task is queued and its reservation recorded."""
        now = timezone.now()
        with transaction.atomic():
            moved = self.move(
                Status.QUEUED,
                source=Status.SUBMITTING,
                owner=owner,
                rivya_task_id=created.id,
                rivya_status=created.status[:32],
                reserved_credits=created.reserved_credits,
                submitted_at=now,
                next_poll_at=now + FIRST_POLL_AFTER,
                lease_owner="",
                lease_until=None,
                poll_count=0,
                attempts=0,
                notice="",
            )
            if moved and created.reserved_credits is not None:
                ledger.record(self, ledger.Kind.RESERVE, -created.reserved_credits)
        return moved

    def submit_failed(self, error: Any, owner: str) -> datetime | None:
        """Decide what a failed submit attempt means; return when to try again, or None
        when the row was finished.

        Only a definite refusal rejects. Anything else after a create went out (timeouts,
        dropped connections, 5xx, unreadable answers, a 409 on our own key = still in
        progress) is asked again with the same key until Rivya's idempotency window ends;
        then the row needs attention, never failed.
        """
        now = timezone.now()
        sent = self.create_attempts
        refused = error.code in REFUSAL_CODES
        if error.status in (401, 403) or error.code == "idempotency_conflict":
            # Definite only when no earlier create may have gone through: an earlier
            # attempt's task would be replayed, not refused, under the same key.
            refused = sent <= 1
        if refused:
            self.finish(
                Status.REJECTED,
                owner=owner,
                error_code=error.code[:64],
                error_message=str(error)[:2000],
                rivya_message=(error.message or "")[:500] if error.status else "",
            )
            return None
        if not sent and now - self.created_at > CONFIRM_WINDOW:
            self.finish(Status.REJECTED, owner=owner, error_code="submit_gave_up")
            return None
        if sent and self.confirm_window_over(owner):
            return None
        run_after = now + timedelta(seconds=retry_delay(self.attempts, error.retry_after))
        self.hand_over(owner, run_after, notice=self._submit_notice(error))
        return run_after

    def _submit_notice(self, error: Any) -> str:
        if error.code == "rate_limited":
            return "rate_limited"
        if error.status in (401, 403):
            return "access_refused"
        return "confirming" if self.create_attempts else "unavailable"

    # --- Reading the task --------------------------------------------------------------------

    def rivya_running(self, answer: Any, owner: str, next_poll_at: datetime) -> None:
        status = Status.PROCESSING if answer.status == "processing" else self.status
        fields: dict[str, Any] = {
            "rivya_status": answer.status[:32],
            "poll_count": F("poll_count") + 1,
            "next_poll_at": next_poll_at,
            "lease_owner": "",
            "lease_until": None,
        }
        if status != self.status:
            self.move(status, owner=owner, notice="", **fields)
        else:
            self.write(owner=owner, visible=bool(self.notice), refresh=False, notice="", **fields)

    def rivya_succeeded(self, answer: Any, owner: str) -> bool:
        """Rivya made the video: settle its credits and hand the row to the copy step."""
        final = answer.final_credits
        if final is None:
            final = self.reserved_credits
        with transaction.atomic():
            moved = self.move(
                Status.SAVING,
                source=POLLED,
                owner=owner,
                rivya_status=answer.status[:32],
                result_urls=answer.result.links if answer.result else [],
                final_credits=final,
                next_poll_at=None,
                lease_owner=ENQUEUED,
                lease_until=timezone.now() + REDRIVE_GRACE,
                attempts=0,
                notice="",
            )
            if moved:
                reserved = self.reserved_credits or 0
                spent = final if final is not None else reserved
                ledger.record(self, ledger.Kind.SETTLE, reserved - spent, note=f"final {spent}")
        return moved

    def rivya_failed(self, answer: Any, owner: str) -> bool:
        """Rivya says the task failed: the row fails and the unspent reservation returns."""
        final = answer.final_credits if answer.final_credits is not None else 0
        error = answer.error
        with transaction.atomic():
            moved = self.finish(
                Status.FAILED,
                owner=owner,
                rivya_status=answer.status[:32],
                error_code=(error.code if error else "generation_failed")[:64],
                rivya_message=(error.message if error else "")[:500],
                final_credits=final,
            )
            if moved and self.reserved_credits is not None:
                refund = self.reserved_credits - final
                ledger.record(self, ledger.Kind.REFUND, refund, note=f"final {final}")
        return moved

    def read_failed(
        self, error: Any, owner: str, next_poll_at: datetime, now: datetime | None = None
    ) -> None:
        """A status read went wrong: keep reading later, with a notice while it lasts."""
        now = now or timezone.now()
        if error.code == "not_found":
            since = self.submitted_at or self.created_at
            if now - since > NOT_FOUND_GRACE:
                self.finish(
                    Status.ATTENTION,
                    owner=owner,
                    error_code="task_not_found",
                    error_message=str(error)[:2000],
                )
                return
        notice = self.notice
        if error.code == "rate_limited":
            notice = "rate_limited"
        elif error.status in (401, 403):
            # Nothing is lost: the task goes on at Rivya; reads resume once the key works.
            notice = "access_refused"
        elif error.retryable:
            notice = "unavailable"
        fields: dict[str, Any] = {"poll_count": F("poll_count") + 1}
        self.write(
            owner=owner,
            visible=notice != self.notice,
            refresh=False,
            notice=notice,
            next_poll_at=next_poll_at,
            lease_owner="",
            lease_until=None,
            **fields,
        )

    # --- Copying the result ------------------------------------------------------------------

    def copied(self, copied: Any, owner: str) -> bool:
        """Our copy is stored: the video is ready, with whatever gallery media could be
        made from it. False when another copy won."""
        return self.finish(
            Status.READY,
            owner=owner,
            video=copied.video,
            poster=copied.poster,
            poster_small=copied.media.poster_small,
            preview=copied.media.preview,
            placeholder=copied.media.placeholder,
            provenance=copied.provenance,
            video_sha256=copied.sha256,
            video_size=copied.size,
            video_duration=copied.duration,
            video_width=copied.width,
            video_height=copied.height,
            error_code="",
            error_message="",
        )

    def gallery_media_made(self, *, video: str, **media: str) -> bool:
        """Record gallery media made after the copy (``manage.py make_previews``): only
        while the row is still ready, not deleted, holds the same ``video`` and still lacks
        each of ``media``. False when it changed meanwhile; the caller then deletes what it
        made. Not a visible change: cards look the same."""
        rows = Generation.objects.filter(
            pk=self.pk,
            status=Status.READY,
            deleted_at__isnull=True,
            video=video,
            **dict.fromkeys(media, ""),
        )
        changed = rows.update(**media)
        if changed:
            self.refresh_from_db(fields=list(media))
        return bool(changed)

    def copy_failed(self, error: Any, owner: str) -> datetime | None:
        """A copy attempt failed: try again while the links may work, else wait for staff
        with the reason shown. The video is paid for: the row is never failed."""
        if error.retryable and self.attempts < COPY_MAX_ATTEMPTS:
            run_after = timezone.now() + timedelta(
                seconds=retry_delay(self.attempts, error.retry_after)
            )
            self.hand_over(
                owner,
                run_after,
                notice="copy_retry",
                error_code=error.code[:64],
                error_message=str(error)[:2000],
            )
            return run_after
        self.finish(
            Status.ATTENTION,
            owner=owner,
            error_code=error.code[:64],
            error_message=str(error)[:2000],
        )
        return None

    # --- Staff actions -----------------------------------------------------------------------

    def ask_again(self) -> str | None:
        """Send a row that needs attention back to Rivya; return the step to enqueue
        (``submit``, or ``poll`` when the poller reads it), or None if it cannot."""
        now = timezone.now()
        if self.status != Status.ATTENTION or self.rivya_status == "succeeded":
            return None
        if self.rivya_task_id:
            moved = self.move(
                Status.QUEUED, next_poll_at=now, submitted_at=now, finished_at=None, attempts=0
            )
            return "poll" if moved else None
        moved = self.move(
            Status.SUBMITTING,
            confirm_until=now + ASK_AGAIN_WINDOW,
            lease_owner=ENQUEUED,
            lease_until=now + REDRIVE_GRACE,
            finished_at=None,
            attempts=0,
        )
        return "submit" if moved else None

    def copy_again(self) -> bool:
        """Copy a made video whose copy failed again; the copy step reads the task first,
        since Rivya may hand out fresh links."""
        if self.status != Status.ATTENTION or self.rivya_status != "succeeded":
            return False
        return self.move(
            Status.SAVING,
            lease_owner=ENQUEUED,
            lease_until=timezone.now() + REDRIVE_GRACE,
            finished_at=None,
            attempts=0,
        )

    # --- What the card says ------------------------------------------------------------------

    @property
    def can_retry(self) -> bool:
        """Whether a creator may start again (and pay again): only when no task of this row
        exists at Rivya or Rivya said it failed."""
        return self.status in RETRYABLE_BY_USER

    @property
    def message(self) -> str:
        """What the card says about this row, in the viewer's language."""
        if self.status in (Status.FAILED, Status.REJECTED, Status.ATTENTION):
            table = MESSAGES[self.status]
            return str(table.get(self.error_code) or table[""])
        if self.notice == "confirming" and self.first_create_at is not None:
            since = formats.time_format(timezone.localtime(self.first_create_at), "H:i")
            return _("Confirming with Rivya since %(time)s…") % {"time": since}
        notice = NOTICES.get(self.notice)
        return str(notice) if notice else ""

    @property
    def waits_for_rivya(self) -> bool:
        """In flight while Rivya is out of reach: the page's banner says why, once."""
        return self.status in IN_FLIGHT and self.notice in OUTAGES

    @property
    def rivya_says(self) -> str:
        """Rivya's own words, when it gave any for a refusal or a failure."""
        if self.status in (Status.FAILED, Status.REJECTED):
            return self.rivya_message
        return ""

    def elapsed(self) -> timedelta:
        end = self.finished_at or timezone.now()
        return end - self.created_at

    def video_length(self) -> timedelta:
        """How long the video plays: measured on the mirrored file, else the length asked for."""
        if self.video_duration is not None and self.video_duration > 0:
            return timedelta(seconds=round(self.video_duration))
        return timedelta(seconds=self.duration)

    # --- Deleting ------------------------------------------------------------------------------

    @property
    def can_delete(self) -> bool:
        """Only a finished video may be deleted: one Rivya may still make (or that waits for
        staff) is never lost from sight while it may cost money."""
        return self.status in TERMINAL and self.deleted_at is None

    def soft_delete(self, user: Any) -> bool:
        """Hide the video everywhere at once; False when it is not (or no longer) finished
        or was deleted already. The files stay until the housekeeping's grace period."""
        changed = Generation.objects.filter(
            pk=self.pk, status__in=TERMINAL, deleted_at__isnull=True
        ).update(deleted_at=timezone.now(), deleted_by=user)
        if changed:
            self.refresh_from_db(fields=["deleted_at", "deleted_by"])
        return bool(changed)

    def restore(self, window: timedelta) -> bool:
        """Undo a deletion made less than ``window`` ago; False when too late."""
        changed = Generation.objects.filter(
            pk=self.pk, deleted_at__gte=timezone.now() - window
        ).update(deleted_at=None, deleted_by=None)
        if changed:
            self.refresh_from_db(fields=["deleted_at", "deleted_by"])
        return bool(changed)

    def download_names(self, extension: str) -> tuple[str, str]:
        """File names for a download, from the date and the prompt: an ASCII one for every
        client and a Unicode one (Vietnamese kept) for those that read RFC 5987 names,
        e.g. ``2026-11-29-con-meo-nhay-mua.mp4`` and ``2026-11-29-con-mèo-nhảy-múa.mp4``."""
        day = timezone.localtime(self.created_at).date().isoformat()
        # "đ" has no decomposition, so slugify would drop it rather than write "d".
        plain = self.prompt.replace("đ", "d").replace("Đ", "D")
        ascii_slug = slugify(plain)[:DOWNLOAD_SLUG_LENGTH].strip("-") or "video"
        unicode_slug = (
            slugify(self.prompt, allow_unicode=True)[:DOWNLOAD_SLUG_LENGTH].strip("-") or "video"
        )
        return f"{day}-{ascii_slug}.{extension}", f"{day}-{unicode_slug}.{extension}"

    def stored_files(self) -> list[str]:
        """The storage keys this row names (whatever of them exists)."""
        files = [self.video, self.poster, self.poster_small, self.preview, self.reference_image]
        keys = [f.name for f in files if f and f.name]
        if self.provenance:
            keys.append(self.provenance)
        return keys


class CatalogEntry(models.Model):
    """One model of Rivya's public catalog, as last fetched by the ``refresh_catalog`` task.

    Web requests read prices from here and never call Rivya themselves.
    """

    model_id = models.CharField(_("model"), max_length=64, unique=True)
    display_name = models.CharField(_("name"), max_length=120, blank=True)
    api_status = models.CharField(max_length=32, blank=True)
    base_credits = models.PositiveIntegerField(_("base credits"), null=True, blank=True)
    billing_type = models.CharField(max_length=32, blank=True)
    max_prompt_length = models.PositiveIntegerField(null=True, blank=True)
    fetched_at = models.DateTimeField(_("fetched"))

    class Meta:
        verbose_name = _("catalog entry")
        verbose_name_plural = _("catalog entries")
        ordering = ["model_id"]

    def __str__(self) -> str:
        return self.model_id


class Favourite(models.Model):
    """A person's favourite video: per person, not per team."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        constraints = [
            models.UniqueConstraint(fields=["user", "generation"], name="one_favourite_each")
        ]

    def __str__(self) -> str:
        return f"{self.user} ♥ {self.generation_id}"

    @classmethod
    def marked(cls, user: Any, generation: Generation) -> bool:
        return cls.objects.filter(user=user, generation=generation).exists()

    @classmethod
    def set(cls, user: Any, generation: Generation, on: bool) -> None:
        """Mark or unmark; asking twice for the same state changes nothing."""
        if on:
            # get_or_create survives the race of two requests (the unique constraint).
            cls.objects.get_or_create(user=user, generation=generation)
        else:
            cls.objects.filter(user=user, generation=generation).delete()


class ShareLinkQuerySet(models.QuerySet["ShareLink"]):
    def active(self, now: datetime | None = None) -> "ShareLinkQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ShareLink(models.Model):
    """A public, expiring, revocable link to one video. Only the token's hash is stored."""

    generation = models.ForeignKey(
        Generation,
        on_delete=models.CASCADE,
        related_name="share_links",
        verbose_name=_("generation"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    show_prompt = models.BooleanField(_("show the prompt"), default=False)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ShareLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("share link")
        verbose_name_plural = _("share links")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.generation_id} until {self.expires_at:%Y-%m-%d}"

    @classmethod
    def make(
        cls, *, generation: Generation, by: Any, days: int, show_prompt: bool
    ) -> tuple["ShareLink", str]:
        """A new link and its token, which is shown once and never stored."""
        token, token_hash = new_token()
        link = cls.objects.create(
            generation=generation,
            created_by=by,
            token_hash=token_hash,
            show_prompt=show_prompt,
            expires_at=timezone.now() + timedelta(days=days),
        )
        return link, token

    @classmethod
    def find(cls, token: str) -> "ShareLink | None":
        """The active link of ``token`` to a ready, not deleted video, else None.

        Looked up by the token's hash: the same work for any string, valid or not.
        """
        return (
            cls.objects.active()
            .filter(
                token_hash=hash_token(token),
                generation__status=Status.READY,
                generation__deleted_at__isnull=True,
            )
            .select_related("generation")
            .first()
        )

    def revoke(self) -> bool:
        changed = ShareLink.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        return bool(changed)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
