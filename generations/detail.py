"""The detail page of one video and what can be done there: favourite, delete and undo,
the provenance record. Share links are in ``generations.sharing``.

Who may do what: every member of the team sees the page, downloads the video and marks it
a favourite (for themselves); its creator, an owner or an admin deletes it and makes share
links (``teams.access.PERMISSIONS``). A member who lacks the role gets a 403; anyone
outside the team a 404, as for every object.
"""

import json
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from generations.accounts import get_deleted_generation_for_user, get_generation_for_user
from generations.forms import ShareLinkForm
from generations.models import IN_FLIGHT, Favourite, Generation, outage_of
from generations.views import (
    HtmxHttpRequest,
    _serve_stored,
    card_estimates,
    in_flight_ids,
    poller_context,
    version_of,
)
from teams.access import get_membership, may

# The provenance record shown on the page; a larger one is only offered as a download.
PROVENANCE_SHOWN_BYTES = 64 * 1024


def may_act(request: HtmxHttpRequest, generation: Generation, action: str) -> bool:
    """Whether the user may ``action`` (``delete_others_videos``, ``share_others_videos``)
    this video: always on their own, on others' only with a role that allows it."""
    if generation.created_by_id == request.user.pk:
        return True
    return may(get_membership(request, generation.team_id), action)


def detail_context(
    request: HtmxHttpRequest, generation: Generation, **extra: Any
) -> dict[str, Any]:
    """Everything the detail page shows; ``extra`` adds a new link or a form's errors."""
    may_share = may_act(request, generation, "share_others_videos")
    links = list(generation.share_links.active().order_by("-created_at")) if may_share else []
    return {
        "generation": generation,
        "poller": poller_context(version_of(generation.changed_at), in_flight_ids([generation])),
        "estimates": card_estimates(generation.team_id, [generation]),
        "outage": outage_of([generation.notice] if generation.status in IN_FLIGHT else []),
        "is_favourite": Favourite.marked(request.user, generation),
        "may_delete": generation.can_delete
        and may_act(request, generation, "delete_others_videos"),
        "may_share": may_share and generation.status == "ready",
        "share_links": links,
        "share_form": ShareLinkForm(),
        "provenance": read_provenance(generation),
        **extra,
    }


def read_provenance(generation: Generation) -> str:
    """The provenance record as indented JSON, or "" when there is none to show."""
    if not generation.provenance:
        return ""
    try:
        with default_storage.open(generation.provenance, "rb") as file:
            data = file.read(PROVENANCE_SHOWN_BYTES + 1)
    except OSError:
        return ""
    if len(data) > PROVENANCE_SHOWN_BYTES:
        return ""
    try:
        return json.dumps(json.loads(data), ensure_ascii=False, indent=2)
    except ValueError:
        return ""


@login_required
@require_GET
def generation_detail(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    try:
        generation = get_generation_for_user(request, pk)
    except Http404:
        # Deleted a moment ago: say so and offer Undo, for as long as Undo works.
        generation = get_deleted_generation_for_user(request, pk)
        context = {
            "generation": generation,
            "may_restore": may_act(request, generation, "delete_others_videos"),
        }
        return render(request, "generations/generation_deleted.html", context)
    return render(
        request, "generations/generation_detail.html", detail_context(request, generation)
    )


def _back(request: HtmxHttpRequest, generation: Generation) -> HttpResponseBase:
    """Back where the action was asked from (a safe ``next``), else the detail page."""
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = generation.get_absolute_url()
    if request.htmx:
        return HttpResponseClientRedirect(target)
    return redirect(target)


@login_required
@require_POST
def generation_favourite(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Mark (``favourite=1``) or unmark (``favourite=0``) the video for this person.

    Setting a state rather than toggling it: a double click or a resent form gives the
    same result as one.
    """
    generation = get_generation_for_user(request, pk)
    value = request.POST.get("favourite")
    if value not in {"0", "1"}:
        return HttpResponseBadRequest(_("Say favourite=1 to mark the video, 0 to unmark it."))
    Favourite.set(request.user, generation, value == "1")
    if request.htmx and not request.POST.get("next"):
        context = {"generation": generation, "is_favourite": value == "1"}
        return render(request, "generations/generation_detail.html#favourite-button", context)
    return _back(request, generation)


@login_required
@require_POST
def generation_delete(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Soft delete: hidden everywhere at once, with Undo for ``UNDO_WINDOW``."""
    generation = get_generation_for_user(request, pk)
    if not may_act(request, generation, "delete_others_videos"):
        raise PermissionDenied
    if not generation.soft_delete(request.user):
        messages.error(
            request,
            _("Only a finished video can be deleted; this one is still being made or checked."),
        )
        return redirect(generation.get_absolute_url())
    messages.success(request, _("The video was deleted."))
    target = generation.get_absolute_url()  # the page that offers Undo
    return HttpResponseClientRedirect(target) if request.htmx else redirect(target)


@login_required
@require_POST
def generation_restore(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Undo a deletion, within ``UNDO_WINDOW``; later the video is gone (404)."""
    generation = get_deleted_generation_for_user(request, pk)
    if not may_act(request, generation, "delete_others_videos"):
        raise PermissionDenied
    if not generation.restore(settings.UNDO_WINDOW):
        raise Http404
    messages.success(request, _("The video is back."))
    return _back(request, generation)


@login_required
@require_http_methods(["GET", "HEAD"])
def generation_provenance(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """The provenance record (what was asked, by whom, what Rivya answered, what we
    stored) as a JSON download."""
    generation = get_generation_for_user(request, pk)
    if not generation.provenance:
        raise Http404
    ascii_name, unicode_name = generation.download_names("json")
    names = (
        ascii_name.replace(".json", ".provenance.json"),
        unicode_name.replace(".json", ".provenance.json"),
    )
    return _serve_stored(
        request, default_storage, generation.provenance, "application/json", attachment=names
    )
