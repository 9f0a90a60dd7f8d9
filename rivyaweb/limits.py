"""Request body limits, checked at the door before anything reads a body.

Django's multipart parser spools every uploaded file to a temporary file as it arrives,
whatever its size, and the size rules of the forms only run once the whole body is in. So
this middleware comes first: a declared ``Content-Length`` over the route's limit gets 413
before a byte of the body is read, and a chunked body (no length declared) is read only up
to the limit. Django itself never reads past ``Content-Length``.
"""

import logging
from collections.abc import Callable
from tempfile import SpooledTemporaryFile
from typing import IO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _

from generations.forms import REFERENCE_MAX_BYTES
from sandbox.sniff import KIND_MAX_BYTES

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
# Room for the other fields of a form and the multipart framing around a file.
MARGIN = MIB
READ_CHUNK = 64 * 1024

# Routes that take more than the default, by URL name. Each follows the route's own rule,
# so the route, not this door, tells the client what is wrong with a file just over it.
ROUTE_LIMITS = {
    "home": REFERENCE_MAX_BYTES + MARGIN,  # the generation form and its reference image
    "rivya_webhook": MIB,  # signed JSON events
    "sandbox:files": max(KIND_MAX_BYTES.values()) + MARGIN,  # the sandbox's Files API
}


def body_limit(request: HttpRequest) -> int:
    """The largest body ``request``'s route accepts, in bytes."""
    try:
        name = resolve(request.path_info).view_name
    except Resolver404:
        return int(settings.REQUEST_BODY_LIMIT)
    limits = {**ROUTE_LIMITS, **settings.REQUEST_BODY_LIMITS}
    return int(limits.get(name, settings.REQUEST_BODY_LIMIT))


def declared_length(request: HttpRequest) -> int | None:
    """``Content-Length`` as a number; None when absent. A bad value reads as 0, as in Django."""
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        return max(int(raw), 0)
    except ValueError:
        return 0


def too_large(request: HttpRequest, limit: int) -> HttpResponse:
    logger.warning(
        "refused a request body over the %d-byte limit: %s %s",
        limit,
        request.method,
        request.path,
    )
    # The locale middleware has not run yet: pick the visitor's language here.
    with translation.override(translation.get_language_from_request(request)):
        message = _("This request is too large: at most %(limit)s are accepted here.") % {
            "limit": filesizeformat(limit)
        }
    response = HttpResponse(message + "\n", status=413, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    # The rest of the body is never read, so the connection cannot carry another request.
    # PEP 3333 leaves hop-by-hop headers to the server and wsgiref-based servers (runserver,
    # the test live server) refuse them; they close such a connection themselves.
    if not str(request.META.get("SERVER_SOFTWARE", "")).startswith("WSGIServer/"):
        response["Connection"] = "close"
    return response


def read_chunked(request: HttpRequest, limit: int, spool: IO[bytes]) -> bool:
    """Read the body of a request sent without ``Content-Length`` into ``spool``; False
    past ``limit``.

    Django reads a body only as far as ``Content-Length``, so without one it would see
    none at all. Read it here instead, never more than ``limit`` + 1 bytes, and hand it
    to Django with its length.
    """
    source = request.META["wsgi.input"]
    size = 0
    while size <= limit:
        chunk = source.read(min(READ_CHUNK, limit + 1 - size))
        if not chunk:
            break
        spool.write(chunk)
        size += len(chunk)
    if size > limit:
        return False
    spool.seek(0)
    request.META["CONTENT_LENGTH"] = str(size)
    # WSGIRequest wrapped wsgi.input at construction; hand it the body read here instead.
    request._stream = LimitedStream(spool, size)  # type: ignore[arg-type,assignment]
    return True


class RequestBodyLimitMiddleware:
    """413 for a body over its route's limit, before sessions, CSRF or views read it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = declared_length(request)
        if length is None and "HTTP_TRANSFER_ENCODING" in request.META:
            limit = body_limit(request)
            # In memory up to Django's in-memory upload size, in a temporary file beyond.
            with SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as spool:
                if not read_chunked(request, limit, spool):
                    return too_large(request, limit)
                return self.get_response(request)
        if length:
            limit = body_limit(request)
            if length > limit:
                return too_large(request, limit)
        return self.get_response(request)
