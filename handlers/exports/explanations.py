"""Explanation requests in words: the lines every view and file shows beside a task.

The chat views shorten an answer; the files show it whole. The counts (asked, answered, left
unanswered past the answer deadline) read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.core.domain.explanations import Explanation, ExplanationReason, count, for_task
from bot.core.i18n import N_, _, current_timezone, format_day, format_moment
from bot.core.text import shorten, sort_key

REASON_LABELS = {
    ExplanationReason.LATE: N_("late report"),
    ExplanationReason.BLOCKED: N_("difficulties and obstacles"),
}
CHAT_EXCERPT = 160


def reason_label(reason: ExplanationReason) -> str:
    """Return why an agency was asked to explain, in the language."""
    return _(REASON_LABELS[reason])


def answer_state(explanation: Explanation, today: date) -> str:
    """Say where a request stands: answered, waiting, or unanswered past its deadline."""
    if explanation.answered:
        return _("explained")
    if explanation.overdue(today):
        return _("not explained, past the deadline")
    return _("waiting for the explanation")


def counts_line(explanations: Sequence[Explanation], today: date) -> str | None:
    """Return the counts of a year's requests, None when none was asked."""
    counts = count(explanations, today)
    if not counts.asked:
        return None
    return _(
        "Explanation requests: %(asked)s asked, %(answered)s explained, "
        "%(overdue)s not explained past the deadline."
    ) % {"asked": counts.asked, "answered": counts.answered, "overdue": counts.overdue}


def digest_lines(explanations: Sequence[Explanation], today: date) -> list[str]:
    """Return the coordinator's digest section on requests: the counts, then who owes an answer.

    Empty when every request is answered. Each agency that owes one: how many it has not
    answered, how many of those are past the answer deadline, how many it was asked.
    """
    if all(e.answered for e in explanations):
        return []
    by_agency: dict[str, list[Explanation]] = {}
    for explanation in explanations:
        by_agency.setdefault(explanation.agency_name, []).append(explanation)
    lines = ["", counts_line(explanations, today) or "", _("Agencies that owe an explanation:")]
    for agency in sorted(by_agency, key=sort_key):
        counts = count(by_agency[agency], today)
        if counts.waiting:
            lines.append(
                _(
                    "• %(agency)s: %(waiting)s not explained, %(overdue)s past the deadline "
                    "(%(asked)s asked)"
                )
                % {
                    "agency": agency,
                    "waiting": counts.waiting,
                    "overdue": counts.overdue,
                    "asked": counts.asked,
                }
            )
    return lines


def request_line(explanation: Explanation, today: date) -> str:
    """Write one line about a request: why, when, until when, and where it stands."""
    return _("Explanation requested (%(reason)s) on %(date)s, due %(due)s: %(state)s") % {
        "reason": reason_label(explanation.reason),
        "date": format_day(explanation.asked_at.astimezone(current_timezone()).date()),
        "due": format_day(explanation.due_date),
        "state": answer_state(explanation, today),
    }


def answer_line(explanation: Explanation, *, short: bool) -> str | None:
    """Write the answer with who gave it and when, None before it is given."""
    if explanation.answer is None or explanation.answered_at is None:
        return None
    text = shorten(explanation.answer, CHAT_EXCERPT) if short else explanation.answer
    return _("Explanation (%(name)s, %(time)s): %(text)s") % {
        "name": explanation.answered_by or "",
        "time": format_moment(explanation.answered_at),
        "text": text,
    }


def lines_for_task(
    explanations: Sequence[Explanation],
    task_code: str,
    today: date,
    *,
    agency_id: int | None = None,
    short: bool = True,
    with_agency: bool = False,
) -> list[str]:
    """Return the lines shown beside a task: each request about it and its answer."""
    lines: list[str] = []
    for explanation in for_task(explanations, task_code, agency_id):
        line = request_line(explanation, today)
        if with_agency:
            line = f"{explanation.agency_name}: {line}"
        lines.append(line)
        answer = answer_line(explanation, short=short)
        if answer:
            lines.append(answer)
    return lines


def full_lines(explanation: Explanation, today: date) -> list[str]:
    """Return a request in full, for a file's list: agency, tasks, state and answer."""
    lines = [
        f"{explanation.agency_name} — {', '.join(explanation.task_codes)}: "
        + request_line(explanation, today)
    ]
    answer = answer_line(explanation, short=False)
    if answer:
        lines.append(answer)
    return lines
