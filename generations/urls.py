from django.urls import path

from generations import views, webhook

urlpatterns = [
    path("", views.home, name="home"),
    path("rivya/webhook", webhook.rivya_webhook, name="rivya_webhook"),
]
