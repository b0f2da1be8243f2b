"""``/vangmat``: a member away from one day to another, with a stand-in; and what reminders do.

A member declares their own absence; an agency's leader declares one for a member of the
agency, the coordinator for anyone (``/vangmat NAME-OR-ID``). The steps: the dates, typed
(``absence_dates``); the stand-in, chosen among the agency's members or typed
(``absence_stand_in``); the confirmation. The ``vm:MEMBER:STEP:VALUE`` buttons: ``s:ID`` (a
stand-in chosen, ``0`` for none), ``ok`` (confirmed), ``x`` (left), ``del:ID`` (an absence
cancelled). Who may act is checked again at every step. The state chart is
``handlers/absences.mmd``.

While an absence lasts, the reminder sweep routes the member's reminders
(:func:`bot.core.domain.absences.route`); the first working day after it, the member gets one
summary (:func:`welcome_back`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from bot.core.domain.absences import LONGEST_DAYS, Absence
from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import MemberInfo, Role
from bot.core.i18n import N_, _, format_day
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import sort_key
from handlers import replies
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Button, Conversation
from handlers.pending import Pending
from storage.uow import UnitOfWork

DATES_STATE = "absence_dates"
STAND_IN_STATE = "absence_stand_in"
CONFIRM_STATE = "absence_confirm"
STATES = frozenset({DATES_STATE, STAND_IN_STATE, CONFIRM_STATE})
ABSENCE_BUTTON = Button("vm", 3)
STAND_IN_CHOICES = 8
_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


# --- what reminders do ----------------------------------------------------------------------


def standing_in_note(absences: Sequence[Absence]) -> str:
    """Write the line that tells a recipient they receive a reminder for someone away."""
    return _("(You receive this in place of %(names)s, who is away.)") % {
        "names": "; ".join(
            _("comrade %(name)s until %(day)s")
            % {"name": a.member_name, "day": format_day(a.ends_on)}
            for a in absences
        )
    }


async def welcome_back(
    uow: UnitOfWork,
    today: date,
    now: datetime,
    since: date,
    until: date,
    known: Pending | None = None,
) -> int:
    """Send each member back from an absence one summary; return the messages queued.

    The summary names who received their reminders and what their agency still has to report
    for the deadlines between ``since`` and ``until``. Sent once (the absence records it).
    ``known``: the run's deadlines and agencies behind, shared with the rest of the sweep.
    """
    queued = 0
    known = known or Pending(uow)
    milestones = await known.milestones_between(since, until)
    for absence in await uow.absences.back(today):
        recipients = [
            r
            for r in await uow.notifications.recipients(absence.agency_id)
            if r.member_id == absence.member_id
        ]
        pending = []
        for milestone in milestones:
            tasks = (await known.by_agency(milestone)).get(absence.agency_id)
            if tasks:
                pending.append((milestone.title, milestone.year, milestone.due_date, len(tasks)))
        lines = [
            _("Dear comrade %(name)s,") % {"name": absence.member_name},
            _(
                "Welcome back. While you were away (%(start)s to %(end)s), %(who)s received "
                "the reminders for you."
            )
            % {
                "start": format_day(absence.starts_on),
                "end": format_day(absence.ends_on),
                "who": _("comrade %(name)s") % {"name": absence.stand_in_name}
                if absence.stand_in_name
                else _("the other members of your agency"),
            },
            "",
        ]
        if pending:
            lines.append(_("Your agency still has to report:"))
            lines += [
                _("• %(title)s %(year)s (due %(day)s): %(count)s tasks")
                % {"title": title, "year": year, "day": format_day(due), "count": count}
                for title, year, due, count in pending
            ]
            lines.append(_("Send /baocao to report."))
        else:
            lines.append(_("Your agency has reported everything that is due. Sincerely."))
        for recipient in recipients:
            queued += bool(
                await uow.notifications.enqueue(
                    channel=recipient.channel,
                    chat_id=recipient.chat_id,
                    member_id=recipient.member_id,
                    kind="absence",
                    payload=reply_to_payload(Reply("\n".join(lines))),
                    dedupe_key=f"absence-back:{absence.id}:{recipient.member_id}",
                    now=now,
                )
            )
        await uow.absences.welcomed(absence.id, now)
    return queued


async def nobody_present(
    uow: UnitOfWork, today: date, since: date, until: date, known: Pending | None = None
) -> list[tuple[str, list[Absence]]]:
    """Return the agencies behind on a deadline whose every reachable member is away today.

    ``known``: the run's deadlines and agencies behind, shared with the rest of the digest.
    """
    names = await uow.notifications.agency_names()
    known = known or Pending(uow)
    found: dict[int, list[Absence]] = {}
    for milestone in await known.milestones_between(since, until):
        for agency_id in await known.by_agency(milestone):
            if agency_id in found:
                continue
            away = await uow.absences.on(today, agency_id)
            if not away:
                continue
            members = await uow.notifications.recipients(agency_id)
            if members and all(m.member_id in away for m in members):
                found[agency_id] = [away[m.member_id] for m in members]
    return sorted(
        ((names[agency_id], absences) for agency_id, absences in found.items()),
        key=lambda pair: sort_key(pair[0]),
    )


# --- the conversation -----------------------------------------------------------------------


def _button(label: str, target: MemberInfo, step: str, value: str | int = "") -> Choice:
    return Choice(label, ABSENCE_BUTTON.encode(target.id, step, value))


def _may_act_for(actor: MemberInfo, target: MemberInfo) -> bool:
    """A member for themselves; a leader for their agency's members; coordinators for all."""
    if actor.id == target.id or actor.role in (Role.COORDINATOR, Role.ADMIN):
        return True
    return actor.role == Role.LEADER and actor.agency_id == target.agency_id


def _leave(ctx: Context) -> None:
    if ctx.state.state in STATES:
        ctx.reset()


def _period(absence: Absence) -> str:
    return _("from %(start)s to %(end)s") % {
        "start": format_day(absence.starts_on),
        "end": format_day(absence.ends_on),
    }


async def _dates_question(ctx: Context, target: MemberInfo) -> Reply:
    ctx.state = ConversationState(DATES_STATE, {"member": target.id})
    lines = []
    current = await ctx.uow.absences.of_member(target.id, ctx.today())
    rows: list[tuple[Choice, ...]] = []
    if current:
        lines.append(_("Absences of %(name)s:") % {"name": target.full_name})
        for absence in current:
            stand_in = (
                _("stand-in: %(name)s") % {"name": absence.stand_in_name}
                if absence.stand_in_name
                else _("no stand-in")
            )
            lines.append(f"• {_period(absence)} ({stand_in})")
            rows.append(
                (
                    _button(
                        _("Cancel the absence from %(day)s")
                        % {"day": f"{absence.starts_on:%d/%m}"},
                        target,
                        "del",
                        absence.id,
                    ),
                )
            )
        lines.append("")
    lines.append(
        _(
            "From which day to which day will %(name)s be away? Type the two dates, for "
            "example %(example)s (one date for a single day)."
        )
        % {
            "name": target.full_name,
            "example": _example(ctx.today()),
        }
    )
    rows.append((_button(_("Cancel"), target, "x"),))
    return Reply("\n".join(lines), tuple(rows))


def _example(today: date) -> str:
    return f"{today:%d/%m/%Y} - {today + timedelta(days=4):%d/%m/%Y}"


def _read_dates(text: str) -> tuple[date, date] | None:
    found = []
    for day, month, year in _DAY.findall(text):
        try:
            found.append(date(int(year), int(month), int(day)))
        except ValueError:
            return None
    if len(found) == 1:
        return found[0], found[0]
    if len(found) == 2:
        return found[0], found[1]
    return None


async def _stand_in_question(ctx: Context, target: MemberInfo, start: date, end: date) -> Reply:
    colleagues = sorted(
        (
            m
            for m in await ctx.uow.members.list_all()
            if m.agency_id == target.agency_id and m.active and m.id != target.id
        ),
        key=lambda m: sort_key(m.full_name),
    )
    ctx.state = ConversationState(
        STAND_IN_STATE,
        {"member": target.id, "start": start.isoformat(), "end": end.isoformat()},
    )
    rows: list[tuple[Choice, ...]] = [
        (_button(m.full_name[:60], target, "s", m.id),) for m in colleagues[:STAND_IN_CHOICES]
    ]
    rows.append((_button(_("No stand-in"), target, "s", 0),))
    rows.append((_button(_("Cancel"), target, "x"),))
    text = _(
        "Who stands in for %(name)s while away? The reminders meant for them go to the stand-in; "
        "without one, to the agency's other members. Choose, or type the stand-in's name."
    ) % {"name": target.full_name}
    return Reply(text, tuple(rows))


async def _confirmation(ctx: Context, target: MemberInfo, stand_in: MemberInfo | None) -> Reply:
    data = ctx.state.data
    ctx.state = ConversationState(
        CONFIRM_STATE, {**data, "stand_in": stand_in.id if stand_in else 0}
    )
    text = _("%(name)s (%(agency)s) is away from %(start)s to %(end)s; %(stand_in)s. Confirm?") % {
        "name": target.full_name,
        "agency": target.agency_name,
        "start": format_day(date.fromisoformat(str(data["start"]))),
        "end": format_day(date.fromisoformat(str(data["end"]))),
        "stand_in": _("stand-in: %(name)s") % {"name": stand_in.full_name}
        if stand_in
        else _("no stand-in"),
    }
    return Reply(text, ((_button(_("Confirm"), target, "ok"), _button(_("Cancel"), target, "x")),))


async def _tell(ctx: Context, member_id: int, text: str, key: str) -> None:
    member = await ctx.uow.members.get(member_id)
    if member is None:
        return
    for recipient in await ctx.uow.notifications.recipients(member.agency_id):
        if recipient.member_id == member_id:
            ctx.queued = (
                bool(
                    await ctx.uow.notifications.enqueue(
                        channel=recipient.channel,
                        chat_id=recipient.chat_id,
                        member_id=member_id,
                        kind="absence",
                        payload=reply_to_payload(Reply(text)),
                        dedupe_key=f"absence:{key}:{member_id}",
                        now=ctx.now(),
                    )
                )
                or ctx.queued
            )


async def _save(ctx: Context, target: MemberInfo) -> Reply:
    actor = ctx.require_member()
    data = ctx.state.data
    start = date.fromisoformat(str(data["start"]))
    end = date.fromisoformat(str(data["end"]))
    stand_in_id = int(data.get("stand_in", 0)) or None
    _leave(ctx)
    problem = await _refusal(ctx, target, start, end)
    if problem is not None:
        return Reply(problem)
    absence = await ctx.uow.absences.add(target.id, start, end, stand_in_id, actor.id, ctx.now())
    ctx.audit(
        "absence.declare",
        target=target.id,
        absence=absence.id,
        start=start.isoformat(),
        end=end.isoformat(),
        stand_in=stand_in_id,
    )
    if stand_in_id is not None:
        await _tell(
            ctx,
            stand_in_id,
            _(
                "Dear comrade, %(name)s is away %(period)s and has named you as stand-in: you "
                "will receive the reminders meant for them. Sincerely."
            )
            % {"name": target.full_name, "period": _period(absence)},
            f"stand-in:{absence.id}",
        )
    if actor.id != target.id:
        await _tell(
            ctx,
            target.id,
            _("%(actor)s has recorded your absence %(period)s; you will get no reminders then.")
            % {"actor": actor.full_name, "period": _period(absence)},
            f"declared:{absence.id}",
        )
    return Reply(
        _("Recorded: %(name)s is away %(period)s.")
        % {"name": target.full_name, "period": _period(absence)}
    )


async def _refusal(ctx: Context, target: MemberInfo, start: date, end: date) -> str | None:
    """Say why an absence cannot be recorded, or None."""
    if end < start:
        return _("The last day comes before the first. Please type the dates again.")
    if end < ctx.today():
        return _("That period is over; an absence can only be declared for today or later.")
    if (end - start).days >= LONGEST_DAYS:
        return _("An absence lasts at most a year. Please type a shorter period.")
    for absence in await ctx.uow.absences.of_member(target.id, start):
        if absence.overlaps(start, end):
            return _(
                "%(name)s is already away %(period)s. Cancel that absence first to change it."
            ) % {"name": target.full_name, "period": _period(absence)}
    return None


async def _target(ctx: Context) -> MemberInfo | str:
    """Return the member the command is for, or why it cannot be."""
    actor = ctx.require_member()
    wanted = (ctx.incoming.argument or "").strip()
    if not wanted:
        return actor
    found = [m for m in await ctx.uow.members.find(wanted) if m.active]
    if not found:
        return _("No member is called %(name)s. Check the name or the member's number.") % {
            "name": wanted
        }
    if len(found) > 1:
        return _("Several members are called %(name)s: please give the member's number.") % {
            "name": wanted
        }
    return found[0]


async def absence(ctx: Context) -> list[Reply]:
    """Answer /vangmat [NAME-OR-ID]: declare or cancel an absence."""
    target = await _target(ctx)
    if isinstance(target, str):
        return [Reply(target)]
    if not _may_act_for(ctx.require_member(), target):
        return replies.refused(ctx, "vangmat", ctx.incoming.argument)
    return [await _dates_question(ctx, target)]


async def on_button(ctx: Context, argument: str) -> list[Reply]:
    """Answer a press of an absence button; who may act is checked again."""
    member_id, step, value = ABSENCE_BUTTON.decode(argument)
    target = await ctx.uow.members.get(int(member_id)) if member_id.isdigit() else None
    if target is None or step not in ("s", "ok", "x", "del"):
        return [replies.stale_choice()]
    if not _may_act_for(ctx.require_member(), target):
        _leave(ctx)
        return replies.refused(ctx, "vangmat", f"{ABSENCE_BUTTON.prefix}:{argument}")
    if step == "x":
        _leave(ctx)
        return [Reply(_("Nothing was changed."), edit=True)]
    if step == "del":
        cancelled = (
            await ctx.uow.absences.cancel(int(value), ctx.now()) if value.isdigit() else None
        )
        if cancelled is None or cancelled.member_id != target.id:
            return [replies.stale_choice()]
        _leave(ctx)
        ctx.audit("absence.cancel", target=target.id, absence=cancelled.id)
        return [
            Reply(
                _("The absence of %(name)s %(period)s is cancelled.")
                % {"name": target.full_name, "period": _period(cancelled)},
                edit=True,
            )
        ]
    if int(ctx.state.data.get("member", 0) or 0) != target.id:
        return [replies.stale_choice()]
    if step == "s" and ctx.state.state == STAND_IN_STATE and value.isdigit():
        stand_in = await ctx.uow.members.get(int(value)) if value != "0" else None
        if value != "0" and (stand_in is None or stand_in.agency_id != target.agency_id):
            return [replies.stale_choice()]
        return [await _confirmation(ctx, target, stand_in)]
    if step == "ok" and ctx.state.state == CONFIRM_STATE:
        return [await _save(ctx, target)]
    return [replies.stale_choice()]


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Take the typed dates, or a typed stand-in's name."""
    target = await ctx.uow.members.get(int(ctx.state.data.get("member", 0) or 0))
    if target is None or not _may_act_for(ctx.require_member(), target):
        ctx.reset()
        return [replies.stale_choice()]
    if ctx.state.state == DATES_STATE:
        period = _read_dates(text)
        if period is None:
            return [
                Reply(
                    _("Please type the dates as dd/mm/yyyy - dd/mm/yyyy, for example %(example)s.")
                    % {"example": _example(ctx.today())}
                )
            ]
        problem = await _refusal(ctx, target, *period)
        if problem is not None:
            return [Reply(problem)]
        return [await _stand_in_question(ctx, target, *period)]
    if ctx.state.state == STAND_IN_STATE:
        found = [
            m
            for m in await ctx.uow.members.find(text)
            if m.active and m.agency_id == target.agency_id and m.id != target.id
        ]
        if len(found) != 1:
            return [
                Reply(
                    _("No other member of %(agency)s is called %(name)s. Choose from the list.")
                    % {"agency": target.agency_name, "name": text.strip()[:100]}
                ),
                await current_question(ctx),
            ]
        return [await _confirmation(ctx, target, found[0])]
    return [Reply(_("Please press Confirm or Cancel."))]


async def current_question(ctx: Context) -> Reply:
    """Ask the question of the step the chat is at again."""
    target = await ctx.uow.members.get(int(ctx.state.data.get("member", 0) or 0))
    if target is None:
        ctx.reset()
        return replies.stale_choice()
    data = ctx.state.data
    if ctx.state.state == STAND_IN_STATE:
        return await _stand_in_question(
            ctx,
            target,
            date.fromisoformat(str(data["start"])),
            date.fromisoformat(str(data["end"])),
        )
    if ctx.state.state == CONFIRM_STATE:
        stand_in_id = int(data.get("stand_in", 0) or 0)
        stand_in = await ctx.uow.members.get(stand_in_id) if stand_in_id else None
        return await _confirmation(ctx, target, stand_in)
    return await _dates_question(ctx, target)


CONVERSATION = Conversation(
    "absences",
    commands=(
        Command(
            "vangmat",
            N_("declare an absence and a stand-in (/vangmat NAME for a member of your agency)"),
            EVERYONE,
            absence,
        ),
    ),
    buttons={ABSENCE_BUTTON.prefix: on_button},
    owns=lambda state: state.state in STATES,
    on_text=on_text,
    current_question=current_question,
    step_buttons=frozenset({ABSENCE_BUTTON.prefix}),
)
