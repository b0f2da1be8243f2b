"""The running bot, composed in one place: router, channels, outbox worker, jobs, web server.

Usage::

    runtime = await Runtime.build(settings, clock, database, stop)  # connects every platform
    if runtime is not None:  # None: asked to stop before every platform answered
        try:
            if await runtime.start(stop):  # command menus, webhooks, the web server
                await runtime.run(stop)  # until stop is set
        finally:
            await runtime.close()

Nothing is patched after construction: the platforms are connected first (the router needs
the bot's Telegram name for its links), then the router, the channels from
:data:`bot.channels.registry.CHANNELS`, the outbox worker and the scheduler's jobs are made,
sharing one wake-up event for the outbox. Start-up faults are one Vietnamese warning line and
a retry, 2 s doubling to 60 s, until ``stop`` is set; a refused token raises
:class:`TokenRefused` (retrying cannot help).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.api import ApiServices
from bot.channels.base import InboxChannel
from bot.channels.connect import Fault, StartError, TokenRefused
from bot.channels.polling import wait_or_stop
from bot.channels.registry import CHANNELS, Connection, describe, download_links
from bot.config import Settings
from bot.core.clock import Clock
from bot.core.delivery import Sender
from bot.core.domain.calendar import ReminderPolicy
from bot.core.i18n import _
from bot.core.throttle import FloodLimits
from bot.dashboard import Dashboard
from bot.outbox import DeliveryLimits, OutboxWorker
from bot.scheduler import BackupJob, PurgeJob, ReminderJob, build_scheduler
from bot.web import WebhookServer, create_app
from handlers.context import BotInfo
from handlers.reminders import Reminders
from handlers.router import Router
from storage.db import Database, DatabaseError
from storage.leadership import Heartbeat, Leadership
from storage.repositories.instances import new_instance_id
from storage.retention import RetentionPolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_RETRY, LAST_RETRY = 2.0, 60.0
"""Seconds before the first retry to connect at start-up; the wait doubles up to the last."""


class NoChannel(Exception):
    """No platform has a token: there is nothing to run."""


def reminders_of(settings: Settings) -> Reminders:
    """Build the reminder policy from the settings."""
    s = settings
    return Reminders(
        ReminderPolicy(
            days_before=s.reminder_days_before,
            late_working_days=s.pgibot_reminder_late_days,
            leader_from_late_day=s.pgibot_escalate_leader_from,
            digest_from_late_day=s.pgibot_digest_late_from,
            send_hour=s.pgibot_reminder_hour,
            quiet_hour=s.pgibot_quiet_hour,
            snooze_hour=s.pgibot_snooze_hour,
            snooze_working_days=s.pgibot_snooze_days,
            explanation_days=s.pgibot_explanation_days,
            explanation_reminders=s.pgibot_explanation_reminders,
            extension_days=s.pgibot_extension_days,
            extension_reminders=s.pgibot_extension_reminders,
        )
    )


def serves_web(settings: Settings) -> bool:
    """Tell whether ``pgibot run`` serves its web server (webhooks, the dashboard)."""
    return bool(settings.pgibot_webhook_url or settings.pgibot_web_url)


def build_dashboard(
    settings: Settings,
    database: Database,
    clock: Clock,
    wake_outbox: Callable[[], None] = lambda: None,
) -> Dashboard:
    """Build the web dashboard's parts from the settings."""
    return Dashboard(
        database,
        clock,
        settings.pgibot_data_dir,
        settings.dashboard_url(),
        settings.pgibot_web_session_hours,
        settings.timezone,
        leader_review=settings.pgibot_leader_review,
        policy=reminders_of(settings).policy,
        wake_outbox=wake_outbox,
    )


def build_router(
    settings: Settings,
    database: Database,
    clock: Clock,
    accounts: Mapping[str, str | None] | None = None,
    reminders: Reminders | None = None,
    on_outbox: Callable[[], None] = lambda: None,
    replies_claimant: str | None = None,
) -> Router:
    """Build the conversation router; ``accounts``: the bot's name on each platform reached.

    ``replies_claimant``: the instance's id, to hold replies in the outbox until sent.
    """
    return Router(
        database,
        clock,
        BotInfo(
            describe(settings, accounts),
            settings.pgibot_data_dir,
            settings.pgibot_download_timeout,
            invitation_days=settings.pgibot_invitation_days,
            dashboard_url=settings.dashboard_url() if serves_web(settings) else None,
            leader_review=settings.pgibot_leader_review,
        ),
        reminders or reminders_of(settings),
        on_outbox=on_outbox,
        replies_claimant=replies_claimant,
    )


@dataclass(slots=True)
class Runtime:
    """The bot's parts while it runs; made by :meth:`build`."""

    router: Router
    channels: list[InboxChannel]
    accounts: dict[str, str | None]
    """The bot's name on each platform it runs on, by channel name."""
    worker: OutboxWorker
    reminder_job: ReminderJob
    purge_job: PurgeJob
    backup_job: BackupJob
    scheduler: AsyncIOScheduler
    web: WebhookServer | None
    leadership: Leadership
    """Whether this instance leads: it polls, delivers the outbox and runs the scheduler."""
    heartbeat: Heartbeat
    """This instance's row in ``instance`` (its id: ``heartbeat.instance_id``)."""
    _web_started: bool = field(default=False, init=False)

    @classmethod
    async def build(
        cls,
        settings: Settings,
        clock: Clock,
        database: Database,
        stop: asyncio.Event,
    ) -> Runtime | None:
        """Connect every configured platform, then wire the bot; None if stopped first.

        Raises NoChannel when no platform has a token, TokenRefused when one refuses it.
        """
        platforms = [p for p in CHANNELS.values() if p.configured(settings)]
        if not platforms:
            raise NoChannel(_("No channel is configured, so the bot cannot start."))
        connections: list[Connection] = []
        try:
            for platform in platforms:
                connection = await _patiently(partial(platform.connect, settings), stop)
                if connection is None:
                    break
                connections.append(connection)
        except BaseException:
            await _close_all(connections)
            raise
        if stop.is_set():
            await _close_all(connections)
            return None
        return cls._wire(settings, clock, database, connections)

    @classmethod
    def _wire(
        cls,
        settings: Settings,
        clock: Clock,
        database: Database,
        connections: list[Connection],
    ) -> Runtime:
        accounts = {c.name: c.account for c in connections}
        reminders = reminders_of(settings)
        wake = asyncio.Event()
        instance_id = new_instance_id()
        router = build_router(
            settings,
            database,
            clock,
            accounts,
            reminders,
            on_outbox=wake.set,
            replies_claimant=instance_id,
        )
        flood = FloodLimits(burst=settings.pgibot_flood_burst, rate=settings.pgibot_flood_rate)
        channels: list[InboxChannel] = []
        senders: dict[str, Sender] = {}
        paces: dict[str, DeliveryLimits] = {}
        for connection in connections:
            channel = connection.attach(router, database, clock, flood)
            channels.append(channel)
            senders[connection.name] = channel.sender  # replies and notifications alike
            paces[connection.name] = DeliveryLimits(
                rate=connection.pace.rate,
                chat_interval=connection.pace.chat_interval,
                ceiling=connection.pace.ceiling,
            )
        leadership = Leadership(database)
        heartbeat = Heartbeat(database, clock, leadership, instance_id=instance_id)
        worker = OutboxWorker(
            database,
            senders,
            clock,
            channel_limits=paces,
            wake=wake,
            claimant=heartbeat.instance_id,
            leadership=leadership,
        )
        job = ReminderJob(database, reminders, clock, wake.set)
        purge = PurgeJob(
            database,
            clock,
            RetentionPolicy.from_days(
                settings.pgibot_inbox_retention_days, settings.pgibot_audit_retention_days
            ),
        )
        backup = BackupJob(
            database,
            clock,
            data_dir=settings.pgibot_data_dir,
            folder=settings.backup_dir,
            keep=settings.pgibot_backup_keep,
            hour=settings.pgibot_backup_hour,
            zone=settings.timezone,
        )
        web = None
        if serves_web(settings):  # each channel serves its own webhook route; the dashboard
            about = partial(_about, heartbeat.instance_id, leadership)
            api = ApiServices(database, clock, download_links(settings, database, clock))
            web = WebhookServer(
                create_app(
                    channels,
                    about=about,
                    dashboard=build_dashboard(settings, database, clock, wake.set),
                    api=api,
                ),
                settings.pgibot_webhook_listen,
                settings.pgibot_webhook_port,
            )
        scheduler = build_scheduler(job, settings.timezone, purge, backup)
        return cls(
            router,
            channels,
            accounts,
            worker,
            job,
            purge,
            backup,
            scheduler,
            web,
            leadership,
            heartbeat,
        )

    async def start(self, stop: asyncio.Event) -> bool:
        """Start the channels (command menu, webhook) and the web server; False if stopped."""
        for channel in self.channels:
            await _patiently(channel.start, stop, undo=channel.stop)
            if stop.is_set():
                return False
        if self.web is not None:
            await self.web.start()
            self._web_started = True
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Receive, answer and deliver until ``stop`` is set; lead when the leadership is free.

        Every instance takes webhooks and answers; the leader alone polls, delivers the outbox
        and runs the scheduler's jobs (on SQLite the one process always leads). The scheduler
        starts paused and runs while this instance leads.
        """
        if self.leadership.single_process:
            await self._warn_if_shared()
        self.scheduler.start(paused=True)
        self.leadership.on_change(self._lead)
        await asyncio.gather(
            self.leadership.run(stop),
            self.heartbeat.run(stop),
            *(c.run(stop, self.leadership) for c in self.channels),
            self.worker.run(stop),
        )

    async def _warn_if_shared(self) -> None:
        """Say so when another instance seems to run on the same SQLite file."""
        try:
            others = await self.heartbeat.others()
        except DatabaseError:
            return  # the database is away: the channels say so
        for other in others:
            logger.warning(
                "Another instance (%(id)s) was running on this SQLite database seconds ago. "
                "SQLite serves one process: if it still runs, stop one of them (several "
                "instances need PostgreSQL).",
                {"id": other.id},
            )

    def _lead(self, leading: bool) -> None:
        """Run the scheduler's jobs while this instance leads; pause them when it stops."""
        if not self.scheduler.running:
            return
        several = not self.leadership.single_process
        if leading:
            if several:
                logger.info("This instance now leads: it polls, delivers and runs the jobs.")
            self.scheduler.resume()
        else:
            if several:
                logger.warning("This instance no longer leads: its polling and jobs stop.")
            self.scheduler.pause()

    async def close(self) -> None:
        """Stop the scheduler and wait for its jobs, close the web server and the channels.

        The scheduler is paused (no new run starts), the runs in progress are waited for, and
        only then is it shut down: APScheduler's shutdown cancels the runs still going, and a
        run cancelled in the middle of a database call leaves its connection behind.
        """
        if self.scheduler.running:
            self.scheduler.pause()
            await asyncio.sleep(0)  # a run just handed to the loop starts and takes its lock
        await self.reminder_job.drain()
        await self.purge_job.drain()
        await self.backup_job.drain()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.web is not None and self._web_started:
            await self.web.cleanup()
        for channel in self.channels:
            await channel.stop()


async def _patiently(
    step: Callable[[], Awaitable[T]],
    stop: asyncio.Event,
    undo: Callable[[], Awaitable[None]] | None = None,
) -> T | None:
    """Run a start-up step, retrying network faults with backoff; None if stopped first.

    Each failure is one Vietnamese line saying what is wrong; a refused token raises
    TokenRefused.
    """
    delay = FIRST_RETRY
    while not stop.is_set():
        try:
            return await step()
        except StartError as error:
            if undo is not None:
                await undo()  # its HTTP sessions, until the next attempt
            if error.permanent:
                raise TokenRefused(start_problem(error)) from None
            logger.warning(
                "%s %s",
                start_problem(error),
                _("Retrying in %(seconds)s seconds.") % {"seconds": f"{delay:.0f}"},
            )
            await wait_or_stop(stop, delay)
            delay = min(delay * 2, LAST_RETRY)
    return None


def _about(instance_id: str, leadership: Leadership) -> dict[str, object]:
    """What ``/healthz`` says of this instance."""
    return {"instance": instance_id, "leader": leadership.is_leader}


async def _close_all(connections: list[Connection]) -> None:
    for connection in connections:
        await connection.close()


def start_problem(error: StartError) -> str:
    """Say in one line why a channel could not connect."""
    known = CHANNELS.get(error.channel)
    platform = known.label if known else error.channel
    if error.fault is Fault.BAD_TOKEN:
        return _(
            "%(platform)s refused the bot's token: check %(variable)s (it may be mistyped or "
            "revoked). The bot did not start."
        ) % {"platform": platform, "variable": known.token_variable if known else "?"}
    reasons = {
        Fault.NO_ROUTE: _("there is no network route to its server"),
        Fault.REFUSED: _("its server refused the connection"),
        Fault.DNS: _("its server's name cannot be resolved (DNS)"),
        Fault.PROXY: _("the proxy server (HTTPS_PROXY) cannot be reached or refused to connect"),
        Fault.TIMEOUT: _("its server did not answer in time"),
        Fault.TLS: _("the secure connection (TLS) to its server failed"),
    }
    reason = reasons.get(error.fault) or _("the connection failed (%(detail)s)") % {
        "detail": error.detail
    }
    return _("Cannot connect to %(platform)s: %(reason)s.") % {
        "platform": platform,
        "reason": reason,
    }
