"""Admin: teams, their members and their invitations (tokens are never shown: only hashes exist)."""

from django.contrib import admin
from django.http import HttpRequest

from teams.models import Invitation, Membership, Team


class MembershipInline(admin.TabularInline[Membership, Team]):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at", "chosen_at"]
    readonly_fields = ["created_at", "chosen_at"]


class InvitationInline(admin.TabularInline[Invitation, Team]):
    model = Invitation
    extra = 0
    can_delete = False
    fields = ["role", "email", "uses", "max_uses", "expires_at", "revoked_at", "created_by"]
    readonly_fields = ["uses", "created_by"]

    def has_add_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Made from the team's page, where the link is shown once.
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    list_display = ["name", "personal", "created_at"]
    list_filter = ["personal"]
    search_fields = ["name", "memberships__user__username"]
    inlines = [MembershipInline, InvitationInline]
