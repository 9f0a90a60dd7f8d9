"""``manage.py seed_gallery --user USERNAME --count N``: fill a team's gallery for demos and
benchmarks.

Adds N finished generations to the user's current team in bulk inserts, made by the team's
members over the last weeks, with varied prompts (Vietnamese and English), durations,
aspect ratios, sound and placeholder colours. The media are real but made once: one short
video per aspect ratio, rendered by the sandbox's renderer, with its poster, small poster
and preview clip made as a saved video's are (``generations.previews``), stored under
``teams/<team>/seed/`` and shared by every seeded row (a later run reuses them). Running it
again adds N more.
"""

import hashlib
import random
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from generations import previews, videos
from generations.models import AspectRatio, Generation, Status
from teams.access import ensure_personal_team
from teams.models import Membership, Team

BATCH = 1000
MAX_COUNT = 1_000_000

# Prompt parts by language: subject, action, place, style (a style may be empty).
PROMPT_PARTS = {
    "vi": (
        [
            "Một con mèo cam",
            "Chiếc thuyền giấy",
            "Cô bé đội nón lá",
            "Đàn cò trắng",
            "Con rồng bằng đèn lồng",
            "Ông lão bán kem",
        ],
        ["bay chậm qua", "trôi trên", "nhảy múa giữa", "đứng lặng bên", "chạy dọc theo"],
        [
            "ruộng lúa lúc bình minh",
            "phố cổ Hội An dưới mưa",
            "vịnh Hạ Long sương mù",
            "chợ nổi Cái Răng",
            "hàng rào gỗ lúc hoàng hôn",
        ],
        ["máy quay lia chậm", "ánh nắng vàng xuyên qua lá cây", "góc quay từ trên cao", ""],
    ),
    "en": (
        [
            "A red kite",
            "An old lighthouse",
            "A paper boat",
            "A street food vendor",
            "A golden retriever",
            "A hot air balloon",
        ],
        ["drifting across", "spinning slowly above", "running through", "glowing beside"],
        [
            "a neon-lit alley at night",
            "a snowy mountain pass",
            "a calm lake at sunset",
            "the rooftops of an old city",
            "rice fields at dawn",
        ],
        [
            "cinematic, shallow depth of field",
            "handheld camera, soft morning light",
            "drone shot",
            "",
        ],
    ),
}
# Rivya's price per clip, by (duration, sound).
CREDITS = {(5, False): 35, (5, True): 50, (10, False): 70, (10, True): 100}


@dataclass(frozen=True)
class SeedMedia:
    """The stored files every seeded row of one aspect ratio points at."""

    video: str
    poster: str
    poster_small: str
    preview: str
    sha256: str
    size: int
    duration: float
    width: int
    height: int


class Command(BaseCommand):
    help = "Fill a user's current team with N finished generations (demo and benchmark data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username whose current team gets them")
        parser.add_argument("--count", required=True, type=int, help="how many to add")
        parser.add_argument(
            "--days", type=int, default=60, help="spread them over this many days (default 60)"
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed, for repeats")

    def handle(self, *args: Any, **options: Any) -> None:
        count, days = options["count"], options["days"]
        if not 0 < count <= MAX_COUNT:
            raise CommandError(f"--count must be between 1 and {MAX_COUNT:,}.")
        if not 0 < days <= 3650:
            raise CommandError("--days must be between 1 and 3650.")
        try:
            user = get_user_model().objects.get_by_natural_key(options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {options['user']!r}.") from None
        team = ensure_personal_team(user)
        self.stdout.write(f"Making the seed media of {team} (once per team)…")
        media = ensure_media(team)
        rng = random.Random(options["seed"])  # noqa: S311 - demo data, not secrets
        members = list(Membership.objects.filter(team=team).values_list("user_id", flat=True))
        end = timezone.now()
        added = add_rows(
            team, members, count, media, rng, start=end - timedelta(days=days), end=end
        )
        self.stdout.write(self.style.SUCCESS(f"Added {added:,} generations to {team}."))


def add_rows(
    team: Team,
    creators: Sequence[int],
    count: int,
    media: dict[str, SeedMedia],
    rng: random.Random,
    *,
    start: datetime,
    end: datetime,
) -> int:
    """Insert ``count`` ready generations of ``team`` made between ``start`` and ``end``."""
    added = 0
    for batch in _batches(count):
        rows = [_row(team, creators, media, rng, start, end) for _ in range(batch)]
        Generation.objects.bulk_create(rows, batch_size=BATCH)
        added += batch
    return added


def _batches(count: int) -> Iterator[int]:
    while count > 0:
        yield min(BATCH * 10, count)
        count -= BATCH * 10


def _row(
    team: Team,
    creators: Sequence[int],
    media: dict[str, SeedMedia],
    rng: random.Random,
    start: datetime,
    end: datetime,
) -> Generation:
    pk = uuid.uuid4()
    ratio = rng.choice(list(media))
    files = media[ratio]
    duration, sound = rng.choice((5, 10)), rng.random() < 0.4
    created = start + (end - start) * rng.random()
    submitted = created + timedelta(seconds=rng.uniform(1, 5))
    credits = CREDITS[duration, sound]
    return Generation(
        id=pk,
        team=team,
        created_by_id=rng.choice(creators),
        status=Status.READY,
        prompt=prompt(rng),
        duration=duration,
        sound=sound,
        aspect_ratio=ratio,
        idempotency_key=str(uuid.uuid4()),
        rivya_task_id=f"seed_{pk.hex}",
        rivya_status="succeeded",
        reserved_credits=credits,
        final_credits=credits,
        video=files.video,
        poster=files.poster,
        poster_small=files.poster_small,
        preview=files.preview,
        placeholder=placeholder(rng),
        video_sha256=files.sha256,
        video_size=files.size,
        video_duration=files.duration,
        video_width=files.width,
        video_height=files.height,
        created_at=created,
        submitted_at=submitted,
        finished_at=submitted + timedelta(seconds=rng.uniform(40, 300)),
        changed_at=created,
    )


def prompt(rng: random.Random) -> str:
    subjects, actions, places, styles = PROMPT_PARTS[rng.choice(("vi", "vi", "en"))]
    style = rng.choice(styles)
    text = f"{rng.choice(subjects)} {rng.choice(actions)} {rng.choice(places)}"
    return f"{text}, {style}" if style else text


def placeholder(rng: random.Random) -> str:
    """A dusky colour, as dominant colours of real posters tend to be."""
    return "#" + "".join(f"{rng.randint(24, 150):02x}" for _ in range(3))


# --- The shared media ---------------------------------------------------------------------------


def ensure_media(team: Team, storage: Storage | None = None) -> dict[str, SeedMedia]:
    """The team's seed media per aspect ratio, made on the first run and reused after."""
    storage = storage or default_storage
    return {ratio: _media_for(team, ratio, storage) for ratio in AspectRatio.values}


def _media_for(team: Team, ratio: str, storage: Storage) -> SeedMedia:
    prefix = f"teams/{team.pk}/seed/{ratio.replace(':', 'x')}"
    keys = {
        name: f"{prefix}-{name}"
        for name in ("video.mp4", "poster.jpg", "poster-small.jpg", "preview.mp4")
    }
    with tempfile.TemporaryDirectory(prefix="seed-") as tmp:
        path = Path(tmp) / "video.mp4"
        if storage.exists(keys["video.mp4"]):
            with storage.open(keys["video.mp4"], "rb") as stored:
                path.write_bytes(stored.read())
        else:
            from sandbox.render import render_video

            render_video(path, prompt="Rivyaweb", duration=5, aspect_ratio=ratio, sound=False)
            _put(storage, keys["video.mp4"], path.read_bytes())
        probe = videos.probe(path)
        if not storage.exists(keys["preview.mp4"]):
            _put(storage, keys["poster.jpg"], probe.poster)
            _put(storage, keys["poster-small.jpg"], previews.small_poster(probe.poster))
            _put(storage, keys["preview.mp4"], previews.make_preview(path, duration=probe.duration))
        data = path.read_bytes()
    return SeedMedia(
        video=keys["video.mp4"],
        poster=keys["poster.jpg"],
        poster_small=keys["poster-small.jpg"],
        preview=keys["preview.mp4"],
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        duration=probe.duration or 5.0,
        width=probe.width,
        height=probe.height,
    )


def _put(storage: Storage, key: str, data: bytes) -> None:
    if storage.exists(key):
        storage.delete(key)
    saved = storage.save(key, ContentFile(data))
    if saved != key:
        raise CommandError(f"storage saved {key} as {saved}")
