"""The sandbox is safe on a network: absent with a real key, closed to strangers without one.

Everything here goes over real HTTP to ``live_server``. Names a webhook URL could use are
answered by a replaced resolver, and ``loopback_only`` fails a test that opens a socket to
anything but this machine.
"""

import hmac
import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern

from generations.catalog import refresh_catalog
from generations.models import CatalogEntry
from sandbox import links, webhooks
from sandbox.urls import urlpatterns
from tests.fixtures import SANDBOX_KEY, drain
from tests.sandbox.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent.parent
# The key docs/sandbox.md used to print, built from parts so it is nowhere in one piece.
PUBLISHED_KEY = "rvya_sk_" + "sandbox" + "_local"
REAL_KEY = "rvya_sk_" + "FAKElive0000notREAL"
METHODS = ("GET", "POST", "PATCH", "DELETE")


def sandbox_urls() -> list[str]:
    """One URL for every pattern the sandbox mounts, placeholders filled in."""
    urls = []
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern).removeprefix("^").removesuffix("$")
        route = route.replace("(?P<rest>.*)", "v1/chat/completions")
        for name in ("task_id", "file_id", "endpoint_id"):
            route = route.replace(f"<str:{name}>", "x_" + "A" * 24)
        urls.append("/sandbox/" + route.replace("<path:name>", "task_" + "A" * 24 + ".mp4"))
    return urls


def signed_media(settings) -> str:
    """A validly signed media URL of a result file that exists."""
    name = "task_" + "B" * 24 + ".mp4"
    media = Path(settings.SANDBOX_DATA_DIR) / "media"
    media.mkdir(parents=True, exist_ok=True)
    (media / name).write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 64)
    expires = 2**40
    return f"/sandbox/media/{name}?expires={expires}&sig={links.signature(name, expires)}"


@pytest.fixture
def superuser_cookies(django_user_model, password):
    root = django_user_model.objects.create_superuser("root", "root@example.com", password)
    client = Client()
    client.force_login(root)
    return {"sessionid": client.cookies["sessionid"].value}


# --- Mounted only in sandbox mode ------------------------------------------------------------


def test_with_a_real_key_every_sandbox_url_is_not_found(live_server, settings, superuser_cookies):
    media = signed_media(settings)
    assert httpx.get(live_server.url + media).status_code == 200  # sandbox mode: served
    settings.RIVYA_SANDBOX = False
    settings.RIVYA_API_KEY = REAL_KEY
    urls = [*sandbox_urls(), media, "/sandbox/api/v1/models", "/sandbox/api/v1/openapi.json"]
    assert "/sandbox/control/" in urls and "/sandbox/api/v1/webhook-events" in urls
    with httpx.Client(base_url=live_server.url, cookies=superuser_cookies) as http:
        for url in urls:
            for method in METHODS:
                for key in (REAL_KEY, SANDBOX_KEY):
                    headers = {"Authorization": f"Bearer {key}"}
                    response = http.request(method, url, headers=headers)
                    assert response.status_code == 404, (method, url, response.status_code)
                    assert "requestId" not in response.text, (method, url)


# --- Closed to whoever holds only the docs -------------------------------------------------


def test_a_client_with_only_the_docs_makes_no_call_succeed(base_url, live_server):
    with httpx.Client(base_url=live_server.url) as http:
        for url in sandbox_urls():
            if not url.startswith("/sandbox/api/"):
                continue
            for method in METHODS:
                for headers in ({}, {"Authorization": f"Bearer {PUBLISHED_KEY}"}):
                    response = http.request(method, url, headers=headers, json={})
                    assert response.status_code >= 400, (method, url, headers)
    for path in ("/credits", "/webhook-events", "/webhooks", "/models", "/openapi.json"):
        response = httpx.get(base_url + path, headers={"Authorization": f"Bearer {PUBLISHED_KEY}"})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "api_key_invalid"


def test_a_signed_in_superuser_may_browse_the_public_routes(base_url, superuser_cookies):
    with httpx.Client(cookies=superuser_cookies) as http:
        assert http.get(f"{base_url}/models").status_code == 200
        assert http.get(f"{base_url}/openapi.json").json()["openapi"].startswith("3.1")
        assert http.get(f"{base_url}/credits").status_code == 401  # a session is no key


def test_the_app_refreshes_its_catalog_from_the_sandbox_with_its_key(sandbox):
    assert refresh_catalog.call() >= 1
    assert CatalogEntry.objects.filter(model_id="kling-2-6", base_credits=55).exists()


def test_the_control_page_shows_no_result_urls(api, live_server, superuser_cookies):
    task = api.post("/generations", json={"model": "z-image", "prompt": "a lantern"}).json()
    assert wait_for(api, task["id"])["status"] == "succeeded"
    page = httpx.get(f"{live_server.url}/sandbox/control/", cookies=superuser_cookies)
    assert page.status_code == 200
    assert task["id"] in page.text
    assert "/sandbox/media/" not in page.text and "sig=" not in page.text


# --- The key, derived and printed -------------------------------------------------------------


def run_sandbox_key(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RIVYA_API_KEY")}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "sandbox_key"],
        cwd=ROOT,
        env={**clean, "DATABASE_URL": "sqlite:////tmp/sandbox-key-test.sqlite3", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_built_in_key_is_derived_from_the_secret_key_and_printed():
    secret = "FAKE-secret-key-for-the-sandbox-key-test-0123456789"
    expected = "rvya_sk_" + hmac.new(secret.encode(), b"rivyaweb-sandbox-key", "sha256").hexdigest()
    printed = run_sandbox_key(SECRET_KEY=secret)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == expected
    other = run_sandbox_key(SECRET_KEY=secret[::-1]).stdout.strip()
    assert other.startswith("rvya_sk_") and other != expected
    assert PUBLISHED_KEY not in {expected, other}


def test_the_key_command_prints_nothing_when_a_real_key_is_set():
    refused = run_sandbox_key(RIVYA_API_KEY=REAL_KEY)
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert REAL_KEY not in refused.stderr
    assert "sandbox is off" in refused.stderr


def test_the_printed_key_opens_the_sandbox(base_url):
    out = io.StringIO()
    call_command("sandbox_key", stdout=out)
    key = out.getvalue().strip()
    response = httpx.get(f"{base_url}/credits", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert response.json() == {"current_credits": 10_000}


# --- Webhook URLs -------------------------------------------------------------------------------

ADDRESS_SPELLINGS = [
    "127.0.0.1",
    "127.0.0.1.",
    "2130706433",  # decimal
    "127.1",  # short
    "0x7f000001",  # hex
    "0x7f.1",
    "0177.0.0.1",  # octal
    "017700000001",
    "0.0.0.0",  # noqa: S104 - a URL to refuse, not a bind
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "198.18.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "[::1]",
    "[::]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped
    "[::ffff:7f00:1]",
    "[::ffff:10.0.0.1]",
    "[64:ff9b::7f00:1]",  # NAT64
    "[2002:7f00:1::]",  # 6to4
    "[fe80::1]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[ff02::1]",
    "localhost",
    "hooks.localhost",
]

RESOLVED = {
    "inward.example": ["10.1.2.3"],
    "loopback.example": ["127.0.0.1"],
    "mixed.example": ["93.184.216.34", "192.168.0.9"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "metadata.example": ["169.254.169.254"],
    "scoped.example": ["fe80::1%2"],
    "public.example": ["93.184.216.34"],
}


@pytest.fixture
def resolver(resolver):
    resolver.update({name: list(found) for name, found in RESOLVED.items()})
    return resolver


def create_webhook(api, url):
    return api.post("/webhooks", json={"url": url, "event_types": ["generation.succeeded"]})


@pytest.mark.usefixtures("loopback_only")
@pytest.mark.parametrize("host", ADDRESS_SPELLINGS)
def test_webhook_urls_at_any_spelling_of_a_non_public_address_are_refused(api, resolver, host):
    response = create_webhook(api, f"https://{host}/hook")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "webhook_url_rejected"
    assert response.json()["error"]["message"]


@pytest.mark.usefixtures("loopback_only")
@pytest.mark.parametrize("name", sorted(set(RESOLVED) - {"public.example"}) + ["nowhere.example"])
def test_webhook_urls_whose_name_resolves_inward_are_refused(api, resolver, name):
    response = create_webhook(api, f"https://{name}:8443/hook")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "webhook_url_rejected"


@pytest.mark.usefixtures("loopback_only")
def test_webhook_url_changes_are_checked_too(api, resolver):
    endpoint = create_webhook(api, "https://public.example/hook").json()
    assert endpoint["url"] == "https://public.example/hook"
    moved = api.patch(f"/webhooks/{endpoint['id']}", json={"url": "https://127.1/hook"})
    assert moved.status_code == 400
    assert moved.json()["error"]["code"] == "webhook_url_rejected"


def test_public_names_and_this_servers_own_receiver_are_accepted(resolver, settings):
    assert webhooks.url_rejection("https://public.example/hook") is None
    assert webhooks.url_rejection("https://93.184.216.34/hook") is None
    own = "http://127.0.0.1:8000/rivya/webhook"
    assert webhooks.url_rejection(own) is not None
    settings.SANDBOX_WEBHOOK_URL = own
    assert webhooks.url_rejection(own) is None
    assert webhooks.url_rejection("http://127.0.0.1:8000/admin/") is not None


def test_a_delivery_to_a_name_that_now_resolves_inward_fails_without_connecting(
    api, resolver, http_calls
):
    endpoint = create_webhook(api, "https://public.example/hook").json()
    resolver["public.example"] = ["127.0.0.1"]
    assert api.post(f"/webhooks/{endpoint['id']}/test", json={}).status_code == 200
    drain()
    deliveries = api.get(f"/webhooks/{endpoint['id']}/deliveries").json()["data"]
    assert deliveries and all(d["status"] == "failed" for d in deliveries)
    assert all(d["response_status"] is None for d in deliveries)
    assert {d["error"] for d in deliveries} == {"webhook_url_rejected"}
    assert not [r for r in http_calls if r.url.host == "public.example"]


def test_a_delivery_goes_to_the_address_that_was_checked(api, resolver, monkeypatch):
    endpoint = create_webhook(api, "https://public.example/hook").json()
    assert api.post(f"/webhooks/{endpoint['id']}/test", json={}).status_code == 200
    sent: list[httpx.Request] = []

    def send(self, request, **kwargs):
        # Record what would go out; nothing here may reach another machine.
        sent.append(request)
        raise httpx.ConnectError("no network in tests", request=request)

    with monkeypatch.context() as patched:
        patched.setattr(httpx.Client, "send", send)
        drain()
    assert sent, "no delivery was attempted"
    for request in sent:
        assert request.url.host == "93.184.216.34"
        assert request.headers["Host"] == "public.example"
        assert request.extensions["sni_hostname"] == "public.example"
