"""Admin: teams and their members, generations, and the read-only credit ledger."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from generations.models import CreditEntry, Generation, Membership, Team


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "personal", "created_at"]
    list_filter = ["personal"]
    search_fields = ["name", "memberships__user__username"]
    inlines = [MembershipInline]


class CreditEntryInline(admin.TabularInline[CreditEntry, Generation]):
    model = CreditEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "amount", "rivya_task_id", "note")
    readonly_fields = ("created_at", "kind", "amount", "rivya_task_id", "note")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin[Generation]):
    list_display = [
        "created_at",
        "team",
        "created_by",
        "status",
        "duration",
        "aspect_ratio",
        "reserved_credits",
        "final_credits",
        "rivya_task_id",
    ]
    list_filter = ["status", "team", "aspect_ratio", "duration", "sound"]
    list_select_related = ["team", "created_by"]
    search_fields = ["prompt", "rivya_task_id", "id", "created_by__username"]
    date_hierarchy = "created_at"
    inlines = [CreditEntryInline]
    # A generation is evidence of what was asked and spent: shown, not edited.
    readonly_fields = [field.name for field in Generation._meta.get_fields() if field.concrete]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CreditEntry)
class CreditEntryAdmin(admin.ModelAdmin[CreditEntry]):
    list_display = ["created_at", "team", "user", "kind", "amount", "generation", "rivya_task_id"]
    list_filter = ["kind", "team", "user"]
    list_select_related = ["team", "user", "generation"]
    search_fields = ["rivya_task_id", "generation__id", "user__username", "team__name", "note"]
    date_hierarchy = "created_at"

    # The ledger is append-only: nobody adds, edits or deletes entries by hand here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
