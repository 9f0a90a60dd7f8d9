"""``manage.py sandbox_key``: print the API key of the sandbox's built-in account.

The key is derived from ``SECRET_KEY`` (``sandbox/keys.py``) and never written down
anywhere, so this is how someone calls the sandbox by hand:
``curl -H "Authorization: Bearer $(uv run manage.py sandbox_key)" …``.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the API key of the built-in sandbox account (sandbox mode only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.RIVYA_SANDBOX:
            # Never print the real key: it is the team's Rivya secret.
            raise CommandError("RIVYA_API_KEY is set: the sandbox is off and has no key.")
        self.stdout.write(settings.RIVYA_API_KEY)
