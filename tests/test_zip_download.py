"""Bulk download: ``POST /gallery/download`` streams one ZIP of the selected videos.

The videos are real files in real storage (a temporary directory, or SeaweedFS over S3),
read back through the view; the archives are checked with Python's ``zipfile`` and with the
``unzip`` command-line tool.
"""

import hashlib
import io
import json
import subprocess
import tracemalloc
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from storages.backends.s3 import S3Storage

from generations import downloads
from generations.models import Generation, Status, generation_key
from teams.models import Membership, Team
from tests.test_settings import start_django

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
URL = "/gallery/download"
ENGLISH = {"headers": {"accept-language": "en"}}
DAY = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


@pytest.fixture
def stored_video(add_generation):
    """A ready generation whose video (``content``) and provenance are in storage; each
    made a minute after the one before, on the same day."""
    made = []

    def make(content: bytes, *, prompt="A paper boat", provenance=True, **fields) -> Generation:
        fields.setdefault("created_at", DAY + timedelta(minutes=len(made)))
        fields.setdefault("status", Status.READY)
        generation = add_generation(
            prompt=prompt,
            video=content,
            video_sha256=hashlib.sha256(content).hexdigest(),
            video_size=len(content),
            **fields,
        )
        if provenance:
            key = generation_key(generation, "provenance-test.json")
            document = json.dumps({"generation": str(generation.pk), "prompt": prompt})
            default_storage.save(key, ContentFile(document.encode()))
            Generation.objects.filter(pk=generation.pk).update(provenance=key)
            generation.refresh_from_db()
        made.append(generation)
        return generation

    return make


def download(client: Client, *generations, ids=None):
    ids = ids if ids is not None else [str(g.pk) for g in generations]
    return client.post(URL, {"ids": ids}, **ENGLISH)


def body_of(response) -> bytes:
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    return body


def assert_refused(response, status, *phrases):
    assert response.status_code == status
    assert not response.streaming
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "Nothing was downloaded" in text
    for phrase in phrases:
        assert phrase in text


# --- What the archive holds ----------------------------------------------------------------


@pytest.fixture
def three_videos(stored_video, mp4_bytes):
    return [
        stored_video(mp4_bytes, prompt="con mèo nhảy múa"),
        stored_video(b"second video " * 1000, prompt="A red kite / over the sea"),
        stored_video(b"third video " * 1000, prompt="A RED KITE / over the sea"),
    ]


def test_the_zip_holds_each_video_and_its_provenance_under_readable_unique_names(
    owner_client, three_videos
):
    response = download(owner_client, *three_videos)
    body = body_of(response)

    assert response["Content-Type"] == "application/zip"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == (
        f'attachment; filename="rivyaweb-{today}-3-videos.zip"'
    )
    assert response["Cache-Control"] == "private, no-store"
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        # The names a video gets when downloaded on its own; repeats are numbered.
        assert archive.namelist() == [
            "2026-11-29-con-mèo-nhảy-múa.mp4",
            "2026-11-29-con-mèo-nhảy-múa.json",
            "2026-11-29-a-red-kite-over-the-sea.mp4",
            "2026-11-29-a-red-kite-over-the-sea.json",
            "2026-11-29-a-red-kite-over-the-sea (2).mp4",
            "2026-11-29-a-red-kite-over-the-sea (2).json",
        ]
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
        # The Vietnamese name is flagged as UTF-8, so every unzip tool reads it right.
        assert archive.infolist()[0].flag_bits & 0x800
        for generation, video in zip(three_videos, archive.namelist()[::2], strict=True):
            digest = hashlib.sha256(archive.read(video)).hexdigest()
            assert digest == generation.video_sha256
            provenance = json.loads(archive.read(video.removesuffix(".mp4") + ".json"))
            assert provenance == {"generation": str(generation.pk), "prompt": generation.prompt}


def test_unzip_accepts_the_archive(owner_client, three_videos, tmp_path):
    path = tmp_path / "videos.zip"
    path.write_bytes(body_of(download(owner_client, *three_videos)))

    tested = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True)

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "No errors detected" in tested.stdout
    extracted = tmp_path / "out"
    subprocess.run(["unzip", "-q", str(path), "-d", str(extracted)], check=True)
    video = extracted / "2026-11-29-con-mèo-nhảy-múa.mp4"
    assert hashlib.sha256(video.read_bytes()).hexdigest() == three_videos[0].video_sha256


def test_a_selection_of_one_is_named_in_the_singular(owner_client, stored_video):
    response = download(owner_client, stored_video(b"one"))
    body_of(response)
    assert response["Content-Disposition"].endswith('-1-video.zip"')


def test_a_repeated_id_gives_one_entry(owner_client, stored_video):
    generation = stored_video(b"once")
    body = body_of(download(owner_client, ids=[str(generation.pk)] * 3))
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert len(archive.namelist()) == 2


def test_a_missing_provenance_is_rebuilt_from_the_row(owner_client, stored_video):
    kept_none = stored_video(b"no record kept", provenance=False, final_credits=7)
    lost = stored_video(b"record lost", prompt="Lost record")
    default_storage.delete(lost.provenance)

    body = body_of(download(owner_client, kept_none, lost))

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        for generation in (kept_none, lost):
            name = downloads.entry_name(generation) + ".json"
            record = json.loads(archive.read(name))
            assert record["generation"] == str(generation.pk)
            assert record["prompt"] == generation.prompt
            assert record["video"]["sha256"] == generation.video_sha256
            assert record["rebuilt"] is True
        assert json.loads(archive.read("2026-11-29-a-paper-boat.json"))["final_credits"] == 7


def test_the_stored_size_wins_over_a_stale_row(owner_client, stored_video):
    generation = stored_video(b"x" * 5000)
    Generation.objects.filter(pk=generation.pk).update(video_size=4000)

    body = body_of(download(owner_client, generation))

    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        assert archive.getinfo("2026-11-29-a-paper-boat.mp4").file_size == 5000


def test_a_member_downloads_their_team_s_videos(stored_video, team, member):
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(member)
    Membership.objects.filter(user=member, team=team).update(chosen_at=timezone.now())
    generation = stored_video(b"team video")

    body_of(download(client, generation))


# --- Refusals: nothing is streamed ---------------------------------------------------------


def test_an_empty_selection_is_refused(owner_client):
    assert_refused(download(owner_client, ids=[]), 400, "No video was selected")


def test_a_selection_over_the_cap_is_refused_whole(owner_client, stored_video, settings):
    settings.GALLERY_ZIP_MAX_ITEMS = 2
    videos = [stored_video(f"video {i}".encode()) for i in range(3)]
    assert_refused(download(owner_client, *videos), 400, "You selected 3 videos", "at most 2")
    body_of(download(owner_client, *videos[:2]))


def test_another_team_s_video_is_refused(owner_client, stored_video, outsider, outsider_team):
    mine = stored_video(b"mine")
    theirs = stored_video(b"theirs", team=outsider_team, user=outsider)
    assert_refused(
        download(owner_client, mine, theirs),
        400,
        "1 of the 2 selected videos cannot be downloaded",
    )


def test_a_video_of_the_user_s_other_team_is_refused(owner_client, owner, stored_video):
    other = Team.objects.create(name="Studio")
    Membership.objects.create(team=other, user=owner, role=Membership.Role.OWNER)
    elsewhere = stored_video(b"elsewhere", team=other)
    # The gallery shows the current team only, and so does its download.
    assert_refused(download(owner_client, elsewhere), 400, "1 of the 1 selected videos")


@pytest.mark.parametrize("status", [Status.PROCESSING, Status.SAVING, Status.FAILED])
def test_a_video_that_is_not_ready_is_refused(owner_client, stored_video, status):
    generation = stored_video(b"not yet", status=status)
    assert_refused(download(owner_client, generation), 400, "cannot be downloaded")


def test_a_deleted_video_is_refused(owner_client, stored_video, owner):
    kept, deleted = stored_video(b"kept"), stored_video(b"deleted")
    Generation.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now(), deleted_by=owner)
    assert_refused(download(owner_client, kept, deleted), 400, "1 of the 2 selected videos")


@pytest.mark.parametrize("bad", ["not-a-uuid", "1", "' OR 1=1 --", "x" * 5000])
def test_a_malformed_id_is_refused(owner_client, stored_video, bad):
    generation = stored_video(b"fine")
    assert_refused(
        download(owner_client, ids=[str(generation.pk), bad]), 400, "1 of the 2 selected"
    )


def test_a_video_missing_from_storage_refuses_before_any_byte(owner_client, stored_video):
    generation = stored_video(b"gone")
    default_storage.delete(generation.video.name)
    assert_refused(download(owner_client, generation), 503, "cannot be read from storage")


def test_a_file_that_changes_while_streaming_breaks_the_download_off(
    owner_client, stored_video, media_root
):
    generation = stored_video(b"v" * 5000)
    response = download(owner_client, generation)
    assert response.status_code == 200
    # Sizes were taken before the headers; the file then shrinks under the download.
    (media_root / generation.video.name).write_bytes(b"v" * 10)

    # The server stops short of Content-Length (the browser reports a failed download)
    # rather than sending an archive that lies about its content.
    with pytest.raises(RuntimeError, match="did not match"):
        b"".join(response.streaming_content)


def test_anonymous_visitors_are_sent_to_log_in(client, stored_video):
    response = download(client, stored_video(b"private"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_post_is_answered(owner_client):
    assert owner_client.get(URL).status_code == 405
    assert owner_client.head(URL).status_code == 405


def test_a_post_without_the_csrf_token_is_refused(owner, stored_video):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    assert download(client, stored_video(b"guarded")).status_code == 403


def test_the_cap_must_be_sensible():
    result = start_django(GALLERY_ZIP_MAX_ITEMS="0")
    assert result.returncode != 0
    assert "GALLERY_ZIP_MAX_ITEMS must be a whole number from 1 to 500" in result.stderr


# --- Names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "name"),
    [
        ("con mèo nhảy múa", "2026-11-29-con-mèo-nhảy-múa"),
        ("../../etc/passwd", "2026-11-29-etcpasswd"),
        ("/absolute", "2026-11-29-absolute"),
        ("C:\\Windows\\win.ini", "2026-11-29-cwindowswinini"),
        ('a:b*c?d"e<f>g|h', "2026-11-29-abcdefgh"),
        ("two\nlines\tand\x07bell", "2026-11-29-two-lines-andbell"),
        # A right-to-left override would show "evil\u202egpj.exe" as "evilexe.jpg".
        ("evil\u202egpj.exe", "2026-11-29-evilgpjexe"),
        ("...", "2026-11-29-video"),
        ("nhảy " * 100, "2026-11-29" + "-nhảy" * 12),
    ],
)
def test_entry_names_cannot_escape_or_hide(stored_video, prompt, name):
    generation = stored_video(b"x", prompt=prompt)
    assert downloads.entry_name(generation) == name


def test_unique_names_number_repeats_ignoring_case():
    names = downloads.UniqueNames()
    taken = [names.take(n) for n in ["a", "A", "a", "a (2)", "b"]]
    assert taken == ["a", "A (2)", "a (3)", "a (2) (2)", "b"]


# --- Streaming, not buffering --------------------------------------------------------------


def test_streaming_fifty_megabytes_holds_about_one_chunk_in_memory(owner_client, stored_video):
    videos = [stored_video(bytes([i]) * 10 * MiB, prompt=f"Clip {i}") for i in range(5)]
    response = download(owner_client, *videos)
    assert response.status_code == 200

    tracemalloc.start()
    try:
        sent = sum(len(chunk) for chunk in response.streaming_content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert sent == int(response["Content-Length"]) > 50 * MiB
    assert peak < 4 * MiB, f"peak {peak / MiB:.1f} MiB while streaming"


def test_an_archive_past_4_gib_uses_zip64(owner_client, stored_video, tmp_path, media_root):
    """A sparse 4 GiB video: zip64 sizes and offsets, without 4 GiB on disk."""
    generation = stored_video(b"small for now")
    size = 4 * 1024 * MiB + 123
    with open(media_root / generation.video.name, "r+b") as video:
        video.truncate(size)
    response = download(owner_client, generation)
    assert response.status_code == 200

    path = tmp_path / "big.zip"
    sent = 0
    zero = bytes(downloads.CHUNK_SIZE)
    with path.open("wb") as out:
        for chunk in response.streaming_content:
            # Runs of zeros become holes: the copy takes no disk space either.
            if chunk == zero[: len(chunk)]:
                out.seek(len(chunk), io.SEEK_CUR)
            else:
                out.write(chunk)
            sent += len(chunk)
        out.truncate()
    assert sent == int(response["Content-Length"]) > size

    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("2026-11-29-a-paper-boat.mp4")
        assert info.file_size == size
        json_info = archive.getinfo("2026-11-29-a-paper-boat.json")
        assert json_info.header_offset > 0xFFFFFFFF
        assert json.loads(archive.read(json_info))["generation"] == str(generation.pk)
    # unzip reads the zip64 records too (checking the CRC of 4 GiB would take a minute).
    listed = subprocess.run(["unzip", "-l", str(path)], capture_output=True, text=True)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"{size}  " in listed.stdout
    # Reading the holes filled 4 GiB of page cache; removing the files frees it at once.
    path.unlink()
    (media_root / generation.video.name).unlink()


# --- S3 ------------------------------------------------------------------------------------


@pytest.fixture
def s3_storage(settings, s3_bucket):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    assert isinstance(storages["default"], S3Storage)
    return s3_bucket


@pytest.mark.s3
def test_the_zip_streams_from_s3(owner_client, stored_video, s3_storage, mp4_bytes, tmp_path):
    videos = [
        stored_video(mp4_bytes, prompt="con mèo nhảy múa"),
        stored_video(bytes(range(256)) * 80_000, prompt="Twenty megabytes"),
    ]
    response = download(owner_client, *videos)
    assert response.status_code == 200

    path = tmp_path / "s3.zip"
    tracemalloc.start()
    try:
        with path.open("wb") as out:
            for chunk in response.streaming_content:
                out.write(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # django-storages' own S3 file would have held the whole 20 MB object.
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB while streaming"
    assert int(response["Content-Length"]) == path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        for generation in videos:
            name = downloads.entry_name(generation)
            digest = hashlib.sha256(archive.read(name + ".mp4")).hexdigest()
            assert digest == generation.video_sha256
            assert json.loads(archive.read(name + ".json"))["generation"] == str(generation.pk)
    assert subprocess.run(["unzip", "-tq", str(path)], capture_output=True).returncode == 0
