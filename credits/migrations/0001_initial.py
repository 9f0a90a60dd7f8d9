"""The credit ledger moves here from the generations app, keeping its table.

State only: ``generations_creditentry`` stays as it is (``db_table``), so no row is
copied; ``generations.0007`` drops the model from that app's state in the same step.
Everything new about the ledger comes in ``0002``.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("generations", "0006_gallery"),
        ("teams", "0002_invitations"),
    ]

    state_operations = [
        migrations.CreateModel(
            name="CreditEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("reserve", "Reserved"),
                            ("settle", "Settled"),
                            ("refund", "Refunded"),
                            ("adjustment", "Adjustment"),
                        ],
                        max_length=16,
                        verbose_name="kind",
                    ),
                ),
                ("amount", models.IntegerField(verbose_name="credits")),
                ("rivya_task_id", models.CharField(blank=True, max_length=128)),
                ("note", models.CharField(blank=True, max_length=255)),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="when"),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_entries",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "generation",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_entries",
                        to="generations.generation",
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_entries",
                        to="teams.team",
                    ),
                ),
            ],
            options={
                "verbose_name": "credit entry",
                "verbose_name_plural": "credit ledger",
                "ordering": ["-created_at", "-id"],
                "db_table": "generations_creditentry",
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("kind", "adjustment"), _negated=True),
                        fields=("generation", "kind"),
                        name="one_credit_entry_per_kind",
                    )
                ],
            },
        ),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
