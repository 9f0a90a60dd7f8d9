"""Result URLs: made each time they are answered, on the configured host, signed and expiring.

``/sandbox/media/<task id>.<ext>?expires=<unix seconds>&sig=<hex>``. The signature is an
HMAC of the file name and the expiry keyed from ``SECRET_KEY`` (with a salt of its own), so a
link cannot be made for a guessed name nor kept alive past its expiry. Nothing about the
URL is stored: turning the media-host knob off, or reading a task again, gives a fresh URL.
"""

import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from sandbox.models import Generation, SandboxConfig, WebhookEvent

SALT = "sandbox.links.media"


def origin(request: HttpRequest) -> str:
    """``scheme://host[:port]`` the request came in on."""
    return f"{request.scheme}://{request.get_host()}"


def signature(name: str, expires: int) -> str:
    return salted_hmac(SALT, f"{name}\n{expires}", algorithm="sha256").hexdigest()


def is_valid(name: str, expires: str | None, sig: str | None) -> bool:
    """Whether ``expires``/``sig`` from a media URL's query allow serving ``name`` now."""
    if not expires or not sig or not expires.isdigit():
        return False
    if int(expires) < time.time():
        return False
    return constant_time_compare(sig, signature(name, int(expires)))


def result_url(generation: Generation, base: str, config: SandboxConfig) -> str:
    """A fresh signed URL of the task's result on ``base`` (or on the media host knob's)."""
    if config.media_host:
        base = f"{urlsplit(base).scheme or 'http'}://{config.media_host}"
    name = generation.result_name
    expires = int(time.time()) + config.media_url_ttl_seconds
    query = urlencode({"expires": expires, "sig": signature(name, expires)})
    return f"{base}{reverse('sandbox:media', args=[name])}?{query}"


def public(generation: Generation, request: HttpRequest | None) -> dict[str, Any]:
    """The generation object as answered now: result URLs on the request's host, or without a
    request (webhooks) on the host the task was created through."""
    url = ""
    if generation.status == Generation.Status.SUCCEEDED:
        base = origin(request) if request is not None else generation.origin
        url = result_url(generation, base, SandboxConfig.load())
    return generation.to_public(url)


def public_event(event: WebhookEvent, request: HttpRequest | None) -> dict[str, Any]:
    """The event envelope with the result URLs of its task made afresh.

    The stored ``data`` is the task as it was when the event happened; only its URLs, which
    expire, are renewed. Test events (``task_test_…``) have no task and stay as stored.
    """
    body = event.to_public()
    data = body["data"]
    if isinstance(data, dict) and data.get("result") is not None:
        generation = Generation.objects.filter(
            pk=data.get("id"), account_id=event.account_id
        ).first()
        if generation is not None:
            body["data"] = {**data, "result": public(generation, request)["result"]}
    return body
