from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from sandbox.models import Account, Generation, IdempotencyRecord
from tests.fixtures import image_bytes
from tests.sandbox.conftest import upload_png, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FOREIGN_URL = "https://example.com/a.png"
KLING = {"model": "kling-2-6", "prompt": "A red kite over a rice field"}


def create(client, body=None, **headers):
    return client.post("/generations", json=body or KLING, headers=headers)


def assert_invalid(response, code="validation_failed"):
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == code


def test_create_returns_a_queued_task_and_debits(api):
    response = create(api)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "id", "status", "model", "reserved_credits", "final_credits",
        "created_at", "updated_at", "result", "error",
    }  # fmt: skip
    assert body["id"].startswith("task_") and len(body["id"]) == 29
    assert body["status"] == "queued"
    assert (body["reserved_credits"], body["final_credits"]) == (55, 0)
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 24
    assert body["result"] is None and body["error"] is None
    assert api.get("/credits").json()["current_credits"] == 10_000 - 55


@pytest.mark.parametrize(
    "body",
    [
        {**KLING, "params": {"duration": 5}},
        {**KLING, "params": {"sound": False}},
        {**KLING, "params": {"duration": "7"}},
        {**KLING, "params": {"aspect_ratio": "4:3"}},
        {**KLING, "params": {"aspectRatio": "16:9"}},
        {**KLING, "params": "duration=5"},
        {**KLING, "files": []},
        {**KLING, "seed": 1},
        {**KLING, "prompt": "   "},
        {"model": "kling-2-6"},
        {**KLING, "model": "kling-9"},
        {**KLING, "model": 5},
        {**KLING, "client_request_id": "x" * 129},
        {**KLING, "prompt": "a" * 1001},
        # 999 code points but 1001 UTF-16 code units (the emoji needs two units each).
        {**KLING, "prompt": "a" * 997 + "😀😀"},
        {**KLING, "params": {"referenceMediaItems": [{"url": FOREIGN_URL, "kind": "image"}]}},
    ],
)  # fmt: skip
def test_invalid_bodies_are_rejected_without_charge(api, body):
    assert_invalid(create(api, body))
    assert api.get("/credits").json()["current_credits"] == 10_000
    assert not Generation.objects.exists()


def test_prompt_limit_counts_utf16_units(api):
    assert create(api, {**KLING, "prompt": "a" * 998 + "😀"}).status_code == 200
    assert create(api, {**KLING, "prompt": "a" * 1000}).status_code == 200


def test_wrong_content_type_and_malformed_json(api):
    assert_invalid(api.post("/generations", content=b"{}", headers={"Content-Type": "text/plain"}))
    response = api.post(
        "/generations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_invalid(response)
    assert_invalid(api.post("/generations", json=[KLING]))


def test_reference_from_own_files_api_is_accepted(api):
    file = upload_png(api).json()
    item = {"url": file["url"], "kind": "image", "name": file["name"], "mimeType": "image/png"}
    body = {**KLING, "params": {"duration": "5", "referenceMediaItems": [item]}}
    assert create(api, body).status_code == 200
    assert_invalid(create(api, {**body, "params": {"referenceMediaItems": [item, item]}}))
    assert_invalid(
        create(api, {**body, "params": {"referenceMediaItems": [{**item, "kind": "video"}]}})
    )


def test_reference_of_another_account_is_rejected(api, make_client):
    other = make_client()
    file = upload_png(other).json()
    item = {"url": file["url"], "kind": "image"}
    assert_invalid(create(api, {**KLING, "params": {"referenceMediaItems": [item]}}))


def test_idempotent_replay_and_conflict(api):
    first = create(api, KLING, **{"Idempotency-Key": "order-1"})
    reordered = {"prompt": KLING["prompt"], "model": "kling-2-6"}
    again = create(api, reordered, **{"Idempotency-Key": "order-1"})
    assert again.status_code == 200
    assert again.json() == first.json()
    conflict = create(api, {**KLING, "prompt": "other"}, **{"Idempotency-Key": "order-1"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert Generation.objects.count() == 1
    assert api.get("/credits").json()["current_credits"] == 10_000 - 55
    # Without a key every request is a new task.
    create(api)
    assert Generation.objects.count() == 2


def test_a_key_used_on_another_route_is_a_conflict_with_no_side_effects(api):
    upload = api.post(
        "/files",
        files={"file": ("ref.png", image_bytes(), "image/png")},
        data={"kind": "image", "model": "kling-2-6"},
        headers={"Idempotency-Key": "shared-1"},
    )
    assert upload.status_code == 200
    credits_before = api.get("/credits").json()

    conflict = create(api, KLING, **{"Idempotency-Key": "shared-1"})

    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert Generation.objects.count() == 0
    assert api.get("/credits").json() == credits_before
    assert IdempotencyRecord.objects.filter(key="shared-1").count() == 1


def test_another_account_may_use_the_same_key(api, make_client):
    assert create(api, KLING, **{"Idempotency-Key": "mine"}).status_code == 200
    assert create(make_client(), KLING, **{"Idempotency-Key": "mine"}).status_code == 200
    assert Generation.objects.count() == 2


def test_invalid_idempotency_key(api):
    assert_invalid(create(api, KLING, **{"Idempotency-Key": "x" * 256}))
    assert_invalid(create(api, KLING, **{"Idempotency-Key": "tab\there"}))


def test_validation_errors_are_not_stored_for_replay(api):
    assert_invalid(create(api, {**KLING, "seed": 1}, **{"Idempotency-Key": "k"}))
    assert not IdempotencyRecord.objects.exists()
    assert create(api, KLING, **{"Idempotency-Key": "k"}).status_code == 200


def test_insufficient_credits_creates_nothing(make_client):
    client = make_client(balance=54)
    response = create(client, KLING, **{"Idempotency-Key": "poor"})
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_credits"
    assert client.get("/credits").json()["current_credits"] == 54
    assert not Generation.objects.exists()
    Account.objects.filter(pk=client.account.pk).update(balance=100)
    assert create(client, KLING, **{"Idempotency-Key": "poor"}).status_code == 200


def test_price_table_setting(api, settings):
    settings.SANDBOX_PRICES = {"kling-2-6": {"10|false|1:1": 110}}
    body = create(api, {**KLING, "params": {"duration": "10"}}).json()
    assert body["reserved_credits"] == 110


def test_other_accounts_task_is_not_found(api, make_client):
    task = create(api).json()
    response = make_client().get(f"/generations/{task['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api.get("/generations/task_doesnotexist").status_code == 404


def test_timeline_reaches_succeeded_with_result(api):
    task = create(api, {"model": "z-image", "prompt": "a lighthouse"}).json()
    assert task["reserved_credits"] == 1
    seen = {task["status"]}
    final = wait_for(api, task["id"])
    seen.add(final["status"])
    assert final["status"] == "succeeded"
    assert final["final_credits"] == final["reserved_credits"] == 1
    assert final["result"]["urls"] == [final["result"]["primary_url"]]
    assert final["updated_at"] > final["created_at"]
    image = api.get(final["result"]["primary_url"])
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")


def test_failure_rate_fails_and_refunds(api, settings):
    settings.SANDBOX_TASK_FAILURE_RATE = 1.0
    task = create(api).json()
    assert api.get("/credits").json()["current_credits"] == 10_000 - 55
    final = wait_for(api, task["id"])
    assert final["status"] == "failed"
    assert final["error"] == {"code": "generation_failed", "message": "The generation failed."}
    assert final["result"] is None
    assert (final["reserved_credits"], final["final_credits"]) == (55, 0)
    assert api.get("/credits").json()["current_credits"] == 10_000


def test_worker_finishes_a_task_without_any_read(api):
    from django.core.management import call_command
    from django.db.models import F

    task = create(api, {"model": "z-image", "prompt": "a worker's lighthouse"}).json()
    # Its timeline is over: the scheduled steps are due now rather than waited for.
    earlier = timezone.now() - timedelta(minutes=1)
    Generation.objects.filter(pk=task["id"]).update(processing_at=earlier, due_at=earlier)
    DBTaskResult.objects.filter(status="READY").update(run_after=F("enqueued_at"))
    call_command("db_worker", batch=True, queue_name="sandbox", interval=0, startup_delay=False)
    generation = Generation.objects.get(pk=task["id"])
    assert generation.status == "succeeded"
    assert generation.render_state == "done"
