from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = _("Teams")

    def ready(self) -> None:
        # Connects the signal receivers (a personal team on first login, the theme chosen
        # before signing in).
        from teams import access, themes  # noqa: F401
