"""The audit in the admin: the ledger and generations lists with their totals and CSV,
adjustments, the read-only records, and the "Credit auditors" group."""

import csv
import inspect
import io
import re
import tracemalloc
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from credits import export, ledger
from credits.models import BalanceSnapshot, BudgetAlert, BudgetEvent, CreditEntry, Hold
from generations.models import Generation, Status
from teams.models import Membership, Team

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
LEDGER = "/admin/credits/creditentry/"
GENERATIONS = "/admin/generations/generation/"
# Grouped by thousands as the page's language writes them ("1.234" in Vietnamese).
TOTAL = re.compile(r'data-total="(\w+)">(-?[\d.,]+)<')
EDIT_CONTROLS = ('name="_save"', 'name="_continue"', 'class="addlink"', 'class="deletelink"')


def at(day: int, month: int = 3, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def content(response) -> str:
    """The page without the admin's navigation sidebar (which lists other models)."""
    return response.text.split('<div id="content"', 1)[-1]


def totals(response) -> dict[str, int]:
    assert response.status_code == 200
    return {key: int(re.sub(r"[.,]", "", value)) for key, value in TOTAL.findall(response.text)}


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    assert text.startswith(export.BYTE_ORDER_MARK)
    return list(csv.reader(io.StringIO(text.removeprefix(export.BYTE_ORDER_MARK))))


def client_for(user) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1234")


@pytest.fixture
def root_client(root):
    return client_for(root)


@pytest.fixture
def auditor(django_user_model):
    user = django_user_model.objects.create_user("audrey", "audrey@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Credit auditors"))
    return user


@pytest.fixture
def books(django_user_model, root):
    """Two teams and a month and a bit of spending, with every amount known by hand.

    Studio (alice, bob): a kite (-50, +10 back at settlement), a bicycle (-40, refunded
    +40), a night market in April (-30, in flight), and a +25 adjustment. Harbour (carol):
    a paper boat (-70). Plus a +1000 top-up of the whole account.
    """
    users = {
        name: django_user_model.objects.create_user(name, f"{name}@example.com")
        for name in ("alice", "bob", "carol")
    }
    studio = Team.objects.create(name="Studio")
    harbour = Team.objects.create(name="Harbour")
    for name, team in (("alice", studio), ("bob", studio), ("carol", harbour)):
        Membership.objects.create(team=team, user=users[name], role=Membership.Role.MEMBER)

    def generation(team, user, prompt, task, when, status, reserved, final):
        return Generation.objects.create(
            team=team,
            created_by=users[user],
            prompt=prompt,
            rivya_task_id=task,
            created_at=when,
            status=status,
            reserved_credits=reserved,
            final_credits=final,
        )

    kite = generation(
        studio, "alice", "A kite over the sea", "task_k1", at(2), Status.READY, 50, 40
    )
    bike = generation(studio, "bob", "A red bicycle", "task_b2", at(10), Status.FAILED, 40, 0)
    market = generation(
        studio, "alice", "Night market", "task_n3", at(1, 4), Status.PROCESSING, 30, None
    )
    boat = generation(harbour, "carol", "A paper boat", "task_p4", at(5), Status.READY, 70, 70)
    steps = [
        (at(2), kite, CreditEntry.Kind.RESERVE, -50),
        (at(2, hour=11), kite, CreditEntry.Kind.SETTLE, 10),
        (at(10), bike, CreditEntry.Kind.RESERVE, -40),
        (at(11), bike, CreditEntry.Kind.REFUND, 40),
        (at(1, 4), market, CreditEntry.Kind.RESERVE, -30),
        (at(5), boat, CreditEntry.Kind.RESERVE, -70),
    ]
    for when, row, kind, amount in steps:
        with time_machine.travel(when, tick=False):
            ledger.record(row, kind, amount)
    with time_machine.travel(at(20), tick=False):
        ledger.adjust(amount=25, reason="Refund by Rivya support", made_by=root, team=studio)
    with time_machine.travel(at(21), tick=False):
        ledger.adjust(amount=1000, reason="Top-up", made_by=root)
    return {"studio": studio, "harbour": harbour, "market": market, **users}


# --- The ledger list ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_ledger_totals_match_the_books_for_each_filtered_set(root_client, books):
    studio, bob = books["studio"].pk, books["bob"].pk
    cases = [
        ({}, {"count": 8, "total": 885, "spent": -190, "returned": 1075}),
        ({"team__id__exact": studio}, {"count": 6, "total": -45, "spent": -120, "returned": 75}),
        (
            {"team__id__exact": studio, "created_at__year": 2026, "created_at__month": 3},
            {"count": 5, "total": -15, "spent": -90, "returned": 75},
        ),
        (
            {"team__id__exact": studio, "kind__exact": "reserve"},
            {"count": 3, "total": -120, "spent": -120, "returned": 0},
        ),
        ({"user__id__exact": bob}, {"count": 2, "total": 0, "spent": -40, "returned": 40}),
        ({"kind__exact": "adjustment"}, {"count": 2, "total": 1025, "spent": 0, "returned": 1025}),
        ({"q": "kite"}, {"count": 2, "total": -40, "spent": -50, "returned": 10}),
        ({"q": "task_b2"}, {"count": 2, "total": 0, "spent": -40, "returned": 40}),
        ({"q": "Rivya support"}, {"count": 1, "total": 25, "spent": 0, "returned": 25}),
        ({"q": "nothing like this"}, {"count": 0, "total": 0, "spent": 0, "returned": 0}),
    ]
    for params, expected in cases:
        assert totals(root_client.get(LEDGER, params)) == expected, params


@pytest.mark.django_db
def test_ledger_totals_are_one_aggregate_query_over_the_filtered_set(root_client, books):
    with CaptureQueriesContext(connection) as queries:
        response = root_client.get(LEDGER, {"team__id__exact": books["studio"].pk})
    assert totals(response)["count"] == 6
    sums = [q["sql"] for q in queries.captured_queries if "SUM(" in q["sql"].upper()]
    assert len(sums) == 1
    assert "COUNT(" in sums[0].upper()


@pytest.mark.django_db
def test_ledger_list_filters_by_team_member_kind_and_date(root_client, books):
    response = root_client.get(LEDGER)
    text = response.text
    for link in (
        f"?team__id__exact={books['studio'].pk}",
        f"?user__id__exact={books['alice'].pk}",
        "?kind__exact=refund",
        "created_at__gte=",
        "?created_at__month=3&amp;created_at__year=2026",
    ):
        assert link in text, link
    march = root_client.get(LEDGER, {"created_at__year": 2026, "created_at__month": 3})
    assert "task_n3" not in march.text and "task_k1" in march.text
    april = root_client.get(LEDGER, {"created_at__year": 2026, "created_at__month": 4})
    assert totals(april) == {"count": 1, "total": -30, "spent": -30, "returned": 0}
    bob = root_client.get(LEDGER, {"user__id__exact": books["bob"].pk})
    assert "task_b2" in bob.text and "task_k1" not in bob.text


@pytest.mark.django_db
def test_bad_filter_values_never_break_the_list_or_the_export(root_client, books):
    for params in (
        {"team__id__exact": "abc"},
        {"created_at__year": "soon"},
        {"created_at__month": "13", "created_at__year": "2026"},
        {"created_at__gte": "yesterday"},
        {"p": "999"},
        {"o": "x.y"},
    ):
        for url in (LEDGER, LEDGER + "export.csv", GENERATIONS, GENERATIONS + "export.csv"):
            response = root_client.get(url, params)
            assert response.status_code in {200, 302, 400}, (url, params)


# --- The generations list -----------------------------------------------------------------------


@pytest.mark.django_db
def test_generation_totals_match_the_books_for_each_filtered_set(root_client, books):
    studio = books["studio"].pk
    cases = [
        ({}, {"count": 4, "reserved": 190, "final": 110}),
        ({"team__id__exact": studio}, {"count": 3, "reserved": 120, "final": 40}),
        ({"created_by__id__exact": books["alice"].pk}, {"count": 2, "reserved": 80, "final": 40}),
        ({"status__exact": "ready"}, {"count": 2, "reserved": 120, "final": 110}),
        (
            {"created_at__year": 2026, "created_at__month": 3},
            {"count": 3, "reserved": 160, "final": 110},
        ),
        ({"q": "task_p4"}, {"count": 1, "reserved": 70, "final": 70}),
        ({"q": "bicycle"}, {"count": 1, "reserved": 40, "final": 0}),
    ]
    for params, expected in cases:
        assert totals(root_client.get(GENERATIONS, params)) == expected, params


@pytest.mark.django_db
def test_generations_list_filters_by_team_member_status_and_date(root_client, books):
    text = root_client.get(GENERATIONS).text
    for link in (
        f"?team__id__exact={books['studio'].pk}",
        f"?created_by__id__exact={books['carol'].pk}",
        "?status__exact=failed",
        "created_at__gte=",
        "?created_at__month=3&amp;created_at__year=2026",
    ):
        assert link in text, link


# --- CSV ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ledger_csv_is_the_filtered_list_with_its_columns(root_client, books):
    studio = books["studio"]
    response = root_client.get(
        LEDGER + "export.csv", {"team__id__exact": studio.pk, "kind__exact": "reserve"}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = datetime.now(UTC).date()
    assert response["Content-Disposition"] == (
        f'attachment; filename="credit-ledger-{today:%Y-%m-%d}.csv"'
    )
    rows = read_csv(response)
    assert rows[0] == list(export.LEDGER_COLUMNS)
    market, kite = books["market"], Generation.objects.get(rivya_task_id="task_k1")
    bike = Generation.objects.get(rivya_task_id="task_b2")
    body = [row[1:] for row in rows[1:]]  # without the entry ids
    assert body == [
        [
            "2026-04-01T10:00:00Z",
            str(studio.pk),
            "Studio",
            "alice",
            str(market.pk),
            "task_n3",
            "reserve",
            "-30",
            "",
            "",
        ],
        [
            "2026-03-10T10:00:00Z",
            str(studio.pk),
            "Studio",
            "bob",
            str(bike.pk),
            "task_b2",
            "reserve",
            "-40",
            "",
            "",
        ],
        [
            "2026-03-02T10:00:00Z",
            str(studio.pk),
            "Studio",
            "alice",
            str(kite.pk),
            "task_k1",
            "reserve",
            "-50",
            "",
            "",
        ],
    ]
    adjustments = read_csv(root_client.get(LEDGER + "export.csv", {"kind__exact": "adjustment"}))
    assert [row[1:] for row in adjustments[1:]] == [
        ["2026-03-21T10:00:00Z", "", "", "", "", "", "adjustment", "1000", "Top-up", "root"],
        [
            "2026-03-20T10:00:00Z",
            str(studio.pk),
            "Studio",
            "",
            "",
            "",
            "adjustment",
            "25",
            "Refund by Rivya support",
            "root",
        ],
    ]


@pytest.mark.django_db
def test_generations_csv_is_the_filtered_list_with_its_columns(root_client, books):
    harbour = books["harbour"]
    response = root_client.get(GENERATIONS + "export.csv", {"team__id__exact": harbour.pk})
    assert response["Content-Disposition"].startswith('attachment; filename="generations-')
    boat = Generation.objects.get(rivya_task_id="task_p4")
    assert read_csv(response) == [
        list(export.GENERATION_COLUMNS),
        [
            str(boat.pk),
            "2026-03-05T10:00:00Z",
            str(harbour.pk),
            "Harbour",
            "carol",
            "task_p4",
            "ready",
            "70",
            "70",
            "",
            "",
            "A paper boat",
        ],
    ]


@pytest.mark.django_db
def test_export_links_keep_the_lists_filters(root_client, books):
    studio = books["studio"].pk
    response = root_client.get(LEDGER, {"team__id__exact": studio, "q": "kite", "p": "1"})
    assert f'href="{LEDGER}export.csv?q=kite&amp;team__id__exact={studio}"' in response.text
    response = root_client.get(GENERATIONS, {"status__exact": "ready"})
    assert f'href="{GENERATIONS}export.csv?status__exact=ready"' in response.text


@pytest.mark.django_db
def test_csv_is_streamed_from_a_generator_reading_rows_only_while_sent(root_client, books):
    assert inspect.isgenerator(export.ledger_rows(CreditEntry.objects.all()))
    assert inspect.isgenerator(export.generation_rows(Generation.objects.all()))
    assert inspect.isgenerator(export.csv_lines([["a"]]))
    with CaptureQueriesContext(connection) as asked:
        response = root_client.get(LEDGER + "export.csv")
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    assert not any("rivya_task_id" in q["sql"] for q in asked.captured_queries)
    with CaptureQueriesContext(connection) as sent:
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert any("rivya_task_id" in q["sql"] for q in sent.captured_queries)
    assert len(rows) == 1 + 8


def add_adjustments(count: int, made_by) -> None:
    CreditEntry.objects.bulk_create(
        (
            CreditEntry(
                kind=CreditEntry.Kind.ADJUSTMENT,
                amount=-(n % 90 + 1),
                note=f"Correction number {n} for the books of the quarter",
                made_by=made_by,
            )
            for n in range(count)
        ),
        batch_size=1000,
    )


def peak_while_streaming(client: Client) -> tuple[int, int]:
    """Peak traced memory while reading the whole CSV, and its number of lines."""
    response = client.get(LEDGER + "export.csv")
    lines = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        return tracemalloc.get_traced_memory()[1], lines
    finally:
        tracemalloc.stop()


@pytest.mark.django_db
def test_csv_streams_with_bounded_memory(root_client, root):
    add_adjustments(2_000, root)
    small, lines = peak_while_streaming(root_client)
    assert lines == 1 + 2_000
    add_adjustments(18_000, root)
    large, lines = peak_while_streaming(root_client)
    assert lines == 1 + 20_000
    # Ten times the rows; holding them would take ten times the memory.
    assert large < small * 2, (small, large)


@pytest.mark.django_db
def test_csv_cells_a_spreadsheet_would_run_are_quoted(root_client, root):
    team = Team.objects.create(name="=Evil team")
    user = Membership.objects.create(
        team=team,
        user=type(root).objects.create_user("@mallory"),
        role=Membership.Role.MEMBER,
    ).user
    generation = Generation.objects.create(
        team=team, created_by=user, prompt='=HYPERLINK("http://x.test","click")', status="ready"
    )
    ledger.record(generation, CreditEntry.Kind.RESERVE, -55)
    for note in ("+SUM(A1:A9)", "-2+3", "@cmd", "Fine = fine"):
        ledger.adjust(amount=-1, reason=note, made_by=root, team=team)

    rows = read_csv(root_client.get(LEDGER + "export.csv"))
    notes = [row[9] for row in rows[1:] if row[7] == "adjustment"]
    assert sorted(notes) == sorted(["'+SUM(A1:A9)", "'-2+3", "'@cmd", "Fine = fine"])
    reserve = next(row for row in rows[1:] if row[7] == "reserve")
    assert (reserve[3], reserve[4], reserve[8]) == ("'=Evil team", "'@mallory", "-55")
    prompts = read_csv(root_client.get(GENERATIONS + "export.csv"))
    assert prompts[1][-1] == '\'=HYPERLINK("http://x.test","click")'
    assert [export.cell(v) for v in ("\tx", "\rx", "", -5, None)] == ["'\tx", "'\rx", "", -5, ""]


# --- Adjustments and immutability ---------------------------------------------------------------


def adjust(client, **data):
    return client.post(LEDGER + "add/", data)


@pytest.mark.django_db
def test_staff_with_the_add_permission_record_an_adjustment_as_themselves(django_user_model, books):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="credits",
            codename__in=["add_creditentry", "view_creditentry"],
        )
    )
    client = client_for(clerk)
    assert 'name="reason"' in client.get(LEDGER + "add/").text
    studio, alice = books["studio"], books["alice"]

    response = adjust(client, amount="-12", reason="  Double charge at Rivya  ", team=studio.pk)

    assert response.status_code == 302
    entry = CreditEntry.objects.get(made_by=clerk)
    assert (entry.kind, entry.amount, entry.note, entry.team, entry.user) == (
        "adjustment",
        -12,
        "Double charge at Rivya",
        studio,
        None,
    )
    adjust(client, amount="7", reason="Support credit", team=studio.pk, user=alice.pk)
    assert CreditEntry.objects.get(made_by=clerk, amount=7).user == alice


@pytest.mark.django_db
def test_an_adjustment_needs_a_reason_an_amount_and_a_team_for_a_member(root_client, books):
    before = CreditEntry.objects.count()
    cases = [
        ({"amount": "10", "reason": ""}, "reason", "This field is required."),
        ({"amount": "10", "reason": "   "}, "reason", "This field is required."),
        ({"amount": "0", "reason": "Nothing"}, "amount", "changes nothing"),
        ({"amount": "", "reason": "Nothing"}, "amount", "This field is required."),
        ({"amount": "ten", "reason": "Nothing"}, "amount", "Enter a whole number."),
        ({"amount": "9" * 30, "reason": "Big"}, "amount", "less than or equal to"),
        (
            {"amount": "5", "reason": "For alice", "user": books["alice"].pk},
            "team",
            "Choose the team",
        ),
        ({"amount": "5", "reason": "x" * 256}, "reason", "at most 255 characters"),
    ]
    for data, field, message in cases:
        response = adjust(root_client, **data)
        assert response.status_code == 200, data
        assert field in response.context["adminform"].form.errors, data
        assert message in response.text, data
    assert CreditEntry.objects.count() == before


@pytest.mark.django_db
def test_no_entry_can_be_changed_or_deleted_even_by_a_superuser(root_client, books):
    reserve = CreditEntry.objects.filter(kind="reserve").first()
    adjustment = CreditEntry.objects.filter(kind="adjustment").first()
    books_before = list(CreditEntry.objects.values_list("pk", "amount", "note", "kind"))
    for entry in (reserve, adjustment):
        change = f"{LEDGER}{entry.pk}/change/"
        page = root_client.get(change)
        assert page.status_code == 200
        assert not any(control in content(page) for control in EDIT_CONTROLS)
        assert 'name="amount"' not in page.text
        assert root_client.post(change, {"amount": "1", "note": "edited"}).status_code == 403
        assert root_client.get(f"{LEDGER}{entry.pk}/delete/").status_code == 403
        assert root_client.post(f"{LEDGER}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    refused = root_client.post(
        LEDGER, {"action": "delete_selected", "_selected_action": [reserve.pk, adjustment.pk]}
    )
    assert refused.status_code == 403
    assert list(CreditEntry.objects.values_list("pk", "amount", "note", "kind")) == books_before


@pytest.mark.django_db
def test_snapshots_holds_events_and_alerts_are_view_only_for_everyone(root_client, records):
    for name, url in records.items():
        if name == "creditentry":
            continue
        page = root_client.get(url)
        assert page.status_code == 200
        assert not any(control in content(page) for control in EDIT_CONTROLS), url
        assert root_client.post(url, {}).status_code == 403, url
        assert root_client.post(url.replace("/change/", "/delete/"), {}).status_code == 403
        add = url.rsplit("/", 3)[0] + "/add/"
        assert root_client.get(add).status_code == 403, add


# --- The credit auditors ------------------------------------------------------------------------


@pytest.fixture
def records(books, root):
    """One of each credit record, by the URL of its admin page."""
    snapshot = BalanceSnapshot.objects.create(credits=9000, ledger_total=885, ledger_last_id=8)
    hold = Hold.objects.create(
        generation=books["market"], team=books["studio"], user=books["alice"], credits=30
    )
    event = BudgetEvent.objects.create(
        team=books["studio"],
        kind=BudgetEvent.Kind.TEAM_BUDGET,
        old_value=None,
        new_value=500,
        month=date(2026, 3, 1),
        changed_by=root,
    )
    alert = BudgetAlert.objects.create(
        team=books["studio"], month=date(2026, 3, 1), threshold=50, spent=260, limit=500
    )
    entry = CreditEntry.objects.filter(kind="reserve").first()
    return {
        "creditentry": f"{LEDGER}{entry.pk}/change/",
        "balancesnapshot": f"/admin/credits/balancesnapshot/{snapshot.pk}/change/",
        "hold": f"/admin/credits/hold/{hold.pk}/change/",
        "budgetevent": f"/admin/credits/budgetevent/{event.pk}/change/",
        "budgetalert": f"/admin/credits/budgetalert/{alert.pk}/change/",
    }


def audited_pages(books, records) -> dict[str, str]:
    """Every page of the audit, by name: lists (plain and filtered), details, histories
    and exports."""
    kite = Generation.objects.get(rivya_task_id="task_k1")
    details = {
        **records,
        "generation": f"{GENERATIONS}{kite.pk}/change/",
        "team": f"/admin/teams/team/{books['studio'].pk}/change/",
    }
    filtered = {
        "creditentry": f"?team__id__exact={books['studio'].pk}&created_at__year=2026",
        "balancesnapshot": "?taken_at__year=2026",
        "hold": "?state__exact=open",
        "budgetevent": "?kind__exact=team_budget",
        "budgetalert": "?threshold=50",
        "generation": "?status__exact=ready&q=kite",
        "team": "?q=Studio",
    }
    pages = {"index": "/admin/", "credits": "/admin/credits/"}
    for name, url in details.items():
        listing = url.rsplit("/", 3)[0] + "/"
        pages[f"{name} list"] = listing
        pages[f"{name} filtered"] = listing + filtered[name]
        pages[name] = url
        pages[f"{name} history"] = url.replace("/change/", "/history/")
    pages["dashboard"] = reverse("credit_dashboard")
    pages["dashboard of march"] = reverse("credit_dashboard") + "?month=2026-03"
    pages["reconciliation"] = reverse("credit_reconciliation")
    pages["ledger csv"] = LEDGER + "export.csv?kind__exact=reserve"
    pages["generations csv"] = GENERATIONS + "export.csv"
    return pages


@pytest.mark.django_db
def test_the_auditors_group_may_view_credits_generations_and_teams_only():
    group = Group.objects.get(name="Credit auditors")
    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }
    assert granted == {
        "credits.view_creditentry",
        "credits.view_balancesnapshot",
        "credits.view_hold",
        "credits.view_budgetevent",
        "credits.view_budgetalert",
        "generations.view_generation",
        "teams.view_team",
        "teams.view_membership",
    }


@pytest.mark.django_db
def test_an_auditor_sees_every_audit_page_without_a_control_to_change_anything(
    auditor, books, records
):
    client = client_for(auditor)
    for name, url in audited_pages(books, records).items():
        response = client.get(url)
        assert response.status_code == 200, name
        if isinstance(response, StreamingHttpResponse):
            assert len(read_csv(response)) > 1, name
            continue
        assert not any(control in content(response) for control in EDIT_CONTROLS), name
        assert 'name="action"' not in response.text, name
    index = client.get("/admin/").text
    for listing in (
        LEDGER,
        GENERATIONS,
        "/admin/teams/team/",
        "/admin/credits/hold/",
        reverse("credit_dashboard"),
        reverse("credit_reconciliation"),
    ):
        assert f'href="{listing}"' in index, listing
    generations = client.get(GENERATIONS).text
    assert "ask_rivya_again" not in generations
    assert "Export CSV" in generations
    assert "Record an adjustment" not in client.get(LEDGER).text


@pytest.mark.django_db
def test_an_auditor_can_change_nothing(auditor, books, records):
    client = client_for(auditor)
    stuck = Generation.objects.create(
        team=books["studio"],
        created_by=books["alice"],
        prompt="Stuck",
        status=Status.ATTENTION,
        error_code="create_unconfirmed",
    )
    details = {
        **records,
        "generation": f"{GENERATIONS}{stuck.pk}/change/",
        "team": f"/admin/teams/team/{books['studio'].pk}/change/",
    }
    before = (CreditEntry.objects.count(), Team.objects.count(), Generation.objects.count())
    for name, url in details.items():
        listing = url.rsplit("/", 3)[0] + "/"
        assert client.get(listing + "add/").status_code == 403, name
        assert client.post(listing + "add/", {"amount": "5", "reason": "x"}).status_code == 403
        assert client.post(url, {"name": "Renamed", "prompt": "x"}).status_code == 403, name
        assert client.get(url.replace("/change/", "/delete/")).status_code == 403, name
        assert client.post(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 403
    for action in ("ask_rivya_again", "copy_again", "delete_selected"):
        response = client.post(GENERATIONS, {"action": action, "_selected_action": [stuck.pk]})
        assert response.status_code == 403, action
    response = client.post(
        "/admin/teams/team/",
        {"action": "delete_selected", "_selected_action": [books["studio"].pk]},
    )
    assert response.status_code in {200, 403}
    assert (CreditEntry.objects.count(), Team.objects.count(), Generation.objects.count()) == before
    stuck.refresh_from_db()
    assert stuck.status == Status.ATTENTION
    assert Team.objects.get(pk=books["studio"].pk).name == "Studio"


@pytest.mark.django_db
def test_plain_staff_outside_the_group_see_no_audit_page(django_user_model, books):
    client = client_for(django_user_model.objects.create_user("intern", is_staff=True))
    for url in (LEDGER, LEDGER + "export.csv", GENERATIONS, GENERATIONS + "export.csv"):
        assert client.get(url).status_code == 403, url
    member = client_for(books["alice"])
    assert member.get(LEDGER + "export.csv").status_code == 302  # to the admin's login


# --- In a browser -------------------------------------------------------------------------------

CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_ledger_fits_a_1366_pixel_screen_without_sideways_scrolling(
    page, live_server, settings, root, django_user_model, language
):
    team = Team.objects.create(name="Marketing và Tăng trưởng")
    user = django_user_model.objects.create_user("nguyen.thi.minh.anh")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
    for n in range(5):
        generation = Generation.objects.create(
            team=team,
            created_by=user,
            prompt="Một con diều đỏ bay trên cánh đồng lúa lúc hoàng hôn, máy quay lia chậm",
            rivya_task_id=f"task_01JDQ3ZK7W9XG5M2N8R4T6V0Y{n}",
            status=Status.READY,
        )
        ledger.record(generation, CreditEntry.Kind.RESERVE, -1250)
        ledger.record(generation, CreditEntry.Kind.SETTLE, 125)
    ledger.adjust(
        amount=-100000,
        reason="Rivya's support took back a refund they had given twice in March",
        made_by=root,
        team=team,
        user=user,
    )
    client = Client()
    client.force_login(root)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.add_init_script(CSP_WATCH)
    page.set_extra_http_headers({"Accept-Language": language})
    page.set_viewport_size({"width": 1366, "height": 768})

    page.goto(f"{live_server.url}{LEDGER}")

    assert page.locator("table.audit-totals td[data-total=count]").inner_text() == "11"
    widths = page.evaluate(
        """() => {
          const results = document.querySelector("#changelist .results");
          return [results.scrollWidth, results.clientWidth,
                  document.documentElement.scrollWidth, window.innerWidth];
        }"""
    )
    assert widths[0] <= widths[1], widths
    assert widths[2] <= widths[3], widths
    assert page.evaluate("window.__cspViolations") == []
