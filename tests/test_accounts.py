import pytest
from django.test import Client
from django.urls import reverse

from generations.accounts import current_team, ensure_personal_team
from teams.models import Membership, Team

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


def log_in(client, user, password):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def test_first_login_creates_a_personal_team(client, owner, password):
    assert not Team.objects.exists()
    response = log_in(client, owner, password)
    assert response.status_code == 302
    membership = Membership.objects.get(user=owner)
    assert membership.team.personal
    assert membership.role == Membership.Role.OWNER
    assert owner.username in membership.team.name


def test_later_logins_keep_the_same_team(owner, password):
    log_in(Client(), owner, password)
    log_in(Client(), owner, password)
    assert Team.objects.count() == 1
    assert Membership.objects.filter(user=owner).count() == 1


def test_a_member_of_a_team_gets_no_personal_team(client, member, password):
    studio = Team.objects.create(name="Studio")
    Membership.objects.create(team=studio, user=member)
    log_in(client, member, password)
    assert list(Team.objects.all()) == [studio]


def test_failed_login_creates_nothing(client, owner):
    client.post(reverse("login"), {"username": owner.username, "password": "wrong"})
    assert not Team.objects.exists()


def test_a_session_without_a_team_gets_one_lazily(client, owner):
    client.force_login(owner)
    Membership.objects.all().delete()
    Team.objects.all().delete()
    assert client.get(reverse("home")).status_code == 200
    assert Membership.objects.get(user=owner).team.personal


def test_current_team_is_the_users_team(owner, rf):
    team = ensure_personal_team(owner)
    request = rf.get("/")
    request.user = owner
    assert current_team(request) == team
    assert ensure_personal_team(owner) == team


@pytest.mark.parametrize(
    "url",
    ["/", "/cards/updates", "/generations/00000000-0000-0000-0000-000000000000/"],
)
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_open(client):
    assert client.get(reverse("login")).status_code == 200
