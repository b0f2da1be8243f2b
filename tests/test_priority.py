"""Background work gives way to the intake: it waits while a worker has updates in hand."""

from __future__ import annotations

import asyncio
import time

from bot.core import priority


async def test_nothing_registered_or_idle_means_no_wait() -> None:
    started = time.monotonic()
    await priority.give_way(longest=5)
    idle = asyncio.Event()
    idle.set()
    forget = priority.register(idle)
    try:
        await priority.give_way(longest=5)
        assert not priority.intake_busy()
    finally:
        forget()
    assert time.monotonic() - started < 1


async def test_background_work_waits_until_the_intake_is_idle() -> None:
    idle = asyncio.Event()
    forget = priority.register(idle)
    try:
        assert priority.intake_busy()
        waiting = asyncio.create_task(priority.give_way(longest=30))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not waiting.done()  # the intake has something in hand
        idle.set()
        await asyncio.wait_for(waiting, 5)
    finally:
        forget()
    assert not priority.intake_busy()


async def test_the_wait_is_bounded_so_background_work_always_goes_on() -> None:
    forget = priority.register(asyncio.Event())  # a worker that never gets idle
    try:
        started = time.monotonic()
        await priority.give_way(longest=0.05)
        assert time.monotonic() - started < 2
    finally:
        forget()


async def test_the_intakes_own_work_never_waits_for_the_intake() -> None:
    forget = priority.register(asyncio.Event())  # the intake is busy: with this very work

    async def intake_work() -> float:
        priority.mark_intake()
        started = time.monotonic()
        await priority.give_way(longest=30)
        return time.monotonic() - started

    try:
        assert await asyncio.wait_for(asyncio.create_task(intake_work()), 5) < 1
    finally:
        forget()
