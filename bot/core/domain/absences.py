"""Absences and stand-ins: who receives a reminder meant for a member who is away.

A member declares an absence from one day to another, optionally with a stand-in from the same
agency. While it lasts the member receives no reminders; the stand-in receives them instead,
marked as standing in; without a stand-in, the agency's other members do, or, when none is
present, its leaders. An agency with nobody present is left to the coordinator's digest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

LONGEST_DAYS = 366
"""An absence lasts at most a year."""


@dataclass(frozen=True, slots=True)
class Absence:
    """One declared absence of a member."""

    id: int
    member_id: int
    member_name: str
    agency_id: int
    starts_on: date
    ends_on: date
    """The last day away (inclusive)."""
    stand_in_id: int | None = None
    stand_in_name: str | None = None

    def covers(self, day: date) -> bool:
        """Tell whether the member is away on a day."""
        return self.starts_on <= day <= self.ends_on

    def overlaps(self, starts_on: date, ends_on: date) -> bool:
        """Tell whether it shares a day with another period."""
        return self.starts_on <= ends_on and starts_on <= self.ends_on


@dataclass(frozen=True, slots=True)
class Route:
    """A member who receives a notification, and the absent members they receive it for."""

    member_id: int
    standing_in_for: tuple[int, ...] = field(default=())


def route(
    intended: Sequence[int],
    officers: Sequence[int],
    leaders: Sequence[int],
    away: Mapping[int, Absence],
) -> tuple[list[Route], list[int]]:
    """Return who receives what was meant for ``intended``, and who could be reached by nobody.

    Args:
        intended: the members the notification is meant for, in order.
        officers: the agency's reachable members who are not leaders.
        leaders: its reachable leaders.
        away: the absences in force today, by member.

    A present member receives their own. An absent one's goes to their stand-in when the
    stand-in is reachable and present; else to the agency's present officers; else to its
    present leaders; else to nobody (the second list).
    """
    present = [m for m in (*officers, *leaders) if m not in away]
    standing: dict[int, list[int]] = {m: [] for m in intended if m not in away}
    unreached: list[int] = []
    for member in intended:
        absence = away.get(member)
        if absence is None:
            continue
        stand_in = absence.stand_in_id
        if stand_in is not None and stand_in in present:
            substitutes = [stand_in]
        else:
            substitutes = [m for m in officers if m in present and m != member] or [
                m for m in leaders if m in present and m != member
            ]
        if not substitutes:
            unreached.append(member)
        for substitute in substitutes:
            standing.setdefault(substitute, []).append(member)
    return [Route(m, tuple(absent)) for m, absent in standing.items()], unreached
