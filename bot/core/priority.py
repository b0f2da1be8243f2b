"""The intake goes first: background work gives way to the updates people are waiting for.

A process has one event loop and, for Python's own work, one core. The reminder sweep of a
reminder morning (thousands of reminders decided) and a large export are long runs of work
that nobody watches; officers reporting meanwhile are waiting for each answer. The loop is
fair, so without more, the intake only gets its share of the core while they run, and its
backlog (and latency) grows for as long as they last.

So the channels' workers tell this module when they have nothing in hand
(:func:`register`), and long background work calls :func:`give_way` between its pieces (an
agency's reminders, a thousand rows of a workbook): it waits while the intake has something in
hand, at most ``longest`` seconds, so that it always goes on, only more slowly under a flood.
Work done by the intake itself (an export asked for in chat is produced in its update's batch)
never waits for the intake: the worker marks its own task (:func:`mark_intake`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from contextvars import ContextVar

GIVE_WAY_LONGEST = 0.5
"""Seconds a piece of background work waits at most for the intake, each time."""

_idle: dict[int, asyncio.Event] = {}
_in_intake: ContextVar[bool] = ContextVar("in_intake", default=False)


def mark_intake() -> None:
    """Mark the current task (and the tasks it starts) as the intake's own work."""
    _in_intake.set(True)


def register(idle: asyncio.Event) -> Callable[[], None]:
    """Let a worker say, by an event set while it has nothing in hand, when it is idle.

    Returns the function that forgets it (when the worker stops).
    """
    key = id(idle)
    _idle[key] = idle

    def forget() -> None:
        _idle.pop(key, None)

    return forget


def intake_busy() -> bool:
    """Tell whether any worker has updates in hand."""
    return any(not idle.is_set() for idle in list(_idle.values()))


async def give_way(longest: float = GIVE_WAY_LONGEST) -> None:
    """Let the loop run others, then wait while the intake has updates in hand (bounded)."""
    await asyncio.sleep(0)
    if _in_intake.get():
        return  # the intake's own work: waiting for the intake would wait for itself
    waiting = [idle for idle in list(_idle.values()) if not idle.is_set()]
    if not waiting:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(idle.wait() for idle in waiting)), longest)
