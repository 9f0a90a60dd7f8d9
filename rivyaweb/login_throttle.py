"""Login throttling for every page that logs people in (the site's and the admin's).

Two counts, each over a window of ``LOGIN_FAILURE_WINDOW`` seconds that opens with its first
attempt: one per account and client address (``LOGIN_MAX_FAILURES``), so a guesser cannot
lock the owner out from elsewhere, and a larger one per address (``LOGIN_MAX_FAILURES_PER_ADDRESS``)
against trying many accounts. An attempt takes its place in both counts *before* the password
is checked (an atomic increment), so parallel attempts cannot all slip under the limit, and a
throttled attempt never reaches the password hasher. A successful login gives its place back
and clears its account's count.

Counts live in Django's default cache: per process without ``REDIS_URL``, shared with it.
"""

import contextlib
import hashlib
import ipaddress
import math
import time
import weakref
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone

from rivyaweb.clients import client_address

# What the backend learnt about a request, for the middleware and the login signal.
_throttled_until: weakref.WeakKeyDictionary[HttpRequest, float] = weakref.WeakKeyDictionary()
_counted: weakref.WeakKeyDictionary[HttpRequest, list[str]] = weakref.WeakKeyDictionary()


class LoginThrottleBackend:
    """First in ``AUTHENTICATION_BACKENDS``: counts the attempt or refuses it outright.

    It never logs anyone in itself; returning ``None`` lets the next backend check the
    password. Raising ``PermissionDenied`` stops ``authenticate()`` before any hasher runs.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None  # not a login over HTTP (a management command, a test helper)
        taken: list[str] = []
        for key, limit in _counts(request, username):
            taken.append(key)
            if _take(key) > limit:
                for key_taken in taken:
                    _give_back(key_taken)
                _throttled_until[request] = cache.get(_ends(key)) or (
                    time.time() + settings.LOGIN_FAILURE_WINDOW
                )
                raise PermissionDenied
        _counted[request] = taken
        return None


@receiver(user_logged_in, dispatch_uid="rivyaweb_login_throttle_success")
def _logged_in(sender: object, request: HttpRequest | None, **kwargs: Any) -> None:
    """A login that succeeded was no failure: give its places back, clear its account's count."""
    if request is None:
        return
    keys = _counted.pop(request, [])
    for key in keys:
        _give_back(key)
    if keys:
        cache.delete_many([keys[0], _ends(keys[0])])


def take_address_attempt(request: HttpRequest) -> str | None:
    """Count a form that reveals or sends something about accounts (sign-up, password reset)
    against the client address's count, like a failed login.

    Returns the key to hand to ``give_back`` once the attempt turns out harmless (an account
    made), or ``None`` when the address is paused: the middleware then answers 429. Without
    this, sign-up's "username taken" would test names at any speed the login page refuses.
    """
    key, limit = _counts(request, None)[1]
    if _take(key) > limit:
        _give_back(key)
        _throttled_until[request] = cache.get(_ends(key)) or (
            time.time() + settings.LOGIN_FAILURE_WINDOW
        )
        return None
    return key


def give_back(key: str) -> None:
    """Undo one ``take_address_attempt`` (its attempt succeeded)."""
    _give_back(key)


class LoginThrottleMiddleware:
    """Turns a refused attempt into 429 and a page that says when to try again."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = self.get_response(request)
        until = _throttled_until.pop(request, None)
        if until is None:
            return response
        return throttled_response(request, until)


def throttled_response(request: HttpRequest, until: float) -> HttpResponse:
    seconds = max(1, math.ceil(until - time.time()))
    at = timezone.localtime(datetime.fromtimestamp(until, tz=UTC))
    context: dict[str, Any] = {
        "minutes": math.ceil(seconds / 60),
        "at": formats.time_format(at, "H:i"),
        "login_url": request.get_full_path(),
    }
    match = request.resolver_match
    if match is not None and match.namespace == admin.site.name:
        context.update(admin.site.each_context(request))
        template = "admin/login_throttled.html"
    else:
        template = "registration/login_throttled.html"
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(seconds)
    return response


def _counts(request: HttpRequest, username: str | None) -> list[tuple[str, int]]:
    """The (cache key, limit) pairs an attempt counts against: account first."""
    network = _network(client_address(request))
    account = (username or "").casefold()
    return [
        (_key("account", account, network), settings.LOGIN_MAX_FAILURES),
        (_key("address", network), settings.LOGIN_MAX_FAILURES_PER_ADDRESS),
    ]


def _network(address: str) -> str:
    """IPv6 clients count per /64: one subscriber is routinely given a whole /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return address


def _key(*parts: str) -> str:
    # Hashed: user names and addresses are not kept as they are, and any length fits.
    return "login-failures:" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _ends(key: str) -> str:
    return key + ":ends"


def _take(key: str) -> int:
    """Count one attempt under ``key``, opening a window when none is open; the new count."""
    window = settings.LOGIN_FAILURE_WINDOW
    for _ in range(3):
        if cache.add(key, 0, window):
            cache.set(_ends(key), time.time() + window, window)
        try:
            return int(cache.incr(key))
        except ValueError:
            continue  # the window closed between the two calls: open a new one
    return 1


def _give_back(key: str) -> None:
    # A window that closed meanwhile has nothing left to give back.
    with contextlib.suppress(ValueError):
        cache.decr(key)
