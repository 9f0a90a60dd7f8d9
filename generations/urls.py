from django.urls import path

from generations import views

urlpatterns = [
    path("", views.home, name="home"),
]
