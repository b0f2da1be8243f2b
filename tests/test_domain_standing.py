"""The four states and their colours: every deadline, report, review and reopening."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from itertools import product
from zoneinfo import ZoneInfo

import pytest

from bot.core.domain.calendar import WorkingCalendar
from bot.core.domain.extensions import Extension, ExtensionState
from bot.core.domain.plan import MilestoneInfo
from bot.core.domain.progress import AgencyState, IndexState, LatestReport, PlanSummary, TaskState
from bot.core.domain.results import TOTAL, PgiResult, latest_results
from bot.core.domain.review import Reopening, ReviewState
from bot.core.domain.risk import index_risks
from bot.core.domain.standing import (
    Assessment,
    Colour,
    DayProblem,
    Standing,
    assess,
    colour,
    combine,
    day_problem,
    is_late,
    worst,
    year_open,
    year_standing,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DUE = date(2024, 12, 10)
BEFORE, ON, AFTER = DUE - timedelta(days=1), DUE, DUE + timedelta(days=1)
"""The days around the deadline: the day before, the day itself, the day after."""


def filed(day: date, hour: int = 10) -> datetime:
    """Return a moment of a local day (stored in UTC, as the database gives it back)."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)


def report(status: str, day: date, review: ReviewState = ReviewState.WAITING) -> LatestReport:
    return LatestReport(1, "Sở Xây dựng", status, 100 if status == "done" else 40, "Kết quả",
                        "Thiếu kinh phí" if status == "blocked" else None, None, filed(day),
                        review=review)  # fmt: skip


OT, LT, ND, OV = (
    Standing.DONE_ON_TIME,
    Standing.DONE_LATE,
    Standing.NOT_DUE,
    Standing.OVERDUE,
)
WAIT, OK, BACK = ReviewState.WAITING, ReviewState.ACCEPTED, ReviewState.RETURNED


def expected(
    status: str | None, filed_on: date | None, review: ReviewState, today: date
) -> Standing:
    """The rule, written out once more as a table reader would state it."""
    if status == "done" and review != BACK:
        assert filed_on is not None
        return OT if filed_on <= DUE else LT
    return OV if today > DUE else ND


REPORTS = [(None, None)] + [
    (status, day)
    for status, day in product(
        ("done", "in_progress", "not_started", "blocked"), (BEFORE, ON, AFTER)
    )
]
TODAYS = (BEFORE, ON, AFTER, date(2024, 12, 31), date(2025, 3, 31), date(2025, 4, 1))
REOPENINGS = (None, date(2024, 12, 20), date(2025, 4, 30))


@pytest.mark.parametrize(
    ("status", "filed_on", "review", "today", "reopened_until"),
    [
        pytest.param(
            status, day, review, today, until, id=f"{status}-{day}-{review}-{today}-{until}"
        )
        for (status, day), review, today, until in product(
            REPORTS, (WAIT, OK, BACK), TODAYS, REOPENINGS
        )
        if day is None or day <= today  # a report is never filed after the day it is judged
        if status is not None or review == WAIT  # no report, no review
    ],
)
def test_every_combination(
    status: str | None,
    filed_on: date | None,
    review: ReviewState,
    today: date,
    reopened_until: date | None,
) -> None:
    latest = report(status, filed_on, review) if status and filed_on else None
    found = assess(due=DUE, today=today, report=latest, zone=ZONE, reopened_until=reopened_until)
    standing = expected(status, filed_on, review, today)
    assert found.standing == standing
    assert found.blocked == (status == "blocked")
    still_open = today <= date(2025, 3, 31) or (
        reopened_until is not None and today <= reopened_until
    )
    assert found.chased == (standing in (ND, OV) and still_open)
    assert found.colour == (
        Colour.RED
        if standing == OV
        else Colour.AMBER
        if standing == LT or status == "blocked"
        else Colour.GREEN
    )


@pytest.mark.parametrize(
    ("status", "filed_on", "review", "today", "standing", "colour_"),
    [
        pytest.param(None, None, WAIT, BEFORE, ND, Colour.GREEN, id="nothing, the day before"),
        pytest.param(None, None, WAIT, ON, ND, Colour.GREEN, id="nothing, on the deadline"),
        pytest.param(None, None, WAIT, AFTER, OV, Colour.RED, id="nothing, the day after"),
        pytest.param("done", ON, WAIT, AFTER, OT, Colour.GREEN, id="done on the day, waiting"),
        pytest.param("done", ON, OK, AFTER, OT, Colour.GREEN, id="done on the day, accepted"),
        pytest.param("done", ON, BACK, ON, ND, Colour.GREEN, id="returned on the day"),
        pytest.param("done", ON, BACK, AFTER, OV, Colour.RED, id="returned, not corrected"),
        pytest.param("done", AFTER, WAIT, AFTER, LT, Colour.AMBER, id="corrected the day after"),
        pytest.param("done", AFTER, OK, AFTER, LT, Colour.AMBER, id="late and accepted"),
        pytest.param("blocked", BEFORE, WAIT, ON, ND, Colour.AMBER, id="blocked, not yet due"),
        pytest.param("blocked", BEFORE, OK, AFTER, OV, Colour.RED, id="blocked and overdue"),
        pytest.param("in_progress", ON, OK, AFTER, OV, Colour.RED, id="not done by then"),
    ],
)
def test_the_days_around_a_deadline(
    status: str | None,
    filed_on: date | None,
    review: ReviewState,
    today: date,
    standing: Standing,
    colour_: Colour,
) -> None:
    latest = report(status, filed_on, review) if status and filed_on else None
    found = assess(due=DUE, today=today, report=latest, zone=ZONE)
    assert (found.standing, found.colour) == (standing, colour_)


def test_a_report_counts_on_its_local_day() -> None:
    # 23:30 on the deadline in Hà Nội is 16:30 UTC the same day; 00:30 the next day is 17:30 UTC.
    on_time = report("done", ON)
    late_evening = LatestReport(**{**_fields(on_time), "created_at": filed(ON, 23)})
    next_morning = LatestReport(
        **{**_fields(on_time), "created_at": datetime(2024, 12, 10, 17, 30, tzinfo=UTC)}
    )
    assert assess(due=DUE, today=AFTER, report=late_evening, zone=ZONE).standing == OT
    assert assess(due=DUE, today=AFTER, report=next_morning, zone=ZONE).standing == LT


def _fields(latest: LatestReport) -> dict[str, object]:
    return {name: getattr(latest, name) for name in LatestReport.__slots__}


def test_a_reopening_keeps_a_closed_year_chased_until_its_last_day() -> None:
    closed = date(2025, 4, 2)
    assert not assess(due=DUE, today=closed, report=None, zone=ZONE).chased
    granted = assess(due=DUE, today=closed, report=None, zone=ZONE, reopened_until=closed)
    assert granted.chased and granted.standing == OV
    expired = assess(
        due=DUE, today=closed, report=None, zone=ZONE, reopened_until=closed - timedelta(days=1)
    )
    assert not expired.chased
    used = assess(due=DUE, today=closed, report=report("done", closed), zone=ZONE,
                  reopened_until=closed)  # fmt: skip
    assert used.standing == LT and not used.chased


@pytest.mark.parametrize(
    ("year", "today", "open_"),
    [
        (2025, date(2025, 1, 1), True),
        (2025, date(2025, 12, 31), True),
        (2025, date(2026, 3, 31), True),
        (2025, date(2026, 4, 1), False),
        (2025, date(2026, 12, 7), False),
        (2026, date(2025, 12, 31), False),
    ],
)
def test_year_open(year: int, today: date, open_: bool) -> None:
    assert year_open(year, today) is open_


def test_late_from_the_day_after() -> None:
    assert not is_late(DUE, BEFORE) and not is_late(DUE, ON) and is_late(DUE, AFTER)


def test_colours_and_their_worst() -> None:
    assert colour(OT) == colour(ND) == Colour.GREEN
    assert colour(LT) == colour(ND, blocked=True) == Colour.AMBER
    assert colour(OV) == colour(OV, blocked=True) == Colour.RED
    assert worst([]) == Colour.GREEN
    assert worst([Colour.GREEN, Colour.AMBER]) == Colour.AMBER
    assert worst([Colour.AMBER, Colour.RED, Colour.GREEN]) == Colour.RED


@pytest.mark.parametrize(
    ("standings", "expected_"),
    [
        ([OT, OT], OT),
        ([OT, LT], LT),
        ([LT, ND], ND),
        ([OT, OV, ND], OV),
    ],
)
def test_a_task_takes_its_worst_lead_agency(
    standings: list[Standing], expected_: Standing
) -> None:
    found = combine(Assessment(s, s == ND, s in (ND, OV)) for s in standings)
    assert found is not None and found.standing == expected_
    assert found.blocked == (ND in standings)
    assert combine([]) is None


def _summary(today: date, reports: list[LatestReport], results: list[PgiResult]) -> PlanSummary:
    def task(code: str, index: str, leads: list[int]) -> TaskState:
        own = [r for r in reports if r.agency_id in leads and r.results == code]
        return TaskState(len(code), code, f"Nhiệm vụ {code}", index,
                         [f"Sở {a}" for a in leads], "in_progress", 0, own)  # fmt: skip

    tasks_1 = [task("1.a.1", "1", [1]), task("1.a.2", "1", [1, 2])]
    tasks_2 = [task("2.a.1", "2", [2])]
    return PlanSummary(
        "Kế hoạch", "Lạng Sơn", "UBND tỉnh", None, "Sở 1", 2024, today, None,
        [IndexState("1", "Một", 2023, 4.84, 6.58, tasks_1),
         IndexState("2", "Hai", 2023, 4.14, 6.11, tasks_2)],
        [],
        [AgencyState(1, "s1", "Sở 1", "department", ["1.a.1", "1.a.2"], [], [], None),
         AgencyState(2, "s2", "Sở 2", "department", ["1.a.2", "2.a.1"], [], [], None)],
        len(reports),
        [MilestoneInfo(1, "kq", "final_report", "Báo cáo", 2024, DUE, "assigned")],
        results=results,
    )  # fmt: skip


def _report(agency: int, code: str, status: str, day: date) -> LatestReport:
    return LatestReport(agency, f"Sở {agency}", status, 50, code, None, None, filed(day))


def test_the_year_standing_and_the_risk_view() -> None:
    reports = [
        _report(1, "1.a.1", "done", ON),
        _report(1, "1.a.2", "done", AFTER),
        _report(2, "1.a.2", "blocked", BEFORE),
        _report(2, "2.a.1", "done", BEFORE),
    ]
    at = datetime(2025, 9, 1, tzinfo=UTC)
    first = PgiResult(2024, "1", 5.0, None, None, at, "Nguyễn Văn A")
    corrected = PgiResult(2024, "1", 5.2, None, None, at, "Nguyễn Văn A", previous=first)
    later = PgiResult(2025, "1", 6.9, None, None, at, "Nguyễn Văn A")
    summary = _summary(date(2024, 12, 12), reports, [first, corrected, later])
    standing = year_standing(summary, ZONE)
    states = {(a.agency_id, a.task.code): a.assessment.standing for a in standing.assignments}
    assert states == {(1, "1.a.1"): OT, (1, "1.a.2"): LT, (2, "1.a.2"): OV, (2, "2.a.1"): OT}
    assert [a.task.code for a in standing.assignments] == ["1.a.1", "1.a.2", "1.a.2", "2.a.1"]
    assert [(a.agency_id, a.task.code) for a in standing.overdue] == [(2, "1.a.2")]
    assert [(a.agency_id, a.task.code) for a in standing.blocked] == [(2, "1.a.2")]
    assert standing.tasks["1.a.2"].standing == OV and standing.tasks["1.a.2"].blocked
    assert standing.agency_colour(1) == Colour.AMBER and standing.agency_colour(2) == Colour.RED
    index_1, index_2 = summary.indices
    assert standing.colour_of(index_1.tasks) == Colour.RED
    assert standing.colour_of(index_2.tasks) == Colour.GREEN

    assert latest_results(summary.results, 2024)["1"] is corrected  # the later of one year
    risks = index_risks(summary, standing)
    assert [r.index.code for r in risks] == ["2", "1"]  # 1.97 to gain before 1.38
    by_code = {r.index.code: r for r in risks}
    one = by_code["1"]
    assert one.published is corrected and one.gap == pytest.approx(1.38)  # 2025's not yet
    assert (one.tasks, one.done, one.overdue, one.blocked) == (2, 1, 1, 1)
    assert (one.share(one.done), one.share(one.overdue)) == (50, 50)
    two = by_code["2"]
    assert two.published is None and two.gap == pytest.approx(1.97)
    assert (two.done, two.overdue, two.colour) == (1, 0, Colour.GREEN)
    total = PgiResult(2023, TOTAL, 17.33, 62, 63, at, "Kế hoạch")
    assert latest_results([total], 2024) == {TOTAL: total}


# --- extensions and reopenings carried by the summary ----------------------------------------

EXTENDED_TO = date(2024, 12, 20)


def _extension(
    agency: int,
    codes: tuple[str, ...],
    state: ExtensionState = ExtensionState.GRANTED,
    until: date = EXTENDED_TO,
    original: date = DUE,
) -> Extension:
    at = datetime(2024, 12, 2, 3, tzinfo=UTC)
    return Extension(1, 2024, 1, agency, f"Sở {agency}", codes, original, until,
                     "Chờ số liệu", "Cán bộ", at, state,
                     until if state == ExtensionState.GRANTED else None,
                     "Điều phối", at, None)  # fmt: skip


@pytest.mark.parametrize(
    ("extensions", "today", "reports", "states"),
    [
        # no extension: agency 1 overdue on 1.a.1 after the deadline
        ([], AFTER, [], {(1, "1.a.1"): OV, (1, "1.a.2"): OV, (2, "1.a.2"): OV}),
        # the whole report of agency 1 extended to 20/12: not yet due; agency 2 still overdue
        (
            [_extension(1, ())],
            AFTER,
            [],
            {(1, "1.a.1"): ND, (1, "1.a.2"): ND, (2, "1.a.2"): OV},
        ),
        # one task extended: only that task moves
        (
            [_extension(1, ("1.a.2",))],
            AFTER,
            [],
            {(1, "1.a.1"): OV, (1, "1.a.2"): ND, (2, "1.a.2"): OV},
        ),
        # the extended day passed: overdue again
        (
            [_extension(1, ())],
            date(2024, 12, 21),
            [],
            {(1, "1.a.1"): OV, (1, "1.a.2"): OV, (2, "1.a.2"): OV},
        ),
        # filed after the plan's deadline but by the extended day: done on time
        (
            [_extension(1, ())],
            date(2024, 12, 21),
            [_report(1, "1.a.1", "done", date(2024, 12, 19))],
            {(1, "1.a.1"): OT, (1, "1.a.2"): OV, (2, "1.a.2"): OV},
        ),
        # filed after the extended day: done late
        (
            [_extension(1, ())],
            date(2024, 12, 27),
            [_report(1, "1.a.1", "done", date(2024, 12, 23))],
            {(1, "1.a.1"): LT, (1, "1.a.2"): OV, (2, "1.a.2"): OV},
        ),
        # a request waiting, or refused, moves nothing
        (
            [_extension(1, (), ExtensionState.WAITING)],
            AFTER,
            [],
            {(1, "1.a.1"): OV, (1, "1.a.2"): OV, (2, "1.a.2"): OV},
        ),
        (
            [_extension(1, (), ExtensionState.REFUSED)],
            AFTER,
            [],
            {(1, "1.a.1"): OV, (1, "1.a.2"): OV, (2, "1.a.2"): OV},
        ),
        # an extension of another deadline does not move this one
        (
            [_extension(1, (), original=date(2024, 6, 30))],
            AFTER,
            [],
            {(1, "1.a.1"): OV, (1, "1.a.2"): OV, (2, "1.a.2"): OV},
        ),
    ],
)
def test_an_extension_moves_one_agency_s_deadline(
    extensions: list[Extension],
    today: date,
    reports: list[LatestReport],
    states: dict[tuple[int, str], Standing],
) -> None:
    summary = replace(_summary(today, reports, []), extensions=extensions)
    standing = year_standing(summary, ZONE)
    found = {(a.agency_id, a.task.code): a.assessment.standing for a in standing.assignments}
    assert {k: found[k] for k in states} == states
    for assignment in standing.assignments:
        moved = assignment.extension is not None
        assert assignment.due == (EXTENDED_TO if moved else DUE)


def test_the_summary_s_reopenings_keep_a_late_year_chased() -> None:
    today = date(2025, 4, 10)  # the 2024 year is closed for late reports
    reopening = Reopening(1, 1, 2024, 2, None, None, date(2025, 4, 30), filed(today))
    summary = replace(_summary(today, [], []), reopenings=[reopening])
    standing = year_standing(summary, ZONE)
    chased = {(a.agency_id, a.task.code) for a in standing.assignments if a.assessment.chased}
    assert chased == {(2, "1.a.2"), (2, "2.a.1")}


@pytest.mark.parametrize(
    ("day", "problem"),
    [
        (date(2024, 12, 10), DayProblem.NOT_AFTER),  # the deadline itself
        (date(2024, 12, 4), DayProblem.NOT_AFTER),  # before today
        (date(2024, 12, 21), DayProblem.DAY_OFF),  # a Saturday
        (date(2025, 1, 29), DayProblem.DAY_OFF),  # Tết
        (date(2025, 4, 1), DayProblem.YEAR_CLOSED),  # after the three months for late reports
        (date(2024, 12, 20), None),
        (date(2025, 3, 31), None),
    ],
)
def test_the_day_an_extension_may_end(day: date, problem: DayProblem | None) -> None:
    found = day_problem(
        day, due=DUE, year=2024, today=date(2024, 12, 5), calendar=WorkingCalendar()
    )
    assert found == problem
