"""The HTTP client for Rivya Public API v1.

One :class:`Client` holds one long-lived ``httpx.Client``. Every endpoint method goes
through :meth:`Client._request`, which retries connection errors, 429 and 5xx with capped
exponential backoff and full jitter, and turns error responses into the classes of
:mod:`generations.rivya.errors`. Methods that create something send an ``Idempotency-Key``
that stays the same on every attempt, so a retry after a lost answer never creates or
charges twice.
"""

from __future__ import annotations

import io
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Generator, Mapping
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import quote

import httpx

from generations.rivya.errors import (
    MalformedResponse,
    RivyaAPIError,
    RivyaConnectionError,
    error_from_response,
    parse_retry_after,
)
from generations.rivya.types import Credits, File, Generation, Model

logger = logging.getLogger(__name__)

USER_AGENT = "Rivyaweb/0.1 (+httpx)"

# Connecting should be quick; reading may wait for Rivya to store a 10 MB upload.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
WRITE_TIMEOUT = 60.0
POOL_TIMEOUT = 5.0
DEFAULT_TIMEOUT = httpx.Timeout(
    connect=CONNECT_TIMEOUT, read=READ_TIMEOUT, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
)

MAX_RETRIES = 4  # retries after the first attempt
BACKOFF_BASE = 0.5  # seconds; the ceiling doubles with each retry...
BACKOFF_CAP = 30.0  # ...up to this
RETRY_AFTER_CAP = 60.0  # never wait longer than this, whatever Retry-After says
MAX_BODY_BYTES = 1024 * 1024  # an API answer larger than this is refused unread, not buffered

# Failures where the request may not have reached Rivya, or its answer was lost.
# Safe to repeat because every creating call carries the same Idempotency-Key.
RETRIED_TRANSPORT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


class _BearerAuth(httpx.Auth):
    """Adds the API key to each request without ever printing it."""

    def __init__(self, api_key: str) -> None:
        self._header = f"Bearer {api_key}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "<_BearerAuth [redacted]>"


class Client:
    """A client for Rivya Public API v1.

    ``base_url`` includes the version prefix (``https://rivya.ai/api/v1``). Use it as a
    context manager, or call :meth:`close` when done.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        max_retries: int = MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random.random,
        key_on_public_routes: bool = False,
    ) -> None:
        if not api_key:
            raise ValueError("A Rivya API key is required.")
        self._api_key = api_key
        self._auth = _BearerAuth(api_key)
        self.base_url = base_url.rstrip("/")
        self.max_retries = max(0, max_retries)
        # The built-in sandbox answers its public routes only to holders of a key.
        self.key_on_public_routes = key_on_public_routes
        self._sleep = sleep
        self._random = random
        self._http = httpx.Client(
            base_url=self.base_url,
            transport=transport,
            timeout=timeout or DEFAULT_TIMEOUT,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<Client base_url={self.base_url!r}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts every request uses."""
        return self._http.timeout

    # --- Endpoints ------------------------------------------------------------

    def list_models(self) -> list[Model]:
        """``GET /models``: the public model catalog (sent without the API key, except to the
        built-in sandbox, which wants one there too).

        Entries without an id are skipped with a warning rather than failing the list.
        """
        body = self._request("GET", "/models", authenticated=self.key_on_public_routes)
        items = body.get("data") if isinstance(body, Mapping) else body
        if not isinstance(items, list):
            raise MalformedResponse("The model list has no 'data' array.")
        models = []
        for item in items:
            try:
                models.append(Model.from_json(item))
            except MalformedResponse as exc:
                logger.warning("rivya skipped an unreadable model entry: %s", exc)
        return models

    def upload_file(
        self,
        file: IO[bytes] | bytes,
        *,
        filename: str,
        kind: str,
        model: str | None,
        mime_type: str | None = None,
        client_request_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> File:
        """``POST /files``: store a reference file (multipart), return its metadata.

        ``file`` may be bytes or a binary file object; a file object is streamed, not read
        into memory, and rewound before each attempt. Without an ``idempotency_key`` one is
        made for this call and reused on every retry.
        """
        stream: IO[bytes] = io.BytesIO(file) if isinstance(file, bytes | bytearray) else file
        fields = {"kind": kind, "model": model, "client_request_id": client_request_id}
        key = idempotency_key or str(uuid.uuid4())
        body = self._request(
            "POST",
            "/files",
            data={name: value for name, value in fields.items() if value is not None},
            files={"file": (filename, stream, mime_type or "application/octet-stream")},
            headers={"Idempotency-Key": key},
            rewind=stream,
        )
        return File.from_json(body)

    def get_file(self, file_id: str) -> File:
        """``GET /files/{id}``: the metadata of a file this account uploaded."""
        return File.from_json(self._request("GET", f"/files/{_segment(file_id)}"))

    def create_generation(
        self,
        *,
        model: str,
        prompt: str,
        params: dict[str, object],
        idempotency_key: str,
        client_request_id: str | None = None,
    ) -> Generation:
        """``POST /generations``: submit a generation; it starts ``queued``.

        ``idempotency_key`` is the caller's stored key for this logical submission. It is
        sent unchanged on every attempt, so retrying after a timeout cannot create (or
        charge for) a second task.
        """
        if not idempotency_key:
            raise ValueError("create_generation needs the stored idempotency key.")
        payload: dict[str, object] = {"model": model, "prompt": prompt, "params": params}
        if client_request_id is not None:
            payload["client_request_id"] = client_request_id
        body = self._request(
            "POST", "/generations", json=payload, headers={"Idempotency-Key": idempotency_key}
        )
        return Generation.from_json(body)

    def get_generation(self, task_id: str) -> Generation:
        """``GET /generations/{id}``: the current state of a generation."""
        return Generation.from_json(self._request("GET", f"/generations/{_segment(task_id)}"))

    def get_credits(self) -> Credits:
        """``GET /credits``: the balance of the account that owns the key."""
        return Credits.from_json(self._request("GET", "/credits"))

    # --- Transport --------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        authenticated: bool = True,
        rewind: IO[bytes] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send one logical request with retries; return the decoded JSON body."""
        auth = self._auth if authenticated else None
        for attempt in range(1, self.max_retries + 2):
            if rewind is not None:
                rewind.seek(0)
            last = attempt > self.max_retries
            try:
                response = self._send(method, path, auth=auth, **kwargs)
            except RETRIED_TRANSPORT_ERRORS as exc:
                if last:
                    raise self._connection_error(method, path, attempt, exc) from exc
                self._wait(method, path, attempt, type(exc).__name__, None)
                continue
            except httpx.TransportError as exc:
                raise self._connection_error(method, path, attempt, exc) from exc

            if response.is_success:
                logger.debug(
                    "rivya %s %s -> %s (attempt %d)", method, path, response.status_code, attempt
                )
                return _decode(response)

            error = self._redacted(error_from_response(response))
            if error.retryable and not last:
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                self._wait(method, path, attempt, str(error), retry_after)
                continue
            logger.warning(
                "rivya %s %s -> %s %s request_id=%s (attempt %d, giving up)",
                method,
                path,
                error.status,
                error.code,
                error.request_id,
                attempt,
            )
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, method: str, path: str, *, auth: Any, **kwargs: Any) -> httpx.Response:
        """One attempt; the body is read up to :data:`MAX_BODY_BYTES`, never further.

        An oversized success body raises :class:`MalformedResponse`; an oversized error body
        (a proxy's error page, say) is dropped, so the status alone decides what it means.
        """
        request = self._http.build_request(method, path, **kwargs)
        response = self._http.send(request, auth=auth, stream=True)
        try:
            body: bytes | None = _read_capped(response)
        finally:
            response.close()
        if body is None:
            logger.warning(
                "rivya %s %s -> %s with a body over %d bytes; body dropped",
                method,
                path,
                response.status_code,
                MAX_BODY_BYTES,
            )
            if response.is_success:
                raise MalformedResponse(
                    f"Rivya answered {response.status_code} with a body over "
                    f"{MAX_BODY_BYTES} bytes.",
                    status=response.status_code,
                )
            body = b""
        # A complete response holding the decoded body, as a non-streaming request gives.
        headers = response.headers.copy()
        for name in ("content-encoding", "content-length", "transfer-encoding"):
            headers.pop(name, None)
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)

    def _wait(
        self, method: str, path: str, attempt: int, reason: str, retry_after: float | None
    ) -> None:
        if retry_after is not None:
            delay = min(retry_after, RETRY_AFTER_CAP)
        else:
            delay = self._random() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        logger.warning(
            "rivya %s %s failed (attempt %d): %s; retrying in %.2fs",
            method,
            path,
            attempt,
            reason,
            delay,
        )
        self._sleep(delay)

    def _connection_error(
        self, method: str, path: str, attempt: int, exc: httpx.TransportError
    ) -> RivyaConnectionError:
        logger.warning(
            "rivya %s %s failed (attempt %d, giving up): %s",
            method,
            path,
            attempt,
            type(exc).__name__,
        )
        return RivyaConnectionError(
            f"{method} {path} failed after {attempt} attempt(s): {type(exc).__name__}"
        )

    def _redacted(self, error: RivyaAPIError) -> RivyaAPIError:
        """Make sure a server message that echoes the key never carries it further."""
        if self._api_key in error.message:
            error.message = error.message.replace(self._api_key, "[redacted]")
            error.args = (error.message,)
        return error


def _segment(value: str) -> str:
    """One URL path segment, so an id can never reach another route."""
    if not value:
        raise ValueError("An id is required.")
    return quote(value, safe="")


def _read_capped(response: httpx.Response) -> bytes | None:
    """The decoded body of a streamed response, or None once it passes the cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    for chunk in response.iter_bytes():  # decoded, so a gzip bomb is capped too
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _decode(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedResponse(
            f"Rivya answered {response.status_code} with a body that is not JSON.",
            status=response.status_code,
        ) from exc


def client_from_settings(*, max_retries: int = MAX_RETRIES) -> Client:
    """The one way the app makes a :class:`Client`: ``settings.RIVYA_API_BASE`` with
    ``settings.RIVYA_API_KEY`` and ``settings.RIVYA_READ_TIMEOUT``.

    Background steps pass ``max_retries=0``: they retry by enqueueing again, so a rate
    limit never holds a worker asleep.
    """
    from django.conf import settings

    read = float(getattr(settings, "RIVYA_READ_TIMEOUT", READ_TIMEOUT))
    timeout = httpx.Timeout(
        connect=CONNECT_TIMEOUT, read=read, write=WRITE_TIMEOUT, pool=POOL_TIMEOUT
    )
    return Client(
        settings.RIVYA_API_KEY,
        settings.RIVYA_API_BASE,
        timeout=timeout,
        max_retries=max_retries,
        key_on_public_routes=settings.RIVYA_SANDBOX,
    )
