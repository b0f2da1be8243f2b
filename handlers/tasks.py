"""``/nhiemvu``: the tasks of the member's agency grouped by index, with the next deadline."""

from __future__ import annotations

from bot.core.domain.members import Role
from bot.core.domain.periods import milestone_period
from bot.core.domain.plan import AssignmentRole, MilestoneInfo, TaskInfo
from bot.core.domain.review import ReviewState
from bot.core.domain.submissions import ReportStatus, SubmissionInfo
from bot.core.i18n import N_, _, format_day, format_moment, format_score, ngettext
from bot.core.messages import Choice, Reply
from bot.core.text import shorten
from handlers import replies
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Button, Conversation
from handlers.exports.explanations import answer_line, request_line
from handlers.exports.labels import review_label, review_line
from handlers.periods import period_line, period_name, periodic_milestones
from handlers.report.answers import receipt_number
from handlers.report.questions import status_label

TASKS_PER_ROW = 3
HISTORY_LENGTH = 10
TASK_BUTTON = Button("task")
"""A task's "Xem" button: ``task:TASK_ID`` shows the task in full."""


async def list_tasks(ctx: Context) -> list[Reply]:
    """Show the agency's tasks, or one task in full when a code follows the command."""
    member = ctx.require_member()
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id, ctx.today())
    wanted = ctx.incoming.argument
    if wanted:
        return [_task_detail(tasks, wanted)]
    if not tasks:
        return [
            Reply(
                _("%(agency)s has no task assigned in the plan.") % {"agency": member.agency_name}
            )
        ]
    coordinator = member.role in (Role.COORDINATOR, Role.ADMIN)
    next_due = await ctx.uow.plans.next_milestone(ctx.today(), for_coordinator=coordinator)
    indices = {index.code: index for index in await ctx.uow.plans.indices()}
    cycles = await ctx.uow.submissions.open_cycles(ctx.today())
    latest = (
        await ctx.uow.submissions.latest_by_task(cycles[-1].id, member.agency_id) if cycles else {}
    )
    lines = [
        ngettext(
            "Tasks of %(agency)s (%(count)s task):",
            "Tasks of %(agency)s (%(count)s tasks):",
            len(tasks),
        )
        % {"agency": member.agency_name, "count": len(tasks)}
    ]
    if next_due is not None:
        lines.append(_deadline_line(next_due, ctx))
        lines.append(period_line(milestone_period(next_due)))
    lines += await _periodic_line(ctx, next_due)
    current_group: object = ()
    for task in tasks:
        if task.index_code != current_group:
            current_group = task.index_code
            lines.append("")
            if task.index_code is None:
                lines.append(_("Organisation of implementation (section III)"))
            else:
                index = indices[task.index_code]
                lines.append(
                    _("Index %(code)s. %(name)s (2023: %(baseline)s, target: %(target)s)")
                    % {
                        "code": index.code,
                        "name": index.name,
                        "baseline": format_score(index.baseline_score),
                        "target": format_score(index.target_score),
                    }
                )
        lines.append(_task_line(task, latest.get(task.id)))
    lines += [
        "",
        _(
            "To read a task in full, press its button or send /nhiemvu followed by its code, "
            "e.g. /nhiemvu %(code)s"
        )
        % {"code": tasks[0].code},
    ]
    buttons = [
        Choice(_("View %(code)s") % {"code": t.code}, TASK_BUTTON.encode(t.id)) for t in tasks
    ]
    rows = tuple(
        tuple(buttons[i : i + TASKS_PER_ROW]) for i in range(0, len(buttons), TASKS_PER_ROW)
    )
    return [Reply("\n".join(lines), rows)]


async def show_task(ctx: Context, argument: str) -> list[Reply]:
    """Show one task in full when its button is pressed; only the agency's own tasks."""
    member = ctx.require_member()
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id, ctx.today())
    (task_id,) = TASK_BUTTON.decode(argument)
    task = next((t for t in tasks if str(t.id) == task_id), None)
    if task is None:
        return replies.forged_task(ctx, f"task:{argument}")
    return [_detail(task)]


def _task_line(task: TaskInfo, report: SubmissionInfo | None) -> str:
    role = _("lead") if task.role == AssignmentRole.LEAD else _("support")
    if report is None:
        state = _("not reported yet")
    else:
        state = _("%(status)s, %(progress)s%%") % {
            "status": status_label(report.status),
            "progress": report.progress,
        }
    return f"• {task.code} {task.title} ({role}) — {state}"


async def history(ctx: Context) -> list[Reply]:
    """Show the agency's most recent reports, newest first (``/lichsu YEAR``: of one year)."""
    member = ctx.require_member()
    if ctx.incoming.argument.strip():
        return [await _year_history(ctx, ctx.incoming.argument.strip())]
    recent = await ctx.uow.submissions.recent(member.agency_id, limit=HISTORY_LENGTH)
    led = ctx.bot.leader_review and member.agency_id in await ctx.uow.reviews.led_agencies()
    explained = await _explanations(ctx)
    if not recent:
        text = _("%(agency)s has not reported yet. Send /baocao to report on a task.") % {
            "agency": member.agency_name
        }
        return [Reply("\n".join([text, *explained]))]
    lines = [
        _("Recent reports of %(agency)s (newest first):") % {"agency": member.agency_name},
    ]
    for item in recent:
        lines.append("")
        lines.append(
            _("No. %(number)s — %(time)s — %(name)s")
            % {
                "number": receipt_number(item),
                "time": format_moment(item.created_at),
                "name": item.member_name,
            }
        )
        lines.append(
            _("Task %(code)s: %(title)s") % {"code": item.task_code, "title": item.task_title}
        )
        lines.append(_state_of(item.status, item.progress, item.version, item.attachment_count))
        lines.append(_review_line(item, led))
    lines += [
        "",
        _("Review of the reports shown: %(counts)s")
        % {"counts": review_line([item.review.state for item in recent])},
    ]
    return [Reply("\n".join([*lines, *explained]))]


async def _explanations(ctx: Context) -> list[str]:
    """Return the agency's latest explanation requests and answers, for /lichsu."""
    member = ctx.require_member()
    found = await ctx.uow.explanations.of_agency(member.agency_id)
    if not found:
        return []
    lines = ["", _("Explanation requests (latest first):")]
    for explanation in reversed(found[-HISTORY_LENGTH:]):
        lines.append(
            f"• {', '.join(explanation.task_codes)}: " + request_line(explanation, ctx.today())
        )
        answer = answer_line(explanation, short=True)
        if answer:
            lines.append(f"  {answer}")
    return lines


async def _year_history(ctx: Context, wanted: str) -> Reply:
    """Show an agency's reports of one year as that year's views read them."""
    member = ctx.require_member()
    found = (
        await ctx.uow.history.year(int(wanted), member.agency_id, HISTORY_LENGTH)
        if wanted.isdigit() and len(wanted) == 4
        else None
    )
    if found is None:
        return Reply(
            _(
                "There is no reporting year %(year)s. Send /lichsu, or /lichsu followed by a "
                "year, for example /lichsu %(example)s."
            )
            % {"year": shorten(wanted, 10), "example": ctx.today().year}
        )
    if not found.rows:
        return Reply(
            _("%(agency)s has no report for %(year)s.")
            % {"agency": found.agency_name, "year": found.year}
        )
    lines = [
        _("Reports of %(agency)s for %(year)s (newest first):")
        % {"agency": found.agency_name, "year": found.year}
    ]
    for row in found.rows:
        lines += [
            "",
            _("No. %(number)s — %(time)s — %(name)s")
            % {
                "number": row.number,
                "time": format_moment(row.created_at),
                "name": row.member_name,
            },
        ]
        if row.agency_name != found.agency_name:
            lines.append(_("Reported by %(agency)s") % {"agency": row.agency_name})
        lines.append(
            _("Task %(code)s: %(title)s") % {"code": row.task_code, "title": row.task_title}
        )
        lines.append(_state_of(row.status, row.progress, row.version, row.attachments))
    if found.total > len(found.rows):
        lines += [
            "",
            _("The %(shown)s newest of %(count)s reports are shown.")
            % {"shown": len(found.rows), "count": found.total},
        ]
    return Reply("\n".join(lines))


def _state_of(status: str, progress: int, version: int, files: int) -> str:
    """Write a report's state, version and files on one line."""
    summary = _("%(status)s, %(progress)s%%") % {
        "status": status_label(ReportStatus(status)),
        "progress": progress,
    }
    if version > 1:
        summary += "; " + _("version %(version)s") % {"version": version}
    if files:
        summary += "; " + ngettext("%(count)s file", "%(count)s files", files) % {"count": files}
    return summary


def _review_line(item: SubmissionInfo, led: bool = False) -> str:
    """Say where a version stands in review: waiting, accepted, or returned and why.

    ``led``: the agency's versions wait for its leader first (``PGIBOT_LEADER_REVIEW``).
    """
    review = item.review
    if review.state is ReviewState.WAITING and review.leader_at is not None:
        return _(
            "Accepted by the agency's leader %(name)s at %(time)s; waiting for the "
            "coordinator's review"
        ) % {"name": review.leader or "", "time": format_moment(review.leader_at)}
    if review.state is ReviewState.WAITING and led:
        return _("Waiting for the agency's leader")
    if review.state is ReviewState.WAITING or review.at is None:
        return review_label(ReviewState.WAITING)
    facts = {
        "state": review_label(review.state),
        "name": review.reviewer or "",
        "time": format_moment(review.at),
        "reason": review.reason or "",
    }
    if review.state is ReviewState.RETURNED:
        return _("%(state)s by %(name)s at %(time)s. Reason: %(reason)s") % facts
    return _("%(state)s by %(name)s at %(time)s") % facts


def _deadline_line(milestone: MilestoneInfo, ctx: Context) -> str:
    left = replies.time_left(milestone.due_date, ctx.today())
    return _("Next deadline: %(title)s — %(date)s (%(left)s)") % {
        "title": milestone.title,
        "date": format_day(milestone.due_date),
        "left": left,
    }


async def _periodic_line(ctx: Context, next_due: MilestoneInfo | None) -> list[str]:
    """Return the next periodic report (quarterly, six-monthly) if it is not the next deadline."""
    today = ctx.today()
    upcoming = [
        m for m in periodic_milestones(await ctx.uow.plans.milestones()) if m.due_date >= today
    ]
    if not upcoming or (next_due is not None and upcoming[0].id == next_due.id):
        return []
    milestone = upcoming[0]
    return [
        _("Next periodic report: %(title)s (%(kind)s) — %(date)s (%(left)s)")
        % {
            "title": milestone.title,
            "kind": period_name(milestone),
            "date": format_day(milestone.due_date),
            "left": replies.time_left(milestone.due_date, today),
        },
        period_line(milestone_period(milestone)),
    ]


def _task_detail(tasks: list[TaskInfo], code: str) -> Reply:
    wanted = code.strip().casefold()
    task = next((t for t in tasks if t.code.casefold() == wanted), None)
    if task is None:
        return Reply(
            _("Your agency has no task with the code %(code)s. Send /nhiemvu to see the list.")
            % {"code": code.strip()[:20]}
        )
    return _detail(task)


def _detail(task: TaskInfo) -> Reply:
    role = _("lead") if task.role == AssignmentRole.LEAD else _("support")
    heading = (
        _("Index %(code)s. %(name)s") % {"code": task.index_code, "name": task.index_name}
        if task.index_code
        else _("Organisation of implementation (section III)")
    )
    return Reply(
        "\n".join(
            [
                _("Task %(code)s: %(title)s") % {"code": task.code, "title": task.title},
                heading,
                _("Your agency's role: %(role)s") % {"role": role},
                "",
                " ".join(task.text.split()),
            ]
        )
    )


CONVERSATION = Conversation(
    "tasks",
    commands=(
        Command(
            "nhiemvu",
            N_("your agency's tasks, their latest status and the next deadline"),
            EVERYONE,
            list_tasks,
        ),
        Command(
            "lichsu",
            N_("your agency's recent reports; /lichsu 2024 for one year"),
            EVERYONE,
            history,
        ),
    ),
    buttons={TASK_BUTTON.prefix: show_task},
)
