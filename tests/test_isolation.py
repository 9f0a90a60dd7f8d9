"""Who may reach what, for every route of the app.

The matrix below classifies every URL pattern (found by walking the resolver, so a route
added later must be classified here before the suite passes): outsiders (users of another
team) get a 404 for anything that names another team's object, anonymous visitors are sent
to the login page except on the few public routes.
"""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from generations.forms import decode_reference, stage_reference
from generations.models import Generation, ShareLink, Status, generation_key
from teams.models import Membership
from tests.fixtures import image_bytes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root"),
]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
MP4 = b"\0\0\0\x18ftypmp42" + b"\0" * 64
SECRET_PROMPT = "Only the owner's team may read this prompt 7f3a"

# Prefixes with their own authentication, tested elsewhere.
SKIPPED_PREFIXES = ("sandbox/api/", "sandbox/^api/")
# The admin site's own URLs (Django's, behind its login; tests/test_admin.py). Pages of ours
# mounted under admin/ are walked like any other route.
SKIPPED_NAMESPACES = {"admin"}


@dataclass(frozen=True)
class Route:
    """How a route is reached: ``kind`` says who may use it."""

    kind: str  # "public", "login", "object", "staff", "admin", "auth"
    methods: tuple[str, ...] = ("GET",)
    # What the team's owner and a plain member may get: an action refused to a member's
    # role is a 403, one the video's state does not allow a redirect with a message.
    team: frozenset[int] = frozenset({200, 302})
    data: tuple[tuple[str, str], ...] = ()


# Every pattern of the app, relative to the root. A new pattern fails the test below
# until it is added here.
MATRIX: dict[str, Route] = {
    "healthz": Route("public"),
    "favicon.ico": Route("public"),
    "accounts/login/": Route("public"),
    "accounts/logout/": Route("auth", ("POST",)),
    "accounts/password/": Route("login"),
    "accounts/password/done/": Route("login"),
    "i18n/setlang/": Route("public", ("POST",)),
    "theme": Route("public", ("POST",), data=(("theme", "dark"),)),
    "sandbox/media/<path:name>": Route("public"),
    "sandbox/control/": Route("staff", ("GET", "POST")),
    "": Route("login", ("GET", "POST")),
    "rivya/webhook": Route("public", ("POST",)),
    "cards/updates": Route("login"),
    "gallery/": Route("login"),
    "generations/<uuid:pk>/": Route("object"),
    "generations/<uuid:pk>/retry": Route("object", ("POST",)),
    "generations/<uuid:pk>/video": Route("object"),
    "generations/<uuid:pk>/poster": Route("object"),
    "generations/<uuid:pk>/preview": Route("object"),
    "generations/<uuid:pk>/reference": Route("object"),
    "uploads/<str:token>/preview": Route("object"),
    # Getting in, and the teams' pages. A team is reached by its members only: outsiders
    # get 404 on every team route (tests/teams/test_team_routes.py walks them all).
    "accounts/signup/": Route("public", ("GET", "POST")),
    "accounts/password/reset/": Route("public", ("GET", "POST")),
    "accounts/password/reset/sent/": Route("public"),
    "accounts/password/reset/<uidb64>/<token>/": Route("public", ("GET", "POST")),
    "accounts/password/reset/done/": Route("public"),
    "invite/<str:token>/": Route("public", ("GET", "POST")),
    "teams/": Route("login", ("GET", "POST")),
    "teams/switch": Route("login", ("POST",)),
    "teams/<int:team_id>/": Route("login"),
    "teams/<int:team_id>/rename": Route("login", ("POST",)),
    "teams/<int:team_id>/leave": Route("login", ("POST",)),
    "teams/<int:team_id>/invitations": Route("login", ("POST",)),
    "teams/<int:team_id>/invitations/<int:invitation_id>/revoke": Route("login", ("POST",)),
    "teams/<int:team_id>/members/<int:membership_id>/role": Route("login", ("POST",)),
    "teams/<int:team_id>/members/<int:membership_id>/remove": Route("login", ("POST",)),
    "teams/<int:team_id>/members/<int:membership_id>/hand-over": Route("login", ("POST",)),
    "teams/<int:team_id>/budget": Route("login", ("POST",)),
    "teams/<int:team_id>/members/<int:membership_id>/cap": Route("login", ("POST",)),
    "generations/<uuid:pk>/provenance": Route("object"),
    "generations/<uuid:pk>/favourite": Route("object", ("POST",), data=(("favourite", "1"),)),
    # The owner deletes it; the member then finds it gone (or, first, lacks the role).
    "generations/<uuid:pk>/delete": Route("object", ("POST",), frozenset({302, 403, 404})),
    # Only a video deleted moments ago can be restored (tests/test_delete.py).
    "generations/<uuid:pk>/restore": Route("object", ("POST",), frozenset({404})),
    # The victim failed, so nothing to share (a redirect that says so); a member lacks the role.
    "generations/<uuid:pk>/share": Route("object", ("POST",), frozenset({302, 403})),
    "generations/<uuid:pk>/share/<int:link_id>/revoke": Route(
        "object", ("POST",), frozenset({302, 403})
    ),
    "s/<str:token>/": Route("public"),
    "s/<str:token>/video": Route("public"),
    "s/<str:token>/poster": Route("public"),
    "gallery/download": Route("login", ("POST",)),
    # The credit audit's admin pages: the admin's login, then staff with the ledger's view
    # permission (tests/credits/test_dashboard.py).
    "admin/credits/dashboard/": Route("admin"),
    "admin/credits/reconciliation/": Route("admin"),
}
OPTIONAL = {"i18n/setlang/"}


def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace in SKIPPED_NAMESPACES:
            continue
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern)


def app_routes() -> list[str]:
    return [
        route
        for route in walk(get_resolver().url_patterns)
        if not route.startswith(SKIPPED_PREFIXES)
    ]


def test_every_route_is_classified():
    routes = app_routes()
    unclassified = [route for route in routes if route not in MATRIX]
    assert not unclassified, f"classify these routes in tests/test_isolation.py: {unclassified}"
    stale = [route for route in MATRIX if route not in routes and route not in OPTIONAL]
    assert not stale, f"these classified routes no longer exist: {stale}"


def test_object_routes_all_take_an_object_id():
    for route, spec in MATRIX.items():
        if spec.kind == "object":
            assert re.search(r"<[^>]+>", route), route


@pytest.fixture
def victim(add_generation, owner):
    """A failed generation of the owner's team with a video, a poster and a reference."""
    generation = add_generation(
        status=Status.FAILED, video=MP4, poster=image_bytes("JPEG"), prompt=SECRET_PROMPT
    )
    generation.reference_mime = "image/png"
    generation.reference_name = "kite.png"
    generation.reference_image.save("kite.png", _content(image_bytes("PNG")), save=False)
    generation.preview.save(generation_key(generation, "preview.mp4"), _content(MP4), save=False)
    generation.provenance = default_storage.save(
        generation_key(generation, "provenance.json"), _content(b'{"prompt": "x"}')
    )
    generation.save()
    ShareLink.make(generation=generation, by=owner, days=1, show_prompt=True)
    return generation


def _content(data: bytes):
    from django.core.files.base import ContentFile

    return ContentFile(data)


@pytest.fixture
def staged_token(owner, media_root):
    reference = decode_reference(image_bytes("PNG"), "kite.png")
    return stage_reference(reference, owner)


def object_url(route: str, generation: Generation, token: str) -> str:
    url = "/" + route.replace("<uuid:pk>", str(generation.pk))
    link = generation.share_links.first()
    url = url.replace("<int:link_id>", str(link.pk if link else 0))
    return url.replace("<str:token>", token)


def sample_url(route: str) -> str:
    """A URL of ``route`` with placeholder values for its parameters."""
    url = "/" + route
    url = url.replace("<uuid:pk>", str(uuid.uuid4()))
    url = url.replace("<str:token>", "x")
    url = re.sub(r"<int:\w+>", "1", url)
    return url.replace("<path:name>", "task_" + "A" * 24 + ".mp4")


def call(client: Client, method: str, url: str, data=(), **extra):
    if data:
        extra["data"] = dict(data)
    return getattr(client, method.lower())(url, **EN, **extra)


OBJECT_ROUTES = sorted(route for route, spec in MATRIX.items() if spec.kind == "object")


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_outsiders_get_404_for_every_object_route(
    route, victim, staged_token, outsider_client, owner_client, member, password
):
    url = object_url(route, victim, staged_token)
    count = Generation.objects.count()
    spec = MATRIX[route]
    for method in spec.methods:
        response = call(outsider_client, method, url, spec.data)
        assert response.status_code == 404, (route, method, response.status_code)
        body = b"".join(response) if response.streaming else response.content
        assert SECRET_PROMPT.encode() not in body
        assert b"ftypmp42" not in body
        assert Generation.objects.count() == count

    # The same URLs work for the team: the 404 above is about the outsider, not the URL.
    Membership.objects.create(team=victim.team, user=member)
    team_client = Client()
    team_client.force_login(member)
    for client in (owner_client, team_client):
        for method in spec.methods:
            response = call(client, method, url, spec.data)
            if route.startswith("uploads/") and client is team_client:
                # A staged image belongs to the user who chose it, not the team.
                assert response.status_code == 404
            else:
                assert response.status_code in spec.team, (route, method, response.status_code)


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_anonymous_visitors_are_sent_to_login(route, client):
    spec = MATRIX[route]
    url = sample_url(route)
    for method in spec.methods:
        response = call(client, method, url)
        assert response.status_code < 500, (route, method)
        if spec.kind in {"login", "object", "staff"}:
            assert response.status_code == 302, (route, method, response.status_code)
            assert response["Location"].startswith("/accounts/login/"), response["Location"]
        if spec.kind == "admin":
            assert response.status_code == 302, (route, method, response.status_code)
            assert response["Location"].startswith("/admin/login/"), response["Location"]


@pytest.mark.parametrize("route", sorted(r for r, s in MATRIX.items() if s.kind == "staff"))
def test_staff_routes_refuse_signed_in_non_staff(route, outsider_client):
    for method in MATRIX[route].methods:
        response = call(outsider_client, method, sample_url(route))
        assert response.status_code in {403, 404}, (route, method, response.status_code)


@pytest.mark.parametrize("route", sorted(r for r, s in MATRIX.items() if s.kind == "admin"))
def test_admin_routes_send_signed_in_non_staff_to_the_admin_login(route, outsider_client):
    for method in MATRIX[route].methods:
        response = call(outsider_client, method, sample_url(route))
        assert response.status_code == 302, (route, method, response.status_code)
        assert response["Location"].startswith("/admin/login/"), response["Location"]


def test_public_sandbox_media_of_an_unknown_name_is_404(client, settings, tmp_path):
    settings.SANDBOX_DATA_DIR = tmp_path / "sandbox"
    assert client.get(sample_url("sandbox/media/<path:name>")).status_code == 404
    assert client.get("/sandbox/media/../../etc/passwd").status_code == 404
    assert client.get("/sandbox/media/task_%2e%2e%2fsecret.mp4").status_code == 404


# --- Card updates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "since",
    [
        "0",
        "-1",
        "1e309",
        "abc",
        "",
        str(2**62),
        str(2**62 - 1),
        str(3 * 10**17),
        str(2**63 + 5),
        "9" * 400,
        "0\x00",
    ],
)
def test_card_updates_never_return_another_teams_cards(
    since, add_generation, outsider_team, outsider, outsider_client
):
    theirs = [
        add_generation(status=status, prompt=SECRET_PROMPT)
        for status in (Status.PROCESSING, Status.READY, Status.FAILED)
    ]
    mine = add_generation(team=outsider_team, user=outsider, status=Status.READY)
    ids = [str(g.pk) for g in theirs]
    for raw in (
        ",".join(ids),
        ",".join([*ids, str(mine.pk)]),
        ",".join(ids * 30),
        ",".join(i.upper() for i in ids),
        ",".join("{" + i + "}" for i in ids),
        ",".join(i.replace("-", "") for i in ids),
    ):
        response = outsider_client.get("/cards/updates", {"since": since, "ids": raw}, **EN)
        assert response.status_code in {200, 204, 286}, response.status_code
        body = response.content.decode()
        assert SECRET_PROMPT not in body
        for other in theirs:
            assert str(other.pk) not in body
            assert other.pk.hex not in body


def test_card_updates_for_the_team_do_return_its_cards(add_generation, owner_client):
    generation = add_generation(status=Status.READY, prompt=SECRET_PROMPT)
    response = owner_client.get("/cards/updates", {"since": "0", "ids": str(generation.pk)})
    assert str(generation.pk) in response.content.decode()
