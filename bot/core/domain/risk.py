"""How far each index is from its target and how its tasks stand: the PGI risk view."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.domain.progress import IndexState, PlanSummary
from bot.core.domain.results import PgiResult, latest_results
from bot.core.domain.standing import Colour, Standing, YearStanding


@dataclass(frozen=True, slots=True)
class IndexRisk:
    """One index in the risk view: its scores, the gap still to close, its tasks' states."""

    index: IndexState
    published: PgiResult | None
    """The latest published score, when one was recorded (a year after the baseline's)."""
    tasks: int
    done: int
    overdue: int
    blocked: int
    colour: Colour

    @property
    def score(self) -> float:
        """Return the latest known score: the published one, else the baseline."""
        return self.published.score if self.published else self.index.baseline_score

    @property
    def gap(self) -> float:
        """Return the points still to gain to reach the target (0 once reached)."""
        return max(0.0, round(self.index.target_score - self.score, 2))

    def share(self, count: int) -> int:
        """Return a count as a whole percentage of the index's tasks."""
        return round(100 * count / self.tasks) if self.tasks else 0


def index_risks(summary: PlanSummary, standing: YearStanding) -> list[IndexRisk]:
    """Return every index's risk, furthest from its target first, then least on track.

    The published score is the latest recorded for a year after the baseline's and not after
    the summary's year; the shares count the index's tasks by their combined state.
    """
    latest = latest_results(summary.results, summary.year)
    risks = []
    for index in summary.indices:
        published = latest.get(index.code)
        if published is not None and published.year <= index.baseline_year:
            published = None
        done = standing.count(index.tasks, Standing.DONE_ON_TIME) + standing.count(
            index.tasks, Standing.DONE_LATE
        )
        risks.append(
            IndexRisk(
                index,
                published,
                len(index.tasks),
                done,
                standing.count(index.tasks, Standing.OVERDUE),
                standing.blocked_count(index.tasks),
                standing.colour_of(index.tasks),
            )
        )
    return sorted(risks, key=lambda r: (-r.gap, -r.share(r.overdue + r.blocked), r.share(r.done)))
