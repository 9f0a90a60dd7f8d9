"""Budgets and caps enforced at submission: the hold, the refusal, the sweep and the alerts.

A submission holds its expected price against the team's monthly budget and the member's
monthly cap, under the team's row lock and then the member's (always in that order), so
parallel submissions see each other's holds and cannot overspend. The hold becomes Rivya's
reservation when the create succeeds (``ledger.record``) and is released when the
generation ends without one (``Generation.finish``, and this module's ``sweep`` as the
safety net). Spend is never kept in a counter: ``credits.usage`` reads it per month from
the ledger, so a new month needs no reset, only a recorded boundary.

``credits`` never imports ``generations``: the price and the terminal statuses are
passed in.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from credits import tasks
from credits.models import BudgetAlert, BudgetEvent, Hold
from credits.usage import Usage, member_usage, month_bounds, month_of, spend_by, team_usage
from teams.models import Membership, Team

logger = logging.getLogger(__name__)


class BudgetRefused(ValidationError):
    """A submission whose expected price does not fit the team's budget or the member's
    cap this month. Its message says which limit, what is left and what the video needs;
    ``code`` is ``team_budget`` or ``member_cap``."""


def hold(*, team: Team, user: Any, price: int, generation_id: Any) -> Hold | None:
    """Set ``price`` credits aside for generation ``generation_id``, or refuse it.

    Must run inside the submission's transaction (a refusal rolls it back). Locks the team's
    row, then the member's; with neither a budget nor a cap nothing is held (None).
    Raises ``BudgetRefused`` when the price does not fit.
    """
    # NO KEY UPDATE: serialises submissions (and budget changes) without blocking the
    # key-share locks other transactions' foreign keys to the team take at commit.
    locked = Team.objects.select_for_update(no_key=True).get(pk=team.pk)
    membership = (
        Membership.objects.select_for_update().filter(team_id=team.pk, user_id=user.pk).first()
    )
    budget = team_usage(locked)
    cap = member_usage(membership) if membership is not None else None
    if budget is None and cap is None:
        return None
    _refuse_unless_fits(budget, cap, price)
    taken = Hold.objects.create(
        generation_id=generation_id, team=locked, user_id=user.pk, credits=price
    )
    alert_if_crossed(locked, None, _with(budget, price))
    alert_if_crossed(locked, user.pk, _with(cap, price))
    return taken


def _refuse_unless_fits(budget: Usage | None, cap: Usage | None, price: int) -> None:
    """Raise ``BudgetRefused`` naming the first limit ``price`` does not fit."""
    limits = (
        (
            budget,
            "team_budget",
            _(
                "Your team's budget has %(left)s of %(limit)s credits left this month; "
                "this video needs about %(price)s."
            ),
        ),
        (
            cap,
            "member_cap",
            _(
                "Your monthly cap in this team has %(left)s of %(limit)s credits left; "
                "this video needs about %(price)s."
            ),
        ),
    )
    for usage, code, message in limits:
        if usage is not None and not usage.allows(price):
            figures = {"left": usage.left, "limit": usage.limit, "price": price}
            params = {name: number_format(n, force_grouping=True) for name, n in figures.items()}
            raise BudgetRefused(message, code=code, params=params)


def _with(usage: Usage | None, price: int) -> Usage | None:
    """``usage`` once a hold of ``price`` is added."""
    if usage is None:
        return None
    return Usage(usage.limit, usage.spent, usage.held + price)


# --- Alerts ---------------------------------------------------------------------------------


def check_alerts(team_id: Any, user_id: Any) -> None:
    """Alert on any threshold the team's budget or the member's cap has now crossed; called
    after a reservation changed what is spent. Two queries when no limit applies."""
    membership = (
        Membership.objects.select_related("team").filter(team_id=team_id, user_id=user_id).first()
    )
    team = membership.team if membership is not None else Team.objects.filter(pk=team_id).first()
    if team is None:
        return
    alert_if_crossed(team, None, team_usage(team))
    if membership is not None:
        alert_if_crossed(team, user_id, member_usage(membership))


def alert_if_crossed(team: Team, member_id: Any, usage: Usage | None) -> BudgetAlert | None:
    """Record each threshold of ``BUDGET_ALERT_PERCENTS`` that ``usage`` has reached and
    that was not yet recorded this month, and email the team's owners (after commit) about
    the highest of them. ``member_id`` is None for the team's budget.

    The unique constraints on ``BudgetAlert`` make each threshold once per month, whatever
    runs at the same time: a row another transaction inserted first is an IntegrityError
    here (inside a savepoint) and that transaction sends its email. Thresholds are taken in
    ascending order everywhere, so two checks never wait on each other in a circle.
    """
    if usage is None:
        return None
    due = [percent for percent in settings.BUDGET_ALERT_PERCENTS if usage.percent >= percent]
    if not due:
        return None
    month = month_of()
    recorded = set(
        BudgetAlert.objects.filter(team=team, member_id=member_id, month=month).values_list(
            "threshold", flat=True
        )
    )
    newest = None
    for threshold in due:
        if threshold in recorded:
            continue
        try:
            with transaction.atomic():
                newest = BudgetAlert.objects.create(
                    team=team,
                    member_id=member_id,
                    month=month,
                    threshold=threshold,
                    spent=max(usage.used, 0),
                    limit=usage.limit,
                )
        except IntegrityError:
            continue  # recorded (and sent) by a transaction that got there first
    if newest is not None:
        alert_id = newest.pk
        transaction.on_commit(lambda: tasks.send_budget_alert.enqueue(alert_id), robust=True)
    return newest


# --- Housekeeping ---------------------------------------------------------------------------


def sweep(ended_statuses: Iterable[str], *, now: datetime | None = None) -> int:
    """Release open holds whose generation has ended (``ended_statuses``: the caller's
    terminal set), and record the start of the month for teams with a budget. Returns how
    many holds were released. Safe to run from any number of processes at once.

    A generation waiting for staff (``attention``) is not ended: Rivya may have charged for
    it, so its hold stays until it moves on.
    """
    now = now or timezone.now()
    released = Hold.objects.filter(
        state=Hold.State.OPEN, generation__status__in=list(ended_statuses)
    ).update(state=Hold.State.RELEASED, ended_at=now)
    if released:
        logger.info("released %d budget hold(s) of ended generations", released)
    record_month_start(now)
    return released


def record_month_start(now: datetime | None = None) -> int:
    """Record, once per team with a budget, that the budget month of ``now`` began, with
    what the team spent in the month before. Nothing is reset: spend is read per month."""
    month = month_of(now)
    previous = month_of(month_bounds(month)[0] - timedelta(days=1))
    started = BudgetEvent.objects.filter(
        team=OuterRef("pk"), kind=BudgetEvent.Kind.MONTH_STARTED, month=month
    )
    with_budget = Team.objects.filter(monthly_credit_budget__isnull=False)
    teams = list(with_budget.filter(~Exists(started)).only("pk", "monthly_credit_budget"))
    if not teams:
        return 0
    spent_before = spend_by("team_id", previous, team_id__in=[team.pk for team in teams])
    made = 0
    for team in teams:
        try:
            with transaction.atomic():
                BudgetEvent.objects.create(
                    team=team,
                    kind=BudgetEvent.Kind.MONTH_STARTED,
                    month=month,
                    old_value=max(spent_before.get(team.pk, 0), 0),
                    new_value=team.monthly_credit_budget,
                    at=now or timezone.now(),
                )
        except IntegrityError:
            continue  # another process recorded it first
        made += 1
    return made
