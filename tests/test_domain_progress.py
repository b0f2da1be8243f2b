"""Where a task and the plan stand, without a database: the state rule and the summary's lists."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.core.domain.plan import MilestoneInfo
from bot.core.domain.progress import (
    AgencyState,
    IndexState,
    LatestReport,
    PlanSummary,
    TaskState,
    current_milestone,
    task_state,
)

AT = datetime(2024, 12, 9, 3, 0, tzinfo=UTC)


def report(
    status: str, progress: int, agency: int = 1, *, supporting: bool = False
) -> LatestReport:
    return LatestReport(
        agency, f"Sở {agency}", status, progress, "Kết quả", None, None, AT, supporting
    )


@pytest.mark.parametrize(
    ("reports", "leads", "expected"),
    [
        pytest.param([], 2, ("unreported", 0), id="no lead report: unreported"),
        pytest.param([], 0, ("unreported", 0), id="no lead agency at all"),
        pytest.param(
            [report("done", 100, 1), report("blocked", 40, 2)],
            2,
            ("blocked", 70),
            id="any lead blocked: blocked",
        ),
        pytest.param(
            [report("done", 100, 1), report("done", 100, 2)],
            2,
            ("done", 100),
            id="all leads done: done",
        ),
        pytest.param(
            [report("done", 100, 1)], 2, ("in_progress", 50), id="one of two done: in progress"
        ),
        pytest.param(
            [report("done", 100, 1), report("not_started", 0, 2)],
            2,
            ("in_progress", 50),
            id="done and not started: in progress",
        ),
        pytest.param(
            [report("not_started", 0, 1), report("not_started", 0, 2)],
            2,
            ("not_started", 0),
            id="all not started: not started",
        ),
        pytest.param(
            [report("not_started", 0, 1)],
            3,
            ("not_started", 0),
            id="the only report says not started",
        ),
        pytest.param(
            [report("in_progress", 33, 1), report("in_progress", 34, 2), report("done", 100, 3)],
            3,
            ("in_progress", 56),
            id="progress is the mean over the lead agencies",
        ),
    ],
)
def test_a_task_state_comes_from_its_lead_agencies(
    reports: list[LatestReport], leads: int, expected: tuple[str, int]
) -> None:
    assert task_state(reports, leads) == expected


def test_supporting_reports_never_count() -> None:
    lead = report("done", 100, 1)
    assert task_state([report("blocked", 10, 2, supporting=True)], 1) == ("unreported", 0)
    assert task_state([lead, report("blocked", 10, 2, supporting=True)], 1) == ("done", 100)
    assert task_state([lead, report("done", 100, 2, supporting=True)], 2) == ("in_progress", 50)


def milestone(number: int, due: date, recipients: str = "assigned") -> MilestoneInfo:
    return MilestoneInfo(
        number, f"m{number}", "report", f"Báo cáo {number}", 2024, due, recipients
    )


JULY = milestone(1, date(2024, 7, 20))
COORDINATOR_ONLY = milestone(2, date(2024, 11, 30), "coordinator")
DECEMBER = milestone(3, date(2024, 12, 10))


def test_the_current_milestone_is_the_next_deadline_of_the_assigned_agencies() -> None:
    milestones = [JULY, COORDINATOR_ONLY, DECEMBER]
    assert current_milestone(milestones, date(2024, 7, 1)) == JULY
    assert current_milestone(milestones, date(2024, 7, 20)) == JULY  # its own day still counts
    assert current_milestone(milestones, date(2024, 11, 1)) == DECEMBER  # not the coordinator's
    assert current_milestone(milestones, date(2024, 12, 31)) == DECEMBER  # the last, once past
    assert current_milestone([COORDINATOR_ONLY], date(2024, 7, 1)) is None


def task(
    number: int,
    state: str,
    reports: list[LatestReport],
    contributions: list[LatestReport] | None = None,
) -> TaskState:
    progress = task_state(reports, 1)[1]
    return TaskState(
        number,
        f"1.{number}",
        f"Nhiệm vụ {number}",
        "1",
        [f"Sở {number}"],
        state,
        progress,
        reports,
        contributions=contributions or [],
    )


def agency(number: int, lead: list[str], reported: list[str]) -> AgencyState:
    return AgencyState(
        number, f"s{number}", f"Sở {number}", "department", lead, reported, [], None
    )


def summary(today: date, tasks: list[TaskState], agencies: list[AgencyState]) -> PlanSummary:
    return PlanSummary(
        plan_title="Kế hoạch PGI",
        province="Lạng Sơn",
        issuer="UBND tỉnh Lạng Sơn",
        signer=None,
        coordinator="Sở 1",
        year=2024,
        today=today,
        milestone=current_milestone([JULY, DECEMBER], today),
        indices=[IndexState("1", "Chỉ số 1", 2023, 5.0, 6.0, tasks[:2])],
        organisational=tasks[2:],
        agencies=agencies,
        submission_count=3,
    )


def test_the_summary_lists_who_has_not_reported_what_is_late_and_what_is_blocked() -> None:
    blocked_lead = report("blocked", 20, 2)
    blocked_contribution = report("blocked", 10, 3, supporting=True)
    tasks = [
        task(1, "done", [report("done", 100, 1)]),
        task(2, "blocked", [blocked_lead]),
        task(3, "unreported", [], contributions=[blocked_contribution]),
    ]
    agencies = [
        agency(1, ["1.1"], ["1.1"]),
        agency(2, ["1.2", "1.3"], ["1.2"]),
        agency(3, [], []),
    ]
    before = summary(date(2024, 12, 10), tasks, agencies)
    assert [a.code for a in before.not_reported] == ["s2"]
    assert before.agencies[1].pending_tasks == ["1.3"]
    assert [a.code for a in before.leading_agencies] == ["s1", "s2"]
    assert [a.code for a in before.reported_agencies] == ["s1"]
    assert [t.code for t in before.all_tasks] == ["1.1", "1.2", "1.3"]
    assert before.blocked == [(tasks[1], blocked_lead), (tasks[2], blocked_contribution)]
    assert before.indices[0].count("blocked") == 1
    assert not before.late  # the deadline's own day is not late
    assert summary(date(2024, 12, 11), tasks, agencies).late
    assert not summary(date(2024, 12, 11), tasks, []).not_reported


def test_a_task_no_milestone_asks_for_is_never_missing() -> None:
    """The Front leads III.4 only, which no milestone asks for: it is behind on nothing."""
    press = AgencyState(
        4, "baols", "Báo Lạng Sơn", "press", ["1.h.1", "III.2"], [], [], None,
        unasked_tasks=["III.2"],
    )  # fmt: skip
    front = AgencyState(
        5, "mttq", "Ủy ban MTTQ tỉnh", "front", ["III.4"], [], [], None, unasked_tasks=["III.4"]
    )
    done = AgencyState(
        6, "cat", "Công an tỉnh", "police", ["1.d", "III.2"], ["1.d"], [], None,
        unasked_tasks=["III.2"],
    )  # fmt: skip
    whole = summary(date(2024, 12, 11), [], [press, front, done])
    assert press.pending_tasks == ["1.h.1"] and press.asked
    assert front.pending_tasks == [] and not front.asked
    assert [a.code for a in whole.leading_agencies] == ["baols", "cat"]
    assert [a.code for a in whole.not_reported] == ["baols"]
    assert [a.code for a in whole.reported_agencies] == ["cat"]
