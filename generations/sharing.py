"""Share links: a public, expiring, revocable page for one video.

The creator, an owner or an admin makes one for a ready video; its token is shown once and
only its SHA-256 is stored (``ShareLink``). The public page ``/s/<token>/`` needs no login
and shows the player, the poster and, if chosen, the prompt — nothing else: no team, no
creator, no ids, no other URL of the app. Its video and poster are served under the same
token, by this process even on S3 (a presigned URL would name the storage key, which holds
the team's and the video's ids). A revoked or expired link, a deleted video, or any string
that is not a token: 404.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from generations.accounts import get_generation_for_user
from generations.detail import detail_context, may_act
from generations.forms import ShareLinkForm
from generations.models import Generation, ShareLink, Status
from generations.views import HtmxHttpRequest, _serve

# Tokens are 43 characters; anything much longer is not one and is not even hashed.
MAX_TOKEN_LENGTH = 100
# Shared files may be cached briefly: a revoked link stops working within a minute.
SHARED_CACHE = "private, max-age=60"


def _shareable(request: HtmxHttpRequest, pk: uuid.UUID) -> Generation:
    generation = get_generation_for_user(request, pk)
    if not may_act(request, generation, "share_others_videos"):
        raise PermissionDenied
    return generation


@login_required
@require_POST
def generation_share(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """Make a link (``expires_in_days``, ``show_prompt``); the page that answers shows it
    once, in the element with ``data-share-url``."""
    generation = _shareable(request, pk)
    if generation.status != Status.READY:
        messages.error(request, _("Only a ready video can be shared."))
        return redirect(generation.get_absolute_url())
    form = ShareLinkForm(request.POST)
    if not form.is_valid():
        context = detail_context(request, generation, share_form=form)
        return render(request, "generations/generation_detail.html", context, status=400)
    link, token = ShareLink.make(
        generation=generation,
        by=request.user,
        days=form.cleaned_data["expires_in_days"],
        show_prompt=form.cleaned_data["show_prompt"],
    )
    url = request.build_absolute_uri(reverse("shared_page", args=[token]))
    context = detail_context(request, generation, new_share_url=url, new_share_link=link)
    response = render(request, "generations/generation_detail.html", context)
    # The token is in this page only: no cache, no referrer that could carry it elsewhere.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@login_required
@require_POST
def share_revoke(request: HtmxHttpRequest, pk: uuid.UUID, link_id: int) -> HttpResponseBase:
    generation = _shareable(request, pk)
    link = generation.share_links.filter(pk=link_id).first()
    if link is None:
        raise Http404
    link.revoke()
    messages.success(request, _("The link no longer works."))
    return redirect(generation.get_absolute_url())


def _link(token: str) -> ShareLink:
    if len(token) > MAX_TOKEN_LENGTH:
        raise Http404
    link = ShareLink.find(token)
    if link is None:
        raise Http404
    return link


def _private(response: HttpResponseBase) -> HttpResponseBase:
    """What every shared response says: never indexed, never a referrer."""
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "HEAD"])
def shared_page(request: HtmxHttpRequest, token: str) -> HttpResponseBase:
    link = _link(token)
    context = {
        "link": link,
        "generation": link.generation,
        "page_url": request.build_absolute_uri(reverse("shared_page", args=[token])),
        "video_url": request.build_absolute_uri(reverse("shared_video", args=[token])),
        "poster_url": request.build_absolute_uri(reverse("shared_poster", args=[token])),
    }
    response = render(request, "generations/shared_page.html", context)
    response["Cache-Control"] = "no-cache"
    return _private(response)


@require_http_methods(["GET", "HEAD"])
def shared_video(request: HtmxHttpRequest, token: str) -> HttpResponseBase:
    generation = _link(token).generation
    etag = generation.video_sha256 or None
    response = _serve(request, generation.video, "video/mp4", etag, through_app=True)
    response["Cache-Control"] = SHARED_CACHE
    return _private(response)


@require_http_methods(["GET", "HEAD"])
def shared_poster(request: HtmxHttpRequest, token: str) -> HttpResponseBase:
    generation = _link(token).generation
    response = _serve(request, generation.poster, "image/jpeg", through_app=True)
    response["Cache-Control"] = SHARED_CACHE
    return _private(response)
