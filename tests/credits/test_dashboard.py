"""The credit dashboard: its numbers against a month worked out by hand, its chart, and who
may see it.

The month is March 2026 in Vietnam's time (UTC+7), so local days and months differ from
UTC ones: an entry at 00:30 on 1 March is still February in UTC, one at 00:10 on 1 April
is still March in UTC. Every figure asserted below is computed in the comments.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from credits import audit, ledger, usage
from credits.models import BudgetEvent, CreditEntry, Hold
from generations.models import Generation, Status
from teams.models import Membership, Team
from tests.credits.test_audit_admin import CSP_WATCH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "vietnam")]

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = date(2026, 3, 1)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
DASHBOARD = "/admin/credits/dashboard/"
RECONCILIATION = "/admin/credits/reconciliation/"
PAGES = [DASHBOARD, RECONCILIATION]
SVG = "{http://www.w3.org/2000/svg}"
Kind = CreditEntry.Kind


def at(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VN)


@pytest.fixture
def vietnam(settings):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


# --- Builders ------------------------------------------------------------------------------


@dataclass
class Spend:
    """A generation and its ledger entries, each written at its own moment."""

    team: Team
    user: object
    reserve: int
    reserved_at: datetime
    back: int | None = None
    back_kind: str = Kind.SETTLE
    back_at: datetime | None = None
    task: str = "task"

    def make(self) -> Generation:
        generation = Generation.objects.create(
            team=self.team,
            created_by=self.user,
            prompt=f"{self.user} in {self.team}",
            status=Status.PROCESSING,
            rivya_task_id=self.task,
            reserved_credits=self.reserve,
        )
        with time_machine.travel(self.reserved_at, tick=False):
            ledger.record(generation, Kind.RESERVE, -self.reserve)
        if self.back is not None:
            with time_machine.travel(self.back_at, tick=False):
                ledger.record(generation, self.back_kind, self.back)
        return generation


def adjustment(at_: datetime, amount: int, by, team=None, user=None) -> CreditEntry:
    with time_machine.travel(at_, tick=False):
        return ledger.adjust(amount=amount, reason="test", made_by=by, team=team, user=user)


def member_of(team: Team, user, cap: int | None = None) -> Membership:
    return Membership.objects.create(team=team, user=user, monthly_credit_cap=cap)


def budget_event(team: Team, when: datetime, old: int | None, new: int | None) -> BudgetEvent:
    return BudgetEvent.objects.create(
        team=team,
        kind=BudgetEvent.Kind.TEAM_BUDGET,
        old_value=old,
        new_value=new,
        month=when.date().replace(day=1),
        at=when,
    )


@pytest.fixture
def march(django_user_model, staff):
    """Three teams, three people (bob in two teams) and a month of spending around March."""
    alice, bob, carol = (
        django_user_model.objects.create_user(name, f"{name}@example.com", "pw")
        for name in ("alice", "bob", "carol")
    )
    studio = Team.objects.create(name="Studio", monthly_credit_budget=1000)
    lab = Team.objects.create(name="Lab", monthly_credit_budget=500)
    quiet = Team.objects.create(name="Quiet", monthly_credit_budget=200)
    member_of(studio, alice)
    member_of(studio, bob)
    member_of(lab, carol)
    member_of(lab, bob, cap=50)
    # Studio's budget went 800 -> 1000 on 25 March; Lab's 300 -> 500 on 5 April.
    budget_event(studio, at(3, 25, 9, 0), 800, 1000)
    budget_event(lab, at(4, 5, 9, 0), 300, 500)
    spends = [
        # February (local): not in March.
        Spend(studio, alice, 100, at(2, 28, 23, 30), 0, back_at=at(2, 28, 23, 40), task="g1"),
        # 1 March 00:30 local is 28 February 17:30 UTC: March, day 1.
        Spend(studio, alice, 50, at(3, 1, 0, 30), 0, back_at=at(3, 1, 0, 40), task="g2"),
        Spend(studio, bob, 70, at(3, 1, 10, 0), 10, back_at=at(3, 1, 10, 5), task="g3"),
        # Failed: everything back (a failed-and-refunded generation).
        Spend(lab, carol, 80, at(3, 2, 9, 0), 80, Kind.REFUND, at(3, 2, 9, 10), task="g4"),
        # Failed but charged in full: a refund of 0, not a refunded generation.
        Spend(lab, bob, 40, at(3, 2, 23, 59), 0, Kind.REFUND, at(3, 3, 0, 10), task="g5"),
        # Still in flight on the last evening of March.
        Spend(studio, alice, 30, at(3, 31, 23, 50), task="g6"),
        # 1 April 00:10 local is 31 March 17:10 UTC: April.
        Spend(lab, carol, 25, at(4, 1, 0, 10), task="g7"),
    ]
    generations = [spend.make() for spend in spends]
    adjustment(at(3, 15, 12, 0), 20, staff, team=lab)  # credits back to Lab
    adjustment(at(3, 20, 8, 0), 1000, staff)  # a top-up of the whole account
    # A submission waiting for Rivya holds 25 of Studio's budget (alice's).
    waiting = Generation.objects.create(team=studio, created_by=alice, prompt="waiting")
    Hold.objects.create(generation=waiting, team=studio, user=alice, credits=25)
    return SimpleNamespace(
        alice=alice,
        bob=bob,
        carol=carol,
        studio=studio,
        lab=lab,
        quiet=quiet,
        generations=generations,
    )


def by_team(data: audit.Dashboard) -> dict[str, audit.TeamRow]:
    return {row.name: row for row in data.teams}


# --- The numbers ---------------------------------------------------------------------------


def test_spend_per_team_matches_the_hand_computed_month(march):
    data = audit.dashboard(MARCH)
    teams = by_team(data)
    # Studio: -50 + 0 (g2), -70 + 10 (g3), -30 (g6) = -140.
    # Lab: -80 + 80 (g4), -40 + 0 (g5), +20 (adjustment) = -20. Quiet: nothing, but a budget.
    assert [row.name for row in data.teams] == ["Studio", "Lab", "Quiet"]
    assert (teams["Studio"].tally.spent, teams["Lab"].tally.spent) == (140, 20)
    assert teams["Quiet"].tally.spent == 0
    assert (teams["Studio"].tally.reservations, teams["Lab"].tally.reservations) == (3, 2)
    # Only g4 got credits back; g5's refund of 0 is not a refund.
    assert (teams["Studio"].tally.refunded, teams["Lab"].tally.refunded) == (0, 1)
    # The dashboard and the budget code agree on spend.
    for team in (march.studio, march.lab, march.quiet):
        assert teams[team.name].tally.spent == usage.spent(team.pk, MARCH)


def test_spend_per_member_and_top_spenders(march):
    data = audit.dashboard(MARCH)
    members = [
        (row.username, row.team_name, row.tally.spent, row.tally.reservations, row.tally.refunded)
        for row in data.members
    ]
    assert members == [
        ("alice", "Studio", 80, 2, 0),  # 50 + 30
        ("bob", "Studio", 60, 1, 0),  # 70 - 10
        ("bob", "Lab", 40, 1, 0),  # 40 - 0
        ("carol", "Lab", 0, 1, 1),  # 80 - 80
    ]
    top = [(p.username, p.tally.spent, p.tally.reservations, p.teams) for p in data.top_spenders]
    # bob spends in two teams: 60 + 40. carol spent nothing and is no top spender.
    assert top == [("bob", 100, 2, 2), ("alice", 80, 2, 1)]


def test_spend_per_local_day_covers_every_day_of_the_month(march):
    data = audit.dashboard(MARCH)
    days = {day.day.day: day.spent for day in data.days}
    assert [day.day for day in data.days] == [date(2026, 3, n) for n in range(1, 32)]
    # 1 March: 50 - 0 + 70 - 10. 2 March: 80 - 80 + 40 (23:59). 3 March: the refund of 0.
    # 15 March: Lab's adjustment of +20. 31 March: 30 at 23:50. The top-up is no team's.
    spent = {1: 110, 2: 40, 15: -20, 31: 30}
    assert days == {n: spent.get(n, 0) for n in range(1, 32)}
    assert sum(days.values()) == data.totals.tally.spent


@pytest.mark.parametrize("zone", ["Asia/Kathmandu", "America/St_Johns", "UTC"])
def test_days_follow_the_time_zone_to_the_minute(zone, settings, owner, staff):
    """Kathmandu is UTC+5:45, St John's UTC-2:30 in March (after its DST change on the 8th):
    local midnight is no whole UTC hour, yet every quarter hour lies inside one local day."""
    settings.TIME_ZONE = zone
    local = ZoneInfo(zone)
    team = Team.objects.create(name="Night shift")
    for day, hour, minute, credits in [(1, 23, 59, 7), (2, 0, 0, 11), (2, 23, 44, 13)]:
        moment = datetime(2026, 3, day, hour, minute, 59, 999_000, tzinfo=local)
        adjustment(moment, -credits, staff, team=team)
    days = {day.day.day: day.spent for day in audit.dashboard(MARCH).days if day.spent}
    assert days == {1: 7, 2: 24}


def test_totals_count_reservations_refunds_and_adjustments(march):
    totals = audit.dashboard(MARCH).totals
    assert totals.tally.spent == 160  # 140 + 20
    assert totals.reserved == 270  # 50 + 70 + 80 + 40 + 30
    assert totals.returned == 90  # 0 + 10 + 80 + 0
    assert totals.adjusted == 1020  # Lab's 20 and the account's top-up of 1000
    assert (totals.tally.reservations, totals.tally.refunded) == (5, 1)


def test_budget_use_of_a_past_month_uses_the_budgets_then_and_no_holds(march):
    teams = by_team(audit.dashboard(MARCH))
    # Studio's 1000 was set on 25 March; Lab's budget was 300 until 5 April.
    assert teams["Studio"].budget == usage.Usage(1000, 140, 0)
    assert teams["Lab"].budget == usage.Usage(300, 20, 0)
    assert teams["Quiet"].budget == usage.Usage(200, 0, 0)
    assert (teams["Studio"].budget.percent, teams["Lab"].budget.percent) == (14, 6)
    caps = {(row.username, row.team_name): row.cap for row in audit.dashboard(MARCH).members}
    assert caps[("bob", "Lab")] == usage.Usage(50, 40, 0)
    assert caps[("bob", "Studio")] is None


def test_budget_use_of_the_current_month_counts_open_holds(march):
    with time_machine.travel(at(3, 20, 12, 0), tick=False):
        teams = by_team(audit.dashboard(MARCH))
    # On 20 March Studio's budget was still 800, and alice's waiting submission holds 25.
    assert teams["Studio"].budget == usage.Usage(800, 140, 25)
    assert teams["Studio"].budget.percent == 20  # (140 + 25) / 800
    assert teams["Lab"].budget == usage.Usage(300, 20, 0)


def test_a_team_without_budget_or_spend_is_left_out(march):
    march.quiet.monthly_credit_budget = None
    march.quiet.save()
    names = [row.name for row in audit.dashboard(MARCH).teams]
    assert names == ["Studio", "Lab"]
    assert by_team(audit.dashboard(date(2026, 2, 1)))["Studio"].tally.spent == 100


def test_the_dashboard_takes_the_same_few_queries_however_many_rows(march, django_user_model):
    with CaptureQueriesContext(connection) as before:
        audit.dashboard(MARCH)
    for number in range(5):
        team = Team.objects.create(name=f"More {number}", monthly_credit_budget=100)
        for person in range(3):
            user = django_user_model.objects.create_user(f"p{number}-{person}")
            member_of(team, user, cap=10)
            Spend(team, user, 5, at(3, 10, 10, person), task=f"m{number}{person}").make()
    with CaptureQueriesContext(connection) as after:
        data = audit.dashboard(MARCH)
    assert len(data.teams) == 8
    assert len(after.captured_queries) == len(before.captured_queries) <= 8


# --- The page ------------------------------------------------------------------------------


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def svg_text(html: str) -> str:
    match = re.search(r'<svg id="day-chart".*?</svg>', html, flags=re.DOTALL)
    assert match, "no chart on the page"
    return match.group(0)


def svg_of(html: str) -> ET.Element:
    return ET.fromstring(svg_text(html))  # noqa: S314 (our own page, in a test)


def test_the_page_shows_the_month_with_a_bar_per_day(march, staff_client):
    response = staff_client.get(DASHBOARD, {"month": "2026-03"}, **EN)
    assert response.status_code == 200
    html = response.text
    assert response.context["dashboard"].month == MARCH
    assert 'id="total-spent">160<' in html
    assert 'id="total-refunded">1<' in html
    svg = svg_of(html)  # well-formed XML, or this raises
    bars = [rect for rect in svg.iter(f"{SVG}rect") if "bar" in rect.get("class", "").split()]
    assert len(bars) == 31
    assert svg.find(f"{SVG}title").text.startswith("Credits spent per day")
    assert svg.get("role") == "img"
    # The tallest bar is 1 March's 110; 15 March's -20 hangs below the baseline.
    heights = [float(bar.get("height")) for bar in bars]
    assert heights.index(max(heights)) == 0
    assert "negative" in bars[14].get("class")
    assert bars[0].find(f"{SVG}title").text == "1 Mar: 110"
    assert "style=" not in svg_text(html)
    # The same numbers in the table after the chart.
    assert re.search(r'id="days".*?>110<', html, flags=re.DOTALL)
    for name in ("Studio", "Lab", "Quiet", "alice", "bob", "carol"):
        assert name in html


def test_february_has_28_bars(march, staff_client):
    html = staff_client.get(DASHBOARD, {"month": "2026-02"}, **EN).text
    svg = svg_of(html)
    assert len([r for r in svg.iter(f"{SVG}rect") if "bar" in r.get("class", "")]) == 28


def test_a_month_without_spend_still_draws_a_chart(staff_client):
    response = staff_client.get(DASHBOARD, {"month": "1999-12"}, **EN)
    assert response.status_code == 200
    assert len(list(svg_of(response.text).iter(f"{SVG}rect"))) == 31
    assert "No team spent credits this month." in response.text


@pytest.mark.parametrize(
    "month",
    ["2026-13", "2026-00", "0000-01", "9999-12", "26-03", "2026-3-1", "x" * 5000, "%00", "-1"],
)
def test_a_bad_month_shows_this_month_with_a_message(month, staff_client):
    with time_machine.travel(at(3, 20, 12, 0), tick=False):
        response = staff_client.get(DASHBOARD, {"month": month}, **EN)
    assert response.status_code == 200
    assert response.context["dashboard"].month == MARCH
    assert "That is not a month" in response.text


def test_no_month_is_this_month_without_a_message(staff_client):
    with time_machine.travel(at(3, 20, 12, 0), tick=False):
        response = staff_client.get(DASHBOARD, **EN)
    assert response.context["dashboard"].month == MARCH
    assert "That is not a month" not in response.text
    assert 'href="?month=2026-02"' in response.text
    assert 'href="?month=2026-04"' in response.text


# --- Who may see the pages -----------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_go_to_the_admin_login(url, client):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", PAGES)
def test_signed_in_people_who_are_not_staff_go_to_the_admin_login(url, client, owner):
    client.force_login(owner)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", PAGES)
def test_staff_without_the_ledger_view_permission_get_403(url, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("clerk", is_staff=True))
    assert client.get(url).status_code == 403


@pytest.fixture
def viewer(django_user_model):
    """Staff who may only view the credit ledger, as a credit auditor may."""
    user = django_user_model.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_creditentry"))
    return user


@pytest.mark.parametrize("url", PAGES)
def test_staff_with_the_view_permission_see_the_pages(url, client, viewer, march):
    client.force_login(viewer)
    response = client.get(url, **EN)
    assert response.status_code == 200
    assert client.post(url).status_code == 405


def test_credit_auditors_see_the_pages(client, django_user_model, march):
    auditor = django_user_model.objects.create_user("audrey", is_staff=True)
    auditor.groups.add(Group.objects.get(name="Credit auditors"))
    client.force_login(auditor)
    for url in PAGES:
        assert client.get(url, **EN).status_code == 200, url


def test_the_admin_index_links_to_both_pages_for_those_who_may_see_them(
    client, viewer, django_user_model
):
    client.force_login(viewer)
    for index in ("/admin/", "/admin/credits/"):
        html = client.get(index, **EN).text
        assert f'href="{DASHBOARD}"' in html, index
        assert f'href="{RECONCILIATION}"' in html, index
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)
    assert DASHBOARD not in client.get("/admin/", **EN).text


# --- In a browser ----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_pages_draw_their_chart_and_highlight_a_drift_under_the_csp(
    page, live_server, settings, staff, march, language, tmp_path
):
    from credits import snapshots

    before = snapshots.record(10_000)
    ledger.adjust(amount=-5, reason="test", made_by=staff, team=march.studio)
    drifted = snapshots.record(10_000)  # the ledger moved by -5, Rivya did not
    client = Client()
    client.force_login(staff)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    page.add_init_script(CSP_WATCH)
    page.set_extra_http_headers({"Accept-Language": language})
    page.set_viewport_size({"width": 1366, "height": 768})

    page.goto(f"{live_server.url}{DASHBOARD}?month=2026-03")
    bars = page.locator("#day-chart rect.bar")
    assert bars.count() == 31
    first = bars.nth(0).bounding_box()
    assert first["height"] > 50  # the month's tallest day, drawn at the chart's scale
    # The stylesheet is applied: bars take the admin's colour, not SVG's default black.
    assert bars.nth(0).evaluate("bar => getComputedStyle(bar).fill") != "rgb(0, 0, 0)"
    page.screenshot(path=tmp_path / f"dashboard-{language}.png", full_page=True)

    page.goto(f"{live_server.url}{RECONCILIATION}?first={before.pk}&last={drifted.pk}")
    highlighted = page.locator("tr.difference.nonzero td")
    assert highlighted.inner_text() == "5"
    plain = page.locator("#reconciliation tr").first.locator("td")
    colour = "element => getComputedStyle(element).backgroundColor"
    assert highlighted.evaluate(colour) != plain.evaluate(colour)
    page.screenshot(path=tmp_path / f"reconciliation-{language}.png", full_page=True)
    assert page.evaluate("window.__cspViolations") == []
