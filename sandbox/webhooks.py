"""Webhook events, signatures, URL rules and deliveries (contract §6, §8 items 33–37).

Signature: ``Rivya-Signature: t=<unix seconds>,v1=<hex>`` where
``v1 = HMAC-SHA256(key=signing secret as UTF-8, msg=f"{t}." + raw body)``.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rivyaweb import addresses
from sandbox import conf, links
from sandbox.models import (
    Account,
    Generation,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    iso,
    new_id,
)

logger = logging.getLogger(__name__)

EVENT_TYPES = ("generation.succeeded", "generation.failed")
USER_AGENT = "Rivya-Webhooks/1.0"
MAX_ATTEMPTS = 5


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Rivya-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def url_rejection(url: str) -> str | None:
    """Why ``url`` may not receive webhooks (§6.2), or None when it may.

    The host must be public however it is spelt: an address in any notation (``127.1``,
    ``2130706433``, ``0x7f000001``, ``[::ffff:127.0.0.1]``) and every address a name
    resolves to are checked with :mod:`rivyaweb.addresses`, so nobody can aim deliveries
    (whose outcomes are reported back) at this machine or its network. Exempt: this
    server's own receiver (``SANDBOX_WEBHOOK_URL``) and ``SANDBOX_WEBHOOK_ALLOWED_URL_PREFIXES``.
    """
    return _check(url)[0]


def _check(url: str) -> tuple[str | None, list[str]]:
    """``url_rejection``'s answer, and the checked addresses of a host name (none for an
    address literal or an exempt URL: those are connected to as they are)."""
    own = conf.get("SANDBOX_WEBHOOK_URL")
    if (own and url == own) or any(
        url.startswith(prefix) for prefix in conf.get("SANDBOX_WEBHOOK_ALLOWED_URL_PREFIXES")
    ):
        return None, []
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or 443
    except ValueError:
        return "The webhook URL is not a valid URL.", []
    if parts.scheme != "https":
        return "The webhook URL must use HTTPS.", []
    if not host:
        return "The webhook URL has no host.", []
    if parts.username is not None or parts.password is not None:
        return "The webhook URL must not contain credentials.", []
    if parts.fragment or "#" in url:
        return "The webhook URL must not contain a fragment.", []
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "The webhook URL must not point at a local host name.", []
    return _host_check(host, port)


NOT_PUBLIC = "The webhook URL must not point at a private, loopback or reserved address."


def _host_check(host: str, port: int) -> tuple[str | None, list[str]]:
    if "%" in host:
        return NOT_PUBLIC, []  # a zone-scoped address, or an encoded name
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (None if addresses.is_public(host) else NOT_PUBLIC), []
    if addresses.NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
        return NOT_PUBLIC, []  # an address spelt as a name, which resolvers read as a number
    try:
        found = addresses.resolve(host, port)
    except (OSError, UnicodeError):
        found = []
    if not found:
        return "The webhook URL's host does not resolve.", []
    if not all(addresses.is_public(address) for address in found):
        return NOT_PUBLIC, []
    return None, list(found)


def settings_endpoint(account: Account) -> WebhookEndpoint | None:
    """The endpoint from ``SANDBOX_WEBHOOK_URL`` for the built-in account, kept in sync."""
    url = conf.get("SANDBOX_WEBHOOK_URL")
    if not account.is_builtin or not url:
        return None
    secret = conf.get("SANDBOX_WEBHOOK_SECRET") or ""
    endpoint = WebhookEndpoint.objects.filter(account=account, from_settings=True).first()
    if endpoint is None:
        endpoint = WebhookEndpoint.objects.create(
            id=new_id("whend"),
            account=account,
            name="SANDBOX_WEBHOOK_URL",
            url=url,
            event_types=list(EVENT_TYPES),
            signing_secret=secret,
            from_settings=True,
        )
    elif endpoint.url != url or endpoint.signing_secret != secret:
        endpoint.url, endpoint.signing_secret = url, secret
        endpoint.save(update_fields=["url", "signing_secret"])
    return endpoint


def emit(generation: Generation) -> WebhookEvent | None:
    """Record the terminal event of ``generation`` and queue one delivery per endpoint."""
    event_type = f"generation.{generation.status}"
    if event_type not in EVENT_TYPES:
        return None
    settings_endpoint(generation.account)
    event = WebhookEvent.objects.create(
        id=new_id("evt"),
        account=generation.account,
        type=event_type,
        data=links.public(generation, None),
    )
    endpoints = WebhookEndpoint.objects.filter(
        account=generation.account, status=WebhookEndpoint.Status.ACTIVE
    )
    for endpoint in endpoints:
        if event_type in endpoint.event_types:
            queue_delivery(endpoint, event, attempt=1)
    return event


def queue_delivery(
    endpoint: WebhookEndpoint, event: WebhookEvent, *, attempt: int
) -> WebhookDelivery:
    from sandbox import tasks

    delivery = WebhookDelivery.objects.create(
        id=new_id("whdel"), endpoint=endpoint, event=event, attempt=attempt
    )
    schedule = conf.get("SANDBOX_WEBHOOK_BACKOFF_SECONDS")
    delay = schedule[min(attempt, len(schedule)) - 1] * conf.get("SANDBOX_WEBHOOK_BACKOFF_SCALE")
    run_after = timezone.now() + timedelta(seconds=delay)
    transaction.on_commit(
        lambda: tasks.deliver_webhook.using(run_after=run_after).enqueue(delivery.pk)
    )
    return delivery


def deliver(delivery_id: str) -> WebhookDelivery:
    """Make one delivery attempt (safe to run twice: only a pending delivery is sent)."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return delivery
    endpoint = delivery.endpoint
    # Result URLs expire: each attempt carries freshly made ones.
    body = json.dumps(links.public_event(delivery.event, None), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Rivya-Signature": sign(endpoint.signing_secret, body, int(time.time())),
    }
    status_code: int | None = None
    error: str | None = None
    # Checked again at each attempt: a name that resolved to a public address when the
    # endpoint was made may point inward now. A refused URL fails without connecting.
    pinned: list[str] = []
    if not endpoint.from_settings:
        reason, pinned = _check(endpoint.url)
        if reason:
            _record(delivery, None, "webhook_url_rejected")
            return delivery
    try:
        response = _post(endpoint.url, pinned[:1], body, headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    _record(delivery, status_code, error)
    return delivery


def _post(url: str, pinned: list[str], body: bytes, headers: dict[str, str]) -> httpx.Response:
    """POST ``body`` to ``url``: to the address that was checked when one is given, never to
    a second lookup of the name (which its DNS could answer differently in between), with
    the name kept as ``Host``, TLS server name and the name the certificate must match."""
    target = httpx.URL(url)
    extensions: dict[str, str] = {}
    if pinned:
        headers = {**headers, "Host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": target.host}
        target = target.copy_with(host=pinned[0])
    # Proxies from the environment would connect on our behalf, past the pinning.
    with httpx.Client(trust_env=not pinned, follow_redirects=False) as http:
        return http.post(
            target,
            content=body,
            headers=headers,
            timeout=conf.get("SANDBOX_WEBHOOK_TIMEOUT_SECONDS"),
            extensions=extensions,
        )


def _record(delivery: WebhookDelivery, status_code: int | None, error: str | None) -> None:
    now = timezone.now()
    endpoint = delivery.endpoint
    with transaction.atomic():
        claimed = WebhookDelivery.objects.filter(
            pk=delivery.pk, status=WebhookDelivery.Status.PENDING
        ).update(
            status=WebhookDelivery.Status.FAILED if error else WebhookDelivery.Status.SUCCEEDED,
            response_status=status_code,
            error=error or "",
            completed_at=now,
        )
        if not claimed:
            return
        delivery.refresh_from_db()
        if error is None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now)
            return
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            last_failure_at=now, failure_count=F("failure_count") + 1
        )
        endpoint.refresh_from_db()
        if delivery.attempt < MAX_ATTEMPTS and endpoint.status == WebhookEndpoint.Status.ACTIVE:
            queue_delivery(endpoint, delivery.event, attempt=delivery.attempt + 1)


def test_event(endpoint: WebhookEndpoint, event_type: str) -> WebhookDelivery:
    """A synthetic event for ``POST /webhooks/{id}/test`` (task id ``task_test_…``)."""
    now = timezone.now()
    stamp = iso(now)
    data: dict[str, Any] = {
        "id": new_id("task_test"),
        "status": event_type.removeprefix("generation."),
        "model": "kling-2-6",
        "reserved_credits": 55,
        "final_credits": 55 if event_type == "generation.succeeded" else 0,
        "created_at": stamp,
        "updated_at": stamp,
        "result": None,
        "error": None,
    }
    if event_type == "generation.succeeded":
        url = "https://example.invalid/sandbox/test-event.mp4"
        data["result"] = {"primary_url": url, "urls": [url]}
    else:
        data["error"] = {"code": "generation_failed", "message": "The generation failed."}
    event = WebhookEvent.objects.create(
        id=new_id("evt"), account=endpoint.account, type=event_type, data=data
    )
    return queue_delivery(endpoint, event, attempt=1)
