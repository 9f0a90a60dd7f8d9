"""A small OpenAPI 3.1 document of the sandbox's routes (``GET /openapi.json``)."""

from typing import Any

from sandbox import catalog

ERROR = {"$ref": "#/components/responses/Error"}


def _op(summary: str, scope: str | None, body: str | None = None, **responses: Any) -> Any:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": responses.get("ok", {"description": "OK"}), "default": ERROR},
    }
    if scope:
        op["security"] = [{"bearer": []}]
        op["x-scope"] = scope
    else:
        op["security"] = []
    if body == "json":
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    elif body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return op


def _json(ref: str) -> dict[str, Any]:
    return {
        "description": "OK",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def document(server_url: str) -> dict[str, Any]:
    kling = catalog.KLING_PARAMS
    wh = "webhooks:manage"
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rivya Public API (sandbox)", "version": "v1"},
        "servers": [{"url": server_url.rstrip("/")}],
        "paths": {
            "/models": {"get": _op("List models", None)},
            "/openapi.json": {"get": _op("This document", None)},
            "/credits": {"get": _op("Account balance", "credits:read", ok=_json("Credits"))},
            "/generations": {
                "post": _op(
                    "Create a generation",
                    "generations:create",
                    "GenerationRequest",
                    ok=_json("Generation"),
                )
            },
            "/generations/{taskId}": {
                "get": _op("Read a generation", "generations:read", ok=_json("Generation"))
            },
            "/files": {"post": _op("Upload a reference file", "files:create", ok=_json("File"))},
            "/files/{fileId}": {"get": _op("Read file metadata", "files:read", ok=_json("File"))},
            "/webhooks": {
                "get": _op("List webhook endpoints", wh),
                "post": _op("Create a webhook endpoint", wh, "json"),
            },
            "/webhooks/{endpointId}": {
                "get": _op("Read a webhook endpoint", wh),
                "patch": _op("Update a webhook endpoint", wh, "json"),
                "delete": _op("Revoke a webhook endpoint", wh),
            },
            "/webhooks/{endpointId}/rotate-secret": {"post": _op("Rotate the secret", wh)},
            "/webhooks/{endpointId}/deliveries": {"get": _op("List delivery attempts", wh)},
            "/webhooks/{endpointId}/test": {"post": _op("Send a test event", wh)},
            "/webhook-events": {"get": _op("List events", wh)},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "Error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "requestId"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "requestId": {"type": "string"},
                            },
                        }
                    },
                },
                "Credits": {
                    "type": "object",
                    "properties": {"current_credits": {"type": "integer"}},
                },
                "GenerationRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["model", "prompt"],
                    "properties": {
                        "model": {"type": "string", "enum": list(catalog.MODELS)},
                        "prompt": {"type": "string", "maxLength": 1000},
                        "client_request_id": {"type": "string", "maxLength": 128},
                        "params": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                **{
                                    key: {"type": "string", "enum": spec["options"]}
                                    for key, spec in kling.items()
                                },
                                "referenceMediaItems": {
                                    "type": "array",
                                    "maxItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["url", "kind"],
                                        "properties": {
                                            "url": {"type": "string"},
                                            "kind": {"type": "string", "enum": ["image"]},
                                            "name": {"type": "string"},
                                            "mimeType": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
                "Generation": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["queued", "processing", "succeeded", "failed"],
                        },
                        "model": {"type": "string"},
                        "reserved_credits": {"type": "integer"},
                        "final_credits": {"type": "integer"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                        "result": {"type": ["object", "null"]},
                        "error": {"type": ["object", "null"]},
                    },
                },
                "File": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "object": {"const": "file"},
                        "url": {"type": "string"},
                        "kind": {"type": "string"},
                        "mime_type": {"type": "string"},
                        "size_bytes": {"type": "integer"},
                        "duration_token": {"type": ["string", "null"]},
                    },
                },
            },
        },
    }
