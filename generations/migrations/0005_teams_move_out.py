"""Teams and memberships now live in the teams app; their tables stay where they are.

State only for the models (``teams.0001`` takes them over with the same ``db_table``);
the content types are renamed so admin history and permissions follow the models.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["team", "membership"]


def rename_content_types(apps, schema_editor, source="generations", target="teams"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    # Made by a run of post_migrate in between, these would collide with the rename.
    ContentType.objects.using(db).filter(app_label=target, model__in=MOVED).delete()
    ContentType.objects.using(db).filter(app_label=source, model__in=MOVED).update(
        app_label=target
    )


def rename_back(apps, schema_editor):
    rename_content_types(apps, schema_editor, source="teams", target="generations")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("generations", "0004_lifecycle_money_safety"),
        ("teams", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="generation",
                    name="team",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="generations",
                        to="teams.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="creditentry",
                    name="team",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_entries",
                        to="teams.team",
                    ),
                ),
                migrations.DeleteModel(name="Membership"),
                migrations.DeleteModel(name="Team"),
            ]
        ),
        migrations.RunPython(rename_content_types, rename_back),
    ]
