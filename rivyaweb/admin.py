"""The admin site's names: the product's own, in both languages, rather than Django's."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Rivyaweb administration")
admin.site.site_title = _("Rivyaweb admin")
