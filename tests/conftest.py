import os

import pytest

pytest_plugins = ["tests.s3", "tests.fixtures", "tests.browser"]

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses
# to run there unless told it is safe (the live_server thread has its own connection).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing(django_test_environment):
    """Tests hash passwords with MD5, as Django's testing guide advises.

    The production hasher (PBKDF2, 1.5 million rounds) costs a third of a second per user made
    and per sign-in, which hundreds of tests would pay for nothing: none of them tests hashing.
    Django's own hashers stay listed after it, so a password hashed either way still checks.
    """
    from django.conf import settings
    from django.test import override_settings

    # override_settings, not assignment: it tells auth to forget the hashers it has cached.
    cheap = override_settings(
        PASSWORD_HASHERS=[
            "django.contrib.auth.hashers.MD5PasswordHasher",
            *settings.PASSWORD_HASHERS,
        ]
    )
    cheap.enable()
    yield
    cheap.disable()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: no rate budget spent by the test before it.

    Only the in-process cache is cleared: a Redis given through ``REDIS_URL`` may hold
    someone else's keys, and its budget keys expire within seconds anyway.
    """
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    cache = caches["default"]
    local = isinstance(cache, LocMemCache)
    if local:
        cache.clear()
    yield
    if local:
        cache.clear()


@pytest.fixture
def password():
    return "correct horse battery staple"


@pytest.fixture
def owner(django_user_model, password):
    return django_user_model.objects.create_user("owner", "owner@example.com", password)


@pytest.fixture
def member(django_user_model, password):
    return django_user_model.objects.create_user("member", "member@example.com", password)


@pytest.fixture
def outsider(django_user_model, password):
    return django_user_model.objects.create_user("outsider", "outsider@example.com", password)


@pytest.fixture
def rivya_base(live_server, settings):
    """Point the app's Rivya client at the sandbox served by ``live_server``."""
    settings.RIVYA_API_BASE = f"{live_server.url}/sandbox/api/v1"
    return settings.RIVYA_API_BASE
