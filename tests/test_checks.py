import pytest
from django.core.checks import run_checks

from generations import checks

REAL_KEY = "rvya_sk_live_5b1f0c9a7e3d4c2b"


def ids(messages):
    return [message.id for message in messages]


@pytest.fixture
def real_key(settings):
    settings.RIVYA_SANDBOX = False
    settings.RIVYA_API_KEY = REAL_KEY
    settings.RIVYA_API_BASE = "https://rivya.ai/api/v1"
    return settings


@pytest.fixture
def bucket(settings):
    settings.AWS_STORAGE_BUCKET_NAME = "media"
    settings.AWS_S3_ENDPOINT_URL = "http://127.0.0.1:8333"
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "s3-secret-value-123"
    return settings


def test_default_settings_pass_these_checks():
    assert checks.check_rivya_settings() == []
    assert checks.check_storage_settings() == []
    assert checks.check_debug_settings() == []


def test_sandbox_settings_pass_the_rivya_checks(settings):
    settings.RIVYA_SANDBOX = True
    settings.RIVYA_API_BASE = "http://127.0.0.1:8000/sandbox/api/v1"
    assert checks.check_rivya_settings() == []


def test_real_key_with_https_base_passes(real_key):
    assert checks.check_rivya_settings() == []


@pytest.mark.parametrize(
    "api_base", ["ftp://rivya.ai/api/v1", "https:///api/v1", "rivya.ai/api/v1", ""]
)
def test_e001_api_base_must_be_http_with_a_host(settings, api_base):
    settings.RIVYA_API_BASE = api_base
    assert ids(checks.check_rivya_settings()) == ["generations.E001"]


def test_e002_real_key_must_look_like_a_rivya_key(real_key):
    real_key.RIVYA_API_KEY = "sk-live-0123456789abcdef"
    messages = checks.check_rivya_settings()
    assert ids(messages) == ["generations.E002"]
    assert "sk-live-0123456789abcdef" not in str(messages[0]) + (messages[0].hint or "")


def test_e002_does_not_apply_to_the_sandbox(settings):
    settings.RIVYA_SANDBOX = True
    settings.RIVYA_API_KEY = "rvya_sk_" + "tests_only_sandbox_key"
    settings.RIVYA_API_BASE = "http://127.0.0.1:8000/sandbox/api/v1"
    assert checks.check_rivya_settings() == []


def test_w003_real_key_over_plain_http_to_another_machine(real_key):
    real_key.RIVYA_API_BASE = "http://rivya.example.net/api/v1"
    assert ids(checks.check_rivya_settings()) == ["generations.W003"]


@pytest.mark.parametrize("host", ["127.0.0.1:9000", "localhost", "[::1]:8000"])
def test_w003_allows_plain_http_on_this_machine(real_key, host):
    real_key.RIVYA_API_BASE = f"http://{host}/api/v1"
    assert checks.check_rivya_settings() == []


def test_storage_checks_pass_with_a_complete_bucket(bucket):
    assert checks.check_storage_settings() == []


def test_storage_checks_ignore_credentials_without_a_bucket(settings):
    settings.AWS_STORAGE_BUCKET_NAME = ""
    settings.AWS_ACCESS_KEY_ID = "only-half"
    settings.AWS_SECRET_ACCESS_KEY = ""
    assert checks.check_storage_settings() == []


@pytest.mark.parametrize("missing", ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
def test_e004_bucket_with_half_a_credential_pair(bucket, missing):
    setattr(bucket, missing, "")
    messages = checks.check_storage_settings()
    assert ids(messages) == ["generations.E004"]
    assert "s3-secret-value-123" not in str(messages[0])


def test_e004_s3_compatible_server_without_credentials(bucket):
    bucket.AWS_ACCESS_KEY_ID = ""
    bucket.AWS_SECRET_ACCESS_KEY = ""
    assert ids(checks.check_storage_settings()) == ["generations.E004"]


def test_aws_role_without_keys_or_endpoint_passes(bucket):
    bucket.AWS_S3_ENDPOINT_URL = ""
    bucket.AWS_ACCESS_KEY_ID = ""
    bucket.AWS_SECRET_ACCESS_KEY = ""
    assert checks.check_storage_settings() == []


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8333", "s3://bucket", "http://"])
def test_e007_malformed_s3_endpoint(bucket, endpoint):
    bucket.AWS_S3_ENDPOINT_URL = endpoint
    assert ids(checks.check_storage_settings()) == ["generations.E007"]


def test_w005_webhook_secret_must_look_like_a_signing_secret(settings):
    settings.RIVYA_WEBHOOK_SECRET = "hunter2-not-a-signing-secret"
    messages = checks.check_rivya_settings()
    assert ids(messages) == ["generations.W005"]
    assert "hunter2" not in str(messages[0])


def test_w005_accepts_a_signing_secret(settings):
    settings.RIVYA_WEBHOOK_SECRET = "whsec_8d1c0e2f4a6b"
    assert checks.check_rivya_settings() == []


def test_e008_media_hosts_are_bare_host_names(settings):
    settings.RIVYA_MEDIA_HOSTS = ["cdn.rivya.ai", "https://media.rivya.ai/videos"]
    assert ids(checks.check_rivya_settings()) == ["generations.E008"]


def test_media_host_names_pass(settings):
    settings.RIVYA_MEDIA_HOSTS = ["cdn.rivya.ai", "media.rivya.ai"]
    assert checks.check_rivya_settings() == []


def test_w006_debug_with_public_hosts(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["127.0.0.1", "videos.example.com"]
    assert ids(checks.check_debug_settings()) == ["generations.W006"]


@pytest.mark.parametrize("hosts", [["127.0.0.1", "localhost", "[::1]"], ["*"]])
def test_w006_only_when_debug_is_on(settings, hosts):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = hosts
    assert checks.check_debug_settings() == []


def test_w006_debug_on_this_machine_only_passes(settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
    assert checks.check_debug_settings() == []


@pytest.mark.django_db
def test_checks_are_registered_with_django(real_key):
    real_key.RIVYA_API_KEY = "sk-live-0123456789abcdef"
    real_key.DEBUG = True
    real_key.ALLOWED_HOSTS = ["videos.example.com"]
    found = ids(run_checks())
    assert "generations.E002" in found
    assert "generations.W006" in found
