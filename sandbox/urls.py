from typing import Any

from django.conf import settings
from django.urls import Resolver404, URLResolver, include, path, re_path
from django.urls.resolvers import ResolverMatch, RoutePattern

from sandbox import control, views
from sandbox.api import Method, route

app_name = "sandbox"

WEBHOOKS = "webhooks:manage"

urlpatterns = [
    path("api/v1/", views.unknown_route, name="api-root"),
    path("api/v1/models", route(GET=Method(views.list_models, None)), name="models"),
    path("api/v1/openapi.json", route(GET=Method(views.openapi_document, None)), name="openapi"),
    path("api/v1/credits", route(GET=Method(views.get_credits, "credits:read")), name="credits"),
    path(
        "api/v1/generations",
        route(POST=Method(views.create_generation, "generations:create", "generations")),
        name="generations",
    ),
    path(
        "api/v1/generations/<str:task_id>",
        route(GET=Method(views.get_generation, "generations:read")),
        name="generation",
    ),
    path(
        "api/v1/files",
        route(POST=Method(views.upload_file, "files:create", "files")),
        name="files",
    ),
    path(
        "api/v1/files/<str:file_id>", route(GET=Method(views.get_file, "files:read")), name="file"
    ),
    path(
        "api/v1/webhooks",
        route(
            GET=Method(views.list_webhooks, WEBHOOKS), POST=Method(views.create_webhook, WEBHOOKS)
        ),
        name="webhooks",
    ),
    path(
        "api/v1/webhooks/<str:endpoint_id>",
        route(
            GET=Method(views.get_webhook, WEBHOOKS),
            PATCH=Method(views.update_webhook, WEBHOOKS),
            DELETE=Method(views.delete_webhook, WEBHOOKS),
        ),
        name="webhook",
    ),
    path(
        "api/v1/webhooks/<str:endpoint_id>/rotate-secret",
        route(POST=Method(views.rotate_webhook_secret, WEBHOOKS)),
        name="webhook-rotate",
    ),
    path(
        "api/v1/webhooks/<str:endpoint_id>/deliveries",
        route(GET=Method(views.list_webhook_deliveries, WEBHOOKS)),
        name="webhook-deliveries",
    ),
    path(
        "api/v1/webhooks/<str:endpoint_id>/test",
        route(POST=Method(views.test_webhook, WEBHOOKS)),
        name="webhook-test",
    ),
    path(
        "api/v1/webhook-events",
        route(GET=Method(views.list_webhook_events, WEBHOOKS)),
        name="webhook-events",
    ),
    re_path(r"^api/(?P<rest>.*)$", views.unknown_route),
    path("media/<path:name>", views.media, name="media"),
    path("control/", control.control, name="control"),
]


class SandboxResolver(URLResolver):
    """``/sandbox/``, matched only while ``settings.RIVYA_SANDBOX`` is true.

    With a real ``RIVYA_API_KEY`` nothing under ``/sandbox/`` exists: not the API, its media,
    nor the control page; the site answers its plain 404, before any middleware sees a view
    (so not even a CSRF refusal tells the sandbox is there). Read on every request, as URL
    confs are built once per process; a test's ``settings`` fixture switches it too.
    """

    def resolve(self, path: Any) -> ResolverMatch:
        if not settings.RIVYA_SANDBOX:
            raise Resolver404({"tried": [], "path": path})
        return super().resolve(path)


def mount(prefix: str = "sandbox/") -> SandboxResolver:
    """The sandbox's URL conf at ``prefix``, for the project's ``urlpatterns``."""
    urlconf, app_name, namespace = include("sandbox.urls")
    return SandboxResolver(
        RoutePattern(prefix, is_endpoint=False), urlconf, app_name=app_name, namespace=namespace
    )
