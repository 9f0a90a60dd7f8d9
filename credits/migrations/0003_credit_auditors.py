"""The "Credit auditors" group: staff in it may view every credit record, the
generations, the teams and their members, and change nothing.

Permissions are made by ``post_migrate`` only after the whole run, so this migration
makes the ones it needs first (on a fresh database they do not exist yet).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Credit auditors"
APPS = ["credits", "generations", "teams"]
VIEWED = [
    ("generations", "generation"),
    ("teams", "team"),
    ("teams", "membership"),
]


def create_group(apps, schema_editor):
    db = schema_editor.connection.alias
    for label in APPS:
        app_config = apps.get_app_config(label)
        # Migration state apps carry no models module; create_permissions skips those.
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, using=db, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(db).get_or_create(name=GROUP)
    viewed = Permission.objects.using(db).filter(
        content_type__app_label="credits", codename__startswith="view_"
    )
    for app_label, model in VIEWED:
        viewed |= Permission.objects.using(db).filter(
            content_type__app_label=app_label, codename=f"view_{model}"
        )
    group.permissions.add(*viewed)


def remove_group(apps, schema_editor):
    db = schema_editor.connection.alias
    apps.get_model("auth", "Group").objects.using(db).filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("credits", "0002_audit_and_budgets"),
        ("generations", "0007_credits_move_out"),
        ("teams", "0003_credit_budgets"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
