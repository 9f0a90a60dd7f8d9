import io
import logging
import struct
from array import array
from pathlib import Path

import av
import pytest
from PIL import Image

from sandbox.render import DIMENSIONS, RenderInfo, _decode_reference, render_video, wrap_text

VIETNAMESE_PROMPT = "Một con mèo đang nhảy múa dưới mưa"
LONG_PROMPT = ("Một con mèo đang nhảy múa dưới mưa, ánh đèn neon phản chiếu. " * 40)[:2000]

# One render per aspect ratio, mixing duration and sound to keep the suite quick.
CASES = {
    "square-5s-silent": {
        "aspect_ratio": "1:1",
        "duration": 5,
        "sound": False,
        "prompt": VIETNAMESE_PROMPT,
    },
    "landscape-5s-sound": {
        "aspect_ratio": "16:9",
        "duration": 5,
        "sound": True,
        "prompt": LONG_PROMPT,
    },
    "portrait-10s-sound": {
        "aspect_ratio": "9:16",
        "duration": 10,
        "sound": True,
        "prompt": "Sunrise",
    },
}


@pytest.fixture(scope="module", params=list(CASES))
def rendered(request, tmp_path_factory):
    params = CASES[request.param]
    path = tmp_path_factory.mktemp(request.param) / "result.mp4"
    info = render_video(path, **params)
    return params, path, info


def top_level_boxes(data: bytes) -> list[tuple[int, str]]:
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:
            size = len(data) - offset
        assert size >= 8, f"bad box size at {offset}"
        boxes.append((offset, kind.decode("latin-1")))
        offset += size
    assert offset == len(data), "boxes do not cover the file exactly"
    return boxes


def first_frame(source) -> Image.Image:
    with av.open(source) as container:
        return next(container.decode(video=0)).to_image()


def audio_peak(path) -> float:
    peak = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            assert frame.format.name == "fltp"
            samples = array("f", bytes(frame.planes[0]))[: frame.samples]
            peak = max(peak, *(abs(v) for v in samples))
    return peak


def image_bytes(size=(640, 480), colour=(220, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_render_decodes_with_requested_shape(rendered):
    params, path, _ = rendered
    width, height = DIMENSIONS[params["aspect_ratio"]]
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert (video.codec_context.profile, video.codec_context.pix_fmt) == ("High", "yuv420p")
        assert (video.codec_context.width, video.codec_context.height) == (width, height)
        assert container.duration / av.time_base == pytest.approx(params["duration"], abs=0.2)
        audio = [
            (s.codec_context.name, s.sample_rate, float(s.duration * s.time_base))
            for s in container.streams.audio
        ]
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == params["duration"] * 24
    if params["sound"]:
        assert audio == [("aac", 48_000, pytest.approx(params["duration"], abs=0.2))]
        assert 0.05 < audio_peak(path) < 0.9  # audible, never clipping
    else:
        assert audio == []


def test_file_is_fast_start_mp4(rendered):
    _, path, _ = rendered
    data = path.read_bytes()
    assert data[4:8] == b"ftyp"
    kinds = [kind for _, kind in top_level_boxes(data)]
    assert kinds[0] == "ftyp"
    assert kinds.index("moov") < kinds.index("mdat")


def test_render_info_describes_the_file(rendered):
    params, path, info = rendered
    width, height = DIMENSIONS[params["aspect_ratio"]]
    assert info == RenderInfo(
        width=width,
        height=height,
        duration_seconds=float(params["duration"]),
        has_audio=params["sound"],
        size_bytes=path.stat().st_size,
    )
    # Written via a temporary file that was renamed into place: nothing else is left behind.
    assert [p.name for p in path.parent.iterdir()] == ["result.mp4"]


def test_frames_are_animated(rendered):
    _, path, _ = rendered
    with av.open(str(path)) as container:
        frames = container.decode(video=0)
        first = next(frames).to_image()
        for _ in range(30):
            later = next(frames)
        assert first.tobytes() != later.to_image().tobytes()


def test_render_into_a_file_object():
    buffer = io.BytesIO()
    info = render_video(buffer, prompt="Mưa", duration=5, aspect_ratio="1:1", sound=False, fps=4)
    assert info.size_bytes == len(buffer.getvalue())
    assert buffer.getvalue()[4:8] == b"ftyp"
    buffer.seek(0)
    assert first_frame(buffer).size == (720, 720)


def test_reference_image_appears_in_the_picture(tmp_path):
    plain = tmp_path / "plain.mp4"
    with_image = tmp_path / "image.mp4"
    common = {"prompt": "Cat", "duration": 5, "aspect_ratio": "16:9", "sound": False, "fps": 4}
    render_video(plain, **common)
    render_video(with_image, reference_image=image_bytes(), **common)
    without, with_ref = first_frame(str(plain)), first_frame(str(with_image))
    assert without.tobytes() != with_ref.tobytes()
    # The panel sits in the left half for landscape frames: its centre shows the red image.
    r, g, b = with_ref.getpixel((320, 360))
    assert r > 180 and g < 80 and b < 80
    r, g, b = without.getpixel((320, 360))
    assert not (r > 180 and g < 80 and b < 80)


def test_bad_reference_image_is_skipped_with_a_warning(tmp_path, caplog):
    common = {"prompt": "Cat", "duration": 5, "aspect_ratio": "1:1", "sound": False, "fps": 4}
    render_video(tmp_path / "plain.mp4", **common)
    with caplog.at_level(logging.WARNING, logger="sandbox.render"):
        info = render_video(
            tmp_path / "bad.mp4", reference_image=b"\x89PNG\r\n\x1a\nnot really", **common
        )
    assert info.size_bytes > 0
    assert "Reference image could not be decoded" in caplog.text
    plain_frame = first_frame(str(tmp_path / "plain.mp4"))
    assert first_frame(str(tmp_path / "bad.mp4")).tobytes() == plain_frame.tobytes()


def test_reference_image_follows_exif_orientation():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    Image.new("RGB", (80, 40), (10, 200, 10)).save(buffer, "JPEG", exif=exif)
    decoded = _decode_reference(buffer.getvalue())
    assert decoded is not None
    assert decoded.size == (40, 80)
    assert decoded.mode == "RGB"


@pytest.mark.parametrize("fmt", ["WEBP", "JPEG"])
def test_reference_image_formats(fmt):
    buffer = io.BytesIO()
    Image.new("RGBA" if fmt == "WEBP" else "L", (30, 20)).save(buffer, fmt)
    decoded = _decode_reference(buffer.getvalue())
    assert decoded is not None
    assert (decoded.size, decoded.mode) == ((30, 20), "RGB")


def test_wrap_text_truncates_long_prompts_with_an_ellipsis():
    from sandbox.render import _load_font

    font = _load_font(32)
    lines = wrap_text(LONG_PROMPT, font, 600, 4)
    assert len(lines) == 4
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 600 for line in lines)


def test_wrap_text_breaks_words_wider_than_the_line_and_drops_control_characters():
    from sandbox.render import _load_font

    font = _load_font(32)
    lines = wrap_text("x" * 60 + "\x00\ud800\n  mưa", font, 300, 10)
    assert len(lines) > 1
    assert all(font.getlength(line) <= 300 for line in lines)
    assert lines[-1].endswith("mưa")
    assert "\x00" not in "".join(lines)


def test_unknown_aspect_ratio_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="aspect ratio"):
        render_video(tmp_path / "x.mp4", prompt="x", duration=5, aspect_ratio="4:3", sound=False)
    assert list(tmp_path.iterdir()) == []


def test_failed_render_leaves_no_partial_file(tmp_path, monkeypatch):
    from sandbox import render

    def explode(*args, **kwargs):
        raise RuntimeError("encoder died")

    monkeypatch.setattr(render, "_audio_frames", explode)
    target = tmp_path / "x.mp4"
    with pytest.raises(RuntimeError):
        render_video(target, prompt="x", duration=5, aspect_ratio="1:1", sound=True, fps=2)
    assert list(Path(tmp_path).iterdir()) == []


def test_wrap_text_cuts_at_a_word_boundary():
    from sandbox.render import _load_font

    font = _load_font(32)
    lines = wrap_text("alpha beta gamma delta epsilon zeta eta theta", font, 230, 2)
    assert len(lines) == 2
    assert lines[-1].endswith(" …")
    assert all(
        word in "alpha beta gamma delta epsilon zeta eta theta" for word in lines[-1][:-2].split()
    )
