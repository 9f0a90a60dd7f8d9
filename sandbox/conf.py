"""Sandbox settings with their defaults.

Every name can be set in ``rivyaweb/settings.py`` (or a test's ``settings`` fixture);
``get(name)`` reads it at call time, so a changed setting takes effect at once.
Fault knobs are copied from here into the ``SandboxConfig`` row when it is first made,
after which the control page (``/sandbox/control/``) is the place to change them.
"""

from pathlib import Path
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Credits of the built-in account when it is first created.
    "SANDBOX_DEFAULT_BALANCE": 10_000,
    # Price per generation: {"<model>": {"<duration>|<sound>|<aspect_ratio>": n, "*": n}}.
    # Anything not listed costs the model's base credits (kling-2-6: 55, z-image: 1).
    "SANDBOX_PRICES": {},
    # Timeline of a generation, in seconds.
    "SANDBOX_QUEUED_SECONDS": 2.0,
    "SANDBOX_PROCESSING_SECONDS": 8.0,
    # Fault knobs (copied into SandboxConfig on first use).
    "SANDBOX_PUBLIC_API_DISABLED": False,
    "SANDBOX_ERROR_RATE": 0.0,
    "SANDBOX_DROP_RATE": 0.0,
    "SANDBOX_SLOW_SECONDS": 0.0,
    "SANDBOX_TASK_FAILURE_RATE": 0.0,
    "SANDBOX_TRUNCATE_MEDIA": False,
    "SANDBOX_ANSWER_LOST_RATE": 0.0,
    # A POST /generations waits this long (outside any transaction) before creating.
    "SANDBOX_CREATE_DELAY_SECONDS": 0.0,
    # The first N answers to POST /generations per Idempotency-Key are dropped.
    "SANDBOX_LOSE_FIRST_ANSWERS": 0,
    # Result URLs use this host[:port] instead of the one the request came in on.
    "SANDBOX_MEDIA_HOST": "",
    # Result URLs are signed and stop working this long after they were handed out.
    "SANDBOX_MEDIA_URL_TTL_SECONDS": 3600,
    # Rate limits: fixed window per API key.
    "SANDBOX_RATE_WINDOW_SECONDS": 60,
    "SANDBOX_RATE_LIMIT_GENERATIONS": 60,
    "SANDBOX_RATE_LIMIT_FILES": 60,
    "SANDBOX_RATE_LIMIT_OTHER": 600,
    # Idempotency records are kept this long.
    "SANDBOX_IDEMPOTENCY_TTL_SECONDS": 24 * 3600,
    # Webhooks.
    # URL prefixes accepted despite the §6.2 rules (e.g. "http://127.0.0.1:8001/").
    "SANDBOX_WEBHOOK_ALLOWED_URL_PREFIXES": [],
    "SANDBOX_WEBHOOK_BACKOFF_SECONDS": [0, 10, 60, 300, 1800],
    "SANDBOX_WEBHOOK_BACKOFF_SCALE": 1.0,
    "SANDBOX_WEBHOOK_TIMEOUT_SECONDS": 10.0,
    # The built-in account also delivers to this URL, signed with this secret.
    "SANDBOX_WEBHOOK_URL": "",
    "SANDBOX_WEBHOOK_SECRET": "",
    # A render running longer than this is considered dead and may be claimed again.
    "SANDBOX_RENDER_LEASE_SECONDS": 120,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def data_dir() -> Path:
    """Where the sandbox keeps uploaded files and rendered videos (never the default storage)."""
    base = getattr(settings, "SANDBOX_DATA_DIR", None)
    return Path(base) if base else Path(settings.VAR_DIR) / "sandbox"
