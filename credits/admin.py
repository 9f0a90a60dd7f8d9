"""Admin: the credit ledger (read-only), balance snapshots, budget holds and events."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from credits.models import CreditEntry


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin[CreditEntry]):
    list_display = ["created_at", "team", "user", "kind", "amount", "generation", "rivya_task_id"]
    list_filter = ["kind", "team", "user"]
    list_select_related = ["team", "user", "generation"]
    search_fields = ["rivya_task_id", "generation__id", "user__username", "team__name", "note"]
    date_hierarchy = "created_at"

    # The ledger is append-only: nobody edits or deletes entries by hand here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
