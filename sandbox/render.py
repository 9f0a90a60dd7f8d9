"""Render the sandbox's result videos: real, playable H.264/AAC MP4 files.

The picture is an animated placeholder for what Kling would make: a drifting colour gradient,
a glowing orb that wanders across the frame, a progress bar and timecode, the prompt text and,
for image-to-video, the reference image on a panel. Everything that does not move is drawn
once into an overlay; each frame is then a crop of a pre-rendered background plus two masked
pastes, which keeps a 5-second clip to a couple of seconds of encoding on a small machine.
"""

from __future__ import annotations

import io
import logging
import math
import os
import shutil
import tempfile
import unicodedata
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

logger = logging.getLogger(__name__)

DIMENSIONS: dict[str, tuple[int, int]] = {
    "1:1": (720, 720),
    "16:9": (1280, 720),
    "9:16": (720, 1280),
}
MAX_DURATION = 60
MODEL = "kling-2-6"

# "superfast" encodes ~40 % quicker than "veryfast" on this flat synthetic picture; the files
# stay small (a few hundred KiB for 5 s) and keep the High profile Chromium expects.
VIDEO_OPTIONS = {"crf": "23", "preset": "superfast", "profile": "high"}
SAMPLE_RATE = 48_000
AUDIO_FRAME_SAMPLES = 1024  # the AAC encoder's frame size
# A major triad with whole-hertz frequencies, so two seconds of it loop without a seam.
CHORD_HZ = (220, 277, 330)
TREMOLO_HZ = 0.5
AUDIO_LOOP_SECONDS = 2
AUDIO_FADE_SECONDS = 0.4
AUDIO_PEAK = 0.22  # of full scale: soft, never clipping

# Fonts with Vietnamese glyphs, tried in order; Pillow's built-in font (Latin only, but it never
# fails) is the fallback, so a missing system font costs glyphs, not the render.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
)
GRADIENT_STOPS = ((38, 20, 92), (12, 84, 140), (18, 128, 118), (120, 42, 120))
PANEL_FILL = (8, 10, 24, 150)
TEXT_FILL = (255, 255, 255, 255)
MUTED_FILL = (220, 226, 240, 255)
ORB_COLOUR = (255, 214, 140)
TRACK_FILL = (92, 98, 128)


@dataclass(frozen=True)
class RenderInfo:
    width: int
    height: int
    duration_seconds: float
    has_audio: bool
    size_bytes: int


def render_video(
    out: BinaryIO | str | os.PathLike[str],
    *,
    prompt: str,
    duration: int,
    aspect_ratio: str,
    sound: bool,
    reference_image: bytes | None = None,
    fps: int = 24,
    model: str = MODEL,
) -> RenderInfo:
    """Render an MP4 of ``duration`` seconds to ``out`` (a path or a writable binary file).

    A path is written through a temporary file in the same directory and renamed into place,
    so readers never see half a video. ``moov`` precedes ``mdat`` (fast start).
    A reference image that Pillow cannot read is skipped with a warning.
    """
    if aspect_ratio not in DIMENSIONS:
        raise ValueError(
            f"Unknown aspect ratio {aspect_ratio!r}; expected one of {list(DIMENSIONS)}"
        )
    if not 0 < duration <= MAX_DURATION:
        raise ValueError(f"Duration must be between 1 and {MAX_DURATION} seconds, not {duration}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, not {fps}")
    width, height = DIMENSIONS[aspect_ratio]
    scene = _Scene(width, height, prompt, _decode_reference(reference_image), model)

    if isinstance(out, str | os.PathLike):
        target = Path(out)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            _encode(tmp_name, scene, duration, fps, sound)
            size = os.path.getsize(tmp_name)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
    else:
        # The mp4 muxer re-reads its own output to move `moov` to the front, which needs a real
        # seekable file; render to one and copy it into the caller's stream.
        with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp:
            _encode(tmp.name, scene, duration, fps, sound)
            tmp.seek(0)
            shutil.copyfileobj(tmp, out, length=1024 * 1024)
            size = tmp.tell()
    return RenderInfo(width, height, float(duration), sound, size)


def _encode(path: str, scene: _Scene, duration: int, fps: int, sound: bool) -> None:
    frame_count = duration * fps
    with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as container:
        video: Any = container.add_stream("libx264", rate=fps)
        video.width = scene.width
        video.height = scene.height
        video.pix_fmt = "yuv420p"
        video.options = VIDEO_OPTIONS
        audio: Any = None
        if sound:
            audio = container.add_stream("aac", rate=SAMPLE_RATE, layout="mono")
        for index in range(frame_count):
            image = scene.frame(index / frame_count, index / fps, duration)
            # PyAV's stubs leave from_image untyped.
            frame = av.VideoFrame.from_image(image).reformat(format="yuv420p")  # type: ignore[no-untyped-call]
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            for audio_frame in _audio_frames(duration):
                container.mux(audio.encode(audio_frame))
            container.mux(audio.encode())


def _audio_frames(duration: int) -> Iterator[Any]:
    samples = _chord_samples(duration * SAMPLE_RATE)
    for start in range(0, len(samples), AUDIO_FRAME_SAMPLES):
        chunk = samples[start : start + AUDIO_FRAME_SAMPLES]
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(chunk))
        data = chunk.tobytes()
        plane = frame.planes[0]
        plane.update(data + bytes(plane.buffer_size - len(data)))
        frame.sample_rate = SAMPLE_RATE
        frame.pts = start
        frame.time_base = Fraction(1, SAMPLE_RATE)
        yield frame


def _chord_samples(total: int) -> array[int]:
    """A soft A-major chord with a slow swell, faded in and out, as signed 16-bit mono."""
    loop_len = AUDIO_LOOP_SECONDS * SAMPLE_RATE
    scale = 32767 * AUDIO_PEAK / len(CHORD_HZ)
    loop = array("h")
    for n in range(loop_len):
        t = n / SAMPLE_RATE
        swell = 0.75 + 0.25 * math.sin(2 * math.pi * TREMOLO_HZ * t)
        tone = sum(math.sin(2 * math.pi * hz * t) for hz in CHORD_HZ)
        loop.append(round(scale * swell * tone))
    samples = loop * (total // loop_len + 1)
    del samples[total:]
    fade = min(int(AUDIO_FADE_SECONDS * SAMPLE_RATE), total // 2)
    for n in range(fade):
        gain = n / fade
        samples[n] = round(samples[n] * gain)
        samples[total - 1 - n] = round(samples[total - 1 - n] * gain)
    return samples


def _decode_reference(data: bytes | None) -> Image.Image | None:
    if not data:
        return None
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (1280, 1280))  # JPEG: decode at a reduced scale, much faster
            image = ImageOps.exif_transpose(opened).convert("RGB")
    # Pillow's decoders raise many different types for corrupt or hostile input (OSError,
    # ValueError, SyntaxError, struct.error, DecompressionBombError…); none may stop a render.
    except Exception as exc:
        logger.warning("Reference image could not be decoded; rendering without it: %s", exc)
        return None
    return image


def _clock(seconds: int) -> str:
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONT_CANDIDATES:
        if os.path.exists(candidate):
            try:
                return ImageFont.truetype(candidate, size)
            except OSError:
                continue
    return ImageFont.load_default(size=size)


def _clean_text(text: str) -> str:
    # NFC keeps Vietnamese letters as single code points; control, format, surrogate and
    # private-use characters cannot be drawn (lone surrogates would not even encode).
    text = unicodedata.normalize("NFC", text)
    kept = "".join(" " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in text)
    return " ".join(kept.split())


def wrap_text(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: int, max_lines: int
) -> list[str]:
    """Greedy word wrap to ``max_width`` pixels; words wider than a line are split, and text
    beyond ``max_lines`` is cut with an ellipsis on the last line."""
    lines: list[str] = []
    current = ""
    for word in _clean_text(text).split(" "):
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for ch in word:  # a word longer than the line: break it anywhere
            if font.getlength(current + ch) > max_width and current:
                lines.append(current)
                current = ""
            current += ch
        if len(lines) > max_lines:
            break
    if current:
        lines.append(current)
    if len(lines) <= max_lines:
        return lines
    words = lines[max_lines - 1].split(" ")
    while len(words) > 1 and font.getlength(" ".join(words) + " …") > max_width:
        words.pop()  # cut at a word boundary when the line has one
    last = " ".join(words)
    while last and font.getlength(last + " …") > max_width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + " …"]


class _Scene:
    """The pre-rendered layers of one video and the cheap per-frame composition."""

    def __init__(
        self, width: int, height: int, prompt: str, reference: Image.Image | None, model: str
    ) -> None:
        self.width = width
        self.height = height
        self.unit = min(width, height)
        self.margin = self.unit * 6 // 100
        self.small_font = _load_font(max(14, self.unit // 34))
        self.background = self._background()
        overlay = self._overlay(prompt, reference, model)
        self.overlay_box = overlay.getbbox() or (0, 0, 1, 1)
        cropped = overlay.crop(self.overlay_box)
        self.overlay = cropped.convert("RGB")
        self.overlay_mask = cropped.getchannel("A")
        self.orb, self.orb_mask = self._orb()

    def frame(self, progress: float, seconds: float, duration: int) -> Image.Image:
        w, h, unit = self.width, self.height, self.unit
        shift = int(progress * w) % w
        image = self.background.crop((shift, 0, shift + w, h))
        angle = 2 * math.pi * progress
        orb_x = int(w / 2 + w * 0.36 * math.sin(angle) - self.orb.width / 2)
        orb_y = int(h / 2 + h * 0.32 * math.sin(2 * angle) - self.orb.height / 2)
        image.paste(self.orb, (orb_x, orb_y), self.orb_mask)
        image.paste(self.overlay, self.overlay_box[:2], self.overlay_mask)
        draw = ImageDraw.Draw(image)
        bar_top = h - self.margin
        bar_h = max(4, unit // 120)
        left, right = self.margin, w - self.margin
        draw.rectangle((left, bar_top, right, bar_top + bar_h), fill=TRACK_FILL)
        draw.rectangle(
            (left, bar_top, left + int((right - left) * progress), bar_top + bar_h),
            fill=ORB_COLOUR,
        )
        clock = f"{_clock(int(seconds))} / {_clock(duration)}"
        draw.text(
            (right, bar_top - bar_h), clock, font=self.small_font, fill=MUTED_FILL, anchor="rb"
        )
        return image

    def _background(self) -> Image.Image:
        """A horizontal gradient twice the frame width, periodic in the frame width, so that a
        moving crop window loops seamlessly; darkened towards the bottom for legible text."""
        w, h = self.width, self.height
        stops = [*GRADIENT_STOPS, GRADIENT_STOPS[0]]
        row = bytearray()
        for x in range(2 * w):
            pos = (x % w) / w * (len(stops) - 1)
            i = int(pos)
            frac = pos - i
            a, b = stops[i], stops[i + 1]
            row.extend(round(a[c] + (b[c] - a[c]) * frac) for c in range(3))
        strip = Image.frombytes("RGB", (2 * w, 1), bytes(row)).resize(
            (2 * w, h), Image.Resampling.NEAREST
        )
        shade = Image.linear_gradient("L").resize((2 * w, h)).point(lambda v: 255 - v * 110 // 255)
        return Image.composite(strip, Image.new("RGB", strip.size), shade)

    def _orb(self) -> tuple[Image.Image, Image.Image]:
        size = self.unit // 4
        mask = Image.new("L", (size, size))
        inset = size // 5
        ImageDraw.Draw(mask).ellipse((inset, inset, size - inset, size - inset), fill=150)
        mask = mask.filter(ImageFilter.GaussianBlur(size / 10))
        return Image.new("RGB", (size, size), ORB_COLOUR), mask

    def _overlay(self, prompt: str, reference: Image.Image | None, model: str) -> Image.Image:
        w, h, m = self.width, self.height, self.margin
        overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        caption = f"Rivya sandbox · {_clean_text(model)}"
        draw.text((m, m), caption, font=self.small_font, fill=MUTED_FILL, anchor="lt")

        top = m * 2
        bottom = h - m * 2
        text_box = (m, top, w - m, bottom)
        if reference is not None:
            if w > h:  # side by side
                panel = (m, top, w // 2 - m // 2, bottom)
                text_box = (w // 2 + m // 2, top, w - m, bottom)
            else:  # stacked: image above, text below
                split = top + (bottom - top) * 55 // 100
                panel = (m, top, w - m, split)
                text_box = (m, split + m // 2, w - m, bottom)
            self._place_reference(overlay, reference, panel)
        self._draw_prompt(overlay, prompt, text_box)
        return overlay

    def _place_reference(
        self, overlay: Image.Image, reference: Image.Image, box: tuple[int, int, int, int]
    ) -> None:
        fitted = ImageOps.contain(reference, (box[2] - box[0], box[3] - box[1]))
        x = box[0] + (box[2] - box[0] - fitted.width) // 2
        y = box[1] + (box[3] - box[1] - fitted.height) // 2
        radius = self.unit // 40
        mask = Image.new("L", fitted.size)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, *fitted.size), radius=radius, fill=255)
        edge = max(2, self.unit // 240)
        frame_box = (x - edge, y - edge, x + fitted.width + edge, y + fitted.height + edge)
        ImageDraw.Draw(overlay).rounded_rectangle(frame_box, radius=radius + edge, fill=TEXT_FILL)
        overlay.paste(fitted.convert("RGBA"), (x, y), mask)

    def _draw_prompt(
        self, overlay: Image.Image, prompt: str, box: tuple[int, int, int, int]
    ) -> None:
        pad = self.unit // 36
        font = _load_font(max(18, self.unit // 22))
        line_height = int(font.size * 1.3) if isinstance(font, ImageFont.FreeTypeFont) else 24
        max_width = box[2] - box[0] - 2 * pad
        max_lines = max(1, min(8, (box[3] - box[1] - 2 * pad) // line_height))
        lines = wrap_text(prompt, font, max_width, max_lines) or ["…"]
        block_h = len(lines) * line_height + 2 * pad
        top = box[1] + (box[3] - box[1] - block_h) // 2
        panel = Image.new("RGBA", overlay.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(panel)
        draw.rounded_rectangle(
            (box[0], top, box[2], top + block_h), radius=self.unit // 40, fill=PANEL_FILL
        )
        for i, line in enumerate(lines):
            y = top + pad + i * line_height
            draw.text((box[0] + pad, y), line, font=font, fill=TEXT_FILL, anchor="la")
        overlay.alpha_composite(panel)
