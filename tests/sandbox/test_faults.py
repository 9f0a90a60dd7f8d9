import threading
import time
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone

from sandbox.models import Account, Generation, IdempotencyRecord
from tests.fixtures import set_knobs
from tests.sandbox.conftest import BUILTIN_KEY, until

pytestmark = pytest.mark.django_db(transaction=True)

KLING = {"model": "kling-2-6", "prompt": "Lanterns on the river in Hoi An"}
STILL_RUNNING = "A request with this Idempotency-Key is still being processed; retry later."


def test_rate_limit_answers_429_with_retry_after(api):
    set_knobs(rate_limit_other=3, rate_window_seconds=60)
    for _ in range(3):
        assert api.get("/credits").status_code == 200
    limited = api.get("/credits")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # POST /generations has a budget of its own.
    assert api.post("/generations", json=KLING).status_code == 200


def test_rate_limit_window_resets(api):
    set_knobs(rate_limit_generations=1, rate_window_seconds=1)
    # The clock stands at the start of a window, then moves to the next one.
    start = int(time.time()) + 1
    with time_machine.travel(start, tick=False):
        assert api.post("/generations", json=KLING).status_code == 200
        assert api.post("/generations", json=KLING).status_code == 429
    with time_machine.travel(start + 1, tick=False):
        assert api.post("/generations", json=KLING).status_code == 200


def test_error_rate_gives_5xx_envelopes(api):
    set_knobs(error_rate=1.0)
    for _ in range(4):
        response = api.get("/credits")
        assert response.status_code in {500, 503}
        assert response.json()["error"]["requestId"].startswith("req_")


def test_dropped_connection(api):
    set_knobs(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/credits")


def test_slow_answers(api):
    set_knobs(slow_seconds=0.5)
    started = time.monotonic()
    assert api.get("/credits").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_answer_lost_then_retry_replays_the_same_task(api):
    set_knobs(answer_lost_rate=1.0)
    headers = {"Idempotency-Key": "lost-1"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/generations", json=KLING, headers=headers)
    assert Generation.objects.count() == 1
    set_knobs(answer_lost_rate=0.0)
    retry = api.post("/generations", json=KLING, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["id"] == Generation.objects.get().id
    assert api.get("/credits").json()["current_credits"] == 10_000 - 55


# --- Slow create: the key is in progress while the create runs --------------------------


def credits(api):
    return api.get("/credits").json()["current_credits"]


def assert_still_running(response):
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "idempotency_conflict",
        "message": STILL_RUNNING,
        "requestId": response.json()["error"]["requestId"],
    }


def in_background(base_url, body, headers, *, timeout=30):
    """POST /generations from another thread; the outcome (answer or error) lands in the dict."""
    outcome = {}

    def send():
        auth = {"Authorization": f"Bearer {BUILTIN_KEY}", **headers}
        try:
            outcome["answer"] = httpx.post(
                f"{base_url}/generations", json=body, headers=auth, timeout=timeout
            )
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=send)
    thread.start()
    return thread, outcome


def test_slow_create_answers_409_to_the_same_key_until_it_is_done(api, base_url):
    set_knobs(create_delay_seconds=2.0)
    key = {"Idempotency-Key": "slow-1"}
    before = credits(api)
    thread, outcome = in_background(base_url, KLING, key)
    until(lambda: IdempotencyRecord.objects.filter(key="slow-1").exists())

    started = time.monotonic()
    assert_still_running(api.post("/generations", json=KLING, headers=key))
    other_body = {**KLING, "prompt": "something else"}
    assert_still_running(api.post("/generations", json=other_body, headers=key))
    assert time.monotonic() - started < 1.5  # answered at once, not after the create
    assert not Generation.objects.exists()

    thread.join()
    first = outcome["answer"]
    assert first.status_code == 200
    replay = api.post("/generations", json=KLING, headers=key)
    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert [g.id for g in Generation.objects.all()] == [first.json()["id"]]
    assert credits(api) == before - 55


def test_a_client_that_gave_up_gets_409_then_the_replay(api, base_url):
    """The create goes on after the client's read timed out and commits its task."""
    set_knobs(create_delay_seconds=1.5)
    key = {"Idempotency-Key": "gave-up-1"}
    before = credits(api)
    with pytest.raises(httpx.ReadTimeout):
        api.post("/generations", json=KLING, headers=key, timeout=0.3)
    assert_still_running(api.post("/generations", json=KLING, headers=key))

    until(lambda: Generation.objects.exists())
    until(lambda: not IdempotencyRecord.objects.get(key="gave-up-1").in_progress)
    replay = api.post("/generations", json=KLING, headers=key)
    assert replay.status_code == 200
    assert replay.json()["id"] == Generation.objects.get().id
    assert credits(api) == before - 55


def test_a_refused_slow_create_frees_its_key(make_client):
    set_knobs(create_delay_seconds=0.2)
    client = make_client(balance=54)
    key = {"Idempotency-Key": "poor-slow"}
    refused = client.post("/generations", json=KLING, headers=key)
    assert refused.status_code == 402
    assert not IdempotencyRecord.objects.exists()
    Account.objects.filter(pk=client.account.pk).update(balance=55)
    assert client.post("/generations", json=KLING, headers=key).status_code == 200
    assert client.get("/credits").json()["current_credits"] == 0


def stuck_record(api, key, *, age):
    """An in-progress record of the built-in account, as a request that died leaves it."""
    api.get("/credits")  # makes the built-in account
    return IdempotencyRecord.objects.create(
        account=Account.objects.get(is_builtin=True),
        method="POST",
        path="/sandbox/api/v1/generations",
        key=key,
        request_hash="0" * 64,
        created_at=timezone.now() - age,
    )


def test_an_abandoned_in_progress_key_is_taken_over(api):
    stuck_record(api, "died-1", age=timedelta(seconds=61))
    stuck_record(api, "running-1", age=timedelta(seconds=10))

    taken = api.post("/generations", json=KLING, headers={"Idempotency-Key": "died-1"})
    assert taken.status_code == 200
    record = IdempotencyRecord.objects.get(key="died-1")
    assert record.body == taken.json()
    assert_still_running(
        api.post("/generations", json=KLING, headers={"Idempotency-Key": "running-1"})
    )
    assert Generation.objects.count() == 1


def test_a_create_whose_key_was_taken_over_meanwhile_rolls_back(api, base_url):
    """Never two tasks for one key: the slow create finds its record replaced and undoes."""
    set_knobs(create_delay_seconds=1.5)
    before = credits(api)
    thread, outcome = in_background(base_url, KLING, {"Idempotency-Key": "overtaken"})
    until(lambda: IdempotencyRecord.objects.filter(key="overtaken").exists())
    # What a request arriving after the stale time does: drop the record and make its own.
    IdempotencyRecord.objects.filter(key="overtaken").delete()
    stuck_record(api, "overtaken", age=timedelta(0))

    thread.join()
    answer = outcome["answer"]
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_conflict"
    assert not Generation.objects.exists()
    assert credits(api) == before
    assert IdempotencyRecord.objects.get(key="overtaken").in_progress


# --- Lost answers per key ---------------------------------------------------------------


def test_first_answers_for_a_key_are_lost_after_the_task_is_made(api):
    set_knobs(lose_first_answers=2)
    key = {"Idempotency-Key": "lose-2"}
    before = credits(api)
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            api.post("/generations", json=KLING, headers=key)
    assert Generation.objects.count() == 1

    replay = api.post("/generations", json=KLING, headers=key)
    assert replay.status_code == 200
    assert replay.json()["id"] == Generation.objects.get().id
    assert credits(api) == before - 55
    assert api.post("/generations", json=KLING, headers=key).status_code == 200
    # Another key has a count of its own; a request without a key is never counted.
    with pytest.raises(httpx.TransportError):
        api.post("/generations", json=KLING, headers={"Idempotency-Key": "lose-2b"})
    assert api.post("/generations", json=KLING).status_code == 200
    assert Generation.objects.count() == 3


def test_a_conflict_for_the_key_counts_as_one_of_its_answers(api):
    set_knobs(lose_first_answers=2)
    key = {"Idempotency-Key": "lose-409"}
    with pytest.raises(httpx.TransportError):
        api.post("/generations", json=KLING, headers=key)
    with pytest.raises(httpx.TransportError):
        api.post("/generations", json={**KLING, "prompt": "another"}, headers=key)
    conflict = api.post("/generations", json={**KLING, "prompt": "another"}, headers=key)
    assert conflict.status_code == 409
    assert Generation.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="lose-409").answers_lost == 2
