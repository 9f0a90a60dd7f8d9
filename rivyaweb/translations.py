"""Django's own words that its Vietnamese catalogue gets wrong or misses, put in ours.

Our catalogue (``LOCALE_PATHS``) is read before Django's, so a string marked here and
translated in ``locale/vi`` replaces Django's translation. Nothing imports these names:
marking them is enough for ``makemessages`` to keep them in the catalogue.

- ``timesince`` asks for ``%(num)d minute``, but Django's Vietnamese catalogue only has the
  old ``%d minute``: without these, "deleted 5 minutes ago" stays English on a Vietnamese page.
- The username help text on the sign-up form reads "Request." for "Required." in Django's
  catalogue.
"""

from django.utils.translation import gettext_lazy, ngettext_lazy

TIMESINCE = (
    ngettext_lazy("%(num)d year", "%(num)d years", "num"),
    ngettext_lazy("%(num)d month", "%(num)d months", "num"),
    ngettext_lazy("%(num)d week", "%(num)d weeks", "num"),
    ngettext_lazy("%(num)d day", "%(num)d days", "num"),
    ngettext_lazy("%(num)d hour", "%(num)d hours", "num"),
    ngettext_lazy("%(num)d minute", "%(num)d minutes", "num"),
)

USERNAME_HELP = gettext_lazy(
    "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."
)
