"""How long a video usually takes, from the team's own recent videos.

An in-flight card shows its elapsed time against the median time from request to ready
of the team's latest ready videos of the same duration and sound. Rivya publishes no
such number, and it changes with Rivya's load, so only recent history counts. One query
per card list: the team's latest ready rows, grouped here.
"""

from collections import defaultdict
from datetime import timedelta
from statistics import median
from typing import Any

from generations.models import IN_FLIGHT, Generation, Status

# How many of the latest ready videos of one duration and sound make the median.
SAMPLE = 20
# How far back one query looks (newest first), over every duration and sound.
HISTORY_ROWS = 200

Estimates = dict[tuple[int, bool], timedelta]


def typical_times(team_id: Any) -> Estimates:
    """The median time from request to ready per (duration, sound) in team ``team_id``,
    over its latest ``SAMPLE`` ready videos of each; a choice never made has none."""
    rows = (
        Generation.objects.filter(team_id=team_id, status=Status.READY, finished_at__isnull=False)
        .order_by("-created_at")
        .values_list("duration", "sound", "created_at", "finished_at")[:HISTORY_ROWS]
    )
    samples: dict[tuple[int, bool], list[float]] = defaultdict(list)
    for duration, sound, created_at, finished_at in rows:
        taken = samples[(duration, sound)]
        # finished_at is never None here (filtered); the check tells the type checker.
        if len(taken) < SAMPLE and finished_at is not None and finished_at >= created_at:
            taken.append((finished_at - created_at).total_seconds())
    return {choice: timedelta(seconds=round(median(taken))) for choice, taken in samples.items()}


def estimate_for(generation: Generation, estimates: Estimates | None) -> timedelta | None:
    """The usual time for ``generation``'s choice, when it is in flight and one is known."""
    if not estimates or generation.status not in IN_FLIGHT:
        return None
    return estimates.get((generation.duration, generation.sound))
