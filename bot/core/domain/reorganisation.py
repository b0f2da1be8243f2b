"""Reorganisation of agencies: which changes are refused, and who an agency became.

The rules only; :mod:`storage.agencies` reads the agencies, applies them and writes what
they decide. An agency merged into another stays as it was, with a successor, so its reports
keep their author: "the agency today" follows the chain of successors (:func:`current_of`),
and its "lineage" is itself with every agency merged into it (:func:`lineage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.core.domain.agencies import AgencyStatus


class Refusal(StrEnum):
    """Why a change to the agencies is not made, or an agency not found."""

    SELF_MERGE = "self_merge"
    """An agency cannot be merged into itself (nor into one merged into it)."""
    NOT_ACTIVE = "not_active"
    """The agency to merge or retire was merged or retired already."""
    TARGET_NOT_ACTIVE = "target_not_active"
    """The agency to merge into no longer reports."""
    CODE_TAKEN = "code_taken"
    """The code of a new agency belongs to another one."""
    UNKNOWN_CODE = "unknown_code"
    """No agency has the code asked for."""
    AMBIGUOUS = "ambiguous"
    """What a person typed names several agencies that are not one today."""
    UNKNOWN_NAME = "unknown_name"
    """What a person typed names no agency (some names may come close)."""
    ENDED = "ended"
    """The agency no longer exists (its end has come): whoever took over is named instead."""
    PLAN_OUTDATED = "plan_outdated"
    """The plan was imported before agencies had dates: it must be imported again first."""


@dataclass(frozen=True, slots=True)
class Followed:
    """A member who followed their agency at its end, with what they are to be told."""

    member_id: int
    channel: str
    chat_id: str
    """Where the member is told (their chosen channel, else the latest reachable one)."""
    agency_id: int
    agency: str
    """The name of the agency that ended."""
    ended_on: date
    continues_under: str | None
    """The agency the member now reports for (a merger); None: the account is closed."""
    takers: tuple[str, ...] = ()
    """Who took over the tasks of a unit that was retired (none: nobody)."""


@dataclass(frozen=True, slots=True)
class Standing:
    """What the rules need to know of an agency: which one, its status, its successor."""

    id: int
    status: AgencyStatus
    successor_id: int | None = None


def merge_refusal(source: Standing, target: Standing) -> Refusal | None:
    """Tell why ``source`` cannot be merged into ``target`` (the target as it is today).

    None also when the merger was made already: see :func:`already_merged`.
    """
    if source.id == target.id:
        return Refusal.SELF_MERGE
    if already_merged(source, target):
        return None
    if source.status != AgencyStatus.ACTIVE:
        return Refusal.NOT_ACTIVE
    if target.status != AgencyStatus.ACTIVE:
        return Refusal.TARGET_NOT_ACTIVE
    return None


def already_merged(source: Standing, target: Standing) -> bool:
    """Tell whether ``source`` was merged into ``target`` already (then nothing changes)."""
    return source.status == AgencyStatus.MERGED and source.successor_id == target.id


def retire_refusal(agency: Standing) -> Refusal | None:
    """Tell why an agency cannot be retired; None also when it is retired already."""
    if agency.status in (AgencyStatus.ACTIVE, AgencyStatus.RETIRED):
        return None
    return Refusal.NOT_ACTIVE


def add_conflict(existing_name: str | None, name: str) -> Refusal | None:
    """Tell why an agency cannot be added with a code (``existing_name``: who has it, if any).

    Adding one that exists with the same name is no conflict: it changes nothing.
    """
    if existing_name is not None and existing_name != name:
        return Refusal.CODE_TAKEN
    return None


def current_of(successors: Mapping[int, int | None], agency_id: int) -> int:
    """Follow the chain of mergers from an agency to the one that reports today.

    ``successors`` maps an agency id to the id it was merged into (None or absent: none).
    A chain that loops (which a merger never makes) stops where it would repeat.
    """
    seen = {agency_id}
    while (successor := successors.get(agency_id)) is not None and successor not in seen:
        seen.add(successor)
        agency_id = successor
    return agency_id


def lineage(mergers: Mapping[int, Iterable[int]], agency_id: int) -> list[int]:
    """Return an agency's id and the ids of every agency merged into it, directly or not.

    ``mergers`` maps an agency id to the ids of the agencies merged directly into it.
    """
    result: list[int] = []
    stack = [agency_id]
    while stack:
        current = stack.pop()
        if current in result:
            continue
        result.append(current)
        stack.extend(mergers.get(current, ()))
    return result
