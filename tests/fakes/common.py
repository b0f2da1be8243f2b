"""What the fake platform servers share: injected faults, and waiting without sleeping."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web


@dataclass
class Fault:
    """An error to answer the next calls of a method with."""

    error: Exception
    deliver: bool
    """The call takes effect all the same ("timed out but actually sent")."""
    times: int


class Dropped(Exception):
    """A fault with no answer at all: the connection is reset after ``hold`` seconds.

    With ``hold`` longer than the client's read timeout, the client times out first.
    """

    def __init__(self, hold: float = 0.0) -> None:
        super().__init__(f"connection reset after {hold} s")
        self.hold = hold


def reset_connection(request: web.Request) -> None:
    """Reset the request's TCP connection (RST, no answer); nothing if the client has gone."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:  # linger 0: close with a RST instead of a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class Faults:
    """Pending faults per method, taken in order."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[Fault]] = {}

    def add(self, method: str, fault: Fault) -> None:
        """Queue a fault for a method."""
        self._pending.setdefault(method, deque()).append(fault)

    def take(self, method: str) -> Fault | None:
        """Return the fault for this call of a method, if one is pending."""
        pending = self._pending.get(method)
        if not pending:
            return None
        fault = pending[0]
        fault.times -= 1
        if fault.times <= 0:
            pending.popleft()
        return fault


class Waiting:
    """An event pulsed at every change, so that waiters re-check their condition, never sleep."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def _pulse(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until a condition holds; False if it still does not after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            event = self._event
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return condition()
        return True
