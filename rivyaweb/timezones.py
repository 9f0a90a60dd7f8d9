"""Times in the viewer's own time zone, on every page.

The browser names its IANA zone (``Intl.DateTimeFormat().resolvedOptions().timeZone``) in a
``tz`` cookie (``static/js/time-zone.js``, on every page of the app and the admin). This
middleware activates that zone for the request, so every date and time Django renders (a
card's request time, the detail page, the gallery's days, the team's budget history, the
admin) reads as the viewer's clock. A missing or unknown name leaves the site's
``TIME_ZONE``; nothing the cookie says is used unless it is a zone Python knows.
"""

import functools
import zoneinfo
from collections.abc import Callable
from datetime import tzinfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

TIME_ZONE_COOKIE = "tz"


@functools.cache
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def viewer_time_zone(request: HttpRequest) -> tzinfo | None:
    """The zone the viewer's browser named, if it is a real one."""
    name = request.COOKIES.get(TIME_ZONE_COOKIE, "")
    return zoneinfo.ZoneInfo(name) if name in known_time_zones() else None


class ViewerTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # override(None) leaves the site's zone; either way the zone ends with the request.
        with timezone.override(viewer_time_zone(request)):
            return self.get_response(request)
