"""The summary as plain text: like the chat message, but complete."""

from __future__ import annotations

from bot.core.domain.progress import STATES, PlanSummary, TaskState
from bot.core.domain.standing import Assessment, YearStanding
from bot.core.i18n import _, format_day, format_score, ngettext
from handlers.exports.explanations import counts_line as explanation_counts
from handlers.exports.explanations import lines_for_task
from handlers.exports.labels import agency_with_role, in_sentence, state_labels
from handlers.exports.periods import figures_line, periodic_lines
from handlers.exports.standing import (
    MARKS,
    assessment_label,
    counts_line,
    legend,
    risk_lines,
    standing_of,
)
from handlers.extensions.common import granted_line
from handlers.extensions.reminding import waiting_lines


def text_report(summary: PlanSummary) -> str:
    """Return the whole summary of the year as plain text."""
    labels = state_labels()
    standing = standing_of(summary)
    lines = [
        _("Implementation of the PGI plan in %(year)s") % {"year": summary.year},
        summary.plan_title,
        _("As of %(date)s") % {"date": format_day(summary.today)},
    ]
    if summary.milestone is not None and summary.year != summary.today.year:
        lines.append(  # a past (or next) year: its deadline, no count of days
            _("Deadline: %(title)s — %(date)s")
            % {"title": summary.milestone.title, "date": format_day(summary.milestone.due_date)}
        )
    elif summary.milestone is not None:
        milestone = summary.milestone
        lines.append(
            _("Current deadline: %(title)s — %(date)s (%(when)s)")
            % {
                "title": milestone.title,
                "date": format_day(milestone.due_date),
                "when": _when((milestone.due_date - summary.today).days),
            }
        )
    lines.append(figures_line(summary))
    agencies = _("%(reported)s of %(total)s") % {
        "reported": len(summary.reported_agencies),
        "total": len(summary.leading_agencies),
    }
    lines += [
        _("Agencies that reported on every task they lead") + ": " + agencies,
        _("Reports received (every version)") + ": " + str(summary.submission_count),
    ]
    explained = explanation_counts(summary.explanations, summary.today)
    if explained:
        lines.append(explained)
    if periodic := periodic_lines(summary):
        lines += ["", *periodic]
    for index in summary.indices:
        lines += [
            "",
            MARKS[standing.colour_of(index.tasks)]
            + " "
            + ngettext(
                "Index %(code)s. %(name)s — %(year)s: %(baseline)s, target: %(target)s "
                "(%(count)s task)",
                "Index %(code)s. %(name)s — %(year)s: %(baseline)s, target: %(target)s "
                "(%(count)s tasks)",
                len(index.tasks),
            )
            % {
                "code": index.code,
                "name": index.name,
                "year": index.baseline_year,
                "baseline": format_score(index.baseline_score),
                "target": format_score(index.target_score),
                "count": len(index.tasks),
            },
            *_group(index.tasks, labels, summary, standing),
        ]
    if summary.organisational:
        count = len(summary.organisational)
        lines += [
            "",
            MARKS[standing.colour_of(summary.organisational)]
            + " "
            + ngettext(
                "Organisation of implementation (%(count)s task)",
                "Organisation of implementation (%(count)s tasks)",
                count,
            )
            % {"count": count},
            *_group(summary.organisational, labels, summary, standing),
        ]
    overdue = standing.overdue
    if overdue:
        lines += [
            "",
            MARKS[standing.overdue[0].assessment.colour]
            + " "
            + ngettext("Overdue task (%(count)s):", "Overdue tasks (%(count)s):", len(overdue))
            % {"count": len(overdue)},
        ]
        lines += [f"• {a.agency_name}: {a.task.code} {a.task.title}" for a in overdue]
    extended = [a for a in standing.assignments if a.extension is not None]
    if extended:
        lines += ["", _("Deadline extensions granted:")]
        lines += [
            f"• {a.agency_name}: {a.task.code} — {granted_line(a.extension)}"
            for a in extended
            if a.extension is not None
        ]
    asked = [e for e in summary.extensions if e.waiting]
    if asked:
        lines += ["", *waiting_lines(asked)]
    behind = summary.not_reported
    if behind:
        lines += [
            "",
            ngettext(
                "Agency with tasks not yet reported (%(count)s):",
                "Agencies with tasks not yet reported (%(count)s):",
                len(behind),
            )
            % {"count": len(behind)},
        ]
        lines += [f"• {agency.name}: {', '.join(agency.pending_tasks)}" for agency in behind]
    blocked = summary.blocked
    if blocked:
        lines += [
            "",
            ngettext(
                "Report of difficulties and obstacles (%(count)s):",
                "Reports of difficulties and obstacles (%(count)s):",
                len(blocked),
            )
            % {"count": len(blocked)},
        ]
        for task, report in blocked:
            lines.append(f"• {task.code} {task.title} — {agency_with_role(report)}")
            lines.append(
                "  "
                + _("Difficulties and obstacles: %(text)s")
                % {"text": report.difficulties or report.results}
            )
            if report.proposals:
                proposals = _("Proposals and recommendations: %(text)s")
                lines.append("  " + proposals % {"text": report.proposals})
    lines += ["", *risk_lines(summary, standing), "", legend()]
    return "\n".join(lines)


def _group(
    tasks: list[TaskState], labels: dict[str, str], summary: PlanSummary, standing: YearStanding
) -> list[str]:
    counts = "; ".join(
        f"{labels[state]}: {sum(1 for t in tasks if t.state == state)}" for state in STATES
    )
    lines = [counts, counts_line(standing, tasks)]
    for task in tasks:
        found = standing.tasks.get(task.code)
        lines.append(_task_line(task, labels, MARKS[standing.task_colour(task.code)], found))
        for report in task.contributions:
            status = _("%(status)s, %(progress)s%%") % {
                "status": in_sentence(labels.get(report.status, report.status)),
                "progress": report.progress,
            }
            lines.append(f"  ◦ {agency_with_role(report)}: {status}")
        explained = lines_for_task(
            summary.explanations, task.code, summary.today, short=False, with_agency=True
        )
        lines += [f"  ◦ {line}" for line in explained]
    return lines


def _task_line(
    task: TaskState, labels: dict[str, str], mark: str, found: Assessment | None
) -> str:
    state = labels.get(task.state, task.state)
    if task.state != "unreported":
        state = _("%(status)s, %(progress)s%%") % {"status": state, "progress": task.progress}
    reported = _("%(reported)s of %(total)s") % {
        "reported": task.reported,
        "total": len(task.lead_agencies),
    }
    if task.contributions:
        reported += "; " + _("supporting: %(count)s") % {"count": len(task.contributions)}
    standing = f"{assessment_label(found)}; " if found else ""
    return f"• {mark} {task.code} {task.title} — {standing}{state} ({reported})"


def _when(days: int) -> str:
    if days > 0:
        return ngettext("%(days)s day left", "%(days)s days left", days) % {"days": days}
    if days < 0:
        return ngettext("%(days)s day overdue", "%(days)s days overdue", -days) % {"days": -days}
    return _("due today")
