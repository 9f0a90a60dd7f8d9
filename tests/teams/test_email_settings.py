"""Email settings from the environment: the console without a server, SMTP with one, the
password kept out of error reports."""

import json
import subprocess
import sys

import pytest

from rivyaweb.errors import CredentialFilter
from tests.test_deploy_settings import BASE_DIR, clean_environment

SMTP_PASSWORD = "smtp-password-7f3a9c"


def mail_settings(tmp_path, **env) -> subprocess.CompletedProcess[str]:
    # The settings module alone, without setting Django up: quicker, and all that is read.
    code = (
        "import json; from rivyaweb import settings; "
        "print(json.dumps({'MAILERS': settings.MAILERS, 'FROM': settings.DEFAULT_FROM_EMAIL, "
        "'SIGNUP': settings.ALLOW_SIGNUP}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={
            name: value
            for name, value in clean_environment(tmp_path, **env).items()
            if not (name.startswith(("EMAIL_", "ALLOW_")) and name not in env)
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def loaded(tmp_path, **env) -> dict:
    result = mail_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_server_emails_go_to_the_console_and_signup_is_open(tmp_path):
    shown = loaded(tmp_path)
    assert shown["MAILERS"] == {
        "default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    }
    assert shown["FROM"] == "Rivyaweb <noreply@localhost>"
    assert shown["SIGNUP"] is True  # sandbox mode


def test_a_real_rivya_key_closes_signup_unless_asked(tmp_path):
    key = "rvya_sk_" + "a" * 40
    assert loaded(tmp_path, RIVYA_API_KEY=key)["SIGNUP"] is False
    assert loaded(tmp_path, RIVYA_API_KEY=key, ALLOW_SIGNUP="true")["SIGNUP"] is True
    assert loaded(tmp_path, ALLOW_SIGNUP="off")["SIGNUP"] is False


def test_a_server_makes_smtp_with_starttls_by_default(tmp_path):
    shown = loaded(
        tmp_path,
        EMAIL_HOST="smtp.example.com",
        EMAIL_HOST_USER="studio",
        EMAIL_HOST_PASSWORD=SMTP_PASSWORD,
        DEFAULT_FROM_EMAIL="Studio <studio@example.com>",
    )
    assert shown["MAILERS"]["default"] == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": "smtp.example.com",
            "port": 587,
            "username": "studio",
            "password": SMTP_PASSWORD,
            "use_tls": True,
            "use_ssl": False,
            "timeout": 10,
        },
    }
    assert shown["FROM"] == "Studio <studio@example.com>"


def test_ssl_turns_starttls_off(tmp_path):
    options = loaded(tmp_path, EMAIL_HOST="smtp.example.com", EMAIL_PORT="465", EMAIL_USE_SSL="1")[
        "MAILERS"
    ]["default"]["OPTIONS"]
    assert (options["port"], options["use_ssl"], options["use_tls"]) == (465, True, False)


def test_the_password_may_come_from_a_file(tmp_path):
    secret = tmp_path / "smtp_password"
    secret.write_text(SMTP_PASSWORD + "\n")
    options = loaded(tmp_path, EMAIL_HOST="smtp.example.com", EMAIL_HOST_PASSWORD_FILE=str(secret))[
        "MAILERS"
    ]["default"]["OPTIONS"]
    assert options["password"] == SMTP_PASSWORD


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EMAIL_PORT": "0"}, "EMAIL_PORT must be a port number"),
        ({"EMAIL_PORT": "70000"}, "EMAIL_PORT must be a port number"),
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT must be a whole number"),
        ({"EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS must be true or false"),
        ({"ALLOW_SIGNUP": "sometimes"}, "ALLOW_SIGNUP must be true or false"),
    ],
)
def test_bad_values_stop_the_start(tmp_path, env, message):
    result = mail_settings(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_error_reports_never_show_the_smtp_password(settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "smtp.example.com", "password": SMTP_PASSWORD},
        }
    }
    shown = CredentialFilter().get_safe_settings()["MAILERS"]
    assert SMTP_PASSWORD not in json.dumps(shown, default=str)
    assert shown["default"]["OPTIONS"]["host"] == "smtp.example.com"
