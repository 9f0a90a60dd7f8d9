"""Every URL of the app × every kind of visitor, in one table.

The routes come from walking the URLconf (``tests.test_isolation.app_routes``), so a new
view fails ``test_every_route_has_a_row`` until someone decides here who may use it. Each
route is called with real objects of the owner's team: a ready video made by ``creator`` (a
plain member), the team itself, a membership of another plain member and an invitation.
The visitors are the team's ``owner``, an ``admin``, another ``member`` (not the video's
creator), an ``outsider`` with a team of their own, and an ``anonymous`` visitor.

What the statuses mean: 200 a page, 302 done (or sent elsewhere with a message), 403 the
visitor can see the object but their role does not allow the action, 404 the object does
not exist for them, ``LOGIN`` a redirect to the login page (``ADMIN_LOGIN``: the admin's,
for the admin pages of ours; none of these visitors is staff), 405 a method the route does not
take. Details of each action are tested beside the action; this table guards the door.
"""

import re

import pytest
from django.db import transaction
from django.test import Client

from generations.forms import decode_reference, stage_reference
from generations.models import ShareLink
from teams.models import Invitation, Membership
from tests.fixtures import image_bytes
from tests.test_isolation import SKIPPED_PREFIXES, app_routes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

LOGIN = "login"
ADMIN_LOGIN = "admin login"
VISITORS = ("owner", "admin", "member", "outsider", "anonymous")


def row(owner, admin=None, member=None, outsider=404, anonymous=LOGIN, method="GET", data=()):
    """Expected answers; ``admin`` and ``member`` default to the owner's."""
    admin = owner if admin is None else admin
    member = admin if member is None else member
    answers = dict(zip(VISITORS, (owner, admin, member, outsider, anonymous), strict=True))
    return {"method": method, "data": dict(data), "answers": answers}


def everyone(status, method="GET", data=()):
    return row(status, status, status, status, status, method=method, data=data)


POST = "POST"

MATRIX = {
    # Public pages and the door.
    "healthz": everyone(200),
    "favicon.ico": everyone(200),
    "accounts/login/": row(200, outsider=200, anonymous=200),
    # Logging out lands on the login page, whoever asks.
    "accounts/logout/": everyone(LOGIN, method=POST),
    "accounts/signup/": row(302, outsider=302, anonymous=200),
    "accounts/password/": row(200, outsider=200),
    "accounts/password/done/": row(200, outsider=200),
    "accounts/password/reset/": everyone(200),
    "accounts/password/reset/sent/": everyone(200),
    # A valid reset link moves its token into the session, then shows the form.
    "accounts/password/reset/<uidb64>/<token>/": everyone(302),
    "accounts/password/reset/done/": everyone(200),
    "i18n/setlang/": everyone(302, method=POST, data={"language": "en", "next": "/"}),
    # The theme is anyone's own choice: stored on the person, or in a cookie when signed out.
    "theme": everyone(302, method=POST, data={"theme": "dark", "next": "/"}),
    # The sandbox: its media are public (and signed), its control page is for superusers.
    "sandbox/media/<path:name>": everyone(404),
    "sandbox/control/": row(403, outsider=403),
    # Only when a webhook secret is set (the local run derives one; tests set none).
    "rivya/webhook": everyone(404, method=POST),
    # Pages of the current team.
    "": row(200, outsider=200),
    "gallery/": row(200, outsider=200),
    "gallery/download": row(200, outsider=400, method=POST, data={"ids": "<uuid:pk>"}),
    # The team's finished card comes back with "stop polling"; an outsider learns nothing.
    "cards/updates": row(286, outsider=204, data={"since": "0", "ids": "<uuid:pk>"}),
    "uploads/<str:token>/preview": row(200, 404),  # a staged image is its chooser's only
    # One video of the team, made by a plain member.
    "generations/<uuid:pk>/": row(200),
    "generations/<uuid:pk>/video": row(200),
    "generations/<uuid:pk>/poster": row(200),
    "generations/<uuid:pk>/preview": row(200),
    "generations/<uuid:pk>/reference": row(200),
    "generations/<uuid:pk>/provenance": row(200),
    # A ready video cannot be retried: a redirect with a message, for everyone in the team.
    "generations/<uuid:pk>/retry": row(302, method=POST),
    "generations/<uuid:pk>/favourite": row(302, method=POST, data={"favourite": "1"}),
    "generations/<uuid:pk>/delete": row(302, 302, 403, method=POST),
    # Nothing was deleted, so there is nothing to restore.
    "generations/<uuid:pk>/restore": row(404, method=POST),
    "generations/<uuid:pk>/share": row(200, 200, 403, method=POST, data={"expires_in_days": "7"}),
    "generations/<uuid:pk>/share/<int:link_id>/revoke": row(302, 302, 403, method=POST),
    # A share link is public by design; an invitation's page is for anyone holding it.
    "s/<str:token>/": everyone(200),
    "s/<str:token>/video": everyone(200),
    "s/<str:token>/poster": everyone(200),
    "invite/<str:token>/": everyone(200),
    # The team's pages: members see them, owners and admins run them.
    "teams/": row(200, outsider=200),
    "teams/switch": row(302, method=POST, data={"team": "<int:team_id>"}),
    "teams/<int:team_id>/": row(200),
    "teams/<int:team_id>/rename": row(302, 302, 403, method=POST, data={"name": "Renamed"}),
    "teams/<int:team_id>/invitations": row(
        200, 200, 403, method=POST, data={"role": "member", "expires_in_days": "7", "max_uses": "1"}
    ),
    "teams/<int:team_id>/invitations/<int:invitation_id>/revoke": row(302, 302, 403, method=POST),
    "teams/<int:team_id>/members/<int:membership_id>/role": row(
        302, 302, 403, method=POST, data={"role": "admin"}
    ),
    "teams/<int:team_id>/members/<int:membership_id>/remove": row(302, 302, 403, method=POST),
    "teams/<int:team_id>/members/<int:membership_id>/hand-over": row(302, 403, 403, method=POST),
    # Budgets and caps are the owner's to set.
    "teams/<int:team_id>/budget": row(
        302, 403, 403, method=POST, data={"monthly_credit_budget": "500"}
    ),
    "teams/<int:team_id>/members/<int:membership_id>/cap": row(
        302, 403, 403, method=POST, data={"monthly_credit_cap": "100"}
    ),
    # Leaving is each member's own choice; the team's only owner must hand over first.
    "teams/<int:team_id>/leave": row(302, 302, 302, method=POST),
    # The credit audit's admin pages are for staff only.
    "admin/credits/dashboard/": everyone(ADMIN_LOGIN),
    "admin/credits/reconciliation/": everyone(ADMIN_LOGIN),
}


def test_every_route_has_a_row():
    routes = set(app_routes())
    assert sorted(routes - set(MATRIX)) == [], "add these routes to tests/test_access_matrix.py"
    assert sorted(set(MATRIX) - routes - {"i18n/setlang/"}) == []
    assert not any(route.startswith(SKIPPED_PREFIXES) for route in MATRIX)


@pytest.fixture
def world(roles, add_ready_video, settings, tmp_path, django_user_model):
    """The objects every route is called with."""
    settings.SANDBOX_DATA_DIR = tmp_path / "sandbox"
    creator = roles.user("creator")
    video = add_ready_video(user=creator, prompt="The team's own video")
    _, share_token = ShareLink.make(generation=video, by=creator, days=7, show_prompt=True)
    link = video.share_links.get()
    invitation, invite_token = Invitation.make(
        team=roles.team, by=roles.user("owner"), role="member", days=7, max_uses=None
    )
    target = Membership.objects.get(team=roles.team, user=roles.user("member"))
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    owner = roles.user("owner")
    uid = urlsafe_base64_encode(force_bytes(owner.pk))
    reset = (uid, default_token_generator.make_token(owner))
    return {
        "<uuid:pk>": str(video.pk),
        "<int:link_id>": str(link.pk),
        "<int:team_id>": str(roles.team.pk),
        "<int:invitation_id>": str(invitation.pk),
        "<int:membership_id>": str(target.pk),
        "<uidb64>/<token>": "/".join(reset),
        "<path:name>": "task_" + "A" * 24 + ".mp4",
        "share": share_token,
        "invite": invite_token,
        "video": video,
    }


def url_for(route: str, world: dict, visitor: str, roles) -> str:
    url = "/" + route
    if route.startswith("s/"):
        url = url.replace("<str:token>", world["share"])
    elif route.startswith("invite/"):
        url = url.replace("<str:token>", world["invite"])
    elif route.startswith("uploads/"):
        # Staged by the owner: the owner's own; for anyone else, someone else's.
        owner = roles.user("owner")
        token = stage_reference(decode_reference(image_bytes("PNG"), "kite.png"), owner)
        url = url.replace("<str:token>", token)
    for placeholder, value in world.items():
        if placeholder.startswith("<"):
            url = url.replace(placeholder, value)
    assert not re.search(r"<[^>]+>", url), url
    return url


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_each_visitor_gets_the_answer_in_the_table(route, roles, world):
    spec = MATRIX[route]
    wrong = []
    for visitor in VISITORS:
        # Each visitor meets the same world: what one of them changes is rolled back.
        with transaction.atomic():
            got = visit(route, spec, visitor, roles, world)
            transaction.set_rollback(True)
        if got != spec["answers"][visitor]:
            wrong.append((visitor, "expected", spec["answers"][visitor], "got", got))
    assert wrong == [], route


def visit(route: str, spec: dict, visitor: str, roles, world: dict):
    client: Client = roles.client(visitor)
    url = url_for(route, world, visitor, roles)
    data = {key: world.get(value, value) for key, value in spec["data"].items()}
    send = client.post if spec["method"] == POST else client.get
    response = send(url, data)
    body = b"".join(response) if response.streaming else response.content
    if visitor in {"outsider", "anonymous"} and route.startswith("generations/"):
        assert b"The team's own video" not in body, (route, visitor)
    status = response.status_code
    if status == 302 and response["Location"].startswith("/accounts/login/"):
        return LOGIN
    if status == 302 and response["Location"].startswith("/admin/login/"):
        return ADMIN_LOGIN
    return status
