"""People of one team in every role, and helpers to act as each of them."""

import re

import pytest
from django.test import Client

from teams.models import Invitation, Membership

Role = Membership.Role
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
INVITE_URL = re.compile(r'data-invite-url="(?P<url>[^"]+)"')


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invite_url(response) -> str:
    """The invitation link shown (once) on the page that answered its creation."""
    match = INVITE_URL.search(response.content.decode())
    assert match, "no data-invite-url on the page"
    return match["url"]


@pytest.fixture
def admin(django_user_model, password):
    return django_user_model.objects.create_user("admin", "admin@example.com", password)


@pytest.fixture
def crew(team, owner, admin, member):
    """The owner's team with an admin and a member."""
    Membership.objects.create(team=team, user=admin, role=Role.ADMIN)
    Membership.objects.create(team=team, user=member, role=Role.MEMBER)
    return team


@pytest.fixture
def make_invitation(crew, owner):
    def make(*, role=Role.MEMBER, days=7, max_uses=1, team=None):
        return Invitation.make(team=team or crew, by=owner, role=role, days=days, max_uses=max_uses)

    return make
