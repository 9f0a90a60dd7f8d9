"""The credit ledger now lives in the credits app; its table stays where it is.

State only for the model (``credits.0001`` takes it over with the same ``db_table``);
the content type is renamed so admin history and permissions follow the model.
"""

from django.db import migrations

MOVED = ["creditentry"]


def rename_content_types(apps, schema_editor, source="generations", target="credits"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    # Made by a run of post_migrate in between, these would collide with the rename.
    ContentType.objects.using(db).filter(app_label=target, model__in=MOVED).delete()
    ContentType.objects.using(db).filter(app_label=source, model__in=MOVED).update(
        app_label=target
    )


def rename_back(apps, schema_editor):
    rename_content_types(apps, schema_editor, source="credits", target="generations")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("generations", "0006_gallery"),
        ("credits", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="creditentry", name="one_credit_entry_per_kind"
                ),
                migrations.DeleteModel(name="CreditEntry"),
            ]
        ),
        migrations.RunPython(rename_content_types, rename_back),
    ]
