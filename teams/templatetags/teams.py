"""The header's tags: ``{% team_switcher %}`` (the current team and the user's other teams),
``{% theme_switch %}`` and ``{% theme_attribute %}`` (the chosen theme, on ``<html>``)."""

from typing import Any

from django import template
from django.conf import settings
from django.db.models import F
from django.http import HttpRequest
from django.utils.html import format_html

from teams import access, themes
from teams.models import Membership

register = template.Library()


@register.inclusion_tag("teams/_switcher.html", takes_context=True)
def team_switcher(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return {"current": None}
    # One query for the whole list, in the order that makes the first one current.
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("team")
        .order_by(F("chosen_at").desc(nulls_last=True), "created_at", "pk")
    )
    current = memberships[0] if memberships else access.current_membership(request)
    others = sorted(memberships[1:], key=lambda membership: membership.team.name.casefold())
    return {"current": current, "others": others, "next": _here(request)}


def _here(request: HttpRequest) -> str:
    """Where a header form goes back to: this page when a link can reach it again (the
    page that answered a form post cannot)."""
    return request.get_full_path() if request.method in ("GET", "HEAD") else ""


@register.simple_tag(takes_context=True)
def theme_attribute(context: template.Context) -> str:
    """``data-theme="…"`` for ``<html>`` when a theme was chosen; nothing for Auto."""
    request = context.get("request")
    theme = themes.chosen_theme(request) if request is not None else themes.Theme.AUTO
    return "" if theme == themes.Theme.AUTO else format_html(' data-theme="{}"', theme)


@register.inclusion_tag("teams/_theme_switch.html", takes_context=True)
def theme_switch(context: template.Context) -> dict[str, Any]:
    """The header's Auto / Light / Dark buttons, the chosen one pressed."""
    request = context["request"]
    return {
        "chosen": themes.chosen_theme(request),
        "next": _here(request),
    }


@register.simple_tag
def signup_allowed() -> bool:
    """Whether the login page offers the sign-up page (ALLOW_SIGNUP)."""
    return bool(settings.ALLOW_SIGNUP)
