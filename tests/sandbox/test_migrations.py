"""Sandbox migrations keep existing databases working."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fixtures import migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("sandbox", "0001_initial")]
AFTER = [("sandbox", "0002_idempotency_key_per_account")]
RESULT_URLS = [("sandbox", "0003_fault_knobs_and_result_urls")]


def test_a_key_used_on_two_routes_keeps_its_newest_record():
    apps = migrate("sandbox", BEFORE)
    try:
        account = apps.get_model("sandbox", "Account").objects.create(name="old")
        record = apps.get_model("sandbox", "IdempotencyRecord")
        now = timezone.now()
        fields = {"account": account, "request_hash": "h", "status_code": 200, "body": {}}
        record.objects.create(
            **fields, method="POST", path="/files", key="k", created_at=now - timedelta(hours=1)
        )
        record.objects.create(**fields, method="POST", path="/generations", key="k", created_at=now)
        record.objects.create(**fields, method="POST", path="/files", key="other", created_at=now)

        apps = migrate("sandbox", AFTER)

        kept = apps.get_model("sandbox", "IdempotencyRecord").objects.order_by("key")
        assert list(kept.values_list("key", "path")) == [("k", "/generations"), ("other", "/files")]
    finally:
        migrate("sandbox")


def test_stored_result_urls_become_origins_and_the_config_gets_the_new_knobs(settings):
    settings.SANDBOX_MEDIA_URL_TTL_SECONDS = 120
    apps = migrate("sandbox", AFTER)
    try:
        account = apps.get_model("sandbox", "Account").objects.create(name="old")
        generation = apps.get_model("sandbox", "Generation")
        now = timezone.now()
        fields = {"account": account, "model": "z-image", "prompt": "p"}
        fields |= {"processing_at": now, "due_at": now}
        url = "https://sandbox.example:8443/sandbox/media/task_a.png"
        generation.objects.create(id="task_a", result_url=url, **fields)
        generation.objects.create(id="task_b", result_url="", **fields)
        apps.get_model("sandbox", "SandboxConfig").objects.create(
            pk=1,
            public_api_disabled=False,
            error_rate=0.5,
            drop_rate=0,
            slow_seconds=0,
            task_failure_rate=0,
            truncate_media=False,
            answer_lost_rate=0,
            queued_seconds=1,
            processing_seconds=1,
            rate_window_seconds=60,
            rate_limit_generations=60,
            rate_limit_files=60,
            rate_limit_other=600,
        )

        apps = migrate("sandbox", RESULT_URLS)

        origins = apps.get_model("sandbox", "Generation").objects.order_by("id")
        assert list(origins.values_list("id", "origin")) == [
            ("task_a", "https://sandbox.example:8443"),
            ("task_b", ""),
        ]
        config = apps.get_model("sandbox", "SandboxConfig").objects.get()
        assert config.error_rate == 0.5
        assert (config.create_delay_seconds, config.lose_first_answers) == (0, 0)
        assert (config.media_host, config.media_url_ttl_seconds) == ("", 120)
    finally:
        migrate("sandbox")
