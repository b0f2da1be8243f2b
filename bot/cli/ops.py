"""``pgibot status``, ``pgibot audit`` and ``pgibot evidence prune``: the administrator's tools."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, time
from typing import Any

from bot.cli.app import App, UsageError, command, out, parse_day
from bot.core.domain.audit import AuditFilter
from bot.core.i18n import N_, _, format_size, format_timestamp, ngettext
from handlers.audit_log import entry_line
from storage.backup import kind_name
from storage.evidence_files import GRACE, named_files, remove_files, unused_files
from storage.health import Health, Problem, check_health
from storage.notifications import BLOCKED, FAILED, PENDING, SENDING
from storage.uow import UnitOfWork

AUDIT_LIMIT = 200
"""Entries ``pgibot audit`` prints unless told otherwise."""

PROBLEMS = {
    Problem.UNREACHABLE: N_("the database cannot be reached"),
    Problem.NOT_MIGRATED: N_("the database is not set up: run `pgibot init`"),
    Problem.BEHIND: N_("the database is behind the code: run `pgibot db upgrade`"),
    Problem.AHEAD: N_("the database is newer than the code: update pgibot"),
    Problem.OUTBOX_STALLED: N_(
        "notifications are waiting and not being sent (is the bot running?)"
    ),
    Problem.INBOX_STALLED: N_("messages received are waiting to be handled (is the bot running?)"),
    Problem.SWEEP_LATE: N_("the reminder sweep has not run for 30 minutes (is the bot running?)"),
    Problem.JOB_FAILED: N_("a scheduled job failed at its last run"),
    Problem.NO_LEADER: N_(
        "instances are running but none leads: no polling, no notifications, no reminders"
    ),
}
JOBS = {
    "reminders": N_("reminder sweep"),
    "purge": N_("nightly purge"),
    "backup": N_("daily backup"),
}


async def cmd_status(app: App, args: argparse.Namespace) -> int:
    """Say whether the service is healthy; exit 1 when it is not."""
    health = await check_health(app.db.engine, app.clock.now())
    for section in (_database, _backlogs, _jobs, _instances, _failures):
        section(health)
    out()
    if health.healthy:
        out(_("Status: healthy."))
        return 0
    out(_("Status: NOT healthy:"))
    for problem in health.problems:
        out("  - " + _(PROBLEMS[problem]))
    return 1


def _moment(moment: datetime | None) -> str:
    return format_timestamp(moment) if moment else "-"


def _database(health: Health) -> None:
    if not health.reachable:
        out(
            _("Database: %(kind)s, cannot be reached (%(error)s)")
            % {"kind": kind_name(health.kind), "error": health.error}
        )
        return
    out(_("Database: %(kind)s, reachable") % {"kind": kind_name(health.kind)})
    out(
        _("Revision: %(rev)s (the code's: %(head)s)")
        % {"rev": health.revision or "-", "head": health.head}
    )


def _backlogs(health: Health) -> None:
    if not health.outbox:
        return
    box = health.outbox
    out(
        _(
            "Notifications: %(pending)s waiting, %(sending)s being sent; in the last 24 hours "
            "%(failed)s failed, %(blocked)s not delivered (the member blocked the bot)"
        )
        % {
            "pending": box[PENDING],
            "sending": box[SENDING],
            "failed": box[FAILED],
            "blocked": box[BLOCKED],
        }
    )
    if health.oldest_due:
        out("  " + _("the oldest due at %(moment)s") % {"moment": _moment(health.oldest_due)})
    out(
        _(
            "Messages received: %(waiting)s waiting to be handled; %(failed)s could not be "
            "handled in the last 24 hours"
        )
        % {"waiting": health.inbox_waiting, "failed": health.inbox_failed}
    )
    if health.oldest_waiting:
        out(
            "  "
            + _("the oldest received at %(moment)s") % {"moment": _moment(health.oldest_waiting)}
        )


def _jobs(health: Health) -> None:
    if not health.reachable or not health.outbox:
        return
    runs = {job.name: job for job in health.jobs}
    for name, label in JOBS.items():
        job = runs.get(name)
        if job is None:
            state = _("has not run yet")
        elif job.succeeded is None:
            state = _("started at %(moment)s, not finished") % {"moment": _moment(job.started_at)}
        elif job.succeeded:
            state = _("last run at %(moment)s, succeeded") % {"moment": _moment(job.finished_at)}
        else:
            state = _("last run at %(moment)s, FAILED (last success: %(success)s)") % {
                "moment": _moment(job.finished_at),
                "success": _moment(job.last_success_at),
            }
        out(_("%(job)s: %(state)s") % {"job": _(label).capitalize(), "state": state})


def _instances(health: Health) -> None:
    if not health.reachable or not health.outbox:
        return
    if not health.instances:
        out(_("Running instances: none (no bot is running on this database)"))
        return
    out(_("Running instances: %(count)s") % {"count": len(health.instances)})
    for instance in health.instances:
        role = _("leader") if instance.leader else _("standby")
        out(
            "  "
            + _("%(id)s (%(role)s): started at %(started)s, last seen at %(seen)s")
            % {
                "id": instance.id,
                "role": role,
                "started": _moment(instance.started_at),
                "seen": _moment(instance.seen_at),
            }
        )


def _failures(health: Health) -> None:
    if not health.failures:
        return
    out(_("Recent failures:"))
    where = {"inbox": _("message received"), "outbox": _("notification")}
    for failure in health.failures[:10]:
        what = where.get(failure.what) or _(JOBS.get(failure.what, failure.what))
        out(f"  {_moment(failure.at)} · {what} · {failure.error[:200]}")


async def cmd_audit(app: App, args: argparse.Namespace) -> int:
    """Print the audit log, newest first."""
    await app.ensure_migrated()
    since = None
    if args.since is not None:
        since = datetime.combine(args.since, time(0), tzinfo=app.settings.timezone)
    async with UnitOfWork(app.db) as uow:
        member_id = None
        if args.member:
            found = await uow.members.find(args.member)
            if len(found) != 1:
                raise UsageError(
                    _("There is no member %(member)s (see `pgibot member list`).")
                    % {"member": args.member}
                    if not found
                    else _(
                        "Several members have that name; use the member id "
                        "(see `pgibot member list`)."
                    )
                )
            member_id = found[0].id
        wanted = AuditFilter(since=since, member_id=member_id, action=args.action_filter)
        total = await uow.audit.count(wanted)
        entries = await uow.audit.entries(wanted, limit=args.limit)
    if not entries:
        out(_("No audit entry matches."))
        return 0
    for entry in entries:
        out(entry_line(entry))
    if total > len(entries):
        out(
            _("… %(count)s older entries not shown (use --limit or --since).")
            % {"count": total - len(entries)}
        )
    return 0


async def cmd_evidence_prune(app: App, args: argparse.Namespace) -> int:
    """List the evidence files no report names; delete them with --yes."""
    await app.ensure_migrated()
    data_dir = app.settings.pgibot_data_dir
    now = app.clock.now()
    named = await named_files(app.db)
    unused = await asyncio.to_thread(unused_files, data_dir, named, now)
    if not unused:
        out(_("Every evidence file belongs to a stored report; nothing to delete."))
        return 0
    total = sum(file.size for file in unused)
    for file in unused:
        out(f"  {file.name}  {format_size(file.size)}  {format_timestamp(file.modified)}")
    facts = {"count": len(unused), "size": format_size(total)}
    if not args.yes:
        out(
            ngettext(
                "%(count)s file (%(size)s) belongs to no stored report and would be deleted.",
                "%(count)s files (%(size)s) belong to no stored report and would be deleted.",
                len(unused),
            )
            % facts
        )
        out(_("Nothing was deleted. To delete them, run again with --yes."))
        return 0
    removed = await asyncio.to_thread(remove_files, data_dir, unused, now)
    async with UnitOfWork(app.db) as uow:
        uow.audit.record(
            "evidence.prune",
            now=now,
            channel="cli",
            count=len(removed),
            bytes=sum(file.size for file in removed),
            files=[file.name for file in removed][:100],
        )
        await uow.commit()
    out(
        ngettext(
            "Deleted %(count)s file (%(size)s).",
            "Deleted %(count)s files (%(size)s).",
            len(removed),
        )
        % {"count": len(removed), "size": format_size(sum(file.size for file in removed))}
    )
    return 0


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(_("write a whole number from 1"))
    return int(text)


def add_parsers(sub: Any) -> None:
    """Add ``pgibot status``, ``pgibot audit`` and ``pgibot evidence prune`` to the parser."""
    command(
        sub,
        "status",
        _("the service's health: database, revision, backlogs, jobs (exit 1 when unhealthy)"),
        cmd_status,
    )
    p = command(sub, "audit", _("read the audit log, newest first"), cmd_audit)
    p.add_argument(
        "--since", type=parse_day, metavar=_("DD/MM/YYYY"), help=_("entries from this day on")
    )
    p.add_argument(
        "--member",
        metavar=_("ID-OR-NAME"),
        help=_("entries by or about this member (see `pgibot member list`)"),
    )
    p.add_argument(
        "--action",
        dest="action_filter",
        metavar=_("ACTION"),
        help=_("one action (member.role) or a family of actions (member)"),
    )
    p.add_argument(
        "--limit",
        type=_limit,
        default=AUDIT_LIMIT,
        metavar=_("COUNT"),
        help=_("at most this many entries (default: %(default)s)"),
    )
    evidence = command(sub, "evidence", _("evidence files"))
    evidence_sub = evidence.add_subparsers(
        dest="evidence_command", required=True, metavar=_("ACTION")
    )
    p = command(
        evidence_sub,
        "prune",
        _(
            "list the evidence files no stored report names (kept %(hours)s hours); "
            "delete them with --yes"
        )
        % {"hours": int(GRACE.total_seconds() // 3600)},
        cmd_evidence_prune,
    )
    p.add_argument("--yes", action="store_true", help=_("delete the files listed"))
