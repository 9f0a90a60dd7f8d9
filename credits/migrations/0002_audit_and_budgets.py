"""Credit governance: adjustments with a reason and an author, balance snapshots, budget
holds, budget events and alerts; and, on PostgreSQL, a trigger that refuses any UPDATE or
DELETE of a ledger entry, whoever sends it.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE OR REPLACE FUNCTION credit_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the credit ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credit_ledger_append_only
    BEFORE UPDATE OR DELETE ON generations_creditentry
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS credit_ledger_append_only ON generations_creditentry;
DROP FUNCTION IF EXISTS credit_ledger_append_only();
"""


def add_trigger(apps, schema_editor):
    # SQLite has no such guard here: its test databases are emptied with DELETE.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY)


class Migration(migrations.Migration):

    dependencies = [
        ('credits', '0001_initial'),
        ('generations', '0007_credits_move_out'),
        ('teams', '0003_credit_budgets'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BalanceSnapshot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credits', models.BigIntegerField(verbose_name='Rivya balance')),
                ('taken_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='taken')),
                ('ledger_total', models.BigIntegerField(verbose_name='ledger total')),
                ('ledger_last_id', models.BigIntegerField(blank=True, null=True, verbose_name='last ledger entry')),
            ],
            options={
                'verbose_name': 'balance snapshot',
                'verbose_name_plural': 'balance snapshots',
                'ordering': ['-taken_at', '-id'],
                'get_latest_by': ['taken_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='BudgetAlert',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(verbose_name='month')),
                ('threshold', models.PositiveSmallIntegerField(verbose_name='threshold (%)')),
                ('spent', models.PositiveIntegerField(verbose_name='spent and held')),
                ('limit', models.PositiveIntegerField(verbose_name='budget')),
                ('sent_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='sent')),
            ],
            options={
                'verbose_name': 'budget alert',
                'verbose_name_plural': 'budget alerts',
                'ordering': ['-sent_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='BudgetEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('team_budget', 'Team budget changed'), ('member_cap', 'Member cap changed'), ('month_started', 'Budget month started')], max_length=16, verbose_name='kind')),
                ('old_value', models.PositiveIntegerField(blank=True, null=True, verbose_name='before')),
                ('new_value', models.PositiveIntegerField(blank=True, null=True, verbose_name='after')),
                ('month', models.DateField(verbose_name='month')),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='when')),
            ],
            options={
                'verbose_name': 'budget event',
                'verbose_name_plural': 'budget events',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Hold',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('credits', models.PositiveIntegerField(verbose_name='credits')),
                ('state', models.CharField(choices=[('open', 'Open'), ('converted', 'Became the reservation'), ('released', 'Released')], default='open', max_length=16, verbose_name='state')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='taken')),
                ('ended_at', models.DateTimeField(blank=True, null=True, verbose_name='ended')),
            ],
            options={
                'verbose_name': 'budget hold',
                'verbose_name_plural': 'budget holds',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.AlterModelOptions(
            name='creditentry',
            options={'default_permissions': ('add', 'change', 'delete', 'view'), 'ordering': ['-created_at', '-id'], 'verbose_name': 'credit entry', 'verbose_name_plural': 'credit entries'},
        ),
        migrations.AddField(
            model_name='creditentry',
            name='made_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='made by'),
        ),
        migrations.AlterField(
            model_name='creditentry',
            name='generation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_entries', to='generations.generation', verbose_name='generation'),
        ),
        migrations.AlterField(
            model_name='creditentry',
            name='note',
            field=models.CharField(blank=True, max_length=255, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='creditentry',
            name='rivya_task_id',
            field=models.CharField(blank=True, max_length=128, verbose_name='Rivya task'),
        ),
        migrations.AlterField(
            model_name='creditentry',
            name='team',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_entries', to='teams.team', verbose_name='team'),
        ),
        migrations.AlterField(
            model_name='creditentry',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='credit_entries', to=settings.AUTH_USER_MODEL, verbose_name='member'),
        ),
        migrations.AddIndex(
            model_name='creditentry',
            index=models.Index(fields=['team', 'created_at'], name='credit_team_time'),
        ),
        migrations.AddIndex(
            model_name='creditentry',
            index=models.Index(fields=['user', 'created_at'], name='credit_user_time'),
        ),
        migrations.AddConstraint(
            model_name='creditentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind', 'adjustment'), models.Q(('generation__isnull', False), ('team__isnull', False), ('user__isnull', False)), _connector='OR'), name='credit_entry_names_its_generation'),
        ),
        migrations.AddConstraint(
            model_name='creditentry',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'adjustment'), _negated=True), models.Q(('made_by__isnull', False), models.Q(('note', ''), _negated=True)), _connector='OR'), name='credit_adjustment_has_reason'),
        ),
        migrations.AddField(
            model_name='budgetalert',
            name='member',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='member'),
        ),
        migrations.AddField(
            model_name='budgetalert',
            name='team',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='budget_alerts', to='teams.team', verbose_name='team'),
        ),
        migrations.AddField(
            model_name='budgetevent',
            name='changed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='changed by'),
        ),
        migrations.AddField(
            model_name='budgetevent',
            name='member',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='member'),
        ),
        migrations.AddField(
            model_name='budgetevent',
            name='team',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='budget_events', to='teams.team', verbose_name='team'),
        ),
        migrations.AddField(
            model_name='hold',
            name='generation',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='credit_hold', to='generations.generation', verbose_name='generation'),
        ),
        migrations.AddField(
            model_name='hold',
            name='team',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='credit_holds', to='teams.team', verbose_name='team'),
        ),
        migrations.AddField(
            model_name='hold',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='credit_holds', to=settings.AUTH_USER_MODEL, verbose_name='member'),
        ),
        migrations.AddConstraint(
            model_name='budgetalert',
            constraint=models.UniqueConstraint(condition=models.Q(('member__isnull', True)), fields=('team', 'month', 'threshold'), name='one_team_alert_per_threshold'),
        ),
        migrations.AddConstraint(
            model_name='budgetalert',
            constraint=models.UniqueConstraint(condition=models.Q(('member__isnull', False)), fields=('team', 'member', 'month', 'threshold'), name='one_member_alert_per_threshold'),
        ),
        migrations.AddConstraint(
            model_name='budgetevent',
            constraint=models.UniqueConstraint(condition=models.Q(('kind', 'month_started')), fields=('team', 'month'), name='one_month_start_per_team'),
        ),
        migrations.AddIndex(
            model_name='hold',
            index=models.Index(condition=models.Q(('state', 'open')), fields=['team', 'user'], name='credit_hold_open'),
        ),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
