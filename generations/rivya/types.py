"""What Rivya sends back, as frozen dataclasses.

Each class is built by one ``from_json`` that reads loosely (contract §8): unknown fields
are ignored, the alternative spellings seen across Rivya's pages are accepted, timestamps
become aware datetimes (``None`` when absent or unreadable) and unknown status strings are
kept as they are. Only a missing required field is an error, raised as
:class:`~generations.rivya.errors.MalformedResponse` rather than a ``KeyError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self

from generations.rivya.errors import MalformedResponse

TERMINAL_STATUSES = frozenset({"succeeded", "failed"})


def _mapping(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedResponse(f"Expected a JSON object for {what}, got {type(data).__name__}.")
    return data


def _first(data: Mapping[str, Any], *names: str) -> Any:
    """The value of the first spelling present and not null."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None


def _str(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _required_str(data: Mapping[str, Any], what: str, *names: str) -> str:
    value = _str(_first(data, *names))
    if not value:
        raise MalformedResponse(f"{what} has no {names[0]!r}.")
    return value


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def parse_timestamp(value: object) -> datetime | None:
    """An aware datetime from an ISO-8601 string; naive values are read as UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Model:
    """One entry of ``GET /models``."""

    id: str
    display_name: str
    category: str | None
    api_status: str | None
    base_credits: int | None
    billing_type: str | None
    max_prompt_length: int | None
    supported_api_inputs: tuple[str, ...]
    file_kinds: tuple[str, ...]

    @classmethod
    def from_json(cls, data: object) -> Self:
        data = _mapping(data, "a model")
        model_id = _required_str(data, "A model", "id")
        return cls(
            id=model_id,
            display_name=_str(_first(data, "display_name", "displayName")) or model_id,
            category=_str(data.get("category")),
            api_status=_str(_first(data, "api_status", "apiStatus")),
            base_credits=_int(_first(data, "base_credits", "baseCredits")),
            billing_type=_str(_first(data, "billing_type", "billingType")),
            max_prompt_length=_int(_first(data, "max_prompt_length", "maxPromptLength")),
            supported_api_inputs=_strings(
                _first(data, "supported_api_inputs", "supportedApiInputs")
            ),
            file_kinds=_strings(_first(data, "file_kinds", "fileKinds")),
        )

    @property
    def is_available(self) -> bool:
        """Whether the Public API can run this model now."""
        return self.api_status == "available"


@dataclass(frozen=True, slots=True)
class File:
    """A reference file stored by ``POST /files`` (``PublicApiFile``)."""

    id: str
    url: str
    kind: str | None
    name: str | None
    mime_type: str | None
    size_bytes: int | None
    duration_seconds: float | None
    duration_token: str | None
    model: str | None
    client_request_id: str | None
    created_at: datetime | None

    @classmethod
    def from_json(cls, data: object) -> Self:
        data = _mapping(data, "a file")
        return cls(
            id=_required_str(data, "A file", "id", "file_id", "fileId"),
            url=_required_str(data, "A file", "url"),
            kind=_str(data.get("kind")),
            name=_str(_first(data, "name", "filename")),
            mime_type=_str(_first(data, "mime_type", "mimeType")),
            size_bytes=_int(_first(data, "size_bytes", "sizeBytes", "size")),
            duration_seconds=_float(_first(data, "duration_seconds", "durationSeconds")),
            duration_token=_str(_first(data, "duration_token", "durationToken")),
            model=_str(data.get("model")),
            client_request_id=_str(_first(data, "client_request_id", "clientRequestId")),
            created_at=parse_timestamp(_first(data, "created_at", "createdAt")),
        )

    def as_reference_item(self) -> dict[str, object]:
        """This file as one ``params.referenceMediaItems`` entry (camelCase keys)."""
        item: dict[str, object] = {"url": self.url}
        optional: dict[str, object] = {
            "kind": self.kind,
            "name": self.name,
            "mimeType": self.mime_type,
            "durationSeconds": self.duration_seconds,
            "durationToken": self.duration_token,
        }
        item.update((key, value) for key, value in optional.items() if value is not None)
        return item


@dataclass(frozen=True, slots=True)
class GenerationResult:
    """The output of a succeeded generation."""

    primary_url: str | None
    urls: tuple[str, ...]

    @classmethod
    def from_json(cls, data: object) -> Self:
        data = _mapping(data, "a generation result")
        urls = _strings(data.get("urls"))
        primary = _str(_first(data, "primary_url", "primaryUrl"))
        return cls(primary_url=primary or (urls[0] if urls else None), urls=urls)

    @property
    def links(self) -> list[str]:
        """Every result URL, the primary one first, each once."""
        first = [self.primary_url] if self.primary_url else []
        return list(dict.fromkeys([*first, *self.urls]))


@dataclass(frozen=True, slots=True)
class GenerationError:
    """Why a generation failed, as Rivya reports it."""

    code: str
    message: str

    @classmethod
    def from_json(cls, data: object) -> Self:
        data = _mapping(data, "a generation error")
        code = _str(data.get("code")) or "generation_failed"
        return cls(code=code, message=_str(data.get("message")) or code)


@dataclass(frozen=True, slots=True)
class Generation:
    """A generation task as returned by create, status and webhook events."""

    id: str
    status: str
    model: str | None
    reserved_credits: int | None
    final_credits: int | None
    created_at: datetime | None
    updated_at: datetime | None
    result: GenerationResult | None
    error: GenerationError | None

    @classmethod
    def from_json(cls, data: object) -> Self:
        data = _mapping(data, "a generation")
        result = data.get("result")
        error = data.get("error")
        return cls(
            id=_required_str(data, "A generation", "id", "task_id", "taskId"),
            status=_required_str(data, "A generation", "status"),
            model=_str(data.get("model")),
            reserved_credits=_int(_first(data, "reserved_credits", "reservedCredits")),
            final_credits=_int(_first(data, "final_credits", "finalCredits")),
            created_at=parse_timestamp(_first(data, "created_at", "createdAt")),
            updated_at=parse_timestamp(_first(data, "updated_at", "updatedAt")),
            result=GenerationResult.from_json(result) if isinstance(result, Mapping) else None,
            error=GenerationError.from_json(error) if isinstance(error, Mapping) else None,
        )

    @property
    def is_terminal(self) -> bool:
        """Whether Rivya will not change this generation any more."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Credits:
    """The balance of the account that owns the API key."""

    current_credits: int

    @classmethod
    def from_json(cls, data: object) -> Self:
        data = _mapping(data, "credits")
        current = _int(_first(data, "current_credits", "currentCredits"))
        if current is None:
            raise MalformedResponse("Credits have no 'current_credits'.")
        return cls(current_credits=current)
