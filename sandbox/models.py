"""Sandbox state. Everything lives in the database so web and worker processes agree."""

import hashlib
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from sandbox import conf

BASE62 = string.digits + string.ascii_letters
ALL_SCOPES = [
    "models:read",
    "generations:create",
    "generations:read",
    "files:create",
    "files:read",
    "credits:read",
    "webhooks:manage",
    "chat:create",
    "chat:read",
]


def new_id(prefix: str) -> str:
    """``prefix_`` + 24 random base62 characters (§8 item 7)."""
    return prefix + "_" + "".join(secrets.choice(BASE62) for _ in range(24))


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and ``Z`` (§8 item 6)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class Account(models.Model):
    name = models.CharField(_("name"), max_length=100)
    balance = models.IntegerField(_("credit balance"), default=0)
    is_builtin = models.BooleanField(_("built-in"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("sandbox account")
        verbose_name_plural = _("sandbox accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["is_builtin"],
                condition=models.Q(is_builtin=True),
                name="sandbox_one_builtin_account",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        REVOKED = "revoked", _("revoked")
        EXPIRED = "expired", _("expired")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="keys")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("visible prefix"), max_length=16)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("sandbox API key")
        verbose_name_plural = _("sandbox API keys")

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @classmethod
    def issue(
        cls, account: Account, *, scopes: list[str] | None = None, raw: str | None = None
    ) -> tuple["ApiKey", str]:
        """Create a key and return it with the full secret (shown once, never stored)."""
        raw = raw or "rvya_sk_" + secrets.token_urlsafe(32)
        key = cls.objects.create(
            account=account,
            key_hash=hash_key(raw),
            prefix=raw[:12],
            scopes=list(ALL_SCOPES if scopes is None else scopes),
        )
        return key, raw

    def effective_status(self) -> str:
        if (
            self.status == self.Status.ACTIVE
            and self.expires_at
            and self.expires_at <= timezone.now()
        ):
            return self.Status.EXPIRED
        return self.status


class File(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=10)
    name = models.CharField(max_length=200)
    mime_type = models.CharField(max_length=50)
    size_bytes = models.BigIntegerField()
    model = models.CharField(max_length=50, blank=True)
    client_request_id = models.CharField(max_length=128, blank=True)
    url = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.id

    @property
    def relative_path(self) -> str:
        return f"files/{self.id}/{self.name}"

    def to_public(self) -> dict[str, Any]:
        """The ``PublicApiFile`` shape of §8 item 29."""
        return {
            "id": self.id,
            "object": "file",
            "url": self.url,
            "kind": self.kind,
            "name": self.name,
            "mime_type": self.mime_type,
            "size_bytes": self.size_bytes,
            "duration_seconds": None,
            "duration_token": None,
            "model": self.model or None,
            "client_request_id": self.client_request_id or None,
            "created_at": iso(self.created_at),
        }


class GenerationQuerySet(models.QuerySet["Generation"]):
    def move(self, pk: str, source: list[str], to: str, **fields: Any) -> bool:
        """The task's one way to change status: only from ``source``, stamped with the
        time, and True only for the caller whose UPDATE made the change."""
        rows = self.filter(pk=pk, status__in=source)
        return bool(rows.update(status=to, updated_at=timezone.now(), **fields))


class Generation(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        PROCESSING = "processing", _("processing")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED})

    class Render(models.TextChoices):
        PENDING = "pending", _("pending")
        RENDERING = "rendering", _("rendering")
        DONE = "done", _("done")

    id = models.CharField(primary_key=True, max_length=40)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="generations")
    model = models.CharField(max_length=50)
    prompt = models.TextField()
    params = models.JSONField(default=dict)
    reference_file = models.ForeignKey(File, null=True, blank=True, on_delete=models.SET_NULL)
    client_request_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    reserved_credits = models.IntegerField(default=0)
    final_credits = models.IntegerField(default=0)
    will_fail = models.BooleanField(default=False)
    paused = models.BooleanField(default=False)
    # When the timeline allows each transition.
    processing_at = models.DateTimeField()
    due_at = models.DateTimeField()
    render_state = models.CharField(max_length=10, choices=Render.choices, default=Render.PENDING)
    render_started_at = models.DateTimeField(null=True, blank=True)
    video_size = models.BigIntegerField(null=True, blank=True)
    # Scheme and host the task was created through, e.g. "http://127.0.0.1:8000": result URLs
    # are made when answered, and a webhook delivery has no request to take them from.
    origin = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def result_name(self) -> str:
        """The result file's name under the media directory (and in its URL)."""
        return f"{self.id}.{'png' if self.model == 'z-image' else 'mp4'}"

    def to_public(self, result_url: str = "") -> dict[str, Any]:
        """The public generation object (contract §3.2); ``result_url`` once succeeded."""
        result = None
        if self.status == self.Status.SUCCEEDED:
            result = {"primary_url": result_url, "urls": [result_url]}
        error = None
        if self.status == self.Status.FAILED:
            error = {"code": "generation_failed", "message": "The generation failed."}
        return {
            "id": self.id,
            "status": self.status,
            "model": self.model,
            "reserved_credits": self.reserved_credits,
            "final_credits": self.final_credits,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "result": result,
            "error": error,
        }


class IdempotencyRecord(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    # Both empty while the first request with the key is still running (it answers 409
    # to any other request with the key until it finishes).
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    # How many answers for this key were dropped (the lose-first-answers knob).
    answers_lost = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # One key, one request, whatever the route (§8 item 23).
            models.UniqueConstraint(fields=["account", "key"], name="sandbox_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.key}"

    @property
    def in_progress(self) -> bool:
        return self.status_code is None


class RateLimitWindow(models.Model):
    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE)
    bucket = models.CharField(max_length=20)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "bucket", "window_start"], name="sandbox_rate_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.bucket}@{self.window_start}"


class WebhookEndpoint(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        DISABLED = "disabled", _("disabled")
        REVOKED = "revoked", _("revoked")

    id = models.CharField(primary_key=True, max_length=40)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=2000)
    event_types = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Stored in full: the sandbox must sign with it. Shown only on create and rotate.
    signing_secret = models.CharField(max_length=100)
    # Made from SANDBOX_WEBHOOK_URL rather than through the API.
    from_settings = models.BooleanField(default=False)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id

    @property
    def secret_preview(self) -> str:
        return f"{self.signing_secret[:8]}...{self.signing_secret[-6:]}"

    def to_public(self, *, with_secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "webhook_endpoint",
            "name": self.name,
            "url": self.url,
            "event_types": self.event_types,
            "status": self.status,
            "secret_preview": self.secret_preview,
        }
        if with_secret:
            data["signing_secret"] = self.signing_secret
        data.update(
            {
                "last_success_at": iso(self.last_success_at),
                "last_failure_at": iso(self.last_failure_at),
                "failure_count": self.failure_count,
                "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at),
                "disabled_at": iso(self.disabled_at),
                "revoked_at": iso(self.revoked_at),
            }
        )
        return data


class WebhookEvent(models.Model):
    id = models.CharField(primary_key=True, max_length=40)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=50)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "api_version": "2026-05-11",
            "created_at": iso(self.created_at),
            "data": self.data,
        }


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    id = models.CharField(primary_key=True, max_length=40)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id

    def to_public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "webhook_delivery",
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event.type,
            "attempt": self.attempt,
            "status": self.status,
            "response_status": self.response_status,
            "error": self.error or None,
            "created_at": iso(self.created_at),
            "completed_at": iso(self.completed_at),
        }


class SandboxConfig(models.Model):
    """The fault knobs: one row (pk 1), so every process sees a change at once."""

    public_api_disabled = models.BooleanField(_("public API disabled (kill switch)"))
    error_rate = models.FloatField(_("random server error rate (0–1)"))
    drop_rate = models.FloatField(_("dropped connection rate (0–1)"))
    slow_seconds = models.FloatField(_("delay before every answer (seconds)"))
    task_failure_rate = models.FloatField(_("generation failure rate (0–1)"))
    truncate_media = models.BooleanField(_("truncate result videos"))
    answer_lost_rate = models.FloatField(_("create answer lost rate (0–1)"))
    create_delay_seconds = models.FloatField(
        _("delay before POST /generations makes its task (seconds)")
    )
    lose_first_answers = models.PositiveIntegerField(
        _("create answers lost per Idempotency-Key (first N)")
    )
    media_host = models.CharField(
        _("host of result URLs (host or host:port, empty: the request's host)"),
        max_length=255,
        blank=True,
    )
    media_url_ttl_seconds = models.PositiveIntegerField(_("result URLs valid for (seconds)"))
    queued_seconds = models.FloatField(_("seconds in queued"))
    processing_seconds = models.FloatField(_("seconds in processing"))
    rate_window_seconds = models.PositiveIntegerField(_("rate-limit window (seconds)"))
    rate_limit_generations = models.PositiveIntegerField(_("POST /generations per window"))
    rate_limit_files = models.PositiveIntegerField(_("POST /files per window"))
    rate_limit_other = models.PositiveIntegerField(_("other requests per window"))

    class Meta:
        verbose_name = _("sandbox configuration")

    def __str__(self) -> str:
        return "sandbox configuration"

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {
            "public_api_disabled": conf.get("SANDBOX_PUBLIC_API_DISABLED"),
            "error_rate": conf.get("SANDBOX_ERROR_RATE"),
            "drop_rate": conf.get("SANDBOX_DROP_RATE"),
            "slow_seconds": conf.get("SANDBOX_SLOW_SECONDS"),
            "task_failure_rate": conf.get("SANDBOX_TASK_FAILURE_RATE"),
            "truncate_media": conf.get("SANDBOX_TRUNCATE_MEDIA"),
            "answer_lost_rate": conf.get("SANDBOX_ANSWER_LOST_RATE"),
            "create_delay_seconds": conf.get("SANDBOX_CREATE_DELAY_SECONDS"),
            "lose_first_answers": conf.get("SANDBOX_LOSE_FIRST_ANSWERS"),
            "media_host": conf.get("SANDBOX_MEDIA_HOST"),
            "media_url_ttl_seconds": conf.get("SANDBOX_MEDIA_URL_TTL_SECONDS"),
            "queued_seconds": conf.get("SANDBOX_QUEUED_SECONDS"),
            "processing_seconds": conf.get("SANDBOX_PROCESSING_SECONDS"),
            "rate_window_seconds": conf.get("SANDBOX_RATE_WINDOW_SECONDS"),
            "rate_limit_generations": conf.get("SANDBOX_RATE_LIMIT_GENERATIONS"),
            "rate_limit_files": conf.get("SANDBOX_RATE_LIMIT_FILES"),
            "rate_limit_other": conf.get("SANDBOX_RATE_LIMIT_OTHER"),
        }

    @classmethod
    def load(cls) -> "SandboxConfig":
        config, _created = cls.objects.get_or_create(pk=1, defaults=cls.defaults())
        return config
