"""The header's team switcher: lists the user's teams, switches with a POST, remembers the
choice across logins and devices, refuses teams the user is not in."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from teams import access
from teams.models import Membership, Team
from tests.teams.conftest import EN, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def second(owner):
    return Team.start(name="Night shoots", owner=owner)


def current_of(client) -> Team:
    return access.current_team(client.get(reverse("team_list")).wsgi_request)


def switch(client, team_id, next_url="/"):
    return client.post(reverse("team_switch"), {"team": team_id, "next": next_url}, **EN)


def test_the_header_shows_the_current_team_and_the_others(owner_client, team, second):
    body = owner_client.get(reverse("home"), **EN).content.decode()
    assert f'class="team-current" data-team-id="{second.pk}"' in body  # the newest choice
    assert f'data-switch-team="{team.pk}"' in body
    assert html.escape(team.name) in body
    assert f'data-switch-team="{second.pk}"' not in body
    assert f'href="{reverse("team_list")}"' in body


def test_switching_changes_the_current_team_and_goes_back(owner_client, team, second):
    assert current_of(owner_client) == second
    response = switch(owner_client, team.pk, "/teams/?x=1")
    assert response.status_code == 302
    assert response["Location"] == "/teams/?x=1"
    assert current_of(owner_client) == team


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_an_unsafe_next_goes_home(owner_client, team, second, next_url):
    response = switch(owner_client, team.pk, next_url)
    assert response["Location"] == reverse("home")


def test_the_choice_is_remembered_across_logins(owner, team, second, password):
    switch(client_for(owner), team.pk)
    fresh = Client()
    fresh.post(reverse("login"), {"username": owner.username, "password": password})
    assert current_of(fresh) == team
    switch(fresh, second.pk)
    other = Client()
    other.post(reverse("login"), {"username": owner.username, "password": password})
    assert current_of(other) == second


@pytest.mark.parametrize("team_id", ["", "abc", "-1", "1e9", "9" * 40, "%00"])
def test_garbage_team_ids_are_404(owner_client, team, team_id):
    assert switch(owner_client, team_id).status_code == 404
    assert current_of(owner_client) == team


def test_a_team_you_are_not_in_is_refused_with_404(owner_client, team, outsider_team):
    assert switch(owner_client, outsider_team.pk).status_code == 404
    assert current_of(owner_client) == team
    assert not Membership.objects.filter(team=outsider_team, user__username="owner").exists()


def test_switching_needs_a_post_and_a_login(client, owner_client, team):
    assert owner_client.get(reverse("team_switch")).status_code == 405
    response = client.post(reverse("team_switch"), {"team": team.pk})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_switching_needs_the_csrf_token(owner, team, second):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert switch(client, team.pk).status_code == 403


def test_the_header_costs_one_query(owner_client, team, second, django_assert_num_queries):
    from django.template import Context, Template

    request = owner_client.get(reverse("team_list")).wsgi_request
    template = Template("{% load teams %}{% team_switcher %}")
    with django_assert_num_queries(1):
        template.render(Context({"request": request}))


def test_a_page_answering_a_post_switches_back_home(owner_client, team, second):
    response = owner_client.post(
        reverse("invitation_create", args=[second.pk]),
        {"role": "member", "expires_in_days": "1", "max_uses": "1"},
    )
    body = response.content.decode()
    assert '<input type="hidden" name="next" value="">' in body
    assert switch(owner_client, team.pk, "")["Location"] == reverse("home")
    page = owner_client.get(reverse("team_detail", args=[team.pk])).content.decode()
    assert f'name="next" value="{reverse("team_detail", args=[team.pk])}"' in page
