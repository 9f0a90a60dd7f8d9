"""POST /rivya/webhook: signed deliveries make a row due; nothing else changes."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from generations.models import Generation, Status
from generations.rivya.webhooks import SIGNATURE_HEADER, sign

SECRET = "whsec_test_0123456789abcdef"
TASK_ID = "task_" + "K" * 24
URL = "/rivya/webhook"

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret(settings):
    settings.RIVYA_WEBHOOK_SECRET = SECRET
    return SECRET


@pytest.fixture
def client():
    # No login, and CSRF enforced as in production: the endpoint must not need either.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def waiting(add_generation):
    return add_generation(
        status=Status.PROCESSING,
        rivya_task_id=TASK_ID,
        next_poll_at=timezone.now() + timedelta(seconds=30),
    )


def event(status="succeeded", task_id=TASK_ID):
    return json.dumps(
        {
            "id": "evt_" + "Q" * 24,
            "type": f"generation.{status}",
            "api_version": "2026-05-11",
            "created_at": "2026-11-24T10:00:00.000Z",
            "data": {"id": task_id, "status": status, "model": "kling-2-6"},
        }
    ).encode()


def post(client, body, signature):
    headers = (
        {}
        if signature is None
        else {"HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_"): signature}
    )
    return client.post(URL, body, content_type="application/json", **headers)


def test_a_signed_delivery_makes_the_row_due_and_nothing_else(client, secret, waiting):
    before = waiting.changed_at
    response = post(client, event(), sign(event(), secret, int(time.time())))

    assert response.status_code == 200
    waiting.refresh_from_db()
    assert waiting.next_poll_at <= timezone.now()
    # The poller reads the authoritative status; the push itself changes no state.
    assert waiting.status == Status.PROCESSING
    assert waiting.changed_at == before


def test_a_repeated_delivery_is_harmless(client, secret, waiting):
    body = event()
    for _ in range(3):
        assert post(client, body, sign(body, secret, int(time.time()))).status_code == 200
    waiting.refresh_from_db()
    assert waiting.status == Status.PROCESSING


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "garbage",
        "t=notanumber,v1=00",
        "t={now},v1=" + "0" * 64,
        "t={stale},v1={stale_digest}",
        "t={now},v1={wrong_secret}",
    ],
)
def test_bad_signatures_are_refused_without_effect(client, secret, waiting, signature):
    body = event()
    now = int(time.time())
    if signature is not None:
        signature = signature.format(
            now=now,
            stale=now - 3600,
            stale_digest=sign(body, secret, now - 3600).split("v1=")[1],
            wrong_secret=sign(body, "whsec_other", now).split("v1=")[1],
        )
    response = post(client, body, signature)

    assert response.status_code == 400
    waiting.refresh_from_db()
    assert waiting.next_poll_at > timezone.now()


def test_a_body_changed_after_signing_is_refused(client, secret, waiting):
    signature = sign(event(), secret, int(time.time()))
    response = post(client, event(task_id="task_" + "Z" * 24), signature)
    assert response.status_code == 400


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", json.dumps({"id": "evt_1"}).encode()])
def test_signed_bodies_that_are_not_events_are_refused(client, secret, body):
    response = post(client, body, sign(body, secret, int(time.time())))
    assert response.status_code == 400


def test_unknown_tasks_and_finished_rows_are_ignored(client, secret, add_generation):
    done = add_generation(status=Status.READY, rivya_task_id=TASK_ID, next_poll_at=None)
    for body in (event(), event(task_id="task_" + "U" * 24)):
        assert post(client, body, sign(body, secret, int(time.time()))).status_code == 200
    done.refresh_from_db()
    assert done.next_poll_at is None


def test_without_a_secret_the_endpoint_does_not_exist(client, settings, waiting):
    settings.RIVYA_WEBHOOK_SECRET = ""
    body = event()
    response = post(client, body, sign(body, "anything", int(time.time())))
    assert response.status_code == 404
    waiting.refresh_from_db()
    assert waiting.next_poll_at > timezone.now()


def test_only_post_is_accepted(client, secret):
    assert client.get(URL).status_code == 405


def test_the_secret_never_appears_in_answers(client, secret, waiting):
    body = event()
    responses = [
        post(client, body, sign(body, secret, int(time.time()))),
        post(client, body, "t=1,v1=00"),
        post(client, b"x", sign(b"x", secret, int(time.time()))),
    ]
    for response in responses:
        assert SECRET not in response.content.decode()
    assert Generation.objects.get(pk=waiting.pk).status == Status.PROCESSING
