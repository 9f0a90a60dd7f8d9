from typing import Any

from django.core.management.base import BaseCommand

from generations import actions


class Command(BaseCommand):
    help = (
        "Remove the stored files of videos deleted more than DELETE_GRACE_DAYS ago "
        "(the rows stay for the credit ledger)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        purged = actions.purge_deleted()
        self.stdout.write(f"Removed the files of {purged} deleted video(s).")
