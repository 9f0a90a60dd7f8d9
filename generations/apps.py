from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GenerationsConfig(AppConfig):
    name = "generations"
    verbose_name = _("Generations")

    def ready(self) -> None:
        from django.core import checks as django_checks
        from django.db.backends.signals import connection_created

        from generations import checks, gallery

        django_checks.register(checks.check_rivya_settings)
        django_checks.register(checks.check_storage_settings)
        django_checks.register(checks.check_debug_settings)
        connection_created.connect(gallery.register_fold, dispatch_uid="generations.fold")
