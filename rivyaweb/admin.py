"""The admin site's names: the product's own, in both languages, rather than Django's; and
tabular inlines whose fields each have an accessible name."""

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms import BaseInlineFormSet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Rivyaweb administration")
admin.site.site_title = _("Rivyaweb admin")


class LabelledInlineFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """An inline formset whose every control carries its own accessible name.

    A tabular inline names its columns in the table's head only, so each field in a row has
    no label of its own (axe: "Form elements must have labels", critical): a screen reader
    hears "combo box" and nothing more. Each visible widget is named by its column and its
    row: "Role, owner @ Studio (owner)", or "Role, new row 2".
    """

    def add_fields(self, form: Any, index: int | None) -> None:
        super().add_fields(form, index)
        if form.instance.pk is not None:
            row = str(form.instance)
        elif index is None:
            row = str(_("new row"))
        else:
            row = str(_("new row %(number)s") % {"number": index + 1})
        for field in form.fields.values():
            if field.widget.is_hidden:
                continue
            name = _("%(column)s, %(row)s") % {"column": capfirst(field.label or ""), "row": row}
            # The admin wraps a related field's widget; the wrapper's attrs are the original
            # widget's, shared by every row, while the wrapped copy is the one drawn.
            widget = getattr(field.widget, "widget", field.widget)
            widget.attrs["aria-label"] = str(name)


class LabelledTabularInline[M: Model, P: Model](admin.TabularInline[M, P]):
    """A tabular inline whose fields each have an accessible name (see above)."""

    formset = LabelledInlineFormSet
