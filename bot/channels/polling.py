"""Terms of leadership: polling by the leader only, and what it adopts when it takes over.

With several instances on one database, the instance that leads (:mod:`storage.leadership`)
polls (a platform serves one poller per bot); the others receive webhooks and answer, and
start polling the moment they take the leadership over. A term ends when this instance stops
leading: a poll in progress is abandoned and its updates, never confirmed, come back to the
next poller. At the start of each term the leader adopts the updates recorded and not yet
handled (an instance that died left them in the inbox); each is handled once whoever handles
it, since handling starts by marking it processed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from storage.leadership import Leadership


async def lead_terms(
    work: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    leadership: Leadership,
    adopt: Callable[[], Awaitable[None]],
) -> None:
    """Adopt, then run ``work`` (polling) during each term this instance leads, until ``stop``."""
    while not stop.is_set():
        await first_of(leadership.wait_leading(), stop)
        if stop.is_set():
            return
        term = asyncio.Event()  # set when this instance stops leading, or at stop
        watcher = asyncio.create_task(_end_term(term, stop, leadership))
        try:
            await adopt()
            await work(term)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)


async def _end_term(term: asyncio.Event, stop: asyncio.Event, leadership: Leadership) -> None:
    await first_of(leadership.wait_following(), stop)
    term.set()


async def first_of(waiting: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """Wait for ``waiting`` or ``stop``, whichever comes first (the other is cancelled)."""
    waiters = [asyncio.ensure_future(waiting), asyncio.ensure_future(stop.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)


async def until_set(event: asyncio.Event) -> None:
    """The work of a term without polling (webhooks deliver): wait for its end."""
    await event.wait()


async def first_event(*events: asyncio.Event) -> None:
    """Wait until any of the events is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep for a while, or less if asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
