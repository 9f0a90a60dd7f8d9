"""Forms: a staff adjustment of the ledger."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from credits.models import CreditEntry


class AdjustmentForm(forms.ModelForm[CreditEntry]):
    """What staff say about a change of Rivya's balance outside a generation; the entry
    itself is written by ``credits.ledger.adjust`` (kind, author and time are not asked)."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why Rivya's balance changed: a top-up, a refund by Rivya's support…"),
    )

    class Meta:
        model = CreditEntry
        fields = ["amount", "team", "user"]
        help_texts = {
            "amount": _("Credits added (positive) or taken away (negative); never zero."),
            "team": _("Empty for the whole account (a top-up, say)."),
            "user": _("Optional: the member of the team it concerns."),
        }

    def clean_amount(self) -> int:
        amount: int = self.cleaned_data["amount"]
        if amount == 0:
            raise ValidationError(
                _("An adjustment of zero credits changes nothing."), code="zero_amount"
            )
        return amount

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("user") is not None and cleaned.get("team") is None:
            self.add_error(
                "team",
                ValidationError(
                    _("Choose the team of the member the adjustment concerns."),
                    code="team_needed",
                ),
            )
        return cleaned
