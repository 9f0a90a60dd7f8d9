"""The test suite's one fixtures module: people, teams, generations, images, media, the
sandbox and a real worker.

Tasks run on the django-tasks-db backend by its own ``Worker`` (the code behind
``manage.py db_worker``), drained in batch mode in the test's thread so each step is
deterministic; the sandbox's tasks (queue ``sandbox``) run in the same drain.
"""

import io
import socket
import struct
import time
import uuid
import zlib
from datetime import timedelta

import httpx
import pytest
from django.core.files.base import ContentFile
from django.db import connections
from django.test import Client
from django.utils import timezone, translation
from django_tasks_db.management.commands.db_worker import Worker
from PIL import Image

from generations import poller
from generations.accounts import ensure_personal_team
from generations.models import Generation, Status
from sandbox.models import SandboxConfig

# The built-in sandbox account's key in tests (a real run derives it from SECRET_KEY).
SANDBOX_KEY = "rvya_sk_" + "tests_only_sandbox_key"

# --- Builders --------------------------------------------------------------------------------


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def huge_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid-looking PNG header declaring ``width``×``height`` with almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    # One zero-filled row is enough for a decoder to start; the rest is "missing".
    data = zlib.compress(b"\x00" * (width // 8 + 1))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def paid(team, user, *, duration, sound, credits, minutes_ago=0, status=Status.READY):
    """A generation for which Rivya reserved ``credits``, made ``minutes_ago``."""
    generation = Generation.objects.create(
        team=team,
        created_by=user,
        prompt="A red kite",
        duration=duration,
        sound=sound,
        status=status,
        reserved_credits=credits,
    )
    Generation.objects.filter(pk=generation.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return generation


def said(generation: Generation) -> str:
    """What the card says about ``generation``, in English."""
    with translation.override("en"):
        return generation.message


@pytest.fixture(scope="session")
def mp4_bytes(tmp_path_factory):
    """A real five-second MP4, made once per run."""
    from sandbox.render import render_video

    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    render_video(
        path, prompt="A paper boat on a river", duration=5, aspect_ratio="16:9", sound=False
    )
    return path.read_bytes()


# --- The background side ---------------------------------------------------------------------


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


def set_knobs(**knobs) -> None:
    """Change the sandbox's fault knobs (its one SandboxConfig row)."""
    SandboxConfig.load()
    SandboxConfig.objects.filter(pk=1).update(**knobs)


def hurry() -> None:
    """Make every scheduled retry due now: time moves for them instead of being waited for."""
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(status="READY").update(
        run_after=timezone.now() - timedelta(seconds=1)
    )


def run_until(
    generation: Generation,
    statuses,
    *,
    timeout: float = 60.0,
    hurry_retries: bool = False,
    seen: list[str] | None = None,
) -> Generation:
    """Drive worker and poller (its clock a minute ahead, so backoff never waits) until the
    row reaches one of ``statuses``. ``hurry_retries`` brings scheduled retries forward;
    ``seen`` collects the card status of every round.

    The short pause between rounds gives the sandbox's own timeline (real seconds) a
    chance to move; no deadline of ours is reached by sleeping.
    """
    deadline = time.monotonic() + timeout
    while True:
        if hurry_retries:
            hurry()
        drain()
        poller.poll_due(now=timezone.now() + timedelta(minutes=1))
        generation.refresh_from_db()
        if seen is not None:
            seen.append(generation.card_status)
        if generation.status in statuses:
            return generation
        if time.monotonic() > deadline:
            raise AssertionError(f"still {generation.status} after {timeout}s")
        time.sleep(0.2)


def until(condition, timeout: float = 30.0) -> None:
    """Wait until ``condition()`` is true: something another thread or process does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s")
        time.sleep(0.05)


def migrate(app: str | None, targets=None):
    """Migrate ``app`` to ``targets`` (its newest migration by default; every app's newest
    when ``app`` is None); return the apps of that state, for building rows as an older
    schema had them."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes(app)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


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


# --- The web side ----------------------------------------------------------------------------


@pytest.fixture
def team(owner):
    """The owner's personal team, as a first login makes it."""
    return ensure_personal_team(owner)


@pytest.fixture
def outsider_team(outsider):
    return ensure_personal_team(outsider)


@pytest.fixture
def owner_client(owner, team):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(outsider, outsider_team):
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def add_generation(team, owner, media_root):
    """Build a generation row of the owner's team in any state (pending, as the form view
    leaves it, unless told otherwise)."""

    def add(
        *,
        team=None,
        user=None,
        status=Status.PENDING,
        reference=None,
        video=None,
        poster=None,
        **fields,
    ):
        fields.setdefault("prompt", "A paper boat drifting down a rainy street")
        generation = Generation(
            team=team or default_team, created_by=user or owner, status=status, **fields
        )
        if reference is not None:
            generation.reference_mime = "image/png"
            generation.reference_name = "kite.png"
            generation.reference_image.save("kite.png", ContentFile(reference), save=False)
        if video is not None:
            generation.video.save("video.mp4", ContentFile(video), save=False)
        if poster is not None:
            generation.poster.save("poster.jpg", ContentFile(poster), save=False)
        generation.save()
        return generation

    default_team = team
    return add


@pytest.fixture
def http_calls(monkeypatch):
    """Every outgoing httpx request made during the test (they still go out)."""
    calls: list[httpx.Request] = []
    original = httpx.Client.send

    def send(self, request, *args, **kwargs):
        calls.append(request)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(httpx.Client, "send", send)
    return calls


@pytest.fixture
def loopback_only(monkeypatch):
    """Every address a socket was opened to; anything but loopback fails the test."""
    seen: list[str] = []
    original = socket.create_connection

    def create_connection(address, *args, **kwargs):
        seen.append(address[0])
        assert address[0] in {"127.0.0.1", "localhost", "::1"}, f"connected to {address}"
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    return seen


@pytest.fixture
def fast_passwords(settings):
    """A cheap hasher: these tests make users, they do not test hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Roles:
    """Everyone who may knock on a team's door, each with a logged-in client."""

    NAMES = ("creator", "owner", "admin", "member", "outsider", "anonymous")

    def __init__(self, users: dict, team) -> None:
        self.users = users
        self.team = team
        self.clients: dict[str, Client] = {}
        for name in self.NAMES:
            client = Client(headers={"accept-language": "en"})
            if name in users:
                client.force_login(users[name])
            self.clients[name] = client

    def user(self, name: str):
        return self.users[name]

    def client(self, name: str) -> Client:
        return self.clients[name]


@pytest.fixture
def roles(team, owner, django_user_model, password, fast_passwords):
    """The owner's team with a ``creator`` (a plain member who makes the videos under
    test), an ``admin`` and another ``member``; an ``outsider`` with a team of their own
    and an ``anonymous`` visitor. Clients ask for English pages."""
    from teams.models import Membership

    users = {"owner": owner}
    for name, role in (("creator", "member"), ("admin", "admin"), ("member", "member")):
        users[name] = django_user_model.objects.create_user(name, f"{name}@example.com", password)
        Membership.objects.create(team=team, user=users[name], role=role)
    users["outsider"] = django_user_model.objects.create_user(
        "stranger", "stranger@example.com", password
    )
    ensure_personal_team(users["outsider"])
    return Roles(users, team)


MP4_HEAD = b"\0\0\0\x18ftypmp42"


@pytest.fixture
def add_ready_video(add_generation):
    """A ready generation with every stored file: video, poster, small poster, preview,
    reference image and provenance record (small stand-ins, not playable media)."""
    import json

    from django.core.files.storage import default_storage

    from generations.models import generation_key

    def add(*, video=MP4_HEAD + b"video" * 100, **fields):
        fields.setdefault("reference", image_bytes("PNG"))
        fields.setdefault("poster", image_bytes("JPEG"))
        fields.setdefault("reserved_credits", 70)
        fields.setdefault("final_credits", 55)
        generation = add_generation(status=Status.READY, video=video, **fields)
        generation.poster_small.save(
            generation_key(generation, "poster-small.jpg"),
            ContentFile(image_bytes("JPEG", size=(16, 12))),
            save=False,
        )
        generation.preview.save(
            generation_key(generation, "preview.mp4"), ContentFile(MP4_HEAD), save=False
        )
        record = {"generation": str(generation.pk), "prompt": generation.prompt}
        generation.provenance = default_storage.save(
            generation_key(generation, "provenance.json"),
            ContentFile(json.dumps(record, ensure_ascii=False).encode()),
        )
        generation.finished_at = timezone.now()
        generation.save()
        return generation

    return add
