"""The gallery's media made when a video is saved: the poster frame a little into the clip,
the small poster, the placeholder colour and the muted preview clip; a preview that cannot
be made never stops a video from being saved; ``make_previews`` fills them in later, on
local storage and on S3.
"""

import io
import logging
import re
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

import av
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageStat

from generations import previews, tasks, videos
from generations.models import Generation, Status
from tests.fixtures import run_until
from tests.http_server import FakeServer

ORANGE = (230, 120, 30)
HEX = re.compile(r"^#[0-9a-f]{6}$")


# --- Builders --------------------------------------------------------------------------------


def clip_opening_on_black(
    path: Path, *, seconds: float = 4.0, black: float = 0.5, size=(640, 360)
) -> Path:
    """An MP4 that is black for its first ``black`` seconds, then orange, 24 fps."""
    fps = 24
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(int(seconds * fps)):
            colour = (0, 0, 0) if index / fps < black else ORANGE
            image = Image.new("RGB", size, colour)
            frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


def jpeg_bytes(size=(1280, 720), colour=ORANGE) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def brightness(image: Image.Image) -> float:
    return sum(ImageStat.Stat(image.convert("RGB")).mean) / 3


def clip_facts(data: bytes):
    """Width, height, duration, video frames and audio streams of an MP4 given as bytes."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        duration = float(stream.duration * stream.time_base)
        return {
            "size": (stream.codec_context.width, stream.codec_context.height),
            "duration": duration,
            "frames": frames,
            "first": frames[0].to_image(),
            "audio": len(container.streams.audio),
        }


def stored(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class FailingStorage(FileSystemStorage):
    """Local storage that breaks while writing an object whose key contains ``fragment``,
    after part of it is on disk."""

    def __init__(self, fragment="", **kwargs):
        super().__init__(**kwargs)
        self.fragment = fragment

    def _save(self, name, content):
        if self.fragment and self.fragment in name:
            with open(self.path(name), "xb") as fh:
                fh.write(b"\x00\x00\x00\x18ftyp")
            raise OSError(28, "No space left on device")
        return super()._save(name, content)


# --- Sizes and moments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "at"), [(5.0, 1.0), (10.0, 1.0), (2.0, 0.5), (0.2, 0.05), (None, 1.0)]
)
def test_the_poster_is_taken_a_little_into_the_clip(duration, at):
    assert previews.poster_time(duration) == pytest.approx(at)


@pytest.mark.parametrize(
    ("duration", "start"), [(5.0, 1.0), (10.0, 1.0), (3.0, 0.5), (2.0, 0.0), (None, 1.0)]
)
def test_the_preview_starts_at_the_poster_unless_the_clip_would_end_first(duration, start):
    assert previews.preview_start(duration) == pytest.approx(start)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1280, 720), (360, 202)),
        ((720, 1280), (202, 360)),
        ((720, 720), (360, 360)),
        ((1920, 1080), (360, 202)),
        ((200, 100), (200, 100)),  # never enlarged
        ((201, 101), (200, 100)),  # always even
    ],
)
def test_the_preview_is_small_with_even_dimensions(size, expected):
    assert previews.preview_size(*size) == expected


@pytest.mark.parametrize(
    ("size", "expected"),
    [((1280, 720), (480, 270)), ((720, 1280), (480, 853)), ((320, 240), (320, 240))],
)
def test_the_small_poster_is_480_pixels_wide_at_most(size, expected):
    small = Image.open(io.BytesIO(previews.small_poster(jpeg_bytes(size))))
    assert (small.format, small.size) == ("JPEG", expected)


def test_the_placeholder_is_the_dominant_colour():
    image = Image.new("RGB", (400, 300), ORANGE)
    image.paste((10, 10, 10), (0, 0, 100, 100))  # a dark corner does not muddy it
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)

    colour = previews.placeholder(buffer.getvalue())

    assert HEX.fullmatch(colour)
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    assert max(abs(red - 230), abs(green - 120), abs(blue - 30)) < 12


# --- From a real clip ------------------------------------------------------------------------


def test_a_clip_opening_on_black_gets_a_poster_and_preview_in_colour(tmp_path):
    path = clip_opening_on_black(tmp_path / "black-open.mp4")
    with av.open(str(path)) as container:
        first = next(container.decode(video=0)).to_image()
    assert brightness(first) < 5  # the clip really opens on black

    facts = videos.probe(path)
    poster = Image.open(io.BytesIO(facts.poster))
    clip = clip_facts(previews.make_preview(path, duration=facts.duration))

    assert brightness(poster) > 80
    assert brightness(clip["first"]) > 80  # the preview starts where the poster was taken
    assert HEX.fullmatch(previews.placeholder(facts.poster))
    assert previews.placeholder(facts.poster) != "#000000"
    assert clip["size"] == (360, 202)
    assert clip["duration"] == pytest.approx(2.5, abs=0.05)
    assert len(clip["frames"]) == 60  # 2.5 s at the source's 24 fps
    assert clip["audio"] == 0


def test_a_clip_shorter_than_the_posters_moment_still_gets_a_poster_and_preview(tmp_path):
    path = clip_opening_on_black(tmp_path / "short.mp4", seconds=0.3, black=0.0)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        # Duration unknown: the poster's moment (1 s) lies past the end of the clip.
        frame = previews.poster_frame(container, stream, None)
    assert frame is not None and brightness(frame.to_image()) > 80

    clip = clip_facts(previews.make_preview(path, duration=None))
    assert 1 <= len(clip["frames"]) <= 8 and clip["audio"] == 0


def test_a_faster_source_is_previewed_at_thirty_frames_a_second(tmp_path):
    path = tmp_path / "fast.mp4"
    with av.open(str(path), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=60)
        stream.width, stream.height = 320, 180
        stream.pix_fmt = "yuv420p"
        for index in range(4 * 60):
            frame = av.VideoFrame.from_image(Image.new("RGB", (320, 180), ORANGE))
            frame = frame.reformat(format="yuv420p")
            frame.pts = index
            output.mux(stream.encode(frame))
        output.mux(stream.encode())

    clip = clip_facts(previews.make_preview(path, duration=4.0))

    assert len(clip["frames"]) == 75
    with av.open(io.BytesIO(previews.make_preview(path, duration=4.0))) as container:
        assert container.streams.video[0].average_rate == Fraction(30)


def test_a_file_that_is_not_a_video_gives_a_preview_error(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 4000)
    with pytest.raises(previews.PreviewError):
        previews.make_preview(path, duration=5.0)


# --- When a video is saved -------------------------------------------------------------------


@pytest.fixture
def saving(add_generation):
    return add_generation(status=Status.SAVING, rivya_task_id="task_" + "P" * 24)


@pytest.fixture
def served(settings):
    """The suite's fake server standing in for the API host: serves a given MP4."""
    with FakeServer() as server:
        settings.RIVYA_API_BASE = f"{server.url}/api/v1"
        settings.RIVYA_MEDIA_HOSTS = []

        def serve(body: bytes) -> str:
            headers = {"Content-Type": "video/mp4", "Content-Length": str(len(body))}
            return server.on("/result.mp4", (200, headers, body))

        yield serve


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
def test_a_mirrored_sandbox_video_gets_its_gallery_media(
    add_generation, media_root, owner_client, outsider_client
):
    generation = add_generation(duration=5, sound=True, aspect_ratio="16:9")
    tasks.submit.enqueue(str(generation.pk))

    generation = run_until(generation, {Status.READY, Status.FAILED, Status.REJECTED})

    assert generation.status == Status.READY, generation.error_message
    copy_id = re.fullmatch(r".*/video-(\w+)\.mp4", generation.video.name).group(1)
    prefix = f"teams/{generation.team_id}/generations/{generation.pk}/"
    assert generation.poster_small.name == f"{prefix}poster-small-{copy_id}.jpg"
    assert generation.preview.name == f"{prefix}preview-{copy_id}.mp4"
    assert HEX.fullmatch(generation.placeholder)

    small = Image.open(media_root / generation.poster_small.name)
    poster = Image.open(media_root / generation.poster.name)
    assert (small.format, small.size) == ("JPEG", (480, 270))
    assert poster.size == (generation.video_width, generation.video_height) == (1280, 720)

    clip_bytes = (media_root / generation.preview.name).read_bytes()
    clip = clip_facts(clip_bytes)
    with av.open(str(media_root / generation.video.name)) as original:
        assert len(original.streams.audio) == 1  # the video has sound...
    assert clip["audio"] == 0  # ...the preview has none
    assert 2.0 <= clip["duration"] <= 3.0
    assert clip["size"] == (360, 202)
    assert len(clip_bytes) * 10 < generation.video_size
    assert clip_bytes[4:8] == b"ftyp" and clip_bytes.index(b"moov") < 64  # starts at once

    # Served to the team through the access helper, to nobody else.
    url = reverse("generation_poster", args=[generation.pk])
    response = owner_client.get(url, {"size": "small"})
    small_bytes = (media_root / generation.poster_small.name).read_bytes()
    assert b"".join(response.streaming_content) == small_bytes
    preview = owner_client.get(reverse("generation_preview", args=[generation.pk]))
    assert preview["Content-Type"] == "video/mp4"
    assert b"".join(preview.streaming_content) == clip_bytes
    assert (
        outsider_client.get(reverse("generation_preview", args=[generation.pk])).status_code == 404
    )
    assert outsider_client.get(url, {"size": "small"}).status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("sandbox")
def test_a_preview_that_cannot_be_stored_leaves_the_video_ready_without_it(
    add_generation, media_root, settings, caplog
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "tests.test_previews.FailingStorage",
            "OPTIONS": {"location": media_root, "fragment": "preview-"},
        },
    }
    generation = add_generation(duration=5)
    tasks.submit.enqueue(str(generation.pk))

    with caplog.at_level(logging.WARNING, logger="generations.videos"):
        generation = run_until(generation, {Status.READY, Status.ATTENTION, Status.FAILED})

    assert generation.status == Status.READY, generation.error_message
    assert generation.video and generation.poster and generation.poster_small
    assert HEX.fullmatch(generation.placeholder)
    assert generation.preview.name == ""
    assert (media_root / generation.video.name).stat().st_size == generation.video_size
    assert not any("preview-" in key for key in stored(media_root))  # the partial is gone
    [line] = [r.getMessage() for r in caplog.records if "no preview clip" in r.getMessage()]
    assert str(generation.pk) in line
    assert settings.RIVYA_API_KEY not in line and "http" not in line


@pytest.mark.django_db
def test_an_encoder_that_refuses_leaves_the_copy_whole_without_a_preview(
    served, media_root, saving, mp4_bytes, monkeypatch, caplog
):
    # A real failure of the real encoder: libx264 refuses to open with this profile.
    monkeypatch.setattr(previews, "PREVIEW_OPTIONS", {"profile": "no-such-profile"})

    with caplog.at_level(logging.WARNING, logger="generations.videos"):
        copied = videos.copy_result(saving, served(mp4_bytes), copy_id="noclip")

    assert copied.media.preview == ""
    assert copied.media.poster_small and HEX.fullmatch(copied.media.placeholder)
    assert stored(media_root) == set(copied.keys())
    assert (media_root / copied.video).read_bytes() == mp4_bytes
    assert any("no preview clip" in r.getMessage() for r in caplog.records)

    Generation.objects.filter(pk=saving.pk).update(lease_owner="me")
    assert saving.copied(copied, "me")
    saving.refresh_from_db()
    assert (saving.status, saving.preview.name) == (Status.READY, "")
    assert saving.poster_small.name == copied.media.poster_small


@pytest.mark.django_db
def test_a_copy_that_loses_the_race_discards_its_gallery_media_too(
    served, media_root, saving, mp4_bytes
):
    url = served(mp4_bytes)
    kept = videos.copy_result(saving, url, copy_id="kept")
    lost = videos.copy_result(saving, url, copy_id="lost")

    videos.discard(lost)

    assert stored(media_root) == set(kept.keys())
    assert {kept.media.poster_small, kept.media.preview} <= stored(media_root)


# --- make_previews ---------------------------------------------------------------------------


@pytest.fixture
def saved_before(add_generation, mp4_bytes):
    """A ready video saved before the gallery media existed (the old key names)."""

    def add(minutes_ago=0, **fields):
        facts_poster = jpeg_bytes((1280, 720))
        generation = add_generation(
            status=Status.READY,
            video=mp4_bytes,
            poster=facts_poster,
            video_duration=5.0,
            video_width=1280,
            video_height=720,
            video_size=len(mp4_bytes),
            **fields,
        )
        Generation.objects.filter(pk=generation.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
        generation.refresh_from_db()
        return generation

    return add


def make_previews(*args):
    out = io.StringIO()
    call_command("make_previews", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_make_previews_fills_what_older_videos_lack_and_is_idempotent(
    saved_before, media_root, add_generation
):
    older = saved_before(minutes_ago=10)
    newer = saved_before(minutes_ago=1)
    deleted = saved_before(deleted_at=timezone.now())
    failed = add_generation(status=Status.FAILED)
    before = stored(media_root)

    output = make_previews()

    assert "made for 2 video(s)" in output
    for generation in (older, newer):
        generation.refresh_from_db()
        prefix = f"teams/{generation.team_id}/generations/{generation.pk}/"
        assert re.fullmatch(
            re.escape(prefix) + r"poster-small-\w+\.jpg", generation.poster_small.name
        )
        assert re.fullmatch(re.escape(prefix) + r"preview-\w+\.mp4", generation.preview.name)
        assert generation.placeholder == previews.placeholder(jpeg_bytes())
        small = Image.open(media_root / generation.poster_small.name)
        assert small.size == (480, 270)
        clip = clip_facts((media_root / generation.preview.name).read_bytes())
        assert clip["audio"] == 0 and 2.0 <= clip["duration"] <= 3.0
        assert generation.video.name.endswith("/video.mp4")  # the video itself is untouched
    for untouched in (deleted, failed):
        untouched.refresh_from_db()
        assert not untouched.preview and not untouched.poster_small and not untouched.placeholder
    made = stored(media_root) - before
    assert len(made) == 4

    assert "made for 0 video(s)" in make_previews()
    assert stored(media_root) - before == made  # nothing more, nothing replaced


@pytest.mark.django_db
def test_make_previews_takes_the_newest_first_and_only_the_team_asked(
    saved_before, add_generation, outsider, outsider_team, mp4_bytes
):
    older = saved_before(minutes_ago=10)
    newer = saved_before(minutes_ago=1)
    theirs = add_generation(
        team=outsider_team,
        user=outsider,
        status=Status.READY,
        video=mp4_bytes,
        poster=jpeg_bytes(),
        video_duration=5.0,
    )

    make_previews("--limit", "1", "--team", str(older.team_id))

    older.refresh_from_db()
    newer.refresh_from_db()
    theirs.refresh_from_db()
    assert newer.preview and not older.preview and not theirs.preview

    make_previews("--team", str(outsider_team.pk))
    theirs.refresh_from_db()
    older.refresh_from_db()
    assert theirs.preview and not older.preview


@pytest.mark.django_db
def test_make_previews_fills_only_what_is_missing(saved_before, media_root):
    generation = saved_before(placeholder="#123456")
    generation.preview.save("preview-old.mp4", ContentFile(b"kept as it is"), save=True)

    make_previews()

    generation.refresh_from_db()
    assert generation.poster_small
    assert generation.placeholder == "#123456"
    assert (media_root / generation.preview.name).read_bytes() == b"kept as it is"


@pytest.mark.django_db
def test_a_run_that_finds_the_row_changed_meanwhile_deletes_what_it_made(saved_before, media_root):
    generation = saved_before()
    stale = Generation.objects.get(pk=generation.pk)
    assert videos.fill_gallery_media(generation) == "made"  # another run got there first
    before = stored(media_root)

    assert videos.fill_gallery_media(stale) == "changed"

    assert stored(media_root) == before
    stale.refresh_from_db()
    assert stale.preview.name == Generation.objects.get(pk=generation.pk).preview.name

    # Deleted while a run was making its media: nothing is recorded or left behind.
    other = saved_before()
    Generation.objects.filter(pk=other.pk).update(deleted_at=timezone.now())
    assert videos.fill_gallery_media(other) == "changed"
    assert stored(media_root) == before | {other.video.name, other.poster.name}


@pytest.mark.django_db
def test_a_video_that_cannot_be_read_is_reported_and_left_for_later(
    saved_before, media_root, caplog
):
    generation = saved_before()
    (media_root / generation.video.name).unlink()
    (media_root / generation.poster.name).write_bytes(b"not a picture")

    with caplog.at_level(logging.WARNING, logger="generations.videos"):
        output = make_previews()

    assert "made for 0 video(s); 1 failed" in output
    generation.refresh_from_db()
    assert not generation.preview and not generation.poster_small and not generation.placeholder
    assert any(str(generation.pk) in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "0"], "--limit"),
        (["--limit", "many"], "--limit"),
        (["--team", "-3"], "--team"),
        (["--team", "99999"], "There is no team 99999"),
    ],
)
def test_make_previews_refuses_bad_arguments_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        make_previews(*args)


@pytest.mark.s3
@pytest.mark.django_db
def test_gallery_media_on_s3_when_saved_and_when_filled_later(
    served, settings, s3_bucket, saving, saved_before, mp4_bytes
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_bucket.storage_options(),
        },
    }
    client = s3_bucket.server.client()

    def keys():
        listing = client.list_objects_v2(Bucket=s3_bucket.name)
        return {obj["Key"] for obj in listing.get("Contents", [])}

    def read(key):
        return client.get_object(Bucket=s3_bucket.name, Key=key)["Body"].read()

    copied = videos.copy_result(saving, served(mp4_bytes), copy_id="ons3")
    assert keys() == set(copied.keys())
    assert clip_facts(read(copied.media.preview))["audio"] == 0
    assert Image.open(io.BytesIO(read(copied.media.poster_small))).width == 480

    older = saved_before()  # stored in the bucket under the old names
    assert older.video.name in keys()

    assert "made for 1 video(s)" in make_previews()

    older.refresh_from_db()
    clip = clip_facts(read(older.preview.name))
    assert 2.0 <= clip["duration"] <= 3.0 and clip["audio"] == 0
    assert Image.open(io.BytesIO(read(older.poster_small.name))).size == (480, 270)
    assert HEX.fullmatch(older.placeholder)
    assert default_storage.exists(older.preview.name)
    assert "made for 0 video(s)" in make_previews()
