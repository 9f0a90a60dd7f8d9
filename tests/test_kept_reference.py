"""The reference image kept after a video is made: the next video names the same stored file,
nothing is written again, no other team's file can be pulled in, and a file is deleted only
with the last row that names it."""

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from generations import actions
from generations.forms import (
    KEPT_SALT,
    kept_max_age,
    kept_reference_source,
    kept_reference_token,
)
from generations.models import Generation, Status
from tests.fixtures import image_bytes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root"),
]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HX = {"HTTP_HX_REQUEST": "true"}
FIRST = {"prompt": "A red kite over rice fields", "duration": "10", "sound": "on"}
EXPIRED = "The image chosen earlier has expired. Choose it again."


def stored_files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def delete(generation, user) -> None:
    """Finish a video (only finished ones can be deleted), then delete it."""
    if generation.status == Status.PENDING:  # as made by the form, never sent
        assert generation.finish(Status.REJECTED)
    assert generation.soft_delete(user)


def post_home(client, data, **extra):
    return client.post(reverse("home"), data, **EN, **extra)


def form_values(page: str) -> dict[str, str]:
    """What the rendered form would send back (text fields, the checked choices, tokens)."""
    start = page.index('<form id="generation-form"')
    page = page[start : page.index("</form>", start)]
    values = {
        "prompt": re.search(r"<textarea[^>]*>\s*(.*?)</textarea>", page, re.S).group(1).strip()
    }
    for name in ("form_token", "reference_token"):
        match = re.search(rf'name="{name}" value="([^"]*)"', page)
        values[name] = match.group(1) if match else ""
    for tag in re.findall(r'<input type="(?:radio|checkbox)"[^>]*>', page):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        if " checked" in tag and name != "reference_clear":
            value = re.search(r'value="([^"]*)"', tag)
            values[name] = value.group(1) if value else "on"
    return values


def first_video(client, media_root, **extra):
    """Make a video with a PNG (by htmx unless told), return it and the fresh form's page."""
    upload = SimpleUploadedFile("kite.png", image_bytes("PNG"), content_type="image/png")
    data = {**FIRST, "aspect_ratio": "16:9", "keep_prompt": "on", "reference_image": upload}
    response = post_home(client, data, **extra)
    made = Generation.objects.get()
    page = response.content.decode() if extra else client.get(reverse("home"), **EN).content
    return made, page if isinstance(page, str) else page.decode()


@pytest.mark.parametrize("by_htmx", [True, False], ids=["htmx", "plain"])
def test_the_next_video_names_the_same_stored_image(owner_client, media_root, by_htmx):
    made, page = first_video(owner_client, media_root, **(HX if by_htmx else {}))
    before = stored_files(media_root)
    assert before == [made.reference_image.name]
    values = form_values(page)
    assert values["reference_token"]
    assert reverse("reference_preview", args=[values["reference_token"]]) in page
    assert 'name="reference_clear"' in page
    assert (values["duration"], values["sound"], values["aspect_ratio"]) == ("10", "on", "16:9")

    second = {**values, "prompt": "A blue kite at dusk"}
    response = post_home(owner_client, second, **(HX if by_htmx else {}))
    assert response.status_code == 200 if by_htmx else 302
    new = Generation.objects.exclude(pk=made.pk).get()
    assert new.prompt == "A blue kite at dusk"
    assert (new.duration, new.sound, new.aspect_ratio) == (10, True, "16:9")
    assert new.reference_image.name == made.reference_image.name
    assert (new.reference_sha256, new.reference_mime, new.reference_name) == (
        made.reference_sha256,
        made.reference_mime,
        made.reference_name,
    )
    assert stored_files(media_root) == before  # no second write, no staged copy


def test_the_kept_image_stays_through_a_chain_of_videos(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    for prompt in ("Second", "Third"):
        page = post_home(owner_client, {**form_values(page), "prompt": prompt}, **HX)
        page = page.content.decode()
    names = set(Generation.objects.values_list("reference_image", flat=True))
    assert names == {made.reference_image.name}
    assert stored_files(media_root) == [made.reference_image.name]


def test_the_kept_image_can_be_removed(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    values = {**form_values(page), "prompt": "No picture now", "reference_clear": "on"}
    page = post_home(owner_client, values, **HX).content.decode()
    new = Generation.objects.exclude(pk=made.pk).get()
    assert not new.reference_image
    assert form_values(page)["reference_token"] == ""


def test_a_new_file_replaces_the_kept_image(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    other = image_bytes("PNG", color=(0, 0, 255))
    upload = SimpleUploadedFile("sea.png", other, content_type="image/png")
    values = {**form_values(page), "prompt": "The sea", "reference_image": upload}
    post_home(owner_client, values, **HX)
    new = Generation.objects.exclude(pk=made.pk).get()
    assert new.reference_image.name != made.reference_image.name
    assert new.reference_sha256 != made.reference_sha256


def test_the_same_form_sent_twice_keeps_the_shared_file(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    values = {**form_values(page), "prompt": "Twice"}
    post_home(owner_client, values, **HX)
    post_home(owner_client, values, **HX)  # a duplicate: nothing new, nothing removed
    assert Generation.objects.count() == 2
    assert default_storage.exists(made.reference_image.name)


def test_another_teams_image_cannot_be_pulled_in(
    owner_client, add_generation, outsider, outsider_team
):
    theirs = add_generation(team=outsider_team, user=outsider, reference=image_bytes("PNG"))
    # Even a properly signed token naming another team's video is refused.
    values = {**FIRST, "aspect_ratio": "1:1", "reference_token": kept_reference_token(theirs)}
    response = post_home(owner_client, values)
    assert response.status_code == 200
    assert EXPIRED in response.content.decode()
    assert Generation.objects.filter(team__in=[theirs.team]).count() == 1
    assert Generation.objects.count() == 1
    forged = signing.dumps({"g": str(theirs.pk), "t": theirs.team_id}, salt=KEPT_SALT, key="x")
    response = post_home(owner_client, {**values, "reference_token": forged})
    assert EXPIRED in response.content.decode()
    assert Generation.objects.count() == 1


@pytest.mark.parametrize(
    "info",
    [
        {"g": "not-a-uuid"},
        {"g": None},
        ["a", "list"],
        "text",
        {"t": None},
        {"g": str(uuid.uuid4())},
    ],
)
def test_odd_kept_tokens_are_a_form_error(owner_client, team, info):
    if isinstance(info, dict):
        info = {"t": team.pk, **info}
    token = signing.dumps(info, salt=KEPT_SALT)
    response = post_home(owner_client, {**FIRST, "aspect_ratio": "1:1", "reference_token": token})
    assert response.status_code == 200
    assert EXPIRED in response.content.decode()
    assert Generation.objects.count() == 0
    assert owner_client.get(reverse("reference_preview", args=[token])).status_code == 404


def test_a_kept_token_expires_no_later_than_a_deleted_videos_files(
    owner_client, media_root, settings, time_machine
):
    made, page = first_video(owner_client, media_root, **HX)
    assert kept_max_age() <= settings.DELETE_GRACE.total_seconds()
    time_machine.move_to(timezone.now() + timedelta(seconds=kept_max_age() + 1))
    response = post_home(owner_client, {**form_values(page), "prompt": "Later"}, **HX)
    assert EXPIRED in response.content.decode()
    assert Generation.objects.count() == 1


def test_the_image_of_a_deleted_video_is_used_until_purged(owner_client, owner, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    delete(made, owner)
    token = form_values(page)["reference_token"]
    assert owner_client.get(reverse("reference_preview", args=[token])).status_code == 200
    post_home(owner_client, {**form_values(page), "prompt": "Still here"}, **HX)
    new = Generation.objects.exclude(pk=made.pk).get()
    assert new.reference_image.name == made.reference_image.name


def test_a_missing_file_is_a_form_error(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    default_storage.delete(made.reference_image.name)
    response = post_home(owner_client, {**form_values(page), "prompt": "Gone"}, **HX)
    assert EXPIRED in response.content.decode()
    assert Generation.objects.count() == 1


def test_the_preview_of_a_kept_image_is_for_its_team_only(
    owner_client, outsider_client, media_root
):
    made, page = first_video(owner_client, media_root, **HX)
    url = reverse("reference_preview", args=[form_values(page)["reference_token"]])
    response = owner_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert (
        b"".join(response.streaming_content)
        == default_storage.open(made.reference_image.name).read()
    )
    assert outsider_client.get(url).status_code == 404


def purge_after_grace(settings, time_machine):
    time_machine.move_to(timezone.now() + settings.DELETE_GRACE + timedelta(minutes=1))
    return actions.purge_deleted()


def shared_pair(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    post_home(owner_client, {**form_values(page), "prompt": "Again"}, **HX)
    return made, Generation.objects.exclude(pk=made.pk).get()


def test_purging_the_first_video_keeps_the_image_the_next_one_uses(
    owner_client, owner, media_root, settings, time_machine
):
    first, second = shared_pair(owner_client, media_root)
    key = first.reference_image.name
    delete(first, owner)
    assert purge_after_grace(settings, time_machine) == 1
    assert default_storage.exists(key)
    first.refresh_from_db()
    assert not first.reference_image
    response = owner_client.get(reverse("generation_reference", args=[second.pk]))
    assert response.status_code == 200

    # The last row that names it takes it.
    delete(second, owner)
    assert purge_after_grace(settings, time_machine) == 1
    assert not default_storage.exists(key)
    assert stored_files(media_root) == []


def test_purging_the_later_video_keeps_the_first_ones_image(
    owner_client, owner, media_root, settings, time_machine
):
    first, second = shared_pair(owner_client, media_root)
    delete(second, owner)
    assert purge_after_grace(settings, time_machine) == 1
    assert default_storage.exists(first.reference_image.name)
    delete(first, owner)
    assert purge_after_grace(settings, time_machine) == 1
    assert stored_files(media_root) == []


@pytest.mark.django_db(transaction=True)
def test_the_kept_image_is_uploaded_to_rivya_again_from_the_same_file(
    owner_client, media_root, sandbox
):
    from sandbox import models as sandbox_models
    from tests.fixtures import drain

    first, second = shared_pair(owner_client, media_root)
    drain()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.rivya_task_id and second.rivya_task_id
    assert first.rivya_file_url and second.rivya_file_url
    assert first.rivya_file_url != second.rivya_file_url  # one Files API upload each
    remote = sandbox_models.Generation.objects.filter(id=second.rivya_task_id).get()
    assert remote.reference_file is not None
    references = [name for name in stored_files(media_root) if "reference" in name]
    assert references == [first.reference_image.name]


# --- "Use these settings" on a card ------------------------------------------------------------

USE_SETTINGS = {**HX, "HTTP_HX_TARGET": "generation-form"}


@pytest.mark.parametrize("status", [Status.READY, Status.FAILED, Status.PENDING, Status.PROCESSING])
def test_every_card_offers_its_settings(owner_client, add_generation, status):
    generation = add_generation(status=status)
    page = owner_client.get(reverse("home"), **EN).content.decode()
    card = page[page.index(f'id="gen-{generation.pk}"') :]
    link = re.search(r'<a href="([^"]+)" data-use-settings[^>]*>Use these settings</a>', card)
    assert link and link.group(1) == f"/?remix={generation.pk}"


def test_use_these_settings_answers_with_the_filled_form_alone(owner_client, add_generation):
    original = add_generation(
        status=Status.FAILED,
        prompt="A lantern on a lake",
        duration=10,
        sound=True,
        aspect_ratio="9:16",
        reference=image_bytes("PNG"),
    )
    response = owner_client.get(f"/?remix={original.pk}", **EN, **USE_SETTINGS)
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<form id="generation-form"')
    assert 'id="cards"' not in page
    assert "HX-Request" in response["Vary"]
    values = form_values(page)
    assert (values["prompt"], values["duration"], values["sound"], values["aspect_ratio"]) == (
        "A lantern on a lake",
        "10",
        "on",
        "9:16",
    )
    assert kept_reference_source(values["reference_token"], original.team) == original.pk


def test_use_these_settings_of_a_video_gone_meanwhile_says_so_in_the_form(
    owner_client, add_generation, owner
):
    gone = add_generation(status=Status.FAILED, prompt="Hidden prompt")
    delete(gone, owner)
    response = owner_client.get(f"/?remix={gone.pk}", **EN, **USE_SETTINGS)
    page = response.content.decode()
    assert response.status_code == 200
    assert "This video cannot be remixed" in page
    assert "Hidden prompt" not in page
    # Said once: the next page does not repeat it.
    assert "cannot be remixed" not in owner_client.get(reverse("home"), **EN).content.decode()


def test_the_kept_image_survives_a_form_error_without_a_staged_copy(owner_client, media_root):
    made, page = first_video(owner_client, media_root, **HX)
    values = form_values(page)
    page = post_home(owner_client, {**values, "prompt": "   "}, **HX).content.decode()
    assert "Describe the video you want." in page
    assert form_values(page)["reference_token"] == values["reference_token"]
    assert reverse("reference_preview", args=[values["reference_token"]]) in page
    assert stored_files(media_root) == [made.reference_image.name]
    post_home(owner_client, {**form_values(page), "prompt": "Fixed"}, **HX)
    fixed = Generation.objects.get(prompt="Fixed")
    assert fixed.reference_image.name == made.reference_image.name
    assert stored_files(media_root) == [made.reference_image.name]


# --- Retry names the original's stored image ---------------------------------------------------

GONE = "The reference image of this video can no longer be read."


def retry(client, generation, **extra):
    return client.post(reverse("generation_retry", args=[generation.pk]), **EN, **extra)


@pytest.mark.parametrize("which_first", ["original", "retry"])
def test_purging_one_side_of_a_retry_keeps_the_image_for_the_other(
    owner_client, owner, add_generation, media_root, settings, time_machine, which_first
):
    png = image_bytes("PNG")
    original = add_generation(status=Status.FAILED, reference=png)
    key = original.reference_image.name
    assert retry(owner_client, original).status_code == 302
    again = Generation.objects.exclude(pk=original.pk).get()
    assert again.retry_of == original
    assert again.reference_image.name == key
    assert stored_files(media_root) == [key]

    first, last = (original, again) if which_first == "original" else (again, original)
    delete(first, owner)
    assert purge_after_grace(settings, time_machine) == 1
    assert stored_files(media_root) == [key]
    response = owner_client.get(reverse("generation_reference", args=[last.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png

    # The last row that names it takes it.
    delete(last, owner)
    assert purge_after_grace(settings, time_machine) == 1
    assert stored_files(media_root) == []


def test_a_retry_whose_image_is_gone_from_storage_says_so_and_makes_nothing(
    owner_client, add_generation, media_root
):
    original = add_generation(status=Status.REJECTED, reference=image_bytes("PNG"))
    default_storage.delete(original.reference_image.name)
    response = retry(owner_client, original, follow=True)
    assert response.status_code == 200
    assert GONE in response.content.decode()
    assert list(Generation.objects.all()) == [original]
    assert stored_files(media_root) == []


@pytest.mark.parametrize("where", ["another team's folder", "outside every team's folder"])
def test_a_retry_never_names_a_file_outside_its_teams_folder(
    owner_client, add_generation, media_root, outsider, outsider_team, where
):
    if where == "another team's folder":
        theirs = add_generation(team=outsider_team, user=outsider, reference=image_bytes("PNG"))
        key = theirs.reference_image.name
    else:
        key = default_storage.save("demo/kite.png", ContentFile(image_bytes("PNG")))
    original = add_generation(status=Status.FAILED)
    Generation.objects.filter(pk=original.pk).update(reference_image=key)
    before = Generation.objects.count()
    response = retry(owner_client, original, follow=True)
    assert response.status_code == 200
    assert GONE in response.content.decode()
    assert Generation.objects.count() == before
    assert not Generation.objects.filter(retry_of=original).exists()
    assert stored_files(media_root) == [key]


def test_a_retry_moments_later_is_the_same_request(owner_client, add_generation, media_root):
    png = image_bytes("PNG")
    original = add_generation(
        status=Status.FAILED, reference=png, reference_sha256=hashlib.sha256(png).hexdigest()
    )
    retry(owner_client, original)
    retry(owner_client, original, **HX)
    again = Generation.objects.get(retry_of=original)
    assert again.reference_sha256 == original.reference_sha256
    assert stored_files(media_root) == [original.reference_image.name]
