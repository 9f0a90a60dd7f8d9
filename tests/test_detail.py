"""The detail page: what it shows, download, provenance, favourite, remix and retry, for
every kind of visitor."""

import hashlib
import json
import re
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from generations.forms import kept_reference_source
from generations.models import Favourite, Generation, Status
from tests.fixtures import image_bytes

pytestmark = pytest.mark.django_db

TEAM_ROLES = ("creator", "owner", "admin", "member")
VIETNAMESE = "Con mèo nhảy múa trên đường phố Đà Lạt"


def url(name, generation, **query):
    path = reverse(name, args=[generation.pk])
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return path


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def video(roles, add_ready_video):
    return add_ready_video(user=roles.user("creator"), prompt=VIETNAMESE)


# --- The page -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", TEAM_ROLES)
def test_the_team_sees_every_input_credit_and_time(roles, video, role):
    Generation.objects.filter(pk=video.pk).update(
        submitted_at=datetime(2026, 11, 29, 10, 0, 5, tzinfo=UTC),
        finished_at=datetime(2026, 11, 29, 10, 1, 40, tzinfo=UTC),
    )
    response = roles.client(role).get(url("generation_detail", video))
    assert response.status_code == 200
    html = response.content.decode()
    assert VIETNAMESE in html
    assert "kling-2-6" in html
    assert "creator" in html  # the creator's username
    for label in ("Credits reserved", "Credits charged", "Accepted by Rivya", "Saved here"):
        assert label in html
    assert re.search(r"Credits reserved</dt><dd>70<", html)
    assert re.search(r"Credits charged</dt><dd>55<", html)
    assert 'datetime="2026-11-29T10:00:05+00:00"' in html
    assert 'datetime="2026-11-29T10:01:40+00:00"' in html
    assert f'src="{url("generation_reference", video)}"' in html
    assert 'preload="metadata"' in html
    assert f'poster="{url("generation_poster", video)}"' in html
    assert f'href="{url("generation_video", video)}?download=1"' in html
    assert 'data-copy-from="#prompt-text"' in html
    assert f'href="/?remix={video.pk}"' in html
    # The provenance record, readable on the page and downloadable.
    assert f'href="{url("generation_provenance", video)}"' in html
    assert "&quot;generation&quot;: &quot;" + str(video.pk) in html
    assert "<details>" in html


@pytest.mark.parametrize(
    ("role", "may"), [("creator", True), ("owner", True), ("admin", True), ("member", False)]
)
def test_delete_and_share_are_offered_to_the_creator_owners_and_admins(roles, video, role, may):
    html = roles.client(role).get(url("generation_detail", video)).content.decode()
    assert (url("generation_delete", video) in html) is may
    assert (url("generation_share", video) in html) is may


def test_outsiders_get_404_and_anonymous_visitors_the_login_page(roles, video):
    assert roles.client("outsider").get(url("generation_detail", video)).status_code == 404
    response = roles.client("anonymous").get(url("generation_detail", video))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (Status.FAILED, True),
        (Status.REJECTED, True),
        (Status.ATTENTION, False),
        (Status.PROCESSING, False),
        (Status.READY, False),
    ],
)
def test_retry_is_offered_only_where_no_rivya_task_can_be_paid_twice(
    roles, add_generation, status, offered
):
    generation = add_generation(status=status, user=roles.user("creator"))
    html = roles.client("member").get(url("generation_detail", generation)).content.decode()
    assert (url("generation_retry", generation) in html) is offered


def test_an_in_flight_video_keeps_its_live_card_and_offers_no_delete(roles, add_generation):
    generation = add_generation(status=Status.PROCESSING, user=roles.user("creator"))
    html = roles.client("owner").get(url("generation_detail", generation)).content.decode()
    assert 'id="card-poller"' in html
    assert f"ids={generation.pk}" in html
    assert url("generation_delete", generation) not in html
    assert url("generation_share", generation) not in html


# --- Download -------------------------------------------------------------------------------


def test_download_is_named_after_the_date_and_prompt_with_a_unicode_name(
    roles, add_ready_video, time_machine
):
    time_machine.move_to(datetime(2026, 11, 29, 9, 30, tzinfo=UTC))
    generation = add_ready_video(user=roles.user("creator"), prompt=VIETNAMESE)
    response = roles.client("member").get(url("generation_video", generation, download=1))
    assert response.status_code == 200
    ascii_name = "2026-11-29-con-meo-nhay-mua-tren-duong-pho-da-lat.mp4"
    unicode_name = "2026-11-29-con-mèo-nhảy-múa-trên-đường-phố-đà-lạt.mp4"
    assert response["Content-Disposition"] == (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(unicode_name)}"
    )
    assert body(response) == default_storage.open(generation.video.name).read()


def test_an_ascii_prompt_gets_one_plain_name(roles, add_ready_video, time_machine):
    time_machine.move_to(datetime(2026, 1, 2, tzinfo=UTC))
    generation = add_ready_video(prompt="A red kite!! over   the sea")
    response = roles.client("owner").get(url("generation_video", generation, download=1))
    assert response["Content-Disposition"] == (
        'attachment; filename="2026-01-02-a-red-kite-over-the-sea.mp4"'
    )


def test_a_prompt_of_symbols_still_gives_a_name(add_ready_video, time_machine):
    time_machine.move_to(datetime(2026, 1, 2, tzinfo=UTC))
    generation = add_ready_video(prompt="🎬🎬 !!!")
    assert generation.download_names("mp4") == ("2026-01-02-video.mp4", "2026-01-02-video.mp4")


def test_without_download_the_video_plays_inline(roles, video):
    response = roles.client("owner").get(url("generation_video", video))
    assert response.status_code == 200
    assert "Content-Disposition" not in response


@pytest.mark.s3
def test_on_s3_the_presigned_download_carries_the_file_name(
    settings, s3_bucket, roles, add_ready_video
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    generation = add_ready_video(prompt=VIETNAMESE)
    response = roles.client("member").get(url("generation_video", generation, download=1))
    assert response.status_code == 302
    fetched = httpx.get(response["Location"])
    assert fetched.status_code == 200
    disposition = fetched.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    assert "-con-meo-nhay-mua-tren-duong-pho-da-lat.mp4" in disposition
    assert "filename*=UTF-8''" in disposition
    # Playback (no download) keeps a plain presigned URL.
    inline = roles.client("member").get(url("generation_video", generation))
    assert "content-disposition" not in inline["Location"].lower()


# --- Provenance -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", TEAM_ROLES)
def test_the_provenance_record_downloads_as_json(roles, video, role):
    response = roles.client(role).get(url("generation_provenance", video))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert ".provenance.json" in response["Content-Disposition"]
    record = json.loads(body(response))
    assert record == {"generation": str(video.pk), "prompt": VIETNAMESE}


def test_provenance_is_404_for_outsiders_and_where_there_is_none(roles, video, add_generation):
    assert roles.client("outsider").get(url("generation_provenance", video)).status_code == 404
    failed = add_generation(status=Status.FAILED)
    assert roles.client("owner").get(url("generation_provenance", failed)).status_code == 404


def test_a_missing_or_broken_record_leaves_the_page_working(roles, video):
    default_storage.delete(video.provenance)
    response = roles.client("owner").get(url("generation_detail", video))
    assert response.status_code == 200
    assert "<details>" not in response.content.decode()
    assert roles.client("owner").get(url("generation_provenance", video)).status_code == 404


# --- Favourite ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", TEAM_ROLES)
def test_favourite_is_per_person_and_setting_it_twice_is_one(roles, video, role):
    client = roles.client(role)
    for _ in range(2):
        response = client.post(url("generation_favourite", video), {"favourite": "1"})
        assert response.status_code == 302
        assert response["Location"] == url("generation_detail", video)
    assert Favourite.objects.filter(generation=video).count() == 1
    assert Favourite.objects.get(generation=video).user == roles.user(role)
    html = client.get(url("generation_detail", video)).content.decode()
    assert 'aria-pressed="true"' in html
    other = "owner" if role != "owner" else "member"
    assert (
        'aria-pressed="false"'
        in roles.client(other).get(url("generation_detail", video)).content.decode()
    )

    for _ in range(2):
        client.post(url("generation_favourite", video), {"favourite": "0"})
    assert not Favourite.objects.filter(generation=video).exists()


def test_favourite_by_htmx_swaps_the_button(roles, video):
    response = roles.client("member").post(
        url("generation_favourite", video), {"favourite": "1"}, headers={"hx-request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="favourite-button"')
    assert 'aria-pressed="true"' in html
    assert 'name="favourite" value="0"' in html


def test_favourite_goes_back_to_a_safe_next_only(roles, video):
    client = roles.client("member")
    response = client.post(url("generation_favourite", video), {"favourite": "1", "next": "/?x=1"})
    assert response["Location"] == "/?x=1"
    response = client.post(
        url("generation_favourite", video), {"favourite": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == url("generation_detail", video)


@pytest.mark.parametrize("value", [None, "", "2", "yes", "1; drop", "\x00"])
def test_a_bad_favourite_value_is_a_clear_400(roles, video, value):
    data = {} if value is None else {"favourite": value}
    response = roles.client("member").post(url("generation_favourite", video), data)
    assert response.status_code == 400
    assert b"favourite=1" in response.content
    assert not Favourite.objects.exists()


def test_favourite_is_404_for_outsiders_and_login_for_anonymous(roles, video):
    data = {"favourite": "1"}
    assert (
        roles.client("outsider").post(url("generation_favourite", video), data).status_code == 404
    )
    response = roles.client("anonymous").post(url("generation_favourite", video), data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Favourite.objects.exists()


def test_favourite_answers_only_post(roles, video):
    assert roles.client("owner").get(url("generation_favourite", video)).status_code == 405


# --- Remix ----------------------------------------------------------------------------------


def remix_form(client, generation) -> tuple[str, dict]:
    """The home page for ``?remix=`` and the values its form would send back."""
    html = client.get(f"/?remix={generation.pk}").content.decode()
    token = re.search(r'name="reference_token" value="([^"]*)"', html)
    form_token = re.search(r'name="form_token" value="([^"]*)"', html)
    data = {
        "prompt": re.search(r"<textarea[^>]*>\s*(.*?)</textarea>", html, re.S).group(1),
        "duration": re.search(r'name="duration" value="(\d+)"[^>]*checked', html).group(1),
        "aspect_ratio": re.search(r'name="aspect_ratio" value="([^"]+)"[^>]*checked', html).group(
            1
        ),
        "reference_token": token.group(1) if token else "",
        "form_token": form_token.group(1),
    }
    if re.search(r'name="sound"[^>]*checked', html):
        data["sound"] = "on"
    return html, data


@pytest.mark.parametrize("role", TEAM_ROLES)
def test_remix_fills_the_form_and_reuses_the_image_without_an_upload(
    roles, add_ready_video, role, django_capture_on_commit_callbacks, media_root
):
    reference = image_bytes("PNG", size=(80, 60), color=(10, 120, 200))
    original = add_ready_video(
        user=roles.user("creator"),
        prompt="A lighthouse at dusk",
        duration=10,
        sound=True,
        aspect_ratio="9:16",
        reference=reference,
    )
    client = roles.client(role)
    html, data = remix_form(client, original)
    assert data["prompt"] == "A lighthouse at dusk"
    assert data["duration"] == "10"
    assert data["aspect_ratio"] == "9:16"
    assert data["sound"] == "on"
    # The form names the video's own stored image: nothing is staged or copied.
    assert kept_reference_source(data["reference_token"], original.team) == original.pk
    assert reverse("reference_preview", args=[data["reference_token"]]) in html
    files_before = sorted(p for p in media_root.rglob("*") if p.is_file())

    with django_capture_on_commit_callbacks():
        response = client.post("/", data)  # no file in the request
    assert response.status_code == 302
    remix = Generation.objects.exclude(pk=original.pk).get()
    assert remix.created_by == roles.user(role)
    assert remix.retry_of is None
    assert remix.status == Status.PENDING
    assert remix.idempotency_key != original.idempotency_key
    assert (remix.prompt, remix.duration, remix.sound, remix.aspect_ratio) == (
        "A lighthouse at dusk",
        10,
        True,
        "9:16",
    )
    stored = default_storage.open(remix.reference_image.name).read()
    assert remix.reference_sha256 == hashlib.sha256(stored).hexdigest()
    assert remix.reference_image.name == original.reference_image.name
    assert sorted(p for p in media_root.rglob("*") if p.is_file()) == files_before


def test_remix_of_a_video_without_an_image_stages_nothing(roles, add_generation):
    original = add_generation(status=Status.FAILED, prompt="Rain on a tin roof")
    html, data = remix_form(roles.client("owner"), original)
    assert data["prompt"] == "Rain on a tin roof"
    assert data["reference_token"] == ""


@pytest.mark.parametrize("value", ["other-team", "not-a-uuid", "%00", "deleted"])
def test_remix_of_what_is_not_the_teams_is_ignored_with_a_message(roles, add_ready_video, value):
    theirs = add_ready_video(
        team=roles.user("outsider").memberships.get().team,
        user=roles.user("outsider"),
        prompt="Another team's secret prompt",
    )
    mine = add_ready_video(prompt="Deleted prompt")
    mine.soft_delete(roles.user("owner"))
    remix = {"other-team": theirs.pk, "deleted": mine.pk}.get(value, value)
    response = roles.client("owner").get(f"/?remix={remix}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This video cannot be remixed" in html
    assert "Another team's secret prompt" not in html
    assert "Deleted prompt" not in html
    assert not re.search(r'name="reference_token" value="[^"]+"', html)


def test_remix_says_so_when_the_image_can_no_longer_be_read(roles, add_ready_video):
    original = add_ready_video(prompt="A kite")
    default_storage.delete(original.reference_image.name)
    response = roles.client("owner").get(f"/?remix={original.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert "can no longer be read" in html
    assert "A kite" in html
