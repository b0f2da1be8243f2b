"""Names and small helpers the exports share: task states, agency kinds, index headings."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.domain.progress import STATES, IndexState, LatestReport, PlanSummary
from bot.core.domain.review import ReviewState, review_counts
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import N_, _, current_timezone
from handlers.report.questions import STATUS_LABELS, status_label

_LABELS: dict[str, str] = {
    **{status.value: label for status, label in STATUS_LABELS.items()},
    "unreported": N_("Not reported"),
}
STATE_LABELS: dict[str, str] = {state: _LABELS[state] for state in STATES}
"""The English msgid naming each task state, in the order of ``STATES``."""
_REPORT_STATES = frozenset(status.value for status in ReportStatus)

KIND_LABELS: dict[str, str] = {
    "department": N_("Department or agency"),
    "district": N_("District or city"),
    "commune": N_("Commune or ward"),
    "front": N_("Fatherland Front"),
    "association": N_("Association or mass organisation"),
    "military": N_("Military"),
    "police": N_("Police"),
    "press": N_("Press"),
    "other": N_("Other"),
}


REVIEW_LABELS: dict[ReviewState, str] = {
    ReviewState.WAITING: N_("Waiting for review"),
    ReviewState.ACCEPTED: N_("Accepted"),
    ReviewState.RETURNED: N_("Returned for supplementing"),
}


def review_label(state: ReviewState) -> str:
    """Return the name of a review state ("Chờ xem xét", "Đã tiếp nhận", "Trả lại")."""
    return _(REVIEW_LABELS[state])


def review_line(states: list[ReviewState]) -> str:
    """Say how many reports are accepted, returned and waiting for review, in one line."""
    counts = review_counts(states)
    return _("accepted %(accepted)s · returned %(returned)s · waiting for review %(waiting)s") % {
        "accepted": counts[ReviewState.ACCEPTED],
        "returned": counts[ReviewState.RETURNED],
        "waiting": counts[ReviewState.WAITING],
    }


def review_mark(state: ReviewState) -> str:
    """Return the note on a report not accepted yet ("đang xem xét", "đã trả lại để bổ sung")."""
    if state is ReviewState.RETURNED:
        return _("returned for supplementing")
    return _("under review")


def accepted_first(reports: list[LatestReport]) -> list[LatestReport]:
    """Return the reports accepted in review first, the others after, each in its order."""
    return sorted(reports, key=lambda r: r.review is not ReviewState.ACCEPTED)


def summary_review_line(summary: PlanSummary) -> str:
    """Count the review states of the latest reports of every task of a year."""
    return review_line([r.review for t in summary.all_tasks for r in t.all_reports])


def leader_review_line(summary: PlanSummary, led: frozenset[int]) -> str | None:
    """Count the waiting latest reports at the leader's step (``PGIBOT_LEADER_REVIEW``).

    ``led``: the agencies with an active leader. None when no report is at that step.
    """
    waiting = [
        r for t in summary.all_tasks for r in t.all_reports if r.review is ReviewState.WAITING
    ]
    first = sum(1 for r in waiting if not r.forwarded and r.agency_id in led)
    forwarded = sum(1 for r in waiting if r.forwarded)
    if not first and not forwarded:
        return None
    return _(
        "of those waiting: waiting for the agency's leader %(first)s · accepted by the "
        "leader, waiting for the coordinator %(forwarded)s"
    ) % {"first": first, "forwarded": forwarded}


def state_label(state: str) -> str:
    """Return the name of a task state (a report status or ``unreported``) in the language."""
    if state in _REPORT_STATES:
        return status_label(ReportStatus(state))
    if state in STATE_LABELS:
        return _(STATE_LABELS[state])
    return state


def state_labels() -> dict[str, str]:
    """Return the name of every state, translated once for a whole export."""
    return {state: state_label(state) for state in STATES}


def kind_label(kind: str) -> str:
    """Return the name of an agency kind, or the kind itself when it is unknown."""
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def organisational_label() -> str:
    """Return the heading of the tasks that belong to no index."""
    return _("Organisation of implementation (section III)")


def index_label(index: IndexState) -> str:
    """Return an index's number and name, e.g. ``Chỉ số 1. Giảm thiểu ô nhiễm``."""
    return _("Index %(code)s. %(name)s") % {"code": index.code, "name": index.name}


def index_labels(summary: PlanSummary) -> dict[str | None, str]:
    """Return the heading of every index by code, ``None`` naming the organisational tasks."""
    labels: dict[str | None, str] = {i.code: index_label(i) for i in summary.indices}
    labels[None] = organisational_label()
    return labels


def local(moment: datetime) -> datetime:
    """Return a moment as naive local time (naive moments are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(current_timezone()).replace(tzinfo=None)


def in_sentence(label: str) -> str:
    """Return a state's name as written inside a sentence: ``Đang thực hiện`` → ``đang …``."""
    return label[:1].lower() + label[1:]


def role_note(report: LatestReport) -> str:
    """Return the mark of a supporting agency's contribution, ``phối hợp``, or nothing."""
    return _("supporting") if report.supporting else ""


def agency_with_role(report: LatestReport) -> str:
    """Return the agency's name, marked ``(phối hợp)`` for a contribution."""
    if not report.supporting:
        return report.agency_name
    return _("%(agency)s (supporting)") % {"agency": report.agency_name}
