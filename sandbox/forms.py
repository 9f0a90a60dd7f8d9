import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from sandbox.models import SandboxConfig

# host, IPv4 address or [IPv6 address], then an optional :port; no scheme, path or user.
MEDIA_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


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
            "create_delay_seconds",
            "lose_first_answers",
            "media_host",
            "media_url_ttl_seconds",
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
        for name in (
            "slow_seconds",
            "create_delay_seconds",
            "queued_seconds",
            "processing_seconds",
        ):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, forms.ValidationError(_("Must not be negative."), "range"))
        if data.get("media_url_ttl_seconds") == 0:
            self.add_error(
                "media_url_ttl_seconds",
                forms.ValidationError(_("Use at least one second."), "range"),
            )
        host = data.get("media_host")
        if host and not MEDIA_HOST.fullmatch(host):
            self.add_error(
                "media_host",
                forms.ValidationError(
                    _("Give a host name or address, with a port if needed, and nothing else."),
                    "invalid",
                ),
            )
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
