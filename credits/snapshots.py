"""Balance snapshots: Rivya's balance at one moment, stored beside the ledger's total then.

The balance is read from Rivya by ``generations`` (``credits`` never calls Rivya) and
passed to :func:`record`. Two snapshots bound a reconciliation: Rivya's change between
them against the ledger's movement (``credits.audit``).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from credits.models import BalanceSnapshot, CreditEntry

# What a BigIntegerField holds; a balance past it is not a balance.
LARGEST_BALANCE = 2**63 - 1


def record(balance: int) -> BalanceSnapshot:
    """Store Rivya's ``balance`` now, with the ledger's total and newest entry id.

    The total and the id come from one aggregate statement, so both describe the same
    state of the ledger. A balance that is not a whole number of credits from 0 up is
    refused with ``ValueError``, and nothing is stored.
    """
    if isinstance(balance, bool) or not isinstance(balance, int):
        raise ValueError(f"A balance is a whole number of credits, not {type(balance).__name__}.")
    if not 0 <= balance <= LARGEST_BALANCE:
        raise ValueError(f"A balance of {balance} credits is out of range.")
    with transaction.atomic():
        ledger = CreditEntry.objects.aggregate(total=Sum("amount"), last_id=Max("id"))
        return BalanceSnapshot.objects.create(
            credits=balance,
            taken_at=timezone.now(),
            ledger_total=ledger["total"] or 0,
            ledger_last_id=ledger["last_id"],
        )


def interval() -> timedelta:
    """How often a snapshot is taken (``BALANCE_SNAPSHOT_MINUTES``)."""
    return timedelta(minutes=settings.BALANCE_SNAPSHOT_MINUTES)


def due(now: datetime | None = None) -> bool:
    """True when there is no snapshot yet, or the latest is ``interval()`` old or older."""
    now = now or timezone.now()
    latest = BalanceSnapshot.objects.order_by("-taken_at").values_list("taken_at", flat=True)
    taken_at = latest.first()
    return taken_at is None or taken_at <= now - interval()
