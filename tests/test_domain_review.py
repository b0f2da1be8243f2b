"""The review rules without a database: counts, and who may correct a report after the deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.core.domain.review import Reopening, ReviewState, may_correct, review_counts

DEADLINE = date(2024, 12, 10)
TASK, OTHER = 11, 12


def _reopening(task_id: int | None, until: date) -> Reopening:
    return Reopening(1, 1, 2024, 5, task_id, None, until, datetime(2024, 12, 12, tzinfo=UTC))


def test_review_counts_name_every_state() -> None:
    counts = review_counts([ReviewState.ACCEPTED, ReviewState.WAITING, ReviewState.ACCEPTED])
    assert counts == {ReviewState.WAITING: 1, ReviewState.ACCEPTED: 2, ReviewState.RETURNED: 0}
    assert review_counts([]) == dict.fromkeys(ReviewState, 0)


@pytest.mark.parametrize(
    ("today", "latest", "reopenings", "allowed"),
    [
        (date(2024, 12, 9), ReviewState.WAITING, [], True),  # before the deadline
        (DEADLINE, ReviewState.ACCEPTED, [], True),  # on the deadline
        (date(2024, 12, 11), ReviewState.WAITING, [], False),  # the day after
        (date(2024, 12, 11), ReviewState.ACCEPTED, [], False),
        (date(2024, 12, 11), ReviewState.RETURNED, [], True),  # the return is the permission
        (date(2025, 3, 31), ReviewState.RETURNED, [], True),
        (date(2024, 12, 11), ReviewState.WAITING, [(TASK, date(2024, 12, 20))], True),
        (date(2024, 12, 20), ReviewState.ACCEPTED, [(TASK, date(2024, 12, 20))], True),  # last day
        (date(2024, 12, 21), ReviewState.ACCEPTED, [(TASK, date(2024, 12, 20))], False),  # expired
        (date(2024, 12, 11), ReviewState.WAITING, [(OTHER, date(2024, 12, 20))], False),
        (
            date(2024, 12, 11),
            ReviewState.WAITING,
            [(None, date(2024, 12, 20))],
            True,
        ),  # every task
        (date(2024, 12, 11), None, [], False),
    ],
)
def test_who_may_correct_after_the_deadline(
    today: date,
    latest: ReviewState | None,
    reopenings: list[tuple[int | None, date]],
    allowed: bool,
) -> None:
    granted = [_reopening(task, until) for task, until in reopenings]
    assert (
        may_correct(
            today=today, deadline=DEADLINE, latest=latest, reopenings=granted, task_id=TASK
        )
        is allowed
    )
    assert may_correct(today=today, deadline=None, latest=latest, task_id=TASK)  # no deadline
