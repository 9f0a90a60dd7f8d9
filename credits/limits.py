"""Setting and showing budgets: a team's monthly budget and each member's monthly cap.

``set_team_budget`` and ``set_member_cap`` are the only ways either changes (the team's
page and the admin both call them): each locks the row, writes the new value and records a
``BudgetEvent`` (who, when, old → new) in one transaction, and does nothing when the value
is unchanged. ``team_overview`` gathers what the team's page shows about them.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from credits import usage
from credits.models import BudgetEvent
from credits.usage import Usage
from teams.models import MAX_MONTHLY_CREDITS, Membership, Team

# How many budget events the team's page lists.
RECENT_EVENTS = 20


def set_team_budget(team: Team, value: int | None, *, by: Any) -> bool:
    """Make ``value`` the team's monthly budget (None: no limit), as user ``by`` asks.

    Returns whether it changed; ``team`` holds ``value`` either way.
    """
    kind = BudgetEvent.Kind.TEAM_BUDGET
    return _change(team, "monthly_credit_budget", value, kind=kind, team_id=team.pk, changed_by=by)


def set_member_cap(membership: Membership, value: int | None, *, by: Any) -> bool:
    """Make ``value`` the member's monthly cap in their team (None: no cap), as ``by`` asks.

    Returns whether it changed; ``membership`` holds ``value`` either way. Raises
    ``Membership.DoesNotExist`` when the member left meanwhile.
    """
    return _change(
        membership,
        "monthly_credit_cap",
        value,
        kind=BudgetEvent.Kind.MEMBER_CAP,
        team_id=membership.team_id,
        member_id=membership.user_id,
        changed_by=by,
    )


def _change(row: Team | Membership, field: str, value: int | None, **event: Any) -> bool:
    """Write ``field`` of ``row`` on the locked row and record the change with ``event``'s
    fields, in one transaction; nothing when the stored value is already ``value``."""
    if value is not None and not 0 <= value <= MAX_MONTHLY_CREDITS:
        raise ValueError(f"A monthly limit is between 0 and {MAX_MONTHLY_CREDITS} credits.")
    with transaction.atomic():
        locked = type(row)._default_manager.select_for_update().get(pk=row.pk)
        old = getattr(locked, field)
        setattr(row, field, value)
        if old == value:
            return False
        setattr(locked, field, value)
        locked.save(update_fields=[field])
        BudgetEvent.objects.create(
            old_value=old, new_value=value, month=usage.month_of(), at=timezone.now(), **event
        )
    return True


@dataclass(frozen=True)
class MemberSpend:
    """One member's month: their cap (if any), what they spent and what they hold."""

    membership: Membership
    spent: int
    held: int
    # The cap's use; None when the member has no cap.
    cap: Usage | None
    # A cap above the team's budget: the budget stops this member first.
    above_budget: bool

    @property
    def used(self) -> int:
        return self.spent + self.held


@dataclass(frozen=True)
class TeamOverview:
    """What the team's page shows about money this month."""

    month: date
    spent: int
    held: int
    # The budget's use; None when the team has no budget.
    budget: Usage | None
    members: list[MemberSpend]
    events: list[BudgetEvent]

    @property
    def used(self) -> int:
        return self.spent + self.held


def team_overview(team: Team, memberships: list[Membership]) -> TeamOverview:
    """The team's spend and budget this month, each of ``memberships`` with theirs, and the
    recent budget events: a fixed number of queries, however many members."""
    month = usage.month_of()
    spent, held = usage.spent(team.pk, month), usage.held(team.pk)
    budget = team.monthly_credit_budget
    spent_by = usage.spend_by("user_id", month, team_id=team.pk)
    held_by = usage.held_by("user_id", team_id=team.pk)
    members = []
    for membership in memberships:
        user_id, cap = membership.user_id, membership.monthly_credit_cap
        mine, holding = spent_by.get(user_id, 0), held_by.get(user_id, 0)
        members.append(
            MemberSpend(
                membership=membership,
                spent=mine,
                held=holding,
                cap=None if cap is None else Usage(cap, mine, holding),
                above_budget=cap is not None and budget is not None and cap > budget,
            )
        )
    events = team.budget_events.select_related("member", "changed_by")[:RECENT_EVENTS]
    return TeamOverview(
        month=month,
        spent=spent,
        held=held,
        budget=None if budget is None else Usage(budget, spent, held),
        members=members,
        events=list(events),
    )


def caps_above(team: Team) -> list[Membership]:
    """The team's members whose cap is above the team's budget."""
    if team.monthly_credit_budget is None:
        return []
    rows = team.memberships.filter(monthly_credit_cap__gt=team.monthly_credit_budget)
    return list(rows.select_related("user").order_by("user__username"))
