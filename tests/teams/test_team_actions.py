"""Every team action by every role: allowed ones change the team, others get 403 and
change nothing; the controls a role may not use are not on its page."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from teams.models import Invitation, Membership, Team
from tests.teams.conftest import EN, Role, client_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture
def people(crew, owner, admin, member, django_user_model, password):
    """The crew plus a second owner and a plain member to act on."""
    co_owner = django_user_model.objects.create_user("co-owner", "co@example.com", password)
    target = django_user_model.objects.create_user("target", "target@example.com", password)
    Membership.objects.create(team=crew, user=co_owner, role=Role.OWNER)
    Membership.objects.create(team=crew, user=target, role=Role.MEMBER)
    return {"owner": owner, "admin": admin, "member": member, "co_owner": co_owner}


def role_of(team, username):
    return Membership.objects.get(team=team, user__username=username).role


def member_url(name, team, username):
    membership = Membership.objects.get(team=team, user__username=username)
    return reverse(name, args=[team.pk, membership.pk])


# action: (request to make, check that it happened, roles allowed)
def rename(client, team):
    return client.post(reverse("team_rename", args=[team.pk]), {"name": "Night shoots"}, **EN)


def renamed(team):
    return Team.objects.get(pk=team.pk).name == "Night shoots"


def invite_admin(client, team):
    data = {"role": "admin", "expires_in_days": "7", "max_uses": "1"}
    return client.post(reverse("invitation_create", args=[team.pk]), data, **EN)


def invited(team):
    return Invitation.objects.filter(team=team, role=Role.ADMIN).exists()


def revoke(client, team):
    invitation, _ = Invitation.make(team=team, by=None, role=Role.MEMBER, days=1, max_uses=None)
    return client.post(reverse("invitation_revoke", args=[team.pk, invitation.pk]), **EN)


def revoked(team):
    return Invitation.objects.filter(team=team, revoked_at__isnull=False).exists()


def promote_to_admin(client, team):
    return client.post(member_url("member_role", team, "target"), {"role": "admin"}, **EN)


def promoted_to_admin(team):
    return role_of(team, "target") == Role.ADMIN


def promote_to_owner(client, team):
    return client.post(member_url("member_role", team, "target"), {"role": "owner"}, **EN)


def promoted_to_owner(team):
    return role_of(team, "target") == Role.OWNER


def demote_owner(client, team):
    return client.post(member_url("member_role", team, "co-owner"), {"role": "member"}, **EN)


def owner_demoted(team):
    return role_of(team, "co-owner") == Role.MEMBER


def remove_member(client, team):
    return client.post(member_url("member_remove", team, "target"), **EN)


def member_removed(team):
    return not Membership.objects.filter(team=team, user__username="target").exists()


def remove_owner(client, team):
    return client.post(member_url("member_remove", team, "co-owner"), **EN)


def owner_removed(team):
    return not Membership.objects.filter(team=team, user__username="co-owner").exists()


def hand_over(client, team):
    return client.post(member_url("member_hand_over", team, "target"), **EN)


def handed_over(team):
    return role_of(team, "target") == Role.OWNER


ACTIONS = {
    "rename": (rename, renamed, {"owner", "admin"}),
    "invite": (invite_admin, invited, {"owner", "admin"}),
    "revoke": (revoke, revoked, {"owner", "admin"}),
    "promote_to_admin": (promote_to_admin, promoted_to_admin, {"owner", "admin"}),
    "promote_to_owner": (promote_to_owner, promoted_to_owner, {"owner"}),
    "demote_owner": (demote_owner, owner_demoted, {"owner"}),
    "remove_member": (remove_member, member_removed, {"owner", "admin"}),
    "remove_owner": (remove_owner, owner_removed, {"owner"}),
    "hand_over": (hand_over, handed_over, {"owner"}),
}


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_each_role_may_do_exactly_its_actions(people, crew, role, action):
    act, happened, allowed = ACTIONS[action]
    response = act(client_for(people[role]), crew)
    if role in allowed:
        assert response.status_code in {200, 302}, response.status_code
        assert happened(crew)
    else:
        assert response.status_code == 403
        assert not happened(crew)
    # Whatever happened, the team still has an owner.
    assert Membership.objects.filter(team=crew, role=Role.OWNER).exists()


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_every_role_sees_the_team_page(people, crew, role):
    response = client_for(people[role]).get(reverse("team_detail", args=[crew.pk]), **EN)
    assert response.status_code == 200
    body = response.content.decode()
    for username in ("owner", "admin", "member", "co-owner", "target"):
        assert f'data-member="{username}"' in body


def test_a_member_sees_no_controls_but_leaving(people, crew):
    body = client_for(people["member"]).get(reverse("team_detail", args=[crew.pk])).content
    body = body.decode()
    assert 'id="team-rename"' not in body
    assert 'id="invitation-form"' not in body
    assert "/role" not in body and "/remove" not in body and "/hand-over" not in body
    assert reverse("team_leave", args=[crew.pk]) in body


def test_an_admin_sees_no_controls_on_owners_and_no_hand_over(people, crew):
    body = client_for(people["admin"]).get(reverse("team_detail", args=[crew.pk])).content
    body = body.decode()
    assert member_url("member_role", crew, "target") in body
    assert member_url("member_role", crew, "co-owner") not in body
    assert member_url("member_remove", crew, "owner") not in body
    assert "/hand-over" not in body
    assert '<option value="owner"' not in body  # an admin cannot make owners


def test_an_owner_sees_every_control(people, crew):
    body = client_for(people["owner"]).get(reverse("team_detail", args=[crew.pk])).content
    body = body.decode()
    assert member_url("member_role", crew, "co-owner") in body
    assert member_url("member_hand_over", crew, "target") in body
    assert '<option value="owner"' in body


def test_nobody_changes_their_own_role(people, crew, owner, admin):
    url = member_url("member_role", crew, "owner")
    assert client_for(owner).post(url, {"role": "member"}).status_code == 403
    url = member_url("member_role", crew, "admin")
    assert client_for(admin).post(url, {"role": "owner"}).status_code == 403
    assert role_of(crew, "owner") == Role.OWNER and role_of(crew, "admin") == Role.ADMIN


@pytest.mark.parametrize("role", ["", "superuser", "OWNER", "x" * 5000])
def test_an_unknown_role_is_refused_with_a_message(people, crew, owner, role):
    url = member_url("member_role", crew, "target")
    response = client_for(owner).post(url, {"role": role}, follow=True, **EN)
    assert response.status_code == 200
    assert "Choose one of the roles offered." in response.content.decode()
    assert role_of(crew, "target") == Role.MEMBER


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_a_bad_team_name_is_refused(people, crew, owner, name):
    response = client_for(owner).post(reverse("team_rename", args=[crew.pk]), {"name": name})
    assert response.status_code == 400
    assert response.context["rename_form"].errors
    assert Team.objects.get(pk=crew.pk).name == crew.name


def test_a_membership_of_another_team_is_404(people, crew, owner, outsider, outsider_team):
    theirs = Membership.objects.get(team=outsider_team, user=outsider)
    client = client_for(owner)
    for name in ("member_role", "member_remove", "member_hand_over"):
        url = reverse(name, args=[crew.pk, theirs.pk])
        assert client.post(url, {"role": "member"}).status_code == 404
    assert Membership.objects.get(pk=theirs.pk).role == Role.OWNER


def test_creating_a_team_makes_its_maker_owner_and_works_there(owner_client, owner, team):
    response = owner_client.post(reverse("team_list"), {"name": "  Night   shoots "}, **EN)
    created = Team.objects.get(name="Night shoots")
    assert response.status_code == 302
    assert response["Location"] == reverse("team_detail", args=[created.pk])
    assert role_of(created, "owner") == Role.OWNER
    assert not created.personal
    listing = owner_client.get(reverse("team_list"), **EN)
    assert listing.context["current"].team == created


def test_a_team_needs_a_name(owner_client):
    response = owner_client.post(reverse("team_list"), {"name": " "}, **EN)
    assert response.status_code == 400
    assert Team.objects.count() == 1


# --- Leaving, and the last owner -------------------------------------------------------------


def test_a_member_may_leave(people, crew, member):
    other = Team.start(name="Elsewhere", owner=member)
    response = client_for(member).post(reverse("team_leave", args=[crew.pk]))
    assert response.status_code == 302
    assert list(Membership.objects.filter(user=member).values_list("team", flat=True)) == [other.pk]


def test_the_last_owner_cannot_leave(crew, owner, admin):
    Team.start(name="Elsewhere", owner=owner)
    client = client_for(owner)
    response = client.post(reverse("team_leave", args=[crew.pk]), follow=True, **EN)
    assert "only owner" in response.content.decode()
    assert role_of(crew, "owner") == Role.OWNER


def test_an_owner_may_leave_after_handing_over(crew, owner, admin):
    Team.start(name="Elsewhere", owner=owner)
    client = client_for(owner)
    hand = client.post(member_url("member_hand_over", crew, "admin"))
    assert hand.status_code == 302
    assert role_of(crew, "admin") == Role.OWNER
    assert role_of(crew, "owner") == Role.ADMIN
    assert client.post(reverse("team_leave", args=[crew.pk])).status_code == 302
    assert list(Membership.objects.filter(team=crew, role=Role.OWNER)) == [
        Membership.objects.get(team=crew, user=admin)
    ]


def test_one_of_two_owners_may_leave(people, crew, owner):
    Team.start(name="Elsewhere", owner=owner)
    assert client_for(owner).post(reverse("team_leave", args=[crew.pk])).status_code == 302
    assert role_of(crew, "co-owner") == Role.OWNER


def test_nobody_leaves_their_only_team(crew, member):
    response = client_for(member).post(reverse("team_leave", args=[crew.pk]), follow=True, **EN)
    assert "only team" in response.content.decode()
    assert Membership.objects.filter(team=crew, user=member).exists()


def test_a_removed_member_whose_team_it_was_gets_a_personal_one(crew, owner, member):
    client_for(owner).post(member_url("member_remove", crew, "member"))
    assert not Membership.objects.filter(team=crew, user=member).exists()
    client = client_for(member)
    assert client.get(reverse("home")).status_code == 200
    assert Membership.objects.get(user=member).team.personal


def test_a_removed_member_loses_the_team_at_once(crew, owner, member):
    client = client_for(member)
    assert client.get(reverse("team_detail", args=[crew.pk])).status_code == 200
    client_for(owner).post(member_url("member_remove", crew, "member"))
    assert client.get(reverse("team_detail", args=[crew.pk])).status_code == 404


def test_users_left_with_no_team_keep_their_account(crew, owner, member):
    client_for(owner).post(member_url("member_remove", crew, "member"))
    assert get_user_model().objects.filter(pk=member.pk).exists()


def test_the_only_owner_is_offered_handing_over_instead_of_leaving(crew, owner, admin):
    leave = reverse("team_leave", args=[crew.pk])
    body = client_for(owner).get(reverse("team_detail", args=[crew.pk]), **EN).content.decode()
    assert leave not in body
    assert "hand over ownership before leaving" in body
    assert leave in client_for(admin).get(reverse("team_detail", args=[crew.pk])).content.decode()
