import hashlib
import re
import uuid
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from generations.models import CatalogEntry, Generation, Status
from tests.fixtures import huge_png, image_bytes, paid

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root"),
]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
VALID = {"prompt": "Fireflies over a bamboo forest", "duration": "10", "aspect_ratio": "9:16"}


def png_upload(name="kite.png", content=None):
    return SimpleUploadedFile(name, content or image_bytes("PNG"), content_type="image/png")


def submit_tasks():
    return list(DBTaskResult.objects.filter(task_path="generations.tasks.submit"))


def post_home(client, data, **extra):
    return client.post(reverse("home"), data, **EN, **extra)


def html(response) -> str:
    return response.content.decode()


def error_after(page: str, field_id: str, message: str) -> bool:
    """Whether ``message`` appears inside the block of the field ``field_id``."""
    start = page.index(f'id="{field_id}"')
    end = page.find('class="field', start)
    end = page.find('class="cost"', start) if end == -1 else end
    return message in page[start:end]


def test_home_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_shows_the_form_with_its_fixed_labels(owner_client):
    page = html(owner_client.get(reverse("home"), **EN))
    for name, label in [
        ("prompt", "Prompt"),
        ("duration", "Duration"),
        ("sound", "Sound"),
        ("aspect_ratio", "Aspect ratio"),
        ("reference_image", "Reference image"),
    ]:
        assert f'name="{name}"' in page
        assert label in page
    assert 'enctype="multipart/form-data"' in page
    assert page.count('name="form_token"') == 1
    assert 'src="/static/js/generation-form.js"' in page


def expected_prices(page):
    """Each choice's price line: ((duration, sound), shown, text)."""
    lines = re.findall(
        r'<p class="expected-price[^"]*" data-duration="(\d+)" data-sound="(on|off)"([^>]*)>'
        r"(.*?)</p>",
        page,
        re.S,
    )
    return [
        ((duration, sound), "hidden" not in attrs, " ".join(re.sub("<[^>]+>", "", text).split()))
        for duration, sound, attrs, text in lines
    ]


def test_the_price_comes_from_the_catalog_without_history(owner_client):
    CatalogEntry.objects.create(model_id="kling-2-6", base_credits=77, fetched_at=timezone.now())
    lines = expected_prices(html(owner_client.get(reverse("home"), **EN)))
    assert len(lines) == 4  # every duration, with and without sound
    assert [shown for _choice, shown, _text in lines] == [True, False, False, False]
    assert lines[0][2] == (
        "This video: about 77 credits (Rivya's list price; Rivya reserves the exact amount "
        "when it accepts the video)"
    )
    page = html(owner_client.get(reverse("home"), **EN))
    assert "Cost: from" not in page and "price-hint" not in page


def test_the_form_prices_each_choice_from_what_the_team_last_paid(
    owner_client, owner, team, outsider, outsider_team
):
    CatalogEntry.objects.create(model_id="kling-2-6", base_credits=55, fetched_at=timezone.now())
    paid(team, owner, duration=10, sound=True, credits=140, minutes_ago=30)
    paid(team, owner, duration=10, sound=True, credits=110, minutes_ago=5)
    paid(team, owner, duration=5, sound=False, credits=60, minutes_ago=10)
    paid(outsider_team, outsider, duration=5, sound=True, credits=999)

    lines = {
        choice: text
        for choice, _shown, text in expected_prices(html(owner_client.get(reverse("home"), **EN)))
    }

    ours = "(what Rivya last reserved for this choice in your team)"
    assert lines[("5", "off")] == f"This video: about 60 credits {ours}"
    assert lines[("10", "on")] == f"This video: about 110 credits {ours}"
    assert lines[("5", "on")].startswith("This video: about 55 credits (Rivya's list price")
    assert lines[("10", "off")].startswith("This video: about 55 credits (Rivya's list price")


def test_after_a_form_error_the_price_follows_the_submitted_choice(owner_client, owner, team):
    paid(team, owner, duration=10, sound=True, credits=110)
    page = html(
        owner_client.post(
            reverse("home"),
            {"prompt": "", "duration": "10", "sound": "on", "aspect_ratio": "1:1"},
            **EN,
        )
    )
    [(choice, text)] = [(choice, text) for choice, shown, text in expected_prices(page) if shown]
    assert choice == ("10", "on")
    assert "about 110 credits" in text


def test_the_rivya_balance_is_for_owners_and_admins(roles, team):
    from credits import snapshots

    with time_machine.travel(timezone.now() - timedelta(minutes=3), tick=False):
        snapshots.record(9870)
    shown = {}
    for name in ("owner", "admin", "member"):
        page = html(roles.client(name).get(reverse("home")))
        line = re.search(r'<p class="rivya-balance" id="rivya-balance">(.*?)</p>', page, re.S)
        shown[name] = " ".join(line.group(1).split()) if line else None
    assert shown["owner"] == "Rivya balance: 9,870 credits, 3 minutes ago."
    assert shown["admin"] == shown["owner"]
    assert shown["member"] is None
    # Staff see it whatever their role in the team.
    roles.user("member").__class__.objects.filter(username="member").update(is_staff=True)
    assert 'id="rivya-balance"' in html(roles.client("member").get(reverse("home")))


def test_without_a_snapshot_no_balance_is_shown(owner_client):
    assert "rivya-balance" not in html(owner_client.get(reverse("home"), **EN))


def test_unknown_cost_queues_a_catalog_refresh(owner_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = html(owner_client.get(reverse("home"), **EN))
    assert "This video: price not known yet (the price list is being fetched)." in page
    assert DBTaskResult.objects.filter(task_path="generations.catalog.refresh_catalog").count() == 1


def test_valid_post_creates_a_pending_row_and_queues_submit(
    owner_client, owner, team, http_calls, django_capture_on_commit_callbacks
):
    png = image_bytes("PNG", (80, 60))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_home(
            owner_client, {**VALID, "sound": "on", "reference_image": png_upload(content=png)}
        )
    generation = Generation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/#gen-{generation.pk}"
    assert generation.team == team
    assert generation.created_by == owner
    assert generation.status == Status.PENDING
    assert (generation.prompt, generation.duration, generation.sound, generation.aspect_ratio) == (
        "Fireflies over a bamboo forest",
        10,
        True,
        "9:16",
    )
    assert generation.reference_mime == "image/png"
    assert generation.reference_image.name == (
        f"teams/{team.pk}/generations/{generation.pk}/reference.png"
    )
    assert generation.reference_image.read() == png
    assert [t.args_kwargs["args"] for t in submit_tasks()] == [[str(generation.pk)]]
    assert not generation.credit_entries.exists()
    assert http_calls == []  # nothing reached Rivya (or anything else) during the request

    page = html(owner_client.get(response["Location"], **EN))
    assert f'data-generation-id="{generation.pk}"' in page


def test_htmx_post_answers_with_the_card_and_a_fresh_form(owner_client, http_calls):
    token = str(uuid.uuid4())
    response = post_home(
        owner_client, {**VALID, "form_token": token, "since": "5"}, HTTP_HX_REQUEST="true"
    )
    generation = Generation.objects.get()
    page = html(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<form id="generation-form"')
    assert token not in page  # the fresh form carries a new token
    assert re.search(r'name="form_token" value="[0-9a-f-]{36}"', page)
    assert '<div hx-swap-oob="afterbegin:#cards">' in page
    assert f'id="gen-{generation.pk}"' in page
    assert f"ids={generation.pk}" in page  # the poller now follows the new card
    assert 'name="since" value="5"' in page
    assert http_calls == []
    # The fresh form says the video was sent and links to its card (announced: role=status).
    note = re.search(r'<p class="sent-note" role="status">(.*?)</p>', page, re.S)
    assert note, "no note that the video was sent"
    assert f'href="#gen-{generation.pk}" data-sent-card' in note.group(1)
    assert "Rivya is making the video" in note.group(1)
    assert "sent-note" not in html(owner_client.get(reverse("home")))  # only after a submit


@pytest.mark.parametrize(
    ("field", "upload", "message"),
    [
        ("reference_image", ("doc.png", b"%PDF-1.7\n%%EOF\n"), "Choose a JPEG, PNG or WebP image"),
        ("reference_image", ("empty.png", b""), "empty"),
        ("reference_image", ("big.png", b"\x89PNG" + b"\0" * 11_000_000), "larger than 10 MB"),
        ("reference_image", ("bomb.png", huge_png()), "too large"),
        (
            "reference_image",
            ("cut.jpg", image_bytes("JPEG", (300, 200))[:-500]),
            "JPEG, PNG or WebP",
        ),
    ],
)
def test_bad_files_get_an_error_next_to_the_field(owner_client, http_calls, field, upload, message):
    name, content = upload
    response = post_home(
        owner_client, {**VALID, "reference_image": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert error_after(html(response), "id_reference_image", message)
    assert not Generation.objects.exists()
    assert http_calls == []


def test_two_files_are_refused_by_the_view(owner_client):
    files = [png_upload("a.png"), png_upload("b.png")]
    response = post_home(owner_client, {**VALID, "reference_image": files})
    assert response.status_code == 200
    assert error_after(html(response), "id_reference_image", "Choose only one image.")
    assert not Generation.objects.exists()


@pytest.mark.parametrize(
    ("data", "field_id"),
    [
        ({"duration": "15"}, "id_duration_0"),
        ({"aspect_ratio": "21:9"}, "id_aspect_ratio_0"),
        ({"prompt": "x" * 1001}, "id_prompt"),
        ({"prompt": ""}, "id_prompt"),
    ],
)
def test_wrong_or_missing_values_get_an_error_next_to_the_field(owner_client, data, field_id):
    response = post_home(owner_client, {**VALID, **data})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors
    message = next(iter(form.errors.values()))[0]
    assert error_after(html(response), field_id, message)
    assert not Generation.objects.exists()


def test_an_empty_post_is_a_form_error_not_a_crash(owner_client):
    response = post_home(owner_client, {})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"prompt", "duration", "aspect_ratio"}


def test_typed_values_and_the_image_survive_an_error(owner_client, owner, outsider_client):
    png = image_bytes("PNG", (32, 32), (1, 2, 3))
    response = post_home(
        owner_client,
        {
            **VALID,
            "prompt": "x" * 1001 + " kept",
            "sound": "on",
            "reference_image": png_upload("cat.png", png),
        },
    )
    page = html(response)
    assert "x" * 1001 + " kept" in page
    assert re.search(r'value="10"[^>]*checked', page)
    assert re.search(r'value="9:16"[^>]*checked', page)
    assert re.search(r'name="sound"[^>]*checked', page)
    token = response.context["form"].kept_reference_token
    assert f'name="reference_token" value="{token}"' in page
    preview_url = reverse("reference_preview", args=[token])
    assert f'src="{preview_url}"' in page

    preview = owner_client.get(preview_url)
    assert preview.status_code == 200
    assert preview["Content-Type"] == "image/png"
    assert b"".join(preview.streaming_content) == png
    assert outsider_client.get(preview_url).status_code == 404

    response = post_home(owner_client, {**VALID, "prompt": "Fixed", "reference_token": token})
    assert response.status_code == 302
    generation = Generation.objects.get()
    assert generation.reference_image.read() == png
    assert generation.reference_name == "cat.png"
    assert not default_storage.listdir(f"uploads/{owner.pk}")[1]  # the kept copy is gone


def test_a_double_submit_makes_one_generation(owner_client):
    data = {**VALID, "form_token": str(uuid.uuid4())}
    first = post_home(owner_client, data)
    second = post_home(owner_client, data)
    generation = Generation.objects.get()
    assert first["Location"] == second["Location"] == f"/#gen-{generation.pk}"
    again = post_home(owner_client, data, HTTP_HX_REQUEST="true")
    assert again["HX-Redirect"] == "/"
    assert Generation.objects.count() == 1


def test_two_tabs_with_the_same_inputs_make_one_generation(owner_client):
    post_home(owner_client, {**VALID, "form_token": str(uuid.uuid4())})
    post_home(owner_client, {**VALID, "form_token": str(uuid.uuid4())})
    assert Generation.objects.count() == 1


def test_the_same_inputs_later_make_a_new_generation(owner_client):
    post_home(owner_client, {**VALID, "form_token": str(uuid.uuid4())})
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        post_home(owner_client, {**VALID, "form_token": str(uuid.uuid4())})
    assert Generation.objects.count() == 2


def test_two_different_pictures_with_one_file_name_are_not_duplicates(owner_client):
    for color in [(200, 0, 0), (0, 0, 200)]:
        picture = SimpleUploadedFile("photo.png", image_bytes(color=color), "image/png")
        post_home(
            owner_client,
            {**VALID, "form_token": str(uuid.uuid4()), "reference_image": picture},
        )
    assert Generation.objects.count() == 2


def test_the_same_picture_under_another_name_is_a_duplicate(owner_client):
    for name in ["a.png", "b.png"]:
        picture = SimpleUploadedFile(name, image_bytes(), "image/png")
        post_home(
            owner_client, {**VALID, "form_token": str(uuid.uuid4()), "reference_image": picture}
        )
    assert Generation.objects.count() == 1
    # The duplicate's copy of the picture is not left behind in storage.
    generation = Generation.objects.get()
    folder = f"teams/{generation.team_id}/generations"
    kept = [
        name
        for pk in default_storage.listdir(folder)[0]
        for name in default_storage.listdir(f"{folder}/{pk}")[1]
    ]
    assert kept == [generation.reference_image.name.rsplit("/", 1)[1]]


def test_a_different_prompt_is_not_a_duplicate(owner_client):
    post_home(owner_client, {**VALID, "form_token": str(uuid.uuid4())})
    post_home(owner_client, {**VALID, "prompt": "Another", "form_token": str(uuid.uuid4())})
    assert Generation.objects.count() == 2


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "generation_detail"),
        ("get", "generation_video"),
        ("get", "generation_poster"),
        ("get", "generation_reference"),
        ("post", "generation_retry"),
    ],
)
def test_outsiders_get_404_for_another_teams_generation(
    outsider_client, add_generation, method, name
):
    generation = add_generation(
        status=Status.FAILED, video=b"\0\0\0\x18ftypmp42", poster=image_bytes("JPEG")
    )
    response = getattr(outsider_client, method)(reverse(name, args=[generation.pk]))
    assert response.status_code == 404
    assert Generation.objects.count() == 1


def test_unknown_generation_is_404(owner_client):
    assert owner_client.get(reverse("generation_detail", args=[uuid.uuid4()])).status_code == 404


def test_detail_shows_the_player_and_the_inputs(owner_client, add_generation):
    generation = add_generation(
        status=Status.READY,
        video=b"\0\0\0\x18ftypmp42",
        poster=image_bytes("JPEG"),
        finished_at=timezone.now(),
        prompt="A heron & a <b>frog</b>",
    )
    page = html(owner_client.get(reverse("generation_detail", args=[generation.pk]), **EN))
    assert f'src="/generations/{generation.pk}/video"' in page
    assert f'poster="/generations/{generation.pk}/poster"' in page
    assert "A heron &amp; a &lt;b&gt;frog&lt;/b&gt;" in page
    assert "Aspect ratio" in page


def test_retry_makes_a_new_generation_from_the_same_inputs(
    owner_client, add_generation, media_root, django_capture_on_commit_callbacks
):
    png = image_bytes("PNG", (20, 20))
    original = add_generation(
        status=Status.REJECTED,
        error_code="validation_failed",
        duration=10,
        sound=True,
        aspect_ratio="16:9",
        reference_mime="image/png",
        reference_name="ref.png",
    )
    original.reference_image.save("ref.png", SimpleUploadedFile("ref.png", png))
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(reverse("generation_retry", args=[original.pk]))
    retry = Generation.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302
    assert retry.retry_of == original
    assert retry.status == Status.PENDING
    assert (retry.prompt, retry.duration, retry.sound, retry.aspect_ratio) == (
        original.prompt,
        10,
        True,
        "16:9",
    )
    # The retry names the original's stored image: nothing is written again.
    assert retry.reference_image.name == original.reference_image.name
    assert [p for p in media_root.rglob("*") if p.is_file()] == [
        media_root / original.reference_image.name
    ]
    assert retry.reference_image.read() == png
    assert (retry.reference_mime, retry.reference_name) == ("image/png", "ref.png")
    # A row from before checksums were kept: the file is read to compute one.
    assert retry.reference_sha256 == hashlib.sha256(png).hexdigest()
    assert [t.args_kwargs["args"] for t in submit_tasks()] == [[str(retry.pk)]]
    # A second click moments later is the same request.
    owner_client.post(reverse("generation_retry", args=[original.pk]))
    assert Generation.objects.count() == 2


def test_retry_by_htmx_inserts_the_new_card(owner_client, add_generation):
    original = add_generation(status=Status.FAILED, error_code="generation_failed")
    response = owner_client.post(
        reverse("generation_retry", args=[original.pk]), HTTP_HX_REQUEST="true"
    )
    retry = Generation.objects.exclude(pk=original.pk).get()
    assert '<div hx-swap-oob="afterbegin:#cards">' in html(response)
    assert f'id="gen-{retry.pk}"' in html(response)


def test_only_failed_generations_can_be_retried(owner_client, add_generation):
    ready = add_generation(status=Status.READY)
    owner_client.post(reverse("generation_retry", args=[ready.pk]))
    assert Generation.objects.count() == 1


def test_local_video_supports_range_requests(owner_client, add_generation):
    video = b"\0\0\0\x18ftypmp42" + bytes(range(256)) * 40
    generation = add_generation(status=Status.READY, video=video, video_sha256="ab" * 32)
    url = reverse("generation_video", args=[generation.pk])

    whole = owner_client.get(url)
    assert whole.status_code == 200
    assert whole["Content-Type"] == "video/mp4"
    assert whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == video

    part = owner_client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(video)}"
    assert b"".join(part.streaming_content) == video[100:200]

    tail = owner_client.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206
    assert b"".join(tail.streaming_content) == video[-10:]


def test_poster_is_served_as_jpeg(owner_client, add_generation):
    jpeg = image_bytes("JPEG")
    generation = add_generation(status=Status.READY, poster=jpeg)
    response = owner_client.get(reverse("generation_poster", args=[generation.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == jpeg


def test_video_of_an_unfinished_generation_is_404(owner_client, add_generation):
    generation = add_generation(status=Status.PROCESSING)
    assert owner_client.get(reverse("generation_video", args=[generation.pk])).status_code == 404


@pytest.mark.s3
def test_s3_video_redirects_to_a_working_presigned_url(
    settings, s3_bucket, owner_client, add_generation
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    video = b"\0\0\0\x18ftypmp42" + b"s3 bytes" * 1000
    generation = add_generation(status=Status.READY, video=video)
    response = owner_client.get(reverse("generation_video", args=[generation.pk]))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(s3_bucket.server.endpoint)
    assert "X-Amz-Signature=" in location
    fetched = httpx.get(location)
    assert fetched.status_code == 200
    assert fetched.content == video
    ranged = httpx.get(location, headers={"Range": "bytes=0-11"})
    assert ranged.status_code == 206
    assert ranged.content == video[:12]


def test_password_change(owner_client, owner, password):
    page = owner_client.get(reverse("password_change"), **EN)
    assert page.status_code == 200
    response = owner_client.post(
        reverse("password_change"),
        {
            "old_password": password,
            "new_password1": "a much newer passphrase 42",
            "new_password2": "a much newer passphrase 42",
        },
    )
    assert response["Location"] == reverse("password_change_done")
    assert owner_client.get(reverse("password_change_done")).status_code == 200
    owner.refresh_from_db()
    assert owner.check_password("a much newer passphrase 42")


def test_password_change_requires_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302


def test_a_resubmit_after_back_makes_no_second_generation_even_much_later(owner_client):
    data = {**VALID, "form_token": str(uuid.uuid4())}
    post_home(owner_client, data)
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        response = post_home(owner_client, data)
    assert response.status_code == 302
    assert Generation.objects.count() == 1


CHOSEN = {"prompt": "A red kite over rice fields", "duration": "10", "sound": "on"}


def checked(page: str, name: str) -> list[str]:
    """The values of the checked inputs called ``name`` in a rendered form."""
    found = []
    for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', page):
        if " checked" in tag:
            value = re.search(r'value="([^"]*)"', tag)
            found.append(value.group(1) if value else "on")
    return found


def prompt_of(page: str) -> str:
    match = re.search(r'<textarea[^>]*name="prompt"[^>]*>(.*?)</textarea>', page, re.S)
    assert match
    return match.group(1).strip()


@pytest.mark.parametrize("keep", [True, False])
def test_htmx_fresh_form_keeps_the_choices_and_the_prompt_by_choice(owner_client, keep):
    data = {**CHOSEN, "aspect_ratio": "16:9", "form_token": str(uuid.uuid4())}
    if keep:
        data["keep_prompt"] = "on"
    page = html(post_home(owner_client, data, HTTP_HX_REQUEST="true"))
    assert Generation.objects.count() == 1
    assert checked(page, "duration") == ["10"]
    assert checked(page, "sound") == ["on"]
    assert checked(page, "aspect_ratio") == ["16:9"]
    assert checked(page, "keep_prompt") == (["on"] if keep else [])
    assert prompt_of(page) == (CHOSEN["prompt"] if keep else "")
    assert data["form_token"] not in page  # a new token per form
    assert re.search(r'name="form_token" value="[0-9a-f-]{36}"', page)


@pytest.mark.parametrize("keep", [True, False])
def test_plain_post_fresh_form_keeps_the_choices_and_the_prompt_by_choice(owner_client, keep):
    data = {**CHOSEN, "aspect_ratio": "9:16", "form_token": str(uuid.uuid4())}
    if keep:
        data["keep_prompt"] = "on"
    response = post_home(owner_client, data)
    assert response.status_code == 302
    page = html(owner_client.get(reverse("home"), **EN))
    assert checked(page, "duration") == ["10"]
    assert checked(page, "sound") == ["on"]
    assert checked(page, "aspect_ratio") == ["9:16"]
    assert checked(page, "keep_prompt") == (["on"] if keep else [])
    assert prompt_of(page) == (CHOSEN["prompt"] if keep else "")
    assert data["form_token"] not in page
    # Read once: the next visit shows the form's defaults again.
    later = html(owner_client.get(reverse("home"), **EN))
    assert checked(later, "duration") == ["5"]
    assert checked(later, "keep_prompt") == ["on"]
    assert prompt_of(later) == ""


def test_the_kept_form_makes_a_second_video_with_a_new_token(owner_client):
    first = {**CHOSEN, "aspect_ratio": "1:1", "keep_prompt": "on"}
    page = html(post_home(owner_client, first, HTTP_HX_REQUEST="true"))
    token = re.search(r'name="form_token" value="([0-9a-f-]{36})"', page)
    assert token
    second = {**first, "prompt": "A blue kite at dusk", "form_token": token.group(1)}
    post_home(owner_client, second, HTTP_HX_REQUEST="true")
    post_home(owner_client, second, HTTP_HX_REQUEST="true")  # the same form again
    made = list(Generation.objects.order_by("created_at"))
    assert [g.prompt for g in made] == [CHOSEN["prompt"], "A blue kite at dusk"]
    assert {(g.duration, g.sound, g.aspect_ratio) for g in made} == {(10, True, "1:1")}


def test_a_tampered_kept_choice_in_the_session_is_ignored(owner_client):
    session = owner_client.session
    session["generation_form_kept"] = {"duration": "99", "evil": "x", "sound": "maybe"}
    session.save()
    response = owner_client.get(reverse("home"), **EN)
    assert response.status_code == 200
    session = owner_client.session
    session["generation_form_kept"] = "not a dict"
    session.save()
    assert owner_client.get(reverse("home"), **EN).status_code == 200
