"""``mirror``: streaming a 64 MiB MP4 from a local HTTP server through ``videos.download``.

The payload has the shape of an MP4 file: an ``ftyp`` box, a small ``moov`` box and an
``mdat`` box filling the rest, with sizes that add up, so ``check_boxes`` walks it to the
end. (Its content is random bytes, so the PyAV probe that follows in ``copy_result`` is
not part of this; it reads only the index and a frame or two of a real video.)

Subject: ``download(url, file)`` (URL check, size cap, deadline check and SHA-256 of every
chunk as it arrives, length and signature checks) followed by ``check_boxes(path, size)``.
The server stands in for the API host, the one host downloads reach over plain http and by
name, so no address is resolved or pinned here.
Baseline: ``httpx.stream("GET", url)`` copied to a file with ``iter_bytes()``, no checks.

The server is ``http.server`` in a thread of the same process, as asked of a local
stand-in, so it shares the interpreter with the client on both sides of the ratio.
Peak Python memory is measured in a separate pass under ``tracemalloc`` (which slows
allocation down, so that pass is not timed).

A second table prices what a copy does with a real video after the download: the PyAV probe
(duration, size, poster frame) as the baseline, and the gallery media made from the same
local file (small poster, placeholder colour, preview clip), on 5-second sandbox renders of
each aspect ratio.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings

from bench import measure, pct, table, times
from generations import previews, videos

SIZE = 64 * 1024 * 1024
MOOV = 1024
MIB = 1024 * 1024


def run(*, repeat: int, tmp: Path) -> None:
    print(
        f"mirror: {SIZE // MIB} MiB MP4-shaped file from http.server on 127.0.0.1; "
        f"median of {repeat} rounds"
    )
    served = tmp / "served"
    served.mkdir(exist_ok=True)
    make_payload(served / "video.mp4")
    with http_server(served) as base:
        settings.RIVYA_API_BASE = f"{base}/api/v1"
        url = f"{base}/video.mp4"
        target = tmp / "copy.mp4"
        cases = {
            "httpx.stream copy": lambda: plain_copy(url, target),
            "download + check_boxes": lambda: checked_copy(url, target),
        }
        # Each case is checked once: the copy is whole and the checks pass.
        for fn in cases.values():
            fn()
            assert target.stat().st_size == SIZE
        results = measure(cases, repeat=repeat, block=0.0)
        peaks = {name: peak_memory(fn) for name, fn in cases.items()}
    baseline = results["httpx.stream copy"]
    rows = [
        [
            name,
            f"{SIZE / MIB / result.median:,.0f}",
            f"{result.median * 1000:.0f} ms",
            pct(result.spread),
            times(result.ratio(baseline)),
            f"{peaks[name] / MIB:.2f} MiB",
        ]
        for name, result in results.items()
    ]
    header = ["copy", "MiB/s", "per file", "spread", "× plain copy", "peak Python memory"]
    print(table(header, rows, left=1), flush=True)
    gallery_media(repeat=repeat, tmp=tmp)


def gallery_media(*, repeat: int, tmp: Path) -> None:
    """What the gallery media add per video, against the probe every copy already does."""
    from sandbox.render import render_video

    print("\ngallery media per video: 5 s sandbox renders, 24 fps, median of rounds")
    rows = []
    for ratio in ("16:9", "9:16", "1:1"):
        path = tmp / f"render-{ratio.replace(':', 'x')}.mp4"
        render_video(
            path, prompt="A paper boat on a river", duration=5, aspect_ratio=ratio, sound=True
        )
        facts = videos.probe(path)
        cases = {
            "probe": lambda path=path: videos.probe(path),
            "gallery media": lambda path=path, facts=facts: make_media(path, facts),
        }
        results = measure(cases, repeat=repeat, block=0.0)
        preview = previews.make_preview(path, duration=facts.duration)
        small = previews.small_poster(facts.poster)
        probe, media = results["probe"], results["gallery media"]
        rows.append(
            [
                f"{ratio} {facts.width}×{facts.height}",
                f"{path.stat().st_size / 1024:,.0f} KiB",
                f"{probe.median * 1000:.0f} ms",
                f"{media.median * 1000:.0f} ms",
                pct(media.spread),
                times(media.ratio(probe)),
                f"{len(preview) / 1024:.1f} KiB",
                f"{len(small) / 1024:.1f} KiB",
            ]
        )
    header = [
        "video",
        "size",
        "probe",
        "gallery media",
        "spread",
        "× probe",
        "preview",
        "small poster",
    ]
    print(table(header, rows, left=1), flush=True)


def make_media(path: Path, facts: videos.Probe) -> None:
    previews.small_poster(facts.poster)
    previews.placeholder(facts.poster)
    previews.make_preview(path, duration=facts.duration)


def make_payload(path: Path) -> None:
    ftyp = box(b"ftyp", b"isom" + (512).to_bytes(4, "big") + b"isommp41")
    moov = box(b"moov", bytes(MOOV - 8))
    mdat_size = SIZE - len(ftyp) - len(moov)
    block = os.urandom(MIB)
    with path.open("wb") as fh:
        fh.write(ftyp + moov + mdat_size.to_bytes(4, "big") + b"mdat")
        left = mdat_size - 8
        while left:
            fh.write(block[: min(left, MIB)])
            left -= min(left, MIB)
    videos.check_boxes(path, SIZE)  # the walk reaches exactly the end


def box(kind: bytes, body: bytes) -> bytes:
    return (8 + len(body)).to_bytes(4, "big") + kind + body


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def http_server(directory: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def plain_copy(url: str, target: Path) -> None:
    with target.open("wb") as fh, httpx.stream("GET", url) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            fh.write(chunk)


def checked_copy(url: str, target: Path) -> None:
    with target.open("w+b") as fh:
        fetched = videos.download(url, fh)
    videos.check_boxes(target, fetched.size)


def peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes allocated by Python while ``fn`` runs once."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
