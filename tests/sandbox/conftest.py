import time

import httpx
import pytest

from rivyaweb import addresses
from sandbox.models import Account, ApiKey
from tests.fixtures import SANDBOX_KEY as BUILTIN_KEY
from tests.fixtures import image_bytes


@pytest.fixture(autouse=True)
def sandbox_settings(settings, tmp_path):
    settings.RIVYA_SANDBOX = True
    settings.RIVYA_API_KEY = BUILTIN_KEY
    settings.SANDBOX_DATA_DIR = tmp_path / "sandbox"
    settings.SANDBOX_QUEUED_SECONDS = 0.2
    settings.SANDBOX_PROCESSING_SECONDS = 0.2
    settings.SANDBOX_WEBHOOK_BACKOFF_SCALE = 0.0
    return settings


@pytest.fixture
def resolver(monkeypatch):
    """Host names answered from the returned table (a test fills it, and may change it);
    any other name fails to resolve, so no test asks a real DNS server."""
    table: dict[str, list[str]] = {}

    def resolve(host, port):
        if host not in table:
            raise OSError(f"{host} does not resolve here")
        return table[host]

    monkeypatch.setattr(addresses, "resolve", resolve)
    return table


@pytest.fixture
def base_url(live_server):
    return f"{live_server.url}/sandbox/api/v1"


@pytest.fixture
def api(base_url):
    """A client for the built-in account."""
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {BUILTIN_KEY}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def make_client(base_url):
    """Make an account with its own key; returns an httpx client for it."""
    clients = []

    def make(*, balance=1000, scopes=None, status="active", expires_at=None):
        account = Account.objects.create(name="other", balance=balance)
        key, raw = ApiKey.issue(account, scopes=scopes)
        key.status, key.expires_at = status, expires_at
        key.save(update_fields=["status", "expires_at"])
        client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {raw}"}, timeout=30
        )
        client.account = account
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def upload_png(client, **extra):
    return client.post(
        "/files",
        files={"file": ("ref.png", image_bytes(), "image/png")},
        data={"kind": "image", "model": "kling-2-6", **extra},
    )


def wait_for(client, task_id, statuses=("succeeded", "failed"), timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/generations/{task_id}").json()
        if body["status"] in statuses or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def until(condition, timeout=30):
    """Wait until ``condition()`` is true (something another thread or process does)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s")
        time.sleep(0.02)
