"""The outbox worker: delivers notifications within the platforms' limits, never silently drops.

Messages are claimed in order, sent at most ``rate`` per second overall and one per
``chat_interval`` seconds to any chat, and marked sent right after. A 429 pauses every send for
the time the platform asks; server errors and timeouts are retried with capped exponential
backoff, and after the last attempt the message is marked failed (the coordinator's digest
lists it). A user who blocked the bot is marked unreachable and not retried. A crash between a
send and its mark can send that one message again: the duplicate window is the messages in
flight, never more.

Each batch is claimed for this instance with a lease (:mod:`storage.outbox`), renewed while
the batch is delivered; a send starts only while enough of the lease is left, so an instance
cut off from its database never sends what another instance may have taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.channels.polling import first_of
from bot.core.clock import Clock
from bot.core.delivery import (
    Decision,
    DeliveryError,
    RateLimited,
    RetryPolicy,
    Sender,
    Step,
    deliver,
    send_all,
)
from bot.core.domain.conversation import ChoiceOffer
from bot.core.messages import Reply, reply_from_payload
from bot.core.text import fold
from storage.db import Database, DatabaseError
from storage.leadership import Leadership
from storage.notifications import BLOCKED, FAILED, SENT
from storage.outbox import REPLY, OutboxItem
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """How fast and how persistently to deliver."""

    rate: float = 25.0
    chat_interval: float = 1.0
    group_interval: float = 3.0
    """Seconds between two messages to a group (Telegram: 20 a minute per group)."""
    ceiling: int | None = None
    """Requests the platform takes in any one second (None: ``rate``); see :class:`_Pacer`."""
    concurrency: int = 8
    max_attempts: int = 6
    backoff_base: float = 2.0
    """Seconds before the first retry; doubled at each attempt, up to ``backoff_cap``."""
    backoff_cap: float = 300.0
    batch: int = 200
    lease: float = 90.0
    """Seconds a claim on a batch lasts unless renewed; another instance waits that long."""
    renew_every: float = 15.0
    """Seconds between renewals of the claim while the batch is being delivered."""
    lease_margin: float = 45.0
    """A send starts only while this much of the claim is left (more than a send can take)."""

    @property
    def retry_policy(self) -> RetryPolicy:
        """The shared retry policy with the outbox's patience (see :mod:`bot.core.delivery`)."""
        return RetryPolicy(
            attempts=self.max_attempts,
            first_delay=self.backoff_base,
            max_delay=self.backoff_cap,
            jitter=0.2,
        )


CATCH_UP = 0.25
"""Seconds of slots missed by a late event loop that are made up for."""


class _Pacer:
    """A global rate, a per-chat spacing and a cap per second, on the monotonic clock.

    Each message is given a slot in advance (the global interval, the chat's interval, a
    pause after a 429): slots keep the average at ``rate``, and a slot a late event loop
    missed by less than :data:`CATCH_UP` is made up for. Then, just before its request
    leaves, it also takes one of ``ceiling`` places (the platform's own limit per second,
    above ``rate``), each held from then until a second after the request's answer (see
    :meth:`admit`). Slots made up for, slots that fall due together when the event loop runs
    late, and requests that waited together for a free connection would otherwise arrive as
    a burst, which the platform answers with 429s.
    """

    def __init__(self, limits: DeliveryLimits) -> None:
        self._interval = 1.0 / limits.rate
        self._chat_interval = limits.chat_interval
        self._group_interval = max(limits.chat_interval, limits.group_interval)
        self._per_window = max(1, int(limits.rate), limits.ceiling or 0)
        self._window: deque[float] = deque()
        """When the answers of the last second's requests came."""
        self._in_flight = 0
        self._answer = asyncio.Event()
        self._window_lock = asyncio.Lock()
        self._next_slot = 0.0
        self._chat_next: dict[str, float] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _spacing(self, chat_id: str) -> float:
        """Seconds between two messages to a chat: groups (negative ids) wait longer."""
        return self._group_interval if chat_id.startswith("-") else self._chat_interval

    def sent(self, chat_id: str) -> None:
        """Space the chat's next message from the moment this one actually left."""
        self._chat_next[chat_id] = max(
            self._chat_next.get(chat_id, 0.0), time.monotonic() + self._spacing(chat_id)
        )

    async def wait(self, chat_id: str) -> None:
        async with self._lock:
            now = time.monotonic()
            # A slot a late event loop missed by a little is made up for; after a longer
            # while (idle), the slots start again from now, so no burst follows a quiet time.
            due = self._next_slot if self._next_slot >= now - CATCH_UP else now
            start = max(due, self._paused_until, self._chat_next.get(chat_id, 0))
            self._next_slot = start + self._interval
            self._chat_next[chat_id] = start + self._spacing(chat_id)
            if len(self._chat_next) > 50_000:
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        delay = start - now
        if delay > 0:
            await asyncio.sleep(delay)

    async def admit(self) -> None:
        """Take a place among the requests of the last second, just before one leaves.

        A request holds its place from now until one second after its answer: the platform
        counts a request when it arrives, at some moment between the two, so whatever the
        delays on the way (a late event loop, requests that waited together for a free
        connection, a slow network), no second at the platform sees more than ``rate``.
        Release it with :meth:`answered`.
        """
        async with self._window_lock:  # one at a time: the places are counted and taken at once
            while True:
                now = time.monotonic()
                while self._window and self._window[0] <= now - 1.0:
                    self._window.popleft()
                pause = self._paused_until - now  # a 429 arrived while this send waited
                if pause > 0:
                    await asyncio.sleep(pause)
                    continue
                if self._in_flight + len(self._window) < self._per_window:
                    self._in_flight += 1
                    return
                self._answer.clear()
                wait = self._window[0] + 1.0 - now if self._window else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._answer.wait(), wait)

    def answered(self) -> None:
        """The request admitted last by this caller has its answer (or failed)."""
        self._in_flight -= 1
        self._window.append(time.monotonic())
        self._answer.set()


async def _turn_or_stop(turn: Coroutine[Any, Any, None], stop: asyncio.Event | None) -> bool:
    """Wait for a message's turn; False if asked to stop first (or already)."""
    if stop is None:
        await turn
        return True
    if stop.is_set():
        turn.close()  # never started
        return False
    waiting = asyncio.ensure_future(turn)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if waiting.done():
        return True
    waiting.cancel()
    return False


class OutboxWorker:
    """Deliver due outbox messages through the channels' senders."""

    def __init__(
        self,
        database: Database,
        senders: Mapping[str, Sender],
        clock: Clock,
        limits: DeliveryLimits | None = None,
        channel_limits: Mapping[str, DeliveryLimits] | None = None,
        *,
        wake: asyncio.Event | None = None,
        claimant: str = "local",
        leadership: Leadership | None = None,
    ) -> None:
        self._database = database
        self.claimant = claimant
        """Who claims messages: this instance's id (``instance`` table)."""
        self._leadership = leadership
        """When given, messages are delivered only while this instance leads (one pace)."""
        self._lease_until: datetime | None = None
        self._senders = senders
        self._clock = clock
        self.limits = limits or DeliveryLimits()
        self._channel_limits = dict(channel_limits or {})
        self._pacers = {
            channel: _Pacer(self._channel_limits.get(channel, self.limits)) for channel in senders
        }  # each platform has its own pace, and a 429 pauses only its own sends
        self._gate = asyncio.Semaphore(self.limits.concurrency)
        self._wake = wake if wake is not None else asyncio.Event()
        """Set to look for due messages now; the runtime shares it with the router and jobs."""

    def wake(self) -> None:
        """Look for due messages now (after a sweep or a broadcast)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until asked to stop; sleep until the next message is due.

        With a leadership, only the leader delivers: the platform's limits are per bot, so
        one pace for the whole service. On SQLite, claims a stopped process left are freed
        at once (no other process can hold them).
        """
        backoff = 1.0
        released = False
        while not stop.is_set():
            if self._leadership is not None and not self._leadership.is_leader:
                await first_of(self._leadership.wait_leading(), stop)
                continue
            self._wake.clear()
            try:
                if not released:
                    async with UnitOfWork(self._database) as uow:
                        await uow.outbox.release_orphans(self.claimant)
                        await uow.commit()
                    released = True
                delivered = await self.deliver_due(stop)
                if delivered:
                    continue
                async with UnitOfWork(self._database) as uow:
                    next_due = await uow.outbox.next_due_at()
                backoff = 1.0
            except (DatabaseError, OSError) as error:  # the database is away for a moment
                logger.warning(
                    "outbox: database unavailable (%s); trying again in %.0f s",
                    type(error).__name__,
                    backoff,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            timeout = 60.0
            if next_due is not None:
                timeout = min(max((next_due - self._clock.now()).total_seconds(), 0.05), 60.0)
            waiters = [
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def deliver_due(self, stop: asyncio.Event | None = None) -> int:
        """Deliver one batch of due messages; return how many were handled.

        Once ``stop`` is set, messages still waiting for their turn go back to the queue
        untried, so that a shutdown waits only for the requests already on the wire.
        """
        now, lease = self._clock.now(), timedelta(seconds=self.limits.lease)
        async with UnitOfWork(self._database) as uow:
            items = await uow.outbox.due(now, self.limits.batch, self.claimant, lease)
            await uow.commit()
        if not items:
            return 0
        self._lease_until = now + lease
        by_chat: dict[tuple[str, str], list[OutboxItem]] = {}
        for item in items:
            by_chat.setdefault((item.channel, item.chat_id), []).append(item)

        async def in_order(queue: list[OutboxItem]) -> None:
            for item in queue:  # one chat's messages keep their order
                await self._deliver(item, stop)

        done = asyncio.Event()
        renewing = asyncio.create_task(self._renew(done))
        try:
            await asyncio.gather(*(in_order(queue) for queue in by_chat.values()))
        finally:
            done.set()
            await renewing
        return len(items)

    async def _renew(self, done: asyncio.Event) -> None:
        """Extend the batch's claim every ``renew_every`` seconds until it is delivered."""
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self.limits.renew_every)
            if done.is_set():
                return
            until = self._clock.now() + timedelta(seconds=self.limits.lease)
            try:
                async with UnitOfWork(self._database) as uow:
                    await uow.outbox.renew(self.claimant, until)
                    await uow.commit()
            except (DatabaseError, OSError) as error:
                logger.warning(
                    "outbox: cannot renew the claim on the messages being sent (%s)",
                    type(error).__name__,
                )
                continue
            self._lease_until = until

    def _claim_holds(self) -> bool:
        """Tell whether enough of the claim is left to start a send."""
        margin = timedelta(seconds=self.limits.lease_margin)
        return self._lease_until is not None and self._clock.now() + margin <= self._lease_until

    async def _deliver(self, item: OutboxItem, stop: asyncio.Event | None = None) -> None:
        sender = self._senders.get(item.channel)
        if sender is None:
            await self._finish(item, FAILED, f"no sender for channel {item.channel}")
            return
        pacer = self._pacers[item.channel]
        if not await _turn_or_stop(pacer.wait(item.chat_id), stop):
            await self._retry(item, 0.0, "not sent before the shutdown", count=False)
            return
        if not self._claim_holds():  # its claim could not be renewed: another may take it
            logger.warning(
                "outbox message %s left unsent: the claim on it may pass to another instance",
                item.id,
            )
            return
        reply = reply_from_payload(item.payload)
        pieces = sender.pieces(item.chat_id, reply)

        async def send() -> None:
            await pacer.admit()
            try:
                await send_all(pieces)
            finally:
                pacer.answered()
                pacer.sent(item.chat_id)

        outcome = _OutboxOutcome(self, item, pacer)
        # The gate bounds the requests in flight and the messages sent but not yet marked
        # (what a crash may repeat), not the waiting for a turn.
        async with self._gate:
            if await deliver(send, self.limits.retry_policy, outcome, attempt=item.attempts):
                offered = sender.numbered and item.kind != REPLY
                await self._finish(item, SENT, None, reply if offered else None)

    async def _finish(
        self, item: OutboxItem, status: str, error: str | None, offered: Reply | None = None
    ) -> None:
        """Record a delivery's outcome; and the numbered choices a sent notification listed.

        On a platform without buttons, the choices of a notification (a reminder's "Báo cáo
        ngay", a return's "Bổ sung ngay") are recorded for its chat in the same transaction,
        so that a number typed afterwards names one of them (see
        :func:`bot.core.domain.conversation.with_offer`). A direct reply's choices are the
        conversation's own, kept by the router.
        """
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            await uow.outbox.mark(item.id, status, now, error, self.claimant)
            choices = offered.flat_choices if offered is not None and offered.numbered else ()
            if choices:
                offer = ChoiceOffer(
                    tuple(c.payload for c in choices), tuple(fold(c.label) for c in choices), now
                )
                await uow.conversations.offer(item.channel, item.chat_id, offer)
            await uow.commit()

    async def _retry(
        self, item: OutboxItem, seconds: float, error: str, count: bool = True
    ) -> None:
        when = self._clock.now() + timedelta(seconds=seconds)
        async with UnitOfWork(self._database) as uow:
            await uow.outbox.retry_at(
                item.id, when, error, uncount=not count, claimant=self.claimant
            )
            await uow.commit()


class _OutboxOutcome:
    """A notification's side of the shared policy: retries wait in the outbox table."""

    def __init__(self, worker: OutboxWorker, item: OutboxItem, pacer: _Pacer) -> None:
        self._worker, self._item, self._pacer = worker, item, pacer

    async def retry(self, error: DeliveryError, decision: Decision) -> bool:
        """Put the message back, due after the decided delay; a 429 pauses the whole channel."""
        item = self._item
        if isinstance(error, RateLimited):
            self._pacer.pause(decision.delay)
            logger.warning(
                "%s rate-limits outbox message %s to chat %s; pausing the channel for %.0f s",
                item.channel,
                item.id,
                item.chat_id,
                decision.delay,
            )
        else:
            logger.warning(
                "could not deliver outbox message %s to %s chat %s: %s; retrying in %.1f s",
                item.id,
                item.channel,
                item.chat_id,
                error,
                decision.delay,
            )
        await self._worker._retry(item, decision.delay, str(error), count=decision.counted)
        return False  # the worker claims it again when it is due

    async def unreachable(self, error: DeliveryError) -> None:
        """Mark the chat unreachable and the message blocked."""
        item, worker = self._item, self._worker
        async with UnitOfWork(worker._database) as uow:
            await uow.members.mark_unreachable(item.channel, item.chat_id)
            await uow.outbox.mark(
                item.id, BLOCKED, worker._clock.now(), str(error), worker.claimant
            )
            await uow.commit()
        logger.info("chat %s blocked the bot; marked unreachable", item.chat_id)

    async def failed(self, error: DeliveryError, decision: Decision) -> None:
        """Mark the message failed: the coordinator's digest lists it."""
        item = self._item
        await self._worker._finish(item, FAILED, str(error))
        if decision.step is Step.REJECTED:
            logger.error(
                "%s refused outbox message %s to chat %s: %s",
                item.channel,
                item.id,
                item.chat_id,
                error,
            )
        else:
            logger.error(
                "giving up on outbox message %s to %s chat %s after %d attempts: %s",
                item.id,
                item.channel,
                item.chat_id,
                item.attempts,
                error,
            )
