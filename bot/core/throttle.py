"""Flood control: a token bucket per user, so one user cannot starve the others.

Each user may send ``burst`` updates at once and ``rate`` per second after that. An update
beyond that is dropped before it reaches the router (so it changes nothing); the first one
dropped in a spell is marked :attr:`Verdict.WARN` so that the channel can say, once, politely,
that the user is sending too fast.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass


class Verdict(enum.Enum):
    """What to do with one update."""

    ADMIT = "admit"
    WARN = "warn"
    """Drop it and tell the user to slow down (the first drop of a spell)."""
    DROP = "drop"


@dataclass(frozen=True, slots=True)
class FloodLimits:
    """How much one user may send."""

    burst: float = 12.0
    """Updates a user may send at once (a batch of up to 10 evidence files fits)."""
    rate: float = 1.0
    """Updates per second a user may send after the burst."""
    warn_interval: float = 60.0
    """Seconds between two warnings to the same user."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    warned_at: float | None = None
    dropping: bool = False


class Throttle:
    """Admit or drop updates per user, on the monotonic clock."""

    MAX_USERS = 50_000

    def __init__(
        self,
        limits: FloodLimits | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or FloodLimits()
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, user: str) -> Verdict:
        """Take a token for the user's update; say what to do with it."""
        now = self._monotonic()
        limits = self.limits
        bucket = self._buckets.get(user)
        if bucket is None:
            if len(self._buckets) >= self.MAX_USERS:
                self._forget_full(now)
            bucket = self._buckets[user] = _Bucket(limits.burst, now)
        bucket.tokens = min(limits.burst, bucket.tokens + (now - bucket.updated) * limits.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.dropping = False
            return Verdict.ADMIT
        starting = not bucket.dropping
        bucket.dropping = True
        recently = bucket.warned_at is not None and now - bucket.warned_at < limits.warn_interval
        if starting and not recently:
            bucket.warned_at = now
            return Verdict.WARN
        return Verdict.DROP

    def _forget_full(self, now: float) -> None:
        """Forget users whose bucket has refilled (they are as new)."""
        limits = self.limits
        self._buckets = {
            user: bucket
            for user, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.updated) * limits.rate < limits.burst
        }
