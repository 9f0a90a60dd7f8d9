import io
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import av
import httpx
import pytest
import time_machine

from sandbox.models import SandboxConfig
from tests.fixtures import set_knobs
from tests.sandbox.conftest import upload_png, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def render(api, **params):
    return render_task(api, **params)["result"]["primary_url"]


def render_task(api, **params):
    body = {"model": "kling-2-6", "prompt": "Sunrise over Ha Long Bay", "params": params}
    task = api.post("/generations", json=body).json()
    final = wait_for(api, task["id"], timeout=60)
    assert final["status"] == "succeeded", final
    return final


def with_query(url, **changes):
    parts = urlsplit(url)
    return parts._replace(query=urlencode({**dict(parse_qsl(parts.query)), **changes})).geturl()


def test_result_mp4_decodes_with_requested_shape_and_audio(api):
    file = upload_png(api).json()
    reference = [{"url": file["url"], "kind": "image"}]
    url = render(api, aspect_ratio="16:9", sound="true", referenceMediaItems=reference)
    assert "/sandbox/media/task_" in url and urlsplit(url).path.endswith(".mp4")
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


def test_result_links_are_signed_and_expire(api):
    set_knobs(media_url_ttl_seconds=600)
    final = render_task(api)
    url = final["result"]["primary_url"]
    query = dict(parse_qsl(urlsplit(url).query))
    assert set(query) == {"expires", "sig"}
    assert 590 <= int(query["expires"]) - time.time() <= 600

    fresh = api.get(url)
    assert fresh.status_code == 200
    assert fresh.headers["content-type"] == "video/mp4"
    assert fresh.content[4:8] == b"ftyp"  # a real MP4 file

    for link in [
        url.partition("?")[0],
        with_query(url, sig="0" * 64),
        with_query(url, expires=int(query["expires"]) + 3600),  # a longer life, same signature
        with_query(url, expires="later"),
    ]:
        refused = api.get(link, headers={"Range": "bytes=0-9"})
        assert refused.status_code == 403, link
        assert "expired or is not valid" in refused.text

    with time_machine.travel(int(query["expires"]) + 1):
        assert api.get(url).status_code == 403
        renewed = api.get(f"/generations/{final['id']}").json()["result"]["primary_url"]
        assert renewed != url
        assert api.get(renewed).content == fresh.content


def test_media_host_knob_moves_result_links(api, live_server):
    task = api.post("/generations", json={"model": "z-image", "prompt": "a harbour"}).json()
    assert wait_for(api, task["id"])["status"] == "succeeded"

    def result():
        answer = api.get(f"/generations/{task['id']}").json()["result"]
        assert answer["urls"] == [answer["primary_url"]]
        return answer["primary_url"]

    port = urlsplit(live_server.url).port
    set_knobs(media_host=f"127.0.0.1:{port}")
    moved = result()
    assert urlsplit(moved)[:3] == ("http", f"127.0.0.1:{port}", f"/sandbox/media/{task['id']}.png")
    served = httpx.get(moved)
    assert served.status_code == 200
    assert served.content.startswith(b"\x89PNG")

    set_knobs(media_host="cdn.example")
    assert urlsplit(result()).netloc == "cdn.example"

    set_knobs(media_host="")
    assert urlsplit(result()).netloc == urlsplit(live_server.url).netloc
