"""Fixtures for the background side: generations to work on, the sandbox, a real worker.

Tasks run on the django-tasks-db backend by its own ``Worker`` (the code behind
``manage.py db_worker``), drained in batch mode in the test's thread so each step is
deterministic; the sandbox's tasks (queue ``sandbox``) run in the same drain.
"""

import io
import time
import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connections
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from PIL import Image

from generations import poller
from generations.models import Generation, Membership, Status, Team
from sandbox.models import SandboxConfig

SANDBOX_KEY = "rvya_sk_sandbox_local"


def drain() -> None:
    """Run every task that is ready now, then return."""
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"test-{uuid.uuid4().hex[:8]}",
        excluded_queue_names=[],
    ).run()


def png_bytes(size=(64, 48), color=(30, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def set_knobs(**knobs) -> None:
    """Change the sandbox's fault knobs (its one SandboxConfig row)."""
    SandboxConfig.load()
    SandboxConfig.objects.filter(pk=1).update(**knobs)


def run_until(generation: Generation, statuses, *, timeout: float = 60.0) -> Generation:
    """Drive worker and poller (its clock a minute ahead, so backoff never waits) until the
    row reaches one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        drain()
        poller.poll_due(now=timezone.now() + timedelta(minutes=1))
        generation.refresh_from_db()
        if generation.status in statuses:
            return generation
        if time.monotonic() > deadline:
            raise AssertionError(f"still {generation.status} after {timeout}s")
        time.sleep(0.2)


@pytest.fixture
def media_root(settings, tmp_path):
    """Local default storage in a temporary directory."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": root},
        },
    }
    return root


@pytest.fixture
def sandbox(settings, tmp_path, rivya_base, media_root):
    """The app talking to the sandbox over real HTTP, with a short timeline."""
    settings.RIVYA_SANDBOX = True
    settings.RIVYA_API_KEY = SANDBOX_KEY
    settings.RIVYA_MEDIA_HOSTS = []
    settings.SANDBOX_DATA_DIR = tmp_path / "sandbox"
    settings.SANDBOX_QUEUED_SECONDS = 0.2
    settings.SANDBOX_PROCESSING_SECONDS = 0.2
    settings.SANDBOX_WEBHOOK_BACKOFF_SCALE = 0.0
    yield rivya_base
    connections.close_all()


@pytest.fixture
def team(owner):
    team = Team.objects.create(name="Studio")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    return team


@pytest.fixture
def make_generation(team, owner):
    """Build a generation row as the form view leaves it (pending, nothing sent yet)."""

    def make(*, reference: bytes | None = None, status=Status.PENDING, **fields):
        fields.setdefault("prompt", "A red kite over the rice fields at dawn")
        generation = Generation(team=team, created_by=owner, status=status, **fields)
        if reference is not None:
            generation.reference_mime = "image/png"
            generation.reference_name = "kite.png"
            generation.reference_image.save("kite.png", ContentFile(reference), save=False)
        generation.save()
        return generation

    return make
