from urllib.parse import urlsplit

from django.db import migrations, models

from sandbox import conf

NEW_KNOBS = {
    "create_delay_seconds": "SANDBOX_CREATE_DELAY_SECONDS",
    "lose_first_answers": "SANDBOX_LOSE_FIRST_ANSWERS",
    "media_host": "SANDBOX_MEDIA_HOST",
    "media_url_ttl_seconds": "SANDBOX_MEDIA_URL_TTL_SECONDS",
}


def knobs_from_settings(apps, schema_editor):
    """An existing configuration row takes the new knobs from settings, as a new row would."""
    config = apps.get_model("sandbox", "SandboxConfig")
    config.objects.update(**{field: conf.get(name) for field, name in NEW_KNOBS.items()})


def origin_from_result_url(apps, schema_editor):
    """Result URLs are now made when answered, from the scheme and host of the create."""
    generation = apps.get_model("sandbox", "Generation")
    for pk, url in generation.objects.exclude(result_url="").values_list("pk", "result_url"):
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            generation.objects.filter(pk=pk).update(origin=f"{parts.scheme}://{parts.netloc}")


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0002_idempotency_key_per_account"),
    ]

    operations = [
        migrations.AddField(
            model_name="sandboxconfig",
            name="create_delay_seconds",
            field=models.FloatField(
                default=0.0,
                verbose_name="delay before POST /generations makes its task (seconds)",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="sandboxconfig",
            name="lose_first_answers",
            field=models.PositiveIntegerField(
                default=0, verbose_name="create answers lost per Idempotency-Key (first N)"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="sandboxconfig",
            name="media_host",
            field=models.CharField(
                blank=True,
                default="",
                max_length=255,
                verbose_name="host of result URLs (host or host:port, empty: the request's host)",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="sandboxconfig",
            name="media_url_ttl_seconds",
            field=models.PositiveIntegerField(
                default=3600, verbose_name="result URLs valid for (seconds)"
            ),
            preserve_default=False,
        ),
        migrations.RunPython(knobs_from_settings, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="status_code",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name="idempotencyrecord",
            name="body",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="idempotencyrecord",
            name="answers_lost",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="generation",
            name="origin",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.RunPython(origin_from_result_url, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="generation",
            name="result_url",
        ),
    ]
