"""System checks for the Rivya and storage settings (``manage.py check --deploy`` runs them too).

They catch what a deployment gets wrong most often: a key pasted into the wrong
variable, credentials missing for a bucket, a plain-http address. Messages name the
variable, never its value: these settings hold secrets.
"""

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
RIVYA_KEY_PREFIX = "rvya_sk_"
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.hostname)


def is_local_host(host: str) -> bool:
    host = host.strip("[]").lower()
    return host in LOCAL_HOSTS or host.endswith(".localhost")


def check_rivya_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    api_base: str = settings.RIVYA_API_BASE
    if not is_web_url(api_base):
        errors.append(
            Error(
                "RIVYA_API_BASE must be an http:// or https:// URL with a host.",
                hint="For example https://rivya.ai/api/v1, or leave it unset.",
                id="generations.E001",
            )
        )
    if not settings.RIVYA_SANDBOX:
        if not settings.RIVYA_API_KEY.startswith(RIVYA_KEY_PREFIX):
            errors.append(
                Error(
                    f"RIVYA_API_KEY does not look like a Rivya secret key "
                    f"(they start with {RIVYA_KEY_PREFIX!r}).",
                    hint="Copy the key from the Rivya dashboard, API keys page.",
                    id="generations.E002",
                )
            )
        parts = urlsplit(api_base)
        if parts.scheme == "http" and parts.hostname and not is_local_host(parts.hostname):
            errors.append(
                Warning(
                    "RIVYA_API_BASE uses plain http to another machine: the Rivya key "
                    "would cross the network unencrypted.",
                    hint="Use an https:// address.",
                    id="generations.W003",
                )
            )
    secret: str = settings.RIVYA_WEBHOOK_SECRET
    if secret and not secret.startswith(WEBHOOK_SECRET_PREFIX):
        errors.append(
            Warning(
                f"RIVYA_WEBHOOK_SECRET does not look like a Rivya webhook signing secret "
                f"(they start with {WEBHOOK_SECRET_PREFIX!r}); signed webhooks will be refused.",
                hint="Copy the secret shown when the webhook endpoint was created.",
                id="generations.W005",
            )
        )
    for host in settings.RIVYA_MEDIA_HOSTS:
        if "/" in host:
            errors.append(
                Error(
                    "RIVYA_MEDIA_HOSTS must list bare host names, without a scheme or a path.",
                    hint="For example: cdn.rivya.ai,media.rivya.ai",
                    id="generations.E008",
                )
            )
            break
    return errors


def check_storage_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    if not settings.AWS_STORAGE_BUCKET_NAME:
        return []
    errors: list[CheckMessage] = []
    key_id = bool(settings.AWS_ACCESS_KEY_ID)
    secret = bool(settings.AWS_SECRET_ACCESS_KEY)
    endpoint: str = settings.AWS_S3_ENDPOINT_URL
    # Without both keys boto3 falls back to the machine's own AWS identity (an instance
    # or task role); S3-compatible servers behind AWS_S3_ENDPOINT_URL have no such thing.
    if key_id != secret or (endpoint and not key_id):
        errors.append(
            Error(
                "AWS_STORAGE_BUCKET_NAME is set but the S3 credentials are incomplete: "
                "set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.",
                hint="On AWS with an instance or task role, leave both unset and do not "
                "set AWS_S3_ENDPOINT_URL.",
                id="generations.E004",
            )
        )
    if endpoint and not is_web_url(endpoint):
        errors.append(
            Error(
                "AWS_S3_ENDPOINT_URL must be an http:// or https:// URL with a host.",
                hint="For example http://127.0.0.1:8333 for SeaweedFS; leave it unset for AWS.",
                id="generations.E007",
            )
        )
    return errors


def check_debug_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    exposed = [host for host in settings.ALLOWED_HOSTS if not is_local_host(host)]
    if settings.DEBUG and exposed:
        return [
            Warning(
                "DEBUG is on while ALLOWED_HOSTS names hosts other than this machine: "
                "error pages would show settings and code to visitors.",
                hint="Unset DEBUG in any deployment others can reach.",
                id="generations.W006",
            )
        ]
    return []
