"""The credit ledger is append-only at every level: the model, its querysets, the admin
and, on PostgreSQL, the database itself. Adding stays possible, and an adjustment carries
its reason and its author."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, ProtectedError

from credits import ledger
from credits.models import CreditEntry, LedgerIsAppendOnly
from generations.models import Generation

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger exists on PostgreSQL only; SQLite test databases are "
    "emptied with DELETE",
)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("auditor", "auditor@example.com", is_staff=True)


@pytest.fixture
def spent(add_generation):
    generation = add_generation(rivya_task_id="task_abc", reserved_credits=55)
    ledger.record(generation, CreditEntry.Kind.RESERVE, -55)
    return generation


@pytest.fixture
def entry(spent):
    return CreditEntry.objects.get(generation=spent)


def unchanged(entry) -> bool:
    """The row in the database is still exactly the entry as it was recorded."""
    stored = CreditEntry.objects.values("kind", "amount", "note", "rivya_task_id").get(pk=entry.pk)
    return stored == {"kind": "reserve", "amount": -55, "note": "", "rivya_task_id": "task_abc"}


def same_id(entry, generation) -> CreditEntry:
    """A new, unsaved entry that carries ``entry``'s id and a different amount."""
    return CreditEntry(
        pk=entry.pk,
        kind="reserve",
        amount=0,
        team_id=generation.team_id,
        user_id=generation.created_by_id,
        generation=generation,
    )


# --- the model -------------------------------------------------------------------------------


def test_saving_an_existing_entry_is_refused(entry):
    entry.amount = 0
    with pytest.raises(LedgerIsAppendOnly, match="append-only"):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.save(update_fields=["amount"])
    assert unchanged(entry)


def test_deleting_an_entry_is_refused(entry):
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    assert unchanged(entry)


def test_an_entry_saved_again_under_an_existing_id_is_refused(entry, spent):
    # A new instance carrying an existing id must not overwrite that row.
    copy = same_id(entry, spent)
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()
    assert unchanged(entry)


# --- querysets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda qs, e: qs.update(amount=0),
        lambda qs, e: qs.filter(pk=e.pk).update(amount=F("amount") + 55),
        lambda qs, e: qs.delete(),
        lambda qs, e: qs.filter(kind="reserve").delete(),
        lambda qs, e: qs.bulk_update([e], ["amount"]),
        lambda qs, e: qs.update_or_create(pk=e.pk, defaults={"amount": 0}),
        lambda qs, e: qs.select_for_update().filter(pk=e.pk).update(note="x"),
    ],
    ids=["update", "update F", "delete", "filtered delete", "bulk_update", "update_or_create",
         "select_for_update update"],
)  # fmt: skip
def test_queryset_changes_are_refused(entry, change):
    entry.amount = 0
    with pytest.raises(LedgerIsAppendOnly), transaction.atomic():
        change(CreditEntry.objects.all(), entry)
    assert unchanged(entry)


def test_related_managers_refuse_changes_too(entry, spent):
    with pytest.raises(LedgerIsAppendOnly):
        spent.credit_entries.update(amount=0)
    with pytest.raises(LedgerIsAppendOnly):
        spent.team.credit_entries.all().delete()
    with pytest.raises(LedgerIsAppendOnly):
        spent.created_by.credit_entries.filter(kind="reserve").delete()
    assert unchanged(entry)


def test_whatever_has_entries_cannot_be_deleted(entry, spent):
    with pytest.raises(ProtectedError), transaction.atomic():
        Generation.objects.filter(pk=spent.pk).delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        spent.team.delete()
    with pytest.raises(ProtectedError), transaction.atomic():
        spent.created_by.delete()
    assert unchanged(entry)


# --- the admin -------------------------------------------------------------------------------


@pytest.fixture
def superuser_client(client, django_user_model, fast_passwords):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-1234-root")
    client.force_login(root)
    return client


def test_a_superuser_sees_an_entry_read_only_in_the_admin(superuser_client, entry):
    response = superuser_client.get(f"/admin/credits/creditentry/{entry.pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.text
    assert 'name="amount"' not in response.text
    assert f"/admin/credits/creditentry/{entry.pk}/delete/" not in response.text


def test_a_superuser_cannot_change_or_delete_an_entry_in_the_admin(superuser_client, entry):
    change = superuser_client.post(
        f"/admin/credits/creditentry/{entry.pk}/change/",
        {"kind": "reserve", "amount": "0", "note": "edited"},
    )
    assert change.status_code == 403
    assert superuser_client.get(f"/admin/credits/creditentry/{entry.pk}/delete/").status_code == 403
    delete = superuser_client.post(
        f"/admin/credits/creditentry/{entry.pk}/delete/", {"post": "yes"}
    )
    assert delete.status_code == 403
    assert unchanged(entry)


def test_the_admin_offers_no_bulk_delete_of_entries(superuser_client, entry):
    listing = superuser_client.get("/admin/credits/creditentry/")
    assert listing.status_code == 200
    assert "delete_selected" not in listing.text
    superuser_client.post(
        "/admin/credits/creditentry/",
        {"action": "delete_selected", "_selected_action": [str(entry.pk)], "post": "yes"},
    )
    assert unchanged(entry)


# --- the database (PostgreSQL) ---------------------------------------------------------------


def raw(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@postgres_only
def test_raw_sql_update_is_refused_by_the_trigger(entry):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        raw("UPDATE generations_creditentry SET amount = 0 WHERE id = %s", [entry.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        raw("UPDATE generations_creditentry SET note = 'quietly'", [])
    assert unchanged(entry)


@postgres_only
def test_raw_sql_delete_is_refused_by_the_trigger(entry):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
        raw("DELETE FROM generations_creditentry WHERE id = %s", [entry.pk])
    assert unchanged(entry)


@postgres_only
def test_an_upsert_over_an_entry_is_refused_by_the_trigger(entry):
    # INSERT … ON CONFLICT DO UPDATE changes the existing row: the trigger stops it too.
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        raw(
            "INSERT INTO generations_creditentry "
            "(id, team_id, user_id, generation_id, kind, amount, rivya_task_id, note, created_at) "
            "SELECT id, team_id, user_id, generation_id, kind, 0, rivya_task_id, note, created_at "
            "FROM generations_creditentry WHERE id = %s "
            "ON CONFLICT (id) DO UPDATE SET amount = EXCLUDED.amount",
            [entry.pk],
        )
    assert unchanged(entry)


def test_an_upsert_through_bulk_create_is_refused(entry, spent):
    copy = same_id(entry, spent)
    with pytest.raises(LedgerIsAppendOnly), transaction.atomic():
        CreditEntry.objects.bulk_create(
            [copy], update_conflicts=True, unique_fields=["id"], update_fields=["amount"]
        )
    assert unchanged(entry)


def test_djangos_base_manager_refuses_changes_too(entry):
    # What Django uses internally (related objects, refresh) is the same guarded queryset.
    with pytest.raises(LedgerIsAppendOnly), transaction.atomic():
        CreditEntry._base_manager.filter(pk=entry.pk).update(amount=0)
    with pytest.raises(LedgerIsAppendOnly), transaction.atomic():
        CreditEntry._base_manager.filter(pk=entry.pk).delete()
    assert unchanged(entry)


# --- adding stays possible -------------------------------------------------------------------


def test_entries_can_still_be_added(entry, spent, staff):
    ledger.record(spent, CreditEntry.Kind.SETTLE, 0, note="final 55")
    CreditEntry.objects.bulk_create(
        [CreditEntry(kind="adjustment", amount=100, note="Top-up in Rivya", made_by=staff)]
    )
    adjusted = ledger.adjust(amount=-3, reason="Rounding at Rivya", made_by=staff)
    kinds = sorted(CreditEntry.objects.values_list("kind", flat=True))
    assert kinds == ["adjustment", "adjustment", "reserve", "settle"]
    assert adjusted.made_by == staff and adjusted.note == "Rounding at Rivya"


def test_the_same_step_recorded_twice_is_one_entry(entry, spent):
    assert not ledger.record(spent, CreditEntry.Kind.RESERVE, -55)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditEntry.objects.create(
            kind="reserve",
            amount=-55,
            team_id=spent.team_id,
            user_id=spent.created_by_id,
            generation=spent,
        )
    assert CreditEntry.objects.filter(generation=spent).count() == 1


# --- what the database insists on ------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "with_author"),
    [("", True), ("Top-up in Rivya", False), ("", False)],
    ids=["no reason", "no author", "neither"],
)
def test_an_adjustment_needs_a_reason_and_an_author_even_outside_adjust(staff, note, with_author):
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditEntry.objects.create(
            kind="adjustment", amount=100, note=note, made_by=staff if with_author else None
        )
    assert not CreditEntry.objects.exists()


def test_adjust_refuses_a_blank_reason_or_no_credits(staff):
    with pytest.raises(ValueError, match="reason"):
        ledger.adjust(amount=100, reason="   ", made_by=staff)
    with pytest.raises(ValueError, match="zero"):
        ledger.adjust(amount=0, reason="Nothing", made_by=staff)
    assert not CreditEntry.objects.exists()


@pytest.mark.parametrize("missing", ["team", "user", "generation"])
def test_a_lifecycle_entry_names_its_team_member_and_generation(spent, missing):
    fields = {"team_id": spent.team_id, "user_id": spent.created_by_id, "generation": spent}
    fields[missing if missing == "generation" else f"{missing}_id"] = None
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditEntry.objects.create(kind="settle", amount=0, **fields)
    assert not CreditEntry.objects.filter(kind="settle").exists()
