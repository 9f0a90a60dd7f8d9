"""Production settings: HTTPS by default on public hosts, plain http locally, and error
pages that keep the passwords inside URLs to themselves."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.views.debug import get_default_exception_reporter_filter, technical_500_response

from rivyaweb.errors import mask_url_passwords

BASE_DIR = Path(__file__).resolve().parent.parent
YEAR = 365 * 24 * 3600
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "studio.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://studio.example.com",
    "DEBUG": "false",
    "PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "RIVYA_API_KEY": "rvya_sk_" + "a" * 40,
    "EMAIL_HOST": "smtp.example.com",
}
SHOWN = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
]


def clean_environment(tmp_path: Path, **env: str) -> dict[str, str]:
    """This shell's environment without any setting of the app, plus ``env``."""
    own = {"DJANGO_SETTINGS_MODULE", "DEBUG", "ALLOWED_HOSTS", "SECRET_KEY", "PROXY_SSL_HEADER"}
    # The test run's own relaxation (tests/conftest.py), which check --deploy rightly refuses.
    own.add("DJANGO_ALLOW_ASYNC_UNSAFE")
    kept = {
        name: value
        for name, value in os.environ.items()
        if name not in own
        and not name.startswith(("SECURE_", "RIVYA_", "SANDBOX_", "AWS_"))
        and not name.endswith("_FILE")
    }
    return {
        **kept,
        "DJANGO_SETTINGS_MODULE": "rivyaweb.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        **env,
    }


def run(tmp_path: Path, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=clean_environment(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_of(tmp_path: Path, **env: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {SHOWN!r}}}))"
    )
    result = run(tmp_path, ["-c", code], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run(
        tmp_path, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_asks_for_a_mail_server(tmp_path):
    # Without one, password-reset links would only be printed on the server's console.
    production = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_HOST"}
    result = run(tmp_path, ["manage.py", "check", "--deploy"], **production)
    assert result.returncode != 0
    assert "mail.E001" in result.stdout + result.stderr


def test_production_is_https_only_by_default(tmp_path):
    assert settings_of(tmp_path, **PRODUCTION) == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": YEAR,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_a_local_run_with_nothing_configured_stays_on_plain_http(tmp_path):
    assert settings_of(tmp_path) == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_production_choices_can_be_overridden(tmp_path):
    shown = settings_of(
        tmp_path,
        **PRODUCTION,
        SECURE_COOKIES="false",
        SECURE_HSTS_SECONDS="600",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        SECURE_HSTS_PRELOAD="true",
        SECURE_SSL_REDIRECT="false",
    )
    assert shown["SESSION_COOKIE_SECURE"] is shown["CSRF_COOKIE_SECURE"] is False
    assert shown["SECURE_HSTS_SECONDS"] == 600
    assert shown["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is shown["SECURE_HSTS_PRELOAD"] is True
    assert shown["SECURE_SSL_REDIRECT"] is False


def test_without_a_proxy_header_nothing_is_redirected(tmp_path):
    # Every request would look like plain http: a redirect to https would never end.
    production = {k: v for k, v in PRODUCTION.items() if k != "PROXY_SSL_HEADER"}
    shown = settings_of(tmp_path, **production)
    assert shown["SECURE_SSL_REDIRECT"] is False
    assert shown["SECURE_PROXY_SSL_HEADER"] is None


@pytest.mark.parametrize("header", ["X-Forwarded-Proto: https", "X_Forwarded Proto", "Ünï"])
def test_a_proxy_header_that_is_not_a_header_name_refuses_to_start(tmp_path, header):
    result = run(tmp_path, ["-c", "import django; django.setup()"], PROXY_SSL_HEADER=header)
    assert result.returncode != 0
    assert "PROXY_SSL_HEADER must be a header name" in result.stderr
    assert header not in result.stderr


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgres://app:s3cr%40t@db:5432/rivya", "postgres://app:********@db:5432/rivya"),
        ("redis://:hunter2@cache:6379/0", "redis://:********@cache:6379/0"),
        ("postgres://app@db/rivya", "postgres://app@db/rivya"),
        ("sqlite:///var/db.sqlite3", "sqlite:///var/db.sqlite3"),
        (
            "see https://u:p@x.example/a and ftp://v:q@y/",
            "see https://u:********@x.example/a and ftp://v:********@y/",
        ),
    ],
)
def test_url_passwords_are_masked_and_the_rest_kept(url, shown):
    assert mask_url_passwords(url) == shown


# Module constants, not locals: the debug page also shows each frame's local variables.
PASSWORDS = ["db-pass-1234", "redis-pass-5678"]


@pytest.fixture
def credentials_in_urls(settings):
    settings.DATABASE_URL = f"postgres://app:{PASSWORDS[0]}@db.internal:5432/rivya"
    settings.REDIS_URL = f"redis://:{PASSWORDS[1]}@cache.internal:6379/0"
    settings.CACHES = {
        **settings.CACHES,
        "shared": {"BACKEND": "x", "LOCATION": settings.REDIS_URL},
    }


@pytest.mark.usefixtures("credentials_in_urls")
def test_error_reports_hide_passwords_in_url_settings():
    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert safe["DATABASE_URL"].startswith("postgres://app:*")
    assert safe["DATABASE_URL"].endswith("@db.internal:5432/rivya")
    assert safe["CACHES"]["shared"]["LOCATION"].endswith("@cache.internal:6379/0")
    for password in PASSWORDS:
        assert password not in json.dumps(safe, default=str)


@pytest.mark.usefixtures("credentials_in_urls")
def test_the_debug_error_page_shows_no_password_of_a_url(settings):
    settings.DEBUG = True
    # The development server copies the process environment into each request.
    request = RequestFactory().get("/", DATABASE_URL=settings.DATABASE_URL)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        page = technical_500_response(request, *sys.exc_info()).content.decode()
    assert "db.internal:5432/rivya" in page
    for password in PASSWORDS:
        assert password not in page
