"""Forms for getting in (sign-up) and for running a team: its name, invitations, roles,
budget and caps."""

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_stubs_ext import StrOrPromise

from teams.models import INVITATION_DAYS, MAX_MONTHLY_CREDITS, Membership, Team, ThemeChoice

# Most uses one invitation link may allow; unlimited is its own choice (an empty field).
MAX_INVITATION_USES = 1000


class SignupForm(UserCreationForm):  # type: ignore[type-arg]
    """Username, email and a password twice, checked by Django's password validators.

    An email address already in use is accepted without a word: refusing it would tell
    anyone which addresses have accounts. The username must be free (that much is
    unavoidable, and the page is throttled per address).
    """

    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("For resetting your password. Nobody else sees it."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined,misc]
        fields = ("username", "email")

    def clean_email(self) -> str:
        return str(self.cleaned_data["email"]).strip().lower()


class TeamForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Team
        fields = ["name"]
        labels = {"name": _("Team name")}
        widgets = {"name": forms.TextInput(attrs={"maxlength": 120, "autocomplete": "off"})}

    def clean_name(self) -> str:
        name = " ".join(str(self.cleaned_data["name"]).split())
        if not name:
            raise forms.ValidationError(_("Give the team a name."), code="required")
        return name


class InvitationForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"))
    expires_in_days = forms.TypedChoiceField(label=_("Valid for"), coerce=int, initial=7)
    max_uses = forms.IntegerField(
        label=_("Uses"),
        min_value=1,
        max_value=MAX_INVITATION_USES,
        required=False,
        initial=1,
        help_text=_("How many people may join with this link; empty for no limit."),
    )
    email = forms.EmailField(
        label=_("Send to (optional)"),
        required=False,
        help_text=_("The link is also emailed to this address."),
    )

    def __init__(self, *args: Any, inviter: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(Membership.Role.choices)
        roles = inviter.invitable_roles()
        field = self.fields["role"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(role, labels[role]) for role in roles]
        field.initial = Membership.Role.MEMBER
        days = self.fields["expires_in_days"]
        assert isinstance(days, forms.ChoiceField)
        # Built per form, so the labels follow the language of the request.
        days.choices = [
            (count, ngettext("%(count)d day", "%(count)d days", count) % {"count": count})
            for count in INVITATION_DAYS
        ]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class MonthlyCreditsField(forms.IntegerField):
    """Whole credits per month, from 0 to ``MAX_MONTHLY_CREDITS``; empty (or blank) for
    no limit."""

    widget = forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def __init__(self, label: StrOrPromise, help_text: StrOrPromise) -> None:
        super().__init__(
            label=label,
            help_text=help_text,
            required=False,
            min_value=0,
            max_value=MAX_MONTHLY_CREDITS,
        )

    def to_python(self, value: Any) -> int | None:
        return super().to_python(value.strip() if isinstance(value, str) else value)


class BudgetForm(forms.Form):
    """The team's monthly budget. Saved through ``credits.limits``, never by the form."""

    monthly_credit_budget = MonthlyCreditsField(
        _("Monthly budget (credits)"), _("Empty means no limit.")
    )


class CapForm(forms.Form):
    """One member's monthly cap. Saved through ``credits.limits``, never by the form."""

    monthly_credit_cap = MonthlyCreditsField(_("Monthly cap (credits)"), _("Empty means no cap."))


class ThemeForm(forms.Form):
    theme = forms.ChoiceField(choices=ThemeChoice.Theme)
