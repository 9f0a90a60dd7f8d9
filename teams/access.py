"""The one access helper for teams: which team a request works in and what its user may do.

Every user belongs to at least one team; a user who has none gets a personal team on
login (and, for sessions that predate this, the first time a page asks for it). The team a
user works in is the one they chose last in the header's switcher, remembered per user.
Anything outside the user's teams is a 404, never a 403 that confirms it exists; a member
who lacks the role for an action gets a 403 (they can see the team, so nothing leaks).
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, QuerySet
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from teams.models import Membership, Team

Role = Membership.Role

# What each role may do. Every view that acts on a team checks one of these.
PERMISSIONS: dict[str, frozenset[str]] = {
    "invite": frozenset({Role.OWNER, Role.ADMIN}),
    "remove_member": frozenset({Role.OWNER, Role.ADMIN}),
    "change_role": frozenset({Role.OWNER, Role.ADMIN}),
    "rename_team": frozenset({Role.OWNER, Role.ADMIN}),
    "delete_others_videos": frozenset({Role.OWNER, Role.ADMIN}),
    "share_others_videos": frozenset({Role.OWNER, Role.ADMIN}),
    "see_credits": frozenset({Role.OWNER, Role.ADMIN}),
    "hand_over_ownership": frozenset({Role.OWNER}),
    # The team's monthly budget and each member's monthly cap.
    "set_budget": frozenset({Role.OWNER}),
}


def may(membership: Membership | None, action: str) -> bool:
    """Whether ``membership``'s role allows ``action`` (a key of ``PERMISSIONS``)."""
    return membership is not None and membership.role in PERMISSIONS[action]


def _memberships(user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("team")


def ensure_personal_team(user: Any) -> Team:
    """Return the user's current team, creating a personal one if they have none."""
    membership = _current_membership(user)
    if membership is not None:
        return membership.team
    with transaction.atomic():
        # Lock the user's row so two first requests in parallel make one team, not two.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        membership = _memberships(user).first()
        if membership is not None:
            return membership.team
        name = _("%(username)s's team") % {"username": user.get_username()}
        team = Team.objects.create(name=name[:120], personal=True)
        Membership.objects.create(team=team, user=user, role=Role.OWNER)
        return team


def _current_membership(user: Any) -> Membership | None:
    return (
        _memberships(user)
        .order_by(F("chosen_at").desc(nulls_last=True), "created_at", "pk")
        .first()
    )


@receiver(user_logged_in, dispatch_uid="teams_personal_team")
def give_personal_team(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    ensure_personal_team(user)


def current_membership(request: HttpRequest) -> Membership:
    """The request user's membership of the team they work in (made on first use)."""
    cached: Membership | None = getattr(request, "_current_membership", None)
    if cached is None:
        if not request.user.is_authenticated:
            raise Http404
        cached = _current_membership(request.user)
        if cached is None:
            ensure_personal_team(request.user)
            cached = _current_membership(request.user)
        assert cached is not None
        request._current_membership = cached  # type: ignore[attr-defined]
    return cached


def current_team(request: HttpRequest) -> Team:
    """The team the request works in."""
    return current_membership(request).team


def user_memberships(user: Any) -> QuerySet[Membership]:
    """The user's memberships, each with its team."""
    return _memberships(user)


def user_team_ids(user: Any) -> "QuerySet[Membership, Any]":
    """The ids of the user's teams, as a subquery (never a list held in memory)."""
    return Membership.objects.filter(user=user).values("team_id")


def get_membership(request: HttpRequest, team_id: Any) -> Membership:
    """The request user's membership of team ``team_id``, else 404."""
    if not request.user.is_authenticated:
        raise Http404
    try:
        return _memberships(request.user).get(team_id=int(team_id))
    except (Membership.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404 from None


def require(membership: Membership, action: str) -> None:
    """Raise 403 unless the member's role allows ``action``."""
    if not may(membership, action):
        raise PermissionDenied


def choose_team(request: HttpRequest, team_id: Any) -> Membership:
    """Make team ``team_id`` the one the user works in, remembered across devices."""
    membership = get_membership(request, team_id)
    membership.chosen_at = timezone.now()
    membership.save(update_fields=["chosen_at"])
    request._current_membership = membership  # type: ignore[attr-defined]
    return membership
