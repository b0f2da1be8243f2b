"""``/duyet``: the coordinator reviews the reports, accepting them or returning them.

Every version of every report waits for review ("chờ xem xét") until someone acts on it.
``/duyet`` lists the waiting versions, oldest first, a page at a time; ``/duyet AGENCY`` and
``/duyet TASK`` narrow the list. The ``dy:ACTION:VALUE:FILTER`` buttons: ``ok:ID`` (accept),
``rt:ID`` (return: the reason is asked, typed in one message), ``p:PAGE`` (a page),
``x`` (stop returning). The filter is ``aAGENCY_ID`` or ``tTASK_CODE``, empty for all.
A returned report reaches the agency's members through the outbox, with a **Bổ sung ngay**
button (``handlers/report/correction.py``). When ``PGIBOT_LEADER_REVIEW`` is on, agency
leaders review their own agency's reports first (``handlers/leader_review.py``). The role,
and a leader's agency, are checked again at every press. The state chart is
``handlers/review.mmd``.

:func:`accept_report` and :func:`return_report` are the decisions themselves, shared with the
web dashboard: they check the role and the agency again, refuse a version decided already
(changing nothing), record the decision, audit it and tell the agency through the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import MemberInfo, Role
from bot.core.domain.review import QueuedReport, Review, ReviewState
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import N_, _, format_moment, ngettext
from bot.core.messages import Choice, Reply
from bot.core.text import shorten
from bot.core.validation import has_content
from handlers import replies
from handlers.context import Actor, Command, Context
from handlers.conversation import Conversation
from handlers.leader_review import awaiting_leader, forward, leader_first
from handlers.refusals import agency_refusal
from handlers.report.correction import REVIEW
from handlers.report.questions import status_label
from handlers.review_notices import accepted_message, returned_message, tell_agency
from storage.agencies import AgencyError
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

REASON_STATE = "review.reason"
"""The chat waits for the reason of a return (``data``: the submission and the filter)."""
PAGE_SIZE = 5
EXCERPT = 160
REASON_LIMIT = 1000
REVIEWERS = frozenset({Role.LEADER, Role.COORDINATOR, Role.ADMIN})


def may_review(member: MemberInfo, leader_review: bool) -> bool:
    """Tell whether a member reviews reports (a leader only when leader review is on)."""
    return member.role in (Role.COORDINATOR, Role.ADMIN) or (
        member.role is Role.LEADER and leader_review
    )


def reviewed_agency(member: MemberInfo) -> int | None:
    """Return the agency a leader reviews, None for a coordinator (every agency)."""
    return member.agency_id if member.role is Role.LEADER else None


def _may_review(ctx: Context) -> bool:
    return may_review(ctx.require_member(), ctx.bot.leader_review)


def _own_agency(ctx: Context) -> int | None:
    return reviewed_agency(ctx.require_member())


def _leave(ctx: Context) -> None:
    if ctx.state.state == REASON_STATE:
        ctx.reset()


# --- the queue ------------------------------------------------------------------------------


async def review(ctx: Context) -> list[Reply]:
    """Answer /duyet [agency | task code]: the reports waiting for review, oldest first."""
    if not _may_review(ctx):
        return replies.refused(ctx, "duyet")
    wanted = ctx.incoming.argument.strip()
    if not wanted:
        return [await _page(ctx, "", 0, edit=False)]
    if await ctx.uow.reviews.task_code_exists(wanted):
        return [await _page(ctx, f"t{wanted.casefold()}"[:40], 0, edit=False)]
    try:
        agency = await ctx.uow.agencies.find(wanted)
    except AgencyError as error:
        return [
            Reply(
                agency_refusal(error)
                + "\n"
                + _("Send /duyet alone for every report, or /duyet with an agency or a task code.")
            )
        ]
    return [await _page(ctx, f"a{agency.id}", 0, edit=False)]


async def _page(ctx: Context, where: str, page: int, *, edit: bool, note: str = "") -> Reply:
    """Show one page of the queue, narrowed by ``where`` (``aID``, ``tCODE`` or empty)."""
    own = _own_agency(ctx)
    agencies = [own] if own is not None else None
    task_code = None
    if where.startswith("a") and where[1:].isdigit():
        agencies = [own] if own is not None else [int(where[1:])]
    elif where.startswith("t"):
        task_code = where[1:]
    which = awaiting_leader(ctx.require_member(), ctx.bot.leader_review)
    items, total = await ctx.uow.reviews.queue(
        agency_ids=agencies,
        task_code=task_code,
        awaiting_leader=which,
        offset=page * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    if not items and page > 0:
        return await _page(ctx, where, min(page, pages) - 1, edit=edit, note=note)
    head = [note, ""] if note else []
    if which is False:
        _unused, first = await ctx.uow.reviews.queue(
            agency_ids=agencies, task_code=task_code, awaiting_leader=True, limit=0
        )
        if first:
            head += [
                ngettext(
                    "%(count)s more version is waiting for its agency's leader first (not "
                    "listed).",
                    "%(count)s more versions are waiting for their agencies' leaders first "
                    "(not listed).",
                    first,
                )
                % {"count": first},
                "",
            ]
    if not items:
        return Reply("\n".join([*head, _("No report is waiting for review.")]), edit=edit)
    lines = [
        *head,
        _("Reports waiting for review (%(count)s), oldest first — page %(page)s of %(pages)s:")
        % {"count": total, "page": page + 1, "pages": pages},
    ]
    rows: list[tuple[Choice, ...]] = []
    for number, item in enumerate(items, start=page * PAGE_SIZE + 1):
        lines += ["", *_item_lines(number, item)]
        rows.append(
            (
                Choice(
                    _("Accept %(number)s") % {"number": number},
                    REVIEW.encode("ok", item.submission_id, where),
                ),
                Choice(
                    _("Return %(number)s") % {"number": number},
                    REVIEW.encode("rt", item.submission_id, where),
                ),
            )
        )
    turn = []
    if page > 0:
        turn.append(Choice(_("‹ Previous"), REVIEW.encode("p", page - 1, where)))
    if page + 1 < pages:
        turn.append(Choice(_("Next ›"), REVIEW.encode("p", page + 1, where)))
    if turn:
        rows.append(tuple(turn))
    return Reply("\n".join(lines), tuple(rows), edit=edit)


def _item_lines(number: int, item: QueuedReport) -> list[str]:
    return [
        _("%(number)s. %(agency)s — task %(code)s (%(year)s): %(title)s")
        % {
            "number": number,
            "agency": item.agency_name,
            "code": item.task_code,
            "year": item.year,
            "title": shorten(item.task_title, 80),
        },
        _("%(status)s, %(progress)s%% — version %(version)s, sent by %(name)s at %(time)s")
        % {
            "status": status_label(ReportStatus(item.status)),
            "progress": item.progress,
            "version": item.version,
            "name": item.member_name,
            "time": format_moment(item.created_at),
        },
        "« " + shorten(" ".join(item.results.split()), EXCERPT) + " »",
    ]


# --- the buttons ----------------------------------------------------------------------------


async def on_button(ctx: Context, argument: str) -> list[Reply]:
    """Answer a press of a review button; the role and a leader's agency are checked again."""
    if not _may_review(ctx):
        _leave(ctx)
        return replies.refused(ctx, "duyet", f"{REVIEW.prefix}:{argument}")
    action, value, where = REVIEW.decode(argument)
    if action == "x":
        _leave(ctx)
        return [Reply(_("Nothing was changed."), edit=True)]
    if not value.isdigit() or action not in ("p", "ok", "rt") or len(value) > 9:
        return [replies.stale_choice()]
    if action == "p":
        _leave(ctx)
        return [await _page(ctx, where, int(value), edit=True)]
    found = await ctx.uow.reviews.item(int(value), leader_step=ctx.bot.leader_review)
    if found is None:
        return [replies.stale_choice()]
    item, decided = found
    own = _own_agency(ctx)
    if own is not None and not await ctx.uow.reviews.in_agency(item.submission_id, own):
        return replies.refused(ctx, "duyet", f"{REVIEW.prefix}:{argument}")
    forwarded = _forwarded(ctx.require_member(), decided, ctx.bot.leader_review)
    if decided.state is not ReviewState.WAITING or forwarded:
        _leave(ctx)
        note = _already(item, decided.state, forwarded=forwarded)
        return [await _page(ctx, where, 0, edit=True, note=note)]
    if action == "ok":
        _leave(ctx)
        return [await _accept(ctx, item, where)]
    ctx.state = ConversationState(REASON_STATE, {"submission": item.submission_id, "where": where})
    return [_ask_reason(item)]


def _forwarded(member: MemberInfo, review: Review, leader_review: bool) -> bool:
    """Tell whether a leader's version is past the leader's step (forwarded already)."""
    return (
        leader_first(member, leader_review)
        and review.state is ReviewState.WAITING
        and not review.awaits_leader
    )


def _already(item: QueuedReport, state: ReviewState, *, forwarded: bool = False) -> str:
    facts = {"code": item.task_code, "agency": item.agency_name}
    if forwarded:
        return (
            _(
                "The report of %(agency)s on task %(code)s has already been accepted by the "
                "agency's leader and forwarded to the coordinator."
            )
            % facts
        )
    if state is ReviewState.ACCEPTED:
        return _("The report of %(agency)s on task %(code)s has already been accepted.") % facts
    return _("The report of %(agency)s on task %(code)s has already been returned.") % facts


def _ask_reason(item: QueuedReport) -> Reply:
    return Reply(
        _(
            "Return the report of %(agency)s on task %(code)s (version %(version)s). Please "
            "type the reason: what the agency should add or correct (at most %(limit)s "
            "characters); or press Cancel."
        )
        % {
            "agency": item.agency_name,
            "code": item.task_code,
            "version": item.version,
            "limit": REASON_LIMIT,
        },
        ((Choice(_("Cancel"), REVIEW.encode("x")),),),
    )


async def _accept(ctx: Context, item: QueuedReport, where: str) -> Reply:
    decision = await accept_report(
        ctx.uow, ctx.actor(), item.submission_id, ctx.now(), leader_review=ctx.bot.leader_review
    )
    ctx.queued = decision.queued or ctx.queued
    return await _page(ctx, where, 0, edit=True, note=decision.note())


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Take the typed reason of a return, return the report and tell its agency."""
    data = ctx.state.data
    found = await ctx.uow.reviews.item(
        int(data.get("submission", 0)), leader_step=ctx.bot.leader_review
    )
    if found is None or not _may_review(ctx):
        ctx.reset()
        return [replies.stale_choice()]
    item, _decided = found
    own = _own_agency(ctx)
    if own is not None and not await ctx.uow.reviews.in_agency(item.submission_id, own):
        ctx.reset()  # the leader moved to another agency meanwhile
        return replies.refused(ctx, "duyet", f"{REVIEW.prefix}:rt:{item.submission_id}")
    reason = clean_reason(text)
    problem = reason_problem(reason)
    if problem is not None:
        return [Reply(problem), _ask_reason(item)]
    ctx.reset()
    where = str(data.get("where", ""))
    decision = await return_report(
        ctx.uow,
        ctx.actor(),
        item.submission_id,
        ctx.now(),
        reason,
        leader_review=ctx.bot.leader_review,
    )
    ctx.queued = decision.queued or ctx.queued
    return [await _page(ctx, where, 0, edit=False, note=decision.note())]


# --- the decisions, shared with the dashboard -------------------------------------------------


def clean_reason(text: str) -> str:
    """Return a typed reason of a return on one line, its spaces collapsed."""
    return " ".join(text.split())


def reason_problem(reason: str) -> str | None:
    """Return why a reason of a return cannot be taken (politely), None when it can."""
    if not reason:
        return replies.empty_text().text
    if len(reason) > REASON_LIMIT:
        return replies.too_long(REASON_LIMIT).text
    if not has_content(reason):
        return _(
            "The reason does not say anything yet. Please state in words what the agency "
            "should add or correct."
        )
    return None


class Outcome(StrEnum):
    """How a decision on a report version went."""

    DONE = "done"
    ALREADY = "already"
    """The version was decided already (a second press, or by someone else): nothing changed."""
    MISSING = "missing"
    REFUSED = "refused"
    """The member's role, or a leader's agency, does not allow it: nothing changed."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What became of an accept or a return, and the version's review state now."""

    outcome: Outcome
    item: QueuedReport | None = None
    state: ReviewState | None = None
    queued: bool = False
    """Whether someone was sent a message through the outbox (the agency, the coordinators)."""
    forwarded: bool = False
    """The leader's step: the version was (or had already been) forwarded to the coordinator."""

    def note(self) -> str:
        """Return the sentence that tells the reviewer what happened."""
        if self.item is None or self.state is None:
            return replies.stale_choice().text
        if self.outcome is not Outcome.DONE:
            return _already(self.item, self.state, forwarded=self.forwarded)
        facts = {
            "agency": self.item.agency_name,
            "code": self.item.task_code,
            "version": self.item.version,
        }
        if self.forwarded:
            return (
                _(
                    "Accepted and forwarded to the coordinator: the report of %(agency)s on "
                    "task %(code)s (version %(version)s)."
                )
                % facts
            )
        if self.state is ReviewState.ACCEPTED:
            return (
                _("Accepted: the report of %(agency)s on task %(code)s (version %(version)s).")
                % facts
            )
        return (
            _(
                "Returned: the report of %(agency)s on task %(code)s (version %(version)s). Its "
                "members have been sent the reason."
            )
            % facts
        )


async def accept_report(
    uow: UnitOfWork, actor: Actor, submission_id: int, now: datetime, *, leader_review: bool
) -> Decision:
    """Accept a waiting version, audit it and tell its agency (in chat and on the web)."""
    return await _decide(uow, actor, submission_id, now, ReviewState.ACCEPTED, None, leader_review)


async def return_report(
    uow: UnitOfWork,
    actor: Actor,
    submission_id: int,
    now: datetime,
    reason: str,
    *,
    leader_review: bool,
) -> Decision:
    """Return a waiting version with a reason checked by :func:`reason_problem`."""
    if reason_problem(reason) is not None:
        raise ValueError("the reason of a return must be checked first")
    return await _decide(
        uow, actor, submission_id, now, ReviewState.RETURNED, reason, leader_review
    )


async def _decide(
    uow: UnitOfWork,
    actor: Actor,
    submission_id: int,
    now: datetime,
    state: ReviewState,
    reason: str | None,
    leader_review: bool,
) -> Decision:
    reviewer = actor.member
    if not may_review(reviewer, leader_review):
        return Decision(Outcome.REFUSED)
    found = await uow.reviews.item(submission_id, leader_step=leader_review)
    if found is None:
        return Decision(Outcome.MISSING)
    item, decided = found
    own = reviewed_agency(reviewer)
    if own is not None and not await uow.reviews.in_agency(item.submission_id, own):
        return Decision(Outcome.REFUSED, item, decided.state)
    if decided.state is not ReviewState.WAITING:
        return Decision(Outcome.ALREADY, item, decided.state)
    if _forwarded(reviewer, decided, leader_review):
        return Decision(Outcome.ALREADY, item, decided.state, forwarded=True)
    if leader_first(reviewer, leader_review) and state is ReviewState.ACCEPTED:
        done, queued = await forward(uow, actor, item, now)
        if not done:
            again = await uow.reviews.item(submission_id, leader_step=leader_review)
            now_state = again[1].state if again else ReviewState.WAITING
            waiting = now_state is ReviewState.WAITING
            return Decision(Outcome.ALREADY, item, now_state, forwarded=waiting)
        return Decision(Outcome.DONE, item, ReviewState.WAITING, queued, forwarded=True)
    if not await uow.reviews.decide(
        item.submission_id, state, reviewer_id=reviewer.id, now=now, reason=reason
    ):
        again = await uow.reviews.item(submission_id)
        return Decision(Outcome.ALREADY, item, again[1].state if again else state)
    accepted = state is ReviewState.ACCEPTED
    actor.audit(
        uow,
        "review.accept" if accepted else "review.return",
        now,
        submission=item.submission_id,
        task=item.task_code,
    )
    if accepted:
        logger.info("submission %s accepted by member %s", item.submission_id, reviewer.id)
    else:
        logger.info("submission %s returned by member %s", item.submission_id, reviewer.id)
    message = (
        accepted_message(reviewer, item)
        if accepted
        else returned_message(reviewer, item, reason or "")
    )
    queued = await tell_agency(
        uow, reviewer, now, item, "accepted" if accepted else "returned", message
    )
    return Decision(Outcome.DONE, item, state, queued)


async def current_question(ctx: Context) -> Reply:
    """Ask the reason of the return again (after a side command)."""
    found = await ctx.uow.reviews.item(int(ctx.state.data.get("submission", 0)))
    if found is None:
        ctx.reset()
        return replies.stale_choice()
    return _ask_reason(found[0])


CONVERSATION = Conversation(
    "review",
    commands=(
        Command(
            "duyet",
            N_("review the reports: accept them or return them for supplementing"),
            REVIEWERS,
            review,
        ),
    ),
    buttons={REVIEW.prefix: on_button},
    owns=lambda state: state.state == REASON_STATE,
    on_text=on_text,
    current_question=current_question,
    step_buttons=frozenset({REVIEW.prefix}),
)
