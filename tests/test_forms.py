import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from generations.forms import (
    PROMPT_LIMIT,
    REFERENCE_MAX_BYTES,
    GenerationForm,
    decode_reference,
    utf16_length,
)
from tests.fixtures import huge_png, image_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]

VALID = {"prompt": "A lantern festival on the river", "duration": "5", "aspect_ratio": "16:9"}


def make_form(owner, data=None, files=None):
    return GenerationForm({**VALID, **(data or {})}, files or {}, user=owner)


def upload(content: bytes, name="ref.png", content_type="image/png"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def field_codes(form, field):
    return [error.code for error in form.errors.as_data().get(field, [])]


def test_valid_form_normalises_values(owner):
    form = make_form(owner, {"prompt": "  \n A lantern festival  \t", "sound": "on"})
    assert form.is_valid(), form.errors
    data = form.generation_data()
    assert data["prompt"] == "A lantern festival"
    assert data["duration"] == 5
    assert data["sound"] is True
    assert data["aspect_ratio"] == "16:9"
    assert data["form_token"] is not None


def test_unbound_form_has_a_fresh_token_each_time(owner):
    first = GenerationForm(user=owner)["form_token"].value()
    second = GenerationForm(user=owner)["form_token"].value()
    assert first and second and first != second


def test_utf16_length_counts_like_a_browser():
    assert utf16_length("abc") == 3
    assert utf16_length("Việt") == 4
    assert utf16_length("😀") == 2  # outside the BMP: a surrogate pair


def test_prompt_limit_is_counted_in_utf16_units(owner):
    assert make_form(owner, {"prompt": "😀" * (PROMPT_LIMIT // 2)}).is_valid()
    form = make_form(owner, {"prompt": "😀" * (PROMPT_LIMIT // 2) + "a"})
    assert field_codes(form, "prompt") == ["prompt_too_long"]


def test_prompt_limit_applies_after_trimming(owner):
    assert make_form(owner, {"prompt": "  " + "a" * PROMPT_LIMIT + "   "}).is_valid()


def test_a_prompt_typed_with_separate_accent_marks_is_sent_composed(owner):
    """ "ở" typed as "o", a horn and a hook is one letter: the prompt counts and is kept as
    composed text (NFC), so 1000 Vietnamese letters fit whatever the keyboard sent."""
    import unicodedata

    word = "Phở bò ở Hà Nội "
    composed = (word * (PROMPT_LIMIT // len(word) + 1))[:PROMPT_LIMIT].strip()
    decomposed = unicodedata.normalize("NFD", composed)
    assert len(decomposed) > PROMPT_LIMIT
    form = make_form(owner, {"prompt": decomposed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["prompt"] == composed
    assert form.prompt_length == len(composed)


def test_prompt_of_only_whitespace_is_missing(owner):
    form = make_form(owner, {"prompt": "   \n\t "})
    assert field_codes(form, "prompt") == ["required"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("duration", "7"), ("duration", "five"), ("aspect_ratio", "4:3"), ("aspect_ratio", "")],
)
def test_wrong_option_values_are_refused(owner, field, value):
    form = make_form(owner, {field: value})
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.parametrize("missing", ["prompt", "duration", "aspect_ratio"])
def test_missing_fields_are_refused(owner, missing):
    data = {k: v for k, v in VALID.items() if k != missing}
    form = GenerationForm(data, {}, user=owner)
    assert field_codes(form, missing) == ["required"]


def test_sound_is_off_when_absent(owner):
    form = make_form(owner)
    assert form.is_valid()
    assert form.cleaned_data["sound"] is False


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("PNG", "image/png", "png"), ("JPEG", "image/jpeg", "jpg"), ("WEBP", "image/webp", "webp")],
)
def test_accepted_images_are_identified_by_their_content(owner, fmt, mime, ext):
    # The name and the browser's type say otherwise; the bytes decide.
    form = make_form(
        owner, files={"reference_image": upload(image_bytes(fmt), "photo.gif", "text/plain")}
    )
    assert form.is_valid(), form.errors
    assert form.reference.mime == mime
    assert form.reference.name == f"photo.{ext}"


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (8, 8)).save(buffer, format="GIF")
    return buffer.getvalue()


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10"/></svg>'
)


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("document.png", pdf_bytes(), "invalid_image"),
        ("empty.png", b"", "empty"),
        ("animation.gif", gif_bytes(), "invalid_image"),
        ("drawing.svg", SVG, "invalid_image"),
        ("drawing.png", SVG, "invalid_image"),
        ("cut.jpg", image_bytes("JPEG", (400, 300))[:-600], "invalid_image"),
        ("huge.png", huge_png(), "too_many_pixels"),
    ],
)
def test_bad_reference_images_are_refused(owner, name, content, code):
    form = make_form(owner, files={"reference_image": upload(content, name)})
    assert not form.is_valid()
    assert field_codes(form, "reference_image") == [code]
    assert form.reference is None


def test_reference_over_ten_megabytes_is_refused_before_decoding(owner):
    content = image_bytes("PNG") + b"\0" * (REFERENCE_MAX_BYTES)
    form = make_form(owner, files={"reference_image": upload(content)})
    assert field_codes(form, "reference_image") == ["file_too_large"]


def test_reference_at_exactly_the_limit_is_not_refused_for_its_size(owner):
    png = image_bytes("PNG")
    content = png + b"\0" * (REFERENCE_MAX_BYTES - len(png))  # trailing bytes after IEND
    form = make_form(owner, files={"reference_image": upload(content)})
    assert "file_too_large" not in field_codes(form, "reference_image")


def test_a_bomb_between_our_limit_and_pillows_is_refused():
    with pytest.raises(Exception) as caught:
        decode_reference(huge_png(8_000, 8_000), "big.png")  # 64 MP: under Pillow's own limit
    assert caught.value.code == "too_many_pixels"


def test_two_files_are_refused(owner):
    from django.utils.datastructures import MultiValueDict

    files = MultiValueDict(
        {
            "reference_image": [
                upload(image_bytes("PNG"), "a.png"),
                upload(image_bytes("PNG"), "b.png"),
            ]
        }
    )
    form = make_form(owner, files=files)
    assert field_codes(form, "reference_image") == ["too_many_files"]


def test_error_messages_are_translated(owner):
    with translation.override("vi"):
        form = make_form(owner, {"prompt": ""}, files={"reference_image": upload(pdf_bytes())})
        form.is_valid()
        messages = [str(m) for m in form.errors["prompt"] + form.errors["reference_image"]]
    with translation.override("en"):
        form = make_form(owner, {"prompt": ""}, files={"reference_image": upload(pdf_bytes())})
        form.is_valid()
        english = [str(m) for m in form.errors["prompt"] + form.errors["reference_image"]]
    assert english == [
        "Describe the video you want.",
        "Choose a JPEG, PNG or WebP image. This file is not one we can use.",
    ]
    assert len(messages) == 2  # the Vietnamese catalogue may still be filling in


def test_kept_image_is_reused_when_no_new_file_is_chosen(owner, media_root):
    png = image_bytes("PNG")
    first = make_form(owner, {"prompt": ""}, files={"reference_image": upload(png, "cat.png")})
    assert not first.is_valid()
    first.keep_reference()
    token = first.kept_reference_token
    assert token
    second = make_form(owner, {"reference_token": token})
    assert second.is_valid(), second.errors
    assert second.reference.content == png
    assert second.reference.name == "cat.png"


def test_kept_image_token_of_another_user_is_not_honoured(owner, outsider, media_root):
    first = make_form(owner, {"prompt": ""}, files={"reference_image": upload(image_bytes())})
    first.is_valid()
    first.keep_reference()
    stolen = GenerationForm(
        {**VALID, "reference_token": first.kept_reference_token}, {}, user=outsider
    )
    assert field_codes(stolen, "reference_image") == ["reference_expired"]


def test_kept_image_can_be_removed(owner, media_root):
    first = make_form(owner, {"prompt": ""}, files={"reference_image": upload(image_bytes())})
    first.is_valid()
    first.keep_reference()
    form = make_form(
        owner, {"reference_token": first.kept_reference_token, "reference_clear": "on"}
    )
    assert form.is_valid()
    assert form.reference is None
