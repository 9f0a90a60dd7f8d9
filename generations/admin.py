"""Admin: generations, with their credit entries shown beside them."""

from collections.abc import Iterator
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from credits import export
from credits.admin import AuditListAdmin, Total
from credits.models import CreditEntry
from generations import tasks
from generations.models import Generation, Status


class CreditEntryInline(admin.TabularInline[CreditEntry, Generation]):
    model = CreditEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "amount", "rivya_task_id", "note")
    readonly_fields = ("created_at", "kind", "amount", "rivya_task_id", "note")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Generation)
class GenerationAdmin(AuditListAdmin[Generation]):
    list_display = [
        "created_at",
        "team",
        "created_by",
        "status",
        "error_code",
        "reserved_credits",
        "final_credits",
        "rivya_task_id",
        # What staff need to judge a row that needs attention.
        "create_attempts",
        "first_create_at",
        "idempotency_key",
    ]
    list_filter = [
        "status",
        "error_code",
        ("team", admin.RelatedOnlyFieldListFilter),
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "aspect_ratio",
        "duration",
        "sound",
    ]
    list_select_related = ["team", "created_by"]
    search_fields = ["prompt", "rivya_task_id", "id", "idempotency_key", "created_by__username"]
    date_hierarchy = "created_at"
    inlines = [CreditEntryInline]
    actions = ["ask_rivya_again", "copy_again"]
    # A generation is evidence of what was asked and spent: shown, not edited.
    readonly_fields = [field.name for field in Generation._meta.get_fields() if field.concrete]

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
