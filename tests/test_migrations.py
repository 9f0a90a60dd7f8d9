"""The app's migrations keep existing databases working, and recover what old code lost."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fixtures import migrate

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_LIFECYCLE = [("generations", "0003_reference_sha256")]


def test_rows_the_old_lifecycle_failed_after_payment_wait_for_staff(django_user_model):
    user = django_user_model.objects.create_user("old-user")
    apps = migrate("generations", BEFORE_LIFECYCLE)
    try:
        team = apps.get_model("generations", "Team").objects.create(name="Old team")
        old = apps.get_model("generations", "Generation").objects
        created = timezone.now() - timedelta(hours=2)

        def row(key, **fields):
            return old.create(
                team=team,
                created_by_id=user.pk,
                prompt=key,
                idempotency_key=key,
                created_at=created,
                **fields,
            )

        row("copy-failed", status="failed", rivya_status="succeeded", error_code="not_mp4")
        row("gave-up", status="failed", error_code="submit_gave_up")
        row("not-found", status="failed", error_code="not_found", rivya_status="queued")
        row("really-failed", status="failed", error_code="generation_failed")
        row("sending", status="submitting", attempts=3, notice="Saving the video failed; retrying…")
        row("limited", status="queued", notice="Rivya is rate limiting us; retrying…")

        apps = migrate("generations")

        rows = {
            g.idempotency_key: g for g in apps.get_model("generations", "Generation").objects.all()
        }
        assert (rows["copy-failed"].status, rows["copy-failed"].error_code) == (
            "attention",
            "not_mp4",
        )
        assert (rows["gave-up"].status, rows["gave-up"].error_code) == (
            "attention",
            "create_unconfirmed",
        )
        assert (rows["not-found"].status, rows["not-found"].error_code) == (
            "attention",
            "task_not_found",
        )
        assert rows["really-failed"].status == "failed"
        sending = rows["sending"]
        assert sending.create_attempts == 3
        assert sending.first_create_at == created
        assert sending.confirm_until == created + timedelta(hours=24)
        assert sending.notice == "copy_retry"
        assert rows["limited"].notice == "rate_limited"
    finally:
        migrate(None)


def test_teams_move_to_their_app_with_their_rows(django_user_model):
    from django.contrib.contenttypes.models import ContentType

    user = django_user_model.objects.create_user("old-member")
    apps = migrate("generations", BEFORE_LIFECYCLE)
    try:
        team = apps.get_model("generations", "Team").objects.create(name="Old team")
        apps.get_model("generations", "Membership").objects.create(
            team=team, user_id=user.pk, role="owner"
        )
        apps.get_model("generations", "Generation").objects.create(
            team=team, created_by_id=user.pk, prompt="before", idempotency_key="before"
        )
        ContentType.objects.get_or_create(app_label="generations", model="team")

        apps = migrate("generations")
        migrate("teams")

        from generations.models import Generation
        from teams.models import Membership, Team

        moved = Team.objects.get(pk=team.pk)
        assert moved.name == "Old team"
        assert Membership.objects.get(team=moved).user == user
        assert Generation.objects.get(idempotency_key="before").team == moved
        assert ContentType.objects.filter(app_label="generations", model="team").count() == 0
        assert ContentType.objects.filter(app_label="teams", model="team").exists()
    finally:
        migrate(None)


BEFORE_CREDITS = [("generations", "0006_gallery"), ("teams", "0002_invitations")]


def test_the_ledger_moves_to_the_credits_app_with_its_rows(django_user_model):
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    user = django_user_model.objects.create_user("old-spender")
    apps = migrate("generations", BEFORE_CREDITS)
    try:
        team = apps.get_model("teams", "Team").objects.create(name="Old team")
        generation = apps.get_model("generations", "Generation").objects.create(
            team_id=team.pk, created_by_id=user.pk, prompt="before", idempotency_key="before"
        )
        old_ledger = apps.get_model("generations", "CreditEntry").objects
        old_ledger.create(
            team_id=team.pk, user_id=user.pk, generation=generation, kind="reserve", amount=-55
        )
        old_ledger.create(
            team_id=team.pk, user_id=user.pk, generation=generation, kind="settle", amount=0
        )
        ContentType.objects.get_or_create(app_label="generations", model="creditentry")

        migrate(None)

        from credits.models import CreditEntry

        entries = CreditEntry.objects.filter(generation_id=generation.pk)
        assert sorted(entries.values_list("kind", "amount")) == [("reserve", -55), ("settle", 0)]
        assert {entry.team_id for entry in entries} == {team.pk}
        assert not ContentType.objects.filter(app_label="generations", model="creditentry")
        assert ContentType.objects.filter(app_label="credits", model="creditentry").exists()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM pg_trigger WHERE tgname = 'credit_ledger_append_only'"
                )
                assert cursor.fetchone() == (1,)
    finally:
        migrate(None)
