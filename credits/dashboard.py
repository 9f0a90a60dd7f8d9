"""The credit audit's pages in the admin: the month's dashboard and the reconciliation.

Mounted in ``rivyaweb/urls.py`` ahead of the admin's own URLs. Each page goes through
``admin.site.admin_view`` (staff only; anyone else meets the admin's login) and then asks for
the ledger's view permission, which the credit auditors have: staff without it get a 403.
The numbers come from ``credits.audit``; this module only reads the query string, draws the
chart and renders.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import wraps
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from credits import audit
from credits.models import BalanceSnapshot
from credits.usage import month_of

PERMISSION = "credits.view_creditentry"
ENTRIES_PER_PAGE = 50
SNAPSHOT_CHOICES = 200
# Months the chooser accepts: anything a budget month can be, with room for the next one.
FIRST_YEAR, LAST_YEAR = 1970, 9998
BIGINT_MAX = 2**63 - 1

View = Callable[..., HttpResponse]


def audit_page(view: View) -> View:
    """GET only; staff only (the admin's login), then the ledger's view permission or 403."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.has_perm(PERMISSION):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return require_safe(admin.site.admin_view(checked))


def _page(request: HttpRequest, template: str, title: str, **context: Any) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": title, **context}
    return TemplateResponse(request, template, context)


# --- The dashboard -----------------------------------------------------------------------


class MonthForm(forms.Form):
    month = forms.DateField(
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )

    def clean_month(self) -> date | None:
        month: date | None = self.cleaned_data["month"]
        if month is not None and not FIRST_YEAR <= month.year <= LAST_YEAR:
            raise forms.ValidationError(_("Choose a month between 1970 and 9998."), "range")
        return month


@audit_page
def dashboard(request: HttpRequest) -> HttpResponse:
    form = MonthForm(request.GET)
    month = month_of()
    if form.is_valid() and form.cleaned_data["month"]:
        month = form.cleaned_data["month"]
    elif not form.is_valid():
        messages.warning(request, _("That is not a month (YYYY-MM); this month is shown."))
        form = MonthForm(initial={"month": month})
    data = audit.dashboard(month)
    return _page(
        request,
        "admin/credits/dashboard.html",
        _("Credit dashboard"),
        dashboard=data,
        chart=chart(data.days),
        form=form,
        previous=_shift(month, -1),
        next=_shift(month, 1),
    )


def _shift(month: date, months: int) -> str | None:
    index = month.year * 12 + month.month - 1 + months
    year, number = divmod(index, 12)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    return f"{year:04d}-{number + 1:02d}"


@dataclass(frozen=True)
class Bar:
    day: date
    spent: int
    x: float
    y: float
    width: float
    height: float

    @property
    def negative(self) -> bool:
        return self.spent < 0


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    """A bar per day, in the coordinates of the SVG's ``viewBox``."""

    width: int
    height: int
    baseline: float
    top: int  # the largest spend of a day, drawn at the line ``headroom`` from the top
    headroom: int
    bars: list[Bar]
    ticks: list[Tick]


# The drawing's size, the strip under the bars for the day numbers, the room above them.
CHART_WIDTH, CHART_HEIGHT, LABELS, HEADROOM = 720, 200, 20, 14


def chart(days: list[audit.Day]) -> Chart:
    """Bars on a scale from the month's smallest day (or 0) to its largest; a day with
    money back (an adjustment in the team's favour) goes below the baseline."""
    top = max([0, *(day.spent for day in days)])
    bottom = min([0, *(day.spent for day in days)])
    span = (top - bottom) or 1
    plot = CHART_HEIGHT - LABELS - HEADROOM
    baseline = HEADROOM + plot * top / span
    step = CHART_WIDTH / max(len(days), 1)
    bars = []
    for index, day in enumerate(days):
        height = plot * abs(day.spent) / span
        y = baseline - height if day.spent > 0 else baseline
        bars.append(Bar(day.day, day.spent, index * step + 1, y, step - 2, height))
    ticks = [
        Tick(index * step + step / 2, str(day.day.day))
        for index, day in enumerate(days)
        if day.day.day == 1 or day.day.day % 5 == 0
    ]
    return Chart(CHART_WIDTH, CHART_HEIGHT, baseline, top, HEADROOM, bars, ticks)


# --- Reconciliation ----------------------------------------------------------------------


class SnapshotsForm(forms.Form):
    """Two snapshots by id, or the first and last snapshot of a date range."""

    first = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    last = forms.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("start", "end"):
            day = data.get(name)
            if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(name, forms.ValidationError(_("Out of range."), "range"))
        return data


@audit_page
def reconciliation(request: HttpRequest) -> HttpResponse:
    form = SnapshotsForm(request.GET)
    pair = _chosen(request, form)
    result = audit.reconcile(*pair) if pair else None
    entries = None
    if result is not None:
        paginator = Paginator(result.entries, ENTRIES_PER_PAGE)
        entries = paginator.get_page(request.GET.get("page"))
    return _page(
        request,
        "admin/credits/reconciliation.html",
        _("Reconciliation"),
        form=form,
        result=result,
        entries=entries,
        query=_without_page(request),
        snapshots=BalanceSnapshot.objects.all()[:SNAPSHOT_CHOICES],
        snapshot_count=BalanceSnapshot.objects.count(),
        anomalies=audit.anomalies(),
    )


def _chosen(
    request: HttpRequest, form: SnapshotsForm
) -> tuple[BalanceSnapshot, BalanceSnapshot] | None:
    """The two snapshots asked for; with nothing (or nothing valid) asked, the latest two."""
    if not form.is_valid():
        messages.warning(
            request, _("Those snapshots or dates are not valid; the latest two are shown.")
        )
        return _latest_two()
    data = form.cleaned_data
    if data["first"] or data["last"]:
        pair = _by_id(data["first"], data["last"])
        if pair is None:
            messages.warning(
                request, _("Choose two different snapshots that exist; the latest two are shown.")
            )
            return _latest_two()
        return pair
    if data["start"] or data["end"]:
        pair = _in_range(data["start"], data["end"])
        if pair is None:
            messages.warning(
                request,
                _("Fewer than two snapshots were taken in those dates; the latest two are shown."),
            )
            return _latest_two()
        return pair
    return _latest_two()


def _latest_two() -> tuple[BalanceSnapshot, BalanceSnapshot] | None:
    latest = list(BalanceSnapshot.objects.all()[:2])
    return (latest[1], latest[0]) if len(latest) == 2 else None


def _by_id(first: int | None, last: int | None) -> tuple[BalanceSnapshot, BalanceSnapshot] | None:
    if first is None or last is None or first == last:
        return None
    found = {
        snapshot.pk: snapshot for snapshot in BalanceSnapshot.objects.filter(pk__in=[first, last])
    }
    if len(found) != 2:
        return None
    return found[first], found[last]


def _in_range(
    start: date | None, end: date | None
) -> tuple[BalanceSnapshot, BalanceSnapshot] | None:
    """The first and the last snapshot taken from ``start`` through ``end`` (local days)."""
    snapshots: QuerySet[BalanceSnapshot] = BalanceSnapshot.objects.all()
    if start is not None:
        snapshots = snapshots.filter(taken_at__gte=_local_midnight(start))
    if end is not None:
        snapshots = snapshots.filter(taken_at__lt=_local_midnight(end + timedelta(days=1)))
    first = snapshots.order_by("taken_at", "pk").first()
    last = snapshots.order_by("-taken_at", "-pk").first()
    if first is None or last is None or first.pk == last.pk:
        return None
    return first, last


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


def _without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
