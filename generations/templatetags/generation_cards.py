"""Small filters for generation cards."""

from datetime import timedelta

from django import template

from generations.estimates import Estimates, estimate_for
from generations.models import Generation

register = template.Library()


@register.filter
def clock(value: timedelta | None) -> str:
    """An elapsed time as ``m:ss`` (or ``h:mm:ss`` past an hour)."""
    if value is None:
        return ""
    seconds = max(0, int(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


@register.filter
def iso_duration(value: timedelta | None) -> str:
    """A duration for a ``<time datetime>`` attribute: ``PT73S``."""
    if value is None:
        return ""
    return f"PT{max(0, int(value.total_seconds()))}S"


@register.filter
def estimate_in(generation: Generation, estimates: Estimates | None) -> timedelta | None:
    """``generation|estimate_in:estimates``: how long its choice usually takes, if known."""
    return estimate_for(generation, estimates)


@register.filter
def seconds(value: timedelta | None) -> int:
    """A duration in whole seconds, for a data attribute the script reads."""
    return max(0, int(value.total_seconds())) if value is not None else 0
