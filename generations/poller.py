"""The Rivya poll loop's unit of work: read the status of generations that are due.

``manage.py rivya_poller`` calls :func:`poll_due` in a loop; several poller processes
may run at once because rows are claimed with leases (see docs/operations.md).
"""

from datetime import datetime


def poll_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Poll up to ``limit`` generations whose next poll is due at ``now``; return how many.

    Each due row (``next_poll_at <= now`` and its lease expired) is claimed with a
    lease, read once with ``GET /generations/{id}``, and given its next poll time
    with backoff; rows stuck in ``submitting`` or ``saving`` after their lease are
    re-driven. The app has no generation rows yet, so there is nothing to claim and
    the answer is 0.
    """
    return 0
