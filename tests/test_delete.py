"""Soft delete: who may, which videos, hidden everywhere, Undo within the window, and the
housekeeping that removes the files after the grace period but keeps the ledger."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from credits import ledger
from credits.models import CreditEntry
from generations import actions
from generations.models import (
    Favourite,
    Generation,
    ShareLink,
    Status,
    generation_key,
)

pytestmark = pytest.mark.django_db


def url(name, generation):
    return reverse(name, args=[generation.pk])


@pytest.fixture
def video(roles, add_ready_video):
    return add_ready_video(user=roles.user("creator"), prompt="A fox in the snow")


def deleted(generation) -> bool:
    generation.refresh_from_db()
    return generation.deleted_at is not None


# --- Who may delete -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["creator", "owner", "admin"])
def test_the_creator_an_owner_or_an_admin_deletes(roles, video, role):
    response = roles.client(role).post(url("generation_delete", video))
    assert response.status_code == 302
    assert response["Location"] == url("generation_detail", video)
    assert deleted(video)
    assert video.deleted_by == roles.user(role)
    page = roles.client(role).get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "The video was deleted." in html
    assert url("generation_restore", video) in html


def test_a_member_may_not_delete_anothers_video(roles, video):
    assert roles.client("member").post(url("generation_delete", video)).status_code == 403
    assert not deleted(video)


def test_a_member_deletes_their_own(roles, add_ready_video):
    own = add_ready_video(user=roles.user("member"))
    assert roles.client("member").post(url("generation_delete", own)).status_code == 302
    assert deleted(own)


def test_outsiders_get_404_and_anonymous_the_login_page(roles, video):
    assert roles.client("outsider").post(url("generation_delete", video)).status_code == 404
    response = roles.client("anonymous").post(url("generation_delete", video))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not deleted(video)


def test_delete_answers_only_post(roles, video):
    assert roles.client("owner").get(url("generation_delete", video)).status_code == 405
    assert not deleted(video)


@pytest.mark.parametrize(
    "status",
    [
        Status.PENDING,
        Status.SUBMITTING,
        Status.QUEUED,
        Status.PROCESSING,
        Status.SAVING,
        Status.ATTENTION,
    ],
)
def test_a_video_rivya_may_still_make_is_never_deleted(roles, add_generation, status):
    generation = add_generation(status=status, user=roles.user("creator"))
    response = roles.client("owner").post(url("generation_delete", generation))
    assert response.status_code == 302
    assert not deleted(generation)
    page = roles.client("owner").get(response["Location"]).content.decode()
    assert "Only a finished video can be deleted" in page


@pytest.mark.parametrize("status", [Status.READY, Status.FAILED, Status.REJECTED])
def test_every_finished_video_can_be_deleted(roles, add_generation, status):
    generation = add_generation(status=status, user=roles.user("creator"))
    roles.client("creator").post(url("generation_delete", generation))
    assert deleted(generation)


def test_deleting_twice_changes_nothing(roles, video, time_machine):
    roles.client("creator").post(url("generation_delete", video))
    first = Generation.objects.get(pk=video.pk).deleted_at
    time_machine.move_to(timezone.now() + timedelta(minutes=1))
    response = roles.client("owner").post(url("generation_delete", video))
    assert response.status_code == 404  # already gone for everyone
    assert Generation.objects.get(pk=video.pk).deleted_at == first


# --- Hidden everywhere ----------------------------------------------------------------------


def test_a_deleted_video_is_gone_from_every_page_and_file(roles, video):
    owner = roles.client("owner")
    link, token = ShareLink.make(generation=video, by=roles.user("owner"), days=7, show_prompt=True)
    assert video.prompt in owner.get(reverse("home")).content.decode()
    assert owner.get(reverse("shared_page", args=[token])).status_code == 200

    video.soft_delete(roles.user("owner"))

    assert video.prompt not in owner.get(reverse("home")).content.decode()
    updates = owner.get(reverse("card_updates"), {"since": "0", "ids": str(video.pk)})
    assert str(video.pk) not in updates.content.decode()
    for name in (
        "generation_video",
        "generation_poster",
        "generation_preview",
        "generation_reference",
        "generation_provenance",
    ):
        assert owner.get(url(name, video)).status_code == 404, name
    assert owner.post(url("generation_retry", video)).status_code == 404
    assert owner.post(url("generation_favourite", video), {"favourite": "1"}).status_code == 404
    assert owner.get(f"/?remix={video.pk}").content.decode().count("A fox in the snow") == 0
    for name in ("shared_page", "shared_video", "shared_poster"):
        assert owner.get(reverse(name, args=[token])).status_code == 404, name


def test_the_detail_page_offers_undo_only_to_those_who_may(roles, video):
    video.soft_delete(roles.user("creator"))
    for role in ("creator", "owner", "admin"):
        html = roles.client(role).get(url("generation_detail", video)).content.decode()
        assert url("generation_restore", video) in html, role
    member = roles.client("member").get(url("generation_detail", video))
    assert member.status_code == 200
    assert url("generation_restore", video) not in member.content.decode()
    assert roles.client("outsider").get(url("generation_detail", video)).status_code == 404


# --- Undo -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["creator", "owner", "admin"])
def test_undo_within_the_window_brings_it_back(roles, video, role, time_machine, settings):
    video.soft_delete(roles.user("creator"))
    time_machine.move_to(timezone.now() + settings.UNDO_WINDOW - timedelta(seconds=5))
    response = roles.client(role).post(url("generation_restore", video))
    assert response.status_code == 302
    assert response["Location"] == url("generation_detail", video)
    assert not deleted(video)
    assert video.deleted_by is None
    html = roles.client(role).get(response["Location"]).content.decode()
    assert "The video is back." in html
    assert video.prompt in roles.client("member").get(reverse("home")).content.decode()


def test_after_the_window_undo_is_refused_and_the_video_is_gone(
    roles, video, time_machine, settings
):
    video.soft_delete(roles.user("creator"))
    time_machine.move_to(timezone.now() + settings.UNDO_WINDOW + timedelta(seconds=1))
    assert roles.client("creator").post(url("generation_restore", video)).status_code == 404
    assert deleted(video)
    assert roles.client("creator").get(url("generation_detail", video)).status_code == 404


def test_a_member_may_not_undo_anothers_deletion(roles, video):
    video.soft_delete(roles.user("owner"))
    assert roles.client("member").post(url("generation_restore", video)).status_code == 403
    assert deleted(video)


def test_undo_is_404_for_outsiders_anonymous_and_videos_not_deleted(roles, video):
    assert roles.client("owner").post(url("generation_restore", video)).status_code == 404
    video.soft_delete(roles.user("owner"))
    assert roles.client("outsider").post(url("generation_restore", video)).status_code == 404
    response = roles.client("anonymous").post(url("generation_restore", video))
    assert response["Location"].startswith(reverse("login"))
    assert deleted(video)


def test_undo_goes_back_to_a_safe_next(roles, video):
    video.soft_delete(roles.user("owner"))
    response = roles.client("owner").post(url("generation_restore", video), {"next": "/"})
    assert response["Location"] == "/"


# --- Housekeeping ---------------------------------------------------------------------------


def files_of(generation) -> list[str]:
    return generation.stored_files()


def test_housekeeping_removes_the_files_after_the_grace_period_and_keeps_the_ledger(
    roles, video, time_machine, settings
):
    ledger.record(video, CreditEntry.Kind.RESERVE, -70)
    ledger.record(video, CreditEntry.Kind.SETTLE, 15)
    Favourite.set(roles.user("member"), video, True)
    ShareLink.make(generation=video, by=roles.user("owner"), days=30, show_prompt=False)
    # An older copy's file left in the folder goes too.
    leftover = default_storage.save(generation_key(video, "video-old.mp4"), ContentFile(b"x"))
    keys = files_of(video)
    assert len(keys) == 6
    assert all(default_storage.exists(key) for key in keys)

    video.soft_delete(roles.user("creator"))
    time_machine.move_to(timezone.now() + settings.DELETE_GRACE - timedelta(minutes=1))
    assert actions.purge_deleted() == 0
    assert all(default_storage.exists(key) for key in keys)

    time_machine.move_to(timezone.now() + timedelta(minutes=2))
    call_command("purge_deleted")
    assert not any(default_storage.exists(key) for key in [*keys, leftover])
    video.refresh_from_db()
    assert files_of(video) == []
    assert video.deleted_at is not None
    assert CreditEntry.objects.filter(generation=video).count() == 2
    assert not ShareLink.objects.filter(generation=video).exists()
    assert not Favourite.objects.filter(generation=video).exists()
    # Nothing left to do the second time.
    assert actions.purge_deleted() == 0


def test_housekeeping_leaves_videos_not_deleted_and_restored_ones(
    roles, video, add_ready_video, time_machine, settings
):
    restored = add_ready_video(prompt="Restored")
    restored.soft_delete(roles.user("owner"))
    restored.restore(settings.UNDO_WINDOW)
    time_machine.move_to(timezone.now() + settings.DELETE_GRACE + timedelta(days=1))
    assert actions.purge_deleted() == 0
    for generation in (video, restored):
        assert all(default_storage.exists(key) for key in files_of(generation))


@pytest.mark.django_db(transaction=True)  # the loop closes connections between rounds
def test_the_poller_housekeeping_purges_too(roles, video, settings, monkeypatch):
    from generations import poller

    video.soft_delete(roles.user("owner"))
    long_ago = timezone.now() - settings.DELETE_GRACE - timedelta(hours=1)
    Generation.objects.filter(pk=video.pk).update(deleted_at=long_ago)
    keys = files_of(video)

    def stop(*args, **kwargs):
        import os
        import signal

        os.kill(os.getpid(), signal.SIGTERM)
        return 0

    monkeypatch.setattr(poller, "poll_due", stop)
    call_command("rivya_poller", "--interval", "0.01")
    assert not any(default_storage.exists(key) for key in keys)


@pytest.mark.s3
def test_housekeeping_purges_files_on_s3(settings, s3_bucket, roles, add_ready_video):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    generation = add_ready_video()
    keys = files_of(generation)
    listed = s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)
    assert len(listed["Contents"]) == len(keys)
    generation.soft_delete(roles.user("owner"))
    # Back-dated rather than travelled to: S3 refuses requests signed at a skewed time.
    long_ago = timezone.now() - settings.DELETE_GRACE - timedelta(hours=1)
    Generation.objects.filter(pk=generation.pk).update(deleted_at=long_ago)
    assert actions.purge_deleted() == 1
    listed = s3_bucket.server.client().list_objects_v2(Bucket=s3_bucket.name)
    assert listed.get("Contents", []) == []


def test_settings_refuse_a_grace_shorter_than_the_undo_window(monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    env = {
        "PATH": "/usr/bin:/bin",
        "DELETE_UNDO_SECONDS": "86400",
        "DELETE_GRACE_DAYS": "0",
        "DJANGO_SETTINGS_MODULE": "rivyaweb.settings",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DELETE_GRACE_DAYS" in result.stderr
