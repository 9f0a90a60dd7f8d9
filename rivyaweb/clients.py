"""Who is on the other end of a request: the one place that decides a client's address.

The socket's peer (``REMOTE_ADDR``) is the answer unless ``TRUSTED_PROXY_CLIENT_HEADER``
names a header that our own proxies write. Each proxy appends the address it saw, so with
``TRUSTED_PROXY_COUNT`` proxies in front the client is the entry that many places from the
right: everything further left came from the client and may be forged.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text, or ``""`` when the server gave none."""
    peer = _address(request.META.get("REMOTE_ADDR", "")) or ""
    header = settings.TRUSTED_PROXY_CLIENT_HEADER
    if not header:
        return peer
    raw = request.META.get("HTTP_" + header.upper().replace("-", "_"), "")
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    if not entries:
        return peer  # not through the proxies (or they did not say): the socket is the truth
    # Fewer entries than proxies: the left-most is still one our proxies wrote.
    chosen = entries[-min(settings.TRUSTED_PROXY_COUNT, len(entries))]
    return _address(chosen) or peer


def _address(text: str) -> str | None:
    """``text`` as a normalised IP address, dropping a port (``1.2.3.4:80``, ``[::1]:80``)."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None
