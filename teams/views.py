"""Getting in (sign-up, password reset) and running teams (settings, members, invitations).

Every view that touches a team reaches it through ``teams.access``: a team the user is not
in is a 404, an action their role does not allow a 403 (and its control is not shown).
Each action is a POST that redirects back to the team's page with a message; the only
exception is making an invitation, whose answer shows the link once.
"""

import logging
import smtplib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    JsonResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from credits import limits
from rivyaweb import login_throttle
from teams import access, themes
from teams.forms import (
    BudgetForm,
    CapForm,
    InvitationForm,
    RoleForm,
    SignupForm,
    TeamForm,
    ThemeForm,
)
from teams.models import Invitation, Membership, Team

logger = logging.getLogger(__name__)

FORM_METHODS = ["GET", "HEAD", "POST"]


# --- Getting in ---------------------------------------------------------------------------


@sensitive_post_parameters("password1", "password2")
@require_http_methods(FORM_METHODS)
def signup(request: HttpRequest) -> HttpResponse:
    """Make an account: open when ALLOW_SIGNUP is on, always through a valid invitation."""
    token = request.GET.get("invite", "")
    invitation = Invitation.find(token) if token else None
    if token and invitation is None:
        return invitation_invalid(request)
    if invitation is None and not settings.ALLOW_SIGNUP:
        return render(request, "registration/signup_closed.html", status=404)
    if request.user.is_authenticated:
        return redirect(_invitation_url(token) if invitation else reverse("home"))
    data = request.POST if request.method == "POST" else None
    form = SignupForm(data, initial={"email": invitation.email if invitation else ""})
    if request.method == "POST":
        attempt = login_throttle.take_address_attempt(request)
        if attempt is not None and form.is_valid():
            return _sign_up(request, form, invitation, attempt)
    return _signup_page(request, form, invitation)


def _signup_page(
    request: HttpRequest, form: SignupForm, invitation: Invitation | None
) -> HttpResponse:
    context = {
        "form": form,
        "invitation": invitation,
        # Someone invited who already has an account logs in and comes back to the link.
        "login_next": _invitation_url(request.GET["invite"]) if invitation else "",
    }
    return render(request, "registration/signup.html", context)


def _sign_up(
    request: HttpRequest, form: SignupForm, invitation: Invitation | None, attempt: str
) -> HttpResponse:
    try:
        with transaction.atomic():
            user = form.save()
            # Every new account has a team of its own; joining through an invitation then
            # makes the inviting team the one the new person works in.
            access.ensure_personal_team(user)
            if invitation is not None:
                invitation.accept(user)
    except ValidationError:
        return invitation_invalid(request)  # used up or revoked while the form was filled
    except IntegrityError:
        # The same username taken by a sign-up that finished a moment earlier.
        form.add_error(
            "username", form.instance.unique_error_message(type(form.instance), ["username"])
        )
        return _signup_page(request, form, invitation)
    login_throttle.give_back(attempt)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if invitation is not None:
        messages.success(request, _("Welcome! You joined %(team)s.") % {"team": invitation.team})
    return redirect(settings.LOGIN_REDIRECT_URL)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, counted per client address: each answer sends an email."""

    http_method_names = ["get", "post", "head", "options"]
    email_template_name = "registration/password_reset_email.txt"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if login_throttle.take_address_attempt(request) is None:
            return HttpResponse(status=429)  # the throttle's middleware writes the page
        return super().post(request, *args, **kwargs)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view checks the link before the method; here a method it does not take is
    refused first, like everywhere else."""

    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if (request.method or "").lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)


# --- Teams --------------------------------------------------------------------------------


@login_required
@require_http_methods(FORM_METHODS)
def team_list(request: HttpRequest) -> HttpResponse:
    """The user's teams, and a form to start a new one (its maker is its owner)."""
    form = TeamForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        team = Team.start(name=form.cleaned_data["name"], owner=request.user)
        messages.success(request, _("Team %(team)s created. Invite people below.") % {"team": team})
        return redirect(team)
    current = access.current_membership(request)
    memberships = access.user_memberships(request.user).order_by("team__name")
    context = {"form": form, "memberships": memberships, "current": current}
    return render(request, "teams/team_list.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "HEAD"])
def team_detail(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = access.get_membership(request, team_id)
    return _team_page(request, membership)


def _team_page(
    request: HttpRequest,
    membership: Membership,
    *,
    invitation_form: InvitationForm | None = None,
    rename_form: TeamForm | None = None,
    budget_form: BudgetForm | None = None,
    cap_form: tuple[int, CapForm] | None = None,
    status: int = 200,
    invite_url: str = "",
) -> HttpResponse:
    team = membership.team
    members = sorted(
        team.memberships.select_related("user"),
        key=lambda other: (-other.rank, other.user.get_username().casefold()),
    )
    may_invite = access.may(membership, "invite")
    overview = limits.team_overview(team, members)
    owners = [other for other in members if other.role == Membership.Role.OWNER]
    context = {
        "last_owner": owners == [membership],
        "team": team,
        "membership": membership,
        "rows": [(other, membership.may_manage(other)) for other in members],
        "role_choices": [
            (value, label)
            for value, label in Membership.Role.choices
            if value in membership.assignable_roles()
        ],
        "may_rename": access.may(membership, "rename_team"),
        "may_invite": may_invite,
        "is_owner": membership.role == Membership.Role.OWNER,
        "rename_form": rename_form or TeamForm(instance=team),
        "invitation_form": invitation_form or InvitationForm(inviter=membership),
        "invitations": team.invitations.usable().select_related("created_by") if may_invite else [],
        "invite_url": invite_url,
        "overview": overview,
        "may_set_budget": access.may(membership, "set_budget"),
        "budget_form": budget_form
        or BudgetForm(initial={"monthly_credit_budget": team.monthly_credit_budget}),
        "member_limits": _member_limits(overview, cap_form),
    }
    return render(request, "teams/team_detail.html", context, status=status)


def _member_limits(
    overview: limits.TeamOverview, bound: tuple[int, CapForm] | None
) -> list[tuple[limits.MemberSpend, CapForm]]:
    """Each member's month beside the form that sets their cap (the one just refused, with
    its errors, for the member it was sent for)."""
    rows = []
    for row in overview.members:
        pk = row.membership.pk
        if bound is not None and bound[0] == pk:
            form = bound[1]
        else:
            form = CapForm(
                initial={"monthly_credit_cap": row.membership.monthly_credit_cap},
                auto_id=f"id_cap_{pk}_%s",
            )
        rows.append((row, form))
    return rows


@login_required
@require_POST
def team_rename(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = access.get_membership(request, team_id)
    access.require(membership, "rename_team")
    form = TeamForm(request.POST, instance=membership.team)
    if not form.is_valid():
        return _team_page(request, membership, rename_form=form, status=400)
    form.save()
    messages.success(request, _("The team is now called %(team)s.") % {"team": form.instance})
    return redirect(membership.team)


@login_required
@require_POST
def team_budget(request: HttpRequest, team_id: int) -> HttpResponse:
    """Set or clear the team's monthly budget (owners only)."""
    membership = access.get_membership(request, team_id)
    access.require(membership, "set_budget")
    form = BudgetForm(request.POST)
    if not form.is_valid():
        return _team_page(request, membership, budget_form=form, status=400)
    team = membership.team
    budget = form.cleaned_data["monthly_credit_budget"]
    if not limits.set_team_budget(team, budget, by=request.user):
        messages.info(request, _("The budget was already that; nothing changed."))
    elif budget is None:
        messages.success(request, _("The team now has no monthly budget."))
    else:
        done = _("The team's monthly budget is now %(credits)s credits.")
        messages.success(request, done % {"credits": number_format(budget, force_grouping=True)})
        above = ", ".join(other.user.get_username() for other in limits.caps_above(team))
        if above:
            warning = _("Caps above the budget, which stops these members first: %(names)s.")
            messages.warning(request, warning % {"names": above})
    return redirect(team)


@login_required
@require_POST
def member_cap(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    """Set or clear one member's monthly cap (owners only)."""
    membership = access.get_membership(request, team_id)
    access.require(membership, "set_budget")
    other = _member(membership, membership_id)
    form = CapForm(request.POST, auto_id=f"id_cap_{other.pk}_%s")
    if not form.is_valid():
        return _team_page(request, membership, cap_form=(other.pk, form), status=400)
    cap = form.cleaned_data["monthly_credit_cap"]
    try:
        changed = limits.set_member_cap(other, cap, by=request.user)
    except Membership.DoesNotExist:
        messages.error(request, _("That person is no longer in the team."))
    else:
        _say_cap_set(request, other, changed)
    return redirect(membership.team)


def _say_cap_set(request: HttpRequest, other: Membership, changed: bool) -> None:
    cap, budget = other.monthly_credit_cap, other.team.monthly_credit_budget
    names = {
        "user": other.user.get_username(),
        "credits": number_format(cap, force_grouping=True) if cap is not None else "",
        "budget": number_format(budget, force_grouping=True) if budget is not None else "",
    }
    if not changed:
        messages.info(request, _("The cap was already that; nothing changed."))
    elif cap is None:
        messages.success(request, _("%(user)s now has no monthly cap.") % names)
    else:
        messages.success(request, _("%(user)s may now spend %(credits)s credits a month.") % names)
        if budget is not None and cap > budget:
            warning = _(
                "This cap is above the team's budget of %(budget)s credits, "
                "which stops %(user)s first."
            )
            messages.warning(request, warning % names)


@login_required
@require_POST
def invitation_create(request: HttpRequest, team_id: int) -> HttpResponse:
    """Make an invitation link; the answer is the one page that ever shows it."""
    membership = access.get_membership(request, team_id)
    access.require(membership, "invite")
    form = InvitationForm(request.POST, inviter=membership)
    if not form.is_valid():
        return _team_page(request, membership, invitation_form=form, status=400)
    data = form.cleaned_data
    invitation, token = Invitation.make(
        team=membership.team,
        by=request.user,
        role=data["role"],
        days=data["expires_in_days"],
        max_uses=data["max_uses"],
        email=data["email"],
    )
    url = request.build_absolute_uri(_invitation_url(token))
    if invitation.email:
        _send_invitation(request, invitation, url)
    response = _team_page(request, membership, invite_url=url)
    # The link is a credential: no cache keeps a copy of the page that shows it.
    patch_cache_control(response, no_store=True)
    return response


def _send_invitation(request: HttpRequest, invitation: Invitation, url: str) -> None:
    context = {"invitation": invitation, "url": url, "inviter": request.user}
    subject = render_to_string("teams/invitation_subject.txt", context, request).strip()
    body = render_to_string("teams/invitation_email.txt", context, request)
    try:
        send_mail(subject, body, None, [invitation.email])
    except (smtplib.SMTPException, OSError) as exc:
        # The error's class only: an SMTP answer may quote the address or credentials.
        logger.warning("Invitation %s: email not sent (%s)", invitation.pk, type(exc).__name__)
        messages.warning(request, _("The email could not be sent. Share the link below yourself."))
    else:
        messages.success(
            request, _("The link was sent to %(email)s.") % {"email": invitation.email}
        )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, team_id: int, invitation_id: int) -> HttpResponse:
    membership = access.get_membership(request, team_id)
    access.require(membership, "invite")
    # Only this team's invitations: another team's id is a 404 like any unknown one.
    invitation = get_object_or_404(Invitation, pk=invitation_id, team=membership.team)
    invitation.revoke()
    messages.success(request, _("The invitation was revoked; its link no longer works."))
    return redirect(membership.team)


def _member(membership: Membership, membership_id: int) -> Membership:
    """Another membership of the same team, else 404."""
    return get_object_or_404(
        Membership.objects.select_related("user", "team"),
        pk=membership_id,
        team=membership.team,
    )


def _refused(request: HttpRequest, membership: Membership, error: ValidationError) -> HttpResponse:
    if error.code == "forbidden":
        raise PermissionDenied
    messages.error(request, error.messages[0])
    return redirect(membership.team)


@login_required
@require_POST
def member_role(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    membership = access.get_membership(request, team_id)
    access.require(membership, "change_role")
    other = _member(membership, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles offered."))
        return redirect(membership.team)
    try:
        other.set_role(form.cleaned_data["role"], by=membership)
    except ValidationError as error:
        return _refused(request, membership, error)
    messages.success(
        request,
        _("%(user)s is now %(role)s.")
        % {"user": other.user.get_username(), "role": other.get_role_display()},
    )
    return redirect(membership.team)


@login_required
@require_POST
def member_remove(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    membership = access.get_membership(request, team_id)
    access.require(membership, "remove_member")
    other = _member(membership, membership_id)
    try:
        other.remove(by=membership)
    except ValidationError as error:
        return _refused(request, membership, error)
    messages.success(
        request, _("%(user)s is no longer in the team.") % {"user": other.user.get_username()}
    )
    return redirect(membership.team)


@login_required
@require_POST
def member_hand_over(request: HttpRequest, team_id: int, membership_id: int) -> HttpResponse:
    """Make another member owner and step down to admin."""
    membership = access.get_membership(request, team_id)
    access.require(membership, "hand_over_ownership")
    other = _member(membership, membership_id)
    try:
        membership.hand_over(other)
    except ValidationError as error:
        return _refused(request, membership, error)
    messages.success(
        request,
        _("%(user)s now owns the team; you are an admin.") % {"user": other.user.get_username()},
    )
    return redirect(membership.team)


@login_required
@require_POST
def team_leave(request: HttpRequest, team_id: int) -> HttpResponse:
    membership = access.get_membership(request, team_id)
    try:
        membership.leave()
    except ValidationError as error:
        return _refused(request, membership, error)
    messages.success(request, _("You left %(team)s.") % {"team": membership.team})
    return redirect("team_list")


@login_required
@require_POST
def team_switch(request: HttpRequest) -> HttpResponse:
    """Work in another of one's teams (remembered across logins), then go back."""
    access.choose_team(request, request.POST.get("team"))
    return redirect(_next_page(request))


def _next_page(request: HttpRequest) -> str:
    """The page a header form came from (its ``next`` field), when it is one of ours."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    return target


@require_POST
def theme_set(request: HttpRequest) -> HttpResponse:
    """Draw the app and the admin in the chosen theme, signed in or not.

    A plain form post goes back to the page it came from; the header's script asks for
    JSON and switches the page without reloading it.
    """
    form = ThemeForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Choose Auto, Light or Dark."))
    theme = form.cleaned_data["theme"]
    response: HttpResponse
    if request.accepts("application/json") and not request.accepts("text/html"):
        response = JsonResponse({"theme": theme})
    else:
        response = redirect(_next_page(request))
    themes.remember_theme(request, response, theme)
    return response


# --- Invitations, from the invited side ------------------------------------------------------


def _invitation_url(token: str) -> str:
    return reverse("invitation", args=[token])


def invitation_invalid(request: HttpRequest) -> HttpResponse:
    response = render(request, "teams/invitation_invalid.html", status=404)
    add_never_cache_headers(response)
    return response


@require_http_methods(FORM_METHODS)
def invitation(request: HttpRequest, token: str) -> HttpResponseBase:
    """What an invitation offers, and joining with one POST."""
    found = Invitation.find(token)
    if found is None:
        return invitation_invalid(request)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={_invitation_url(token)}")
        try:
            found.accept(request.user)  # the new membership is the current team
        except ValidationError as error:
            if error.code != "already_member":
                return invitation_invalid(request)
            messages.info(request, error.messages[0])  # and nothing changes
        else:
            messages.success(request, _("You joined %(team)s.") % {"team": found.team})
        return redirect("home")
    already = (
        request.user.is_authenticated
        and Membership.objects.filter(team_id=found.team_id, user=request.user).exists()
    )
    context = {
        "invitation": found,
        "already_member": already,
        "token": token,
        "login_url": f"{reverse('login')}?next={_invitation_url(token)}",
        "signup_url": f"{reverse('signup')}?invite={token}",
    }
    response = render(request, "teams/invitation.html", context)
    add_never_cache_headers(response)
    return response
