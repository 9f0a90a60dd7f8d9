"""Signed webhook deliveries from Rivya.

Rivya's signature scheme is not in the visible docs; this follows the contract's choice
(§8 item 33), kept behind :func:`verify_signature` and :func:`sign` so it can be swapped
in one place::

    Rivya-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

Verify the raw body before parsing it. An event is only a hint: read the generation again
with ``GET /generations/{id}`` before acting on it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from generations.rivya.errors import InvalidEvent, InvalidSignature, MalformedResponse
from generations.rivya.types import Generation, parse_timestamp

SIGNATURE_HEADER = "Rivya-Signature"
DEFAULT_TOLERANCE = 300  # seconds a signed timestamp stays acceptable, either way


def _digest(payload: bytes, secret: str, timestamp: int) -> str:
    message = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Rivya-Signature`` header value for ``payload`` sent at ``timestamp``."""
    return f"t={timestamp},v1={_digest(payload, secret, timestamp)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamps.append(value.strip())
        elif name == "v1":
            signatures.append(value.strip().lower())
    if len(timestamps) != 1 or not signatures:
        raise InvalidSignature("The signature header is malformed.")
    try:
        return int(timestamps[0]), signatures
    except ValueError:
        raise InvalidSignature("The signature header is malformed.") from None


def verify_signature(
    payload: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check that ``payload`` was signed with ``secret`` recently; raise if not.

    Raises :class:`InvalidSignature` for a missing or malformed header, a timestamp more
    than ``tolerance`` seconds away from ``now``, or no matching ``v1`` value. Several
    ``v1`` values are allowed (a secret being rotated); one match is enough.
    """
    if not secret:
        raise ValueError("A webhook signing secret is required.")
    if not header:
        raise InvalidSignature("The signature header is missing.")
    timestamp, signatures = _parse_header(header)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("The signature timestamp is outside the tolerance.")
    expected = _digest(payload, secret, timestamp)
    # Compare against every candidate so the time taken says nothing about which matched.
    matches = [hmac.compare_digest(expected, candidate) for candidate in signatures]
    if not any(matches):
        raise InvalidSignature("No signature matches the payload.")


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One delivery: ``generation.succeeded`` or ``generation.failed`` (others are kept)."""

    id: str
    type: str
    api_version: str | None
    created_at: datetime | None
    generation: Generation | None


def _generation_data(body: dict[str, Any]) -> object:
    data = body.get("data")
    if isinstance(data, dict):
        if "id" in data or "status" in data:
            return data
        if isinstance(data.get("object"), dict):
            return data["object"]
    generation = body.get("generation")
    return generation if isinstance(generation, dict) else None


def parse_event(payload: bytes) -> WebhookEvent:
    """Read a verified delivery body; raise :class:`InvalidEvent` if it is not an event."""
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEvent("The webhook body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidEvent("The webhook body is not a JSON object.")
    event_id, event_type = body.get("id"), body.get("type")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEvent("The webhook event has no id.")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidEvent("The webhook event has no type.")
    data = _generation_data(body)
    try:
        generation = Generation.from_json(data) if data is not None else None
    except MalformedResponse as exc:
        raise InvalidEvent(f"The webhook event's generation is unreadable: {exc}") from None
    api_version = body.get("api_version")
    return WebhookEvent(
        id=event_id,
        type=event_type,
        api_version=api_version if isinstance(api_version, str) else None,
        created_at=parse_timestamp(body.get("created_at")),
        generation=generation,
    )
