"""The one access helper for generations, built on the teams' one (``teams.access``).

Every view that loads a generation goes through ``get_generation_for_user``, so anything
outside the user's teams is a 404, never a 403 that confirms it exists.
"""

import uuid
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest
from django.utils import timezone

from generations.models import Generation, GenerationQuerySet
from teams.access import current_team, ensure_personal_team, user_team_ids

__all__ = [
    "current_team",
    "ensure_personal_team",
    "generations_for_user",
    "get_deleted_generation_for_user",
    "get_generation_for_user",
]


def _all_of_users_teams(request: HttpRequest) -> GenerationQuerySet:
    user = request.user
    if not user.is_authenticated:
        return Generation.objects.none()
    # A subquery on the user's teams rather than a join through memberships: the planner
    # then looks generations up by primary key or by team, never walks a team's rows.
    return Generation.objects.filter(team_id__in=user_team_ids(user))


def generations_for_user(request: HttpRequest) -> GenerationQuerySet:
    """Generations of every team the user belongs to, except deleted ones.

    The one place the "not deleted" rule lives: a deleted video is gone from every page,
    fragment and file view at once.
    """
    return _all_of_users_teams(request).filter(deleted_at__isnull=True)


def _get(queryset: GenerationQuerySet, pk: Any) -> Generation:
    if not isinstance(pk, uuid.UUID):
        try:
            pk = uuid.UUID(str(pk))
        except ValueError:
            raise Http404 from None
    try:
        return queryset.select_related("team", "created_by").get(pk=pk)
    except Generation.DoesNotExist:
        raise Http404 from None


def get_generation_for_user(request: HttpRequest, pk: Any) -> Generation:
    """The generation ``pk`` if it belongs to one of the user's teams, else 404."""
    if not request.user.is_authenticated:
        raise Http404
    return _get(generations_for_user(request), pk)


def get_deleted_generation_for_user(request: HttpRequest, pk: Any) -> Generation:
    """A generation of the user's teams deleted less than ``UNDO_WINDOW`` ago, else 404.

    Only for undoing a deletion (and saying so on the detail page); once the window has
    passed, the video is as gone as one that never existed.
    """
    if not request.user.is_authenticated:
        raise Http404
    since = timezone.now() - settings.UNDO_WINDOW
    return _get(_all_of_users_teams(request).filter(deleted_at__gte=since), pk)
