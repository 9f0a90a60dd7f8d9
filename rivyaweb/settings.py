"""Rivyaweb settings, read from the environment.

Every variable is listed in ``.env.example`` and in the README. With nothing set
the app runs on one machine: SQLite, local files, the built-in Rivya sandbox.
"""

import hashlib
import hmac
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from rivyaweb.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    parse_database_url,
)
from sandbox.keys import builtin_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")

DEBUG = env_bool("DEBUG", False)
LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def _local_secret_key() -> str:
    """A per-checkout key for the zero-config local run; never used in a deployment."""
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.touch(mode=0o600)
        path.write_text(key)
        return key


SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if set(ALLOWED_HOSTS) - set(LOCAL_HOSTS):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when ALLOWED_HOSTS names hosts other than this machine."
        )
    SECRET_KEY = _local_secret_key()
elif len(SECRET_KEY) < 32 and not DEBUG:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks_db",
    "storages",
    "teams",
    "credits",
    "generations",
    "sandbox",
    "rivyaweb",  # for its management commands (serve, rivya_poller)
]

MIDDLEWARE = [
    # First: refuses an oversized body before anything below reads it.
    "rivyaweb.limits.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Dates and times in the viewer's zone, from the browser's "tz" cookie (rivyaweb/timezones.py).
    "rivyaweb.timezones.ViewerTimeZoneMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, after auth: turns a refused login attempt into 429 (rivyaweb/login_throttle.py).
    "rivyaweb.login_throttle.LoginThrottleMiddleware",
]

ROOT_URLCONF = "rivyaweb.urls"
WSGI_APPLICATION = "rivyaweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "sqlite:///var/db.sqlite3")
DATABASES = {"default": parse_database_url(DATABASE_URL, BASE_DIR)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# The throttle comes first so a refused attempt never reaches the password hasher.
AUTHENTICATION_BACKENDS = [
    "rivyaweb.login_throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins allowed per account and client address, and per address alone, within
# LOGIN_FAILURE_WINDOW seconds (docs/security.md).
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 10)
LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("LOGIN_MAX_FAILURES_PER_ADDRESS", 100)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 15 * 60)
if min(LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS, LOGIN_FAILURE_WINDOW) <= 0:
    raise ImproperlyConfigured(
        "LOGIN_MAX_FAILURES, LOGIN_MAX_FAILURES_PER_ADDRESS and LOGIN_FAILURE_WINDOW must be "
        "positive whole numbers."
    )
# The client's address is the socket's peer unless our own proxies name it in this header
# (e.g. X-Forwarded-For); TRUSTED_PROXY_COUNT of them append to it (rivyaweb/clients.py).
TRUSTED_PROXY_CLIENT_HEADER = env_str("TRUSTED_PROXY_CLIENT_HEADER")
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1)
if TRUSTED_PROXY_COUNT <= 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be a positive whole number.")

# --- Internationalisation: Vietnamese first, English too ---------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Vietnamese numbers grouped by thousands ("10.000 tín dụng"), which Django's locale leaves out.
FORMAT_MODULE_PATH = ["rivyaweb.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files -------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")

AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
AWS_ACCESS_KEY_ID = env_secret("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env_secret("AWS_SECRET_ACCESS_KEY")
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "us-east-1")

if AWS_STORAGE_BUCKET_NAME:
    DEFAULT_STORAGE: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL or None,
            "access_key": AWS_ACCESS_KEY_ID or None,
            "secret_key": AWS_SECRET_ACCESS_KEY or None,
            "region_name": AWS_S3_REGION_NAME,
            "addressing_style": "path" if AWS_S3_ENDPOINT_URL else None,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": True,
        },
    }
else:
    DEFAULT_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "base_url": None},
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Cache --------------------------------------------------------------------
# Redis when REDIS_URL is set: then every poller process shares one Rivya rate budget.
# Without it each process keeps its own (right for the single poller of a local run).
REDIS_URL = env_str("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# --- Background work --------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "sandbox"],
    }
}

# --- Rivya ------------------------------------------------------------------
RIVYA_API_KEY = env_secret("RIVYA_API_KEY")
# With no key the app talks to its own sandbox, mounted on the same server.
RIVYA_SANDBOX = not RIVYA_API_KEY
RIVYA_API_BASE = env_str(
    "RIVYA_API_BASE",
    "http://127.0.0.1:8000/sandbox/api/v1" if RIVYA_SANDBOX else "https://rivya.ai/api/v1",
).rstrip("/")
if RIVYA_SANDBOX:
    # The sandbox's built-in account key, derived from SECRET_KEY so no published key opens
    # it; ``manage.py sandbox_key`` prints it. The sandbox is mounted only in this mode.
    RIVYA_API_KEY = builtin_key(SECRET_KEY)
RIVYA_WEBHOOK_SECRET = env_secret("RIVYA_WEBHOOK_SECRET")
RIVYA_MEDIA_HOSTS = env_list("RIVYA_MEDIA_HOSTS")
RIVYA_MODEL = "kling-2-6"
# Status reads per second, shared by all pollers when REDIS_URL is set.
RIVYA_POLL_RATE = env_int("RIVYA_POLL_RATE", 5)
# Largest video we keep; a longer download is stopped and the generation fails.
# How long any call to Rivya waits for its answer. A create still unanswered then is asked
# again with the same Idempotency-Key, never given up (docs/reliability.md).
RIVYA_READ_TIMEOUT = env_float("RIVYA_READ_TIMEOUT", 30.0)
if not 0 < RIVYA_READ_TIMEOUT < float("inf"):
    raise ImproperlyConfigured("RIVYA_READ_TIMEOUT must be a positive number of seconds.")
RIVYA_MAX_VIDEO_BYTES = env_int("RIVYA_MAX_VIDEO_BYTES", 500 * 1024 * 1024)
# Seconds a whole video download may take. Unset: the size cap at the minimum rate below
# (500 s by default), so a server that drips bytes cannot hold a worker for ever.
RIVYA_DOWNLOAD_TIMEOUT: float | None = env_float("RIVYA_DOWNLOAD_TIMEOUT", 0.0) or None
# Slowest download speed we wait for, in bytes per second (1 MiB/s).
RIVYA_DOWNLOAD_MIN_RATE = env_int("RIVYA_DOWNLOAD_MIN_RATE", 1024 * 1024)
if RIVYA_DOWNLOAD_TIMEOUT is not None and not 0 < RIVYA_DOWNLOAD_TIMEOUT < float("inf"):
    raise ImproperlyConfigured("RIVYA_DOWNLOAD_TIMEOUT must be a positive number of seconds.")
if RIVYA_DOWNLOAD_MIN_RATE <= 0:
    raise ImproperlyConfigured("RIVYA_DOWNLOAD_MIN_RATE must be a positive number of bytes.")

if RIVYA_SANDBOX and not TESTING:
    # The local run wires the sandbox's webhooks to this server's receiver, signed with a
    # secret derived from SECRET_KEY so every process of the tree agrees on it.
    RIVYA_WEBHOOK_SECRET = (
        RIVYA_WEBHOOK_SECRET
        or "whsec_"
        + hmac.new(SECRET_KEY.encode(), b"rivyaweb-sandbox-webhooks", hashlib.sha256).hexdigest()[
            :40
        ]
    )
    _base = urlsplit(RIVYA_API_BASE)
    SANDBOX_WEBHOOK_URL = f"{_base.scheme}://{_base.netloc}/rivya/webhook"
    SANDBOX_WEBHOOK_SECRET = RIVYA_WEBHOOK_SECRET

if urlsplit(RIVYA_API_BASE).scheme not in {"http", "https"}:
    raise ImproperlyConfigured("RIVYA_API_BASE must be an http:// or https:// URL.")

# --- Sign-up and email --------------------------------------------------------
# Anyone may make an account on the sign-up page when this is on: by default only in
# sandbox mode (no RIVYA_API_KEY), where nothing costs money. An invitation always lets its
# holder sign up, whatever this says (docs/teams.md).
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", RIVYA_SANDBOX)
# Password resets and invitations go out by email: printed on the console unless an SMTP
# server is named, then sent through it. (Django's MAILERS: the variables keep the names
# of the older EMAIL_* settings, which Django no longer wants defined beside it.)
_smtp_host = env_str("EMAIL_HOST")
_smtp_port = env_int("EMAIL_PORT", 587)
if not 0 < _smtp_port < 65536:
    raise ImproperlyConfigured("EMAIL_PORT must be a port number (1-65535).")
# STARTTLS on the submission port by default; EMAIL_USE_SSL for servers that speak TLS
# from the first byte (usually port 465).
_smtp_ssl = env_bool("EMAIL_USE_SSL", False)
_smtp_tls = env_bool("EMAIL_USE_TLS", True) and not _smtp_ssl
MAILERS: dict[str, dict[str, object]] = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp_host,
                "port": _smtp_port,
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_secret("EMAIL_HOST_PASSWORD"),
                "use_tls": _smtp_tls,
                "use_ssl": _smtp_ssl,
                # A mail server that does not answer must not hold a request for long.
                "timeout": 10,
            },
        }
        if _smtp_host
        else {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
    )
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Rivyaweb <noreply@localhost>")

# --- Deleting videos ------------------------------------------------------------
# A deleted video can be brought back for UNDO_WINDOW; its stored files are removed by the
# housekeeping once DELETE_GRACE has passed (the row stays: the credit ledger refers to it).
_undo_seconds = env_int("DELETE_UNDO_SECONDS", 600)
UNDO_WINDOW = timedelta(seconds=_undo_seconds)
DELETE_GRACE = timedelta(days=env_int("DELETE_GRACE_DAYS", 7))
if _undo_seconds <= 0 or DELETE_GRACE < UNDO_WINDOW:
    raise ImproperlyConfigured(
        "DELETE_UNDO_SECONDS must be positive and DELETE_GRACE_DAYS at least as long."
    )

# --- Gallery ----------------------------------------------------------------
# Most videos one ZIP download may hold; a larger selection is refused with a message.
# Django refuses a form of more than 1,000 fields before any view sees it, so the cap stays
# far enough below that for a selection past it to get the message.
GALLERY_ZIP_MAX_ITEMS = env_int("GALLERY_ZIP_MAX_ITEMS", 100)
if not 1 <= GALLERY_ZIP_MAX_ITEMS <= 500:
    raise ImproperlyConfigured("GALLERY_ZIP_MAX_ITEMS must be a whole number from 1 to 500.")

# --- Credits ----------------------------------------------------------------
# Minutes between two readings of Rivya's balance (GET /credits) by the poller's
# housekeeping, each stored beside the ledger's total for the reconciliation.
BALANCE_SNAPSHOT_MINUTES = env_int("BALANCE_SNAPSHOT_MINUTES", 5)
if not 1 <= BALANCE_SNAPSHOT_MINUTES <= 24 * 60:
    raise ImproperlyConfigured("BALANCE_SNAPSHOT_MINUTES must be a whole number from 1 to 1440.")
# A reservation with no settlement or refund after this many hours is an anomaly on the
# reconciliation page (docs/reconciliation.md).
RECONCILE_UNSETTLED_HOURS = env_int("RECONCILE_UNSETTLED_HOURS", 24)
if RECONCILE_UNSETTLED_HOURS <= 0:
    raise ImproperlyConfigured("RECONCILE_UNSETTLED_HOURS must be a positive whole number.")

# --- Budgets ----------------------------------------------------------------
# Videos one person may ask for per minute, across all their teams: a limit no one clicking
# ever meets, which stops a runaway script (docs/budgets.md).
SUBMISSIONS_PER_MINUTE = env_int("SUBMISSIONS_PER_MINUTE", 30)
if SUBMISSIONS_PER_MINUTE < 1:
    raise ImproperlyConfigured("SUBMISSIONS_PER_MINUTE must be a positive whole number.")
# Shares of a budget or cap (in percent) at which the team's owners are emailed, once a month.
try:
    BUDGET_ALERT_PERCENTS = sorted(
        {int(p) for p in env_list("BUDGET_ALERT_PERCENTS", ["50", "80", "100"])}
    )
except ValueError:
    raise ImproperlyConfigured("BUDGET_ALERT_PERCENTS must be whole numbers (50,80,100).") from None
if not all(1 <= percent <= 1000 for percent in BUDGET_ALERT_PERCENTS):
    raise ImproperlyConfigured("BUDGET_ALERT_PERCENTS must be whole numbers from 1 to 1000.")
# The site's address as people reach it, for links in emails sent without a request (the
# budget alerts). By default the first public host name over https, or the local run.
_public_hosts = [host for host in ALLOWED_HOSTS if host not in LOCAL_HOSTS and "*" not in host]
SITE_URL = env_str(
    "SITE_URL",
    f"https://{_public_hosts[0].lstrip('.')}" if _public_hosts else "http://127.0.0.1:8000",
).rstrip("/")
if urlsplit(SITE_URL).scheme not in {"http", "https"} or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured("SITE_URL must be an http:// or https:// URL with a host.")

# --- Security ---------------------------------------------------------------
# Presigned playback URLs (video, and the poster, an image) point at the S3 endpoint,
# which may be plain http locally.
_s3_origin = (
    [f"{urlsplit(AWS_S3_ENDPOINT_URL).scheme}://{urlsplit(AWS_S3_ENDPOINT_URL).netloc}"]
    if AWS_S3_ENDPOINT_URL
    else []
)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:", "blob:", "https:", *_s3_origin],
    "media-src": [CSP.SELF, "blob:", "https:", *_s3_origin],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A deployment (public host names, no debug pages) is served over HTTPS: cookies stay on
# it and browsers are told to come back only that way. A local run keeps plain http.
PRODUCTION = not DEBUG and bool(set(ALLOWED_HOSTS) - set(LOCAL_HOSTS))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
# HSTS is sent only on HTTPS responses, so behind a proxy it needs PROXY_SSL_HEADER.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured("SECURE_HSTS_SECONDS must be zero or a positive whole number.")
# The header a TLS-terminating proxy in front of us sets to "https" (X-Forwarded-Proto).
# Name only one the proxy always overwrites, or any client could claim HTTPS.
PROXY_SSL_HEADER = env_str("PROXY_SSL_HEADER")
if PROXY_SSL_HEADER:
    if not (PROXY_SSL_HEADER.isascii() and PROXY_SSL_HEADER.replace("-", "").isalnum()):
        raise ImproperlyConfigured("PROXY_SSL_HEADER must be a header name (X-Forwarded-Proto).")
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
# Without that header every request looks like plain http, and redirecting would loop.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION and bool(PROXY_SSL_HEADER))
# Load balancers check health over plain http; so do the processes of `manage.py serve`
# call the local sandbox and post its webhooks.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if RIVYA_SANDBOX:
    SECURE_REDIRECT_EXEMPT += [r"^sandbox/", r"^rivya/webhook$"]
SILENCED_SYSTEM_CHECKS = [
    # HSTS for subdomains, and preloading, bind every other site of the domain to HTTPS for
    # months: the operator's choice (SECURE_HSTS_INCLUDE_SUBDOMAINS, SECURE_HSTS_PRELOAD).
    "security.W005",
    "security.W021",
]
# Debug pages and error reports show settings with the passwords inside URLs masked.
DEFAULT_EXCEPTION_REPORTER_FILTER = "rivyaweb.errors.CredentialFilter"
# Largest request body of a route without a limit of its own (login, admin, language…);
# the upload routes have theirs in rivyaweb/limits.py, REQUEST_BODY_LIMITS overrides them
# by URL name. A larger body gets 413 before it is read.
REQUEST_BODY_LIMIT = env_int("REQUEST_BODY_LIMIT", 64 * 1024)
if REQUEST_BODY_LIMIT <= 0:
    raise ImproperlyConfigured("REQUEST_BODY_LIMIT must be a positive number of bytes.")
REQUEST_BODY_LIMITS: dict[str, int] = {}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# --- Logging ----------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "generations": {"level": "INFO"},
        "sandbox": {"level": "INFO"},
        "rivyaweb": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
    },
}
