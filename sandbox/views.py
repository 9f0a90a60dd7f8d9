"""The sandbox's Public API v1 routes and its media files."""

import hashlib
import re
import secrets
from pathlib import Path
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase, HttpResponseForbidden, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_safe

from rivyaweb import ranges
from sandbox import actions, api, catalog, conf, links, openapi, webhooks
from sandbox.api import ApiError, Context, not_found, ok, validation
from sandbox.models import File, Generation, SandboxConfig, WebhookDelivery, WebhookEndpoint, new_id
from sandbox.sniff import EXTENSIONS, KIND_MAX_BYTES, KIND_MIME_TYPES, sniff

GENERATION_KEYS = {"model", "prompt", "params", "client_request_id"}
REFERENCE_KEYS = {"url", "kind", "name", "mimeType", "durationSeconds", "durationToken"}
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def media_url(request: HttpRequest, name: str) -> str:
    return request.build_absolute_uri(reverse("sandbox:media", args=[name]))


# --- Public routes -----------------------------------------------------------------------


def list_models(request: HttpRequest) -> HttpResponseBase:
    return ok({"object": "list", "data": list(catalog.MODELS.values())})


def openapi_document(request: HttpRequest) -> HttpResponseBase:
    return ok(openapi.document(request.build_absolute_uri(reverse("sandbox:api-root"))))


def unknown_route(request: HttpRequest, rest: str = "") -> HttpResponseBase:
    return api.error_response(not_found())


# --- Credits -----------------------------------------------------------------------------


def get_credits(request: HttpRequest, ctx: Context) -> HttpResponseBase:
    ctx.account.refresh_from_db(fields=["balance"])
    return ok({"current_credits": ctx.account.balance})


# --- Generations -------------------------------------------------------------------------


def create_generation(request: HttpRequest, ctx: Context) -> HttpResponseBase:
    body = api.json_body(request)
    model, prompt, params, reference, client_request_id = _validate_generation(body, ctx)
    key = api.idempotency_key(request)
    price = catalog.price(model, params)

    def create() -> JsonResponse:
        generation = actions.create_generation(
            ctx.account,
            model=model,
            prompt=prompt,
            params=params,
            reference_file=reference,
            client_request_id=client_request_id or "",
            price=price,
            origin=links.origin(request),
        )
        if generation is None:
            raise ApiError(402, "insufficient_credits", "Not enough credits for this generation.")
        return ok(links.public(generation, request))

    delay = SandboxConfig.load().create_delay_seconds
    try:
        response = api.idempotent(request, ctx, key, api.canonical_hash(body), create, delay=delay)
    except ApiError:
        # A 409 for the key is one of its answers too (a refusal left no record to count on).
        if api.lose_answer(ctx, key, SandboxConfig.load().lose_first_answers):
            return api.dropped_connection(request)
        raise
    config = SandboxConfig.load()
    if api.lose_answer(ctx, key, config.lose_first_answers) or _chance(config.answer_lost_rate):
        # The task and its idempotency record are committed; only the answer is lost.
        return api.dropped_connection(request)
    return response


def _chance(rate: float) -> bool:
    return rate > 0 and secrets.SystemRandom().random() < rate


def _validate_generation(
    body: dict[str, Any], ctx: Context
) -> tuple[str, str, dict[str, str], File | None, str | None]:
    if "files" in body:
        raise validation("There is no top-level files field; use params.referenceMediaItems.")
    unknown = sorted(set(body) - GENERATION_KEYS)
    if unknown:
        raise validation(f"Unknown field: {unknown[0]}.")
    model = body.get("model")
    if not isinstance(model, str) or model not in catalog.MODELS:
        raise validation("model must be the id of an available model.")
    spec = catalog.MODELS[model]
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise validation("prompt is required.")
    if len(prompt.encode("utf-16-le")) // 2 > spec["max_prompt_length"]:
        raise validation(f"prompt must be at most {spec['max_prompt_length']} characters.")
    client_request_id = body.get("client_request_id")
    if client_request_id is not None and (
        not isinstance(client_request_id, str) or len(client_request_id) > 128
    ):
        raise validation("client_request_id must be a string of at most 128 characters.")
    params = body.get("params", {})
    if not isinstance(params, dict):
        raise validation("params must be an object.")
    table = catalog.PARAM_TABLES[model]
    allowed = set(table) | ({"referenceMediaItems"} if spec["reference_media"] else set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise validation(f"Unknown parameter for {model}: {unknown[0]}.")
    for name, param in table.items():
        if name in params and params[name] not in param["options"]:
            options = ", ".join(f'"{option}"' for option in param["options"])
            raise validation(f"params.{name} must be one of {options} (as a string).")
    reference = _validate_references(params.get("referenceMediaItems"), spec, ctx)
    return model, prompt, catalog.resolved_params(model, params), reference, client_request_id


def _validate_references(items: Any, spec: dict[str, Any], ctx: Context) -> File | None:
    if items is None:
        return None
    media = spec["reference_media"]
    if not isinstance(items, list):
        raise validation("params.referenceMediaItems must be a list.")
    if len(items) > media["max_files"]:
        raise validation(f"At most {media['max_files']} reference file is allowed.")
    found = None
    for item in items:
        if not isinstance(item, dict) or set(item) - REFERENCE_KEYS:
            raise validation("Each reference item must be an object with the documented keys.")
        if item.get("kind") not in media["kinds"]:
            raise validation("Reference items must be of kind image.")
        for text_key in ("url", "name", "mimeType", "durationToken"):
            if text_key in item and not isinstance(item[text_key], str):
                raise validation(f"referenceMediaItems[].{text_key} must be a string.")
        duration = item.get("durationSeconds")
        if duration is not None and (
            isinstance(duration, bool) or not isinstance(duration, int | float)
        ):
            raise validation("referenceMediaItems[].durationSeconds must be a number.")
        url = item.get("url")
        found = File.objects.filter(account=ctx.account, url=url, kind="image").first()
        if not url or found is None:
            raise validation("Reference media must use a url returned by the Files API.")
    return found


def get_generation(request: HttpRequest, ctx: Context, task_id: str) -> HttpResponseBase:
    if not Generation.objects.filter(pk=task_id, account=ctx.account).exists():
        raise not_found()
    return ok(links.public(actions.advance(task_id), request))


# --- Files -------------------------------------------------------------------------------


def upload_file(request: HttpRequest, ctx: Context) -> HttpResponseBase:
    content_type = (request.content_type or "").lower()
    if content_type != "multipart/form-data":
        raise validation("Content-Type must be multipart/form-data.")
    try:
        upload = request.FILES.get("file")
        form = request.POST
    except (MultiPartParserError, RequestDataTooBig):
        raise validation("The multipart body could not be read.") from None
    kind = form.get("kind", "")
    model = form.get("model") or ""
    client_request_id = form.get("client_request_id") or ""
    if upload is None:
        raise validation("file is required.")
    if kind not in KIND_MIME_TYPES:
        raise validation("kind must be image, video or audio.")
    if model:
        spec = catalog.MODELS.get(model)
        if spec is None:
            raise validation("model must be the id of an available model.")
        if kind not in spec["file_kinds"]:
            raise validation(f"{model} does not accept {kind} files.")
    if len(client_request_id) > 128:
        raise validation("client_request_id must be at most 128 characters.")
    size = upload.size or 0
    if size == 0:
        raise validation("file is empty.")
    if size > KIND_MAX_BYTES[kind]:
        raise validation(f"The file is larger than the {kind} limit.")
    upload.seek(0)
    head = upload.read(64)
    mime = sniff(head)
    if mime not in KIND_MIME_TYPES[kind]:
        raise validation(f"The file's content is not an accepted {kind} format.")
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    fields = {"kind": kind, "model": model or None, "client_request_id": client_request_id or None}
    request_hash = api.canonical_hash({**fields, "sha256": digest.hexdigest()})

    def create() -> JsonResponse:
        file_id = new_id("file")
        stem = Path(SAFE_NAME.sub("-", upload.name or "")).stem.strip(".-")[:80] or kind
        name = f"{stem}.{EXTENSIONS[mime]}"
        path = conf.data_dir() / "files" / file_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            upload.seek(0)
            for chunk in upload.chunks():
                out.write(chunk)
        file = File.objects.create(
            id=file_id,
            account=ctx.account,
            kind=kind,
            name=name,
            mime_type=mime,
            size_bytes=size,
            model=model,
            client_request_id=client_request_id,
            url=media_url(request, f"files/{file_id}/{name}"),
        )
        return ok(file.to_public())

    key = api.idempotency_key(request)
    return api.idempotent(request, ctx, key, request_hash, create)


def get_file(request: HttpRequest, ctx: Context, file_id: str) -> HttpResponseBase:
    file = File.objects.filter(pk=file_id, account=ctx.account).first()
    if file is None:
        raise not_found()
    return ok(file.to_public())


# --- Webhooks ----------------------------------------------------------------------------


def _endpoint(ctx: Context, endpoint_id: str) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(
        pk=endpoint_id, account=ctx.account, from_settings=False
    ).first()
    if endpoint is None:
        raise not_found()
    return endpoint


def _limit(request: HttpRequest) -> int:
    raw = request.GET.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise validation("limit must be a whole number from 1 to 100.")
    return int(raw)


def _listing(items: list[dict[str, Any]]) -> HttpResponseBase:
    return ok({"object": "list", "data": items})


def _check_webhook_fields(body: dict[str, Any], *, partial: bool) -> None:
    allowed = {"name", "url", "event_types"} | ({"status"} if partial else set())
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise validation(f"Unknown field: {unknown[0]}.")
    if "name" in body and (not isinstance(body["name"], str) or len(body["name"]) > 200):
        raise validation("name must be a string of at most 200 characters.")
    if not partial or "url" in body:
        url = body.get("url")
        if not isinstance(url, str) or not url or len(url) > 2000:
            raise validation("url is required.")
        reason = webhooks.url_rejection(url)
        if reason:
            raise ApiError(400, "webhook_url_rejected", reason)
    if not partial or "event_types" in body:
        types = body.get("event_types")
        if (
            not isinstance(types, list)
            or not types
            or any(t not in webhooks.EVENT_TYPES for t in types)
        ):
            raise validation("event_types must list generation.succeeded and/or generation.failed.")
    if "status" in body and body["status"] not in {"active", "disabled"}:
        raise validation('status must be "active" or "disabled".')


def list_webhooks(request: HttpRequest, ctx: Context) -> HttpResponseBase:
    endpoints = WebhookEndpoint.objects.filter(account=ctx.account, from_settings=False)
    return _listing([e.to_public() for e in endpoints[: _limit(request)]])


def create_webhook(request: HttpRequest, ctx: Context) -> HttpResponseBase:
    body = api.json_body(request)
    _check_webhook_fields(body, partial=False)
    key = api.idempotency_key(request)

    def create() -> JsonResponse:
        endpoint = WebhookEndpoint.objects.create(
            id=new_id("whend"),
            account=ctx.account,
            name=body.get("name", ""),
            url=body["url"],
            event_types=list(dict.fromkeys(body["event_types"])),
            signing_secret=new_id("whsec"),
        )
        return ok(endpoint.to_public(with_secret=True))

    return api.idempotent(request, ctx, key, api.canonical_hash(body), create)


def get_webhook(request: HttpRequest, ctx: Context, endpoint_id: str) -> HttpResponseBase:
    return ok(_endpoint(ctx, endpoint_id).to_public())


def update_webhook(request: HttpRequest, ctx: Context, endpoint_id: str) -> HttpResponseBase:
    endpoint = _endpoint(ctx, endpoint_id)
    body = api.json_body(request)
    _check_webhook_fields(body, partial=True)
    if endpoint.status == WebhookEndpoint.Status.REVOKED:
        raise validation("A revoked endpoint cannot be changed.")
    now = timezone.now()
    endpoint.name = body.get("name", endpoint.name)
    endpoint.url = body.get("url", endpoint.url)
    endpoint.event_types = list(dict.fromkeys(body.get("event_types", endpoint.event_types)))
    if body.get("status") == "disabled" and endpoint.status != "disabled":
        endpoint.status, endpoint.disabled_at = WebhookEndpoint.Status.DISABLED, now
    elif body.get("status") == "active":
        endpoint.status, endpoint.disabled_at = WebhookEndpoint.Status.ACTIVE, None
    endpoint.updated_at = now
    endpoint.save()
    return ok(endpoint.to_public())


def delete_webhook(request: HttpRequest, ctx: Context, endpoint_id: str) -> HttpResponseBase:
    endpoint = _endpoint(ctx, endpoint_id)
    if endpoint.status != WebhookEndpoint.Status.REVOKED:
        now = timezone.now()
        endpoint.status, endpoint.revoked_at, endpoint.updated_at = "revoked", now, now
        endpoint.save(update_fields=["status", "revoked_at", "updated_at"])
    return ok(endpoint.to_public())


def rotate_webhook_secret(request: HttpRequest, ctx: Context, endpoint_id: str) -> HttpResponseBase:
    endpoint = _endpoint(ctx, endpoint_id)
    endpoint.signing_secret = new_id("whsec")
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=["signing_secret", "updated_at"])
    return ok(endpoint.to_public(with_secret=True))


def list_webhook_deliveries(
    request: HttpRequest, ctx: Context, endpoint_id: str
) -> HttpResponseBase:
    endpoint = _endpoint(ctx, endpoint_id)
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    return _listing([d.to_public() for d in deliveries[: _limit(request)]])


def test_webhook(request: HttpRequest, ctx: Context, endpoint_id: str) -> HttpResponseBase:
    endpoint = _endpoint(ctx, endpoint_id)
    body = api.json_body(request) if request.body else {}
    if set(body) - {"event_type"}:
        raise validation("Only event_type may be sent.")
    event_type = body.get("event_type", "generation.succeeded")
    if event_type not in webhooks.EVENT_TYPES:
        raise validation("event_type must be generation.succeeded or generation.failed.")
    if endpoint.status != WebhookEndpoint.Status.ACTIVE:
        raise validation("Only an active endpoint can receive a test event.")
    with transaction.atomic():
        delivery = webhooks.test_event(endpoint, event_type)
    return ok(delivery.to_public())


def list_webhook_events(request: HttpRequest, ctx: Context) -> HttpResponseBase:
    events = ctx.account.events.all()[: _limit(request)]
    return _listing([links.public_event(e, request) for e in events])


# --- Media -------------------------------------------------------------------------------


@require_safe
def media(request: HttpRequest, name: str) -> HttpResponseBase:
    """Result videos/images and uploaded files; no auth.

    Results need the signed, expiring query their URLs carry (:mod:`sandbox.links`);
    uploads are served by their unguessable ids alone, as their URLs are compared exactly
    when given back as references.
    """

    if not re.fullmatch(
        r"task_[A-Za-z0-9]{24}\.(mp4|png)|files/file_[A-Za-z0-9]{24}/[\w.-]+", name
    ):
        return api.error_response(not_found())
    result = name.startswith("task_")
    path = conf.data_dir() / ("media" if result else "") / name
    if not path.is_file():
        return api.error_response(not_found())
    if result and not links.is_valid(name, request.GET.get("expires"), request.GET.get("sig")):
        return HttpResponseForbidden(
            b"This media link has expired or is not valid; read the task again for a new one.\n",
            content_type="text/plain; charset=utf-8",
        )
    content_type = {
        ".mp4": "video/mp4",
        ".png": "image/png",
        ".jpg": "image/jpeg",
        ".webp": "image/webp",
        ".mov": "video/quicktime",
        ".webm": "video/webm",
        ".mp3": "audio/mpeg",
        ".m4a": "audio/mp4",
        ".wav": "audio/wav",
        ".aac": "audio/aac",
        ".ogg": "audio/ogg",
    }.get(path.suffix, "application/octet-stream")
    size = path.stat().st_size
    limit = size // 2 if SandboxConfig.load().truncate_media else None
    handle = path.open("rb")
    etag = f'"{hashlib.sha256(f"{name}:{size}".encode()).hexdigest()[:32]}"'
    return ranges.ranged_file_response(
        request, handle, size=size, content_type=content_type, limit=limit, etag=etag
    )
