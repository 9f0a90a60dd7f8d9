"""The team gallery: every video of the current team, filtered, searched and paged.

Pages are cut by keyset on ``(created_at, id)``, the order of the ``gen_gallery`` index, so
page 500 costs what page 1 costs and a video made while someone scrolls never shifts what
the next page shows. The cursor (``after``) is the position of the last tile shown, not an
offset. Nothing counts the team's rows.
"""

import base64
import binascii
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, TextField
from django.db.models.expressions import RawSQL
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from generations.accounts import current_team, generations_for_user
from generations.forms import GALLERY_STATUSES, GalleryFilterForm
from generations.models import Favourite, Generation, GenerationQuerySet
from teams.models import Membership, Team

PAGE_SIZE = 48
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Prompt search on PostgreSQL. The left side is exactly the expression of the
# ``gen_prompt_search`` GIN index (migration 0006), so the planner can use that index.
SEARCH_SQL = (
    'to_tsvector(\'simple\'::regconfig, "generations_generation"."prompt") '
    "@@ websearch_to_tsquery('simple'::regconfig, %s)"
)


@dataclass(frozen=True)
class Cursor:
    """A position in the gallery: the last tile shown."""

    created_at: datetime
    pk: uuid.UUID

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // timedelta(microseconds=1)
        raw = f"{micros}.{self.pk.hex}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        """The cursor in ``value``; ValueError when it is not one this page made."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
            micros, hex_pk = raw.split(".")
            moment = EPOCH + timedelta(microseconds=int(micros))
            return cls(moment, uuid.UUID(hex=hex_pk))
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise ValueError("not a gallery cursor") from None


@dataclass
class Page:
    tiles: list[Generation]
    next_cursor: Cursor | None


def team_creators(team: Team) -> list[tuple[int, str]]:
    """The team's members as the creator filter offers them."""
    members = Membership.objects.filter(team=team).select_related("user").order_by("user__username")
    return [(m.user_id, m.user.get_username()) for m in members]


def gallery_rows(request: HttpRequest, team: Team, filters: dict[str, Any]) -> GenerationQuerySet:
    """The team's visible generations matching ``filters``, with each one's creator and
    whether the viewer made it a favourite, in one query."""
    rows = (
        generations_for_user(request)
        .filter(team=team, deleted_at__isnull=True)
        .select_related("created_by")
        .annotate(
            is_favourite=Exists(
                Favourite.objects.filter(user_id=request.user.pk or 0, generation=OuterRef("pk"))
            )
        )
    )
    statuses = GALLERY_STATUSES[filters["status"]]
    if statuses is not None:
        rows = rows.filter(status__in=statuses)
    for field in ("aspect_ratio", "duration"):
        if filters.get(field):
            rows = rows.filter(**{field: filters[field]})
    if filters.get("creator") is not None:
        rows = rows.filter(created_by_id=filters["creator"])
    if filters.get("sound"):
        rows = rows.filter(sound=filters["sound"] == "on")
    if filters.get("favourites"):
        rows = rows.filter(is_favourite=True)
    rows = _in_dates(rows, filters.get("from"), filters.get("to"))
    if filters.get("q"):
        rows = search(rows, filters["q"])
    return rows


def _in_dates(rows: GenerationQuerySet, start: date | None, end: date | None) -> GenerationQuerySet:
    """Rows made from the start of ``start`` to the end of ``end`` (inclusive), both days
    in the viewer's time zone."""
    zone = timezone.get_current_timezone()
    if start is not None:
        rows = rows.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end is not None:
        next_day = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
        rows = rows.filter(created_at__lt=next_day)
    return rows


def fold(text: str | None) -> str | None:
    """Text as SQLite's search compares it: composed (NFC) and case-folded, so "ĐÀN",
    "Đàn" and "đàn" typed with a separate accent mark are one word."""
    return None if text is None else unicodedata.normalize("NFC", text).casefold()


def register_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Give every new SQLite connection ``rivyaweb_fold()`` (``connection_created``):
    SQLite's own LIKE folds the case of ASCII letters only."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("rivyaweb_fold", 1, fold, deterministic=True)


def search(rows: GenerationQuerySet, query: str) -> GenerationQuerySet:
    """Prompts matching ``query``: full-text on PostgreSQL (words as typed, "quoted
    phrases", -excluded words), every word contained on SQLite. Either way case is
    ignored and the query is composed (NFC), as prompts are stored."""
    query = unicodedata.normalize("NFC", query)
    if connection.vendor == "postgresql":
        # A constant expression; the query itself goes as a parameter.
        matches = RawSQL(SEARCH_SQL, [query], output_field=BooleanField())  # noqa: S611
        return rows.filter(matches)
    rows = rows.annotate(
        folded_prompt=Func(F("prompt"), function="rivyaweb_fold", output_field=TextField())
    )
    for word in query.split():
        excluded = word.startswith("-") and len(word) > 1
        word = word.lstrip("-").strip('"')
        if not word:
            continue
        match = Q(folded_prompt__contains=fold(word))
        rows = rows.exclude(match) if excluded else rows.filter(match)
    return rows


def page_of(rows: GenerationQuerySet, *, order: str, after: Cursor | None) -> Page:
    """Up to ``PAGE_SIZE`` rows after ``after`` in ``order``, and the next page's cursor."""
    newest = order == "newest"
    if after is not None:
        if newest:
            rows = rows.filter(created_at__lte=after.created_at).filter(
                Q(created_at__lt=after.created_at) | Q(id__lt=after.pk)
            )
        else:
            rows = rows.filter(created_at__gte=after.created_at).filter(
                Q(created_at__gt=after.created_at) | Q(id__gt=after.pk)
            )
    ordering = ("-created_at", "-id") if newest else ("created_at", "id")
    tiles = list(rows.order_by(*ordering)[: PAGE_SIZE + 1])
    next_cursor = None
    if len(tiles) > PAGE_SIZE:
        tiles = tiles[:PAGE_SIZE]
        next_cursor = Cursor(tiles[-1].created_at, tiles[-1].pk)
    return Page(tiles, next_cursor)


def mark_days(tiles: list[Generation], previous: date | None) -> None:
    """Give the first tile of each day (in the viewer's time zone) its ``day_heading``;
    ``previous`` is the day the page before ended on, so its heading is not repeated."""
    for tile in tiles:
        day = timezone.localdate(tile.created_at)
        tile.day_heading = day if day != previous else None  # type: ignore[attr-defined]
        previous = day


def next_url(request: HttpRequest, cursor: Cursor | None) -> str:
    if cursor is None:
        return ""
    params: QueryDict = request.GET.copy()
    params["after"] = cursor.encode()
    return f"{reverse('gallery')}?{params.urlencode()}"


@login_required
@require_http_methods(["GET", "HEAD"])
def gallery(request: HttpRequest) -> HttpResponse:
    """The current team's videos; with htmx, just the next tiles and the next sentinel.

    Days and times are the viewer's (``rivyaweb.timezones`` activates the browser's zone)."""
    team = current_team(request)
    form = GalleryFilterForm(request.GET or None, creators=team_creators(team))
    filters = form.filters() if form.is_bound else {"status": "ready", "order": "newest"}
    cursor_error = ""
    after = None
    if request.GET.get("after"):
        try:
            after = Cursor.decode(request.GET["after"])
        except ValueError:
            if getattr(request, "htmx", False):
                # "Load more" only follows cursors the page made: the first page would
                # repeat tiles already shown.
                return HttpResponseBadRequest(_("That page of the gallery was not understood."))
            cursor_error = _("That page of the gallery was not understood; here is the first page.")
    page = page_of(gallery_rows(request, team, filters), order=filters["order"], after=after)
    continuing = bool(getattr(request, "htmx", False)) and after is not None
    mark_days(page.tiles, timezone.localdate(after.created_at) if continuing and after else None)
    context = {
        "team": team,
        "form": form,
        "tiles": page.tiles,
        "next_url": next_url(request, page.next_cursor),
        "filtered": form.is_bound and any(k != "after" for k in request.GET),
        "cursor_error": cursor_error,
    }
    if continuing:
        return render(request, "generations/_tiles.html", context)
    return render(request, "generations/gallery.html", context)
