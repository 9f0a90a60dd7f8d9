"""People and teams: teams, memberships with roles, and invitations.

Every object of the product belongs to exactly one team. Roles decide what a member may
do (see ``Membership.Role`` and ``teams.access``); a team always has at least one owner.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=120)
    personal = models.BooleanField(_("personal team"), default=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        # The tables keep the names they had when teams lived in the generations app.
        db_table = "generations_team"
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role, default=Role.MEMBER)
    created_at = models.DateTimeField(_("joined"), auto_now_add=True)
    # The team a user works in is the one they chose last (their first team until then).
    chosen_at = models.DateTimeField(_("last chosen"), null=True, blank=True)

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
            max_uses__isnull=False, uses__gte=models.F("max_uses")
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

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None or self.expires_at <= timezone.now():
            return False
        return self.max_uses is None or self.uses < self.max_uses
