"""Reference images: stored and sent without their metadata, and few staged per person."""

import hashlib
import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from generations import forms
from generations.models import Generation
from tests.fixtures import image_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

VALID = {"prompt": "A kite over the dunes", "duration": "5", "aspect_ratio": "1:1"}
# Words hidden in the metadata; none of them may survive in the stored bytes.
PLACE = b"Secret Garden Lane 7"
CAMERA = "SpyCam 3000"
# EXIF orientation 6: the stored pixels must be turned 90 degrees clockwise to stand up.
ROTATE_CW = 6
RED = (255, 0, 0)
BLUE = (0, 0, 255)


def photo(fmt: str = "JPEG", orientation: int | None = None) -> bytes:
    """An 80x40 picture, red on the left and blue on the right, with EXIF (GPS included)."""
    image = Image.new("RGB", (80, 40), BLUE)
    image.paste(RED, (0, 0, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = CAMERA
    exif[ExifTags.Base.ImageDescription] = PLACE.decode()
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (21.0, 1.0, 42.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (105.0, 51.0, 12.0),
        }
    )
    options: dict[str, object] = {"exif": exif, "xmp": b"<x:xmpmeta>" + PLACE + b"</x:xmpmeta>"}
    if fmt == "JPEG":
        options["comment"] = PLACE
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def assert_clean(data: bytes, fmt: str) -> Image.Image:
    assert PLACE not in data
    assert CAMERA.encode() not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == fmt
    assert not image.getexif()
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"} & set(image.info)
    image.load()
    return image


def upload(data: bytes, name: str = "holiday.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def test_a_photo_is_stored_and_served_upright_and_without_its_metadata(owner_client):
    original = photo(orientation=ROTATE_CW)
    assert PLACE in original  # the test picture does carry what must go

    response = owner_client.post(reverse("home"), {**VALID, "reference_image": upload(original)})
    assert response.status_code == 302
    generation = Generation.objects.get()
    stored = generation.reference_image.read()

    served = owner_client.get(reverse("generation_reference", args=[generation.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content) == stored

    image = assert_clean(stored, "JPEG")
    # Turned clockwise: what was on the left is now on top.
    assert image.size == (40, 80)
    assert close(image.getpixel((20, 10)), RED)
    assert close(image.getpixel((20, 70)), BLUE)
    assert generation.reference_sha256 == hashlib.sha256(stored).hexdigest()


def close(pixel, color) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, color, strict=True))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_accepted_format_loses_its_metadata_and_keeps_its_format(owner, fmt):
    reference = forms.decode_reference(photo(fmt), f"holiday.{fmt.lower()}")
    image = assert_clean(reference.content, fmt)
    assert image.size == (80, 40)
    assert close(image.getpixel((10, 10)), RED)


def test_a_colour_profile_is_applied_then_dropped():
    buffer = io.BytesIO()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.new("RGB", (16, 16), RED).save(buffer, format="JPEG", icc_profile=srgb)

    image = assert_clean(forms.decode_reference(buffer.getvalue(), "p.jpg").content, "JPEG")
    assert close(image.getpixel((8, 8)), RED)


def test_a_png_loses_its_text_chunks():
    text = PngImagePlugin.PngInfo()
    text.add_text("Location", PLACE.decode())
    buffer = io.BytesIO()
    Image.new("RGBA", (8, 8), (*RED, 128)).save(buffer, format="PNG", pnginfo=text)

    image = assert_clean(forms.decode_reference(buffer.getvalue(), "p.png").content, "PNG")
    assert not image.text
    assert image.getpixel((0, 0)) == (*RED, 128)


def test_the_same_photo_gives_the_same_stored_bytes_and_hash_every_time(owner):
    original = photo(orientation=ROTATE_CW)
    first = forms.decode_reference(original, "a.jpg")
    again = forms.decode_reference(original, "b.jpg")
    assert first.content == again.content
    assert first.sha256 == again.sha256


def test_a_staged_photo_is_reused_byte_for_byte(owner):
    fresh = forms.decode_reference(photo(orientation=ROTATE_CW), "a.jpg")
    token = forms.stage_reference(fresh, owner)

    reused = forms.load_staged_reference(token, owner)
    assert reused is not None
    # Not re-encoded a second time: the same picture keeps one hash for duplicate detection.
    assert reused.content == fresh.content
    assert reused.sha256 == fresh.sha256


def test_stored_bytes_that_still_carry_metadata_are_cleaned_when_read_back(owner):
    reused = forms.decode_reference(photo(), "old.jpg", stored=True)
    assert_clean(reused.content, "JPEG")


def test_a_valid_photo_survives_a_form_error_without_its_metadata(owner_client, owner):
    response = owner_client.post(
        reverse("home"), {**VALID, "prompt": "", "reference_image": upload(photo())}
    )
    token = response.context["form"].kept_reference_token
    key = forms.staged_reference_info(token, owner)["k"]
    with default_storage.open(key, "rb") as file:
        assert_clean(file.read(), "JPEG")


def staged_keys(user) -> list[str]:
    try:
        return sorted(default_storage.listdir(f"{forms.STAGED_PREFIX}/{user.pk}")[1])
    except FileNotFoundError:
        return []


def test_the_sixth_staged_image_removes_the_oldest(owner_client, owner, outsider):
    other = forms.stage_reference(forms.decode_reference(image_bytes(), "o.png"), outsider)
    tokens = []
    for color in range(forms.STAGED_PER_USER + 1):
        picture = SimpleUploadedFile("p.png", image_bytes(color=(color, 0, 0)), "image/png")
        response = owner_client.post(
            reverse("home"), {**VALID, "prompt": "", "reference_image": picture}
        )
        tokens.append(response.context["form"].kept_reference_token)

    assert len(staged_keys(owner)) == forms.STAGED_PER_USER
    first = forms.staged_reference_info(tokens[0], owner)["k"]
    assert not default_storage.exists(first)
    assert owner_client.get(reverse("reference_preview", args=[tokens[0]])).status_code == 404
    for token in tokens[1:]:
        assert forms.load_staged_reference(token, owner) is not None
    # Someone else's staged image is not theirs to count.
    assert forms.load_staged_reference(other, outsider) is not None
