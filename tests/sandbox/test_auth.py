from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from sandbox.models import SandboxConfig

pytestmark = pytest.mark.django_db(transaction=True)


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error["requestId"].startswith("req_") and len(error["requestId"]) == 28


def test_missing_header_is_api_key_missing(base_url):
    assert_error(httpx.get(f"{base_url}/credits"), 401, "api_key_missing")


def test_non_bearer_header_is_api_key_missing(base_url):
    response = httpx.get(f"{base_url}/credits", headers={"Authorization": "Basic abc"})
    assert_error(response, 401, "api_key_missing")


@pytest.mark.parametrize("token", ["sk_live_nothing", "rvya_sk_unknown"])
def test_bad_token_is_api_key_invalid(base_url, token):
    response = httpx.get(f"{base_url}/credits", headers={"Authorization": f"Bearer {token}"})
    assert_error(response, 401, "api_key_invalid")


def test_revoked_key(make_client):
    assert_error(make_client(status="revoked").get("/credits"), 401, "api_key_revoked")


def test_expired_key(make_client):
    client = make_client(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(client.get("/credits"), 401, "api_key_expired")
    assert_error(make_client(status="expired").get("/credits"), 401, "api_key_expired")


def test_missing_scope_is_denied(make_client):
    client = make_client(scopes=["generations:read"])
    assert_error(client.get("/credits"), 403, "api_scope_denied")
    assert_error(client.post("/files", files={"file": ("a", b"x")}), 403, "api_scope_denied")


def test_kill_switch_pauses_authenticated_routes_only(api):
    SandboxConfig.objects.update_or_create(
        pk=1, defaults={**SandboxConfig.defaults(), "public_api_disabled": True}
    )
    assert_error(api.get("/credits"), 503, "public_api_disabled")
    assert api.get("/models").status_code == 200


def test_public_routes_answer_any_valid_key_whatever_its_scopes(base_url, make_client):
    client = make_client(scopes=["generations:read"])
    models = client.get(f"{base_url}/models")
    assert models.status_code == 200
    assert "kling-2-6" in [m["id"] for m in models.json()["data"]]
    spec = client.get(f"{base_url}/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert "/generations" in spec["paths"]


@pytest.mark.parametrize("path", ["/models", "/openapi.json"])
def test_public_routes_refuse_callers_without_a_key(base_url, path):
    assert_error(httpx.get(f"{base_url}{path}"), 401, "api_key_missing")
    wrong = httpx.get(f"{base_url}{path}", headers={"Authorization": "Bearer rvya_sk_wrong"})
    assert_error(wrong, 401, "api_key_invalid")


def test_builtin_account_starts_with_default_balance(api, settings):
    assert api.get("/credits").json() == {"current_credits": 10_000}


def test_unknown_routes_and_methods_use_the_envelope(api, base_url):
    assert_error(api.get("/nothing/here"), 404, "not_found")
    assert_error(httpx.get(f"{base_url}/"), 404, "not_found")
    assert_error(api.delete("/credits"), 404, "not_found")
    assert_error(api.put("/generations"), 404, "not_found")
    assert_error(api.get("/credits/"), 404, "not_found")
