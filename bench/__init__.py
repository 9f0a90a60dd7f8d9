"""Benchmarks: each prints absolute numbers and a ratio against a baseline of the same run.

Run with ``uv run python -m bench [names…]`` (see ``bench/__main__.py``). Every benchmark
measures its subject and its baseline interleaved (baseline, subject, baseline, subject…)
for several repetitions and reports the median, so a neighbour's load on the machine slows
both sides alike and the ratio stays meaningful even when absolute numbers move.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """Seconds per operation of one measured callable, one value per repetition."""

    name: str
    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> float:
        """Half the min–max range, as a fraction of the median."""
        return (max(self.samples) - min(self.samples)) / 2 / self.median

    def ratio(self, baseline: Result) -> float:
        """How many times the baseline's time one operation of this takes."""
        return self.median / baseline.median


def measure(
    subjects: dict[str, Callable[[], object]],
    *,
    repeat: int,
    block: float = 0.25,
    before_round: Callable[[], object] | None = None,
    warmup: int = 3,
) -> dict[str, Result]:
    """Time each callable over ``repeat`` rounds; return seconds per call for every round.

    Each callable is first run ``warmup`` times (warm-up, and to choose how many calls
    make a block of about ``block`` seconds). The callables then take turns within every round,
    so a slow patch of the machine falls on all of them rather than on one.
    ``before_round`` (untimed) puts back state that the callables use up.
    """
    numbers = {}
    for name, fn in subjects.items():
        if before_round is not None:
            before_round()
        numbers[name] = _calibrate(fn, block, warmup)
    samples: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(repeat):
        if before_round is not None:
            before_round()
        for name, fn in subjects.items():
            number = numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: Result(name, tuple(values)) for name, values in samples.items()}


def _calibrate(fn: Callable[[], object], block: float, warmup: int) -> int:
    start = time.perf_counter()
    for _ in range(warmup):
        fn()
    each = (time.perf_counter() - start) / warmup
    return max(1, min(10_000, round(block / each)))


def table(header: Sequence[str], rows: Sequence[Sequence[object]], *, left: int = 2) -> str:
    """A plain-text table: the first ``left`` columns left-aligned, the others right-aligned."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def per_second(seconds: float) -> str:
    return f"{1 / seconds:,.0f}"


def times(value: float) -> str:
    return f"{value:.2f}×"


def pct(fraction: float) -> str:
    return f"±{fraction * 100:.0f}%"
