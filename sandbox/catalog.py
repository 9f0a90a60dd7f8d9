"""The sandbox's model catalog and the per-model request rules (contract §2.1, §7, §8 item 32)."""

from typing import Any

from sandbox import conf

KLING_PARAMS = {
    "duration": {"label": "Duration", "type": "select", "default": "5", "options": ["5", "10"]},
    "sound": {
        "label": "Generate audio",
        "type": "select",
        "default": "false",
        "options": ["false", "true"],
    },
    "aspect_ratio": {
        "label": "Aspect ratio",
        "type": "select",
        "default": "1:1",
        "options": ["1:1", "16:9", "9:16"],
    },
}

Z_IMAGE_PARAMS = {
    "aspect_ratio": {
        "label": "Aspect ratio",
        "type": "select",
        "default": "1:1",
        "options": ["1:1", "16:9", "9:16"],
    },
}

MODELS: dict[str, dict[str, Any]] = {
    "kling-2-6": {
        "id": "kling-2-6",
        "display_name": "Kling 2.6",
        "category": "video",
        "runtime": "async_task",
        "base_credits": 55,
        "billing_type": "FIXED",
        "supported_modes": ["text-to-video", "image-to-video"],
        "max_prompt_length": 1000,
        "reference_media": {
            "max_files": 1,
            "kinds": ["image"],
            "max_bytes": 10 * 1024 * 1024,
            "mime_types": ["image/jpeg", "image/png", "image/webp"],
        },
        "params": [{"key": key, **spec} for key, spec in KLING_PARAMS.items()],
        "api_status": "available",
        "api_input_status": "partial_requires_files",
        "supported_api_inputs": ["text", "file"],
        "requires_files_api": False,
        "requires_upload_for_modes": ["image-to-video"],
        "url_input_supported": False,
        "file_kinds": ["image"],
        "chat_capabilities": None,
        "notices": [],
    },
    "z-image": {
        "id": "z-image",
        "display_name": "Z-Image",
        "category": "image",
        "runtime": "async_task",
        "base_credits": 1,
        "billing_type": "FIXED",
        "supported_modes": ["text-to-image"],
        "max_prompt_length": 1000,
        "reference_media": None,
        "params": [{"key": key, **spec} for key, spec in Z_IMAGE_PARAMS.items()],
        "api_status": "available",
        "api_input_status": "available_text",
        "supported_api_inputs": ["text"],
        "requires_files_api": False,
        "requires_upload_for_modes": [],
        "url_input_supported": False,
        "file_kinds": [],
        "chat_capabilities": None,
        "notices": [],
    },
}

PARAM_TABLES = {"kling-2-6": KLING_PARAMS, "z-image": Z_IMAGE_PARAMS}


def resolved_params(model: str, params: dict[str, Any]) -> dict[str, str]:
    """The request's select values with the model's defaults filled in."""
    table = PARAM_TABLES[model]
    return {key: str(params.get(key, spec["default"])) for key, spec in table.items()}


def price(model: str, params: dict[str, str]) -> int:
    """Credits reserved for one generation; ``SANDBOX_PRICES`` overrides the base (§8 item 15)."""
    table = conf.get("SANDBOX_PRICES").get(model, {})
    combo = "|".join(params.get(k, "") for k in ("duration", "sound", "aspect_ratio"))
    if combo in table:
        return int(table[combo])
    if "*" in table:
        return int(table["*"])
    return int(MODELS[model]["base_credits"])
