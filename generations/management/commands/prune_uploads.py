from typing import Any

from django.core.management.base import BaseCommand

from generations import forms


class Command(BaseCommand):
    help = "Delete reference images kept after a form error once their tokens have expired."

    def handle(self, *args: Any, **options: Any) -> None:
        removed = forms.prune_staged_references()
        self.stdout.write(f"Removed {removed} expired staged image(s).")
