"""Admin: the audit of credits.

The ledger and the generations lists (``AuditListAdmin``) show the totals of the filtered
set above the list and export that same set as CSV. Ledger entries are never changed or
deleted, by anyone; staff with the add permission record adjustments. Balance snapshots,
budget holds, events and alerts are evidence: shown, never written by hand. The "Credit
auditors" group (migration 0003) may view all of it and change nothing.
"""

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Model, Q, QuerySet, Sum
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from credits import export, ledger
from credits.forms import AdjustmentForm
from credits.models import BalanceSnapshot, BudgetAlert, BudgetEvent, CreditEntry, Hold

# (key, label, value): one figure above an audit list.
Total = tuple[str, Any, int]


class AuditListAdmin[M: Model](admin.ModelAdmin[M]):
    """A list whose filtered set is totalled above it and can be downloaded as CSV.

    Subclasses say how to total a queryset and how to turn it into CSV rows; the
    change-list template (``admin/credits/audit_change_list.html``) shows both.
    """

    export_name = "export"

    def totals(self, queryset: QuerySet[M]) -> list[Total]:
        raise NotImplementedError

    def export_rows(self, queryset: QuerySet[M]) -> Iterator[export.Row]:
        raise NotImplementedError

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_GET(self.export_view))
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("export.csv", view, name=name), *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # A POST here is an action or a list edit: both change rows.
        if request.method == "POST" and not self.has_change_permission(request):
            raise PermissionDenied
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context is not None and "cl" in context:
            changelist = context["cl"]
            context["totals"] = self.totals(changelist.queryset)
            context["export_url"] = self._url("export") + changelist.get_query_string(
                remove=[PAGE_VAR]
            )
        return response

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        """The CSV of exactly what the list shows with the same query string."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(f"{self._url('changelist')}?{ERROR_FLAG}=1")
        queryset = changelist.get_queryset(request)
        filename = f"{self.export_name}-{timezone.localdate():%Y-%m-%d}.csv"
        return export.csv_response(self.export_rows(queryset), filename)

    def _url(self, view: str) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_{view}")


class EvidenceAdmin[M: Model](admin.ModelAdmin[M]):
    """Viewed only: never added, changed or deleted by hand here (records of what happened,
    and lists whose rows are changed elsewhere)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def credits_text(value: int | None) -> str:
    """A number of credits as words ("55 credits"), "–" for none."""
    if value is None:
        return "–"
    return ngettext("%(count)s credit", "%(count)s credits", abs(value)) % {
        "count": number_format(value, force_grouping=True)
    }


def short_time(value: datetime | None) -> str:
    """A moment as the lists show it: the local date and minute, "–" for none."""
    return date_format(timezone.localtime(value), "Y-m-d H:i") if value else "–"


def limit_text(value: int | None) -> str:
    """A budget or cap: its credits, or "no limit" when none is set."""
    return str(_("no limit")) if value is None else credits_text(value)


@admin.display(description=_("month"), ordering="month")
def month_name(row: BudgetEvent | BudgetAlert) -> str:
    return date_format(row.month, "YEAR_MONTH_FORMAT")


@admin.display(description=_("generation"))
def generation_link(row: Any) -> str:
    """The generation's prompt, short, linked to its admin page (``row`` has a
    ``generation``: a ledger entry, a hold, a share link)."""
    if row.generation is None:
        return "–"
    url = reverse("admin:generations_generation_change", args=[row.generation_id])
    return format_html('<a href="{}">{}</a>', url, Truncator(row.generation.prompt).chars(28))


@admin.register(CreditEntry)
class CreditEntryAdmin(AuditListAdmin[CreditEntry]):
    # Narrow enough for a 1366 px screen beside the admin's two sidebars; the author of
    # an adjustment is on its page and in the CSV.
    list_display = [
        "when",
        "team",
        "user",
        "kind",
        "amount",
        generation_link,
        "rivya_task_id",
        "short_note",
    ]
    list_filter = [
        "kind",
        ("team", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    list_select_related = ["team", "user", "generation", "made_by"]
    search_fields = [
        "generation__prompt",
        "rivya_task_id",
        "note",
        "generation__id",
        "user__username",
        "team__name",
    ]
    date_hierarchy = "created_at"
    autocomplete_fields = ["team", "user"]
    fields = [
        "created_at",
        "kind",
        "amount",
        "team",
        "user",
        "generation",
        "rivya_task_id",
        "note",
        "made_by",
    ]
    readonly_fields = ["created_at"]
    export_name = "credit-ledger"

    def totals(self, queryset: QuerySet[CreditEntry]) -> list[Total]:
        sums = queryset.aggregate(
            count=Count("pk"),
            total=Sum("amount", default=0),
            spent=Sum("amount", filter=Q(amount__lt=0), default=0),
            returned=Sum("amount", filter=Q(amount__gt=0), default=0),
        )
        return [
            ("count", _("Entries"), sums["count"]),
            ("total", _("Total credits"), sums["total"]),
            ("spent", _("Spent (negative entries)"), sums["spent"]),
            ("returned", _("Refunded (positive entries)"), sums["returned"]),
        ]

    def export_rows(self, queryset: QuerySet[CreditEntry]) -> Iterator[export.Row]:
        return export.ledger_rows(queryset)

    @admin.display(description=_("when"), ordering="created_at")
    def when(self, entry: CreditEntry) -> str:
        return short_time(entry.created_at)

    @admin.display(description=_("note"), ordering="note")
    def short_note(self, entry: CreditEntry) -> str:
        return Truncator(entry.note).chars(32)

    # The ledger is append-only: staff add adjustments; nobody, not even a superuser,
    # changes or deletes an entry.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["amount", "reason", "team", "user"]
        return super().get_fields(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm[CreditEntry]]:
        if obj is None:
            kwargs["form"] = AdjustmentForm
        return super().get_form(request, obj, change, **kwargs)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {
            "title": _("Record an adjustment"),
            "show_save_and_continue": False,
            **(extra_context or {}),
        }
        return super().add_view(request, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: CreditEntry, form: Any, change: bool) -> None:
        """Written by the ledger's one function for adjustments, with the staff user as
        author; ``obj`` then stands for the stored entry (for the log and the redirect)."""
        entry = ledger.adjust(
            amount=obj.amount,
            reason=form.cleaned_data["reason"],
            made_by=request.user,
            team=obj.team,
            user=obj.user,
        )
        obj.pk = entry.pk
        obj.refresh_from_db()
        obj._state.adding = False


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(EvidenceAdmin[BalanceSnapshot]):
    list_display = ["taken_at", "balance", "total", "ledger_last_id"]
    list_filter = ["taken_at"]
    date_hierarchy = "taken_at"

    @admin.display(description=_("Rivya balance"), ordering="credits")
    def balance(self, snapshot: BalanceSnapshot) -> str:
        return credits_text(snapshot.credits)

    @admin.display(description=_("ledger total"), ordering="ledger_total")
    def total(self, snapshot: BalanceSnapshot) -> str:
        return credits_text(snapshot.ledger_total)


@admin.register(Hold)
class HoldAdmin(EvidenceAdmin[Hold]):
    list_display = ["taken", "team", "user", generation_link, "held", "state", "ended"]
    list_filter = [
        "state",
        ("team", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
        "created_at",
    ]
    list_select_related = ["team", "user", "generation"]
    date_hierarchy = "created_at"

    @admin.display(description=_("taken"), ordering="created_at")
    def taken(self, hold: Hold) -> str:
        return short_time(hold.created_at)

    @admin.display(description=_("credits"), ordering="credits")
    def held(self, hold: Hold) -> str:
        return credits_text(hold.credits)

    @admin.display(description=_("ended"), ordering="ended_at")
    def ended(self, hold: Hold) -> str:
        return short_time(hold.ended_at)


@admin.register(BudgetEvent)
class BudgetEventAdmin(EvidenceAdmin[BudgetEvent]):
    list_display = ["when", "team", "kind", "member", "change", month_name, "changed_by"]
    list_filter = ["kind", ("team", admin.RelatedOnlyFieldListFilter), "month"]
    list_select_related = ["team", "member", "changed_by"]
    date_hierarchy = "at"

    @admin.display(description=_("when"), ordering="at")
    def when(self, event: BudgetEvent) -> str:
        return short_time(event.at)

    @admin.display(description=_("before → after"))
    def change(self, event: BudgetEvent) -> str:
        return f"{limit_text(event.old_value)} → {limit_text(event.new_value)}"


@admin.register(BudgetAlert)
class BudgetAlertAdmin(EvidenceAdmin[BudgetAlert]):
    list_display = ["sent", "team", "member", month_name, "reached", "spent_of_limit"]
    list_filter = ["threshold", ("team", admin.RelatedOnlyFieldListFilter), "month"]
    list_select_related = ["team", "member"]
    date_hierarchy = "sent_at"

    @admin.display(description=_("sent"), ordering="sent_at")
    def sent(self, alert: BudgetAlert) -> str:
        return short_time(alert.sent_at)

    @admin.display(description=_("threshold"), ordering="threshold")
    def reached(self, alert: BudgetAlert) -> str:
        return f"{alert.threshold} %"

    @admin.display(description=_("spent of the limit"))
    def spent_of_limit(self, alert: BudgetAlert) -> str:
        return _("%(spent)s of %(limit)s") % {
            "spent": number_format(alert.spent, force_grouping=True),
            "limit": credits_text(alert.limit),
        }
