"""Errors raised by the Rivya client.

::

    RivyaError
    ├── RivyaConnectionError        no usable answer: connect error, timeout, broken connection
    │   └── MalformedResponse       an answer we cannot read: not JSON, missing required fields
    ├── RivyaAPIError               Rivya answered with an error (code, message, status, request_id)
    │   ├── AuthenticationError     api_key_missing, _invalid, _revoked, _expired
    │   ├── PermissionDenied        api_scope_denied
    │   ├── RateLimited             rate_limited (carries retry_after)
    │   ├── InsufficientCredits     insufficient_credits
    │   ├── ValidationFailed        validation_failed, webhook_url_rejected, chat_*_not_supported
    │   ├── IdempotencyConflict     idempotency_conflict
    │   ├── NotFound                not_found
    │   └── ServiceUnavailable      public_api_disabled, any 5xx
    ├── InvalidSignature            a webhook delivery whose signature does not verify
    └── InvalidEvent                a webhook delivery whose body is not a readable event

Every error carries the same four things callers decide on: ``code`` (Rivya's error code,
or ``connection_error`` / ``malformed_response`` / ``invalid_signature`` /
``invalid_event`` for trouble of our side of the wire), ``message``, ``retryable`` (whether
sending the same request again may succeed) and ``retry_after`` (seconds a server asked us
to wait, or None); plus ``status`` (the HTTP status, None without an answer) and
``request_id``. Callers branch on those attributes, never on ``message`` nor on the class.
Codes this module does not know still become a ``RivyaAPIError`` (a ``ServiceUnavailable``
when the status is 5xx), so a new code on Rivya's side never breaks the client.
"""

from __future__ import annotations

import email.utils
import json
import time
from http import HTTPStatus

import httpx


class RivyaError(Exception):
    """Base class of everything the Rivya client raises."""

    code = "rivya_error"

    def __init__(
        self,
        message: str = "",
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again may succeed."""
        return False


class RivyaConnectionError(RivyaError):
    """The request got no usable answer: connect error, timeout, dropped connection."""

    code = "connection_error"

    @property
    def retryable(self) -> bool:
        return True


class MalformedResponse(RivyaConnectionError):
    """Rivya answered, but the body is not what the contract promises.

    Not retried by the client: the same request would most likely get the same answer.
    """

    code = "malformed_response"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status)

    @property
    def retryable(self) -> bool:
        return False


class RivyaAPIError(RivyaError):
    """Rivya answered with an error envelope (or with an error status and no envelope)."""

    status: int

    def __init__(
        self,
        code: str,
        message: str,
        status: int,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, code=code, status=status, request_id=request_id, retry_after=retry_after
        )

    @property
    def retryable(self) -> bool:
        if self.code in ERROR_CLASSES:
            return self.code in RETRYABLE_CODES
        return self.status == 429 or self.status >= 500

    def __str__(self) -> str:
        request_id = self.request_id or "none"
        return f"{self.code}: {self.message} (HTTP {self.status}, request id {request_id})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status}, "
            f"request_id={self.request_id!r})"
        )


class AuthenticationError(RivyaAPIError):
    """The API key is missing, unknown, revoked or expired: fix the configuration."""


class PermissionDenied(RivyaAPIError):
    """The key lacks the scope this route needs."""


class RateLimited(RivyaAPIError):
    """Too many requests in the current window; ``retry_after`` is in seconds when known."""


class InsufficientCredits(RivyaAPIError):
    """The account cannot pay for this generation; nothing was created or charged."""


class ValidationFailed(RivyaAPIError):
    """Rivya rejected the request's content; the message explains what to change."""


class IdempotencyConflict(RivyaAPIError):
    """The Idempotency-Key was already used for a different request."""


class NotFound(RivyaAPIError):
    """The object does not exist or belongs to another account."""


class ServiceUnavailable(RivyaAPIError):
    """Rivya is paused (``public_api_disabled``) or failing (5xx); try again later."""


class InvalidSignature(RivyaError):
    """A webhook delivery's ``Rivya-Signature`` is missing, malformed, stale or wrong."""

    code = "invalid_signature"


class InvalidEvent(RivyaError):
    """A webhook delivery's body is not a readable event."""

    code = "invalid_event"


# Every public error code of the contract (§5), and the class a caller catches it by.
ERROR_CLASSES: dict[str, type[RivyaAPIError]] = {
    "api_key_missing": AuthenticationError,
    "api_key_invalid": AuthenticationError,
    "api_key_revoked": AuthenticationError,
    "api_key_expired": AuthenticationError,
    "api_scope_denied": PermissionDenied,
    "rate_limited": RateLimited,
    "insufficient_credits": InsufficientCredits,
    "validation_failed": ValidationFailed,
    "webhook_url_rejected": ValidationFailed,
    "chat_model_not_supported": ValidationFailed,
    "chat_attachment_not_supported": ValidationFailed,
    "idempotency_conflict": IdempotencyConflict,
    # A chat session that cannot take this turn: nothing in this app branches on it.
    "chat_session_conflict": RivyaAPIError,
    "not_found": NotFound,
    "public_api_disabled": ServiceUnavailable,
    # Task-level code (inside a generation's ``error``); mapped in case it is ever sent as HTTP.
    "generation_failed": RivyaAPIError,
}
RETRYABLE_CODES = frozenset({"rate_limited", "public_api_disabled"})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


def _envelope(response: httpx.Response) -> dict[str, object] | None:
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"]:
        return error
    return None


def error_from_response(response: httpx.Response) -> RivyaAPIError:
    """Build the matching error from a non-2xx response, envelope or not."""
    status = response.status_code
    envelope = _envelope(response)
    found: object = None
    if envelope is not None:
        code = str(envelope["code"])
        text = envelope.get("message")
        message = text if isinstance(text, str) and text else code
        found = envelope.get("requestId") or envelope.get("request_id")
    else:
        code = f"http_{status}"
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = "Unexpected response"
    request_id = found if isinstance(found, str) and found else None
    request_id = request_id or response.headers.get("x-request-id") or None

    cls = ERROR_CLASSES.get(code)
    if cls is None:
        if status == 429:
            cls = RateLimited
        elif status >= 500:
            cls = ServiceUnavailable
        else:
            cls = RivyaAPIError
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return cls(code, message, status, request_id, retry_after=retry_after)
