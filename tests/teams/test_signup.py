"""Sign-up: open or closed by ALLOW_SIGNUP, always open through a valid invitation."""

import html

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from teams import access
from teams.models import Invitation, Membership, Team
from tests.teams.conftest import EN, Role

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

NEW_PASSWORD = "lantern-over-the-river-42"


def form(username="newcomer", email="newcomer@example.com", password=NEW_PASSWORD, **extra):
    return {"username": username, "email": email, "password1": password, "password2": password}


def signup(client, data=None, invite=""):
    url = reverse("signup") + (f"?invite={invite}" if invite else "")
    return client.post(url, data or form(), **EN)


def current_team_of(client) -> Team:
    request = client.get(reverse("team_list")).wsgi_request
    return access.current_team(request)


def test_signup_makes_an_account_with_a_personal_team_and_logs_in(client, settings):
    settings.ALLOW_SIGNUP = True
    assert client.get(reverse("signup"), **EN).status_code == 200
    response = signup(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = get_user_model().objects.get(username="newcomer")
    assert user.email == "newcomer@example.com"
    assert user.check_password(NEW_PASSWORD)
    membership = Membership.objects.get(user=user)
    assert membership.team.personal and membership.role == Role.OWNER
    assert client.get(reverse("home")).status_code == 200  # logged in


def test_signup_is_closed_when_not_allowed(client, settings):
    settings.ALLOW_SIGNUP = False
    response = client.get(reverse("signup"), **EN)
    assert response.status_code == 404
    assert b"Sign-up is closed" in response.content
    assert signup(client).status_code == 404
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("allowed", [True, False])
def test_the_login_page_offers_signup_only_when_allowed(client, settings, allowed):
    settings.ALLOW_SIGNUP = allowed
    body = client.get(reverse("login"), **EN).content.decode()
    assert (f'href="{reverse("signup")}"' in body) is allowed
    assert f'href="{reverse("password_reset")}"' in body
    assert "Forgot your password?" in body


def test_signup_through_an_invitation_works_when_signup_is_closed(
    client, settings, make_invitation, crew
):
    settings.ALLOW_SIGNUP = False
    invitation, token = make_invitation(role=Role.ADMIN)
    page = client.get(f"{reverse('signup')}?invite={token}", **EN)
    assert page.status_code == 200
    assert html.escape(crew.name) in page.content.decode()
    # Someone who already has an account logs in and comes back to the invitation.
    next_url = reverse("invitation", args=[token])
    assert f'href="{reverse("login")}?next={next_url}"' in page.content.decode()
    response = signup(client, invite=token)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    # Like every new account they have a personal team; the invited team is their current one.
    assert Membership.objects.get(user=user, team=crew).role == Role.ADMIN
    personal = Membership.objects.exclude(team=crew).get(user=user)
    assert personal.team.personal and personal.role == Role.OWNER
    assert current_team_of(client) == crew
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_signup_with_a_used_up_invitation_makes_no_account(
    client, settings, make_invitation, outsider
):
    settings.ALLOW_SIGNUP = False
    invitation, token = make_invitation(max_uses=1)
    invitation.accept(outsider)
    response = signup(client, invite=token)
    assert response.status_code == 404
    assert b"no longer valid" in response.content
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_an_invitation_used_up_while_the_form_was_filled_makes_no_account(
    client, settings, make_invitation, outsider
):
    settings.ALLOW_SIGNUP = True
    invitation, token = make_invitation(max_uses=1)
    assert client.get(f"{reverse('signup')}?invite={token}").status_code == 200
    Invitation.objects.filter(pk=invitation.pk).update(uses=1)  # someone else got there first
    assert signup(client, invite=token).status_code == 404
    assert not get_user_model().objects.filter(username="newcomer").exists()


@pytest.mark.parametrize("token", ["x", "A" * 3000, "%00", "../../etc"])
def test_signup_with_an_unknown_invitation_is_404(client, settings, token):
    settings.ALLOW_SIGNUP = False
    assert client.get(f"{reverse('signup')}?invite={token}", **EN).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"password1": "12345678", "password2": "12345678"}, "password2"),
        ({"password2": "something-else-entirely"}, "password2"),
        ({"password1": "newcomer1", "password2": "newcomer1"}, "password2"),
        ({"email": "not an address"}, "email"),
        ({"email": ""}, "email"),
        ({"username": ""}, "username"),
        ({"username": "has spaces!"}, "username"),
    ],
)
def test_bad_signups_are_refused_with_the_field_named(client, settings, changes, field):
    settings.ALLOW_SIGNUP = True
    response = signup(client, {**form(), **changes})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not get_user_model().objects.exists()


def test_a_taken_username_is_refused_whatever_its_case(client, settings, owner):
    settings.ALLOW_SIGNUP = True
    response = signup(client, form(username="OWNER"))
    assert "username" in response.context["form"].errors
    assert get_user_model().objects.count() == 1


def test_an_email_already_in_use_is_accepted_without_a_word(client, settings, owner):
    # Refusing it would tell anyone which addresses have accounts.
    settings.ALLOW_SIGNUP = True
    assert signup(client, form(email=owner.email)).status_code == 302


def test_signed_in_people_are_sent_home(owner_client, settings):
    settings.ALLOW_SIGNUP = True
    assert owner_client.get(reverse("signup")).status_code == 302


def test_signups_count_against_the_address_like_failed_logins(client, settings, owner):
    settings.ALLOW_SIGNUP = True
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 3
    for _ in range(3):  # probing for taken usernames
        assert signup(client, form(username="owner")).status_code == 200
    response = signup(client, form(username="someone-new"))
    assert response.status_code == 429
    assert not get_user_model().objects.filter(username="someone-new").exists()
    # The login page from that address is paused too: sign-up is no way around it.
    login = Client().post(reverse("login"), {"username": "owner", "password": "x"}, **EN)
    assert login.status_code == 429


def test_successful_signups_give_their_place_back(client, settings):
    settings.ALLOW_SIGNUP = True
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    for number in range(4):
        response = signup(Client(), form(username=f"person{number}"))
        assert response.status_code == 302
    assert get_user_model().objects.count() == 4


def test_the_password_never_comes_back_in_the_page(client, settings):
    settings.ALLOW_SIGNUP = True
    response = signup(client, {**form(), "password2": "mismatch-" + NEW_PASSWORD})
    assert NEW_PASSWORD not in response.content.decode()
