"""Money: the append-only credit ledger, balance snapshots, budget holds and events.

``credits`` never imports ``generations``: a generation is ``"generations.Generation"`` in
foreign keys, and anything a generation knows (its task id, its creator) is passed in.
"""

from datetime import timedelta
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from teams.models import Team


class LedgerIsAppendOnly(Exception):
    """Raised on any attempt to change or delete a credit entry."""


def _refuse(action: str) -> NoReturn:
    raise LedgerIsAppendOnly(
        f"The credit ledger is append-only: entries cannot be {action}. "
        "Record an adjustment instead."
    )


class CreditEntryQuerySet(models.QuerySet["CreditEntry"]):
    """Reads and inserts only: every bulk change or delete is refused."""

    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("updated")

    def delete(self) -> NoReturn:  # type: ignore[override]
        _refuse("deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("updated")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        _refuse("updated")

    def _raw_delete(self, using: Any) -> NoReturn:
        _refuse("deleted")

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> Any:
        # An upsert would overwrite entries that exist; plain inserts stay allowed.
        if kwargs.get("update_conflicts") or (len(args) > 2 and args[2]):
            _refuse("updated")
        return super().bulk_create(objs, *args, **kwargs)


class CreditEntry(models.Model):
    """One change of credits; append-only evidence for audits.

    Signed ``amount``: spend is negative (a reservation), money back is positive (a
    refund, the unspent part of a reservation at settlement). Staff explain any other
    change of Rivya's balance with an ``adjustment``, which needs a reason and records
    who made it.
    """

    class Kind(models.TextChoices):
        RESERVE = "reserve", _("Reserved")
        SETTLE = "settle", _("Settled")
        REFUND = "refund", _("Refunded")
        ADJUSTMENT = "adjustment", _("Adjustment")

    # Empty only for an adjustment of the whole account (a top-up, say).
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        related_name="credit_entries",
        null=True,
        blank=True,
        verbose_name=_("team"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="credit_entries",
        null=True,
        blank=True,
        verbose_name=_("member"),
    )
    generation = models.ForeignKey(
        "generations.Generation",
        on_delete=models.PROTECT,
        related_name="credit_entries",
        null=True,
        blank=True,
        verbose_name=_("generation"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    amount = models.IntegerField(_("credits"))
    rivya_task_id = models.CharField(_("Rivya task"), max_length=128, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("made by"),
    )
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    objects = CreditEntryQuerySet.as_manager()

    class Meta:
        # The table keeps the name it had when the ledger lived in the generations app.
        db_table = "generations_creditentry"
        # Related lookups and Django's internals use the same guarded queryset.
        base_manager_name = "objects"
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")
        ordering = ["-created_at", "-id"]
        default_permissions = ("add", "change", "delete", "view")
        constraints = [
            # One entry of each kind per generation: a step that runs twice writes once.
            models.UniqueConstraint(
                fields=["generation", "kind"],
                condition=~Q(kind="adjustment"),
                name="one_credit_entry_per_kind",
            ),
            # What the lifecycle records always names its team, member and generation.
            models.CheckConstraint(
                condition=Q(kind="adjustment")
                | Q(team__isnull=False, user__isnull=False, generation__isnull=False),
                name="credit_entry_names_its_generation",
            ),
            # An adjustment says why and who made it.
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | (Q(made_by__isnull=False) & ~Q(note="")),
                name="credit_adjustment_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["team", "created_at"], name="credit_team_time"),
            models.Index(fields=["user", "created_at"], name="credit_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("deleted")


class BalanceSnapshot(models.Model):
    """Rivya's balance (``GET /credits``) at one moment, beside the ledger's total then.

    The ledger's movement between two snapshots set against Rivya's change is the
    reconciliation (``credits.audit``).
    """

    credits = models.BigIntegerField(_("Rivya balance"))
    taken_at = models.DateTimeField(_("taken"), default=timezone.now, db_index=True)
    # The sum of every ledger entry, and the newest entry's id, read in the same
    # transaction as the snapshot was stored.
    ledger_total = models.BigIntegerField(_("ledger total"))
    ledger_last_id = models.BigIntegerField(_("last ledger entry"), null=True, blank=True)

    class Meta:
        verbose_name = _("balance snapshot")
        verbose_name_plural = _("balance snapshots")
        ordering = ["-taken_at", "-id"]
        get_latest_by = ["taken_at", "id"]

    def __str__(self) -> str:
        return f"{self.credits} @ {self.taken_at:%Y-%m-%d %H:%M}"

    @property
    def taken_just_now(self) -> bool:
        """Read less than a minute ago, where "0 minutes ago" would read oddly."""
        return timezone.now() - self.taken_at < timedelta(minutes=1)


class Hold(models.Model):
    """Credits set aside for a submission until Rivya answers its create.

    Taken under the team's and the member's row locks when the form is accepted; it
    becomes Rivya's reservation (``converted``) when the create succeeds, and is
    ``released`` when the create is refused or the generation ends without one.
    """

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CONVERTED = "converted", _("Became the reservation")
        RELEASED = "released", _("Released")

    generation = models.OneToOneField(
        "generations.Generation",
        on_delete=models.CASCADE,
        related_name="credit_hold",
        verbose_name=_("generation"),
    )
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="credit_holds", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="credit_holds",
        verbose_name=_("member"),
    )
    credits = models.PositiveIntegerField(_("credits"))
    state = models.CharField(_("state"), max_length=16, choices=State, default=State.OPEN)
    created_at = models.DateTimeField(_("taken"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("budget hold")
        verbose_name_plural = _("budget holds")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["team", "user"], condition=Q(state="open"), name="credit_hold_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credits} ({self.get_state_display()})"


class BudgetEvent(models.Model):
    """A recorded change of a budget or cap, or the start of a budget month.

    Budgets are never reset by overwriting: each month's spend is read from the ledger
    between two month boundaries, and the boundary itself is recorded here with the
    month that closed.
    """

    class Kind(models.TextChoices):
        TEAM_BUDGET = "team_budget", _("Team budget changed")
        MEMBER_CAP = "member_cap", _("Member cap changed")
        MONTH_STARTED = "month_started", _("Budget month started")

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="budget_events", verbose_name=_("team")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    # The member whose cap changed (member_cap only).
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member"),
    )
    old_value = models.PositiveIntegerField(_("before"), null=True, blank=True)
    new_value = models.PositiveIntegerField(_("after"), null=True, blank=True)
    # The first day of the budget month this event belongs to (for month_started: the
    # month that began; old_value then holds what the team spent in the month before).
    month = models.DateField(_("month"))
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("budget event")
        verbose_name_plural = _("budget events")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "month"],
                condition=Q(kind="month_started"),
                name="one_month_start_per_team",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.team})"


class BudgetAlert(models.Model):
    """An email sent to a team's owners when spend crossed a share of a budget or cap.

    One row per team, month, threshold and subject (the team's budget, or one member's
    cap): the unique constraints make "once per month" a fact of the database.
    """

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="budget_alerts", verbose_name=_("team")
    )
    # Empty for the team's budget; the member for a member's cap.
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("member"),
    )
    month = models.DateField(_("month"))
    threshold = models.PositiveSmallIntegerField(_("threshold (%)"))
    spent = models.PositiveIntegerField(_("spent and held"))
    limit = models.PositiveIntegerField(_("budget"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("budget alert")
        verbose_name_plural = _("budget alerts")
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "month", "threshold"],
                condition=Q(member__isnull=True),
                name="one_team_alert_per_threshold",
            ),
            models.UniqueConstraint(
                fields=["team", "member", "month", "threshold"],
                condition=Q(member__isnull=False),
                name="one_member_alert_per_threshold",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.threshold}% ({self.team})"
