"""Read Rivya's balance now and store it as a balance snapshot.

The poller's housekeeping does this every ``BALANCE_SNAPSHOT_MINUTES``; this command is
for an operator who wants one at once, before and after a reconciliation, say.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from generations import rivya, tasks


class Command(BaseCommand):
    help = "Read Rivya's balance (GET /credits) now and store it beside the ledger's total."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            snapshot = tasks.take_balance_snapshot()
        except (rivya.RivyaError, ValueError) as exc:
            raise CommandError(f"Rivya's balance could not be read, nothing stored: {exc}") from exc
        self.stdout.write(
            f"Snapshot {snapshot.pk} at {snapshot.taken_at:%Y-%m-%d %H:%M:%S %Z}: "
            f"Rivya balance {snapshot.credits}, ledger total {snapshot.ledger_total}."
        )
