"""The invitation lifecycle: made and shown once, accepted, expired, revoked, used up,
kept to its own team; and emailed."""

import html
import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from teams import access
from teams.models import Invitation, Membership, Team, hash_token
from tests.teams.conftest import EN, Role, client_for, invite_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


def make_via_page(client, team, **fields):
    data = {"role": "member", "expires_in_days": "7", "max_uses": "1", **fields}
    return client.post(reverse("invitation_create", args=[team.pk]), data, **EN)


def accept(client, token):
    return client.post(reverse("invitation", args=[token]), **EN)


def members(team):
    return set(Membership.objects.filter(team=team).values_list("user__username", flat=True))


@pytest.fixture
def newcomers(django_user_model, password):
    return [
        django_user_model.objects.create_user(f"newcomer{n}", f"n{n}@example.com", password)
        for n in range(5)
    ]


def test_the_link_is_shown_once_and_stored_hashed(crew, owner):
    client = client_for(owner)
    response = make_via_page(client, crew, role="admin", max_uses="3", expires_in_days="30")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    url = invite_url(response)
    assert url.startswith("http://testserver/invite/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get(team=crew)
    assert invitation.token_hash == hash_token(token)
    assert (invitation.role, invitation.max_uses, invitation.uses) == (Role.ADMIN, 3, 0)
    assert timedelta(days=29) < invitation.expires_at - timezone.now() <= timedelta(days=30)
    # Not on the team's page again, nor anywhere in the database.
    page = client.get(reverse("team_detail", args=[crew.pk]), **EN).content.decode()
    assert token not in page
    assert f'data-invitation-id="{invitation.pk}"' in page
    assert not Invitation.objects.filter(token_hash=token).exists()


def test_an_empty_uses_field_makes_an_unlimited_link(crew, owner, newcomers):
    url = invite_url(make_via_page(client_for(owner), crew, max_uses=""))
    assert Invitation.objects.get(team=crew).max_uses is None
    for person in newcomers:
        assert accept(client_for(person), url.split("testserver")[1].split("/")[2]).status_code
    assert {p.username for p in newcomers} <= members(crew)
    assert Invitation.objects.get(team=crew).uses == len(newcomers)


@pytest.mark.parametrize(
    "fields",
    [
        {"role": "owner"},
        {"role": "superuser"},
        {"expires_in_days": "365"},
        {"expires_in_days": "-1"},
        {"max_uses": "0"},
        {"max_uses": "1001"},
        {"max_uses": "many"},
        {"email": "not an address"},
    ],
)
def test_bad_invitation_fields_are_refused(crew, owner, fields):
    response = make_via_page(client_for(owner), crew, **fields)
    assert response.status_code == 400
    assert response.context["invitation_form"].errors
    assert not Invitation.objects.exists()


def test_nobody_invites_above_their_role_and_owners_are_never_invited(crew, admin):
    form = client_for(admin).get(reverse("team_detail", args=[crew.pk])).context["invitation_form"]
    assert [value for value, _ in form.fields["role"].choices] == ["admin", "member"]
    assert make_via_page(client_for(admin), crew, role="owner").status_code == 400


def test_joining_with_the_link_makes_a_member_in_that_role_and_that_team_current(
    crew, make_invitation, outsider, outsider_team
):
    invitation, token = make_invitation(role=Role.ADMIN)
    client = client_for(outsider)
    page = client.get(reverse("invitation", args=[token]), **EN)
    assert page.status_code == 200
    assert html.escape(crew.name) in page.content.decode()
    assert "Admin" in page.content.decode()
    response = accept(client, token)
    assert response.status_code == 302
    assert Membership.objects.get(team=crew, user=outsider).role == Role.ADMIN
    invitation.refresh_from_db()
    assert invitation.uses == 1
    request = client.get(reverse("home")).wsgi_request
    assert access.current_team(request) == crew
    # Their own team is still theirs.
    assert Membership.objects.filter(team=outsider_team, user=outsider).exists()


def test_anonymous_visitors_see_the_offer_and_are_asked_to_log_in_to_join(
    client, crew, make_invitation
):
    _, token = make_invitation()
    page = client.get(reverse("invitation", args=[token]), **EN)
    assert page.status_code == 200
    body = page.content.decode()
    assert f"{reverse('signup')}?invite={token}" in body
    assert f"{reverse('login')}?next={reverse('invitation', args=[token])}" in body
    response = accept(client, token)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Invitation.objects.get().uses == 0


def test_logging_in_through_the_invitation_leads_back_to_it(
    client, crew, make_invitation, outsider, outsider_team, password
):
    _, token = make_invitation()
    login = client.post(
        f"{reverse('login')}?next={reverse('invitation', args=[token])}",
        {"username": "outsider", "password": password, "next": reverse("invitation", args=[token])},
    )
    assert login["Location"] == reverse("invitation", args=[token])
    assert accept(client, token).status_code == 302
    assert "outsider" in members(crew)


def test_an_expired_invitation_is_no_longer_valid(crew, make_invitation, outsider, time_machine):
    _, token = make_invitation(days=1)
    time_machine.move_to(timezone.now() + timedelta(days=1, seconds=1))
    client = client_for(outsider)
    page = client.get(reverse("invitation", args=[token]), **EN)
    assert page.status_code == 404
    assert b"This invitation is no longer valid" in page.content
    assert accept(client, token).status_code == 404
    assert "outsider" not in members(crew)


def test_a_revoked_invitation_is_no_longer_valid(crew, owner, make_invitation, outsider):
    invitation, token = make_invitation()
    response = client_for(owner).post(
        reverse("invitation_revoke", args=[crew.pk, invitation.pk]), **EN
    )
    assert response.status_code == 302
    assert accept(client_for(outsider), token).status_code == 404
    assert "outsider" not in members(crew)
    page = client_for(owner).get(reverse("team_detail", args=[crew.pk])).content.decode()
    assert f'data-invitation-id="{invitation.pk}"' not in page


def test_a_single_use_invitation_works_once(crew, make_invitation, newcomers):
    invitation, token = make_invitation(max_uses=1)
    assert accept(client_for(newcomers[0]), token).status_code == 302
    assert accept(client_for(newcomers[1]), token).status_code == 404
    assert members(crew) & {p.username for p in newcomers} == {"newcomer0"}
    invitation.refresh_from_db()
    assert invitation.uses == 1


def test_a_multi_use_invitation_counts_its_uses(crew, make_invitation, newcomers):
    invitation, token = make_invitation(max_uses=3)
    answers = [accept(client_for(person), token).status_code for person in newcomers]
    assert answers == [302, 302, 302, 404, 404]
    invitation.refresh_from_db()
    assert invitation.uses == 3


def test_a_member_accepting_again_changes_nothing(crew, make_invitation, member):
    invitation, token = make_invitation(role=Role.ADMIN, max_uses=1)
    client = client_for(member)
    page = client.get(reverse("invitation", args=[token]), **EN)
    assert b"You are already a member" in page.content
    response = client.post(reverse("invitation", args=[token]), follow=True, **EN)
    assert response.status_code == 200
    assert "You are already a member" in response.content.decode()
    assert Membership.objects.get(team=crew, user=member).role == Role.MEMBER
    invitation.refresh_from_db()
    assert invitation.uses == 0  # still there for the person it was meant for


def test_an_invitation_acts_only_on_its_own_team(
    crew, owner, make_invitation, outsider, outsider_team
):
    # The outsider's team has an invitation; the crew's owner cannot revoke it through
    # the crew's page, and accepting it joins the outsider's team, never the crew.
    theirs, token = Invitation.make(
        team=outsider_team, by=outsider, role=Role.MEMBER, days=7, max_uses=5
    )
    ours, _ = make_invitation()
    client = client_for(owner)
    for team_id, invitation_id in ((crew.pk, theirs.pk), (outsider_team.pk, ours.pk)):
        url = reverse("invitation_revoke", args=[team_id, invitation_id])
        assert client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert accept(client, token).status_code == 302
    assert Membership.objects.get(team=outsider_team, user=owner).role == Role.MEMBER
    assert set(Membership.objects.filter(user=owner).values_list("team", flat=True)) == {
        crew.pk,
        outsider_team.pk,
    }
    Invitation.objects.filter(pk=ours.pk).update(uses=0)
    assert not Membership.objects.filter(team=crew, user=outsider).exists()


@pytest.mark.parametrize("token", ["x", "A" * 43, "A" * 3000, "%00", "%F0%9F%98%80", "-_-_"])
def test_unknown_or_garbage_tokens_are_a_clear_404(client, owner_client, token):
    for who in (client, owner_client):
        url = f"/invite/{token}/"
        response = who.get(url, **EN)
        assert response.status_code == 404
        assert b"This invitation is no longer valid" in response.content
        assert who.post(url, **EN).status_code == 404


def test_an_emailed_invitation_carries_the_link(crew, owner, mailoutbox):
    response = make_via_page(client_for(owner), crew, email="friend@example.com")
    url = invite_url(response)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["friend@example.com"]
    assert crew.name in message.subject
    assert url in message.body
    assert "The link was sent to friend@example.com" in response.content.decode()
    assert Invitation.objects.get().email == "friend@example.com"


def test_a_mail_server_that_refuses_still_shows_the_link(crew, owner, settings):
    # A real SMTP connection to a port nobody listens on.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 2, "use_tls": False},
        }
    }
    response = make_via_page(client_for(owner), crew, email="friend@example.com")
    assert response.status_code == 200
    assert "could not be sent" in response.content.decode()
    assert invite_url(response)


def test_members_cannot_invite_or_revoke(crew, member, make_invitation):
    invitation, _ = make_invitation()
    client = client_for(member)
    assert make_via_page(client, crew).status_code == 403
    url = reverse("invitation_revoke", args=[crew.pk, invitation.pk])
    assert client.post(url).status_code == 403
    assert Invitation.objects.count() == 1
    assert Invitation.objects.get().revoked_at is None


def test_the_invitation_page_is_never_cached(client, make_invitation):
    _, token = make_invitation()
    response = client.get(reverse("invitation", args=[token]))
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_teams_never_import_generations():
    import ast
    from pathlib import Path

    for path in Path(Team.__module__.split(".")[0]).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("generations"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("generations") for a in node.names), path
