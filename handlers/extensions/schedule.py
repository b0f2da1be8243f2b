"""How a granted extension moves an agency's reminders: who is behind on which deadline.

The reminder sweep, the digest and ``/nhacnho`` ask :func:`behind` for every (deadline, agency,
tasks not reported). An agency's tasks moved by a granted extension leave the deadline's own
schedule and are chased on the extension's day instead (the deadline with its day replaced),
with reminder step names of their own (:func:`step_name`): a step already sent for the plan's
deadline never blocks the new schedule, and a step of the new schedule is sent once. Other
agencies, and the agency's other tasks, keep the plan's deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from bot.core.domain.extensions import Extension, moved_tasks
from bot.core.domain.standing import year_open
from handlers.pending import Pending
from storage.notifications import DueMilestone, PendingTask
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Behind:
    """An agency's tasks not reported for a deadline, on the agency's own day for them."""

    milestone: DueMilestone
    """The deadline, its ``due_date`` the extended day when ``extension`` is set."""
    agency_id: int
    tasks: list[PendingTask]
    extension: Extension | None = None


def step_name(extension: Extension | None, name: str) -> str:
    """Return a reminder step's decision name: the plan's, or one of the extension's own."""
    return name if extension is None else f"x{extension.id}-{name}"[:20]


def _moved_by(moved: dict[str, Extension], code: str) -> Extension | None:
    found = [e for e in (moved.get(code), moved.get("")) if e is not None]
    return max(found, key=lambda e: (e.decided_at or e.requested_at, e.id)) if found else None


async def behind(
    uow: UnitOfWork,
    today: date,
    wanted: Callable[[date], bool],
    known: Pending | None = None,
) -> list[Behind]:
    """Return every agency behind on a deadline whose (possibly extended) day is ``wanted``.

    Only years still open are chased; a deadline is read from the storage only when its own
    day, or the day of an extension granted on it, is wanted. ``known`` shares what a sweep or
    a digest has read already.
    """
    known = known or Pending(uow)
    granted = await uow.extensions.granted()
    found: list[Behind] = []
    for milestone in await known.milestones_between(date.min, date.max):
        if not year_open(milestone.year, today):
            continue
        extensions = [e for e in granted if e.milestone_id == milestone.id]
        own = wanted(milestone.due_date)
        if not own and not any(e.granted_until and wanted(e.granted_until) for e in extensions):
            continue
        for agency_id, tasks in (await known.by_agency(milestone)).items():
            moved = moved_tasks(extensions, agency_id, milestone.id)
            plain = [t for t in tasks if _moved_by(moved, t.code) is None]
            if plain and own:
                found.append(Behind(milestone, agency_id, plain))
            by_extension: dict[int, tuple[Extension, list[PendingTask]]] = {}
            for task in tasks:
                extension = _moved_by(moved, task.code)
                if extension is not None:
                    by_extension.setdefault(extension.id, (extension, []))[1].append(task)
            for extension, moved_list in by_extension.values():
                assert extension.granted_until is not None
                if wanted(extension.granted_until):
                    on_new_day = replace(milestone, due_date=extension.granted_until)
                    found.append(Behind(on_new_day, agency_id, moved_list, extension))
    found.sort(key=lambda b: b.milestone.due_date)
    return found
