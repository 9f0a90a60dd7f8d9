"""Rivya's model catalog, kept in the database for pages to read.

Pages show the price before submit without calling Rivya inside the request: they read
``CatalogEntry`` rows, which the ``refresh_catalog`` task fills from ``GET /models``.
When nothing has been fetched yet the cost is unknown and a refresh is queued; an entry
older than ``MAX_AGE`` is shown while a refresh is queued.
"""

import logging
from datetime import timedelta
from types import EllipsisType

from django.core.cache import cache
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from generations.models import CatalogEntry, Generation
from generations.rivya import client_from_settings
from teams.models import Team

logger = logging.getLogger(__name__)

# How often a page may queue a refresh while the catalog is empty or stale.
REFRESH_THROTTLE_SECONDS = 60
# Prices can change: an entry older than this is still shown, and a refresh is queued.
MAX_AGE = timedelta(hours=6)
# How far back team_prices() looks for what each duration and sound combination cost.
PRICE_HISTORY_ROWS = 200
# What a video is expected to cost when neither the team's history nor the catalog knows:
# above Kling 2.6's base price, so a budget is never overspent on a guess.
FALLBACK_PRICE = 100


def model_cost(model_id: str) -> int | None:
    """The catalog's base credits for ``model_id``, or ``None`` when not known yet."""
    entry = CatalogEntry.objects.filter(model_id=model_id).first()
    if entry is None or entry.fetched_at < timezone.now() - MAX_AGE:
        request_refresh()
    return entry.base_credits if entry is not None else None


def team_prices(team: Team) -> dict[tuple[int, bool], int]:
    """What Rivya last reserved for each (duration, sound) among the team's recent videos.

    The catalog gives one base price, and Rivya does not say whether 10 s or sound costs
    more; the team's own history does. One indexed query over the latest rows.
    """
    rows = (
        Generation.objects.filter(team=team, reserved_credits__isnull=False)
        .order_by("-created_at")
        .values_list("duration", "sound", "reserved_credits")[:PRICE_HISTORY_ROWS]
    )
    prices: dict[tuple[int, bool], int] = {}
    for duration, sound, credits in rows:
        if credits is not None:  # excluded by the filter; this tells the type checker
            prices.setdefault((duration, sound), credits)
    return prices


def expected_price(
    team: Team,
    duration: int,
    sound: bool,
    prices: dict[tuple[int, bool], int] | None = None,
    *,
    base: int | None | EllipsisType = ...,
) -> int:
    """What a video of ``duration`` seconds with or without ``sound`` is expected to cost:
    what Rivya last reserved for the same choice in this team, else the catalog's base
    price, else ``FALLBACK_PRICE``. The budget hold and the form both use this.

    ``prices`` is ``team_prices(team)`` and ``base`` the catalog's base price, when the
    caller already has them (a page pricing every choice reads each once).
    """
    if prices is None:
        prices = team_prices(team)
    known = prices.get((duration, sound))
    if known is not None:
        return known
    if base is ...:
        base = model_cost(Generation._meta.get_field("model").get_default())
    return base if base is not None else FALLBACK_PRICE


def refresh_if_stale() -> bool:
    """Queue a refresh when the catalog is empty or older than ``MAX_AGE``; True if queued.

    The poller's housekeeping calls this at start and then hourly, so the first page of a
    fresh install already finds the price.
    """
    newest = CatalogEntry.objects.order_by("-fetched_at").values_list("fetched_at", flat=True)
    fetched_at = newest.first()
    if fetched_at is not None and fetched_at >= timezone.now() - MAX_AGE:
        return False
    refresh_catalog.enqueue()
    return True


def request_refresh() -> None:
    """Queue ``refresh_catalog`` at most once per throttle window (per process)."""
    if cache.add("generations:catalog-refresh", 1, REFRESH_THROTTLE_SECONDS):
        transaction.on_commit(refresh_catalog.enqueue)


@task
def refresh_catalog() -> int:
    """Fetch ``GET /models`` and store every entry; returns how many were stored."""
    with client_from_settings() as client:
        models = client.list_models()
    now = timezone.now()
    for model in models:
        CatalogEntry.objects.update_or_create(
            model_id=model.id[:64],
            defaults={
                "display_name": model.display_name[:120],
                "api_status": (model.api_status or "")[:32],
                "base_credits": model.base_credits,
                "billing_type": (model.billing_type or "")[:32],
                "max_prompt_length": model.max_prompt_length,
                "fetched_at": now,
            },
        )
    logger.info("model catalog refreshed: %d models", len(models))
    return len(models)
