import io

import av
import pytest

from sandbox.models import SandboxConfig
from tests.sandbox.conftest import upload_png, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def render(api, **params):
    body = {"model": "kling-2-6", "prompt": "Sunrise over Ha Long Bay", "params": params}
    task = api.post("/generations", json=body).json()
    final = wait_for(api, task["id"], timeout=60)
    assert final["status"] == "succeeded", final
    return final["result"]["primary_url"]


def test_result_mp4_decodes_with_requested_shape_and_audio(api):
    file = upload_png(api).json()
    reference = [{"url": file["url"], "kind": "image"}]
    url = render(api, aspect_ratio="16:9", sound="true", referenceMediaItems=reference)
    assert "/sandbox/media/task_" in url and url.endswith(".mp4")
    response = api.get(url)
    assert response.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(response.content)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.width > video.height
        assert abs(video.width / video.height - 16 / 9) < 0.02
        assert len(container.streams.audio) == 1
        assert abs(float(container.duration / av.time_base) - 5) < 0.3

    # Range requests and the truncated-media fault on the same file.
    full = response.content
    part = api.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == full[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{len(full)}"
    SandboxConfig.objects.filter(pk=1).update(truncate_media=True)
    truncated = api.get(url)
    assert truncated.status_code == 200
    assert 0 < len(truncated.content) < len(full)
    assert full.startswith(truncated.content)
    claimed = api.get(url, headers={"Range": "bytes=0-"})
    assert claimed.headers["content-range"] == f"bytes 0-{len(full) - 1}/{len(full)}"
    assert len(claimed.content) < len(full)


def test_silent_vertical_video(api):
    url = render(api, aspect_ratio="9:16", sound="false")
    with av.open(io.BytesIO(api.get(url).content)) as container:
        video = container.streams.video[0]
        assert video.height > video.width
        assert not container.streams.audio


def test_unknown_media_is_not_found(api, live_server):
    response = api.get(f"{live_server.url}/sandbox/media/task_{'a' * 24}.mp4")
    assert response.status_code == 404
    assert api.get(f"{live_server.url}/sandbox/media/../secret_key").status_code == 404
