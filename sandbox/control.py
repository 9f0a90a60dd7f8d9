"""The control page of the sandbox's fault knobs (``/sandbox/control/``), for superusers.

Its knobs slow, break and top up the sandbox for every process at once, so being staff (who
may only be meant to look after generations in the admin) is not enough.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from sandbox import actions, api
from sandbox.forms import ConfigForm, TaskActionForm, TopUpForm
from sandbox.models import Account, Generation, SandboxConfig


@login_required
def control(request: HttpRequest) -> HttpResponse:
    if not request.user.is_superuser:
        raise PermissionDenied
    config = SandboxConfig.load()
    config_form = ConfigForm(instance=config)
    task_form = TaskActionForm()
    topup_form = TopUpForm()
    if request.method == "POST":
        form_name = request.POST.get("form")
        if form_name == "config":
            config_form = ConfigForm(request.POST, instance=config)
            if config_form.is_valid():
                config_form.save()
                messages.success(request, _("Sandbox settings saved."))
                return redirect("sandbox:control")
        elif form_name == "task":
            task_form = TaskActionForm(request.POST)
            if task_form.is_valid() and _task_action(request, task_form):
                return redirect("sandbox:control")
        elif form_name == "topup":
            topup_form = TopUpForm(request.POST)
            if topup_form.is_valid():
                account = api.builtin_account()
                Account.objects.filter(pk=account.pk).update(
                    balance=F("balance") + topup_form.cleaned_data["credits"]
                )
                messages.success(request, _("Credits added."))
                return redirect("sandbox:control")
    context = {
        "config_form": config_form,
        "task_form": task_form,
        "topup_form": topup_form,
        "builtin": Account.objects.filter(is_builtin=True).first(),
        "generations": Generation.objects.select_related("account")[:20],
    }
    return render(request, "sandbox/control.html", context)


def _task_action(request: HttpRequest, form: TaskActionForm) -> bool:
    task_id = form.cleaned_data["task_id"]
    if not Generation.objects.filter(pk=task_id).exists():
        form.add_error("task_id", _("No task has this id."))
        return False
    action = form.cleaned_data["action"]
    if action == "fail":
        actions.fail(task_id)
    elif action == "fast_forward":
        actions.fast_forward(task_id)
    else:
        actions.set_paused(task_id, action == "pause")
    messages.success(request, _("Task updated."))
    return True
