"""The structure in force on a date, without a database."""

from __future__ import annotations

from datetime import date

from bot.core.domain.structure import (
    Group,
    Period,
    Span,
    Succession,
    TaskRule,
    answering,
    assignment_periods,
    assignments_on,
    change_dates,
    in_force,
)

MARCH, JULY = date(2025, 3, 1), date(2025, 7, 1)
SPANS = {
    "stnmt": Span(valid_to=MARCH, successor="snnmt"),
    "snnptnt": Span(valid_to=MARCH, successor="snnmt"),
    "snnmt": Span(valid_from=MARCH),
    "sxd": Span(),
    "h-a": Span(valid_to=JULY),
    "h-b": Span(valid_to=JULY),
    "x-a": Span(valid_from=JULY),
    "x-b": Span(valid_from=JULY),
}
GROUPS = {
    "districts": Group(("h-a", "h-b")),
    "communes": Group(("x-a", "x-b")),
    "others": Group(("stnmt", "sxd", "snnptnt", "snnmt"), exclude_named_in_index=True),
}
SUCCESSIONS = [Succession(JULY, "districts", "communes")]
TASKS = [
    TaskRule("1.a", "1", ("stnmt",), ("snnptnt",)),
    TaskRule("1.k", "1", ("districts",), ("stnmt",)),
    TaskRule("1.i", "1", ("others",)),
]


def test_who_answers_for_an_agency_on_a_day() -> None:
    assert answering(SPANS, "stnmt", date(2025, 2, 28)) == "stnmt"
    assert answering(SPANS, "stnmt", MARCH) == "snnmt"
    assert answering(SPANS, "snnmt", date(2025, 2, 28)) is None  # not yet
    assert answering(SPANS, "h-a", JULY) is None  # retired: nobody
    assert answering(SPANS, "unknown", MARCH) == "unknown"  # no span: always
    loop = {"a": Span(valid_to=MARCH, successor="b"), "b": Span(valid_to=MARCH, successor="a")}
    assert answering(loop, "a", JULY) is None


def test_the_plan_read_on_three_days() -> None:
    before = assignments_on(TASKS, GROUPS, SPANS, SUCCESSIONS, date(2024, 12, 10))
    assert before[("1.a", "stnmt")] == ("lead", None)
    assert before[("1.a", "snnptnt")] == ("support", None)
    assert before[("1.k", "h-a")] == ("lead", "districts")
    assert {a for (t, a) in before if t == "1.i"} == {"sxd"}  # stnmt and snnptnt are named
    spring = assignments_on(TASKS, GROUPS, SPANS, SUCCESSIONS, date(2025, 4, 1))
    assert spring[("1.a", "snnmt")] == ("lead", None)  # the lead beats the support it absorbed
    assert ("1.a", "stnmt") not in spring
    assert {a for (t, a) in spring if t == "1.i"} == {"sxd"}  # snnmt answers for stnmt
    summer = assignments_on(TASKS, GROUPS, SPANS, SUCCESSIONS, JULY)
    assert {a for (t, a) in summer if t == "1.k"} == {"x-a", "x-b", "snnmt"}
    assert summer[("1.k", "x-a")] == ("lead", "communes")


def test_the_other_departments_leave_out_every_agency_the_index_names() -> None:
    """3.i.1: Sở KH&ĐT supports 3.a.1, so it is not one of index 3's "other departments"."""
    tasks = [
        TaskRule("3.a.1", "3", ("sct",), ("skhdt",)),
        TaskRule("3.i.1", "3", ("others",)),
        TaskRule("4.a", "4", ("others",)),
    ]
    groups = {"others": Group(("sct", "skhdt", "syt"), exclude_named_in_index=True)}
    on = assignments_on(tasks, groups, {}, [], date(2024, 12, 10))
    assert {a for (t, a) in on if t == "3.i.1"} == {"syt"}
    assert {a for (t, a) in on if t == "4.a"} == {"sct", "skhdt", "syt"}


def test_a_succession_for_one_task_only() -> None:
    later = date(2026, 1, 1)
    successions = [*SUCCESSIONS, Succession(later, "stnmt", "sxd", task="1.a")]
    on = assignments_on(TASKS, GROUPS, SPANS, successions, later)
    assert on[("1.a", "sxd")] == ("lead", None)
    assert ("1.a", "snnmt") in on  # still a support, through snnptnt
    assert on[("1.a", "snnmt")] == ("support", None)
    assert on[("1.k", "snnmt")] == ("support", None)  # other tasks keep stnmt's successor


def test_periods_cut_the_plan_at_each_change() -> None:
    assert change_dates(SPANS, SUCCESSIONS) == [MARCH, JULY]
    periods = assignment_periods(TASKS, GROUPS, SPANS, SUCCESSIONS)
    assert Period("1.a", "stnmt", "lead", None, None, MARCH) in periods
    assert Period("1.a", "snnmt", "lead", None, MARCH, None) in periods
    assert Period("1.k", "h-a", "lead", "districts", None, JULY) in periods
    assert Period("1.k", "x-b", "lead", "communes", JULY, None) in periods
    assert [p.task for p in periods] == sorted(
        (p.task for p in periods), key=["1.a", "1.k", "1.i"].index
    )
    for day in (date(2024, 1, 1), MARCH, date(2025, 5, 5), JULY, date(2030, 1, 1)):
        expected = assignments_on(TASKS, GROUPS, SPANS, SUCCESSIONS, day)
        held = {
            (p.task, p.agency): (p.role, p.via_group)
            for p in periods
            if in_force(p.valid_from, p.valid_to, day)
        }
        assert held == expected
    assert assignment_periods(TASKS, GROUPS, {}, []) == [
        Period(t, a, role, via, None, None)
        for (t, a), (role, via) in assignments_on(TASKS, GROUPS, {}, [], date.min).items()
    ]
