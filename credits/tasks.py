"""Background work of the credits app: the budget alert emails."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import translation

from credits.models import BudgetAlert
from teams.models import Membership

logger = logging.getLogger(__name__)


@task
def send_budget_alert(alert_id: int) -> int:
    """Email the team's owners that spend crossed a share of the team's budget or of one
    member's cap; returns how many owners were written to.

    Takes the ``BudgetAlert`` row's id (made once per threshold and month, in the
    transaction that crossed it) and reads everything from it. Written in the site's
    language (``LANGUAGE_CODE``): the owners may not be the person whose request crossed it.
    """
    alert = BudgetAlert.objects.select_related("team", "member").filter(pk=alert_id).first()
    if alert is None:
        return 0
    owners = Membership.objects.filter(team_id=alert.team_id, role=Membership.Role.OWNER)
    recipients = sorted(set(owners.exclude(user__email="").values_list("user__email", flat=True)))
    if not recipients:
        logger.warning("budget alert %s: the team has no owner with an email address", alert.pk)
        return 0
    context = {
        "alert": alert,
        "team": alert.team,
        "member": alert.member,
        "url": f"{settings.SITE_URL}{alert.team.get_absolute_url()}",
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("credits/budget_alert_subject.txt", context).strip()
        body = render_to_string("credits/budget_alert_email.txt", context)
    send_mail(subject, body, None, recipients)
    logger.info("budget alert %s sent to %d owner(s)", alert.pk, len(recipients))
    return len(recipients)
