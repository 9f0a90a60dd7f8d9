from django.db import migrations, models


def keep_newest_per_key(apps, schema_editor):
    """A key used on several routes keeps only its newest record (the others would clash)."""
    record = apps.get_model("sandbox", "IdempotencyRecord")
    seen = set()
    for pk, account_id, key in record.objects.order_by("-created_at", "-pk").values_list(
        "pk", "account_id", "key"
    ):
        if (account_id, key) in seen:
            record.objects.filter(pk=pk).delete()
        else:
            seen.add((account_id, key))


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="idempotencyrecord",
            name="sandbox_idempotency_scope",
        ),
        migrations.RunPython(keep_newest_per_key, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(
                fields=("account", "key"), name="sandbox_idempotency_key"
            ),
        ),
    ]
