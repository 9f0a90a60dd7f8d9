from django.urls import path

from generations import gallery, views, webhook

urlpatterns = [
    path("", views.home, name="home"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("rivya/webhook", webhook.rivya_webhook, name="rivya_webhook"),
    path("cards/updates", views.card_updates, name="card_updates"),
    path("generations/<uuid:pk>/", views.generation_detail, name="generation_detail"),
    path("generations/<uuid:pk>/retry", views.generation_retry, name="generation_retry"),
    path("generations/<uuid:pk>/video", views.generation_video, name="generation_video"),
    path("generations/<uuid:pk>/poster", views.generation_poster, name="generation_poster"),
    path("generations/<uuid:pk>/preview", views.generation_preview, name="generation_preview"),
    path(
        "generations/<uuid:pk>/reference",
        views.generation_reference,
        name="generation_reference",
    ),
    path("uploads/<str:token>/preview", views.reference_preview, name="reference_preview"),
]
