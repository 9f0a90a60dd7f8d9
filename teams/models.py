"""People and teams: teams, memberships with roles, and invitations.

Every object of the product belongs to exactly one team. Roles decide what a member may
do (see ``Membership.Role`` and ``teams.access``); a team always has at least one owner.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The most credits a team's monthly budget or a member's monthly cap may allow: far above
# any real team's use, low enough that a slip of the keyboard is caught.
MAX_MONTHLY_CREDITS = 10_000_000


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120)
    personal = models.BooleanField(_("personal team"), default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Credits the team may spend per calendar month (TIME_ZONE); empty means no limit.
    # Changed through ``credits.limits``, which records who changed it and when.
    monthly_credit_budget = models.PositiveIntegerField(
        _("monthly credit budget"),
        null=True,
        blank=True,
        help_text=_("Credits the team may spend per month. Empty means no limit."),
    )

    class Meta:
        # The tables keep the names they had when teams lived in the generations app.
        db_table = "generations_team"
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("team_detail", args=[self.pk])

    @classmethod
    def start(cls, *, name: str, owner: Any) -> "Team":
        """A new team with ``owner`` as its owner, made their current team."""
        with transaction.atomic():
            team = cls.objects.create(name=name)
            Membership.objects.create(
                team=team, user=owner, role=Membership.Role.OWNER, chosen_at=timezone.now()
            )
        return team

    def locked_memberships(self) -> dict[int, "Membership"]:
        """The team's memberships, locked until the transaction ends, by primary key.

        Every change of who is in the team or in which role reads them this way, so two
        owners stepping down at once cannot leave the team without one.
        """
        rows = Membership.objects.select_for_update().filter(team=self).order_by("pk")
        return {membership.pk: membership for membership in rows.select_related("user")}


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.MEMBER)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)
    # The team a user works in is the one they chose last (their first team until then).
    chosen_at = models.DateTimeField(_("last chosen"), null=True, blank=True)
    # Credits this member may spend in this team per month, within the team's budget.
    # Changed through ``credits.limits``, like the team's budget.
    monthly_credit_cap = models.PositiveIntegerField(
        _("monthly credit cap"),
        null=True,
        blank=True,
        help_text=_("Credits this member may spend per month. Empty means no cap."),
    )

    class Meta:
        db_table = "generations_membership"
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.team} ({self.role})"

    @property
    def is_manager(self) -> bool:
        """Owners and admins run the team: invitations, members, others' videos, credits."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN)

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.role]

    def invitable_roles(self) -> list[str]:
        """Roles this member may invite with: none above their own, and never owner
        (ownership is handed over, not given by a link)."""
        if not self.is_manager:
            return []
        return [
            role for role in (self.Role.ADMIN, self.Role.MEMBER) if ROLE_RANK[role] <= self.rank
        ]

    def assignable_roles(self) -> list[str]:
        """Roles this member may give others: only an owner makes owners."""
        if self.role == self.Role.OWNER:
            return list(self.Role.values)
        if self.role == self.Role.ADMIN:
            return [self.Role.ADMIN, self.Role.MEMBER]
        return []

    def may_manage(self, other: "Membership") -> bool:
        """Whether this member may change ``other``'s role or remove them: managers manage
        others, and only an owner touches an owner."""
        if other.pk == self.pk or not self.is_manager:
            return False
        return other.role != self.Role.OWNER or self.role == self.Role.OWNER

    def set_role(self, role: str, *, by: "Membership") -> None:
        """Give this member ``role``, as ``by`` asks; rules checked on locked rows."""
        with transaction.atomic():
            rows = self.team.locked_memberships()
            target, actor = _both(rows, self, by)
            if role not in actor.assignable_roles() or not actor.may_manage(target):
                raise ValidationError(_("You may not give this role."), code="forbidden")
            target.role = role
            target.save(update_fields=["role"])
            self.role = role

    def remove(self, *, by: "Membership") -> None:
        """Take this member out of the team, as ``by`` asks."""
        with transaction.atomic():
            rows = self.team.locked_memberships()
            target, actor = _both(rows, self, by)
            if not actor.may_manage(target):
                raise ValidationError(_("You may not remove this member."), code="forbidden")
            target.delete()

    def hand_over(self, to: "Membership") -> None:
        """Make ``to`` an owner of the team and this owner an admin, in one step."""
        with transaction.atomic():
            rows = self.team.locked_memberships()
            actor, target = _both(rows, self, to)
            if actor.role != self.Role.OWNER or target.pk == actor.pk:
                raise ValidationError(_("Only an owner can hand over ownership."), code="forbidden")
            target.role = self.Role.OWNER
            target.save(update_fields=["role"])
            actor.role = self.Role.ADMIN
            actor.save(update_fields=["role"])
            self.role = actor.role

    def leave(self) -> None:
        """Leave the team: never its last owner, never one's last team."""
        with transaction.atomic():
            rows = self.team.locked_memberships()
            me = rows.get(self.pk)
            if me is None:
                return  # already gone
            owners = [row for row in rows.values() if row.role == self.Role.OWNER]
            if owners == [me]:
                raise ValidationError(
                    _("You are this team's only owner: make someone else owner before leaving."),
                    code="last_owner",
                )
            if not Membership.objects.filter(user_id=self.user_id).exclude(pk=self.pk).exists():
                raise ValidationError(
                    _("This is your only team: create or join another one before leaving."),
                    code="last_team",
                )
            me.delete()


ROLE_RANK: dict[str, int] = {
    Membership.Role.OWNER: 3,
    Membership.Role.ADMIN: 2,
    Membership.Role.MEMBER: 1,
}


def _both(
    rows: dict[int, Membership], first: Membership, second: Membership
) -> tuple[Membership, Membership]:
    """The locked, fresh rows of two memberships of one team; gone rows are refused."""
    if first.pk not in rows or second.pk not in rows:
        raise ValidationError(_("That person is no longer in the team."), code="gone")
    return rows[first.pk], rows[second.pk]


def hash_token(token: str) -> str:
    """Tokens are stored as their SHA-256 only: a database leak reveals no usable link."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh URL-safe token and its hash."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


INVITATION_DAYS = (1, 7, 30)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def usable(self, now: datetime | None = None) -> "InvitationQuerySet":
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now).exclude(
            max_uses__isnull=False, uses__gte=F("max_uses")
        )


class Invitation(models.Model):
    """A link that lets whoever holds it join a team with a role.

    The token is shown once, when the invitation is made; only its hash is stored.
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    role = models.CharField(
        _("role"), max_length=16, choices=Membership.Role, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(_("sent to"), blank=True)
    max_uses = models.PositiveIntegerField(_("uses allowed"), null=True, blank=True)
    uses = models.PositiveIntegerField(_("times used"), default=0)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.team} ({self.role})"

    @classmethod
    def make(
        cls, *, team: Team, by: Any, role: str, days: int, max_uses: int | None, email: str = ""
    ) -> tuple["Invitation", str]:
        token, token_hash = new_token()
        invitation = cls.objects.create(
            team=team,
            created_by=by,
            role=role,
            token_hash=token_hash,
            email=email,
            max_uses=max_uses,
            expires_at=timezone.now() + timedelta(days=days),
        )
        return invitation, token

    @classmethod
    def find(cls, token: str) -> "Invitation | None":
        """The usable invitation whose link carries ``token``, if any."""
        if not token or len(token) > 128:
            return None
        return (
            cls.objects.usable().select_related("team").filter(token_hash=hash_token(token)).first()
        )

    def accept(self, user: Any) -> Membership:
        """Let ``user`` join the team with the invitation's role, using the invitation once.

        The use is counted by a conditional UPDATE, so parallel accepts of a single-use link
        make one member; an invitation no longer usable, or a user already in the team,
        is refused with a ``ValidationError`` and nothing changes.
        """
        already = ValidationError(
            _("You are already a member of %(team)s.") % {"team": self.team},
            code="already_member",
        )
        try:
            with transaction.atomic():
                if Membership.objects.filter(team_id=self.team_id, user=user).exists():
                    raise already
                used = Invitation.objects.usable().filter(pk=self.pk).update(uses=F("uses") + 1)
                if used != 1:
                    raise ValidationError(_("This invitation is no longer valid."), code="invalid")
                return Membership.objects.create(
                    team_id=self.team_id, user=user, role=self.role, chosen_at=timezone.now()
                )
        except IntegrityError:
            raise already from None  # the same person accepting twice at once

    def revoke(self) -> None:
        Invitation.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None or self.expires_at <= timezone.now():
            return False
        return self.max_uses is None or self.uses < self.max_uses


class ThemeChoice(models.Model):
    """The theme a person chose for the app and the admin; no row means Auto.

    Kept on the server so it follows them to every browser they sign in on; signed-out
    pages read the same choice from a cookie (``teams.themes``).
    """

    class Theme(models.TextChoices):
        AUTO = "auto", _("Auto")
        LIGHT = "light", _("Light")
        DARK = "dark", _("Dark")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="theme_choice",
        verbose_name=_("user"),
    )
    theme = models.CharField(_("theme"), max_length=8, choices=Theme, default=Theme.AUTO)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("theme choice")
        verbose_name_plural = _("theme choices")

    def __str__(self) -> str:
        return f"{self.user}: {self.theme}"
