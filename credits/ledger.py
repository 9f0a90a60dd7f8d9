"""The one way credits are recorded: ``record`` for the lifecycle's reserve, settle and
refund, ``adjust`` for staff. Both only ever insert."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from credits import budgets
from credits.models import CreditEntry, Hold

Kind = CreditEntry.Kind


def record(generation: Any, kind: str, amount: int, note: str = "") -> bool:
    """Append the entry for one step of a generation once; a repeat of the step is a no-op.

    ``generation`` is a ``generations.Generation`` (its ``pk``, ``team_id``,
    ``created_by_id`` and ``rivya_task_id`` are read). A reservation turns the
    submission's budget hold into spend, and may cross a budget alert's threshold (Rivya
    may reserve more than was held). Returns whether an entry was added.
    """
    if kind == Kind.ADJUSTMENT:
        raise ValueError("Adjustments are made by staff with adjust().")
    with transaction.atomic():
        _, created = CreditEntry.objects.get_or_create(
            generation_id=generation.pk,
            kind=kind,
            defaults={
                "team_id": generation.team_id,
                "user_id": generation.created_by_id,
                "amount": amount,
                "rivya_task_id": generation.rivya_task_id or "",
                "note": note,
            },
        )
        if kind == Kind.RESERVE:
            end_hold(generation.pk, Hold.State.CONVERTED)
            if created:
                budgets.check_alerts(generation.team_id, generation.created_by_id)
    return created


def adjust(
    *,
    amount: int,
    reason: str,
    made_by: Any,
    team: Any = None,
    user: Any = None,
    generation_id: Any = None,
    rivya_task_id: str = "",
) -> CreditEntry:
    """A staff correction: anything that changed Rivya's balance outside the lifecycle
    (a top-up, a refund by Rivya's support), with its reason and its author."""
    reason = reason.strip()
    if not reason:
        raise ValueError("An adjustment needs a reason.")
    if not amount:
        raise ValueError("An adjustment of zero credits changes nothing.")
    return CreditEntry.objects.create(
        kind=Kind.ADJUSTMENT,
        amount=amount,
        note=reason[:255],
        made_by=made_by,
        team=team,
        user=user,
        generation_id=generation_id,
        rivya_task_id=rivya_task_id[:128],
    )


def end_hold(generation_id: Any, state: str = Hold.State.RELEASED) -> bool:
    """Close a generation's open budget hold: it became Rivya's reservation, or it is
    released because no reservation will come. True if one was open."""
    return bool(
        Hold.objects.filter(generation_id=generation_id, state=Hold.State.OPEN).update(
            state=state, ended_at=timezone.now()
        )
    )
