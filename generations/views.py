"""Pages and fragments: the form with the team's cards, live card updates, playback.

No view calls Rivya: a submission creates a row and queues a task, and everything the
pages show comes from our database and our storage.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import Storage, default_storage
from django.db.models import Max, Q
from django.db.models.fields.files import FieldFile
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling
from django_htmx.middleware import HtmxDetails

from credits import usage
from credits.models import BalanceSnapshot
from generations import actions, catalog, estimates
from generations.accounts import current_team, generations_for_user, get_generation_for_user
from generations.forms import (
    REFERENCE_MAX_BYTES,
    GenerationForm,
    ReferenceImage,
    delete_staged_reference,
    kept_reference_source,
    kept_reference_token,
    staged_reference_info,
)
from generations.models import IN_FLIGHT, Generation, outage_of
from rivyaweb.ranges import S3ObjectSource, ranged_file_response, ranged_response
from teams.access import current_membership
from teams.models import Membership, Team


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


RECENT_CARDS = 20
MAX_POLLED_IDS = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Anything later cannot be turned back into a datetime (it would overflow).
MAX_VERSION = (datetime(9999, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


def version_of(moment: datetime | None) -> int:
    """A ``changed_at`` as whole microseconds since the epoch (0 for none)."""
    if moment is None:
        return 0
    return (moment - EPOCH) // timedelta(microseconds=1)


def team_version(team: Team) -> int:
    return version_of(Generation.objects.filter(team=team).aggregate(v=Max("changed_at"))["v"])


def recent_cards(team: Team) -> list[Generation]:
    visible = Generation.objects.filter(team=team, deleted_at__isnull=True)
    return list(visible.order_by("-created_at")[:RECENT_CARDS])


def in_flight_ids(generations: list[Generation]) -> list[str]:
    return [str(g.pk) for g in generations if g.status in IN_FLIGHT]


def poller_context(version: int, ids: list[str]) -> dict[str, Any]:
    return {"version": version, "ids": ids[:MAX_POLLED_IDS]}


def render_poller(request: HtmxHttpRequest, version: int, ids: list[str]) -> str:
    context = {**poller_context(version, ids), "oob": True}
    return render_to_string("generations/_poller.html", context, request=request)


def render_card(request: HtmxHttpRequest, generation: Generation, **extra: Any) -> str:
    context = {"generation": generation, **extra}
    return render_to_string("generations/_card.html", context, request=request)


def card_estimates(team_id: Any, generations: list[Generation]) -> estimates.Estimates:
    """The usual times for the cards, read only when one of them is in flight."""
    if not in_flight_ids(generations):
        return {}
    return estimates.typical_times(team_id)


def render_rivya_status(request: HtmxHttpRequest, outage: str) -> str:
    """The banner above the cards, swapped out of band with the cards' updates."""
    context = {"outage": outage, "oob": True}
    return render_to_string("generations/_rivya_status.html", context, request=request)


def parse_version(value: str | None) -> int:
    """A client-sent version; anything unreadable counts as 0 (send everything)."""
    try:
        version = int(value or 0)
    except ValueError:
        return 0
    return version if 0 <= version <= MAX_VERSION else 0


def parse_ids(value: str | None) -> list[uuid.UUID]:
    ids = []
    for part in (value or "").split(",")[:MAX_POLLED_IDS]:
        try:
            ids.append(uuid.UUID(part.strip()))
        except ValueError:
            continue
    return ids


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def home(request: HtmxHttpRequest) -> HttpResponse:
    """The form and the team's recent cards; a POST creates a generation."""
    team = current_team(request)
    if request.method == "POST":
        form = GenerationForm(request.POST, request.FILES, user=request.user, team=team)
        if form.is_valid():
            try:
                return _create(request, team, form)
            except actions.REFUSALS as refusal:
                # Nothing was created: the form says why and keeps what was entered.
                form.add_error(None, refusal)
        form.keep_reference()
    else:
        initial = _remix_initial(request) or _kept_initial(request)
        form = GenerationForm(user=request.user, team=team, initial=initial)
    if request.htmx and (request.method == "POST" or request.htmx.target == "generation-form"):
        # A submit's answer, or "Use these settings" on a card: the form alone, with what
        # the remix had to say shown inside it.
        context = _form_context(request, form, team)
        if request.method != "POST":
            context["form_messages"] = list(messages.get_messages(request))
        response = render(request, "generations/home.html#generation-form", context)
        # The same URL answers with the whole page without htmx: never cache one for the other.
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response
    version = team_version(team)
    cards = recent_cards(team)
    context = {
        **_form_context(request, form, team),
        "cards": cards,
        "estimates": card_estimates(team.pk, cards),
        "outage": outage_of(g.notice for g in cards if g.status in IN_FLIGHT),
        "poller": poller_context(version, in_flight_ids(cards)),
    }
    return render(request, "generations/home.html", context)


# The session key that carries a made video's choices across the redirect of a plain POST.
KEPT_CHOICES = "generation_form_kept"
KEPT_KEYS = frozenset(
    {"prompt", "duration", "sound", "aspect_ratio", "keep_prompt", "reference_token"}
)


def _kept_initial(request: HtmxHttpRequest) -> dict[str, Any]:
    """The choices of the video just made (plain POST), read once; a value that does not fit
    the form is simply left out (the form checks whatever is sent anyway)."""
    kept = request.session.pop(KEPT_CHOICES, None)
    if not isinstance(kept, dict):
        return {}
    return {key: value for key, value in kept.items() if key in KEPT_KEYS}


def _remix_initial(request: HtmxHttpRequest) -> dict[str, Any]:
    """``?remix=<id>``: the form filled in with that video's inputs, its reference image
    used again where it is stored (nothing is uploaded or copied)."""
    raw = request.GET.get("remix")
    if not raw:
        return {}
    try:
        original = get_generation_for_user(request, raw)
    except Http404:
        messages.error(request, _("This video cannot be remixed: it is not one of your team's."))
        return {}
    initial: dict[str, Any] = {
        "prompt": original.prompt,
        "duration": original.duration,
        "sound": original.sound,
        "aspect_ratio": original.aspect_ratio,
    }
    if original.reference_image:
        if _reference_exists(original):
            initial["reference_token"] = kept_reference_token(original)
        else:
            messages.warning(
                request,
                _("The reference image of this video can no longer be read; choose it again."),
            )
    return initial


def _reference_exists(generation: Generation) -> bool:
    try:
        return generation.reference_image.storage.exists(generation.reference_image.name or "")
    except OSError:
        return False


def _form_context(request: HtmxHttpRequest, form: GenerationForm, team: Team) -> dict[str, Any]:
    membership = _membership_in(request, team)
    limits = _limits(membership, team)
    return {
        "form": form,
        "prices": _expected_prices(form, team, limits),
        "budget": limits,
        "balance": _balance(request, membership),
        "reference_max_mb": REFERENCE_MAX_BYTES // 1_000_000,
    }


def _choice(form: GenerationForm) -> tuple[int, bool]:
    """The (duration, sound) the form shows as chosen."""
    try:
        duration = int(form["duration"].value())
    except (TypeError, ValueError):  # a tampered value: the form's default is shown
        duration = int(form.fields["duration"].initial)
    return duration, bool(form["sound"].value())


def _membership_in(request: HtmxHttpRequest, team: Team) -> Membership | None:
    """The user's membership of ``team``: the request's own when it is the current team."""
    current = current_membership(request)
    if current.team_id == team.pk:
        return current
    return Membership.objects.filter(team_id=team.pk, user_id=current.user_id).first()


def _limits(membership: Membership | None, team: Team) -> dict[str, Any] | None:
    """What is left this month of the team's budget and the member's cap; None when no
    limit applies."""
    team_left = usage.team_usage(team)
    member_left = usage.member_usage(membership) if membership is not None else None
    if team_left is None and member_left is None:
        return None
    return {"team": team_left, "member": member_left}


def _expected_prices(
    form: GenerationForm, team: Team, limits: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """What each choice of duration and sound is expected to cost, and where that comes
    from: what Rivya last reserved for it in this team ("team"), else the catalogue's base
    price ("catalog"), else not known (None). Every choice is on the page, the form's own
    shown, so the script switches between them without asking the server.

    ``fits`` says whether the budget hold of that choice fits what is left (None without
    limits); the hold falls back to a safe guess when the price is not known.
    """
    prices = catalog.team_prices(team)
    base = catalog.model_cost(Generation._meta.get_field("model").get_default())
    applying = [each for each in (limits or {}).values() if each is not None]
    chosen = _choice(form)
    durations: Any = form.fields["duration"]
    expected = []
    for duration, _label in durations.choices:
        for sound in (False, True):
            known = prices.get((int(duration), sound))
            hold = catalog.expected_price(team, int(duration), sound, prices, base=base)
            expected.append(
                {
                    "duration": duration,
                    "sound": sound,
                    "credits": known if known is not None else base,
                    "source": "team" if known is not None else "catalog",
                    "fits": all(each.allows(hold) for each in applying) if applying else None,
                    "shown": (int(duration), sound) == chosen,
                }
            )
    return expected


def _balance(request: HtmxHttpRequest, membership: Membership | None) -> BalanceSnapshot | None:
    """Rivya's balance as last read, for the team's owners and admins (and staff) only."""
    manages = membership is not None and membership.is_manager
    if not (manages or request.user.is_staff):
        return None
    return BalanceSnapshot.objects.order_by("-taken_at", "-id").first()


def _create(request: HtmxHttpRequest, team: Team, form: GenerationForm) -> HttpResponse:
    generation, created = actions.create_generation(
        team=team, user=request.user, data=form.generation_data(), reference=form.reference
    )
    token = form.cleaned_data.get("reference_token")
    if token and isinstance(form.reference, ReferenceImage) and not form.reference_from_upload:
        delete_staged_reference(token, request.user)  # its bytes are now the video's
    if not created:
        messages.info(request, _("This video was already requested; here is its card."))
    if not request.htmx:
        request.session[KEPT_CHOICES] = form.next_initial(generation)
        return redirect(f"{reverse('home')}#gen-{generation.pk}")
    if not created:
        # The card may be in another tab only: show the page as it is now.
        request.session[KEPT_CHOICES] = form.next_initial(generation)
        return HttpResponseClientRedirect(reverse("home"))
    return _card_inserted(request, team, generation, fresh_form=form)


def _card_inserted(
    request: HtmxHttpRequest,
    team: Team,
    generation: Generation,
    *,
    fresh_form: GenerationForm | None,
) -> HttpResponse:
    """The htmx answer that puts a new card on top of the list and, after ``fresh_form``
    made it, a fresh form keeping that form's choices (and a new form token)."""
    since = parse_version(request.POST.get("since"))
    parts: list[str] = []
    if fresh_form is not None:
        form = GenerationForm(
            user=request.user, team=team, initial=fresh_form.next_initial(generation)
        )
        parts.append(
            render_to_string(
                "generations/home.html#generation-form",
                {**_form_context(request, form, team), "sent": generation},
                request=request,
            )
        )
    usual = card_estimates(team.pk, [generation])
    parts.append(render_card(request, generation, insert=True, estimates=usual))
    parts.append(render_poller(request, since, in_flight_ids(recent_cards(team))))
    return HttpResponse("".join(parts))


@login_required
@require_POST
def generation_retry(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponse:
    """Start a new generation from the inputs of a failed one.

    Only where no Rivya task of the original can exist, or Rivya said it failed: a row
    whose task may exist is never offered a Retry that would pay a second time.
    """
    original = get_generation_for_user(request, pk)
    if not original.can_retry:
        messages.info(request, _("Only a failed video can be tried again."))
        return redirect("home")
    try:
        generation, created = actions.retry_generation(original, request.user)
    except actions.REFUSALS as refusal:
        messages.error(request, " ".join(refusal.messages))
        return redirect("home")
    except (actions.ReferenceUnavailable, OSError):
        messages.error(request, _("The reference image of this video can no longer be read."))
        return redirect("home")
    if not request.htmx:
        return redirect(f"{reverse('home')}#gen-{generation.pk}")
    if not created:
        return HttpResponseClientRedirect(reverse("home"))
    return _card_inserted(request, original.team, generation, fresh_form=None)


@login_required
@require_GET
def card_updates(request: HtmxHttpRequest) -> HttpResponse:
    """What changed among the polled cards since ``since``.

    204 when nothing did; otherwise out-of-band swaps for the changed cards and a new
    poller element. Cards already finished are sent even without a newer version, so a
    change committed late (its ``changed_at`` older than a version already handed out)
    still reaches the page.
    """
    since = parse_version(request.GET.get("since"))
    ids = parse_ids(request.GET.get("ids"))
    if not ids:
        return HttpResponseStopPolling(render_poller(request, since, []))
    # "Changed after ``since``" asked as "at or after the next microsecond": on SQLite a
    # moment on a whole second is sent as "…:02" while the database's clock wrote "…:02.000",
    # and comparing those as text would call an unchanged card changed.
    first_unseen = EPOCH + timedelta(microseconds=since + 1)
    visible = generations_for_user(request).filter(pk__in=ids)
    # Only the user's own cards still in flight stay polled: an id of another team, or
    # of no row at all, is dropped rather than echoed back forever. Read before the
    # changes, so a card that finishes in between is sent rather than dropped.
    notices = dict(visible.filter(status__in=IN_FLIGHT).values_list("pk", "notice"))
    in_flight = set(notices)
    changed = list(
        visible.filter(Q(changed_at__gte=first_unseen) | ~Q(status__in=IN_FLIGHT)).order_by(
            "-created_at"
        )
    )
    changed_ids = {g.pk for g in changed}
    still_polled = list(dict.fromkeys(str(i) for i in ids if i in in_flight - changed_ids))
    if not changed:
        return HttpResponse(status=204)
    version = max([since, *(version_of(g.changed_at) for g in changed)])
    still_polled += [str(g.pk) for g in changed if g.status in IN_FLIGHT]
    notices.update({g.pk: g.notice for g in changed})
    polled = set(still_polled)
    outage = outage_of(notice for pk, notice in notices.items() if str(pk) in polled)
    moving = {g.team_id for g in changed if g.status in IN_FLIGHT}
    usual = {team_id: estimates.typical_times(team_id) for team_id in moving}
    parts = [render_card(request, g, oob=True, estimates=usual.get(g.team_id)) for g in changed]
    parts.append(render_rivya_status(request, outage))
    parts.append(render_poller(request, version, still_polled))
    if not still_polled:
        return HttpResponseStopPolling("".join(parts))
    return HttpResponse("".join(parts))


def _is_s3(storage: Storage) -> bool:
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def _serve(
    request: HtmxHttpRequest,
    file: FieldFile,
    content_type: str,
    etag: str | None = None,
    *,
    attachment: tuple[str, str] | None = None,
    through_app: bool = False,
) -> HttpResponseBase:
    if not file or not file.name:
        raise Http404
    return _serve_stored(
        request,
        file.storage,
        file.name,
        content_type,
        etag,
        attachment=attachment,
        through_app=through_app,
    )


def attachment_header(names: tuple[str, str]) -> str:
    """``Content-Disposition`` for a download: the ASCII name for every client, and the
    Unicode one as RFC 5987 ``filename*`` when it differs."""
    ascii_name, unicode_name = names
    value = f'attachment; filename="{ascii_name}"'
    if unicode_name != ascii_name:
        value += f"; filename*=UTF-8''{quote(unicode_name, safe='')}"
    return value


def _serve_stored(
    request: HtmxHttpRequest,
    storage: Storage,
    name: str,
    content_type: str,
    etag: str | None = None,
    *,
    attachment: tuple[str, str] | None = None,
    through_app: bool = False,
) -> HttpResponseBase:
    """A redirect to a short-lived presigned URL on S3; a ranged response for local files.

    ``attachment`` (ASCII and Unicode file names) makes it a download; on S3 the presigned
    URL carries the header, so the bucket's answer says it. ``through_app`` serves an S3
    object from this process too (ranged, streamed from the bucket), for answers that must
    not reveal its storage key, which names the team and the video.
    """
    disposition = attachment_header(attachment) if attachment else None
    if _is_s3(storage) and through_app:
        return _stream_s3(request, storage, name, content_type, etag)
    if _is_s3(storage):
        parameters = None
        if disposition:
            parameters = {
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
            }
        url = storage.url(name, parameters=parameters)  # type: ignore[call-arg]
        response: HttpResponseBase = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        size = storage.size(name)
        handle: Any = storage.open(name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = ranged_file_response(
        request, handle, size=size, content_type=content_type, etag=etag
    )
    response["Cache-Control"] = "private, max-age=3600"
    if disposition:
        response["Content-Disposition"] = disposition
    return response


def _stream_s3(
    request: HtmxHttpRequest, storage: Storage, name: str, content_type: str, etag: str | None
) -> HttpResponseBase:
    """The S3 object, ranged, with only our own headers (no redirect, nothing of the bucket's)."""
    try:
        s3_file: Any = storage.open(name, "rb")  # a HEAD only; its ``obj`` is the object
    except FileNotFoundError:
        raise Http404 from None
    obj = s3_file.obj
    response = ranged_response(
        request,
        S3ObjectSource(obj),
        size=obj.content_length,
        content_type=content_type,
        etag=etag,
        last_modified=obj.last_modified,
    )
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def generation_video(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """The video; ``?download=1`` gives it as a file named after its date and prompt."""
    generation = get_generation_for_user(request, pk)
    attachment = generation.download_names("mp4") if request.GET.get("download") else None
    return _serve(
        request,
        generation.video,
        "video/mp4",
        generation.video_sha256 or None,
        attachment=attachment,
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def generation_poster(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """The poster frame; ``?size=small`` gives the gallery's small one (when made)."""
    generation = get_generation_for_user(request, pk)
    if request.GET.get("size") == "small" and generation.poster_small:
        return _serve(request, generation.poster_small, "image/jpeg")
    return _serve(request, generation.poster, "image/jpeg")


@login_required
@require_http_methods(["GET", "HEAD"])
def generation_preview(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    """The short muted clip the gallery plays on hover; never the full video."""
    generation = get_generation_for_user(request, pk)
    return _serve(request, generation.preview, "video/mp4")


@login_required
@require_http_methods(["GET", "HEAD"])
def generation_reference(request: HtmxHttpRequest, pk: uuid.UUID) -> HttpResponseBase:
    generation = get_generation_for_user(request, pk)
    return _serve(request, generation.reference_image, generation.reference_mime or "image/jpeg")


@login_required
@require_GET
def reference_preview(request: HtmxHttpRequest, token: str) -> HttpResponseBase:
    """The preview of the image a form carries: one kept across a form error (only for the
    user who chose it), or one a video of the current team was made from."""
    team = current_team(request)
    source_id = kept_reference_source(token, team)
    if source_id is not None:
        # Also while the video is deleted but not yet purged: the form can still use it.
        source = Generation.objects.filter(pk=source_id, team=team).first()
        if source is None:
            raise Http404
        return _serve(request, source.reference_image, source.reference_mime or "image/jpeg")
    info = staged_reference_info(token, request.user)
    if info is None:
        raise Http404
    mime = info.get("m")
    if mime not in {"image/jpeg", "image/png", "image/webp"}:
        raise Http404
    return _serve_stored(request, default_storage, info["k"], mime)
