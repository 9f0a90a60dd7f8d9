from functools import cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_safe

FAVICON_MAX_AGE = 7 * 24 * 3600  # a week: browsers ask for /favicon.ico on every site visit


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers a query, 503 otherwise; for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@cache
def favicon_bytes() -> bytes:
    """static/favicon.ico, read once; the pages link static/favicon.svg for modern browsers."""
    found = finders.find("favicon.ico")
    assert isinstance(found, str), "static/favicon.ico is part of the source tree"
    return Path(found).read_bytes()


@require_safe
@cache_control(public=True, max_age=FAVICON_MAX_AGE)
def favicon(request: HttpRequest) -> HttpResponse:
    """The icon browsers and feed readers fetch from /favicon.ico without asking any page."""
    return HttpResponse(favicon_bytes(), content_type="image/x-icon")
