"""How much of a budget is used: read from the ledger and the open holds, never kept in a
counter, so a month ends without anything being reset.

Budget months are calendar months in ``TIME_ZONE``. Spend is the negated sum of the
ledger's entries in the month (a reservation spends, a refund or the unspent part of a
reservation gives back, a team's adjustment counts too); open holds count whatever
month they were taken in, until they become a reservation or are released.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from credits.models import CreditEntry, Hold


def month_of(moment: datetime | None = None) -> date:
    """The first day of the budget month ``moment`` (now by default) falls in."""
    # The site's zone, never the viewer's (rivyaweb.timezones activates theirs for display):
    # a budget month is the same for everyone in the team.
    return timezone.localdate(moment, timezone.get_default_timezone()).replace(day=1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The aware start (inclusive) and end (exclusive) of the budget month ``month``."""
    zone = timezone.get_default_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    end = datetime(following.year, following.month, 1, tzinfo=zone)
    return start, end


def spent(team_id: Any, month: date, user_id: Any = None) -> int:
    """Credits the team (or one member in it) spent in ``month``, refunds deducted."""
    start, end = month_bounds(month)
    entries = CreditEntry.objects.filter(team_id=team_id, created_at__gte=start, created_at__lt=end)
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    total = entries.aggregate(total=Sum("amount"))["total"]
    return -(total or 0)


def held(team_id: Any, user_id: Any = None) -> int:
    """Credits held by the team's (or one member's) submissions Rivya has not yet taken."""
    holds = Hold.objects.filter(team_id=team_id, state=Hold.State.OPEN)
    if user_id is not None:
        holds = holds.filter(user_id=user_id)
    return holds.aggregate(total=Sum("credits"))["total"] or 0


@dataclass(frozen=True)
class Usage:
    """One budget or cap in one month: its limit, what was spent and what is held."""

    limit: int
    spent: int
    held: int

    @property
    def used(self) -> int:
        return self.spent + self.held

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def percent(self) -> int:
        """Share used, in whole percent (100 and more when the budget is used up)."""
        if self.limit <= 0:
            return 100
        return self.used * 100 // self.limit

    def allows(self, price: int) -> bool:
        return self.used + price <= self.limit


def team_usage(team: Any, month: date | None = None) -> Usage | None:
    """The team's budget this month; None when the team has no budget."""
    if team.monthly_credit_budget is None:
        return None
    month = month or month_of()
    return Usage(team.monthly_credit_budget, spent(team.pk, month), held(team.pk))


def member_usage(membership: Any, month: date | None = None) -> Usage | None:
    """A member's cap in their team this month; None when they have no cap."""
    if membership.monthly_credit_cap is None:
        return None
    month = month or month_of()
    team_id, user_id = membership.team_id, membership.user_id
    return Usage(
        membership.monthly_credit_cap,
        spent(team_id, month, user_id),
        held(team_id, user_id),
    )


def held_by(*fields: str, **filters: Any) -> dict[Any, int]:
    """Open holds grouped by ``fields`` in one query: keyed by the value of one field
    (``"team_id"``), or by the tuple of several (``"team_id", "user_id"``)."""
    rows = (
        Hold.objects.filter(state=Hold.State.OPEN, **filters)
        .values(*fields)
        .annotate(total=Sum("credits"))
        .order_by()
    )
    if len(fields) == 1:
        return {row[fields[0]]: row["total"] or 0 for row in rows}
    return {tuple(row[field] for field in fields): row["total"] or 0 for row in rows}


def spend_by(field: str, month: date, **filters: Any) -> dict[Any, int]:
    """Spend in ``month`` grouped by ``field`` (``team_id`` or ``user_id``), for pages that
    show many teams or members at once with one query."""
    start, end = month_bounds(month)
    rows = (
        CreditEntry.objects.filter(Q(created_at__gte=start, created_at__lt=end), **filters)
        .values(field)
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {row[field]: -(row["total"] or 0) for row in rows}
