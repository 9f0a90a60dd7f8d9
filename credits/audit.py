"""The credit audit's computations: a month's dashboard, the reconciliation of the ledger
with Rivya's balance, and the anomalies worth a look.

Reads only, in a fixed handful of grouped queries whatever the number of entries, so the
admin pages (``credits.dashboard``) and ``bench ledger`` run the same code. Spend follows
``credits.usage``: the negated sum of a month's entries (refunds and the unspent part of a
reservation come back, a team's adjustments count). ``credits`` never imports
``generations``: generations are reached through ``apps.get_model`` and their statuses are
plain strings here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    Count,
    Exists,
    F,
    Field,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.sql.compiler import SQLCompiler
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from credits.models import BalanceSnapshot, BudgetEvent, CreditEntry
from credits.usage import Usage, held_by, month_bounds, month_of
from teams.models import Membership, Team

Kind = CreditEntry.Kind

TOP_SPENDERS = 10
# Rows shown per kind of anomaly; the count above them is always the full one.
ANOMALY_LIMIT = 100
# Statuses of generations (strings: credits does not import generations).
SUCCEEDED = ("ready", "saving")
ATTENTION = "attention"
# The day chart counts in quarter hours: every time zone's offset, and every change of
# it, is a whole number of them, so each quarter lies inside one local day.
QUARTER = 15 * 60


# --- The dashboard -----------------------------------------------------------------------

# One row of the month's entries summed per team, member and kind.
Group = Mapping[str, Any]
# Budgets, keyed (team, None), and caps, keyed (team, member).
Limits = dict[tuple[int, int | None], int | None]


@dataclass
class Tally:
    """Spend and counts of one team, one member or everyone, in one month."""

    spent: int = 0
    reservations: int = 0
    # Generations that failed and got credits back (a refund entry above zero).
    refunded: int = 0

    def add(self, kind: str, total: int, count: int, positive: int) -> None:
        self.spent -= total
        if kind == Kind.RESERVE:
            self.reservations += count
        elif kind == Kind.REFUND:
            self.refunded += positive


@dataclass
class TeamRow:
    team_id: int
    name: str
    tally: Tally
    # The team's budget that month (None: no limit), with what it spent and holds.
    budget: Usage | None = None


@dataclass
class MemberRow:
    team_id: int
    team_name: str
    user_id: int
    username: str
    tally: Tally
    cap: Usage | None = None


@dataclass
class Spender:
    """One person's spend across all their teams."""

    user_id: int
    username: str
    tally: Tally
    teams: int = 0


@dataclass(frozen=True)
class Day:
    day: date
    spent: int


@dataclass
class Totals:
    """Everything the month's ledger holds, by what it was for."""

    tally: Tally = field(default_factory=Tally)
    reserved: int = 0  # credits Rivya reserved
    returned: int = 0  # given back at settlement or by a refund
    adjusted: int = 0  # staff adjustments, of teams and of the whole account


@dataclass(frozen=True)
class Dashboard:
    month: date
    teams: list[TeamRow]
    members: list[MemberRow]
    top_spenders: list[Spender]
    days: list[Day]
    totals: Totals


def dashboard(month: date) -> Dashboard:
    """Spend of ``month`` (its first day) per team, member, person and day, with budget use.

    Budgets and caps are the ones in force at the end of the month (now, for the current
    month: then open holds count too), read back from the recorded budget events.
    """
    month = month.replace(day=1)
    groups = _month_groups(month)
    limits = _limits_in_force(month)
    teams = _team_rows(month, groups, limits)
    members = _member_rows(month, groups, teams, limits)
    return Dashboard(
        month=month,
        teams=sorted(teams.values(), key=lambda row: (-row.tally.spent, row.name)),
        members=sorted(members, key=lambda row: (-row.tally.spent, row.username, row.team_name)),
        top_spenders=_top_spenders(members),
        days=_days(month),
        totals=_totals(groups),
    )


def _month_groups(month: date) -> list[Group]:
    """The month's entries summed per team, member and kind: one query, one index scan."""
    start, end = month_bounds(month)
    groups = (
        CreditEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("team_id", "user_id", "kind")
        .annotate(
            total=Sum("amount"),
            count=Count("id"),
            positive=Count("id", filter=Q(amount__gt=0)),
        )
        .order_by()
    )
    return list(groups)


def _add(tally: Tally, group: Group) -> None:
    tally.add(group["kind"], group["total"] or 0, group["count"], group["positive"])


def _team_rows(month: date, groups: list[Group], limits: Limits) -> dict[int, TeamRow]:
    spending = {group["team_id"] for group in groups if group["team_id"] is not None}
    found = Team.objects.filter(
        Q(pk__in=spending)
        | Q(monthly_credit_budget__isnull=False)
        | Q(pk__in=[team_id for team_id, member in limits if member is None])
    ).values_list("pk", "name", "monthly_credit_budget")
    teams = list(found)
    rows = {pk: TeamRow(pk, name, Tally()) for pk, name, _budget in teams}
    for group in groups:
        if group["team_id"] in rows:
            _add(rows[group["team_id"]].tally, group)
    held = _held(month, "team_id")
    for pk, _name, budget in teams:
        limit = limits.get((pk, None), budget)
        if limit is not None:
            rows[pk].budget = Usage(limit, rows[pk].tally.spent, held.get(pk, 0))
    return rows


def _member_rows(
    month: date, groups: list[Group], teams: dict[int, TeamRow], limits: Limits
) -> list[MemberRow]:
    tallies: dict[tuple[int, int], Tally] = defaultdict(Tally)
    for group in groups:
        if group["team_id"] is not None and group["user_id"] is not None:
            _add(tallies[group["team_id"], group["user_id"]], group)
    names = _usernames({user_id for _team, user_id in tallies})
    caps = _caps(tallies, limits)
    held = _held(month, "team_id", "user_id")
    rows = []
    for (team_id, user_id), tally in tallies.items():
        cap = caps.get((team_id, user_id))
        row = MemberRow(team_id, teams[team_id].name, user_id, names.get(user_id, "?"), tally)
        if cap is not None:
            row.cap = Usage(cap, tally.spent, held.get((team_id, user_id), 0))
        rows.append(row)
    return rows


def _top_spenders(members: Iterable[MemberRow]) -> list[Spender]:
    people: dict[int, Spender] = {}
    for row in members:
        person = people.setdefault(row.user_id, Spender(row.user_id, row.username, Tally()))
        person.tally.spent += row.tally.spent
        person.tally.reservations += row.tally.reservations
        person.tally.refunded += row.tally.refunded
        person.teams += 1
    ranked = sorted(people.values(), key=lambda person: (-person.tally.spent, person.username))
    return [person for person in ranked if person.tally.spent > 0][:TOP_SPENDERS]


def _totals(groups: Iterable[Group]) -> Totals:
    totals = Totals()
    for group in groups:
        total = group["total"] or 0
        if group["team_id"] is not None:
            _add(totals.tally, group)
        if group["kind"] == Kind.RESERVE:
            totals.reserved -= total
        elif group["kind"] == Kind.ADJUSTMENT:
            totals.adjusted += total
        else:
            totals.returned += total
    return totals


class QuarterHour(Func):
    """The quarter hour a moment falls in, for grouping in the database without a call
    into Python per row (what ``TruncDate`` costs on SQLite). Each database gives its
    cheapest form: the quarter's start on PostgreSQL (``date_bin``), its number since 1970
    on SQLite; :func:`quarter_start` reads either."""

    output_field = Field()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"(unixepoch(%(expressions)s) / {QUARTER})"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        epoch = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
        template = f"date_bin('{QUARTER} seconds', %(expressions)s, {epoch})"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        if template is None:
            raise NotSupportedError(f"QuarterHour is not written for {connection.vendor}.")
        return super().as_sql(compiler, connection, function, template, arg_joiner, **extra_context)


def quarter_start(quarter: datetime | int) -> datetime:
    """The aware start of a :class:`QuarterHour` value."""
    if isinstance(quarter, datetime):
        return quarter
    return datetime.fromtimestamp(quarter * QUARTER, UTC)


def _days(month: date) -> list[Day]:
    """The teams' spend on each day of the month (in ``TIME_ZONE``), every day listed."""
    start, end = month_bounds(month)
    quarters = (
        CreditEntry.objects.filter(created_at__gte=start, created_at__lt=end, team__isnull=False)
        .annotate(quarter=QuarterHour("created_at"))
        .values("quarter")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    spent: dict[date, int] = defaultdict(int)
    for row in quarters:
        day = timezone.localdate(quarter_start(row["quarter"]), timezone.get_default_timezone())
        spent[day] -= row["total"] or 0
    count = (end.date() - start.date()).days
    every = (month + timedelta(days=offset) for offset in range(count))
    return [Day(day, spent.get(day, 0)) for day in every]


def _limits_in_force(month: date) -> Limits:
    """Budgets (``(team, None)``) and caps (``(team, member)``) changed since the end of
    ``month``: the value each had before its first later change."""
    moment = min(month_bounds(month)[1], timezone.now())
    events = (
        BudgetEvent.objects.filter(
            kind__in=[BudgetEvent.Kind.TEAM_BUDGET, BudgetEvent.Kind.MEMBER_CAP], at__gte=moment
        )
        .order_by("at", "pk")
        .values_list("team_id", "member_id", "kind", "old_value")
    )
    before: Limits = {}
    for team_id, member_id, kind, old_value in events:
        member = member_id if kind == BudgetEvent.Kind.MEMBER_CAP else None
        before.setdefault((team_id, member), old_value)
    return before


def _caps(members: Iterable[tuple[int, int]], limits: Limits) -> dict[tuple[int, int], int]:
    """The caps in force of the members listed, from one query of their teams' memberships."""
    wanted = set(members)
    memberships = Membership.objects.filter(team_id__in={team for team, _user in wanted})
    caps = {}
    for team_id, user_id, current in memberships.values_list(
        "team_id", "user_id", "monthly_credit_cap"
    ):
        cap = limits.get((team_id, user_id), current)
        if (team_id, user_id) in wanted and cap is not None:
            caps[team_id, user_id] = cap
    return caps


def _held(month: date, *fields: str) -> dict[Any, int]:
    """Open holds count in the current month only: a past month's are long settled."""
    return held_by(*fields) if month == month_of() else {}


def _usernames(user_ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids)
    return dict(users.values_list("pk", get_user_model().USERNAME_FIELD))


# --- Reconciliation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    """The ledger's movement between two balance snapshots against Rivya's change."""

    first: BalanceSnapshot
    last: BalanceSnapshot
    # The entries between the two: id in (first.ledger_last_id, last.ledger_last_id].
    entries: QuerySet[CreditEntry]
    entry_count: int
    entries_total: int

    @property
    def rivya_change(self) -> int:
        return self.last.credits - self.first.credits

    @property
    def ledger_movement(self) -> int:
        return self.last.ledger_total - self.first.ledger_total

    @property
    def difference(self) -> int:
        """What Rivya's balance did that the ledger does not explain (0 when they agree)."""
        return self.rivya_change - self.ledger_movement


def reconcile(first: BalanceSnapshot, last: BalanceSnapshot) -> Reconciliation:
    """Set Rivya's change between two snapshots against the ledger's (earlier one first)."""
    if (first.taken_at, first.pk or 0) > (last.taken_at, last.pk or 0):
        first, last = last, first
    entries = CreditEntry.objects.filter(
        pk__gt=first.ledger_last_id or 0, pk__lte=last.ledger_last_id or 0
    ).select_related("team", "user", "generation")
    summary = entries.order_by().aggregate(count=Count("id"), total=Sum("amount"))
    return Reconciliation(
        first=first,
        last=last,
        entries=entries.order_by("pk"),
        entry_count=summary["count"],
        entries_total=summary["total"] or 0,
    )


# --- Anomalies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Anomaly:
    """One row worth a look, with the admin page that shows it."""

    model: str  # GENERATION or ENTRY: the admin page the row links to
    object_id: Any
    label: str
    team: str
    at: datetime
    detail: str

    @property
    def admin_url(self) -> str:
        app_label, model_name = self.model.split(".")
        return reverse(f"admin:{app_label}_{model_name}_change", args=[self.object_id])


GENERATION = "generations.generation"
ENTRY = "credits.creditentry"


@dataclass(frozen=True)
class AnomalyList:
    kind: str
    title: str
    count: int
    rows: list[Anomaly]


def anomalies(now: datetime | None = None, limit: int = ANOMALY_LIMIT) -> list[AnomalyList]:
    """Every kind of anomaly, each with its full count and its first ``limit`` rows."""
    now = now or timezone.now()
    kinds: list[tuple[str, str, QuerySet[Any], Callable[[Any], Anomaly]]] = [
        ("unsettled", _("Reserved, not settled or refunded"), _unsettled(now), _open_reserve),
        ("mismatch", _("Succeeded with final ≠ reserved credits"), _mismatched(), _generation),
        ("no_task", _("Ledger entries without a Rivya task"), _untasked(), _entry),
        ("attention", _("Generations that need attention"), _attention(), _generation),
    ]
    return [_listed(kind, title, rows, anomaly, limit) for kind, title, rows, anomaly in kinds]


def _listed(
    kind: str, title: str, rows: QuerySet[Any], anomaly: Callable[[Any], Anomaly], limit: int
) -> AnomalyList:
    shown = [anomaly(row) for row in rows[:limit]]
    count = len(shown) if len(shown) < limit else rows.order_by().count()
    return AnomalyList(kind, title, count, shown)


def _team_name(row: Any) -> str:
    return row.team.name if row.team_id else ""


def _generation(row: Any) -> Anomaly:
    label = f"{row.prompt[:60]} ({row.get_status_display()})"
    detail = _("reserved %(reserved)s, final %(final)s") % {
        "reserved": _or_dash(row.reserved_credits),
        "final": _or_dash(row.final_credits),
    }
    return Anomaly(GENERATION, row.pk, label, _team_name(row), row.created_at, detail)


def _entry(row: CreditEntry) -> Anomaly:
    detail = _("generation %(id)s") % {"id": _or_dash(row.generation_id)}
    return Anomaly(ENTRY, row.pk, str(row), _team_name(row), row.created_at, detail)


def _open_reserve(row: CreditEntry) -> Anomaly:
    """A reservation left open: its generation is the row staff look at and act on."""
    detail = _("%(credits)s credits reserved") % {
        "credits": number_format(-row.amount, force_grouping=True)
    }
    label = str(row.generation_id)
    return Anomaly(GENERATION, row.generation_id, label, _team_name(row), row.created_at, detail)


def _or_dash(value: Any) -> str:
    return "–" if value is None else str(value)


def _unsettled(now: datetime) -> QuerySet[CreditEntry]:
    """Reservations older than ``RECONCILE_UNSETTLED_HOURS`` with no settlement or refund."""
    cutoff = now - timedelta(hours=settings.RECONCILE_UNSETTLED_HOURS)
    ended = CreditEntry.objects.filter(
        generation_id=OuterRef("generation_id"), kind__in=[Kind.SETTLE, Kind.REFUND]
    )
    return (
        CreditEntry.objects.filter(kind=Kind.RESERVE, created_at__lt=cutoff)
        .filter(~Exists(ended))
        .select_related("team")
        .order_by("created_at", "pk")
    )


def _mismatched() -> QuerySet[Any]:
    """Succeeded generations whose final price is not what Rivya reserved."""
    differs = (
        Q(final_credits__lt=F("reserved_credits"))
        | Q(final_credits__gt=F("reserved_credits"))
        | Q(final_credits__isnull=True, reserved_credits__isnull=False)
        | Q(final_credits__isnull=False, reserved_credits__isnull=True)
    )
    return (
        _generations()
        .filter(differs, status__in=SUCCEEDED)
        .select_related("team")
        .order_by("-created_at")
    )


def _untasked() -> QuerySet[CreditEntry]:
    """Lifecycle entries (adjustments may name no task) without a Rivya task id."""
    return (
        CreditEntry.objects.exclude(kind=Kind.ADJUSTMENT)
        .filter(rivya_task_id="")
        .select_related("team")
        .order_by("-created_at", "-pk")
    )


def _attention() -> QuerySet[Any]:
    return _generations().filter(status=ATTENTION).select_related("team").order_by("-created_at")


def _generations() -> QuerySet[Any]:
    return apps.get_model("generations", "Generation").objects.all()
