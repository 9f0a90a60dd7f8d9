"""The poller's rate budget is shared by every process that shares the cache (Redis)."""

import uuid

import pytest
import time_machine
from django.core.cache.backends.redis import RedisCache

from generations import poller


@pytest.fixture
def redis_caches(monkeypatch, settings):
    """Two cache clients on one Redis database, as two poller processes would have."""
    prefix = f"budget-test-{uuid.uuid4().hex}"
    params = {"KEY_PREFIX": prefix}
    first = RedisCache("redis://127.0.0.1:6379/15", params)
    second = RedisCache("redis://127.0.0.1:6379/15", params)
    try:
        first.get("ping")
    except Exception:  # noqa: BLE001
        pytest.fail("Redis must run on 127.0.0.1:6379 for this test")
    settings.RIVYA_POLL_RATE = 5
    yield first, second
    first.clear()


@time_machine.travel("2026-11-24 12:00:00", tick=False)
def test_two_processes_share_one_budget(redis_caches, monkeypatch):
    first, second = redis_caches
    monkeypatch.setattr(poller, "cache", first)
    assert poller.take_budget(3) == 3
    monkeypatch.setattr(poller, "cache", second)
    assert poller.take_budget(3) == 2
    assert poller.take_budget(1) == 0


def test_reads_given_back_after_the_second_rolls_over_go_back_to_their_own_second(
    redis_caches, monkeypatch
):
    first, _ = redis_caches
    monkeypatch.setattr(poller, "cache", first)
    with time_machine.travel("2026-11-24 12:00:00", tick=False) as traveller:
        key = poller._budget_key()
        assert poller.take_budget(5, key=key) == 5
        traveller.shift(1)
        poller.return_budget(5, key=key)
        assert first.get(key) == 0
        assert first.get(poller._budget_key()) is None
