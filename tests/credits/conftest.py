"""Budgets under test: the catalog's price, and helpers to set limits and ask for videos."""

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import CatalogEntry
from teams.models import Membership

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PRICE = 55  # Kling 2.6's base price, in the catalog and in the sandbox


@pytest.fixture
def price_list(db):
    """The catalog knows Kling 2.6's base price, as after the first refresh."""
    CatalogEntry.objects.create(model_id="kling-2-6", base_credits=PRICE, fetched_at=timezone.now())


def set_budget(team, credits):
    team.monthly_credit_budget = credits
    team.save(update_fields=["monthly_credit_budget"])


def set_cap(team, user, credits):
    Membership.objects.filter(team=team, user=user).update(monthly_credit_cap=credits)


def ask(client, prompt="A lantern drifting over a lake", **extra):
    """Post the home page's form (a 5 s square video without sound), asking for English."""
    data = {"prompt": prompt, "duration": "5", "aspect_ratio": "1:1", **extra}
    return client.post(reverse("home"), data, **EN)
