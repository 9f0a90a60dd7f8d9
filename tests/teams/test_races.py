"""Writes that race: two owners stepping down at once, two people taking the last use of
an invitation. Real threads on real connections; the database decides."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from django.urls import reverse

from teams.models import Invitation, Membership, Team
from tests.teams.conftest import Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fast_passwords")]


def at_once(*calls):
    """Run ``calls`` in threads released together; what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # the outcome, reported to the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_owners_leaving_at_once_leave_one_owner(owner, admin):
    team = Team.start(name="Studio", owner=owner)
    Membership.objects.create(team=team, user=admin, role=Role.OWNER)
    for person in (owner, admin):
        Team.start(name=f"{person.username}'s own", owner=person)
    first, second = Membership.objects.filter(team=team).order_by("pk")
    results = at_once(first.leave, second.leave)
    assert Membership.objects.filter(team=team, role=Role.OWNER).count() == 1
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1 and refused[0].code == "last_owner", results


def test_two_people_taking_a_single_use_invitation_make_one_member(team, owner, member, outsider):
    invitation, _ = Invitation.make(team=team, by=owner, role=Role.MEMBER, days=1, max_uses=1)
    results = at_once(
        lambda: Invitation.objects.get(pk=invitation.pk).accept(member),
        lambda: Invitation.objects.get(pk=invitation.pk).accept(outsider),
    )
    assert Membership.objects.filter(team=team).exclude(user=owner).count() == 1
    assert Invitation.objects.get(pk=invitation.pk).uses == 1
    assert sum(isinstance(r, ValidationError) for r in results) == 1, results


def test_one_person_accepting_twice_at_once_joins_once(team, owner, member):
    invitation, _ = Invitation.make(team=team, by=owner, role=Role.MEMBER, days=1, max_uses=5)
    results = at_once(
        lambda: Invitation.objects.get(pk=invitation.pk).accept(member),
        lambda: Invitation.objects.get(pk=invitation.pk).accept(member),
    )
    assert Membership.objects.filter(team=team, user=member).count() == 1
    assert Invitation.objects.get(pk=invitation.pk).uses == 1
    assert [r.code for r in results if isinstance(r, ValidationError)] == ["already_member"]


def test_two_sign_ups_of_one_username_at_once_make_one_account(settings):
    settings.ALLOW_SIGNUP = True
    data = {
        "username": "twin",
        "email": "twin@example.com",
        "password1": "lantern-over-the-river-42",
        "password2": "lantern-over-the-river-42",
    }
    results = at_once(
        *[lambda: Client().post(reverse("signup"), data).status_code for _ in range(3)]
    )
    assert sorted(results) == [200, 200, 302], results  # never a 500
    assert get_user_model().objects.filter(username="twin").count() == 1
