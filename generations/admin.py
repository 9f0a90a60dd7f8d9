"""Admin: generations, with their credit entries shown beside them, and share links."""

from collections.abc import Iterator
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from credits import export
from credits.admin import (
    AuditListAdmin,
    EvidenceAdmin,
    Total,
    credits_text,
    generation_link,
    short_time,
)
from credits.models import CreditEntry
from generations import tasks
from generations.models import Generation, ShareLink, Status
from rivyaweb.admin import LabelledTabularInline


class CreditEntryInline(LabelledTabularInline[CreditEntry, Generation]):
    model = CreditEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "amount", "rivya_task_id", "note")
    readonly_fields = ("created_at", "kind", "amount", "rivya_task_id", "note")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ValuesFilter(admin.SimpleListFilter):
    """The distinct non-empty values of one field of the generations, each as ``label``
    shows it (Django's own filter would offer the empty value as a link without text)."""

    field = ""

    def label(self, value: Any) -> str:
        return str(value)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        values = Generation.objects.order_by(self.field).values_list(self.field, flat=True)
        return [(str(value), self.label(value)) for value in values.distinct() if value != ""]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class DurationFilter(ValuesFilter):
    """The video's length, with its unit ("10 s"), rather than a bare number."""

    title = _("duration")
    parameter_name = field = "duration"

    def label(self, value: Any) -> str:
        return seconds_text(value)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset.filter(duration=value) if value and value.isdigit() else queryset


class ErrorCodeFilter(ValuesFilter):
    title = _("error code")
    parameter_name = field = "error_code"


def seconds_text(seconds: float | None) -> str:
    """A length of video with its unit: "10 s" (one decimal when it has one)."""
    if seconds is None:
        return "–"
    return _("%(seconds)s s") % {"seconds": number_format(seconds, decimal_pos=None)}


@admin.register(Generation)
class GenerationAdmin(AuditListAdmin[Generation]):
    # Fits a 1366 px screen beside the admin's two sidebars (tests/test_browser_admin_lists.py):
    # the creator under the team, the error code under the status, the request in one
    # column, the credits in another.
    list_display = [
        "created",
        "team_and_creator",
        "status_and_error",
        "request",
        "credits",
        "rivya_task_id",
        # What staff need to judge a row that needs attention.
        "create_tries",
    ]
    list_filter = [
        "status",
        ErrorCodeFilter,
        ("team", admin.RelatedOnlyFieldListFilter),
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "aspect_ratio",
        DurationFilter,
        "sound",
    ]
    list_select_related = ["team", "created_by"]
    search_fields = ["prompt", "rivya_task_id", "id", "idempotency_key", "created_by__username"]
    date_hierarchy = "created_at"
    inlines = [CreditEntryInline]
    actions = ["ask_rivya_again", "copy_again"]
    # A generation is evidence of what was asked and spent: shown, not edited. Fields that
    # only the app's machinery reads (the form token, the idempotency key, the create body,
    # leases and polling times, hashes, derived gallery media) are not shown at all.
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "team",
                    "created_by",
                    "status",
                    "created_at",
                    "submitted_at",
                    "finished_at",
                    "retry_of",
                ]
            },
        ),
        (
            _("What was asked"),
            {"fields": ["model", "prompt", "length", "sound", "aspect_ratio", "reference_image"]},
        ),
        (
            _("Rivya"),
            {
                "fields": [
                    "rivya_task_id",
                    "rivya_status",
                    "reserved",
                    "final",
                    "create_attempts",
                    "first_create_at",
                    "error_code",
                    "error_message",
                    "rivya_message",
                    "notice",
                ]
            },
        ),
        (
            _("The video"),
            {"fields": ["video", "poster", "video_length", "video_frame", "video_file_size"]},
        ),
        (_("Deleted"), {"fields": ["deleted_at", "deleted_by"]}),
    ]
    readonly_fields = [field for _name, options in fieldsets for field in options["fields"]]  # type: ignore[misc]

    export_name = "generations"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def totals(self, queryset: QuerySet[Generation]) -> list[Total]:
        sums = queryset.aggregate(
            count=Count("pk"),
            reserved=Sum("reserved_credits", default=0),
            final=Sum("final_credits", default=0),
        )
        return [
            ("count", _("Generations"), sums["count"]),
            ("reserved", _("Reserved credits"), sums["reserved"]),
            ("final", _("Final credits"), sums["final"]),
        ]

    def export_rows(self, queryset: QuerySet[Generation]) -> Iterator[export.Row]:
        return export.generation_rows(queryset)

    @admin.action(
        description=_("Ask Rivya again (rows that need attention and have no video yet)"),
        permissions=["change"],
    )
    def ask_rivya_again(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        """An unconfirmed create is sent again with the same key and body; a task Rivya did
        not find is read again. Past Rivya's 24 h idempotency window a create sent again may
        be charged again: that is why staff decide it, never the app."""
        asked = 0
        for generation in queryset.filter(status=Status.ATTENTION):
            step = generation.ask_again()
            if step == "submit":
                tasks.enqueue("submit", str(generation.pk))
            if step is not None:
                asked += 1
        self._report(request, asked, queryset.count())

    @admin.action(
        description=_("Copy the video again (made videos whose copy failed)"),
        permissions=["change"],
    )
    def copy_again(self, request: HttpRequest, queryset: QuerySet[Generation]) -> None:
        """Re-read the task (its links may have been refreshed) and copy the video again."""
        copied = 0
        for generation in queryset.filter(status=Status.ATTENTION):
            if generation.copy_again():
                tasks.enqueue("mirror", str(generation.pk))
                copied += 1
        self._report(request, copied, queryset.count())

    def _report(self, request: HttpRequest, done: int, chosen: int) -> None:
        message = ngettext(
            "%(done)d of %(chosen)d generation was sent back to work.",
            "%(done)d of %(chosen)d generations were sent back to work.",
            chosen,
        ) % {"done": done, "chosen": chosen}
        self.message_user(request, message, messages.SUCCESS if done else messages.WARNING)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, generation: Generation) -> str:
        return short_time(generation.created_at)

    @admin.display(description=_("team and creator"), ordering="team__name")
    def team_and_creator(self, generation: Generation) -> str:
        return format_html(
            "{}<br><small>{}</small>", generation.team, generation.created_by.get_username()
        )

    @admin.display(description=_("status"), ordering="status")
    def status_and_error(self, generation: Generation) -> str:
        status = generation.get_status_display()
        if not generation.error_code:
            return status
        return format_html("{}<br><code>{}</code>", status, generation.error_code)

    @admin.display(description=_("video"))
    def request(self, generation: Generation) -> str:
        parts = [seconds_text(generation.duration), generation.aspect_ratio]
        if generation.sound:
            parts.append(str(_("sound")))
        return " · ".join(parts)

    @admin.display(description=_("credits: reserved → final"), ordering="reserved_credits")
    def credits(self, generation: Generation) -> str:
        reserved, final = generation.reserved_credits, generation.final_credits
        return f"{number_or_dash(reserved)} → {number_or_dash(final)}"

    @admin.display(description=_("create attempts"), ordering="create_attempts")
    def create_tries(self, generation: Generation) -> str:
        if generation.first_create_at is None:
            return str(generation.create_attempts)
        return format_html(
            "{}<br><small>{}</small>",
            generation.create_attempts,
            _("first %(when)s") % {"when": short_time(generation.first_create_at)},
        )

    @admin.display(description=_("duration"))
    def length(self, generation: Generation) -> str:
        return seconds_text(generation.duration)

    @admin.display(description=_("reserved credits"))
    def reserved(self, generation: Generation) -> str:
        return credits_text(generation.reserved_credits)

    @admin.display(description=_("final credits"))
    def final(self, generation: Generation) -> str:
        return credits_text(generation.final_credits)

    @admin.display(description=_("length"))
    def video_length(self, generation: Generation) -> str:
        return seconds_text(generation.video_duration)

    @admin.display(description=_("frame"))
    def video_frame(self, generation: Generation) -> str:
        if not generation.video_width or not generation.video_height:
            return "–"
        return f"{generation.video_width} × {generation.video_height}"

    @admin.display(description=_("file size"))
    def video_file_size(self, generation: Generation) -> str:
        return filesizeformat(generation.video_size) if generation.video_size else "–"


def number_or_dash(value: int | None) -> str:
    return "–" if value is None else number_format(value, force_grouping=True)


@admin.register(ShareLink)
class ShareLinkAdmin(EvidenceAdmin[ShareLink]):
    """Public links to videos: who made which, until when, and whether they still work.
    Only the token's hash exists, and it is not shown; links are made and revoked on the
    video's page."""

    list_display = ["created", generation_link, "created_by", "show_prompt", "until", "state"]
    list_filter = ["show_prompt", "created_at", "expires_at"]
    list_select_related = ["generation", "created_by"]
    search_fields = ["generation__prompt", "generation__id", "created_by__username"]
    date_hierarchy = "created_at"
    exclude = ["token_hash"]

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, link: ShareLink) -> str:
        return short_time(link.created_at)

    @admin.display(description=_("expires"), ordering="expires_at")
    def until(self, link: ShareLink) -> str:
        return short_time(link.expires_at)

    @admin.display(description=_("state"))
    def state(self, link: ShareLink) -> str:
        if link.revoked_at is not None:
            return str(_("Revoked"))
        return str(_("Expired") if link.expires_at <= timezone.now() else _("Active"))
