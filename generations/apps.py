from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = _("Generations")

    def ready(self) -> None:
        # Connects the signal receivers (a personal team on first login).
        from generations import accounts  # noqa: F401
