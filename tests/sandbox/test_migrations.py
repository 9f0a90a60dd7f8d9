"""Sandbox migrations keep existing databases working."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("sandbox", "0001_initial")]
AFTER = [("sandbox", "0002_idempotency_key_per_account")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_a_key_used_on_two_routes_keeps_its_newest_record():
    apps = migrate(BEFORE)
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

        apps = migrate(AFTER)

        kept = apps.get_model("sandbox", "IdempotencyRecord").objects.order_by("key")
        assert list(kept.values_list("key", "path")) == [("k", "/generations"), ("other", "/files")]
    finally:
        migrate(AFTER)
