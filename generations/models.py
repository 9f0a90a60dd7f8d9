"""Teams, their members, their generations and the credit ledger.

The ``Generation`` row is the single source of truth for one video: every step of
its life (submit, poll, mirror) reads the row, does one idempotent thing and writes
the row back with a conditional update, so nothing is lost or charged twice when a
step runs twice or a process dies at any line.
"""

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Greatest, Now
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120)
    personal = models.BooleanField(_("personal team"), default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.MEMBER)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team} ({self.role})"


class Status(models.TextChoices):
    PENDING = "pending", _("Waiting to send")
    SUBMITTING = "submitting", _("Sending")
    QUEUED = "queued", _("Queued")
    PROCESSING = "processing", _("Generating")
    SAVING = "saving", _("Saving")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Rejected")


TERMINAL = frozenset({Status.READY, Status.FAILED, Status.REJECTED})
IN_FLIGHT = frozenset(set(Status) - TERMINAL)
# States the poller reads from Rivya.
POLLED = frozenset({Status.QUEUED, Status.PROCESSING})


class AspectRatio(models.TextChoices):
    SQUARE = "1:1", _("Square 1:1")
    LANDSCAPE = "16:9", _("Landscape 16:9")
    PORTRAIT = "9:16", _("Portrait 9:16")


DURATIONS = (5, 10)


class GenerationQuerySet(models.QuerySet["Generation"]):
    def for_user(self, user: Any) -> "GenerationQuerySet":
        return self.filter(team__memberships__user=user)

    def in_flight(self) -> "GenerationQuerySet":
        return self.filter(status__in=IN_FLIGHT)


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
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="generations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="generations",
        verbose_name=_("creator"),
    )
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries"
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
    rivya_task_id = models.CharField(max_length=128, blank=True, db_index=True)
    rivya_status = models.CharField(max_length=32, blank=True)
    reserved_credits = models.PositiveIntegerField(null=True, blank=True)
    final_credits = models.PositiveIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    # Transient trouble shown on the card while we keep trying (rate limits, outages).
    notice = models.CharField(max_length=255, blank=True)

    # Scheduling: which process works on the row, and when it is next due.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)

    # The mirrored result in our storage.
    video = models.FileField(upload_to=video_upload_to, max_length=300, blank=True)
    poster = models.FileField(upload_to=poster_upload_to, max_length=300, blank=True)
    provenance = models.CharField(max_length=300, blank=True)
    video_sha256 = models.CharField(max_length=64, blank=True)
    video_size = models.PositiveBigIntegerField(null=True, blank=True)
    video_duration = models.FloatField(null=True, blank=True)
    video_width = models.PositiveIntegerField(null=True, blank=True)
    video_height = models.PositiveIntegerField(null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the database on every change; live cards ask for rows changed since a value.
    changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        verbose_name = _("generation")
        verbose_name_plural = _("generations")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="gen_team_created"),
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

    def transition(self, from_states: Any, to: str, **fields: Any) -> bool:
        """Move to ``to`` only if the row is still in one of ``from_states``.

        Returns whether this call made the change, so a task and a view that race
        never both act on it. The in-memory instance is refreshed on success.
        """
        if isinstance(from_states, str):
            from_states = [from_states]
        changed = Generation.objects.filter(pk=self.pk, status__in=list(from_states)).update(
            status=to, changed_at=next_version(), **fields
        )
        if changed:
            self.refresh_from_db()
        return bool(changed)

    def touch(self, **fields: Any) -> None:
        """Write ``fields`` and mark the row changed, without a status check."""
        Generation.objects.filter(pk=self.pk).update(changed_at=next_version(), **fields)
        self.refresh_from_db()

    def elapsed(self) -> timedelta:
        end = self.finished_at or timezone.now()
        return end - self.created_at


class CreditEntry(models.Model):
    """One change of a generation's credits; append-only evidence for audits."""

    class Kind(models.TextChoices):
        RESERVE = "reserve", _("Reserved")
        SETTLE = "settle", _("Settled")
        REFUND = "refund", _("Refunded")
        ADJUSTMENT = "adjustment", _("Adjustment")

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="credit_entries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_entries"
    )
    generation = models.ForeignKey(
        Generation, on_delete=models.PROTECT, related_name="credit_entries", null=True
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    # Signed: a reservation spends (negative), a refund gives back (positive).
    amount = models.IntegerField(_("credits"))
    rivya_task_id = models.CharField(max_length=128, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit ledger")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One entry of each kind per generation: a step that runs twice writes once.
            models.UniqueConstraint(
                fields=["generation", "kind"],
                condition=~models.Q(kind="adjustment"),
                name="one_credit_entry_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.team})"

    @classmethod
    def record(cls, generation: Generation, kind: str, amount: int, note: str = "") -> None:
        """Append an entry once; a repeat of the same step is a no-op."""
        with transaction.atomic():
            cls.objects.get_or_create(
                generation=generation,
                kind=kind,
                defaults={
                    "team_id": generation.team_id,
                    "user_id": generation.created_by_id,
                    "amount": amount,
                    "rivya_task_id": generation.rivya_task_id,
                    "note": note,
                },
            )


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
        verbose_name_plural = _("model catalog")
        ordering = ["model_id"]

    def __str__(self) -> str:
        return self.model_id
