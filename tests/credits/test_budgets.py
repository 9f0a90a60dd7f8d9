"""Budgets and caps at submission: holds, refusals through the form, the rate limit, the
sweep, the month boundary and the owners' alerts."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from credits import budgets, ledger
from credits.models import BudgetAlert, BudgetEvent, CreditEntry, Hold
from generations import catalog
from generations.models import TERMINAL, CatalogEntry, Generation, Status
from tests.credits.conftest import EN, PRICE, ask, set_budget, set_cap
from tests.fixtures import image_bytes, paid

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root", "price_list"),
]


def team_files(media_root, team):
    """Every stored file of the team's generations (not the form's staged images)."""
    folder = media_root / "teams" / str(team.pk)
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


# --- The hold --------------------------------------------------------------------------------


def test_a_submission_under_a_budget_holds_its_expected_price(owner_client, team):
    set_budget(team, 500)
    response = ask(owner_client)
    generation = Generation.objects.get()
    assert response.status_code == 302
    hold = Hold.objects.get()
    assert (hold.generation, hold.team, hold.credits, hold.state) == (
        generation,
        team,
        PRICE,
        Hold.State.OPEN,
    )


def test_without_budget_or_cap_nothing_is_held(owner_client):
    ask(owner_client)
    assert Generation.objects.count() == 1
    assert not Hold.objects.exists()


def test_the_expected_price_is_what_the_team_last_paid_for_the_same_choice(team, owner):
    paid(team, owner, duration=10, sound=True, credits=120)
    paid(team, owner, duration=5, sound=False, credits=60, minutes_ago=5)
    assert catalog.expected_price(team, 10, True) == 120
    assert catalog.expected_price(team, 5, False) == 60
    assert catalog.expected_price(team, 10, False) == PRICE  # never paid: the catalog's
    CatalogEntry.objects.all().delete()
    assert catalog.expected_price(team, 10, False) == catalog.FALLBACK_PRICE


def test_a_refused_submission_says_why_creates_nothing_and_keeps_the_inputs(
    owner_client, team, media_root
):
    set_budget(team, 100)
    first = SimpleUploadedFile("first.png", image_bytes("PNG"), content_type="image/png")
    ask(owner_client, prompt="The first one", reference_image=first)  # holds 55: 45 left
    image = SimpleUploadedFile("kite.png", image_bytes("PNG"), content_type="image/png")

    response = ask(owner_client, prompt="A paper crane in the rain", reference_image=image)

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "Your team&#x27;s budget has 45 of 100 credits left this month; "
        "this video needs about 55." in page
    )
    assert "A paper crane in the rain" in page
    # The chosen image is kept for the next attempt, as after any form error.
    token = re.search(r'name="reference_token" value="([^"]+)"', page)
    assert token and reverse("reference_preview", args=[token[1]]) in page
    assert Generation.objects.count() == 1
    assert Hold.objects.count() == 1
    # Only the first video's row and its reference image exist: none of the refused one.
    [stored] = team_files(media_root, team)
    assert Generation.objects.get().reference_image.name in str(stored)


def test_a_refusal_by_htmx_answers_with_the_form_and_its_error(owner_client, team):
    set_budget(team, 50)
    response = owner_client.post(
        reverse("home"),
        {"prompt": "A red kite", "duration": "5", "aspect_ratio": "1:1"},
        HTTP_HX_REQUEST="true",
        **EN,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<form id="generation-form"')
    assert "has 50 of 50 credits left this month; this video needs about 55." in page
    assert not Generation.objects.exists()


def test_a_member_cap_refuses_once_the_member_has_used_it(roles, team):
    creator = roles.user("creator")
    set_cap(team, creator, 100)
    client = roles.client("creator")

    assert ask(client, prompt="One").status_code == 302
    response = ask(client, prompt="Two")

    assert (
        "Your monthly cap in this team has 45 of 100 credits left; this video needs about 55."
        in response.content.decode()
    )
    assert Generation.objects.filter(created_by=creator).count() == 1
    # The cap is the member's: someone else in the team still submits.
    assert ask(roles.client("member"), prompt="Three").status_code == 302


def test_spend_already_in_the_ledger_counts_against_the_budget(owner_client, team, owner):
    set_budget(team, 150)
    earlier = paid(team, owner, duration=5, sound=False, credits=PRICE)
    ledger.record(earlier, ledger.Kind.RESERVE, -100)
    response = ask(owner_client)
    assert "has 50 of 150 credits left" in response.content.decode()
    ledger.record(earlier, ledger.Kind.REFUND, 100)  # the money came back
    assert ask(owner_client).status_code == 302


def test_a_retry_is_held_and_refused_like_a_new_submission(owner_client, team, add_generation):
    original = add_generation(status=Status.FAILED, error_code="generation_failed")
    set_budget(team, 60)
    url = reverse("generation_retry", args=[original.pk])
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        owner_client.post(url)
        retry = Generation.objects.exclude(pk=original.pk).get()
        assert retry.credit_hold.credits == PRICE

        retry.finish(Status.REJECTED)  # its hold is released: 60 left again
        traveller.shift(timedelta(seconds=11))  # past the duplicate window
        owner_client.post(url)  # holds 55 of the 60
        traveller.shift(timedelta(seconds=11))
        response = owner_client.post(url, follow=True, **EN)

    assert Generation.objects.count() == 3
    assert "has 5 of 60 credits left this month" in response.content.decode()


# --- The form --------------------------------------------------------------------------------


def test_the_form_shows_what_is_left_and_what_the_choice_costs(roles, team):
    creator = roles.user("creator")
    set_budget(team, 1000)
    set_cap(team, creator, 100)
    paid(team, creator, duration=10, sound=True, credits=120)
    client = roles.client("creator")
    ask(client)  # holds 55

    page = client.get(reverse("home"), **EN).content.decode()

    assert "Team budget: 945 of 1,000 credits left this month." in page
    assert "Your monthly cap: 45 of 100 credits left." in page
    shown = re.findall(r'<p class="expected-price([^"]*)"([^>]*)>(.*?)</p>', page, re.DOTALL)
    by_choice = {
        re.search(r'data-duration="(\d+)" data-sound="(\w+)"', attrs).groups(): (
            "hidden" not in attrs,
            classes.strip(),
            " ".join(re.sub("<[^>]+>", "", text).split()),
        )
        for classes, attrs, text in shown
    }
    assert len(by_choice) == 4  # every duration, with and without sound
    assert by_choice[("5", "off")] == (
        True,  # the form's choice is shown; the others wait for the script
        "over-budget",
        "This video: about 55 credits (Rivya's list price; Rivya reserves the exact amount "
        "when it accepts the video) That is more than is left this month: it would be refused.",
    )
    assert by_choice[("10", "on")] == (
        False,
        "over-budget",
        "This video: about 120 credits (what Rivya last reserved for this choice in your team) "
        "That is more than is left this month: it would be refused.",
    )


def test_a_choice_that_fits_is_not_flagged(owner_client, team):
    set_budget(team, 1000)
    page = owner_client.get(reverse("home"), **EN).content.decode()
    assert "Team budget: 1,000 of 1,000 credits left this month." in page
    assert "Your monthly cap" not in page
    assert "over-budget" not in page
    assert page.count("It fits what is left this month.") == 4


def test_the_form_says_nothing_of_budgets_when_none_applies(owner_client):
    page = owner_client.get(reverse("home"), **EN).content.decode()
    assert "budget-left" not in page
    assert "left this month" not in page
    assert "This video: about 55 credits" in page  # the price is shown all the same


# --- The rate limit --------------------------------------------------------------------------


def test_too_many_submissions_in_a_minute_are_refused_until_it_passes(owner_client, settings, team):
    settings.SUBMISSIONS_PER_MINUTE = 2
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert ask(owner_client, prompt="One").status_code == 302
        assert ask(owner_client, prompt="Two").status_code == 302
        response = ask(owner_client, prompt="Three")
        assert "You asked for 2 videos in the last minute" in response.content.decode()
        assert Generation.objects.count() == 2

        traveller.shift(timedelta(seconds=61))
        assert ask(owner_client, prompt="Three").status_code == 302
    assert Generation.objects.count() == 3


def test_the_rate_limit_counts_the_person_not_the_team(roles, settings, team):
    settings.SUBMISSIONS_PER_MINUTE = 1
    assert ask(roles.client("creator"), prompt="One").status_code == 302
    assert ask(roles.client("member"), prompt="Two").status_code == 302
    assert ask(roles.client("creator"), prompt="Three").status_code == 200
    assert Generation.objects.count() == 2


# --- The sweep and the month boundary --------------------------------------------------------


def test_the_sweep_releases_holds_of_ended_rows_and_keeps_those_waiting_for_staff(
    owner_client, team
):
    set_budget(team, 1000)
    for prompt in ("Ended", "Attention", "Pending"):
        ask(owner_client, prompt=prompt)
    rows = {g.prompt: g for g in Generation.objects.all()}
    # Rows that reached their state without ``finish`` (an older process, a manual fix).
    rows["Ended"].move(Status.REJECTED)
    rows["Attention"].move(Status.SUBMITTING)
    rows["Attention"].move(Status.ATTENTION)

    assert budgets.sweep(TERMINAL) == 1

    states = dict(Hold.objects.values_list("generation__prompt", "state"))
    assert states == {"Ended": "released", "Attention": "open", "Pending": "open"}
    assert Hold.objects.get(generation=rows["Ended"]).ended_at is not None
    assert budgets.sweep(TERMINAL) == 0


def test_finishing_a_row_releases_its_hold(owner_client, team):
    set_budget(team, 1000)
    ask(owner_client)
    generation = Generation.objects.get()
    generation.finish(Status.REJECTED, error_code="validation_failed")
    assert Hold.objects.get().state == Hold.State.RELEASED


def test_a_new_month_is_recorded_once_per_team_with_what_it_spent_before(team, owner):
    set_budget(team, 500)
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False) as traveller:
        generation = paid(team, owner, duration=5, sound=False, credits=PRICE)
        ledger.record(generation, ledger.Kind.RESERVE, -PRICE)
        budgets.sweep(TERMINAL)
        november = BudgetEvent.objects.get(team=team)
        assert (november.kind, november.month) == ("month_started", date(2026, 11, 1))

        traveller.move_to(datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
        budgets.sweep(TERMINAL)
        budgets.sweep(TERMINAL)
    december = BudgetEvent.objects.get(team=team, month=date(2026, 12, 1))
    assert (december.kind, december.old_value, december.new_value) == ("month_started", 55, 500)
    assert BudgetEvent.objects.filter(team=team).count() == 2
    # Nothing was reset: November's spend is still November's, December starts at zero.
    assert CreditEntry.objects.filter(team=team).count() == 1


def test_teams_without_a_budget_get_no_month_boundary(team):
    budgets.sweep(TERMINAL)
    assert not BudgetEvent.objects.exists()


@pytest.mark.django_db(transaction=True)  # the loop closes connections between rounds
def test_the_poller_housekeeping_sweeps(owner_client, team, monkeypatch):
    from django.core.management import call_command

    from generations import poller

    set_budget(team, 1000)
    ask(owner_client)
    Generation.objects.get().move(Status.REJECTED)  # ended without releasing its hold

    def stop(*args, **kwargs):
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    monkeypatch.setattr(poller, "poll_due", stop)
    call_command("rivya_poller", "--interval", "0.01")
    assert Hold.objects.get().state == Hold.State.RELEASED
    assert BudgetEvent.objects.filter(team=team, kind="month_started").count() == 1


# --- Alerts ----------------------------------------------------------------------------------


def test_a_jump_over_several_thresholds_records_each_of_them(owner_client, team):
    set_budget(team, 60)  # one video is 91 %
    ask(owner_client)
    alerts = BudgetAlert.objects.order_by("threshold")
    assert [(a.threshold, a.spent, a.limit, a.member) for a in alerts] == [
        (50, 55, 60, None),
        (80, 55, 60, None),
    ]


def test_a_member_cap_alert_names_the_member(roles, team):
    creator = roles.user("creator")
    set_cap(team, creator, 100)
    ask(roles.client("creator"))
    alert = BudgetAlert.objects.get()
    assert (alert.member, alert.threshold, alert.spent, alert.limit) == (creator, 50, 55, 100)


def test_a_refused_submission_records_no_alert(owner_client, team):
    set_budget(team, 50)
    ask(owner_client)
    assert not BudgetAlert.objects.exists()


def test_alerts_start_again_in_a_new_month(owner_client, team, mailoutbox):
    set_budget(team, 100)
    with time_machine.travel(datetime(2026, 11, 20, 12, tzinfo=UTC), tick=False) as traveller:
        ask(owner_client, prompt="November")
        Generation.objects.get().finish(Status.REJECTED)  # released: nothing spent
        traveller.move_to(datetime(2026, 12, 2, 12, tzinfo=UTC))
        ask(owner_client, prompt="December")
    months = sorted(BudgetAlert.objects.values_list("month", flat=True))
    assert months == [date(2026, 11, 1), date(2026, 12, 1)]


def test_the_budget_month_is_the_sites_whatever_the_viewers_time_zone(roles, team):
    """At 20:00 UTC on 30 November it is already 1 December in Kiritimati (UTC+14): a
    viewer there still spends November's budget, the month everyone in the team shares."""
    creator = roles.user("creator")
    set_budget(team, 100)
    with time_machine.travel(datetime(2026, 11, 30, 12, 0, tzinfo=UTC), tick=False):
        generation = paid(team, creator, duration=5, sound=False, credits=60)
        ledger.record(generation, CreditEntry.Kind.RESERVE, -60)
    client = roles.client("creator")
    client.cookies["tz"] = "Pacific/Kiritimati"
    with time_machine.travel(datetime(2026, 11, 30, 20, 0, tzinfo=UTC), tick=False):
        response = ask(client)
    assert response.status_code == 200
    assert "has 40 of 100 credits left this month" in response.content.decode()
    assert Generation.objects.count() == 1
