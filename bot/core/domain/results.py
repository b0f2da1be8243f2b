"""The PGI's own published results per year.

The published results (VCCI's Provincial Green Index: a score per component index, the total
and the province's rank) are recorded year by year. A record is never overwritten in place: a
correction is a new entry that keeps the one it corrects (:attr:`PgiResult.previous`), so a
view can say that a figure was corrected and from what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

TOTAL = ""
"""The index code of a year's total PGI score (the components have their own codes)."""


@dataclass(frozen=True, slots=True)
class PgiResult:
    """One published figure: a year's score of an index (or the total) and its rank."""

    year: int
    index_code: str
    """The component index's code, or :data:`TOTAL`."""
    score: float
    rank: int | None
    out_of: int | None
    recorded_at: datetime
    recorded_by: str
    previous: PgiResult | None = None
    """The entry this one corrects, if any."""

    @property
    def corrected(self) -> bool:
        """Tell whether this figure corrects an earlier one."""
        return self.previous is not None

    def same_as(self, score: float, rank: int | None, out_of: int | None) -> bool:
        """Tell whether a new entry would say the same."""
        return (round(self.score, 2), self.rank, self.out_of) == (round(score, 2), rank, out_of)


def latest_results(results: Sequence[PgiResult], year: int) -> dict[str, PgiResult]:
    """Return, per index code, the latest published figure of a year up to ``year``."""
    latest: dict[str, PgiResult] = {}
    for result in sorted(results, key=lambda r: r.year):
        if result.year <= year:
            latest[result.index_code] = result
    return latest
