from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from generations import catalog
from generations.models import CatalogEntry


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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("age", "queued"),
    [(None, True), (catalog.MAX_AGE + timedelta(minutes=1), True), (timedelta(hours=1), False)],
    ids=["empty", "stale", "fresh"],
)
def test_housekeeping_queues_a_refresh_only_when_empty_or_stale(age, queued):
    if age is not None:
        entry(age)
    assert catalog.refresh_if_stale() is queued
    assert queued_refreshes() == int(queued)
