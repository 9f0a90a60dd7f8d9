from django.urls import path

from generations import detail, downloads, gallery, sharing, views, webhook

urlpatterns = [
    path("", views.home, name="home"),
    path("gallery/", gallery.gallery, name="gallery"),
    path("gallery/download", downloads.gallery_download, name="gallery_download"),
    path("rivya/webhook", webhook.rivya_webhook, name="rivya_webhook"),
    path("cards/updates", views.card_updates, name="card_updates"),
    path("generations/<uuid:pk>/", detail.generation_detail, name="generation_detail"),
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
    # The detail page's actions and share links.
    path(
        "generations/<uuid:pk>/favourite",
        detail.generation_favourite,
        name="generation_favourite",
    ),
    path("generations/<uuid:pk>/delete", detail.generation_delete, name="generation_delete"),
    path("generations/<uuid:pk>/restore", detail.generation_restore, name="generation_restore"),
    path(
        "generations/<uuid:pk>/provenance",
        detail.generation_provenance,
        name="generation_provenance",
    ),
    path("generations/<uuid:pk>/share", sharing.generation_share, name="generation_share"),
    path(
        "generations/<uuid:pk>/share/<int:link_id>/revoke",
        sharing.share_revoke,
        name="share_revoke",
    ),
    path("s/<str:token>/", sharing.shared_page, name="shared_page"),
    path("s/<str:token>/video", sharing.shared_video, name="shared_video"),
    path("s/<str:token>/poster", sharing.shared_poster, name="shared_poster"),
]
