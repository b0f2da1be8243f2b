"""The structure in force on a date: which agencies exist, who answers for whom, who is assigned.

An agency exists from ``valid_from`` (None: since before the plan) until ``valid_to`` (None:
still; otherwise the first day it no longer exists). One that ended with a successor (a merger)
is answered for by that successor from then on; one that ended without (a retirement) by nobody.
A group can be succeeded by another from a date (the districts by the communes and wards), and
so can any code one task names as a lead or support (one task's agency or group by another).

The plan as written never changes with the years; what it means on a date does.
:func:`assignments_on` reads it on one date, and :func:`assignment_periods` turns it into the
periods during which one agency leads or supports one task, so that every year can be read in
the structure in force for its own deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

LEAD, SUPPORT = "lead", "support"


@dataclass(frozen=True, slots=True)
class Span:
    """When an agency exists, and who takes over from it when it ends."""

    valid_from: date | None = None
    valid_to: date | None = None
    """The first day the agency no longer exists (None: it still does)."""
    successor: str | None = None
    """The agency that answers for it from ``valid_to`` (None: nobody, it was retired)."""

    def exists_on(self, on: date) -> bool:
        """Tell whether the agency exists on a day."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on < self.valid_to
        )


@dataclass(frozen=True, slots=True)
class Group:
    """A group as the plan writes it: its agencies, in order (named ones, then by kind)."""

    members: tuple[str, ...]
    exclude_named_in_index: bool = False
    section_ii_leads: bool = False
    """The agencies that lead a task of section II (an index's task) on the day, in order."""


@dataclass(frozen=True, slots=True)
class Succession:
    """From ``since``, ``new`` stands where ``old`` stood: for every task, or for one."""

    since: date
    old: str
    """A group code (every task), or the agency or group code a task names (with ``task``)."""
    new: str
    task: str | None = None


@dataclass(frozen=True, slots=True)
class TaskRule:
    """A task as the plan writes it: who leads and supports it, by agency or group code."""

    code: str
    index: str | None
    leads: tuple[str, ...]
    supports: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Period:
    """One agency leading or supporting one task from one day until another."""

    task: str
    agency: str
    role: str
    via_group: str | None
    valid_from: date | None
    valid_to: date | None
    """The first day the assignment no longer holds (None: it still does)."""


Assigned = dict[tuple[str, str], tuple[str, str | None]]
"""(task, agency) -> (role, the group it came through or None)."""


def answering(spans: Mapping[str, Span], code: str, on: date) -> str | None:
    """Return the agency that answers on a day for one the plan names (None: nobody).

    Itself while it exists; after it ended, its successor's answer, and so on along the chain
    of mergers; nobody before it exists, or after it ended without a successor. An agency not
    in ``spans`` exists always.
    """
    seen: set[str] = set()
    current: str | None = code
    while current is not None and current not in seen:
        seen.add(current)
        span = spans.get(current, Span())
        if span.valid_from is not None and on < span.valid_from:
            return None
        if span.valid_to is None or on < span.valid_to:
            return current
        current = span.successor
    return None


def _succeeded(code: str, successions: Iterable[Succession], on: date) -> str:
    """Follow the successions in force on a day from a code to what stands for it then."""
    seen = {code}
    changed = True
    while changed:
        changed = False
        for succession in successions:
            if succession.old == code and succession.since <= on and succession.new not in seen:
                code = succession.new
                seen.add(code)
                changed = True
                break
    return code


def assignments_on(
    tasks: Sequence[TaskRule],
    groups: Mapping[str, Group],
    spans: Mapping[str, Span],
    successions: Sequence[Succession],
    on: date,
) -> Assigned:
    """Return who leads and supports each task on a day, in the plan's order.

    A code a task names is first replaced by what succeeds it on that day (for this task, then
    for every task); a group gives its members, and each agency is replaced by the one that
    answers for it that day (:func:`answering`). A group with ``exclude_named_in_index`` ("the
    other departments") leaves out the agencies that answer that day for those the same index
    names directly, as leads or as supports. A group of ``section_ii_leads`` gives the agencies
    that lead a task of section II that day (those who must plan and report on their tasks),
    in the order they first lead one. An agency reached both as lead and as support is a lead.
    """
    if any(group.section_ii_leads for group in groups.values()):
        plain = {
            code: replace(group, members=(), section_ii_leads=False)
            if group.section_ii_leads
            else group
            for code, group in groups.items()
        }
        section_ii = [task for task in tasks if task.index is not None]
        found = assignments_on(section_ii, plain, spans, successions, on)
        leaders = tuple(dict.fromkeys(a for (_, a), (role, _) in found.items() if role == LEAD))
        groups = {
            code: replace(group, members=leaders, section_ii_leads=False)
            if group.section_ii_leads
            else group
            for code, group in groups.items()
        }
    for_task: dict[str, list[Succession]] = {}
    general: list[Succession] = []
    for succession in successions:
        if succession.task is None:
            general.append(succession)
        else:
            for_task.setdefault(succession.task, []).append(succession)

    def resolved(task: TaskRule, code: str) -> str:
        return _succeeded(_succeeded(code, for_task.get(task.code, ()), on), general, on)

    named: dict[str | None, set[str]] = {}
    for task in tasks:
        here = named.setdefault(task.index, set())
        for code in (*task.leads, *task.supports):
            code = resolved(task, code)
            if code not in groups and (agency := answering(spans, code, on)) is not None:
                here.add(agency)
    result: Assigned = {}
    for task in tasks:
        for role, codes in ((LEAD, task.leads), (SUPPORT, task.supports)):
            for written in codes:
                code = resolved(task, written)
                group = groups.get(code)
                members = group.members if group else (code,)
                for member in members:
                    agency = answering(spans, member, on)
                    if agency is None:
                        continue
                    if group and group.exclude_named_in_index and agency in named[task.index]:
                        continue
                    key = (task.code, agency)
                    if key not in result or (role == LEAD and result[key][0] == SUPPORT):
                        result[key] = (role, code if group else None)
    return result


def change_dates(spans: Mapping[str, Span], successions: Iterable[Succession]) -> list[date]:
    """Return every day on which the structure may change, in order."""
    days = {d for span in spans.values() for d in (span.valid_from, span.valid_to) if d}
    days.update(succession.since for succession in successions)
    return sorted(days)


def assignment_periods(
    tasks: Sequence[TaskRule],
    groups: Mapping[str, Group],
    spans: Mapping[str, Span],
    successions: Sequence[Succession],
) -> list[Period]:
    """Return every assignment the plan makes, with the days it holds, in the plan's order.

    The plan is read before the first change and on each day the structure changes
    (:func:`change_dates`); an assignment that reads the same on consecutive days is one period.
    """
    days = change_dates(spans, successions)
    starts: list[date | None] = [None, *days]
    open_: dict[tuple[str, str], tuple[str, str | None, date | None]] = {}
    order: dict[tuple[str, str], int] = {}
    periods: list[tuple[int, Period]] = []

    def close(key: tuple[str, str], until: date | None) -> None:
        role, via, since = open_.pop(key)
        periods.append((order[key], Period(key[0], key[1], role, via, since, until)))

    for start in starts:
        on = start if start is not None else date.min
        assigned = assignments_on(tasks, groups, spans, successions, on)
        for key in list(open_):
            if assigned.get(key) != open_[key][:2]:
                close(key, start)
        for key, (role, via) in assigned.items():
            order.setdefault(key, len(order))
            if key not in open_:
                open_[key] = (role, via, start)
    for key in list(open_):
        close(key, None)
    position = {task.code: n for n, task in enumerate(tasks)}
    periods.sort(
        key=lambda item: (position[item[1].task], item[0], item[1].valid_from or date.min)
    )
    return [period for _, period in periods]


def in_force(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    """Tell whether something valid from one day until another holds on a day."""
    return (valid_from is None or valid_from <= on) and (valid_to is None or on < valid_to)
