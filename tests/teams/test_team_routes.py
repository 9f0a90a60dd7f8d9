"""Every team route, found by walking the URLconf: outsiders get 404 whatever the method,
anonymous visitors are sent to log in. A new team route is covered without being listed."""

import pytest
from django.urls import reverse

from teams.models import Invitation, Membership
from tests.teams.conftest import EN, Role
from tests.test_isolation import app_routes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

TEAM_ROUTES = [route for route in app_routes() if route.startswith("teams/<int:team_id>")]


def test_the_walk_finds_the_team_routes():
    assert "teams/<int:team_id>/" in TEAM_ROUTES
    assert len(TEAM_ROUTES) >= 8


def url_of(route, team, membership, invitation):
    url = "/" + route.replace("<int:team_id>", str(team.pk))
    url = url.replace("<int:membership_id>", str(membership.pk))
    return url.replace("<int:invitation_id>", str(invitation.pk))


@pytest.fixture
def targets(crew, member):
    invitation, _ = Invitation.make(team=crew, by=None, role=Role.MEMBER, days=7, max_uses=1)
    return Membership.objects.get(team=crew, user=member), invitation


@pytest.mark.parametrize("route", TEAM_ROUTES)
def test_outsiders_get_404_on_every_team_route(route, crew, targets, outsider_client):
    url = url_of(route, crew, *targets)
    before = list(Membership.objects.values_list("pk", "team", "user", "role"))
    for method in ("get", "post"):
        response = getattr(outsider_client, method)(url, {"role": "owner", "name": "x"}, **EN)
        assert response.status_code in {404, 405}, (route, method, response.status_code)
        assert crew.name.encode() not in response.content
    if route == "teams/<int:team_id>/":
        assert outsider_client.get(url).status_code == 404
    assert list(Membership.objects.values_list("pk", "team", "user", "role")) == before
    assert Invitation.objects.get().revoked_at is None


@pytest.mark.parametrize("route", TEAM_ROUTES)
def test_anonymous_visitors_are_sent_to_log_in(route, client, crew, targets):
    url = url_of(route, crew, *targets)
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in {302, 405}, (route, method)
        if response.status_code == 302:
            assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("team_id", ["0", "999999", "99999999999999999999"])
def test_unknown_teams_are_404(owner_client, team, team_id):
    assert owner_client.get(f"/teams/{team_id}/").status_code == 404
