"""Plumbing shared by every ``/sandbox/api/v1`` route.

One wrapper, :func:`route`, runs the checks in the contract's order (§8 item 12):
fault knobs → method → kill switch → auth → scope → rate limit → the handler. Every
failure, including an unexpected exception, answers with the error envelope (§5.1).
"""

import contextlib
import hashlib
import json
import logging
import math
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.http import (
    HttpRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sandbox import conf
from sandbox.models import (
    ALL_SCOPES,
    Account,
    ApiKey,
    IdempotencyRecord,
    RateLimitWindow,
    SandboxConfig,
    hash_key,
    new_id,
)

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"


class ApiError(Exception):
    """Raised by handlers and helpers; turned into the error envelope by :func:`route`."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def validation(message: str) -> ApiError:
    return ApiError(400, "validation_failed", message)


def not_found() -> ApiError:
    return ApiError(404, "not_found", "The requested resource was not found.")


def ok(body: Any) -> JsonResponse:
    return JsonResponse(body, status=200, safe=False, content_type=JSON_TYPE)


def error_response(exc: ApiError) -> JsonResponse:
    body = {"error": {"code": exc.code, "message": exc.message, "requestId": new_id("req")}}
    response = JsonResponse(body, status=exc.status, content_type=JSON_TYPE)
    for name, value in exc.headers.items():
        response[name] = value
    return response


def dropped_connection(request: HttpRequest) -> HttpResponseBase:
    """A response that ends the connection without an answer.

    Under Django's development/live server the socket is shut down and the body iterator
    raises ``ConnectionResetError`` before anything is written, which wsgiref treats as a
    client disconnect: nothing at all reaches the client. Under granian (no socket in the
    environ) the headers go out with a ``Content-Length`` that is never met, and the
    connection is closed mid-answer. Either way the client sees a transport error.
    """
    sock = _client_socket(request)

    def body() -> Iterator[bytes]:
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise ConnectionResetError("sandbox fault: dropped connection")
        yield b""  # pragma: no cover - makes this a generator

    response = StreamingHttpResponse(body(), content_type=JSON_TYPE)
    response["Content-Length"] = "64"
    return response


def _client_socket(request: HttpRequest) -> socket.socket | None:
    stream = request.META.get("wsgi.input")
    # Django's development server wraps the socket file in a LimitedStream.
    stream = getattr(getattr(stream, "_read", None), "__self__", stream)
    raw = getattr(stream, "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


@dataclass
class Context:
    account: Account
    api_key: ApiKey


Handler = Callable[..., HttpResponseBase]


@dataclass(frozen=True)
class Method:
    handler: Handler
    scope: str | None  # None: a public route, no key needed
    bucket: str = "other"


def route(**methods: Method) -> Callable[..., HttpResponseBase]:
    """A view answering the given HTTP methods, e.g. ``route(GET=Method(h, "files:read"))``."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponseBase:
        try:
            config = SandboxConfig.load()
            fault = _fault(request, config)
            if fault is not None:
                return fault
            method = methods.get(request.method or "")
            if method is None:
                raise not_found()
            if method.scope is None:
                open_public_route(request)
                return method.handler(request, **kwargs)
            if config.public_api_disabled:
                raise ApiError(503, "public_api_disabled", "The public API is paused.")
            ctx = authenticate(request)
            if method.scope not in ctx.api_key.scopes:
                raise ApiError(
                    403, "api_scope_denied", f"This API key lacks the {method.scope} scope."
                )
            check_rate_limit(ctx.api_key, method.bucket, config)
            return method.handler(request, ctx, **kwargs)
        except ApiError as exc:
            return error_response(exc)
        except Exception:
            logger.exception("sandbox API error on %s %s", request.method, request.path)
            return error_response(ApiError(500, "internal_error", "Internal server error."))

    return view


def _fault(request: HttpRequest, config: SandboxConfig) -> HttpResponseBase | None:
    if config.slow_seconds > 0:
        time.sleep(config.slow_seconds)
    if config.drop_rate > 0 and random.random() < config.drop_rate:  # noqa: S311
        return dropped_connection(request)
    if config.error_rate > 0 and random.random() < config.error_rate:  # noqa: S311
        if random.random() < 0.5:  # noqa: S311
            return error_response(ApiError(500, "internal_error", "Internal server error."))
        return error_response(
            ApiError(503, "service_unavailable", "The service is temporarily unavailable.")
        )
    return None


# --- Auth --------------------------------------------------------------------------------


def authenticate(request: HttpRequest) -> Context:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "api_key_missing", "A valid Bearer API key is required.")
    if not token.startswith("rvya_sk_"):
        raise ApiError(401, "api_key_invalid", "The API key is not valid.")
    key = ApiKey.objects.select_related("account").filter(
        key_hash=hash_key(token)
    ).first() or _builtin_key(token)
    if key is None:
        raise ApiError(401, "api_key_invalid", "The API key is not valid.")
    status = key.effective_status()
    if status == ApiKey.Status.REVOKED:
        raise ApiError(401, "api_key_revoked", "The API key has been revoked.")
    if status == ApiKey.Status.EXPIRED:
        raise ApiError(401, "api_key_expired", "The API key has expired.")
    return Context(account=key.account, api_key=key)


def open_public_route(request: HttpRequest) -> None:
    """Let a request through to a public route (``/models``, ``/openapi.json``), or raise.

    Rivya answers these to anyone. This sandbox runs on someone's own server, so it answers
    only callers who already hold one of its keys (the app's client sends its key there) or
    a signed-in superuser browsing it: a stranger learns nothing, not even that it is here.
    The key's scopes, the kill switch and the rate limit do not apply.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_superuser:
        return
    authenticate(request)


def builtin_account() -> Account:
    """The account behind ``settings.RIVYA_API_KEY`` in sandbox mode, made on first use."""
    try:
        with transaction.atomic():
            account, _created = Account.objects.get_or_create(
                is_builtin=True,
                defaults={"name": "Built-in", "balance": conf.get("SANDBOX_DEFAULT_BALANCE")},
            )
    except IntegrityError:
        account = Account.objects.get(is_builtin=True)
    return account


def _builtin_key(token: str) -> ApiKey | None:
    if not settings.RIVYA_SANDBOX or token != settings.RIVYA_API_KEY:
        return None
    account = builtin_account()
    try:
        with transaction.atomic():
            key, _created = ApiKey.objects.get_or_create(
                key_hash=hash_key(token),
                defaults={"account": account, "prefix": token[:12], "scopes": list(ALL_SCOPES)},
            )
    except IntegrityError:
        key = ApiKey.objects.get(key_hash=hash_key(token))
    return ApiKey.objects.select_related("account").get(pk=key.pk)


# --- Rate limits (§8 item 26) ------------------------------------------------------------


def check_rate_limit(api_key: ApiKey, bucket: str, config: SandboxConfig) -> None:
    limit = {
        "generations": config.rate_limit_generations,
        "files": config.rate_limit_files,
    }.get(bucket, config.rate_limit_other)
    window = max(1, config.rate_window_seconds)
    now = time.time()
    start_ts = int(now) - int(now) % window
    start = datetime.fromtimestamp(start_ts, UTC)
    with transaction.atomic():
        row, created = RateLimitWindow.objects.get_or_create(
            api_key=api_key, bucket=bucket, window_start=start
        )
        if created:
            RateLimitWindow.objects.filter(api_key=api_key, window_start__lt=start).delete()
        RateLimitWindow.objects.filter(pk=row.pk).update(count=F("count") + 1)
        count = RateLimitWindow.objects.values_list("count", flat=True).get(pk=row.pk)
    if count > limit:
        retry_after = max(1, math.ceil(start_ts + window - now))
        raise ApiError(
            429,
            "rate_limited",
            "Too many requests in the current window.",
            headers={"Retry-After": str(retry_after)},
        )


# --- Request bodies ----------------------------------------------------------------------


def json_body(request: HttpRequest) -> dict[str, Any]:
    content_type = request.content_type or ""
    if content_type.lower() != "application/json":
        raise validation("Content-Type must be application/json.")
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise validation("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    return body


def canonical_hash(value: Any) -> str:
    """SHA-256 of canonical JSON: key order and whitespace do not matter (§8 item 22)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- Idempotency (§8 items 20–25) --------------------------------------------------------


def idempotency_key(request: HttpRequest) -> str | None:
    """The request's ``Idempotency-Key``, validated: 1–255 printable ASCII characters."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not all(" " <= ch <= "~" for ch in key):
        raise validation("Idempotency-Key must be 1 to 255 printable ASCII characters.")
    return key


# A record left in progress this long after its create should have ended belongs to a
# request that died: the key is freed rather than stuck until the record expires.
ABANDONED_AFTER_SECONDS = 60.0
IN_PROGRESS = "A request with this Idempotency-Key is still being processed; retry later."


def idempotent(
    request: HttpRequest,
    ctx: Context,
    key: str | None,
    request_hash: str,
    create: Callable[[], JsonResponse],
    *,
    delay: float = 0.0,
) -> JsonResponse:
    """Run ``create`` once per (account, key); replay or refuse repeats.

    A repeat on the same route with the same body gets the stored answer; a different body
    or a different route (method and path) gets 409 ``idempotency_conflict`` (§8 item 23).

    The key is first recorded as in progress, committed at once, so that every other request
    with the key answers 409 until this one ends (§8 item 24). ``create`` then runs after
    ``delay`` seconds (the slow-create knob), and the record is finished in the same
    transaction as ``create``: a task, its debit and its record are committed together or
    not at all. The wait happens outside any transaction, which on SQLite would lock the
    database for everyone. Only 200 answers are kept: a refusal (``insufficient_credits``)
    removes the record, so the key may be used again.
    """
    if key is None:
        _wait(delay)
        with transaction.atomic():
            return create()
    scope = {"account": ctx.account, "key": key}
    route = {"method": request.method or "", "path": request.path}
    record, mine = _claim(
        scope, {**route, "request_hash": request_hash}, ABANDONED_AFTER_SECONDS + delay
    )
    if not mine:
        return _replay(record, route, request_hash)
    try:
        _wait(delay)
        with transaction.atomic():
            response = create()
            if response.status_code == 200:
                _finish(record, response)
    except BaseException:
        _release(record)
        raise
    if response.status_code != 200:
        _release(record)
    return response


def _wait(delay: float) -> None:
    if delay > 0:
        time.sleep(delay)


def _claim(
    scope: dict[str, Any], fields: dict[str, str], abandoned_after: float
) -> tuple[IdempotencyRecord, bool]:
    """The key's record and whether this request just made it (as in progress)."""
    now = timezone.now()
    expired = now - timedelta(seconds=conf.get("SANDBOX_IDEMPOTENCY_TTL_SECONDS"))
    abandoned = now - timedelta(seconds=abandoned_after)
    for _attempt in range(3):
        record = IdempotencyRecord.objects.filter(**scope).first()
        if record is None:
            try:
                with transaction.atomic():
                    return IdempotencyRecord.objects.create(**scope, **fields), True
            except IntegrityError:
                continue  # a twin recorded the key first: answer as its repeat
        if record.created_at >= (abandoned if record.in_progress else expired):
            return record, False
        # Past its retention, or left in progress by a request that died. Deleting by pk
        # leaves alone a record another request has made for the key meanwhile.
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
    raise ApiError(409, "idempotency_conflict", IN_PROGRESS)


def _finish(record: IdempotencyRecord, response: JsonResponse) -> None:
    finished = IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).update(
        status_code=response.status_code, body=json.loads(response.content)
    )
    if not finished:
        # This request ran so long that its record was taken as abandoned and the key was
        # used again: roll the create back rather than make a second task for one key.
        raise ApiError(
            409,
            "idempotency_conflict",
            "This Idempotency-Key was used again while this request was still running.",
        )


def _release(record: IdempotencyRecord) -> None:
    """Free the key after a refusal or an error (an unfreed key is abandoned later anyway)."""
    with contextlib.suppress(DatabaseError):
        IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def _replay(record: IdempotencyRecord, route: dict[str, str], request_hash: str) -> JsonResponse:
    if record.status_code is None:
        raise ApiError(409, "idempotency_conflict", IN_PROGRESS)
    if (record.method, record.path) != (route["method"], route["path"]):
        raise ApiError(
            409,
            "idempotency_conflict",
            "This Idempotency-Key was already used on another route.",
        )
    if record.request_hash != request_hash:
        raise ApiError(
            409,
            "idempotency_conflict",
            "This Idempotency-Key was already used with a different request.",
        )
    return JsonResponse(record.body, status=record.status_code, safe=False, content_type=JSON_TYPE)


def lose_answer(ctx: Context, key: str | None, first: int) -> bool:
    """Whether to drop this answer: the first ``first`` answers for (account, key) are.

    Counted on the key's record in one conditional UPDATE, so replays and 409s count too and
    every process agrees. A request whose key left no record (a refusal) is not counted.
    """
    if key is None or first <= 0:
        return False
    counted = IdempotencyRecord.objects.filter(
        account=ctx.account, key=key, answers_lost__lt=first
    ).update(answers_lost=F("answers_lost") + 1)
    return bool(counted)
