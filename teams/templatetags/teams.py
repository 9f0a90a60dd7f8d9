"""``{% team_switcher %}``: the header's current team and the user's other teams."""

from typing import Any

from django import template
from django.conf import settings
from django.db.models import F

from teams import access
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
    # Back to the same page after switching, when it is one a link can reach again (the page
    # that answered a form post is not).
    here = request.get_full_path() if request.method in ("GET", "HEAD") else ""
    return {"current": current, "others": others, "next": here}


@register.simple_tag
def signup_allowed() -> bool:
    """Whether the login page offers the sign-up page (ALLOW_SIGNUP)."""
    return bool(settings.ALLOW_SIGNUP)
