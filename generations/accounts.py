"""Who may see what: personal teams and the one access helper for generations.

Every user belongs to at least one team; a user who has none gets a personal team on
login (and, for sessions that predate this code, the first time a page asks for it).
Every view that loads a generation goes through ``get_generation_for_user``, so
anything outside the user's teams is a 404, never a 403 that confirms it exists.
"""

import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from generations.models import Generation, GenerationQuerySet, Membership, Team


def ensure_personal_team(user: Any) -> Team:
    """Return the user's first team, creating a personal one if they have none."""
    membership = (
        Membership.objects.filter(user=user).select_related("team").order_by("created_at").first()
    )
    if membership is not None:
        return membership.team
    with transaction.atomic():
        # Lock the user's row so two first requests in parallel make one team, not two.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        membership = Membership.objects.filter(user=user).select_related("team").first()
        if membership is not None:
            return membership.team
        name = _("%(username)s's team") % {"username": user.get_username()}
        team = Team.objects.create(name=name[:120], personal=True)
        Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
        return team


@receiver(user_logged_in, dispatch_uid="generations_personal_team")
def give_personal_team(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    ensure_personal_team(user)


def current_team(request: HttpRequest) -> Team:
    """The team the request works in: for now, the user's first (or personal) team."""
    cached: Team | None = getattr(request, "_current_team", None)
    if cached is None:
        cached = ensure_personal_team(request.user)
        request._current_team = cached  # type: ignore[attr-defined]
    return cached


def generations_for_user(request: HttpRequest) -> GenerationQuerySet:
    """Generations of every team the user belongs to."""
    user = request.user
    if not user.is_authenticated:
        return Generation.objects.none()
    # A subquery on the user's teams rather than a join through memberships: the planner
    # then looks generations up by primary key or by team, never walks a team's rows.
    team_ids = Membership.objects.filter(user=user).values("team_id")
    return Generation.objects.filter(team_id__in=team_ids)


def get_generation_for_user(request: HttpRequest, pk: Any) -> Generation:
    """The generation ``pk`` if it belongs to one of the user's teams, else 404."""
    if not request.user.is_authenticated:
        raise Http404
    if not isinstance(pk, uuid.UUID):
        try:
            pk = uuid.UUID(str(pk))
        except ValueError:
            raise Http404 from None
    try:
        return generations_for_user(request).select_related("team").get(pk=pk)
    except Generation.DoesNotExist:
        raise Http404 from None
