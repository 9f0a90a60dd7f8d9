import pytest

from tests.fixtures import image_bytes
from tests.sandbox.conftest import upload_png

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client, content, name="ref.png", kind="image", **data):
    return client.post("/files", files={"file": (name, content)}, data={"kind": kind, **data})


def assert_invalid(response):
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_accepted_images(api, fmt, mime):
    response = upload(api, image_bytes(fmt), name="whatever.bin", model="kling-2-6")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("file_")
    assert body["object"] == "file"
    assert body["mime_type"] == mime
    assert body["kind"] == "image"
    assert body["model"] == "kling-2-6"
    assert body["duration_token"] is None
    assert "/sandbox/media/files/" in body["url"]
    served = api.get(body["url"])
    assert served.status_code == 200
    assert served.content == image_bytes(fmt)
    assert api.get(f"/files/{body['id']}").json() == body


def test_pdf_named_png_is_rejected(api):
    assert_invalid(upload(api, b"%PDF-1.7\n1 0 obj\n", name="fake.png"))


def test_gif_is_rejected_for_images(api):
    assert_invalid(upload(api, image_bytes("GIF"), name="a.gif"))


def test_empty_and_missing_fields(api):
    assert_invalid(upload(api, b""))
    assert_invalid(api.post("/files", data={"kind": "image"}, files={"other": ("a", b"x")}))
    assert_invalid(api.post("/files", files={"file": ("a.png", image_bytes())}))
    assert_invalid(upload(api, image_bytes(), kind="document"))


def test_oversize_image(api):
    big = image_bytes()[:16] + b"\0" * (10 * 1024 * 1024)
    assert_invalid(upload(api, big))


def test_kling_accepts_only_images(api):
    mp4 = b"\0\0\0\x18ftypisom\0\0\0\0isomiso2" + b"\0" * 100
    assert upload(api, mp4, name="a.mp4", kind="video").status_code == 200
    assert_invalid(upload(api, mp4, name="a.mp4", kind="video", model="kling-2-6"))
    assert_invalid(upload(api, image_bytes(), model="unknown-model"))


def test_file_of_another_account_is_not_found(api, make_client):
    file = upload_png(make_client()).json()
    response = api.get(f"/files/{file['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
