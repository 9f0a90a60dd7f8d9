"""Budgets against the sandbox over real HTTP, with the real worker and poller: holds
becoming Rivya's reservations or being released, alert emails, and twenty people
submitting at once against a budget with room for five."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from credits.models import BudgetAlert, CreditEntry, Hold
from generations.models import Generation, Status
from sandbox import models as sandbox_models
from sandbox.api import builtin_account
from teams.models import Membership
from tests.credits.conftest import EN, PRICE, ask, set_budget
from tests.fixtures import drain, image_bytes, run_until
from tests.teams.test_races import at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("sandbox", "fast_passwords", "price_list"),
]

DONE = {Status.READY, Status.FAILED, Status.REJECTED, Status.ATTENTION}


def creates_sent(calls):
    """The creates among the requests made to Rivya."""
    return [c for c in calls if c.method == "POST" and c.url.path.endswith("/generations")]


def test_a_refused_submission_never_reaches_rivya(owner_client, team, media_root, http_calls):
    set_budget(team, 50)
    upload = SimpleUploadedFile("kite.png", image_bytes("PNG"), content_type="image/png")
    response = ask(owner_client, reference_image=upload)
    drain()

    assert "this video needs about 55" in response.content.decode()
    assert not Generation.objects.exists()
    assert not Hold.objects.exists()
    # No reference image is left stored for a video (only the form's staged copy is kept).
    assert [p for p in media_root.rglob("*") if p.is_file() and "uploads" not in p.parts] == []
    assert [p for p in (media_root / "uploads").rglob("*") if p.is_file()] != []
    assert not sandbox_models.Generation.objects.exists()
    assert creates_sent(http_calls) == []
    assert builtin_account().balance == 10_000


def test_the_hold_becomes_the_reservation_when_rivya_accepts(owner_client, team):
    set_budget(team, 500)
    ask(owner_client)
    generation = run_until(Generation.objects.get(), {Status.QUEUED, *DONE})

    hold = Hold.objects.get()
    assert hold.state == Hold.State.CONVERTED and hold.ended_at is not None
    reserve = CreditEntry.objects.get(generation=generation, kind="reserve")
    assert reserve.amount == -PRICE
    # What is used does not count the video twice: spent 55, nothing held.
    page = owner_client.get(reverse("home"), **EN).content.decode()
    assert "Team budget: 445 of 500 credits left this month." in page

    generation = run_until(generation, DONE)
    assert generation.status == Status.READY
    assert Hold.objects.get().state == Hold.State.CONVERTED


def test_the_hold_is_released_when_rivya_refuses(owner_client, team):
    set_budget(team, 500)
    account = builtin_account()
    sandbox_models.Account.objects.filter(pk=account.pk).update(balance=10)
    ask(owner_client)

    generation = run_until(Generation.objects.get(), DONE)

    assert (generation.status, generation.error_code) == (Status.REJECTED, "insufficient_credits")
    assert Hold.objects.get().state == Hold.State.RELEASED
    assert not CreditEntry.objects.exists()
    page = owner_client.get(reverse("home"), **EN).content.decode()
    assert "Team budget: 500 of 500 credits left this month." in page


def test_owners_are_emailed_once_per_threshold_however_many_submissions(
    roles, team, mailoutbox, settings
):
    settings.LANGUAGE_CODE = "en"
    settings.SITE_URL = "https://video.example.com"
    set_budget(team, 550)  # room for exactly ten videos
    client = roles.client("creator")
    answers = []
    for number in range(15):
        answers.append(ask(client, prompt=f"Video {number}").status_code)
        drain()  # submits to the sandbox (a reservation: checked again) and sends alerts

    assert answers == [302] * 10 + [200] * 5
    assert sandbox_models.Generation.objects.count() == 10
    assert set(Hold.objects.values_list("state", flat=True)) == {Hold.State.CONVERTED}
    assert sorted(BudgetAlert.objects.values_list("threshold", flat=True)) == [50, 80, 100]
    assert [message.subject for message in mailoutbox] == [
        f"{team.name} has used {percent}% of its monthly budget" for percent in (50, 80, 100)
    ]
    first = mailoutbox[0]
    assert first.to == ["owner@example.com"]  # the owners, not the member who submitted
    assert f"The team {team.name} has used 275 of its 550 credits for" in first.body
    assert f"https://video.example.com/teams/{team.pk}/" in first.body


def test_a_member_cap_alert_goes_to_the_team_owners(roles, team, mailoutbox, settings):
    settings.LANGUAGE_CODE = "en"
    creator = roles.user("creator")
    Membership.objects.filter(team=team, user=creator).update(monthly_credit_cap=100)
    ask(roles.client("creator"))
    drain()
    [message] = mailoutbox
    assert message.to == ["owner@example.com"]
    assert message.subject == f"{team.name}: creator has used 50% of their monthly cap"
    assert "creator has used 55 of their 100 credits for" in message.body


def test_a_reservation_above_the_hold_can_cross_a_threshold(owner_client, team, settings):
    settings.SANDBOX_PRICES = {"kling-2-6": {"*": 90}}
    set_budget(team, 100)
    ask(owner_client)  # holds 55: 55 %
    assert list(BudgetAlert.objects.values_list("threshold", flat=True)) == [50]

    run_until(Generation.objects.get(), {Status.QUEUED, *DONE})  # Rivya reserves 90

    assert sorted(BudgetAlert.objects.values_list("threshold", flat=True)) == [50, 80]
    assert BudgetAlert.objects.get(threshold=80).spent == 90
    # The next video is expected to cost what Rivya reserved, and does not fit.
    page = owner_client.get(reverse("home"), **EN).content.decode()
    assert "Team budget: 10 of 100 credits left this month." in page
    assert "This video: about 90 credits" in page
    response = ask(owner_client, prompt="Another one")
    assert "has 10 of 100 credits left this month; this video needs about 90." in (
        response.content.decode()
    )


def test_twenty_submissions_at_once_against_room_for_five_make_five_videos(team, password):
    set_budget(team, 5 * PRICE + PRICE // 2)  # five fit, a sixth does not
    clients = []
    for number in range(20):
        person = get_user_model().objects.create_user(f"maker{number}", None, password)
        Membership.objects.create(team=team, user=person)
        client = Client(headers={"accept-language": "en"})
        client.force_login(person)
        clients.append(client)

    def submit(client, number):
        return lambda: ask(client, prompt=f"Video number {number}")

    answers = at_once(*(submit(client, n) for n, client in enumerate(clients)))

    codes = sorted(getattr(answer, "status_code", answer) for answer in answers)
    assert codes == [200] * 15 + [302] * 5, answers
    refused = [a for a in answers if a.status_code == 200]
    assert all("this video needs about 55" in a.content.decode() for a in refused)
    assert Generation.objects.count() == 5
    assert Hold.objects.filter(state=Hold.State.OPEN).count() == 5

    for generation in Generation.objects.all():
        assert run_until(generation, DONE).status == Status.READY

    assert sandbox_models.Generation.objects.count() == 5
    assert builtin_account().balance == 10_000 - 5 * PRICE
    assert Hold.objects.filter(state=Hold.State.CONVERTED).count() == 5
    assert CreditEntry.objects.filter(kind="reserve").count() == 5
