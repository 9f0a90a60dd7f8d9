"""Which theme a request is drawn in: the person's stored choice, else the theme cookie.

``Auto`` (the default) renders no ``data-theme`` on ``<html>``, so the browser's
``prefers-color-scheme`` decides; ``light`` and ``dark`` force one (docs/themes.md).
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

from teams.models import ThemeChoice

Theme = ThemeChoice.Theme
COOKIE_NAME = "theme"
COOKIE_MAX_AGE = 365 * 24 * 3600
# The signed-in person's stored choice, copied into their session the first time it is read
# (or when they sign in or choose), so a page costs no query for it: "" means no choice stored.
SESSION_KEY = "theme"


def chosen_theme(request: HttpRequest) -> str:
    """The request's theme: from the session when signed in (one query the first time in a
    session), else from the cookie."""
    cached: str | None = getattr(request, "_chosen_theme", None)
    if cached is None:
        cached = _look_up(request)
        request._chosen_theme = cached  # type: ignore[attr-defined]
    return cached


def _look_up(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        session = getattr(request, "session", None)
        stored = session.get(SESSION_KEY) if session is not None else None
        if stored is None or (stored and stored not in Theme.values):
            stored = _stored_choice(user)
            if session is not None:
                session[SESSION_KEY] = stored
        if stored:
            return str(stored)
    cookie = request.COOKIES.get(COOKIE_NAME, "")
    return cookie if cookie in Theme.values else Theme.AUTO


def _stored_choice(user: Any) -> str:
    return ThemeChoice.objects.filter(user=user).values_list("theme", flat=True).first() or ""


def remember_theme(request: HttpRequest, response: HttpResponseBase, theme: str) -> None:
    """Store the choice: on the person when signed in, and in the cookie either way (so
    the login page keeps it after signing out)."""
    if request.user.is_authenticated:
        ThemeChoice.objects.update_or_create(user=request.user, defaults={"theme": theme})
        request.session[SESSION_KEY] = theme
    response.set_cookie(
        COOKIE_NAME,
        theme,
        max_age=COOKIE_MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    request._chosen_theme = theme  # type: ignore[attr-defined]


@receiver(user_logged_in, dispatch_uid="teams_keep_theme")
def keep_theme_chosen_before_signing_in(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """Light or Dark chosen on the login page becomes the person's own, unless they chose
    already (then their stored choice stands)."""
    if request is None:
        return
    theme = request.COOKIES.get(COOKIE_NAME)
    if theme in (Theme.LIGHT, Theme.DARK):
        choice, _ = ThemeChoice.objects.get_or_create(user=user, defaults={"theme": theme})
        request.session[SESSION_KEY] = choice.theme
    else:
        request.session[SESSION_KEY] = _stored_choice(user)
