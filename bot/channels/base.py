"""What every channel shares: a durable inbox of platform updates and one ordered worker.

A channel records each raw update in the inbox (keyed by channel and update id) before it
tells the platform the update arrived, then :meth:`InboxChannel.run_worker` processes the
inbox in order, each entry exactly once: the router marks the entry processed in the same
transaction as its effects. The updates in hand are handled in batches, one transaction each
(group commit); a batch with a faulty update is handled again one update at a time. Entries
that fail are retried at the next start; entries caught by a database outage wait in hand and
are handled once it is back. An update with a file is handled in its chat's own
lane beside the worker, so that a slow download delays no other chat.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.channels.background import Background
from bot.channels.held import HeldReplies
from bot.channels.polling import first_event as _first
from bot.channels.polling import lead_terms, until_set, wait_or_stop
from bot.channels.sending import send_replies
from bot.core import priority
from bot.core.clock import Clock
from bot.core.delivery import Sender
from bot.core.messages import FileSource, Incoming, Reply
from bot.core.throttle import FloodLimits, Throttle, Verdict
from handlers import replies
from handlers.router import EarlierWaiting, Inbound, Router
from storage.db import Database, DatabaseError, DatabaseUnavailable, database_unavailable
from storage.inbox import InboxEntry
from storage.leadership import Leadership
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MAX_BATCH = 32
"""Most updates handled in one transaction by the worker (its group commit)."""

AWAY_FIRST_RETRY = 0.5
AWAY_MAX_RETRY = 5.0
"""Seconds between attempts while the database is away: from the first, doubling to the most."""

ADOPT_LIMIT = 1000
"""Updates a new leader adopts at once (the rest wait for the next start or takeover)."""

MAX_VERDICTS = 20_000
"""Flood-control verdicts remembered per channel (update keys); the oldest are forgotten."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """An inbox entry read by its channel: what the user did, and how to send the answer."""

    incoming: Incoming
    deliver: Callable[[Sequence[Reply]], Awaitable[None]]


class InboxChannel(Background):
    """A channel whose updates go through the inbox; subclasses say how to process one."""

    name: str = ""
    sender: Sender
    """How replies and notifications reach the platform (set by subclasses)."""

    def __init__(
        self,
        router: Router,
        database: Database,
        clock: Clock,
        flood: FloodLimits | None = None,
    ) -> None:
        self._router = router
        self._database = database
        self._clock = clock
        self.throttle = Throttle(flood)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._handoff: deque[InboxEntry] = deque()
        super().__init__()
        self._held = HeldReplies(database, clock, router.replies_claimant)
        self._lanes: dict[str, deque[tuple[InboxEntry, Prepared]]] = {}
        """Chats whose file is being downloaded: their updates wait here, in order."""
        self._stop = asyncio.Event()
        """The worker's stop (set by :meth:`run_worker`): waits for the database end on it."""
        self._verdicts: OrderedDict[str, bool] = OrderedDict()
        """Whether flood control let an update in, by update key: it judges an update once."""

    async def record_all(
        self, updates: Iterable[tuple[str, dict[str, Any]]], *, screened: bool = False
    ) -> int:
        """Commit raw updates to the inbox in one transaction and hand them to the worker.

        Returns how many were new (a redelivered update is recorded once). An update from a
        user who floods the bot is dropped here, before it costs anything (see
        :meth:`judged`).
        """
        given = list(updates)
        kept = [(k, payload) for k, payload in given if screened or self.judged(k, payload)]
        if kept:
            chats = {key: chat for key, payload in kept if (chat := self.chat_of(payload))}
            async with UnitOfWork(self._database) as uow:
                new = await uow.inbox.record_all(self.name, kept, self._clock.now(), chats)
                await uow.commit()
        for key, _payload in given:  # recorded or dropped for good: the verdict has served
            self._verdicts.pop(key, None)
        if not kept:
            return 0
        if len(new) < len(kept):
            fresh = {entry.update_key for entry in new}
            for key, _payload in kept:
                if key not in fresh:  # the id only: the content is the user's
                    logger.warning(
                        "%s update %s was recorded before; dropped as a duplicate", self.name, key
                    )
        if new:
            self._handoff.extend(new)
            self._idle.clear()
            self._wake.set()
        return len(new)

    async def wait_idle(self) -> None:
        """Wait until every recorded update has been processed and answered."""
        await self._idle.wait()
        await self.finish_sending()

    async def run_worker(self, stop: asyncio.Event) -> None:
        """Process the inbox in order until asked to stop and nothing is left in hand.

        First whatever an earlier run left unprocessed (read from the database), then what
        :meth:`record_all` hands over, without reading it back. An entry is tried once per run:
        one that fails is retried at the next start, and set aside after a few attempts.
        """
        self._stop = stop
        priority.mark_intake()
        forget = priority.register(self._idle)  # background work waits for the intake
        try:
            await self._run_worker(stop)
        finally:
            forget()

    async def _run_worker(self, stop: asyncio.Event) -> None:
        recovered: set[int] = set()
        last = 0
        upto: int | None = None
        backoff = 1.0
        while not stop.is_set():  # recovery: what was recorded before this start, not processed
            try:
                async with UnitOfWork(self._database) as uow:
                    if upto is None:  # what other instances record later is theirs to handle
                        upto = await uow.inbox.last_id()
                    pending = await uow.inbox.pending(self.name, limit=100, after=last, upto=upto)
            except (DatabaseError, OSError) as error:
                logger.warning(
                    "%s: cannot read the inbox (%s); trying again in %.0f s",
                    self.name,
                    type(error).__name__,
                    backoff,
                )
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if not pending:
                break
            recovered.update(entry.id for entry in pending)
            last = pending[-1].id
            if await self._process_entries(pending, stop) < len(pending):
                return  # asked to stop: the rest waits in the inbox for the next start
        while True:
            self._wake.clear()  # before looking, so that a hand-over meanwhile is not missed
            entries = sorted(self._handoff, key=lambda e: e.id)
            self._handoff.clear()
            if not entries:
                self._idle.set()
                if stop.is_set():
                    return
                await _first(self._wake, stop)  # a stop wakes it too, whatever the poll did
                continue
            entries = [e for e in entries if e.id not in recovered]  # done while recovering
            finished = await self._process_entries(entries, stop)
            if finished < len(entries):
                self._handoff.extendleft(reversed(entries[finished:]))
                return  # asked to stop: the rest waits in the inbox for the next start

    async def start(self) -> None:
        """Connect to the platform; raise StartError if it cannot be done (subclasses)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Release the platform's connections, also after a failed start (subclasses)."""
        raise NotImplementedError

    @property
    def uses_webhook(self) -> bool:
        """Tell whether updates arrive by webhook (subclasses)."""
        raise NotImplementedError

    async def poll(self, stop: asyncio.Event) -> None:
        """Ask the platform for updates and record them until asked to stop (subclasses)."""
        raise NotImplementedError

    def routes(self) -> list[web.RouteDef]:
        """Return the web routes the channel serves: none, unless a subclass has a webhook."""
        return []

    async def run(self, stop: asyncio.Event, leadership: Leadership | None = None) -> None:
        """Process the inbox (and poll, unless webhooks deliver) until asked to stop.

        With a leadership, only the leader polls (a platform serves one poller per bot): an
        instance polls from the moment it leads, and stops when it no longer does; when it
        takes the leadership it adopts what is recorded and not handled (:meth:`adopt`).
        """
        worker = asyncio.create_task(self.run_worker(stop), name=f"{self.name}-inbox")
        try:
            work = until_set if self.uses_webhook else self.poll
            if leadership is None:
                await work(stop)
            else:
                await lead_terms(work, stop, leadership, self.adopt)
        finally:
            self.wake()
            await worker
            await self.finish_sending()
            await self._held.close()

    async def adopt(self) -> None:
        """Hand the worker the updates recorded and not handled (a stopped instance's too)."""
        try:
            async with UnitOfWork(self._database) as uow:
                pending = await uow.inbox.pending(self.name, limit=ADOPT_LIMIT)
        except (DatabaseError, OSError) as error:
            logger.warning("%s: cannot read the inbox (%s)", self.name, type(error).__name__)
            return
        held = {entry.id for entry in self._handoff}
        self._handoff.extend(entry for entry in pending if entry.id not in held)
        self.wake()

    def wake(self) -> None:
        """Make the worker look at the inbox (at stop, so that it can finish)."""
        self._wake.set()

    def prepare(self, entry: InboxEntry) -> Prepared | None:
        """Read an inbox entry: what the user did and how to answer; None to ignore it.

        Subclasses; may start what must happen at once (stopping a button's spinner).
        """
        raise NotImplementedError

    async def process(self, entry: InboxEntry) -> None:
        """Process one inbox entry on its own, as the worker would, and wait until it is done."""
        await self._process_entries([entry], asyncio.Event())
        await self.finish_sending()
        await self._held.close()

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], edit_message_id: int | None = None
    ) -> None:
        """Send replies to a chat through the platform's sender, under the shared policy.

        The first reply may replace the message whose button was pressed (``edit_message_id``)
        where the platform can.
        """
        await send_replies(
            self.sender, chat_id, replies, blocked=self.blocked, edit_message_id=edit_message_id
        )

    async def blocked(self, chat_id: str) -> None:
        """Remember that a chat blocked the bot, so that nothing more is sent to it."""
        logger.info("%s chat %s blocked the bot; marking it unreachable", self.name, chat_id)
        async with UnitOfWork(self._database) as uow:
            await uow.members.mark_unreachable(self.name, chat_id)
            await uow.commit()

    def judged(self, key: str, payload: dict[str, Any]) -> bool:
        """Tell whether to record an update, judging each update (by its key) only once.

        An update that could not be recorded comes back (the platform asks again, or the
        channel retries) while the database is away: judging it again each time would drain
        its sender's allowance, and after the outage the user's own messages would be dropped
        as a flood. So the first verdict stands for every later sight of the same update,
        until :meth:`record_all` has recorded or dropped it (Telegram may use its id again
        for another update after a quiet week).
        """
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = self.admitted(payload)
            if len(self._verdicts) > MAX_VERDICTS:
                self._verdicts.popitem(last=False)
        return verdict

    def admitted(self, payload: dict[str, Any]) -> bool:
        """Tell whether to record an update, or drop it because its sender floods the bot.

        A dropped update is never recorded, so it changes nothing and costs no transaction;
        the first one of a spell gets a polite request to slow down.
        """
        return self.admit(self.sender_of(payload))

    def admit(self, incoming: Incoming | None) -> bool:
        """Tell whether to take an update from this sender (see :meth:`admitted`)."""
        if incoming is None:
            return True
        verdict = self.throttle.admit(f"{incoming.channel}:{incoming.user_id}")
        if verdict is Verdict.ADMIT:
            return True
        if verdict is Verdict.WARN:
            logger.warning(
                "%s user %s sends too fast; dropping updates", self.name, incoming.user_id
            )
            chat_id = incoming.chat_id
            self.spawn(
                self.send_later(chat_id, lambda: self.deliver(chat_id, [replies.slow_down()])),
                "slow-down",
            )
        return False

    def sender_of(self, payload: dict[str, Any]) -> Incoming | None:
        """Read who sent an update and from which chat; None if it cannot be told (subclasses)."""
        raise NotImplementedError

    def chat_of(self, payload: dict[str, Any]) -> str | None:
        """Return the chat an update came from, recorded with it (None if it names none)."""
        try:
            incoming = self.sender_of(payload)
        except Exception:  # a payload the adapter cannot read: the worker sets it aside
            return None
        return None if incoming is None else incoming.chat_id

    async def _process_entries(self, entries: Sequence[InboxEntry], stop: asyncio.Event) -> int:
        """Process entries in order, in batches; return how many were done before a stop.

        Consecutive updates are handled in one transaction (see :meth:`Router.handle_batch`)
        of at most :data:`MAX_BATCH`; an update with a file is handled alone, beside the
        worker (see :meth:`_to_lane`), because its download may take a while.
        """
        batch: list[tuple[InboxEntry, Prepared | None]] = []
        for position, entry in enumerate(entries):
            try:
                prepared = self.prepare(entry)
            except Exception as error:  # a payload the adapter cannot read
                logger.exception("%s update %s cannot be read", self.name, entry.update_key)
                await self._count_failure([entry], error)
            else:
                if prepared is not None and (
                    prepared.incoming.file is not None or prepared.incoming.chat_id in self._lanes
                ):
                    await self._handle_batch(batch)
                    batch = []
                    self._to_lane(entry, prepared)
                else:
                    batch.append((entry, prepared))
                    if len(batch) >= MAX_BATCH:
                        await self._handle_batch(batch)
                        batch = []
            if stop.is_set():
                await self._handle_batch(batch)
                return position + 1
        await self._handle_batch(batch)
        return len(entries)

    def _to_lane(self, entry: InboxEntry, prepared: Prepared) -> None:
        """Handle an update with a file (and what its chat sends next) beside the worker.

        The file is downloaded before its transaction, which may take a while: meanwhile the
        worker goes on with the other chats, and this chat's later updates wait in its lane,
        so that they are handled after the file, in order.
        """
        chat_id = prepared.incoming.chat_id
        lane = self._lanes.get(chat_id)
        if lane is not None:
            lane.append((entry, prepared))
            return
        lane = self._lanes[chat_id] = deque([(entry, prepared)])

        async def run() -> None:
            try:
                while lane:
                    await self._handle_batch([lane.popleft()])
            finally:
                del self._lanes[chat_id]

        self.spawn(run(), f"lane-{chat_id}")

    async def _handle_batch(self, batch: Sequence[tuple[InboxEntry, Prepared | None]]) -> None:
        """Handle prepared entries in one transaction, then send each one's replies.

        While the database is away (an outage, a lock held too long), the entries wait in
        hand, in order, and are handled again as soon as it is back: the users are answered
        then, as if it had been slow. Stopping meanwhile leaves them to the next start.
        """
        delay = AWAY_FIRST_RETRY
        while batch:
            ignored = [entry.id for entry, prepared in batch if prepared is None]
            work = [(entry, prepared) for entry, prepared in batch if prepared is not None]
            try:
                answers = await self._router.handle_batch(
                    [Inbound(prepared.incoming, entry.id) for entry, prepared in work],
                    files=self.files,
                    done=ignored,
                )
            except EarlierWaiting as waiting:  # another instance recorded them: first, in order
                batch = await self._take_over(batch, work, waiting)
                continue
            except Exception as error:
                if not database_unavailable(error):  # a fault of the work (the router's log)
                    logger.exception(
                        "%s: %d update(s) could not be processed", self.name, len(batch)
                    )
                    await self._count_failure([entry for entry, _ in batch], error)
                    return
                done = error.answered if isinstance(error, DatabaseUnavailable) else []
                for (entry, prepared), answer in zip(work, done, strict=False):
                    await self._answer(entry, prepared, answer)
                handled = {entry.id for entry, _ in work[: len(done)]}
                batch = [(entry, prepared) for entry, prepared in batch if entry.id not in handled]
                if self._stop.is_set():
                    return  # they stay in the inbox, for the next start
                logger.warning(
                    "%s: the database is unavailable (%s); %d update(s) wait, "
                    "trying again in %.0f s",
                    self.name,
                    type(error.__cause__ or error).__name__,
                    len(batch),
                    delay,
                )
                await wait_or_stop(self._stop, delay)
                delay = min(delay * 2, AWAY_MAX_RETRY)
                continue
            for (entry, prepared), answer in zip(work, answers, strict=True):
                await self._answer(entry, prepared, answer)
            return

    async def _answer(self, entry: InboxEntry, prepared: Prepared, answer: list[Reply]) -> None:
        """Send an update's replies in the background; then mark those held in the outbox."""
        held = self._router.held.pop(entry.id, [])

        async def send() -> None:
            await prepared.deliver(answer)
            self._held.sent(held)

        await self.send_later(prepared.incoming.chat_id, send)

    async def _take_over(
        self,
        batch: Sequence[tuple[InboxEntry, Prepared | None]],
        work: Sequence[tuple[InboxEntry, Prepared]],
        waiting: EarlierWaiting,
    ) -> list[tuple[InboxEntry, Prepared | None]]:
        """Answer what was handled, then put the chat's earlier updates before the rest.

        The earlier updates were recorded by another instance (or this one's recovery has
        not reached them): handled here, in order, they are skipped where they were held.
        """
        for (entry, prepared), answer in zip(work, waiting.answered, strict=False):
            await self._answer(entry, prepared, answer)
        handled = {entry.id for entry, _ in work[: len(waiting.answered)]}
        rest = [(entry, prepared) for entry, prepared in batch if entry.id not in handled]
        held = {entry.id for entry, _ in rest}
        for entry in waiting.entries:
            if entry.id in held:
                continue
            try:
                rest.append((entry, self.prepare(entry)))
            except Exception as error:  # a payload the adapter cannot read
                logger.exception("%s update %s cannot be read", self.name, entry.update_key)
                await self._count_failure([entry], error)
        return sorted(rest, key=lambda pair: pair[0].id)

    @property
    def files(self) -> FileSource | None:
        """Where the router downloads the files users send (subclasses that take files)."""
        return None

    async def _count_failure(self, entries: Sequence[InboxEntry], error: Exception) -> None:
        """Count a failed attempt for entries; they are retried at the next start, then set aside.

        The worker never stops for a fault: it goes on with the next update.
        """
        try:
            async with UnitOfWork(self._database) as uow:
                for entry in entries:
                    await uow.inbox.mark_failed(entry.id, repr(error), self._clock.now())
                await uow.commit()
        except (DatabaseError, OSError) as db_error:  # the database is away: next start
            logger.warning(
                "%s: %d update(s) stay in the inbox: %s",
                self.name,
                len(entries),
                type(db_error).__name__,
            )
