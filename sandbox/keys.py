"""The built-in account's API key, derived from ``SECRET_KEY``.

Nothing but this server (and whoever can read its ``SECRET_KEY``) can work the key out, so
a published document never holds a key that opens someone's sandbox. ``manage.py
sandbox_key`` prints it for calling the sandbox by hand. Only the standard library is used:
``rivyaweb/settings.py`` imports this before Django is set up.
"""

import hashlib
import hmac

PREFIX = "rvya_sk_"
PURPOSE = b"rivyaweb-sandbox-key"


def builtin_key(secret_key: str) -> str:
    """``rvya_sk_`` + HMAC-SHA256(``secret_key``, purpose), hex: the same in every process."""
    digest = hmac.new(secret_key.encode(), PURPOSE, hashlib.sha256).hexdigest()
    return PREFIX + digest
