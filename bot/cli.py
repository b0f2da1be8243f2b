"""The ``pgibot`` command: the only place where the application is wired together.

Usage::

    pgibot init                       # migrate the database and import the shipped plan
    pgibot plan import FILE           # import (or update from) another plan file
    pgibot plan show [--json]         # index -> tasks -> agencies, with counts
    pgibot agency list                # agencies, their status and their tasks
    pgibot invite create --agency stnmt --role dieuphoi
    pgibot member reinstate ID-OR-NAME  # also: member deactivate, member set-role ID-OR-NAME ROLE
    pgibot console --as CODE-OR-MEMBER
    pgibot run                        # run the bot on the configured channels
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from tqdm import tqdm

from bot.channels.base import wait_or_stop
from bot.channels.connect import Fault, StartError
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel, TelegramConfig, TelegramSender
from bot.channels.zalo import DOWNLOAD_HOSTS, ZaloChannel, ZaloConfig, ZaloSender
from bot.config import (
    Settings,
    SettingsError,
    check_database_url,
    default_env_file,
    load_settings,
)
from bot.core.clock import Clock, OffsetClock, SystemClock
from bot.core.delivery import Sender
from bot.core.i18n import (
    N_,
    CatalogError,
    _,
    check_catalog,
    format_score,
    ngettext,
    set_language,
    set_timezone,
)
from bot.core.people import ROLE_WORDS, Change, parse_role
from bot.core.text import normalize
from bot.core.throttle import FloodLimits
from bot.outbox import DeliveryLimits, OutboxWorker
from bot.scheduler import PurgeJob, ReminderJob, build_scheduler
from bot.terminal import (
    VietnameseFormatter,
    VietnameseHelpFormatter,
    check_argparse_catalog,
    make_private,
    vietnamese_argparse,
)
from bot.web import TELEGRAM_PATH, ZALO_PATH, WebhookServer, create_app
from handlers.context import BotInfo
from handlers.coordination import change_member, refusal_text
from handlers.help import role_name
from handlers.registration import looks_like_code
from handlers.reminders import ReminderPolicy, Reminders
from handlers.router import Router
from handlers.summary import file_name
from handlers.summary import render as render_file
from storage import migrate
from storage.agencies import AgencyError, add_agency, merge_agency, rename_agency, retire_agency
from storage.db import AsyncSession, create_engine, create_sessionmaker
from storage.dto import MemberInfo, PlanView, Role
from storage.plan_import import import_plan
from storage.plan_loader import PlanFileError, default_plan_path, read_plan
from storage.retention import RetentionPolicy
from storage.summary import SummaryRepository
from storage.synthetic import RealDataPresent, generate
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

Action = Callable[["App", argparse.Namespace], Awaitable[int]]

AGENCY_STATUS = {"active": N_("active"), "merged": N_("merged"), "retired": N_("retired")}
IMPORTED_KINDS = {
    "agency": N_("agencies"),
    "assignment": N_("assignments"),
    "cycle": N_("cycles"),
    "group": N_("agency groups"),
    "index": N_("indices"),
    "milestone": N_("dated milestones"),
    "milestone_rule": N_("milestones"),
    "plan": N_("plans"),
    "reorganisation": N_("reorganisations"),
    "task": N_("tasks"),
}


class UsageError(Exception):
    """A command that cannot run as asked; the message is for the administrator."""


class App:
    """The wired application: settings, database, clock."""

    def __init__(
        self, settings: Settings, clock: Clock | None = None, database: str | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.database = database or settings.database
        """The database this command works on: the configured one, or --database-url."""
        self.engine = create_engine(self.database)
        self.sessions = create_sessionmaker(self.engine)

    def today(self) -> date:
        """Return today's date in the plan's time zone."""
        return self.clock.now().astimezone(self.settings.timezone).date()

    def reminders(self) -> Reminders:
        """Build the reminder policy from the settings."""
        s = self.settings
        return Reminders(
            ReminderPolicy(
                days_before=s.reminder_days_before,
                late_working_days=s.pgibot_reminder_late_days,
                leader_from_late_day=s.pgibot_escalate_leader_from,
                digest_from_late_day=s.pgibot_digest_late_from,
                send_hour=s.pgibot_reminder_hour,
                quiet_hour=s.pgibot_quiet_hour,
            )
        )

    def router(self) -> Router:
        """Build the conversation router."""
        return Router(
            self.sessions,
            self.clock,
            BotInfo(
                self.settings.telegram_bot_username,
                self.settings.pgibot_data_dir,
                self.settings.pgibot_download_timeout,
                invitation_days=self.settings.pgibot_invitation_days,
            ),
            self.reminders(),
        )

    async def ensure_migrated(self) -> None:
        """Refuse to work on a database that is not at the newest revision."""
        if await migrate.current_revision(self.engine) != migrate.head_revision():
            raise UsageError(_("The database is not set up; run `pgibot init` first."))

    async def close(self) -> None:
        """Release the database."""
        await self.engine.dispose()


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _parse_day(value: str) -> date:
    try:
        return datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError as error:
        raise argparse.ArgumentTypeError(_("write the date as dd/mm/yyyy")) from error


# --- commands ------------------------------------------------------------------------------


async def cmd_init(app: App, args: argparse.Namespace) -> int:
    """Migrate the database and import the plan."""
    await migrate.upgrade(app.engine)
    _out(_("Database ready (revision %(rev)s).") % {"rev": migrate.head_revision()})
    return await _import(app, Path(args.plan) if args.plan else default_plan_path())


async def cmd_plan_import(app: App, args: argparse.Namespace) -> int:
    """Import a plan file."""
    await app.ensure_migrated()
    return await _import(app, Path(args.file))


async def _import(app: App, path: Path) -> int:
    loaded = read_plan(path)
    async with UnitOfWork(app.sessions) as uow:
        report = await import_plan(uow.session, loaded, today=app.today(), now=app.clock.now())
        await uow.commit()
    if not report.changed:
        _out(
            _("Plan %(code)s is already up to date; nothing changed.") % {"code": report.plan_code}
        )
        return 0
    _out(_("Plan %(code)s imported from %(path)s.") % {"code": report.plan_code, "path": path})
    for label, bucket in (
        (_("created"), report.created),
        (_("updated"), report.updated),
        (_("deactivated or removed"), report.removed),
    ):
        if bucket:
            counts = ", ".join(
                f"{_(IMPORTED_KINDS.get(kind, kind))}: {count}"
                for kind, count in sorted(bucket.items())
            )
            _out(f"  {label}: {counts}")
    return 0


async def cmd_plan_show(app: App, args: argparse.Namespace) -> int:
    """Print the plan: indices, tasks and their agencies."""
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow:
        view = await uow.plans.view()
    if view is None:
        raise UsageError(_("No plan has been imported; run `pgibot init`."))
    if args.json:
        _out(json.dumps(_plan_json(view), ensure_ascii=False, indent=2, default=str))
        return 0
    names = {a.code: a.short_name for a in view.agencies}
    _out(view.title)
    for index_view in view.indices:
        index = index_view.index
        _out()
        count = len(index_view.tasks)
        _out(
            ngettext(
                "Index %(code)s. %(name)s — %(year)s: %(baseline)s, target: %(target)s "
                "(%(count)s task)",
                "Index %(code)s. %(name)s — %(year)s: %(baseline)s, target: %(target)s "
                "(%(count)s tasks)",
                count,
            )
            % {
                "code": index.code,
                "name": index.name,
                "year": index.baseline_year,
                "baseline": format_score(index.baseline_score),
                "target": format_score(index.target_score),
                "count": count,
            }
        )
        for task in index_view.tasks:
            _print_task(task.code, task.title, task.leads, task.supports, names)
    _out()
    count = len(view.organisational_tasks)
    _out(
        ngettext(
            "Organisation of implementation (%(count)s task)",
            "Organisation of implementation (%(count)s tasks)",
            count,
        )
        % {"count": count}
    )
    for task in view.organisational_tasks:
        _print_task(task.code, task.title, task.leads, task.supports, names)
    _out()
    active = [a for a in view.agencies if a.status == "active"]
    _out(
        ngettext(
            "%(agencies)s active agency; coordinator: %(coordinator)s",
            "%(agencies)s active agencies; coordinator: %(coordinator)s",
            len(active),
        )
        % {"agencies": len(active), "coordinator": names.get(view.coordinator or "", "-")}
    )
    _out(_("Milestones:"))
    for milestone in view.milestones:
        _out(f"  {milestone.due_date:%d/%m/%Y}  {milestone.title}")
    return 0


def _print_task(
    code: str, title: str, leads: list[str], supports: list[str], names: dict[str, str]
) -> None:
    _out(f"  {code} {title}")
    _out(
        "      "
        + _("lead (%(count)s): %(names)s")
        % {"count": len(leads), "names": ", ".join(names[c] for c in leads)}
    )
    if supports:
        _out(
            "      "
            + _("support (%(count)s): %(names)s")
            % {"count": len(supports), "names": ", ".join(names[c] for c in supports)}
        )


def _plan_json(view: PlanView) -> dict[str, Any]:
    def task(t: Any) -> dict[str, Any]:
        return {"code": t.code, "title": t.title, "leads": t.leads, "supports": t.supports}

    return {
        "code": view.code,
        "title": view.title,
        "coordinator": view.coordinator,
        "indices": [
            {**asdict(iv.index), "tasks": [task(t) for t in iv.tasks]} for iv in view.indices
        ],
        "organisational_tasks": [task(t) for t in view.organisational_tasks],
        "agencies": [asdict(a) for a in view.agencies],
        "milestones": [asdict(m) for m in view.milestones],
    }


async def cmd_agency_list(app: App, args: argparse.Namespace) -> int:
    """List the agencies with their status and how many tasks they lead and support."""
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow:
        agencies = await uow.plans.agencies()
        counts = await uow.plans.assignment_counts()
    for agency in agencies:
        lead, support = counts.get(agency.id, (0, 0))
        _out(f"{agency.code:<14} {agency.name}")
        details = _("status: %(status)s; leads %(lead)s, supports %(support)s tasks") % {
            "status": _(AGENCY_STATUS[agency.status]),
            "lead": lead,
            "support": support,
        }
        if agency.successor_code:
            details += "; " + _("merged into %(code)s") % {"code": agency.successor_code}
        _out(f"{'':<14} {details}")
    return 0


async def _reorganise(app: App, change: Callable[[AsyncSession], Awaitable[Any]]) -> int:
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow:
        agency = await change(uow.session)
        await uow.commit()
    _out(
        _("Done: %(code)s — %(name)s (%(status)s).")
        % {"code": agency.code, "name": agency.name, "status": _(AGENCY_STATUS[agency.status])}
    )
    return 0


async def cmd_agency_add(app: App, args: argparse.Namespace) -> int:
    """Add an agency."""
    return await _reorganise(
        app,
        lambda s: add_agency(
            s,
            code=args.code,
            name=args.name,
            short_name=args.short_name or args.name,
            kind=args.kind,
            now=app.clock.now(),
        ),
    )


async def cmd_agency_rename(app: App, args: argparse.Namespace) -> int:
    """Rename an agency, keeping its former name."""
    return await _reorganise(
        app,
        lambda s: rename_agency(
            s,
            args.code,
            name=args.name,
            short_name=args.short_name,
            on=args.on or app.today(),
            now=app.clock.now(),
        ),
    )


async def cmd_agency_merge(app: App, args: argparse.Namespace) -> int:
    """Merge an agency into another."""
    return await _reorganise(
        app,
        lambda s: merge_agency(
            s, args.code, into=args.into, on=args.on or app.today(), now=app.clock.now()
        ),
    )


async def cmd_agency_retire(app: App, args: argparse.Namespace) -> int:
    """Retire an agency."""
    return await _reorganise(
        app, lambda s: retire_agency(s, args.code, on=args.on or app.today(), now=app.clock.now())
    )


async def cmd_invite_create(app: App, args: argparse.Namespace) -> int:
    """Create an invitation code and print it with its Telegram link."""
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow:
        invitation = await uow.invitations.create(
            agency_code=args.agency,
            role=args.role,
            max_uses=args.uses,
            valid_for=timedelta(days=args.days or app.settings.pgibot_invitation_days),
            created_by="cli",
            now=app.clock.now(),
        )
        uow.audit.record(
            "invitation.create",
            now=app.clock.now(),
            channel="cli",
            code=invitation.code,
            agency=invitation.agency_code,
            role=invitation.role.value,
        )
        await uow.commit()
    _out(_("Invitation code: %(code)s") % {"code": invitation.code})
    _out(
        _("Agency: %(agency)s; role: %(role)s; uses: %(uses)s; valid until %(until)s")
        % {
            "agency": invitation.agency_name,
            "role": role_name(invitation.role),
            "uses": invitation.max_uses,
            "until": invitation.expires_at.astimezone(app.settings.timezone).strftime(
                "%d/%m/%Y %H:%M"
            ),
        }
    )
    username = app.settings.telegram_bot_username
    if username:
        _out(
            _("Telegram link: https://t.me/%(bot)s?start=%(code)s")
            % {"bot": username.lstrip("@"), "code": invitation.code}
        )
    else:
        _out(
            _(
                "Telegram link: set TELEGRAM_BOT_USERNAME to print it "
                "(https://t.me/<bot>?start=%(code)s)"
            )
            % {"code": invitation.code}
        )
    _out(_("Or send to the bot: /start %(code)s") % {"code": invitation.code})
    return 0


async def cmd_member_list(app: App, args: argparse.Namespace) -> int:
    """List registered members."""
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow:
        members = await uow.members.list_all()
    if not members:
        _out(_("No member has registered yet."))
    for member in members:
        state = _("active") if member.active else _("inactive")
        _out(
            f"{member.id:>5}  {member.full_name} — {member.agency_name} "
            f"({role_name(member.role)}, {state})"
        )
    return 0


async def cmd_console(app: App, args: argparse.Namespace) -> int:
    """Chat with the bot in the terminal."""
    await app.ensure_migrated()
    user_id, first, name = None, None, args.name
    if args.as_:
        member = await _console_member(app, args.as_)
        if member is not None:
            user_id = f"member-{member.id}"
        else:
            first = f"/start {args.as_}"
            if not name:
                name = await _ask_name(app, args.as_)
    console = ConsoleChannel(
        app.router().handle,
        user_id=user_id,
        display_name=name,
        files_dir=app.settings.pgibot_data_dir / "exports",
    )
    await console.run(first)
    return 0


async def _console_member(app: App, wanted: str) -> MemberInfo | None:
    """Return the member ``pgibot console --as`` names, with a console account, if any.

    A member's id or full name (case, spacing aside), or the invitation code they registered
    with (so running the same command again continues as them, instead of spending the code).
    """
    async with UnitOfWork(app.sessions) as uow:
        members = await uow.members.find(wanted)
        if not members and looks_like_code(wanted):
            members = await uow.members.registered_with(wanted)
        if len(members) > 1:
            raise UsageError(
                _("Several members have that name; use the member id (see `pgibot member list`).")
            )
        if not members:
            return None
        member = members[0]
        user_id = f"member-{member.id}"
        if await uow.members.by_identity("console", user_id) is None:
            await uow.members.add_identity(member.id, "console", user_id, user_id, app.clock.now())
            await uow.commit()
        return member


async def _ask_name(app: App, code: str) -> str | None:
    """Ask for the newcomer's full name when they register with a valid code in the console."""
    async with UnitOfWork(app.sessions) as uow:
        invitation = await uow.invitations.by_code(code)
    if invitation is None or not looks_like_code(code):
        return None  # the bot will say what is wrong with the code
    sys.stdout.write(_("Your full name (as colleagues know you), then Enter: "))
    sys.stdout.flush()
    answer = normalize(await asyncio.to_thread(sys.stdin.readline))
    if not sys.stdin.isatty():
        sys.stdout.write(answer + "\n")
    return answer[:200] or None


# --- members: deactivate, reinstate, change the role -----------------------------------------

ROLE_METAVAR = "|".join(ROLE_WORDS.values())


def _role(word: str) -> Role:
    """Read a role as typed: canbo, lanhdao, dieuphoi, quantri (or officer, leader...)."""
    role = parse_role(word)
    if role is None:
        raise argparse.ArgumentTypeError(
            _("%(word)s is not a role; use one of: %(roles)s")
            % {"word": word, "roles": ", ".join(ROLE_WORDS.values())}
        )
    return Role(role)


async def _change_member(
    app: App, wanted: str, change: Change, new_role: Role | None = None
) -> int:
    """Make a change to one member from the command line, by the rules, and audit it."""
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow:
        found = await uow.members.find(wanted)
        if not found:
            raise UsageError(
                _("There is no member %(member)s (see `pgibot member list`).") % {"member": wanted}
            )
        if len(found) > 1:
            raise UsageError(
                _("Several members have that name; use the member id (see `pgibot member list`).")
            )
        target = found[0]
        refusal = await change_member(
            uow, actor=None, target=target, change=change, new_role=new_role
        )
        if refusal is not None:
            uow.audit.record(
                "member.refused",
                now=app.clock.now(),
                channel="cli",
                target=target.id,
                wanted=change.value,
                reason=refusal.value,
            )
            await uow.commit()
            raise UsageError(refusal_text(refusal, target, new_role))
        uow.audit.record(
            {
                Change.DEACTIVATE: "member.remove",
                Change.REINSTATE: "member.reinstate",
                Change.SET_ROLE: "member.role",
            }[change],
            now=app.clock.now(),
            channel="cli",
            target=target.id,
            **_role_change(target, new_role),
        )
        await uow.commit()
    facts = {"name": target.full_name, "agency": target.agency_name}
    if change is Change.SET_ROLE:
        assert new_role is not None
        _out(_("%(name)s (%(agency)s) is now %(role)s.") % {**facts, "role": role_name(new_role)})
    elif change is Change.REINSTATE:
        _out(_("%(name)s (%(agency)s) can use the bot again.") % facts)
    else:
        _out(_("%(name)s (%(agency)s) has been removed and can no longer use the bot.") % facts)
    return 0


def _role_change(target: MemberInfo, new_role: Role | None) -> dict[str, Any]:
    return {"old": target.role.value, "new": new_role.value} if new_role else {}


async def cmd_member_deactivate(app: App, args: argparse.Namespace) -> int:
    """Deactivate a member: they can no longer use the bot."""
    return await _change_member(app, args.member, Change.DEACTIVATE)


async def cmd_member_reinstate(app: App, args: argparse.Namespace) -> int:
    """Reinstate a deactivated member."""
    return await _change_member(app, args.member, Change.REINSTATE)


async def cmd_member_set_role(app: App, args: argparse.Namespace) -> int:
    """Give a member another role."""
    return await _change_member(app, args.member, Change.SET_ROLE, args.role)


def _add_member_changes(member_sub: Any, command: Callable[..., argparse.ArgumentParser]) -> None:
    """Add `pgibot member deactivate|reinstate|set-role` to the parser."""
    member_help = _("the member's id or full name (see `pgibot member list`)")
    p = command(member_sub, "deactivate", _("deactivate a member"), cmd_member_deactivate)
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p = command(member_sub, "reinstate", _("reinstate a deactivated member"), cmd_member_reinstate)
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p = command(member_sub, "set-role", _("give a member another role"), cmd_member_set_role)
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p.add_argument("role", type=_role, metavar=ROLE_METAVAR)


async def cmd_run(app: App, args: argparse.Namespace) -> int:
    """Run the bot on the configured channels: Telegram, Zalo or both."""
    settings = app.settings
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        # Not a failure: a new installation has no token yet, and nothing was asked to run.
        _out(_("No channel is configured, so the bot cannot start."))
        _out(
            _(
                "Set TELEGRAM_BOT_TOKEN (the token from @BotFather) and/or ZALO_BOT_TOKEN (the "
                "token of the Zalo bot) in the environment or in the configuration file "
                "%(file)s (see .env.example), and run `make run` again."
            )
            % {"file": args.env_file or default_env_file()}
        )
        _out(
            _(
                "Without a token you can try the bot in the terminal: "
                "pgibot console --as INVITATION-CODE"
            )
        )
        _out(_("(create a code with: pgibot invite create --agency stnmt)"))
        return 0
    await app.ensure_migrated()
    webhook = settings.pgibot_webhook_url.rstrip("/") if settings.pgibot_webhook_url else None
    secrets = {
        "TELEGRAM_WEBHOOK_SECRET": (settings.telegram_bot_token, settings.telegram_webhook_secret),
        "ZALO_WEBHOOK_SECRET": (settings.zalo_bot_token, settings.zalo_webhook_secret),
    }
    for variable, (token, secret_value) in secrets.items():
        if webhook and token is not None and secret_value is None:
            raise UsageError(
                _("PGIBOT_WEBHOOK_URL is set: set %(variable)s as well.") % {"variable": variable}
            )
    router = app.router()
    flood = FloodLimits(burst=settings.pgibot_flood_burst, rate=settings.pgibot_flood_rate)
    telegram: TelegramChannel | None = None
    zalo: ZaloChannel | None = None
    senders: dict[str, Sender] = {}
    telegram_secret = zalo_secret = None
    if settings.telegram_bot_token is not None:
        telegram_secret = (
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_secret
            else None
        )
        telegram = TelegramChannel(
            TelegramConfig(
                token=settings.telegram_bot_token.get_secret_value(),
                base_url=settings.telegram_api_base_url,
                base_file_url=settings.telegram_api_file_url,
                webhook_url=webhook + TELEGRAM_PATH if webhook else None,
                webhook_secret=telegram_secret,
            ),
            router,
            app.sessions,
            app.clock,
            flood,
        )
        senders["telegram"] = TelegramSender(telegram.bot)
    if settings.zalo_bot_token is not None:
        zalo_secret = (
            settings.zalo_webhook_secret.get_secret_value()
            if settings.zalo_webhook_secret
            else None
        )
        zalo = ZaloChannel(
            ZaloConfig(
                token=settings.zalo_bot_token.get_secret_value(),
                base_url=settings.zalo_api_base_url,
                webhook_url=webhook + ZALO_PATH if webhook else None,
                webhook_secret=zalo_secret,
                download_hosts=tuple(
                    h.strip() for h in (settings.zalo_download_hosts or "").split(",") if h.strip()
                )
                or DOWNLOAD_HOSTS,
            ),
            router,
            app.sessions,
            app.clock,
            flood,
        )
        senders["zalo"] = ZaloSender(zalo.client)
    channels: list[TelegramChannel | ZaloChannel] = [c for c in (telegram, zalo) if c]
    worker = OutboxWorker(
        app.sessions,
        senders,
        app.clock,
        DeliveryLimits(
            rate=settings.pgibot_send_rate, chat_interval=settings.pgibot_chat_interval
        ),
        channel_limits={
            "zalo": DeliveryLimits(
                rate=settings.pgibot_zalo_send_rate,
                chat_interval=settings.pgibot_zalo_chat_interval,
            )
        },
    )
    router.on_outbox = worker.wake
    job = ReminderJob(app.sessions, router.reminders, app.clock, worker.wake)
    purge = PurgeJob(
        app.sessions,
        app.clock,
        RetentionPolicy.from_days(
            settings.pgibot_inbox_retention_days, settings.pgibot_audit_retention_days
        ),
    )
    scheduler = build_scheduler(job, settings.timezone, purge)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    runner: WebhookServer | None = None
    try:
        if not await _start_channels(channels, stop):
            _out(_("The bot has stopped."))
            return 0
        if telegram is not None:
            router.bot_info = replace(router.bot_info, telegram_username=telegram.username)
        if webhook:
            runner = WebhookServer(
                create_app(telegram, telegram_secret, zalo, zalo_secret),
                settings.pgibot_webhook_listen,
                settings.pgibot_webhook_port,
            )
            await runner.start()
        mode = _("webhook") if webhook else _("long polling")
        if telegram is not None:
            _out(
                _("The bot @%(name)s is running (%(mode)s). Press Ctrl-C to stop.")
                % {"name": telegram.username, "mode": mode}
            )
        if zalo is not None:
            _out(
                _("The Zalo bot %(name)s is running (%(mode)s).")
                % {"name": zalo.account, "mode": mode}
            )
        scheduler.start()
        await asyncio.gather(*(c.run(stop) for c in channels), worker.run(stop))
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await job.drain()
        await purge.drain()
        if runner is not None:
            await runner.cleanup()
        for channel in channels:
            await channel.stop()
    _out(_("The bot has stopped."))
    return 0


PLATFORMS = {"telegram": "Telegram", "zalo": "Zalo"}
TOKEN_VARIABLES = {"telegram": "TELEGRAM_BOT_TOKEN", "zalo": "ZALO_BOT_TOKEN"}
FIRST_RETRY, LAST_RETRY = 2.0, 60.0
"""Seconds before the first retry to connect at start-up; the wait doubles up to the last."""


class TokenRefused(UsageError):
    """The platform refused the bot's token: retrying cannot help."""


async def _start_channels(
    channels: Sequence[TelegramChannel | ZaloChannel], stop: asyncio.Event
) -> bool:
    """Connect every channel, retrying network faults with backoff until asked to stop.

    Each failure is one Vietnamese line saying what is wrong; a refused token ends the run.
    Returns False when asked to stop before every channel connected.
    """
    for channel in channels:
        delay = FIRST_RETRY
        while not stop.is_set():
            try:
                await channel.start()
                break
            except StartError as error:
                await channel.stop()  # its HTTP sessions, until the next attempt
                if error.permanent:
                    raise TokenRefused(_start_problem(error)) from None
                logger.warning(
                    "%s %s",
                    _start_problem(error),
                    _("Retrying in %(seconds)s seconds.") % {"seconds": f"{delay:.0f}"},
                )
                await wait_or_stop(stop, delay)
                delay = min(delay * 2, LAST_RETRY)
    return not stop.is_set()


def _start_problem(error: StartError) -> str:
    """Say in one line why a channel could not connect."""
    platform = PLATFORMS.get(error.channel, error.channel)
    if error.fault is Fault.BAD_TOKEN:
        return _(
            "%(platform)s refused the bot's token: check %(variable)s (it may be mistyped or "
            "revoked). The bot did not start."
        ) % {"platform": platform, "variable": TOKEN_VARIABLES.get(error.channel, "?")}
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


async def cmd_report(app: App, args: argparse.Namespace) -> int:
    """Write the summary of a year as a file: xlsx, docx, png or txt."""
    await app.ensure_migrated()
    async with UnitOfWork(app.sessions) as uow, uow.reading() as session:
        repository = SummaryRepository(session)
        year = args.cycle or app.today().year
        summary = await repository.summary(year, app.today())
        if summary is None:
            raise UsageError(_("There is no reporting year %(year)s.") % {"year": year})
        with tqdm(
            total=summary.submission_count if args.format == "xlsx" else None,
            desc=_("Writing %(name)s") % {"name": args.format},
            unit=_("reports"),
            disable=None,
            file=sys.stderr,
        ) as bar:
            content = await render_file(repository, summary, args.format, progress=bar.update)
    out = Path(args.out) if args.out else Path(file_name(summary, args.format))
    out.write_bytes(content)
    _out(
        _("Written: %(path)s (%(size)s KB)") % {"path": out, "size": max(1, len(content) // 1024)}
    )
    return 0


def _demo_database(settings: Settings) -> str:
    """Return the demonstration database: a SQLite file of its own in the data folder."""
    return f"sqlite+aiosqlite:///{(settings.pgibot_data_dir / 'demo.sqlite3').resolve()}"


async def cmd_demo(app: App, args: argparse.Namespace) -> int:
    """Fill a year of a demonstration database with synthetic reports.

    Never the configured database, nor one with real members or reports: invented reports
    under a real agency's name would be read as its own.
    """
    demo = _demo_database(app.settings)
    if app.database == app.settings.database:
        raise UsageError(
            _(
                "Synthetic reports are never written to the configured database. Without "
                "--database-url they go to the demonstration database %(demo)s."
            )
            % {"demo": _shown_url(demo)}
        )
    if await migrate.current_revision(app.engine) != migrate.head_revision():
        await migrate.upgrade(app.engine)
    async with UnitOfWork(app.sessions) as uow:
        has_plan = await uow.plans.view() is not None
    if not has_plan:
        await _import(app, default_plan_path())
    async with UnitOfWork(app.sessions) as uow:
        await uow.reports.open_cycles(date(args.cycle, 6, 1))
        with tqdm(
            total=args.submissions,
            desc=_("Generating"),
            unit=_("reports"),
            disable=None,
            file=sys.stderr,
        ) as bar:
            done = 0

            def advance(count: int) -> None:
                nonlocal done
                bar.update(count - done)
                done = count

            try:
                added = await generate(
                    uow.session, year=args.cycle, submissions=args.submissions, progress=advance
                )
            except RealDataPresent as error:
                raise UsageError(
                    _(
                        "The database %(url)s holds real data (%(members)s registered members, "
                        "%(reports)s reports): synthetic reports are never added to it. Use a "
                        "demonstration database of its own (by default %(demo)s)."
                    )
                    % {
                        "url": _shown_url(app.database),
                        "members": error.members,
                        "reports": error.reports,
                        "demo": _shown_url(demo),
                    }
                ) from None
        await uow.commit()
    _out(
        _("Added %(count)s synthetic reports to %(year)s in the demonstration database %(url)s.")
        % {"count": added, "year": args.cycle, "url": _shown_url(app.database)}
    )
    _out(
        _("To see them: pgibot --database-url %(url)s report --cycle %(year)s")
        % {"url": _shown_url(app.database), "year": args.cycle}
    )
    return 0


def _shown_url(url: str) -> str:
    """A database as the administrator writes it: a SQLite file by its path, no password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


async def cmd_db(app: App, args: argparse.Namespace) -> int:
    """Show or change the database revision; a downgrade says what it drops and asks first."""
    if args.db_command == "upgrade":
        await migrate.upgrade(app.engine, args.revision)
    elif args.db_command == "downgrade":
        await _downgrade(app, args.revision, confirmed=args.yes)
    _out(
        _("Database revision: %(rev)s")
        % {"rev": await migrate.current_revision(app.engine) or "-"}
    )
    return 0


async def _downgrade(app: App, revision: str, *, confirmed: bool) -> None:
    known = [*migrate.revisions(), "base"]
    if revision not in known:
        raise UsageError(
            _("There is no revision %(rev)s; the revisions are: %(known)s.")
            % {"rev": revision, "known": ", ".join(known)}
        )
    current = await migrate.current_revision(app.engine) or "-"
    losses = await migrate.downgrade_losses(app.engine, revision)
    if losses:
        _out(
            _("Downgrading the database from %(current)s to %(rev)s deletes:")
            % {"current": current, "rev": revision}
        )
        for loss in losses:
            if loss.column is None:
                _out("  " + _("table %(table)s (%(rows)s rows)") % asdict(loss))
            else:
                _out(
                    "  "
                    + _("column %(table)s.%(column)s (%(rows)s rows with a value)") % asdict(loss)
                )
    else:
        _out(
            _(
                "Downgrading the database from %(current)s to %(rev)s drops no table or column "
                "(columns may be narrowed)."
            )
            % {"current": current, "rev": revision}
        )
    if not confirmed:
        sys.stdout.write(_('Type "yes" (or "có") to downgrade, anything else to stop: '))
        sys.stdout.flush()
        answer = (await asyncio.to_thread(sys.stdin.readline)).strip().lower()
        if answer not in ("yes", "có"):
            _out()
            raise UsageError(
                _("Nothing was changed. To downgrade without being asked, add --yes.")
            )
    await migrate.downgrade(app.engine, revision)


# --- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="pgibot",
        description=_("Reporting bot for the PGI plan of Lạng Sơn province."),
        formatter_class=VietnameseHelpFormatter,
    )
    parser.add_argument(
        "--env-file",
        metavar=_("FILE"),
        help=_(
            "the configuration file (default: $PGIBOT_ENV_FILE, else pgibot.env in the data "
            "folder; never a .env of the current folder)"
        ),
    )
    parser.add_argument(
        "--database-url",
        type=_database_url,
        metavar="URL",
        help=_("the database to work on instead of the configured one (a URL or a SQLite file)"),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))

    def command(
        parent: Any, name: str, help_text: str, action: Action | None = None
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=VietnameseHelpFormatter,
        )
        if action is not None:
            p.set_defaults(action=action)
        return p

    p = command(sub, "init", _("migrate the database and import the plan"), cmd_init)
    p.add_argument("--plan", help=_("plan file (default: the shipped Lạng Sơn PGI plan)"))

    plan = command(sub, "plan", _("import or show the plan"))
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar=_("ACTION"))
    p = command(
        plan_sub, "import", _("import or update the plan from a YAML file"), cmd_plan_import
    )
    p.add_argument("file", help=_("the plan file (see docs/plan-format.md)"))
    p = command(plan_sub, "show", _("show indices, tasks and agencies"), cmd_plan_show)
    p.add_argument("--json", action="store_true", help=_("print JSON"))

    agency = command(sub, "agency", _("list and reorganise agencies"))
    agency_sub = agency.add_subparsers(dest="agency_command", required=True, metavar=_("ACTION"))
    command(
        agency_sub,
        "list",
        _("list agencies with how many tasks they lead and support"),
        cmd_agency_list,
    )
    p = command(agency_sub, "add", _("add an agency"), cmd_agency_add)
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--short-name")
    p.add_argument(
        "--kind",
        default="department",
        choices=[
            "department",
            "police",
            "military",
            "press",
            "district",
            "commune",
            "association",
            "front",
            "other",
        ],
    )
    p = command(
        agency_sub, "rename", _("rename an agency, keeping its history"), cmd_agency_rename
    )
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--short-name")
    p.add_argument("--on", type=_parse_day, help=_("date of the change, dd/mm/yyyy"))
    p = command(agency_sub, "merge", _("merge an agency into another"), cmd_agency_merge)
    p.add_argument("code")
    p.add_argument("--into", required=True)
    p.add_argument("--on", type=_parse_day, help=_("date of the change, dd/mm/yyyy"))
    p = command(agency_sub, "retire", _("retire an agency"), cmd_agency_retire)
    p.add_argument("code")
    p.add_argument("--on", type=_parse_day, help=_("date of the change, dd/mm/yyyy"))

    invite = command(sub, "invite", _("invitation codes"))
    invite_sub = invite.add_subparsers(dest="invite_command", required=True, metavar=_("ACTION"))
    p = command(
        invite_sub, "create", _("create an invitation code for an agency"), cmd_invite_create
    )
    p.add_argument("--agency", required=True, help=_("agency code or name"))
    p.add_argument("--role", default=Role.OFFICER, type=_role, metavar=ROLE_METAVAR)
    p.add_argument("--uses", type=int, default=1, help=_("how many people may use it"))
    p.add_argument(
        "--days",
        type=int,
        help=_("how many days it stays valid (default: PGIBOT_INVITATION_DAYS, 7)"),
    )

    member = command(sub, "member", _("registered members"))
    member_sub = member.add_subparsers(dest="member_command", required=True, metavar=_("ACTION"))
    command(member_sub, "list", _("list registered members"), cmd_member_list)
    _add_member_changes(member_sub, command)

    p = command(sub, "console", _("chat with the bot in this terminal"), cmd_console)
    p.add_argument(
        "--as",
        dest="as_",
        metavar="CODE-OR-MEMBER",
        help=_("an invitation code, or a member's id or full name"),
    )
    p.add_argument("--name", help=_("your name, when registering with a code"))

    p = command(sub, "run", _("run the bot on the configured channels"), cmd_run)
    p.add_argument(
        "--as-of",
        type=_local_moment,
        metavar=_("DD/MM/YYYY HH:MM"),
        help=_(
            "rehearsal: run as if it were this local time at start (the clock then runs on); "
            "never on the production database"
        ),
    )

    p = command(sub, "report", _("write the summary of a year as a file"), cmd_report)
    p.add_argument("--format", choices=["xlsx", "docx", "png", "txt"], default="xlsx")
    p.add_argument("--cycle", type=int, help=_("the year (default: this year)"))
    p.add_argument("--out", help=_("the file to write (default: a name in this folder)"))

    demo = command(sub, "demo", _("demonstration data"))
    demo_sub = demo.add_subparsers(dest="demo_command", required=True, metavar=_("ACTION"))
    p = command(
        demo_sub,
        "generate",
        _(
            "fill a year of the demonstration database (data/demo.sqlite3, or --database-url) "
            "with synthetic reports"
        ),
        cmd_demo,
    )
    p.add_argument("--cycle", type=int, required=True, help=_("the year"))
    p.add_argument("--submissions", type=int, default=1000, help=_("how many reports"))
    p.add_argument(
        "--database-url",
        type=_database_url,
        metavar="URL",
        default=argparse.SUPPRESS,  # the global option's value stands when this one is absent
        help=_("the demonstration database (a URL or a SQLite file)"),
    )

    db = command(sub, "db", _("database revision"))
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar=_("ACTION"))
    command(db_sub, "current", _("show the revision"), cmd_db)
    p = command(db_sub, "upgrade", _("upgrade to a revision"), cmd_db)
    p.add_argument("revision", nargs="?", default="head")
    p = command(
        db_sub,
        "downgrade",
        _("downgrade to a revision (says what it deletes, and asks first)"),
        cmd_db,
    )
    p.add_argument("revision")
    p.add_argument(
        "--yes", action="store_true", help=_("do not ask: the data it lists is deleted")
    )
    return parser


def _database_url(text: str) -> str:
    """Read a database URL; a plain path names a SQLite file."""
    if "://" not in text:
        return f"sqlite+aiosqlite:///{Path(text).expanduser().resolve()}"
    try:
        return check_database_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it is installed (a quarter less CPU per update), else on asyncio."""
    try:
        import uvloop
    except ImportError:  # not on Windows
        return asyncio.run(main)
    return uvloop.run(main)


def _local_moment(text: str) -> datetime:
    """Read a local date and time as an administrator writes it (naive: no zone yet)."""
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(
        _("%(text)s is not a date and time like 03/12/2024 08:00") % {"text": text}
    )


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    as_of: datetime | None = getattr(args, "as_of", None)
    clock = OffsetClock(as_of.replace(tzinfo=settings.timezone)) if as_of else None
    if as_of is not None:
        logger.warning(
            _("Rehearsal clock: the bot starts at %(moment)s."),
            {"moment": as_of.strftime("%d/%m/%Y %H:%M")},
        )
    database = args.database_url
    if database is None and args.action is cmd_demo:
        database = _demo_database(settings)
    app = App(settings, clock, database)
    try:
        action: Action = args.action
        return await action(app, args)
    finally:
        await app.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pgibot command."""
    set_language("vi")
    try:
        check_catalog()
        check_argparse_catalog()
    except CatalogError as error:
        sys.stderr.write(f"pgibot: {error}\n")
        return 2
    with vietnamese_argparse():
        args = build_parser().parse_args(argv)
    env_file = Path(args.env_file).expanduser() if args.env_file else default_env_file()
    if args.env_file and not env_file.is_file():
        sys.stderr.write(
            _("pgibot: the configuration file %(path)s does not exist.") % {"path": env_file}
            + "\n"
        )
        return 2
    try:
        settings = load_settings(env_file)
    except SettingsError as error:
        sys.stderr.write(_("pgibot: configuration error: %(error)s") % {"error": error} + "\n")
        return 2
    set_timezone(settings.timezone)
    _configure_logging(settings, running=args.action is cmd_run)
    make_private(settings.pgibot_data_dir)
    _warn_about_configuration(settings, env_file)
    try:
        return _run_loop(_main(args, settings))
    except TokenRefused as error:  # a configuration error, like a malformed setting
        sys.stderr.write(f"pgibot: {error}\n")
        return 2
    except (UsageError, AgencyError, PlanFileError) as error:
        sys.stderr.write(f"pgibot: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        sys.stderr.write(
            _("pgibot: cannot reach the database or a file: %(error)s") % {"error": error} + "\n"
        )
        return 1


def _configure_logging(settings: Settings, *, running: bool) -> None:
    """Log to stderr in Vietnamese: at the configured level for `run`, warnings otherwise.

    A command's own output is what the administrator reads; its progress lines (an export's
    size, a sweep's count) are for the running bot's journal. DEBUG applies to every command.
    """
    configured = logging.getLevelName(settings.pgibot_log_level)
    level = configured if running or configured == logging.DEBUG else max(configured, 30)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VietnameseFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "alembic", "apscheduler", "aiohttp.access"):
        # httpx's request lines carry the token; the others narrate routine steps in English
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _warn_about_configuration(settings: Settings, env_file: Path) -> None:
    """Warn where the configuration may not be what the administrator thinks it is."""
    planted = Path(".env")
    if planted.is_file() and planted.resolve() != env_file.resolve():
        logger.warning(
            _("The file %(ignored)s is not read; the configuration file is %(file)s."),
            {"ignored": planted.resolve(), "file": env_file},
        )
    for variable, url in settings.unofficial_urls().items():
        logger.warning(
            _(
                "%(variable)s is %(url)s, not the platform's official server: the bot's token "
                "is sent there. Make sure it is a server you run."
            ),
            {"variable": variable, "url": url},
        )


if __name__ == "__main__":
    raise SystemExit(main())
