"""The pages' charts, drawn as SVG in the page: the geometry here, the drawing in templates."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.domain.progress import STATES, IndexState


@dataclass(frozen=True, slots=True)
class Segment:
    """A part of a stacked bar: where it starts and how wide it is, in percent."""

    state: str
    count: int
    x: float
    width: float


def stacked(counts: dict[str, int]) -> list[Segment]:
    """Return the segments of a 100 % bar, one per state that has tasks, in ``STATES`` order."""
    total = sum(counts.values())
    segments: list[Segment] = []
    x = 0.0
    for state in STATES:
        count = counts.get(state, 0)
        if not count or not total:
            continue
        width = round(100 * count / total, 2)
        segments.append(Segment(state, count, round(x, 2), width))
        x += width
    return segments


def index_counts(index: IndexState) -> dict[str, int]:
    """Return how many of an index's tasks are in each state."""
    return {state: index.count(state) for state in STATES}
