import hashlib
import hmac
import json
from urllib.parse import urlsplit

import httpx
import pytest

from sandbox.models import WebhookDelivery
from tests.fixtures import drain, set_knobs
from tests.http_server import FakeServer
from tests.sandbox.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

HOOK = "/hook"
OK = (200, {}, b"")


@pytest.fixture
def receiver(settings):
    """Records webhook posts to ``/hook`` and answers 200 (a test may script another answer)."""
    with FakeServer() as server:
        settings.SANDBOX_WEBHOOK_ALLOWED_URL_PREFIXES = [server.on(HOOK, OK)]
        yield server


def without_link_expiry(generation):
    """The generation object with its result URLs cut at the query (they are made afresh,
    with a new expiry, each time they are answered)."""
    result = generation["result"]
    if result is None:
        return generation
    cut = [url.partition("?")[0] for url in result["urls"]]
    return {
        **generation,
        "result": {"primary_url": result["primary_url"].partition("?")[0], "urls": cut},
    }


def verify(secret, headers, body):
    parts = dict(item.split("=", 1) for item in headers["Rivya-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def create_endpoint(api, url, **extra):
    body = {
        "name": "test",
        "url": url,
        "event_types": ["generation.succeeded", "generation.failed"],
    }
    return api.post("/webhooks", json={**body, **extra})


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://user:pw@example.com/hook",
        "https://example.com/hook#frag",
        "https://localhost/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.1/hook",
    ],
)
def test_url_rules(api, url):
    response = create_endpoint(api, url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_rejected"


def test_management_routes(api, resolver):
    resolver["hooks.example.com"] = ["93.184.216.34"]
    created = create_endpoint(api, "https://hooks.example.com/rivya").json()
    assert created["id"].startswith("whend_")
    assert created["signing_secret"].startswith("whsec_")
    assert created["status"] == "active"
    endpoint_id = created["id"]
    fetched = api.get(f"/webhooks/{endpoint_id}").json()
    assert "signing_secret" not in fetched
    assert fetched["secret_preview"] == created["secret_preview"]
    listed = api.get("/webhooks").json()
    assert listed["object"] == "list" and [e["id"] for e in listed["data"]] == [endpoint_id]
    disabled = api.patch(f"/webhooks/{endpoint_id}", json={"status": "disabled"}).json()
    assert disabled["status"] == "disabled" and disabled["disabled_at"]
    active = api.patch(f"/webhooks/{endpoint_id}", json={"status": "active"}).json()
    assert active["disabled_at"] is None
    rotated = api.post(f"/webhooks/{endpoint_id}/rotate-secret").json()
    assert rotated["signing_secret"] != created["signing_secret"]
    bad = api.patch(f"/webhooks/{endpoint_id}", json={"event_types": ["chat.done"]})
    assert bad.json()["error"]["code"] == "validation_failed"
    revoked = api.delete(f"/webhooks/{endpoint_id}").json()
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    assert api.get(f"/webhooks/{endpoint_id}").status_code == 200


def test_signed_delivery_on_success(api, receiver):
    secret = create_endpoint(api, receiver.url + HOOK).json()["signing_secret"]
    task = api.post("/generations", json={"model": "z-image", "prompt": "a boat"}).json()
    assert wait_for(api, task["id"])["status"] == "succeeded"
    drain()
    [seen] = receiver.requests
    headers, body = seen.headers, seen.body
    assert seen.method == "POST" and seen.path == HOOK
    assert headers["User-Agent"] == "Rivya-Webhooks/1.0"
    assert headers["Content-Type"] == "application/json"
    assert verify(secret, headers, body)
    assert not verify(secret + "x", headers, body)
    event = json.loads(body)
    assert event["id"].startswith("evt_")
    assert event["type"] == "generation.succeeded"
    assert event["api_version"] == "2026-05-11"
    assert without_link_expiry(event["data"]) == without_link_expiry(
        api.get(f"/generations/{task['id']}").json()
    )
    events = api.get("/webhook-events").json()["data"]
    assert [e["id"] for e in events] == [event["id"]]


def test_failed_delivery_is_retried_and_recorded(api, receiver):
    receiver.on(HOOK, (500, {}, b""))
    endpoint = create_endpoint(api, receiver.url + HOOK).json()
    api.post(f"/webhooks/{endpoint['id']}/test", json={"event_type": "generation.failed"})
    drain()
    assert len(receiver.requests) == 5  # every attempt, back-off scaled to zero
    deliveries = api.get(f"/webhooks/{endpoint['id']}/deliveries").json()["data"]
    assert sorted(d["attempt"] for d in deliveries) == [1, 2, 3, 4, 5]
    assert {d["status"] for d in deliveries} == {"failed"}
    assert deliveries[0]["response_status"] == 500
    fetched = api.get(f"/webhooks/{endpoint['id']}").json()
    assert fetched["failure_count"] == 5 and fetched["last_failure_at"]
    assert json.loads(receiver.requests[0].body)["data"]["id"].startswith("task_test_")


def test_settings_webhook_for_the_builtin_account(api, receiver, settings):
    settings.SANDBOX_WEBHOOK_URL = receiver.url + HOOK
    settings.SANDBOX_WEBHOOK_SECRET = "whsec_from_settings"
    task = api.post("/generations", json={"model": "z-image", "prompt": "x"}).json()
    wait_for(api, task["id"])
    drain()
    [seen] = receiver.requests
    assert verify("whsec_from_settings", seen.headers, seen.body)
    assert api.get("/webhooks").json()["data"] == []
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_webhook_result_urls_are_made_at_delivery(api, receiver, live_server):
    """Payload URLs follow the media host knob and carry a fresh signature that works."""
    create_endpoint(api, receiver.url + HOOK)
    task = api.post("/generations", json={"model": "z-image", "prompt": "a kite"}).json()
    assert wait_for(api, task["id"])["status"] == "succeeded"
    set_knobs(media_host="cdn.example")
    drain()
    [seen] = receiver.requests
    result = json.loads(seen.body)["data"]["result"]
    url = urlsplit(result["primary_url"])
    assert result["urls"] == [result["primary_url"]]
    assert (url.scheme, url.netloc) == ("http", "cdn.example")
    assert url.path == f"/sandbox/media/{task['id']}.png"
    # The same link on the host the task was created through serves the image.
    served = httpx.get(f"{live_server.url}{url.path}?{url.query}")
    assert served.status_code == 200
    assert served.content.startswith(b"\x89PNG")
    listed = api.get("/webhook-events").json()["data"][0]["data"]["result"]["primary_url"]
    assert urlsplit(listed).netloc == "cdn.example"
