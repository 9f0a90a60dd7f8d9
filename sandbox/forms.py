from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sandbox.models import SandboxConfig


class ConfigForm(forms.ModelForm[SandboxConfig]):
    class Meta:
        model = SandboxConfig
        fields = [
            "public_api_disabled",
            "error_rate",
            "drop_rate",
            "slow_seconds",
            "task_failure_rate",
            "truncate_media",
            "answer_lost_rate",
            "queued_seconds",
            "processing_seconds",
            "rate_window_seconds",
            "rate_limit_generations",
            "rate_limit_files",
            "rate_limit_other",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("error_rate", "drop_rate", "task_failure_rate", "answer_lost_rate"):
            value = data.get(name)
            if value is not None and not 0 <= value <= 1:
                self.add_error(name, forms.ValidationError(_("Use a value from 0 to 1."), "range"))
        for name in ("slow_seconds", "queued_seconds", "processing_seconds"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, forms.ValidationError(_("Must not be negative."), "range"))
        return data


class TaskActionForm(forms.Form):
    ACTIONS = [
        ("fail", _("Force fail")),
        ("fast_forward", _("Fast-forward")),
        ("pause", _("Pause")),
        ("resume", _("Resume")),
    ]
    task_id = forms.CharField(label=_("Task id"), max_length=40)
    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)


class TopUpForm(forms.Form):
    credits = forms.IntegerField(label=_("Credits to add"), min_value=1, max_value=10_000_000)
