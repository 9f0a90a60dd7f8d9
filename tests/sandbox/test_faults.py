import time

import httpx
import pytest

from sandbox.models import Generation, SandboxConfig

pytestmark = pytest.mark.django_db(transaction=True)

KLING = {"model": "kling-2-6", "prompt": "Lanterns on the river in Hoi An"}


def knobs(**values):
    SandboxConfig.load()
    SandboxConfig.objects.filter(pk=1).update(**values)


def test_rate_limit_answers_429_with_retry_after(api):
    knobs(rate_limit_other=3, rate_window_seconds=60)
    for _ in range(3):
        assert api.get("/credits").status_code == 200
    limited = api.get("/credits")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # POST /generations has a budget of its own.
    assert api.post("/generations", json=KLING).status_code == 200


def test_rate_limit_window_resets(api):
    knobs(rate_limit_generations=1, rate_window_seconds=1)
    time.sleep(1 - time.time() % 1 + 0.05)  # start at the beginning of a window
    assert api.post("/generations", json=KLING).status_code == 200
    assert api.post("/generations", json=KLING).status_code == 429
    time.sleep(1.05)
    assert api.post("/generations", json=KLING).status_code == 200


def test_error_rate_gives_5xx_envelopes(api):
    knobs(error_rate=1.0)
    for _ in range(4):
        response = api.get("/credits")
        assert response.status_code in {500, 503}
        assert response.json()["error"]["requestId"].startswith("req_")


def test_dropped_connection(api):
    knobs(drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.get("/credits")


def test_slow_answers(api):
    knobs(slow_seconds=0.5)
    started = time.monotonic()
    assert api.get("/credits").status_code == 200
    assert time.monotonic() - started >= 0.5


def test_answer_lost_then_retry_replays_the_same_task(api):
    knobs(answer_lost_rate=1.0)
    headers = {"Idempotency-Key": "lost-1"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/generations", json=KLING, headers=headers)
    assert Generation.objects.count() == 1
    knobs(answer_lost_rate=0.0)
    retry = api.post("/generations", json=KLING, headers=headers)
    assert retry.status_code == 200
    assert retry.json()["id"] == Generation.objects.get().id
    assert api.get("/credits").json()["current_credits"] == 10_000 - 55
