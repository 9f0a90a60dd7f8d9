"""Two people through the front door: A signs up, B signs up through A's invitation and
then makes a team of their own. Each sees only the current team's gallery, and every
object URL of a team they are not in is a 404."""

import pytest
from django.test import Client
from django.urls import reverse

from generations.models import Generation, Status
from teams.models import Membership, Team
from tests.teams.conftest import EN, invite_url

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords", "media_root")]

PASSWORD = "lantern-over-the-river-42"


def sign_up(client, username, invite=""):
    url = reverse("signup") + (f"?invite={invite}" if invite else "")
    data = {
        "username": username,
        "email": f"{username}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    assert client.post(url, data, **EN).status_code == 302


def video_of(team, username, prompt):
    user = Membership.objects.get(team=team, user__username=username).user
    return Generation.objects.create(
        team=team, created_by=user, prompt=prompt, status=Status.READY, duration=5
    )


def gallery_ids(client) -> set[str]:
    body = client.get(reverse("gallery"), **EN).content.decode()
    return {str(g.pk) for g in Generation.objects.all() if f'data-generation-id="{g.pk}"' in body}


def test_each_person_sees_only_the_current_teams_gallery(settings):
    settings.ALLOW_SIGNUP = True
    anh, binh = Client(), Client()
    sign_up(anh, "anh")
    team_a = Membership.objects.get(user__username="anh").team
    response = anh.post(
        reverse("invitation_create", args=[team_a.pk]),
        {"role": "member", "expires_in_days": "7", "max_uses": "1"},
        **EN,
    )
    token = invite_url(response).rstrip("/").rsplit("/", 1)[1]
    settings.ALLOW_SIGNUP = False
    sign_up(binh, "binh", invite=token)
    binh.post(reverse("team_list"), {"name": "Binh's studio"}, **EN)
    team_b = Team.objects.get(name="Binh's studio")

    in_a = video_of(team_a, "anh", "A kite over the rice fields")
    in_b = video_of(team_b, "binh", "A paper boat in the rain")

    assert gallery_ids(anh) == {str(in_a.pk)}
    assert gallery_ids(binh) == {str(in_b.pk)}  # B's new team is current
    binh.post(reverse("team_switch"), {"team": team_a.pk, "next": "/"})
    assert gallery_ids(binh) == {str(in_a.pk)}

    # A is not in B's team: its video's pages and the team's own pages are 404.
    for url in (
        reverse("generation_detail", args=[in_b.pk]),
        reverse("generation_video", args=[in_b.pk]),
        reverse("generation_poster", args=[in_b.pk]),
        reverse("team_detail", args=[team_b.pk]),
    ):
        assert anh.get(url, **EN).status_code == 404, url
    assert anh.post(reverse("team_switch"), {"team": team_b.pk}).status_code == 404
