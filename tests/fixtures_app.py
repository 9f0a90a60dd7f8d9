"""Fixtures for the web side: signed-in clients, images, generation rows, local media."""

import io
import struct
import zlib
from datetime import timedelta

import httpx
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from generations.accounts import ensure_personal_team
from generations.models import Generation, Status


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


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


@pytest.fixture
def app_media(media_root):
    """The default storage on local files in a temporary directory (see tests/background.py)."""
    return media_root


@pytest.fixture
def owner_team(owner):
    return ensure_personal_team(owner)


@pytest.fixture
def outsider_team(outsider):
    return ensure_personal_team(outsider)


@pytest.fixture
def owner_client(owner, owner_team):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_client(outsider, outsider_team):
    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture
def add_generation(owner_team, owner, app_media):
    """Build a generation row of the owner's team in any state."""

    def add(*, team=None, user=None, status=Status.PENDING, video=None, poster=None, **fields):
        fields.setdefault("prompt", "A paper boat drifting down a rainy street")
        generation = Generation(
            team=team or owner_team, created_by=user or owner, status=status, **fields
        )
        if video is not None:
            generation.video.save("video.mp4", ContentFile(video), save=False)
        if poster is not None:
            generation.poster.save("poster.jpg", ContentFile(poster), save=False)
        generation.save()
        return generation

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
def fast_passwords(settings):
    """A cheap hasher: these tests make users, they do not test hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
