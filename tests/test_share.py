"""Share links: who makes and revokes them, the token shown once and stored hashed, and a
public page that shows the video (and the prompt if chosen) and nothing else."""

import hashlib
import re
from datetime import timedelta
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.models import ShareLink, Status

pytestmark = pytest.mark.django_db

PROMPT = "Một chiếc thuyền giấy trôi trên phố mưa 4be1"
SHARE_URL = re.compile(r'data-share-url="([^"]+)"')


def url(name, generation, *args):
    return reverse(name, args=[generation.pk, *args])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def video(roles, add_ready_video):
    return add_ready_video(
        user=roles.user("creator"), prompt=PROMPT, video_width=1280, video_height=720
    )


def share(client, generation, days="7", show_prompt=True):
    data = {"expires_in_days": days}
    if show_prompt:
        data["show_prompt"] = "on"
    return client.post(url("generation_share", generation), data)


def made_link(client, generation, **kwargs) -> str:
    response = share(client, generation, **kwargs)
    assert response.status_code == 200, response.status_code
    return unescape(SHARE_URL.search(response.content.decode()).group(1))


def path_of(share_url: str) -> str:
    return share_url.removeprefix("http://testserver")


# --- Making and revoking --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["creator", "owner", "admin"])
def test_the_creator_an_owner_or_an_admin_makes_a_link_shown_once(roles, video, role):
    response = share(roles.client(role), video, days="30")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    share_url = unescape(SHARE_URL.search(response.content.decode()).group(1))
    assert share_url.startswith("http://testserver/s/")
    token = share_url.removeprefix("http://testserver/s/").rstrip("/")
    link = ShareLink.objects.get()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert link.created_by == roles.user(role)
    assert link.show_prompt is True
    assert timedelta(days=29, hours=23) < link.expires_at - timezone.now() <= timedelta(days=30)
    # Shown once: the detail page lists the link, never its token again.
    page = roles.client(role).get(url("generation_detail", video)).content.decode()
    assert token not in page
    assert "data-share-url" not in page
    assert url("share_revoke", video, link.pk) in page


def test_a_member_may_not_share_anothers_video_but_may_share_their_own(
    roles, video, add_ready_video
):
    assert share(roles.client("member"), video).status_code == 403
    own = add_ready_video(user=roles.user("member"))
    assert share(roles.client("member"), own).status_code == 200
    assert ShareLink.objects.get().generation == own


def test_outsiders_get_404_and_anonymous_the_login_page(roles, video):
    assert share(roles.client("outsider"), video).status_code == 404
    response = share(roles.client("anonymous"), video)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("status", [Status.FAILED, Status.PROCESSING, Status.ATTENTION])
def test_only_a_ready_video_is_shared(roles, add_generation, status):
    generation = add_generation(status=status, user=roles.user("creator"))
    response = share(roles.client("owner"), generation)
    assert response.status_code == 302
    assert "Only a ready video can be shared." in (
        roles.client("owner").get(response["Location"]).content.decode()
    )
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("days", ["", "0", "3", "31", "-1", "abc", "7.5", "1e3", "\x00"])
def test_a_bad_lifetime_is_a_clear_error(roles, video, days):
    response = share(roles.client("owner"), video, days=days)
    assert response.status_code == 400
    html = response.content.decode()
    assert "errorlist" in html
    assert "data-share-url" not in html
    assert not ShareLink.objects.exists()


def test_a_forged_show_prompt_value_is_refused(roles, video):
    response = roles.client("owner").post(
        url("generation_share", video), {"expires_in_days": "7", "show_prompt": "maybe"}
    )
    assert response.status_code == 400
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize("role", ["creator", "owner", "admin"])
def test_revoke_makes_the_link_404(roles, video, role):
    share_url = made_link(roles.client("creator"), video)
    link = ShareLink.objects.get()
    anonymous = Client()
    assert anonymous.get(path_of(share_url)).status_code == 200
    response = roles.client(role).post(url("share_revoke", video, link.pk))
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    for suffix in ("", "video", "poster"):
        assert anonymous.get(path_of(share_url) + suffix).status_code == 404
    page = roles.client(role).get(url("generation_detail", video)).content.decode()
    assert url("share_revoke", video, link.pk) not in page


def test_a_member_may_not_revoke_and_outsiders_get_404(roles, video):
    share_url = made_link(roles.client("owner"), video)
    link = ShareLink.objects.get()
    assert roles.client("member").post(url("share_revoke", video, link.pk)).status_code == 403
    assert roles.client("outsider").post(url("share_revoke", video, link.pk)).status_code == 404
    assert Client().get(path_of(share_url)).status_code == 200


def test_a_link_is_revoked_only_through_its_own_video(roles, video, add_ready_video):
    made_link(roles.client("owner"), video)
    link = ShareLink.objects.get()
    other = add_ready_video()
    assert roles.client("owner").post(url("share_revoke", other, link.pk)).status_code == 404
    assert roles.client("owner").post(url("share_revoke", video, 999999)).status_code == 404
    link.refresh_from_db()
    assert link.revoked_at is None


# --- The public page ------------------------------------------------------------------------


def test_the_public_page_opens_without_a_session_and_reveals_nothing_else(roles, video):
    share_url = made_link(roles.client("creator"), video)
    token = path_of(share_url).split("/")[2]
    anonymous = Client()
    response = anonymous.get(path_of(share_url))
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert "noindex" in response["X-Robots-Tag"]
    html = response.content.decode()
    assert PROMPT in unescape(html)

    team = roles.team
    for secret in (
        team.name,
        "creator",
        "owner",
        str(video.pk),
        video.pk.hex,
        video.idempotency_key,
        "/generations/",
        "teams/",
        "kling",
        "csrf",
    ):
        assert secret not in html, secret
    # Every address on the page is the share page's own, or a static file.
    addresses = re.findall(r'(?:href|src|content|poster)="([^"]*)"', html)
    for address in addresses:
        if address.startswith(("/", "http")):
            assert address.startswith(("/static/", f"http://testserver/s/{token}/")), address
    # No id of any kind: the only digits are the width and height of the video.
    numbers = set(re.findall(r'content="(\d+)"', html))
    assert numbers <= {"1280", "720"}


def test_open_graph_tags_have_absolute_urls(roles, video):
    share_url = made_link(roles.client("owner"), video)
    html = Client().get(path_of(share_url)).content.decode()

    def meta(prop):
        match = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', html)
        assert match, prop
        return unescape(match.group(1))

    assert meta("og:type") == "video.other"
    assert meta("og:url") == share_url
    assert meta("og:image") == share_url + "poster"
    assert meta("og:video") == share_url + "video"
    assert meta("og:video:type") == "video/mp4"
    assert PROMPT.startswith(meta("og:title").rstrip("…"))
    assert meta("twitter:card") == "summary_large_image"


def test_without_show_prompt_the_prompt_stays_private(roles, video):
    share_url = made_link(roles.client("owner"), video, show_prompt=False)
    visitor = Client(headers={"accept-language": "en"})
    html = unescape(visitor.get(path_of(share_url)).content.decode())
    assert PROMPT not in html
    assert PROMPT[:20] not in html
    assert "<title>A shared video</title>" in html


def test_the_shared_video_and_poster_are_served_under_the_token(roles, video):
    share_url = path_of(made_link(roles.client("owner"), video))
    anonymous = Client()
    stored = video.video.open("rb").read()
    whole = anonymous.get(share_url + "video")
    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/mp4"
    assert whole["Referrer-Policy"] == "no-referrer"
    assert body(whole) == stored
    part = anonymous.get(share_url + "video", headers={"range": "bytes=0-9"})
    assert part.status_code == 206
    assert body(part) == stored[:10]
    poster = anonymous.get(share_url + "poster")
    assert poster.status_code == 200
    assert poster["Content-Type"] == "image/jpeg"
    assert body(poster) == video.poster.open("rb").read()


def test_an_expired_link_is_404(roles, video, time_machine):
    share_url = path_of(made_link(roles.client("owner"), video, days="1"))
    time_machine.move_to(timezone.now() + timedelta(hours=23))
    assert Client().get(share_url).status_code == 200
    time_machine.move_to(timezone.now() + timedelta(hours=2))
    for suffix in ("", "video", "poster"):
        assert Client().get(share_url + suffix).status_code == 404
    page = roles.client("owner").get(url("generation_detail", video)).content.decode()
    assert "No active share links." in page


def test_a_deleted_video_is_404_and_back_after_undo(roles, video, settings):
    share_url = path_of(made_link(roles.client("owner"), video))
    video.soft_delete(roles.user("owner"))
    assert Client().get(share_url).status_code == 404
    video.restore(settings.UNDO_WINDOW)
    assert Client().get(share_url).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "x",
        "A" * 43,
        "a" * 5000,
        "%E2%98%83",
        "..%2F..%2Fetc%2Fpasswd",
        "%00",
        "' OR 1=1 --",
        "🎬",
    ],
)
def test_garbage_tokens_are_404_never_500(client, token, video):
    for suffix in ("", "video", "poster"):
        response = client.get(f"/s/{token}/{suffix}")
        assert response.status_code == 404, (token, suffix)


def test_a_signed_in_stranger_sees_the_same_public_page(roles, video):
    share_url = path_of(made_link(roles.client("owner"), video))
    response = roles.client("outsider").get(share_url)
    assert response.status_code == 200
    assert roles.team.name not in response.content.decode()


def test_the_hash_is_looked_up_not_the_token(roles, video):
    made_link(roles.client("owner"), video)
    link = ShareLink.objects.get()
    # Knowing the stored hash opens nothing.
    assert Client().get(f"/s/{link.token_hash}/").status_code == 404
