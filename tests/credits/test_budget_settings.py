"""The budget settings read from the environment: defaults, and refusals at start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SUBMISSIONS_PER_MINUTE, s.BUDGET_ALERT_PERCENTS, s.SITE_URL]))"
)
NAMES = {"SUBMISSIONS_PER_MINUTE", "BUDGET_ALERT_PERCENTS", "SITE_URL", "ALLOWED_HOSTS"}


def start(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in NAMES}
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        cwd=BASE_DIR,
        env={**clean, "DJANGO_SETTINGS_MODULE": "rivyaweb.settings", "SECRET_KEY": "k" * 50, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def shown(**env: str) -> list:
    result = start(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_defaults():
    assert shown() == [30, [50, 80, 100], "http://127.0.0.1:8000"]


def test_values_are_read_sorted_and_without_repeats():
    assert shown(
        SUBMISSIONS_PER_MINUTE="5",
        BUDGET_ALERT_PERCENTS="100, 75,75",
        SITE_URL="https://studio.example.com/",
    ) == [5, [75, 100], "https://studio.example.com"]


def test_the_site_url_defaults_to_the_first_public_host():
    assert shown(ALLOWED_HOSTS="localhost,video.example.com,other.example.com")[2] == (
        "https://video.example.com"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SUBMISSIONS_PER_MINUTE": "0"}, "SUBMISSIONS_PER_MINUTE must be a positive"),
        ({"SUBMISSIONS_PER_MINUTE": "many"}, "SUBMISSIONS_PER_MINUTE must be a whole number"),
        ({"BUDGET_ALERT_PERCENTS": "50,eighty"}, "BUDGET_ALERT_PERCENTS must be whole numbers"),
        ({"BUDGET_ALERT_PERCENTS": "0,50"}, "from 1 to 1000"),
        ({"SITE_URL": "video.example.com"}, "SITE_URL must be an http:// or https:// URL"),
    ],
)
def test_bad_values_refuse_to_start(env, message):
    result = start(**env)
    assert result.returncode != 0
    assert message in result.stderr
