from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from generations import catalog
from generations.models import CatalogEntry


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def queued_refreshes():
    return DBTaskResult.objects.filter(task_path__endswith="refresh_catalog").count()


def entry(age):
    return CatalogEntry.objects.create(
        model_id="kling-2-6",
        display_name="Kling 2.6",
        base_credits=55,
        fetched_at=timezone.now() - age,
    )


@pytest.mark.django_db
def test_a_fresh_price_is_shown_without_queueing_a_refresh(django_capture_on_commit_callbacks):
    entry(timedelta(minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        assert catalog.model_cost("kling-2-6") == 55
    assert queued_refreshes() == 0


@pytest.mark.django_db
def test_a_stale_price_is_shown_and_a_refresh_is_queued_once(django_capture_on_commit_callbacks):
    entry(catalog.MAX_AGE + timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert catalog.model_cost("kling-2-6") == 55
        assert catalog.model_cost("kling-2-6") == 55
    assert queued_refreshes() == 1


@pytest.mark.django_db
def test_an_unknown_price_is_none_and_queues_a_refresh(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert catalog.model_cost("kling-2-6") is None
    assert queued_refreshes() == 1
