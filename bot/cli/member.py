"""``pgibot member``: list the members, deactivate, reinstate, change a role or an agency."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.app import App, UsageError, command, out
from bot.core.domain.members import ROLE_WORDS, Change, MemberInfo, Role, parse_role
from bot.core.i18n import _
from handlers.coordination import change_member, refusal_text, set_member
from handlers.help import role_name
from storage.uow import UnitOfWork

ROLE_METAVAR = "|".join(ROLE_WORDS.values())


def role_argument(word: str) -> Role:
    """Read a role as typed: canbo, lanhdao, dieuphoi, quantri (or officer, leader...)."""
    role = parse_role(word)
    if role is None:
        raise argparse.ArgumentTypeError(
            _("%(word)s is not a role; use one of: %(roles)s")
            % {"word": word, "roles": ", ".join(ROLE_WORDS.values())}
        )
    return Role(role)


async def cmd_member_list(app: App, args: argparse.Namespace) -> int:
    """List registered members."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        members = await uow.members.list_all()
    if not members:
        out(_("No member has registered yet."))
    for member in members:
        state = _("active") if member.active else _("inactive")
        out(
            f"{member.id:>5}  {member.full_name} — {member.agency_name} "
            f"({role_name(member.role)}, {state})"
        )
    return 0


async def _one_member(uow: UnitOfWork, wanted: str) -> MemberInfo:
    """Return the member an administrator named, by id or exact full name."""
    found = await uow.members.find(wanted)
    if not found:
        raise UsageError(
            _("There is no member %(member)s (see `pgibot member list`).") % {"member": wanted}
        )
    if len(found) > 1:
        raise UsageError(
            _("Several members have that name; use the member id (see `pgibot member list`).")
        )
    return found[0]


async def cmd_member_set(app: App, args: argparse.Namespace) -> int:
    """Give a member another role, move them to another agency, or both; audited."""
    if args.role is None and args.agency is None:
        raise UsageError(_("Say what to change: --role ROLE, --agency CODE, or both."))
    await app.ensure_migrated()
    now = app.clock.now()
    async with UnitOfWork(app.db) as uow:
        target = await _one_member(uow, args.member)
        agency = await uow.agencies.find(args.agency) if args.agency else None
        refusal = await set_member(
            uow, actor=None, target=target, new_role=args.role, new_agency=agency
        )
        if refusal is not None:
            uow.audit.record(
                "member.refused",
                now=now,
                channel="cli",
                target=target.id,
                wanted="set",
                role=args.role.value if args.role else None,
                agency=agency.code if agency else None,
                reason=refusal.value,
            )
            await uow.commit()
            raise UsageError(refusal_text(refusal, target, args.role, agency))
        if args.role is not None:
            uow.audit.record(
                "member.role",
                now=now,
                channel="cli",
                target=target.id,
                **_role_change(target, args.role),
            )
        if agency is not None:
            uow.audit.record(
                "member.agency",
                now=now,
                channel="cli",
                target=target.id,
                old=target.agency_code,
                new=agency.code,
            )
        await uow.commit()
    out(
        _("%(name)s is now %(role)s at %(agency)s.")
        % {
            "name": target.full_name,
            "role": role_name(args.role or target.role),
            "agency": agency.name if agency else target.agency_name,
        }
    )
    return 0


async def _change_member(
    app: App, wanted: str, change: Change, new_role: Role | None = None
) -> int:
    """Make a change to one member from the command line, by the rules, and audit it."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        target = await _one_member(uow, wanted)
        refusal = await change_member(
            uow, actor=None, target=target, change=change, new_role=new_role, today=app.today()
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
        out(_("%(name)s (%(agency)s) is now %(role)s.") % {**facts, "role": role_name(new_role)})
    elif change is Change.REINSTATE:
        out(_("%(name)s (%(agency)s) can use the bot again.") % facts)
    else:
        out(_("%(name)s (%(agency)s) has been removed and can no longer use the bot.") % facts)
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


def add_parsers(sub: Any) -> None:
    """Add ``pgibot member list|deactivate|reinstate|set|set-role`` to the parser."""
    member = command(sub, "member", _("registered members"))
    member_sub = member.add_subparsers(dest="member_command", required=True, metavar=_("ACTION"))
    command(member_sub, "list", _("list registered members"), cmd_member_list)
    member_help = _("the member's id or full name (see `pgibot member list`)")
    p = command(member_sub, "deactivate", _("deactivate a member"), cmd_member_deactivate)
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p = command(member_sub, "reinstate", _("reinstate a deactivated member"), cmd_member_reinstate)
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p = command(member_sub, "set-role", _("give a member another role"), cmd_member_set_role)
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p.add_argument("role", type=role_argument, metavar=ROLE_METAVAR)
    p = command(
        member_sub,
        "set",
        _("give a member another role, move them to another agency, or both"),
        cmd_member_set,
    )
    p.add_argument("member", metavar=_("ID-OR-NAME"), help=member_help)
    p.add_argument("--role", type=role_argument, metavar=ROLE_METAVAR, help=_("the new role"))
    p.add_argument(
        "--agency",
        metavar=_("AGENCY"),
        help=_("the agency to move to: its code or name (see `pgibot agency list`)"),
    )
