"""The form that asks for a video.

It checks everything Rivya would reject (and a little more) before a row exists:
the prompt's length as Rivya counts it (UTF-16 code units), the fixed option values,
and the reference image, which is decoded with Pillow rather than trusted by its name
or the browser's MIME type, then turned upright and re-encoded without its metadata
(EXIF with GPS, XMP, comments, colour profiles), so neither our storage nor Rivya ever
gets where a photo was taken. A valid image survives a form error: its bytes are kept
in storage under a generated key and the page carries a signed token for them; each
person keeps only the few newest of those. An image a video was already made from is
used again where it is stored: the form carries a signed token naming that video
(``kept_reference_token``), and the next video names the same stored file.
"""

import hashlib
import io
import time
import unicodedata
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils import timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from generations.models import IN_FLIGHT, AspectRatio, Generation, Status

PROMPT_LIMIT = 1000
# Rivya's limit is "10 MB"; the docs do not say which megabyte, so take the smaller one.
REFERENCE_MAX_BYTES = 10_000_000
REFERENCE_MAX_PIXELS = 40_000_000
# Pillow format name → (MIME type, file extension).
REFERENCE_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}
STAGED_PREFIX = "uploads"
STAGED_SALT = "generations.reference"
STAGED_MAX_AGE = 24 * 3600
# Staged images kept per person; staging one more deletes the oldest.
STAGED_PER_USER = 5
KEPT_SALT = "generations.reference.kept"
# How each format is written back once its metadata is gone.
REENCODE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 90},
    "PNG": {},
    "WEBP": {"quality": 90},
}
# Image.info entries that say something about the picture's origin, not its pixels.
METADATA_KEYS = frozenset({"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"})
# What the sound checkbox may send (nothing when unchecked).
SOUND_VALUES = frozenset({None, "", "on", "true", "True", "1", "false", "False", "0"})


def utf16_length(text: str) -> int:
    """Length as Rivya (and a browser's ``String.length``) counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class ReferenceImage:
    """A decoded, accepted reference image, ready to store."""

    content: bytes
    mime: str
    extension: str
    name: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def decode_reference(data: bytes, filename: str, *, stored: bool = False) -> ReferenceImage:
    """Decode ``data`` with Pillow and accept only a whole JPEG, PNG or WebP image.

    The result is upright and carries no metadata. An upload is always re-encoded (that
    also drops anything hidden after the image); ``stored`` bytes were cleaned when they
    were stored, and are re-encoded only if they still carry metadata, so a kept image
    keeps its bytes and its SHA-256 (duplicate detection compares those).
    """
    invalid = ValidationError(
        _("Choose a JPEG, PNG or WebP image. This file is not one we can use."),
        code="invalid_image",
    )
    too_large = ValidationError(
        _("This image is too large: at most %(limit)s megapixels."),
        code="too_many_pixels",
        params={"limit": REFERENCE_MAX_PIXELS // 1_000_000},
    )
    formats = list(REFERENCE_FORMATS)
    with warnings.catch_warnings():
        # Pillow warns before it refuses; a warning is already a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as image:
                image_format = image.format or ""
                width, height = image.size
                if width * height > REFERENCE_MAX_PIXELS:
                    raise too_large
                image.verify()
            # verify() leaves the image unusable and misses truncation; decode it fully.
            with Image.open(io.BytesIO(data), formats=formats) as image:
                image.load()
                if image_format in REFERENCE_FORMATS and not (stored and is_clean(image)):
                    data, width, height = without_metadata(image, image_format)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise invalid from None
    if image_format not in REFERENCE_FORMATS:
        raise invalid
    if len(data) > REFERENCE_MAX_BYTES:
        raise too_big_error()
    mime, extension = REFERENCE_FORMATS[image_format]
    stem = get_valid_filename(PurePath(filename or "").stem)[:80] if filename else ""
    return ReferenceImage(
        content=data,
        mime=mime,
        extension=extension,
        name=f"{stem or 'reference'}.{extension}",
        width=width,
        height=height,
    )


def is_clean(image: Image.Image) -> bool:
    """Whether a decoded image carries no metadata (as ``without_metadata`` leaves it)."""
    if image.getexif() or METADATA_KEYS & set(image.info):
        return False
    if getattr(image, "text", None):  # PNG text chunks
        return False
    # A JPEG written by Pillow has only the JFIF marker; any other APPn holds metadata.
    return all(marker == "APP0" for marker, _content in getattr(image, "applist", []))


def without_metadata(image: Image.Image, image_format: str) -> tuple[bytes, int, int]:
    """The image turned upright by its EXIF orientation, in sRGB, re-encoded bare."""
    ImageOps.exif_transpose(image, in_place=True)
    icc = image.info.get("icc_profile")
    if icc:
        image = to_srgb(image, icc)
    # Encoders fall back on image.info for EXIF, XMP and profiles: keep only transparency.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **REENCODE_OPTIONS[image_format])
    return buffer.getvalue(), image.width, image.height


def to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """The pixels converted from their embedded colour profile to sRGB, which viewers assume
    without one; an image whose profile cannot be applied keeps its pixels as they are."""
    mode = "RGBA" if image.mode in {"RGBA", "LA", "PA"} else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted or image


def read_upload(upload: UploadedFile[Any]) -> bytes:
    """The upload's bytes, refusing anything over the size limit before reading it."""
    if upload.size is not None and upload.size > REFERENCE_MAX_BYTES:
        raise too_big_error()
    upload.seek(0)
    data: bytes = upload.read(REFERENCE_MAX_BYTES + 1)
    if len(data) > REFERENCE_MAX_BYTES:
        raise too_big_error()
    if not data:
        raise ValidationError(_("The chosen file is empty."), code="empty")
    return data


def too_big_error() -> ValidationError:
    return ValidationError(
        _("The image is larger than %(limit)s MB."),
        code="file_too_large",
        params={"limit": REFERENCE_MAX_BYTES // 1_000_000},
    )


def stage_reference(reference: ReferenceImage, user: Any) -> str:
    """Keep an accepted image across a form error; returns a signed token for it.

    Keys start with the time they were made, so their names sort oldest first; only the
    newest ``STAGED_PER_USER`` of a person's staged images are kept.
    """
    folder = f"{STAGED_PREFIX}/{user.pk}"
    key = f"{folder}/{time.time_ns():020d}-{uuid.uuid4().hex}.{reference.extension}"
    key = default_storage.save(key, ContentFile(reference.content))
    try:
        names = sorted(default_storage.listdir(folder)[1])
    except FileNotFoundError:  # removed meanwhile by the prune
        names = []
    for name in names[:-STAGED_PER_USER]:
        default_storage.delete(f"{folder}/{name}")
    return signing.dumps(
        {"k": key, "u": user.pk, "m": reference.mime, "n": reference.name}, salt=STAGED_SALT
    )


def staged_reference_info(token: str, user: Any) -> dict[str, Any] | None:
    """The staged image a token names, if the token is valid and the user's own."""
    try:
        info = signing.loads(token, salt=STAGED_SALT, max_age=STAGED_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(info, dict) or info.get("u") != user.pk:
        return None
    key = info.get("k")
    if not isinstance(key, str) or not key.startswith(f"{STAGED_PREFIX}/{user.pk}/"):
        return None
    return info


def load_staged_reference(token: str, user: Any) -> ReferenceImage | None:
    info = staged_reference_info(token, user)
    if info is None or not default_storage.exists(info["k"]):
        return None
    if default_storage.size(info["k"]) > REFERENCE_MAX_BYTES:
        return None
    with default_storage.open(info["k"], "rb") as file:
        data = file.read(REFERENCE_MAX_BYTES + 1)
    try:
        return decode_reference(data, info.get("n", ""), stored=True)
    except ValidationError:
        return None


def delete_staged_reference(token: str, user: Any) -> None:
    info = staged_reference_info(token, user)
    if info is not None:
        default_storage.delete(info["k"])


@dataclass(frozen=True)
class StoredReference:
    """A reference image already in our storage, named by a video it was made from; a new
    video names the same file (nothing is written again)."""

    key: str
    mime: str
    name: str
    sha256: str


def kept_max_age() -> int:
    """How long a kept image's token works: never longer than a deleted video's files stay
    (``DELETE_GRACE``), so no valid token can name a file the purge has taken."""
    return int(min(STAGED_MAX_AGE, settings.DELETE_GRACE.total_seconds()))


def kept_reference_token(generation: Generation) -> str:
    """A signed token for the reference image ``generation`` has in storage (its team's)."""
    return signing.dumps({"g": str(generation.pk), "t": generation.team_id}, salt=KEPT_SALT)


def kept_reference_source(token: str, team: Any) -> uuid.UUID | None:
    """The video a kept-image token names, if the token is valid and of ``team``."""
    try:
        info = signing.loads(token, salt=KEPT_SALT, max_age=kept_max_age())
    except signing.BadSignature:
        return None
    if team is None or not isinstance(info, dict) or info.get("t") != team.pk:
        return None
    try:
        return uuid.UUID(str(info.get("g")))
    except ValueError:
        return None


def load_kept_reference(token: str, team: Any) -> StoredReference | None:
    """The stored image a kept-image token names, if its video (of ``team``) still has it.

    A video deleted meanwhile still lends its image until its files are purged.
    """
    source_id = kept_reference_source(token, team)
    if source_id is None:
        return None
    source = Generation.objects.filter(pk=source_id, team=team).first()
    return None if source is None else stored_reference_of(source)


def stored_reference_of(source: Generation) -> StoredReference | None:
    """The reference image ``source`` was made from, where it is stored, for a new video to
    name again; ``None`` when it has none, or its file lies outside its team's folder or is
    no longer in storage."""
    if not source.reference_image:
        return None
    key = source.reference_image.name or ""
    storage = source.reference_image.storage
    if not key.startswith(f"teams/{source.team_id}/") or not storage.exists(key):
        return None
    sha256 = source.reference_sha256
    if not sha256:  # a row from before checksums were kept: read (never write) the file
        digest = hashlib.sha256()
        with storage.open(key, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 16), b""):
                digest.update(chunk)
        sha256 = digest.hexdigest()
    return StoredReference(
        key=key,
        mime=source.reference_mime,
        name=source.reference_name or key.rsplit("/", 1)[-1],
        sha256=sha256,
    )


def prune_staged_references(*, now: datetime | None = None) -> int:
    """Delete staged images older than their tokens can be; returns how many went.

    A staged image lives only as long as the form error that kept it; its token expires
    after ``STAGED_MAX_AGE``, so nothing can use an older file.
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=STAGED_MAX_AGE)
    removed = 0
    try:
        folders, _files = default_storage.listdir(STAGED_PREFIX)
    except FileNotFoundError:
        return 0
    for folder in folders:
        for name in default_storage.listdir(f"{STAGED_PREFIX}/{folder}")[1]:
            key = f"{STAGED_PREFIX}/{folder}/{name}"
            if default_storage.get_modified_time(key) < cutoff:
                default_storage.delete(key)
                removed += 1
    return removed


class GenerationForm(forms.Form):
    prompt = forms.CharField(
        label=_("Prompt"),
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "data-utf16-limit": PROMPT_LIMIT}),
        error_messages={"required": _("Describe the video you want.")},
    )
    duration = forms.TypedChoiceField(
        label=_("Duration"),
        choices=[(5, _("5 seconds")), (10, _("10 seconds"))],
        coerce=int,
        initial=5,
        widget=forms.RadioSelect,
    )
    sound = forms.BooleanField(label=_("Sound"), required=False)
    aspect_ratio = forms.ChoiceField(
        label=_("Aspect ratio"),
        choices=AspectRatio.choices,
        initial=AspectRatio.SQUARE,
        widget=forms.RadioSelect,
    )
    reference_image = forms.FileField(
        label=_("Reference image"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={
                "accept": "image/jpeg,image/png,image/webp",
                "data-max-bytes": REFERENCE_MAX_BYTES,
            }
        ),
        help_text=_("Optional. One JPEG, PNG or WebP image, up to 10 MB."),
    )
    # A signed reference to an image kept from a previous attempt of this form.
    reference_token = forms.CharField(required=False, widget=forms.HiddenInput)
    reference_clear = forms.BooleanField(
        label=_("Remove the image"), required=False, widget=forms.CheckboxInput
    )
    # After a video is made, whether the fresh form keeps the prompt (the options always stay).
    keep_prompt = forms.BooleanField(
        label=_("Keep the prompt after making a video"), required=False, initial=True
    )
    # One rendered form makes at most one generation.
    form_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    prompt_limit = PROMPT_LIMIT
    reference_max_bytes = REFERENCE_MAX_BYTES

    def __init__(self, *args: Any, user: Any, team: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # The team the video is made for: only its stored images can be used again.
        self.team = team
        self.reference: ReferenceImage | StoredReference | None = None
        self.reference_from_upload = False
        if not self.is_bound:
            self.initial.setdefault("form_token", uuid.uuid4())

    @property
    def prompt_length(self) -> int:
        """The current prompt's length as the counter shows it (trimmed, UTF-16 units)."""
        return utf16_length(unicodedata.normalize("NFC", str(self["prompt"].value() or "").strip()))

    def clean_prompt(self) -> str:
        # Composed (NFC): a keyboard that sends "ó" as "o" and a combining accent makes the
        # same text, which would count twice as long and miss its own words in a search.
        prompt = unicodedata.normalize("NFC", self.cleaned_data["prompt"])
        length = utf16_length(prompt)
        if length > PROMPT_LIMIT:
            raise ValidationError(
                _("The prompt is %(length)s characters long; the limit is %(limit)s."),
                code="prompt_too_long",
                params={"length": length, "limit": PROMPT_LIMIT},
            )
        return prompt

    def clean_reference_image(self) -> UploadedFile[Any] | None:
        upload: UploadedFile[Any] | None = self.cleaned_data.get("reference_image")
        name = self.add_prefix("reference_image")
        chosen: list[Any] = self.files.getlist(name) if hasattr(self.files, "getlist") else [upload]
        if len(chosen) > 1:
            raise ValidationError(_("Choose only one image."), code="too_many_files")
        if not upload:
            return None
        data = read_upload(upload)
        self.reference = decode_reference(data, upload.name or "")
        self.reference_from_upload = True
        return upload

    def clean_form_token(self) -> uuid.UUID:
        token: uuid.UUID | None = self.cleaned_data.get("form_token")
        return token or uuid.uuid4()

    def clean_sound(self) -> bool:
        # A checkbox sends "on" or nothing; anything else did not come from this form.
        if self.data.get(self.add_prefix("sound")) not in SOUND_VALUES:
            raise ValidationError(_("Choose whether the video has sound."), code="invalid_sound")
        return bool(self.cleaned_data.get("sound"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Hidden fields show no error of their own: a broken form token is replaced by a
        # fresh one, a broken image token reads as an expired image.
        if self.errors.pop("form_token", None) is not None:
            cleaned["form_token"] = uuid.uuid4()
        broken = self.errors.pop("reference_token", None) is not None
        token = cleaned.get("reference_token") or ""
        if self.reference is None and (token or broken) and not cleaned.get("reference_clear"):
            self.reference = self._load_reference(token) if token else None
            if self.reference is None:
                self.add_error(
                    "reference_image",
                    ValidationError(
                        _("The image chosen earlier has expired. Choose it again."),
                        code="reference_expired",
                    ),
                )
        return cleaned

    def _load_reference(self, token: str) -> ReferenceImage | StoredReference | None:
        """The image a token names: one a video was made from (used where it is stored), or
        one staged after a form error."""
        if kept_reference_source(token, self.team) is not None:
            return load_kept_reference(token, self.team)
        return load_staged_reference(token, self.user)

    def _token_is_valid(self, token: str) -> bool:
        return bool(token) and (
            staged_reference_info(token, self.user) is not None
            or kept_reference_source(token, self.team) is not None
        )

    def keep_reference(self) -> None:
        """After an error, keep a newly uploaded valid image for the next attempt."""
        if isinstance(self.reference, ReferenceImage) and self.reference_from_upload:
            token = stage_reference(self.reference, self.user)
            data = QueryDict(mutable=True)
            data.update(self.data)  # type: ignore[arg-type]
            data[self.add_prefix("reference_token")] = token
            data.pop(self.add_prefix("reference_clear"), None)
            self.data = data

    @property
    def kept_reference_token(self) -> str:
        """The token of the image this form carries, if any (after an error, or staged
        from the video being remixed)."""
        if not self.is_bound:
            token = str(self.initial.get("reference_token") or "")
            return token if self._token_is_valid(token) else ""
        token = str(self.data.get(self.add_prefix("reference_token")) or "")
        if self.data.get(self.add_prefix("reference_clear")):
            return ""
        return token if self._token_is_valid(token) else ""

    def next_initial(self, made: Generation | None = None) -> dict[str, Any]:
        """What the fresh form shown after this (valid) one made a video starts with: the
        same duration, sound and aspect ratio, the keep-prompt choice, the prompt if kept,
        and the reference image of ``made`` (the video made), used again where it is stored."""
        keep = bool(self.cleaned_data.get("keep_prompt"))
        initial: dict[str, Any] = {
            "duration": self.cleaned_data["duration"],
            "sound": self.cleaned_data["sound"],
            "aspect_ratio": str(self.cleaned_data["aspect_ratio"]),
            "keep_prompt": keep,
        }
        if keep:
            initial["prompt"] = self.cleaned_data["prompt"]
        if made is not None and made.reference_image and made.deleted_at is None:
            initial["reference_token"] = kept_reference_token(made)
        return initial

    def generation_data(self) -> dict[str, Any]:
        """The cleaned inputs as ``create_generation`` takes them."""
        return {
            "prompt": self.cleaned_data["prompt"],
            "duration": self.cleaned_data["duration"],
            "sound": self.cleaned_data["sound"],
            "aspect_ratio": self.cleaned_data["aspect_ratio"],
            "form_token": self.cleaned_data["form_token"],
        }


# --- The gallery's filters --------------------------------------------------------------------

# The gallery's ``status`` filter: a few words for groups of states (``Status`` has nine).
GALLERY_STATUSES: dict[str, tuple[str, ...] | None] = {
    "ready": (Status.READY,),
    "in_progress": tuple(sorted(IN_FLIGHT)),
    "failed": (Status.FAILED, Status.REJECTED),
    "attention": (Status.ATTENTION,),
    "all": None,
}
GALLERY_ORDERS = ("newest", "oldest")
# Dates outside these years cannot be real and would overflow once turned into moments.
GALLERY_FIRST_YEAR = 2000
GALLERY_LAST_YEAR = 9000


class GalleryFilterForm(forms.Form):
    """The gallery's query string. Every field is optional; a field whose value is not
    understood is left out of the search and shown with its error, never a 500."""

    q = forms.CharField(label=_("Search prompts"), required=False, max_length=200, strip=True)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("ready", _("Ready")),
            ("in_progress", _("In progress")),
            ("failed", _("Failed")),
            ("attention", _("Needs attention")),
            ("all", _("All")),
        ],
    )
    creator = forms.TypedChoiceField(
        label=_("Creator"), required=False, coerce=int, empty_value=None
    )
    aspect_ratio = forms.ChoiceField(
        label=_("Aspect ratio"), required=False, choices=[("", _("Any")), *AspectRatio.choices]
    )
    duration = forms.TypedChoiceField(
        label=_("Duration"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Any")), ("5", _("5 seconds")), ("10", _("10 seconds"))],
    )
    sound = forms.ChoiceField(
        label=_("Sound"),
        required=False,
        choices=[("", _("Any")), ("on", _("With sound")), ("off", _("Without sound"))],
    )
    favourites = forms.BooleanField(label=_("My favourites only"), required=False)
    order = forms.ChoiceField(
        label=_("Order"),
        required=False,
        choices=[("newest", _("Newest first")), ("oldest", _("Oldest first"))],
    )

    def __init__(self, data: Any = None, *, creators: list[tuple[int, str]]) -> None:
        super().__init__(data)
        creator: Any = self.fields["creator"]
        creator.choices = [("", _("Anyone")), *((str(pk), name) for pk, name in creators)]
        # ``from`` and ``to`` are Python keywords, so these fields cannot be declared above.
        self.fields["from"] = forms.DateField(
            label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["to"] = forms.DateField(
            label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.order_fields(
            ["q", "status", "creator", "aspect_ratio", "duration", "sound", "from", "to", "order"]
        )

    def clean_favourites(self) -> bool:
        if self.data.get("favourites") not in SOUND_VALUES:
            raise ValidationError(_("Choose yes or no."), code="invalid_favourites")
        return bool(self.cleaned_data.get("favourites"))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("from", "to"):
            day = cleaned.get(name)
            if day is not None and not GALLERY_FIRST_YEAR <= day.year <= GALLERY_LAST_YEAR:
                self.add_error(
                    name,
                    ValidationError(
                        _("Choose a date between %(first)s and %(last)s."),
                        code="date_out_of_range",
                        params={"first": GALLERY_FIRST_YEAR, "last": GALLERY_LAST_YEAR},
                    ),
                )
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise ValidationError(
                _("The start date is after the end date; the dates are ignored."),
                code="dates_reversed",
            )
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The understood filters, with defaults for anything left out or not understood."""
        self.is_valid()
        cleaned = dict(getattr(self, "cleaned_data", {}))
        if self.non_field_errors():
            cleaned.pop("from", None)
            cleaned.pop("to", None)
        cleaned["status"] = cleaned.get("status") or "ready"
        cleaned["order"] = cleaned.get("order") or "newest"
        return cleaned


class ShareLinkForm(forms.Form):
    """A public link to one video: how long it lives and whether it shows the prompt."""

    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"),
        choices=[(1, _("1 day")), (7, _("7 days")), (30, _("30 days"))],
        coerce=int,
        initial=7,
        error_messages={
            "required": _("Choose how long the link works."),
            "invalid_choice": _("Choose 1, 7 or 30 days."),
        },
    )
    show_prompt = forms.BooleanField(label=_("Show the prompt"), required=False)

    def clean_show_prompt(self) -> bool:
        # A checkbox sends "on" or nothing; anything else did not come from this form.
        if self.data.get(self.add_prefix("show_prompt")) not in SOUND_VALUES:
            raise ValidationError(
                _("Choose whether the page shows the prompt."), code="invalid_show_prompt"
            )
        return bool(self.cleaned_data.get("show_prompt"))
