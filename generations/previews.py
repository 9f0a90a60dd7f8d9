"""The pictures the gallery browses with, made from a local copy of a video with PyAV and
Pillow: the poster frame, a small poster, a placeholder colour and a short preview clip.

Sizes, chosen for a responsive grid whose tiles are 160–480 CSS pixels wide:

- **poster**: the video's own size (e.g. 1280×720), JPEG; the large entry of ``srcset``
  (its width is the row's ``video_width``) and the detail page's poster.
- **small poster**: 480 px wide (narrower videos keep their width), JPEG; the small entry
  of ``srcset`` (``480w``), enough for a tile of 240 CSS px at twice the pixel density.
  Fixed width rather than fixed long side, because ``srcset`` picks by width.
- **placeholder**: the poster's dominant colour as ``#rrggbb``, the tile's background
  until the poster loads.
- **preview**: 2.5 s from the poster's moment on, at most 360 px on the long side (even
  dimensions), at most 30 frames per second, H.264 (yuv420p, crf 32, capped at about
  300 kbit/s), no audio, ``moov`` first so it starts playing before it has fully loaded;
  tens of KB.

Generated clips often open on black or fade in, so the poster is taken a little into the
clip: at :data:`POSTER_AT` seconds, but never past :data:`POSTER_SHARE` of a short one,
falling back to the first decodable frame.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
from PIL import Image

POSTER_AT = 1.0  # seconds into the clip...
POSTER_SHARE = 0.25  # ...but at most this share of its duration
POSTER_QUALITY = 85
POSTER_SMALL_WIDTH = 480
POSTER_SMALL_QUALITY = 80
PLACEHOLDER_COLOURS = 5  # palette size the dominant colour is picked from
PREVIEW_SECONDS = 2.5
PREVIEW_LONG_SIDE = 360
PREVIEW_MAX_RATE = 30
PREVIEW_DEFAULT_RATE = 24
PREVIEW_OPTIONS = {
    "crf": "32",
    "preset": "veryfast",
    "profile": "main",
    # A ceiling for busy pictures; flat ones stay well below it.
    "maxrate": "300k",
    "bufsize": "600k",
}


class PreviewError(Exception):
    """The preview clip could not be made."""


# --- The poster ------------------------------------------------------------------------------


def poster_time(duration: float | None) -> float:
    """Seconds into the clip the poster and the preview start at."""
    if duration is None:
        return POSTER_AT
    return max(0.0, min(POSTER_AT, duration * POSTER_SHARE))


def poster_frame(container: Any, stream: Any, duration: float | None) -> Any | None:
    """The frame at :func:`poster_time` (the last one before it if the clip ends sooner),
    or the first decodable frame when nothing can be decoded from there on."""
    at = poster_time(duration)
    frame = None
    if at and stream.time_base is not None:
        container.seek(int(at / stream.time_base), stream=stream)
        for decoded in container.decode(stream):
            frame = decoded
            if decoded.time is None or decoded.time >= at:
                break
        if frame is not None:
            return frame
        container.seek(0, stream=stream)
    for decoded in container.decode(stream):
        return decoded
    return None


def jpeg(image: Image.Image, quality: int = POSTER_QUALITY) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def small_poster(poster: bytes) -> bytes:
    """The poster scaled to :data:`POSTER_SMALL_WIDTH` pixels wide (never enlarged)."""
    with Image.open(io.BytesIO(poster)) as image:
        width, height = image.size
        if width <= POSTER_SMALL_WIDTH:
            return jpeg(image, POSTER_SMALL_QUALITY)
        size = (POSTER_SMALL_WIDTH, max(1, round(height * POSTER_SMALL_WIDTH / width)))
        # JPEG draft mode decodes at a fraction of the size when it can: faster.
        image.draft("RGB", size)
        return jpeg(
            image.convert("RGB").resize(size, Image.Resampling.LANCZOS), POSTER_SMALL_QUALITY
        )


def placeholder(poster: bytes) -> str:
    """The poster's dominant colour as ``#rrggbb``: the most common colour of a small
    palette, so a large flat area wins over a muddy average."""
    with Image.open(io.BytesIO(poster)) as image:
        image.draft("RGB", (64, 64))
        thumb = image.convert("RGB").resize((32, 32), Image.Resampling.BOX)
    palette_image = thumb.quantize(colors=PLACEHOLDER_COLOURS)
    counts = palette_image.getcolors() or [(1, 0)]
    index = cast(int, max(counts)[1])  # a palette image's colours are palette indexes
    palette = palette_image.getpalette() or [0, 0, 0]
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


# --- The preview clip ------------------------------------------------------------------------


def preview_size(width: int, height: int) -> tuple[int, int]:
    """At most :data:`PREVIEW_LONG_SIDE` on the long side, never enlarged, both even
    (yuv420p halves the colour planes)."""
    scale = min(1.0, PREVIEW_LONG_SIDE / max(width, height))
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def preview_start(duration: float | None) -> float:
    """Where the preview starts: the poster's moment, earlier if the clip would end first."""
    at = poster_time(duration)
    if duration is None:
        return at
    return max(0.0, min(at, duration - PREVIEW_SECONDS))


def make_preview(source: Path, *, duration: float | None) -> bytes:
    """Encode the preview clip from the local video at ``source``; return the MP4's bytes.

    Only the frames of the clip's few seconds are decoded. A clip that ends before the
    poster's moment (its duration unknown or wrong) is previewed from its start.
    """
    for start in dict.fromkeys([preview_start(duration), 0.0]):
        clip = _clip_from(source, start)
        if clip is not None:
            return clip
    raise PreviewError("the video has no frame to make a preview from")


def _clip_from(source: Path, start: float) -> bytes | None:
    """The clip from ``start`` on, or None if there is no frame there. The MP4 muxer
    rewrites its own output to put ``moov`` first, so the clip goes to a temporary file."""
    try:
        with (
            av.open(str(source)) as container,
            tempfile.NamedTemporaryFile(prefix="preview-", suffix=".mp4") as out,
        ):
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            written = _encode(container, stream, start, out.name)
            clip = Path(out.name).read_bytes()
    except (av.FFmpegError, IndexError, ValueError, OSError) as exc:
        raise PreviewError(f"the preview cannot be made: {exc}") from exc
    return clip if written else None


def _encode(container: Any, stream: Any, start: float, path: str) -> int:
    """Write the frames from ``start`` on, scaled, to ``path``; return how many."""
    width, height = preview_size(stream.codec_context.width, stream.codec_context.height)
    rate = _rate(stream)
    count = int(PREVIEW_SECONDS * rate)
    written = 0
    with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as output:
        encoder: Any = output.add_stream("libx264", rate=rate)
        encoder.width, encoder.height = width, height
        encoder.pix_fmt = "yuv420p"
        encoder.options = PREVIEW_OPTIONS
        for index, frame in _frames(container, stream, start, rate, count):
            small = frame.reformat(width=width, height=height, format="yuv420p")
            small.pts = index
            small.time_base = Fraction(1) / rate
            output.mux(encoder.encode(small))
            written += 1
        output.mux(encoder.encode())
    return written


def _rate(stream: Any) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate
    if not rate or rate <= 0:
        return Fraction(PREVIEW_DEFAULT_RATE)
    return min(Fraction(rate), Fraction(PREVIEW_MAX_RATE))


def _frames(
    container: Any, stream: Any, start: float, rate: Fraction, count: int
) -> Iterator[tuple[int, Any]]:
    """The decoded frames of the clip, each with its slot at ``rate`` from ``start``;
    frames that fall on a slot already filled (a faster source) are skipped."""
    if start and stream.time_base is not None:
        container.seek(int(start / stream.time_base), stream=stream)
    slot = 0
    for decoded in container.decode(stream):
        if decoded.time is None:
            index = slot
        elif decoded.time < start:
            continue
        else:
            index = int((decoded.time - start) * rate + Fraction(1, 2))
            if index < slot:
                continue
        if index >= count:
            return
        yield index, decoded
        slot = index + 1
