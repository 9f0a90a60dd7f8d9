import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import call_command

from sandbox.models import WebhookDelivery
from tests.sandbox.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A local HTTP server that records webhook posts and answers with ``status``."""

    def __init__(self):
        self.requests = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    receiver = Receiver()
    settings.SANDBOX_WEBHOOK_ALLOWED_URL_PREFIXES = [receiver.url]
    yield receiver
    receiver.close()


def drain():
    call_command("db_worker", batch=True, queue_name="sandbox", interval=0, startup_delay=False)


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


def test_management_routes(api):
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
    secret = create_endpoint(api, receiver.url).json()["signing_secret"]
    task = api.post("/generations", json={"model": "z-image", "prompt": "a boat"}).json()
    assert wait_for(api, task["id"])["status"] == "succeeded"
    drain()
    [(headers, body)] = receiver.requests
    assert headers["User-Agent"] == "Rivya-Webhooks/1.0"
    assert headers["Content-Type"] == "application/json"
    assert verify(secret, headers, body)
    assert not verify(secret + "x", headers, body)
    event = json.loads(body)
    assert event["id"].startswith("evt_")
    assert event["type"] == "generation.succeeded"
    assert event["api_version"] == "2026-05-11"
    assert event["data"] == api.get(f"/generations/{task['id']}").json()
    events = api.get("/webhook-events").json()["data"]
    assert [e["id"] for e in events] == [event["id"]]


def test_failed_delivery_is_retried_and_recorded(api, receiver):
    receiver.status = 500
    endpoint = create_endpoint(api, receiver.url).json()
    api.post(f"/webhooks/{endpoint['id']}/test", json={"event_type": "generation.failed"})
    drain()
    assert len(receiver.requests) == 5  # every attempt, back-off scaled to zero
    deliveries = api.get(f"/webhooks/{endpoint['id']}/deliveries").json()["data"]
    assert sorted(d["attempt"] for d in deliveries) == [1, 2, 3, 4, 5]
    assert {d["status"] for d in deliveries} == {"failed"}
    assert deliveries[0]["response_status"] == 500
    fetched = api.get(f"/webhooks/{endpoint['id']}").json()
    assert fetched["failure_count"] == 5 and fetched["last_failure_at"]
    assert json.loads(receiver.requests[0][1])["data"]["id"].startswith("task_test_")


def test_settings_webhook_for_the_builtin_account(api, receiver, settings):
    settings.SANDBOX_WEBHOOK_URL = receiver.url
    settings.SANDBOX_WEBHOOK_SECRET = "whsec_from_settings"
    task = api.post("/generations", json={"model": "z-image", "prompt": "x"}).json()
    wait_for(api, task["id"])
    drain()
    [(headers, body)] = receiver.requests
    assert verify("whsec_from_settings", headers, body)
    assert api.get("/webhooks").json()["data"] == []
    assert WebhookDelivery.objects.get().status == "succeeded"
