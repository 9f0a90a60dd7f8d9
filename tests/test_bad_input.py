"""Garbage at every door: no 500, a clear error where a user sees it, no row, no Rivya call."""

import json
import re
import time
import uuid
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.forms import STAGED_SALT, decode_reference, stage_reference
from generations.models import Generation, Status
from generations.rivya.webhooks import SIGNATURE_HEADER, sign
from tests.fixtures import image_bytes
from tests.test_isolation import MATRIX, app_routes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("fast_passwords", "media_root"),
]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
VALID = {"prompt": "Fireflies over a bamboo forest", "duration": "5", "aspect_ratio": "16:9"}
WEBHOOK_SECRET = "whsec_bad_input_0123456789"
DJANGO_FORM_VIEWS = {"i18n/setlang/"}
SIGNATURE = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")


@pytest.fixture(autouse=True)
def no_rivya(http_calls):
    """No web request of this module may talk to Rivya."""
    yield
    assert http_calls == []


@pytest.fixture
def ours(add_generation):
    return add_generation(status=Status.FAILED)


def url_of(route: str, generation: Generation) -> str:
    url = "/" + route.replace("<uuid:pk>", str(generation.pk)).replace("<str:token>", "x")
    url = re.sub(r"<int:\w+>", "1", url)
    return url.replace("<path:name>", "task_" + "A" * 24 + ".mp4")


def body_of(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


# --- Every route ---------------------------------------------------------------------------


@pytest.mark.parametrize("route", app_routes())
@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_wrong_methods_are_405(route, method, owner_client, ours, settings):
    settings.RIVYA_WEBHOOK_SECRET = WEBHOOK_SECRET
    response = getattr(owner_client, method)(url_of(route, ours), **EN)
    if MATRIX[route].kind == "staff":
        assert response.status_code == 403  # not staff: refused before anything else
    elif route in DJANGO_FORM_VIEWS:
        # Django's set_language redirects any other method; it changes nothing here.
        assert response.status_code in {200, 302, 405}, (route, method, response.status_code)
    else:
        assert response.status_code == 405, (route, method, response.status_code)
    assert Generation.objects.count() == 1


ABSURD_QUERIES = [
    "since=-1",
    "since=1e309",
    "since=abc",
    "since=" + "9" * 5000,
    "ids=" + "x," * 5000,
    "ids=%00&since=%00",
    "since=1&since=2&ids=a&ids=b",
    "ids=%F0%9F%98%80%E2%80%AE&since=%D9%A3",
    "%00=%00",
    "next=%2F%2Fevil.example",
    "token=" + "A" * 10000,
]


@pytest.mark.parametrize("route", [r for r in app_routes() if "GET" in MATRIX[r].methods])
@pytest.mark.parametrize("query", ABSURD_QUERIES)
def test_absurd_query_parameters_never_500(route, query, owner_client, ours):
    response = owner_client.get(f"{url_of(route, ours)}?{query}", **EN)
    assert response.status_code < 500, (route, query, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/generations/not-a-uuid/",
        "/generations/00000000-0000-0000-0000-00000000000g/video",
        "/generations/%00/poster",
        f"/generations/{uuid.uuid4()}/",
        f"/generations/{uuid.uuid4()}/video",
        f"/generations/{uuid.uuid4()}/poster",
        f"/generations/{uuid.uuid4()}/reference",
        "/uploads/%00/preview",
        "/uploads/" + "A" * 3000 + "/preview",
        "/uploads/..%2F..%2Fsecret/preview",
    ],
)
def test_bad_or_unknown_ids_in_paths_are_404(path, owner_client):
    assert owner_client.get(path, **EN).status_code == 404


def test_retry_of_an_unknown_generation_is_404(owner_client):
    response = owner_client.post(f"/generations/{uuid.uuid4()}/retry", **EN)
    assert response.status_code == 404
    assert not Generation.objects.exists()


# --- The form -------------------------------------------------------------------------------


def post_home(client, data, **extra):
    return client.post(reverse("home"), data, **EN, **extra)


def rejected(response, field: str, message: str | None = None) -> None:
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    page = response.content.decode()
    shown = errors[field][0]
    assert shown in page or shown.replace("'", "&#x27;") in page
    if message is not None:
        assert message in shown, shown
    assert not Generation.objects.exists()


def test_csrf_is_enforced_on_the_form(owner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = post_home(client, VALID)
    assert response.status_code == 403
    assert not Generation.objects.exists()


def test_csrf_is_enforced_on_retry(owner, ours):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert client.post(f"/generations/{ours.pk}/retry", **EN).status_code == 403
    assert Generation.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration": "7"}, "duration"),
        ({"duration": "-5"}, "duration"),
        ({"duration": "5.0"}, "duration"),
        ({"duration": "1e309"}, "duration"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio"),
        ({"aspect_ratio": "1:1\x00"}, "aspect_ratio"),
        ({"sound": "maybe"}, "sound"),
        ({"prompt": "   \n\t  "}, "prompt"),
        ({"prompt": "a cat\x00 on a mat"}, "prompt"),
        ({"prompt": "x" * 1001}, "prompt"),
        ({"prompt": "😀" * 1000}, "prompt"),
        ({"prompt": "😀" * 500 + "x"}, "prompt"),
    ],
)
def test_wrong_values_are_refused_with_a_message(owner_client, changes, field):
    rejected(post_home(owner_client, {**VALID, **changes}), field)


@pytest.mark.parametrize(
    "prompt", ["x" * 1000, "😀" * 500, "ắ" * 1000, "  " + "y" * 1000 + "  "], ids=str
)
def test_a_prompt_of_exactly_1000_utf16_units_is_accepted(owner_client, prompt):
    response = post_home(owner_client, {**VALID, "prompt": prompt})
    assert response.status_code == 302
    assert Generation.objects.get().prompt == prompt.strip()


@pytest.mark.parametrize("token", ["not-a-uuid", "\x00", "A" * 5000])
def test_a_broken_form_token_still_makes_one_generation(owner_client, token):
    response = post_home(owner_client, {**VALID, "form_token": token})
    assert response.status_code == 302
    assert Generation.objects.count() == 1
    post_home(owner_client, {**VALID, "form_token": token})
    assert Generation.objects.count() == 1  # the duplicate window still holds


def test_missing_fields_are_each_named(owner_client):
    response = post_home(owner_client, {"sound": "on"})
    assert set(response.context["form"].errors) == {"prompt", "duration", "aspect_ratio"}
    assert not Generation.objects.exists()


def test_extra_fields_are_ignored(owner_client):
    data = {**VALID, "team": "999", "status": "ready", "model": "other", "created_by": "1"}
    response = post_home(owner_client, data)
    assert response.status_code == 302
    generation = Generation.objects.get()
    assert generation.status == Status.PENDING
    assert generation.model == "kling-2-6"


def test_duplicated_fields_make_one_generation_or_an_error(owner_client):
    response = post_home(
        owner_client,
        {
            "prompt": ["first", "second"],
            "duration": ["5", "99"],
            "aspect_ratio": ["1:1", "16:9"],
            "form_token": [str(uuid.uuid4()), "junk"],
        },
    )
    assert response.status_code in {200, 302}
    assert Generation.objects.count() <= 1


def test_an_oversized_body_is_refused_without_a_row(owner_client):
    response = post_home(owner_client, {**VALID, "prompt": "x" * 3_000_000})
    assert response.status_code == 400
    assert not Generation.objects.exists()


def test_too_many_fields_are_refused_without_a_row(owner_client):
    data = {**VALID, **{f"f{i}": "1" for i in range(1200)}}
    response = post_home(owner_client, data)
    assert response.status_code == 400
    assert not Generation.objects.exists()


def test_a_non_form_body_is_a_form_error(owner_client):
    response = owner_client.post(
        reverse("home"), b"\x00\xff" * 100, content_type="application/octet-stream", **EN
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Generation.objects.exists()


def test_a_broken_multipart_body_is_not_a_500(owner_client):
    response = owner_client.post(
        reverse("home"),
        b'--xx\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nhi',
        content_type="multipart/form-data; boundary=xx",
        **EN,
    )
    assert response.status_code < 500
    assert not Generation.objects.exists()


# --- Reference tokens -------------------------------------------------------------------------


def staged(user) -> str:
    return stage_reference(decode_reference(image_bytes("PNG"), "kite.png"), user)


def test_a_forged_reference_token_is_refused(owner_client, owner):
    forged = signing.dumps({"k": f"uploads/{owner.pk}/x.png", "u": owner.pk}, salt="other")
    response = post_home(owner_client, {**VALID, "reference_token": forged})
    rejected(response, "reference_image", "expired")


def test_another_users_reference_token_is_refused(owner_client, outsider, outsider_team):
    response = post_home(owner_client, {**VALID, "reference_token": staged(outsider)})
    rejected(response, "reference_image", "expired")


def test_a_token_naming_another_users_key_is_refused(owner_client, owner, outsider):
    stolen = staged(outsider)
    info = signing.loads(stolen, salt=STAGED_SALT)
    # Even correctly signed, a token whose key lies outside the user's prefix is refused.
    token = signing.dumps({**info, "u": owner.pk}, salt=STAGED_SALT)
    rejected(post_home(owner_client, {**VALID, "reference_token": token}), "reference_image")
    assert owner_client.get(f"/uploads/{token}/preview").status_code == 404


def test_an_expired_reference_token_is_refused(owner_client, owner, time_machine):
    token = staged(owner)
    time_machine.move_to(timezone.now() + timedelta(hours=25))
    rejected(post_home(owner_client, {**VALID, "reference_token": token}), "reference_image")


def test_garbage_reference_tokens_are_refused(owner_client):
    for token in ["x", "\x00", "A" * 5000, "a:b:c", "😀"]:
        response = post_home(owner_client, {**VALID, "reference_token": token})
        rejected(response, "reference_image")


# --- The webhook -------------------------------------------------------------------------------


@pytest.fixture
def hook(settings):
    settings.RIVYA_WEBHOOK_SECRET = WEBHOOK_SECRET
    return Client(enforce_csrf_checks=True)


def deliver(client, body: bytes, *, at: int | None = None, signed: bool = True, **extra):
    headers = {SIGNATURE: sign(body, WEBHOOK_SECRET, at or int(time.time()))} if signed else {}
    return client.post("/rivya/webhook", body, content_type="application/json", **headers, **extra)


@pytest.fixture
def waiting(add_generation):
    return add_generation(status=Status.PROCESSING, rivya_task_id="task_" + "W" * 24)


def unchanged(generation: Generation) -> None:
    before = generation.next_poll_at
    generation.refresh_from_db()
    assert generation.next_poll_at == before
    assert generation.status == Status.PROCESSING


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b'"text"',
        b"{}",
        b'{"id": 1, "type": "generation.succeeded"}',
        b'{"id": "evt_1", "type": "generation.succeeded", "data": {"status": "succeeded"}}',
        b'{"id": "evt_1", "type": "generation.succeeded", "data": []}',
        b'{"id": "evt_1", "type": ["x"], "data": {"id": "t"}}',
        b'{"id": "evt_1", "type": "x", "data": {"id": {"$ne": 1}, "status": "x"}}',
        b'{"a": ' * 5000 + b"1" + b"}" * 5000,
    ],
    ids=lambda b: repr(b[:30]),
)
def test_signed_bodies_of_the_wrong_shape_are_400(hook, waiting, body):
    response = deliver(hook, body)
    assert response.status_code in {200, 400}, response.status_code
    unchanged(waiting)


def test_unsigned_deliveries_are_400(hook, waiting):
    body = json.dumps({"id": "evt_1", "type": "generation.succeeded", "data": {"id": "x"}})
    assert deliver(hook, body.encode(), signed=False).status_code == 400
    assert deliver(hook, b"", signed=False).status_code == 400
    response = hook.post(
        "/rivya/webhook", body, content_type="application/json", **{SIGNATURE: "garbage"}
    )
    assert response.status_code == 400
    unchanged(waiting)


def test_a_valid_delivery_about_an_unknown_task_changes_nothing(hook, waiting):
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "generation.succeeded",
            "data": {"id": "task_unknown", "status": "succeeded"},
        }
    ).encode()
    response = deliver(hook, body)
    assert response.status_code == 200
    unchanged(waiting)


def test_a_replayed_old_delivery_is_refused(hook, waiting):
    body = json.dumps(
        {
            "id": "evt_1",
            "type": "generation.succeeded",
            "data": {"id": waiting.rivya_task_id, "status": "succeeded"},
        }
    ).encode()
    assert deliver(hook, body, at=int(time.time()) - 3600).status_code == 400
    assert deliver(hook, body, at=int(time.time()) + 3600).status_code == 400
    unchanged(waiting)


def test_a_huge_webhook_body_is_refused(hook, waiting):
    body = b'{"id": "evt_1", "pad": "' + b"x" * 3_000_000 + b'"}'
    response = deliver(hook, body)
    assert response.status_code == 413  # refused at the door, before the body is read
    unchanged(waiting)


def test_the_webhook_refuses_get(hook):
    assert hook.get("/rivya/webhook").status_code == 405
