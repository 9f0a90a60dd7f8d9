from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from generations.rivya import (
    Credits,
    File,
    Generation,
    GenerationResult,
    MalformedResponse,
    Model,
    RivyaError,
)

KLING = {
    "id": "kling-2-6",
    "display_name": "Kling 2.6",
    "category": "video",
    "runtime": "async_task",
    "base_credits": 55,
    "billing_type": "FIXED",
    "supported_modes": ["text-to-video", "image-to-video"],
    "max_prompt_length": 1000,
    "reference_media": {"max_files": 1},
    "params": [{"key": "duration"}],
    "api_status": "available",
    "api_input_status": "partial_requires_files",
    "supported_api_inputs": ["text", "file"],
    "requires_files_api": False,
    "file_kinds": ["image"],
    "chat_capabilities": None,
    "notices": [],
}


def test_model_reads_the_documented_fields():
    model = Model.from_json(KLING)

    assert model.id == "kling-2-6"
    assert model.display_name == "Kling 2.6"
    assert (model.base_credits, model.max_prompt_length) == (55, 1000)
    assert model.supported_api_inputs == ("text", "file")
    assert model.file_kinds == ("image",)
    assert model.is_available


def test_model_without_id_is_malformed():
    with pytest.raises(MalformedResponse):
        Model.from_json({"display_name": "Nameless"})


def test_file_reads_the_sandbox_shape():
    file = File.from_json(
        {
            "id": "file_abc",
            "object": "file",
            "url": "https://rivya.test/files/file_abc/reference.png",
            "kind": "image",
            "name": "reference.png",
            "mime_type": "image/png",
            "size_bytes": 123456,
            "duration_seconds": None,
            "duration_token": None,
            "model": "kling-2-6",
            "client_request_id": "gen-1",
            "created_at": "2026-05-11T00:00:00.000Z",
            "brand_new": [1, 2, 3],
        }
    )

    assert file.id == "file_abc"
    assert file.size_bytes == 123456
    assert file.duration_token is None
    assert file.created_at == datetime(2026, 5, 11, tzinfo=UTC)


def test_file_accepts_alternative_spellings():
    file = File.from_json(
        {
            "file_id": "file_v",
            "url": "https://rivya.test/v.mp4",
            "kind": "video",
            "mimeType": "video/mp4",
            "durationSeconds": 4.5,
            "durationToken": "dtok_1",
        }
    )

    assert (file.id, file.mime_type, file.duration_seconds, file.duration_token) == (
        "file_v",
        "video/mp4",
        4.5,
        "dtok_1",
    )


def test_file_prefers_snake_case_when_both_spellings_are_present():
    file = File.from_json({"id": "f", "url": "u", "mime_type": "image/png", "mimeType": "x"})

    assert file.mime_type == "image/png"


@pytest.mark.parametrize("body", [{"url": "https://r.test/a.png"}, {"id": "file_a"}, [], None])
def test_file_missing_id_or_url_is_malformed(body):
    with pytest.raises(MalformedResponse):
        File.from_json(body)


def test_image_file_as_reference_item():
    file = File.from_json(
        {
            "id": "file_a",
            "url": "https://rivya.test/a.png",
            "kind": "image",
            "name": "reference.png",
            "mime_type": "image/png",
            "duration_token": None,
        }
    )

    assert file.as_reference_item() == {
        "url": "https://rivya.test/a.png",
        "kind": "image",
        "name": "reference.png",
        "mimeType": "image/png",
    }


def test_video_file_as_reference_item_carries_duration():
    file = File.from_json(
        {
            "id": "file_v",
            "url": "https://rivya.test/v.mp4",
            "kind": "video",
            "name": "clip.mp4",
            "mime_type": "video/mp4",
            "duration_seconds": 5,
            "duration_token": "dtok_abc",
        }
    )

    assert file.as_reference_item() == {
        "url": "https://rivya.test/v.mp4",
        "kind": "video",
        "name": "clip.mp4",
        "mimeType": "video/mp4",
        "durationSeconds": 5.0,
        "durationToken": "dtok_abc",
    }


def test_generation_reads_a_queued_task():
    generation = Generation.from_json(
        {
            "id": "task_z_image_example",
            "status": "queued",
            "model": "z-image",
            "reserved_credits": 1,
            "final_credits": 0,
            "created_at": "2026-05-11T00:00:00.000Z",
            "updated_at": "2026-05-11T00:00:01.250Z",
            "result": None,
            "error": None,
            "session_id": None,
            "internal_thing": {"x": 1},
        }
    )

    assert generation.id == "task_z_image_example"
    assert (generation.reserved_credits, generation.final_credits) == (1, 0)
    assert generation.updated_at == datetime(2026, 5, 11, 0, 0, 1, 250000, tzinfo=UTC)
    assert generation.updated_at.tzinfo is not None
    assert generation.result is None and generation.error is None
    assert not generation.is_terminal


def test_generation_reads_a_failed_task():
    generation = Generation.from_json(
        {
            "id": "task_f",
            "status": "failed",
            "reserved_credits": 55,
            "final_credits": 0,
            "error": {"code": "generation_failed", "message": "The generation failed."},
        }
    )

    assert generation.is_terminal
    assert generation.error.code == "generation_failed"
    assert generation.error.message == "The generation failed."


def test_generation_result_falls_back_to_the_first_url():
    result = GenerationResult.from_json({"urls": ["https://m.test/1.mp4", "https://m.test/2.mp4"]})

    assert result.primary_url == "https://m.test/1.mp4"
    assert result.urls == ("https://m.test/1.mp4", "https://m.test/2.mp4")


def test_generation_keeps_unknown_status_and_tolerates_bad_values():
    generation = Generation.from_json(
        {
            "id": "task_x",
            "status": "cancelled",
            "reserved_credits": "55",
            "final_credits": True,
            "created_at": "yesterday",
            "updated_at": "2026-05-11T00:00:00",
            "result": "not an object",
        }
    )

    assert generation.status == "cancelled"
    assert not generation.is_terminal
    assert generation.reserved_credits == 55
    assert generation.final_credits is None
    assert generation.created_at is None
    assert generation.updated_at == datetime(2026, 5, 11, tzinfo=UTC)
    assert generation.result is None


@pytest.mark.parametrize(
    "body", [{"status": "queued"}, {"id": "task_x"}, {"id": "", "status": "q"}]
)
def test_generation_missing_required_fields_is_a_rivya_error(body):
    with pytest.raises(MalformedResponse) as caught:
        Generation.from_json(body)

    assert isinstance(caught.value, RivyaError)


def test_credits():
    assert Credits.from_json({"current_credits": 123, "currency": "credits"}).current_credits == 123
    with pytest.raises(MalformedResponse):
        Credits.from_json({"balance": 5})


def test_types_are_frozen():
    generation = Generation.from_json({"id": "task_a", "status": "queued"})

    with pytest.raises(FrozenInstanceError):
        generation.status = "succeeded"
