"""What error pages and reports may show of the settings and the request.

Django already hides settings named like a key or a password; URLs are named ``*_URL``
and carry their password inside (``DATABASE_URL``, ``REDIS_URL``), so it would print
those. Here the password part of any URL is masked wherever it appears, keeping the
rest readable: ``postgres://app:********@db:5432/rivya``.
"""

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ — the password ends at the first "@" (others are percent-encoded).
URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@/\s]*@")


def mask_url_passwords(text: str, substitute: str = "********") -> str:
    return URL_PASSWORD.sub(lambda match: f"{match['head']}{substitute}@", text)


class CredentialFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return mask_url_passwords(cleansed, self.cleansed_substitute)
        return cleansed
