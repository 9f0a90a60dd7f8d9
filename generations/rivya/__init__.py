"""Rivya Public API v1: the client, its errors, its types and webhook verification."""

from generations.rivya.client import Client, client_from_settings
from generations.rivya.errors import (
    AuthenticationError,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidEvent,
    InvalidSignature,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    RivyaAPIError,
    RivyaConnectionError,
    RivyaError,
    ServiceUnavailable,
    ValidationFailed,
    error_from_response,
)
from generations.rivya.types import (
    Credits,
    File,
    Generation,
    GenerationError,
    GenerationResult,
    Model,
)

__all__ = [
    "AuthenticationError",
    "Client",
    "Credits",
    "File",
    "Generation",
    "GenerationError",
    "GenerationResult",
    "IdempotencyConflict",
    "InsufficientCredits",
    "InvalidEvent",
    "InvalidSignature",
    "MalformedResponse",
    "Model",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "RivyaAPIError",
    "RivyaConnectionError",
    "RivyaError",
    "ServiceUnavailable",
    "ValidationFailed",
    "client_from_settings",
    "error_from_response",
]
