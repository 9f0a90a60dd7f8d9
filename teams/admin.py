"""Admin: teams, their members and their invitations (tokens are never shown: only hashes
exist), and the team's budget events.

Budgets and caps are edited here by staff like any field, but saved through
``credits.limits`` so every change is recorded with the staff user who made it.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Field, PositiveIntegerField
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from credits import limits
from credits.admin import EvidenceAdmin, limit_text, short_time
from credits.models import BudgetEvent
from rivyaweb.admin import LabelledTabularInline
from teams.models import MAX_MONTHLY_CREDITS, Invitation, Membership, Team

# Budgets and caps (the only positive integers of a team and a membership here) take the
# same range as on the team's page.
LIMIT_RANGE: dict[type[Field[Any, Any]], dict[str, Any]] = {
    PositiveIntegerField: {"max_value": MAX_MONTHLY_CREDITS}
}


class MembershipInline(LabelledTabularInline[Membership, Team]):
    model = Membership
    formfield_overrides = LIMIT_RANGE
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "monthly_credit_cap", "created_at", "chosen_at"]
    readonly_fields = ["created_at", "chosen_at"]


class InvitationInline(LabelledTabularInline[Invitation, Team]):
    model = Invitation
    extra = 0
    can_delete = False
    fields = ["role", "email", "uses", "max_uses", "expires_at", "revoked_at", "created_by"]
    readonly_fields = ["uses", "created_by"]

    def has_add_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        # Made from the team's page, where the link is shown once.
        return False


class BudgetEventInline(LabelledTabularInline[BudgetEvent, Team]):
    """The team's budget history: evidence, so nobody adds, edits or deletes it here."""

    model = BudgetEvent
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "at",
        "kind",
        "member",
        "old_value",
        "new_value",
        "month",
        "changed_by",
    )

    def has_add_permission(self, request: HttpRequest, obj: Team | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin[Team]):
    formfield_overrides = LIMIT_RANGE
    list_display = ["name", "personal", "budget", "created"]
    list_filter = ["personal"]
    search_fields = ["name", "memberships__user__username"]
    inlines = [MembershipInline, InvitationInline, BudgetEventInline]

    @admin.display(description=_("monthly budget"), ordering="monthly_credit_budget")
    def budget(self, team: Team) -> str:
        return limit_text(team.monthly_credit_budget)

    @admin.display(description=_("created"), ordering="created_at")
    def created(self, team: Team) -> str:
        return short_time(team.created_at)

    def save_model(
        self, request: HttpRequest, obj: Team, form: ModelForm[Team], change: bool
    ) -> None:
        budget = obj.monthly_credit_budget
        if not change:
            # A new team is saved without a budget, so setting it is recorded below.
            obj.monthly_credit_budget = None
            obj.save()
        # Locks the row until the admin's transaction ends; the save that follows then
        # writes the budget it already has.
        limits.set_team_budget(obj, budget, by=request.user)
        super().save_model(request, obj, form, change)

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm[Team],
        formset: BaseInlineFormSet[Any, Team, Any],
        change: bool,
    ) -> None:
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        added = []
        for inline in formset.forms:
            membership = inline.instance
            if inline in formset.deleted_forms or "monthly_credit_cap" not in inline.changed_data:
                continue
            if membership.pk is None:
                # Added with no cap; the cap is set, and recorded, once the row exists.
                added.append((membership, membership.monthly_credit_cap))
                membership.monthly_credit_cap = None
            else:
                limits.set_member_cap(membership, membership.monthly_credit_cap, by=request.user)
        super().save_formset(request, form, formset, change)
        for membership, cap in added:
            limits.set_member_cap(membership, cap, by=request.user)


@admin.register(Membership)
class MembershipAdmin(EvidenceAdmin[Membership]):
    """Who is in which team, in which role: a list to find people by. Members, roles and
    caps are changed on the team's page (above), where a team keeps an owner and every
    cap change is recorded."""

    list_display = ["user", "team", "role", "cap", "joined", "last_chosen"]
    list_filter = ["role", ("team", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__email", "team__name"]
    date_hierarchy = "created_at"

    @admin.display(description=_("monthly cap"), ordering="monthly_credit_cap")
    def cap(self, membership: Membership) -> str:
        return limit_text(membership.monthly_credit_cap)

    @admin.display(description=_("joined"), ordering="created_at")
    def joined(self, membership: Membership) -> str:
        return short_time(membership.created_at)

    @admin.display(description=_("last chosen"), ordering="chosen_at")
    def last_chosen(self, membership: Membership) -> str:
        return short_time(membership.chosen_at)
