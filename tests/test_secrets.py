"""Secrets never reach a page, a header, a log line, an error's text or a commit."""

import logging
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from django.test import Client

from generations import rivya
from generations.models import Status
from tests.fixtures import image_bytes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root"),
]

# Built from parts, so no tracked file holds anything shaped like a real key.
API_KEY = "rvya_sk_" + "FAKEapikey0000SECRETa1b2c3"
WEBHOOK_SECRET = "whsec_FAKEwebhook0000SECRETd4e5f6"
AWS_SECRET = "awsFAKEsecret0000SECRETg7h8i9"
SECRET_KEY = "django-FAKE-secret-key-0000-SECRET-j0k1l2m3n4o5"
SECRETS = [API_KEY, WEBHOOK_SECRET, AWS_SECRET, SECRET_KEY]


@pytest.fixture
def secrets(settings):
    settings.RIVYA_API_KEY = API_KEY
    settings.RIVYA_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.AWS_SECRET_ACCESS_KEY = AWS_SECRET
    settings.SECRET_KEY = SECRET_KEY
    settings.RIVYA_SANDBOX = False


def leak_free(response) -> None:
    body = b"".join(response) if response.streaming else response.content
    text = body.decode("utf-8", "replace") + "\n".join(f"{k}: {v}" for k, v in response.items())
    for secret in SECRETS:
        assert secret not in text, f"{secret[:10]}… leaked by {response.request['PATH_INFO']}"


def test_no_page_shows_a_secret(secrets, owner, owner_client, add_generation, django_user_model):
    ready = add_generation(
        status=Status.READY, video=b"\0\0\0\x18ftypmp42", poster=image_bytes("JPEG")
    )
    failed = add_generation(status=Status.FAILED, error_message="x")
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    staff = Client()
    staff.force_login(admin)
    anonymous = Client(raise_request_exception=False)
    pages = [
        (owner_client, "get", "/"),
        (owner_client, "get", f"/generations/{ready.pk}/"),
        (owner_client, "get", f"/generations/{failed.pk}/"),
        (owner_client, "get", f"/cards/updates?since=0&ids={ready.pk},{failed.pk}"),
        (owner_client, "get", "/accounts/password/"),
        (owner_client, "get", "/generations/nope/"),
        (owner_client, "put", "/"),
        (owner_client, "post", "/rivya/webhook"),
        (anonymous, "get", "/accounts/login/"),
        (anonymous, "get", "/healthz"),
        (anonymous, "get", "/no-such-page"),
        (Client(enforce_csrf_checks=True), "post", "/accounts/login/"),
        (staff, "get", "/sandbox/control/"),
        (staff, "get", "/admin/"),
        (staff, "get", "/admin/generations/generation/"),
        (staff, "get", f"/admin/generations/generation/{ready.pk}/change/"),
        (staff, "get", "/admin/generations/team/"),
        (staff, "get", "/admin/credits/creditentry/"),
        (staff, "get", "/admin/auth/user/"),
    ]
    for client, method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code < 500, (url, response.status_code)
        leak_free(response)
    # A bad Host header is a 400 page.
    leak_free(anonymous.get("/", HTTP_HOST="evil.example"))


def test_the_client_never_logs_or_prints_the_key(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "generations", ""):
        logging.getLogger(name).setLevel(logging.DEBUG)

    def echo(request: httpx.Request) -> httpx.Response:
        # An erroring server that echoes what it was sent, the key included.
        auth = request.headers.get("authorization", "")
        if request.url.path.endswith("/credits"):
            return httpx.Response(500, json={"error": {"code": "boom", "message": auth}})
        if request.url.path.endswith("/generations/x"):
            raise httpx.ConnectError(f"refused {auth}")
        return httpx.Response(401, json={"error": {"code": "api_key_invalid", "message": auth}})

    client = rivya.Client(
        API_KEY,
        "https://rivya.example/api/v1",
        transport=httpx.MockTransport(echo),
        max_retries=2,
        sleep=lambda s: None,
    )
    errors: list[Exception] = []
    for call in (client.get_credits, lambda: client.get_generation("x"), client.list_models):
        with pytest.raises(rivya.RivyaError) as info:
            call()
        errors.append(info.value)
    with pytest.raises(rivya.RivyaError) as info:
        client.create_generation(model="m", prompt="p", params={}, idempotency_key="k")
    errors.append(info.value)
    texts = [repr(client), str(client), repr(client._auth), caplog.text]
    for error in errors:
        texts += [str(error), repr(error), str(error.args), getattr(error, "message", "")]
    for text in texts:
        assert API_KEY not in text, text
        assert API_KEY[8:] not in text, text


def test_no_real_key_is_committed():
    root = Path(__file__).resolve().parent.parent
    found = subprocess.run(
        ["git", "grep", "-nIE", r"rvya_sk_[A-Za-z0-9]{16,}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode in {0, 1}, found.stderr
    assert found.stdout == "", found.stdout
    assert "FAKE" in API_KEY and re.fullmatch(r"rvya_sk_[A-Za-z0-9]+", API_KEY)
