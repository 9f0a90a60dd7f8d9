"""Setting a team's monthly budget and its members' caps (owners on the team's page, staff
in the admin), and what every member then sees: the budget's use, each member's cap and
spend, and the recorded changes."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from credits import ledger, limits, usage
from credits.models import BudgetEvent, Hold
from teams.models import MAX_MONTHLY_CREDITS, Membership, Team
from tests.fixtures import paid
from tests.teams.test_races import at_once

pytestmark = [pytest.mark.django_db]

BAD_NUMBERS = ["-1", "abc", "1.5", "1e3", "12 credits", str(MAX_MONTHLY_CREDITS + 1), "9" * 5000]


def set_budget(client: Client, team, value):
    url = reverse("team_budget", args=[team.pk])
    return client.post(url, {"monthly_credit_budget": value})


def set_cap(client: Client, membership, value):
    url = reverse("member_cap", args=[membership.team_id, membership.pk])
    return client.post(url, {"monthly_credit_cap": value})


def membership_of(roles, name):
    return Membership.objects.get(team=roles.team, user=roles.user(name))


def budget_of(team):
    return Team.objects.get(pk=team.pk).monthly_credit_budget


def cap_of(membership):
    return Membership.objects.get(pk=membership.pk).monthly_credit_cap


def messages_on(response) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


# --- Owners set and clear ---------------------------------------------------------------------


def test_owner_sets_and_clears_the_budget_each_change_recorded_once(roles):
    owner, team = roles.client("owner"), roles.team
    before = timezone.now()
    response = set_budget(owner, team, "500")
    assert response.status_code == 302 and response["Location"] == team.get_absolute_url()
    assert budget_of(team) == 500
    assert set_budget(owner, team, " ").status_code == 302  # empty: no limit
    assert budget_of(team) is None

    first, second = BudgetEvent.objects.order_by("pk")
    assert (first.kind, first.old_value, first.new_value) == ("team_budget", None, 500)
    assert (second.kind, second.old_value, second.new_value) == ("team_budget", 500, None)
    for event in (first, second):
        assert event.team_id == team.pk and event.member_id is None
        assert event.changed_by == roles.user("owner")
        assert event.month == usage.month_of()
        assert before <= event.at <= timezone.now()


def test_owner_sets_and_clears_a_members_cap(roles):
    owner, target = roles.client("owner"), membership_of(roles, "creator")
    response = set_cap(owner, target, "120")
    assert response.status_code == 302
    assert cap_of(target) == 120
    assert "creator may now spend 120 credits a month." in messages_on(response)
    set_cap(owner, target, "")
    assert cap_of(target) is None

    first, second = BudgetEvent.objects.order_by("pk")
    assert (first.kind, first.old_value, first.new_value) == ("member_cap", None, 120)
    assert (second.old_value, second.new_value) == (120, None)
    assert {first.member, second.member} == {roles.user("creator")}
    assert {first.changed_by, second.changed_by} == {roles.user("owner")}


def test_owner_may_cap_themselves_and_a_zero_cap_is_a_cap(roles):
    me = membership_of(roles, "owner")
    set_cap(roles.client("owner"), me, "0")
    assert cap_of(me) == 0
    assert BudgetEvent.objects.get().new_value == 0


def test_setting_the_same_value_again_records_nothing(roles):
    owner, target = roles.client("owner"), membership_of(roles, "member")
    set_budget(owner, roles.team, "300")
    set_cap(owner, target, "50")
    assert BudgetEvent.objects.count() == 2
    response = set_budget(owner, roles.team, "300")
    assert response.status_code == 302
    assert "The budget was already that; nothing changed." in messages_on(response)
    response = set_cap(owner, target, "50")
    assert "The cap was already that; nothing changed." in messages_on(response)
    set_cap(owner, membership_of(roles, "admin"), "")  # no cap before, none after
    assert BudgetEvent.objects.count() == 2


def test_a_cap_above_the_budget_is_allowed_and_pointed_out(roles):
    owner, target = roles.client("owner"), membership_of(roles, "creator")
    set_budget(owner, roles.team, "100")
    response = set_cap(owner, target, "250")
    assert cap_of(target) == 250
    warning = "This cap is above the team's budget of 100 credits, which stops creator first."
    assert warning in messages_on(response)
    page = owner.get(roles.team.get_absolute_url()).content.decode()
    row = re.search(r'<tr data-limit-member="creator".*?</tr>', page, re.S)
    assert row and "above the team" in row[0]


def test_lowering_the_budget_below_caps_names_those_members(roles):
    owner = roles.client("owner")
    set_cap(owner, membership_of(roles, "creator"), "400")
    set_cap(owner, membership_of(roles, "member"), "90")
    response = set_budget(owner, roles.team, "200")
    assert budget_of(roles.team) == 200
    assert "Caps above the budget, which stops these members first: creator." in messages_on(
        response
    )


# --- Who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "member", "creator"])
def test_admins_and_members_may_not_set_budgets_or_caps(roles, who):
    client, target = roles.client(who), membership_of(roles, "creator")
    assert set_budget(client, roles.team, "1000").status_code == 403
    assert set_cap(client, target, "1000").status_code == 403
    assert set_cap(client, membership_of(roles, who), "1000").status_code == 403  # nor their own
    assert budget_of(roles.team) is None and cap_of(target) is None
    assert not BudgetEvent.objects.exists()
    page = client.get(roles.team.get_absolute_url()).content.decode()
    assert 'id="budget-form"' not in page and "cap-form" not in page
    assert 'id="budget"' in page  # but they see the budget


def test_the_owner_sees_the_forms(roles):
    page = roles.client("owner").get(roles.team.get_absolute_url()).content.decode()
    assert 'id="budget-form"' in page
    assert page.count('class="cap-form"') == Membership.objects.filter(team=roles.team).count()


def test_another_teams_budget_and_members_are_404(roles):
    stranger = roles.user("outsider")
    their_team = Membership.objects.get(user=stranger).team
    theirs = Membership.objects.get(user=stranger)
    owner = roles.client("owner")
    # The owner of one team reaching into another: its budget, a member of it through
    # the other team's URL, and their own team's URL with the other's membership.
    assert set_budget(owner, their_team, "5").status_code == 404
    assert set_cap(owner, theirs, "5").status_code == 404
    mixed = reverse("member_cap", args=[roles.team.pk, theirs.pk])
    assert owner.post(mixed, {"monthly_credit_cap": "5"}).status_code == 404
    # And the outsider reaching into the owner's team.
    outsider = roles.client("outsider")
    assert set_budget(outsider, roles.team, "5").status_code == 404
    assert set_cap(outsider, membership_of(roles, "creator"), "5").status_code == 404
    assert outsider.get(roles.team.get_absolute_url()).status_code == 404
    assert budget_of(their_team) is None and cap_of(theirs) is None
    assert not BudgetEvent.objects.exists()


def test_budget_routes_take_only_post(roles):
    owner = roles.client("owner")
    assert owner.get(reverse("team_budget", args=[roles.team.pk])).status_code == 405
    target = membership_of(roles, "creator")
    assert owner.get(reverse("member_cap", args=[roles.team.pk, target.pk])).status_code == 405


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_a_bad_budget_is_a_form_error_and_changes_nothing(roles, value):
    response = set_budget(roles.client("owner"), roles.team, value)
    assert response.status_code == 400
    form = re.search(r'<form[^>]*id="budget-form".*?</form>', response.content.decode(), re.S)
    assert form and 'class="errorlist' in form[0]
    assert budget_of(roles.team) is None
    assert not BudgetEvent.objects.exists()


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_a_bad_cap_is_a_form_error_beside_that_member(roles, value):
    target = membership_of(roles, "creator")
    response = set_cap(roles.client("owner"), target, value)
    assert response.status_code == 400
    page = response.content.decode()
    rows = dict(re.findall(r'<tr data-limit-member="([^"]+)".*?(</tr>)', page, re.S))
    assert set(rows) == {"owner", "admin", "creator", "member"}
    row = re.search(r'<tr data-limit-member="creator".*?</tr>', page, re.S)
    assert row and 'class="errorlist' in row[0]
    assert page.count('class="errorlist') == 1  # only that member's form
    assert cap_of(target) is None
    assert not BudgetEvent.objects.exists()


def test_the_largest_allowed_value_is_accepted(roles):
    set_budget(roles.client("owner"), roles.team, str(MAX_MONTHLY_CREDITS))
    assert budget_of(roles.team) == MAX_MONTHLY_CREDITS


def test_limits_refuse_values_out_of_range_and_members_who_left(roles):
    with pytest.raises(ValueError):
        limits.set_team_budget(roles.team, -1, by=None)
    with pytest.raises(ValueError):
        limits.set_member_cap(membership_of(roles, "creator"), MAX_MONTHLY_CREDITS + 1, by=None)
    gone = membership_of(roles, "member")
    Membership.objects.filter(pk=gone.pk).delete()
    with pytest.raises(Membership.DoesNotExist):
        limits.set_member_cap(gone, 10, by=None)
    assert not BudgetEvent.objects.exists()


# --- What the team sees -----------------------------------------------------------------------


@pytest.fixture
def spending(roles, time_machine):
    """A month of the team by hand: budget 500, the creator capped at 100.

    creator: one video reserved 55 (kept), one reserved 55 and refunded, one held 55
    owner:   one video reserved 30 (kept)
    Last month the creator spent 100, which counts for nothing now.
    Team used = 55 + 30 + 55 held = 140, left 360, 28 %; creator used 110 of 100, left 0.
    """
    team, creator, owner = roles.team, roles.user("creator"), roles.user("owner")
    time_machine.move_to(timezone.now() - timedelta(days=40))
    ledger.record(paid(team, creator, duration=5, sound=False, credits=100), "reserve", -100)
    time_machine.move_to(timezone.now() + timedelta(days=40))
    ledger.record(paid(team, creator, duration=5, sound=False, credits=55), "reserve", -55)
    refunded = paid(team, creator, duration=5, sound=False, credits=55)
    ledger.record(refunded, "reserve", -55)
    ledger.record(refunded, "refund", 55)
    waiting = paid(team, creator, duration=5, sound=False, credits=55)
    Hold.objects.create(generation=waiting, team=team, user=creator, credits=55)
    ledger.record(paid(team, owner, duration=3, sound=False, credits=30), "reserve", -30)
    limits.set_team_budget(team, 500, by=owner)
    limits.set_member_cap(membership_of(roles, "creator"), 100, by=owner)
    return team


def test_every_member_sees_the_budget_its_use_and_what_is_left(roles, spending):
    page = roles.client("member").get(spending.get_absolute_url()).content.decode()
    assert 'data-budget="500"' in page
    assert 'data-used="140"' in page
    assert "(55 held for videos being submitted)" in page
    assert 'data-left="360"' in page
    meter = re.search(r'<meter class="budget-meter"[^>]*>', page)
    assert meter, "no usage bar"
    for attribute in ('min="0"', 'max="500"', 'value="140"', 'low="250"', 'high="400"'):
        assert attribute in meter[0]
    assert "28 % of the budget used." in page
    assert "style=" not in page.split('id="budget"')[1].split("</section>")[0]


def test_every_member_sees_each_members_cap_and_spend(roles, spending):
    page = roles.client("member").get(spending.get_absolute_url()).content.decode()
    rows = dict(re.findall(r'<tr data-limit-member="([^"]+)"([^>]*)>', page))
    assert rows["creator"].strip() == 'data-cap="100" data-used="110"'
    assert rows["owner"].strip() == 'data-cap="" data-used="30"'
    assert rows["member"].strip() == 'data-cap="" data-used="0"'
    creator = re.search(r'<tr data-limit-member="creator".*?</tr>', page, re.S)
    assert creator and "(55 held)" in creator[0]
    assert re.search(r'<meter class="cap-meter"[^>]*max="100"[^>]*value="110"', creator[0])
    assert re.search(r"<td>0</td>\s*</tr>", creator[0])  # nothing left


def test_every_member_sees_the_budget_changes(roles, spending):
    BudgetEvent.objects.create(
        team=spending,
        kind=BudgetEvent.Kind.MONTH_STARTED,
        month=usage.month_of(),
        old_value=100,
        new_value=500,
    )
    page = roles.client("member").get(spending.get_absolute_url()).content.decode()
    table = re.search(r'<table class="team-table" id="budget-events">.*?</table>', page, re.S)
    assert table
    rows = re.findall(r"<tr data-event-kind=\"(\w+)\">(.*?)</tr>", table[0], re.S)
    assert [kind for kind, _ in rows] == ["month_started", "member_cap", "team_budget"]
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", body, re.S) for _, body in rows]
    with translation.override("en"):
        month = date_format(usage.month_of(), "F Y")
    assert cells[0][1:] == [
        f"{month} began",
        "100 spent the month before",
        "budget 500",
        "–",
    ]
    assert cells[1][1:] == ["Cap of creator", "none", "100", "owner"]
    assert cells[2][1:] == ["Team budget", "none", "500", "owner"]


def test_a_team_without_a_budget_shows_its_spend_and_no_bar(roles, spending):
    limits.set_team_budget(spending, None, by=roles.user("owner"))
    page = roles.client("member").get(spending.get_absolute_url()).content.decode()
    assert "No limit" in page
    assert 'data-used="140"' in page
    assert "budget-meter" not in page and "data-left=" not in page


def test_the_page_costs_the_same_queries_however_many_members(roles, spending, password):
    owner = roles.client("owner")

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert owner.get(spending.get_absolute_url()).status_code == 200
        return len(captured)

    few = queries()
    for number in range(6):
        user = get_user_model().objects.create_user(f"extra{number}", password=password)
        Membership.objects.create(team=spending, user=user, monthly_credit_cap=10)
        ledger.record(paid(spending, user, duration=5, sound=False, credits=5), "reserve", -5)
    assert queries() == few


# --- Staff in the admin -----------------------------------------------------------------------


class FormReader(HTMLParser):
    """The fields of one ``<form id=...>`` as a browser would send them unchanged."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.select = form_id, False, ""
        self.data: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.inside = attributes.get("id") == self.form_id
        elif not self.inside or "name" not in attributes:
            if tag == "option" and self.select and "selected" in attributes:
                self.data[self.select] = attributes.get("value", "")
        elif tag == "input":
            kind = attributes.get("type", "text")
            if kind not in {"checkbox", "radio", "submit"} or "checked" in attributes:
                self.data[attributes["name"]] = attributes.get("value", "")
        elif tag == "select":
            self.select = attributes["name"]
            self.data.setdefault(self.select, "")
        elif tag == "textarea":
            self.data[attributes["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = ""


def admin_form(client: Client, url: str, form_id: str) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    reader = FormReader(form_id)
    reader.feed(response.content.decode())
    return reader.data


@pytest.fixture
def staff(django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1234")
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return user, client


def test_staff_set_a_budget_in_the_admin_recorded_with_their_name(roles, staff):
    user, client = staff
    url = reverse("admin:teams_team_change", args=[roles.team.pk])
    data = admin_form(client, url, "team_form")
    assert data["monthly_credit_budget"] == ""
    data.update(monthly_credit_budget="750", name="Renamed too")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(pk=roles.team.pk)
    assert (team.monthly_credit_budget, team.name) == (750, "Renamed too")
    event = BudgetEvent.objects.get()
    assert (event.kind, event.old_value, event.new_value) == ("team_budget", None, 750)
    assert event.changed_by == user
    # Saving again without touching it records nothing more.
    assert client.post(url, admin_form(client, url, "team_form")).status_code == 302
    assert BudgetEvent.objects.count() == 1


def test_staff_set_a_members_cap_in_the_admin_recorded_with_their_name(roles, staff):
    user, client = staff
    url = reverse("admin:teams_team_change", args=[roles.team.pk])
    data = admin_form(client, url, "team_form")
    target = membership_of(roles, "creator")
    prefix = next(key[: -len("-id")] for key, value in data.items() if value == str(target.pk))
    data[f"{prefix}-monthly_credit_cap"] = "80"
    data[f"{prefix}-role"] = "admin"
    assert client.post(url, data).status_code == 302
    target.refresh_from_db()
    assert (target.monthly_credit_cap, target.role) == (80, "admin")
    event = BudgetEvent.objects.get()
    assert (event.kind, event.member, event.old_value, event.new_value) == (
        "member_cap",
        roles.user("creator"),
        None,
        80,
    )
    assert event.changed_by == user


def test_a_team_added_in_the_admin_with_a_budget_records_it(staff, owner):
    user, client = staff
    url = reverse("admin:teams_team_add")
    data = admin_form(client, url, "team_form")
    data.update(name="New crew", monthly_credit_budget="90")
    prefix = "memberships"
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-user": str(owner.pk),
            f"{prefix}-0-role": "owner",
            f"{prefix}-0-monthly_credit_cap": "40",
        }
    )
    assert client.post(url, data).status_code == 302, data
    team = Team.objects.get(name="New crew")
    assert team.monthly_credit_budget == 90
    assert Membership.objects.get(team=team).monthly_credit_cap == 40
    events = {(e.kind, e.old_value, e.new_value, e.changed_by) for e in team.budget_events.all()}
    assert events == {("team_budget", None, 90, user), ("member_cap", None, 40, user)}


def test_the_admin_refuses_a_huge_budget(roles, staff):
    _, client = staff
    url = reverse("admin:teams_team_change", args=[roles.team.pk])
    data = admin_form(client, url, "team_form")
    data["monthly_credit_budget"] = str(MAX_MONTHLY_CREDITS + 1)
    response = client.post(url, data)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert budget_of(roles.team) is None and not BudgetEvent.objects.exists()


def test_the_admin_shows_budget_events_read_only(roles, spending, staff):
    _, client = staff
    url = reverse("admin:teams_team_change", args=[roles.team.pk])
    page = client.get(url).content.decode()
    assert "budget events" in page.lower()
    assert page.count('class="field-changed_by"') >= 2
    data = admin_form(client, url, "team_form")
    editable = {"kind", "member", "old_value", "new_value", "month", "changed_by", "DELETE"}
    assert not [
        key
        for key in data
        if key.startswith("budget_events-") and key.rsplit("-", 1)[1] in editable
    ]
    # Values slipped in by hand are ignored: the events stay as they were.
    before = list(BudgetEvent.objects.order_by("pk").values())
    data.update({"budget_events-0-new_value": "999", "budget_events-0-DELETE": "on"})
    assert client.post(url, data).status_code == 302
    assert list(BudgetEvent.objects.order_by("pk").values()) == before


# --- Races ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_budget_changes_at_once_each_record_the_value_they_replaced(owner):
    team = Team.start(name="Crowd", owner=owner)
    values = [100, 200, 300, 400, 500, 600]
    results = at_once(
        *[
            lambda value=value: limits.set_team_budget(
                Team.objects.get(pk=team.pk), value, by=owner
            )
            for value in values
        ]
    )
    assert results == [True] * len(values), results
    chain = list(BudgetEvent.objects.order_by("pk").values_list("old_value", "new_value"))
    assert len(chain) == len(values)
    assert chain[0][0] is None
    # Each change saw the one before it: no two read the same old value.
    for (_, before), (after, _) in zip(chain, chain[1:], strict=False):
        assert after == before
    assert budget_of(team) == chain[-1][1]
