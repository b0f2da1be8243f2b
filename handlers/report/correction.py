"""Corrections: a returned report opened again with its answers, and reports after the deadline.

The coordinator's "Trả lại" message carries a **Bổ sung ngay** button (``bs:SUBMISSION``): it
opens ``/baocao`` on that task with the returned version's answers (and evidence files) as the
defaults, at the menu of what to change. The correction is stored as the next version, waits
for review again, and the member who returned the report is told it arrived (outbox; the
agency's leaders instead when it waits for them first, ``PGIBOT_LEADER_REVIEW``). After
the year's deadline a report may still be corrected when its latest version was returned or a
reopening covers the task (:func:`bot.core.domain.review.may_correct`).
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from bot.core.domain.members import Role
from bot.core.domain.plan import CycleInfo
from bot.core.domain.review import QueuedReport, Review, ReviewState, may_correct
from bot.core.domain.submissions import SubmissionInfo
from bot.core.i18n import _, format_moment
from bot.core.messages import Choice, Reply, reply_to_payload
from handlers import replies
from handlers.context import Context
from handlers.conversation import Button
from handlers.report import cutoff
from handlers.report.questions import _edit_menu
from handlers.report.states import CYCLE, _set

SUPPLEMENT = Button("bs", 1)
"""The "Bổ sung ngay" button of a returned report: ``bs:SUBMISSION_ID``."""
REVIEW = Button("dy", 3)
"""The review queue's buttons: ``dy:ACTION:VALUE:FILTER`` (see ``handlers/review.py``)."""


async def correction_allowed(ctx: Context, cycle: CycleInfo, latest: SubmissionInfo) -> bool:
    """Tell whether the agency may report again on a task it reported on, today."""
    member = ctx.require_member()
    today = ctx.today()
    if cycle.correction_deadline is None or today <= cycle.correction_deadline:
        return True
    return may_correct(
        today=today,
        deadline=cycle.correction_deadline,
        latest=latest.review.state,
        reopenings=await ctx.uow.reviews.reopenings(cycle.id, member.agency_id),
        task_id=latest.task_id,
    )


async def start_correction(ctx: Context, argument: str) -> list[Reply]:
    """Open the report on a returned version's task, its answers offered as the defaults."""
    (value,) = SUPPLEMENT.decode(argument)
    member = ctx.require_member()
    found = await ctx.uow.reviews.item(int(value)) if value.isdigit() else None
    if found is None:
        return [replies.stale_choice()]
    queued, review = found
    if not await ctx.uow.reviews.in_agency(queued.submission_id, member.agency_id):
        return replies.forged_task(ctx, f"bs:{argument}")
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id, ctx.today())
    if not any(t.id == queued.task_id for t in tasks):
        return replies.forged_task(ctx, f"bs:{argument}")
    latest = await ctx.uow.submissions.latest(queued.cycle_id, queued.task_id, member.agency_id)
    if latest is None or latest.id != queued.submission_id:
        newer = latest.version if latest else queued.version
        return [
            Reply(
                _(
                    "This report on task %(code)s has already been supplemented (version "
                    "%(version)s). Send /lichsu to see your agency's reports."
                )
                % {"code": queued.task_code, "version": newer}
            )
        ]
    if review.state is not ReviewState.RETURNED:
        return [replies.stale_choice()]
    return await open_correction(ctx, queued, review)


async def open_correction(ctx: Context, queued: QueuedReport, review: Review) -> list[Reply]:
    """Begin the report on a returned version's task with its answers as the defaults."""
    submission = await ctx.uow.submissions.get(queued.submission_id)
    assert submission is not None
    files = await ctx.uow.reviews.attachments(queued.submission_id)
    ctx.state = replace(ctx.state, state=CYCLE, data={"nonce": secrets.token_hex(2)})
    _set(
        ctx,
        cycle_id=queued.cycle_id,
        year=queued.year,
        page=0,
        task_id=queued.task_id,
        task_code=queued.task_code,
        task_title=queued.task_title,
        seen_report=queued.submission_id,
        status=submission.status.value,
        progress=submission.progress,
        results=submission.results,
        difficulties=submission.difficulties,
        proposals=submission.proposals,
        files=[
            {
                "name": f.file_name,
                "mime": f.mime_type,
                "size": f.size,
                "sha256": f.sha256,
                "path": f.storage_path,
                "file_id": f.platform_file_id,
            }
            for f in files
        ],
    )
    await cutoff.set_period(ctx, submission)
    ctx.audit("review.supplement", submission=queued.submission_id, task=queued.task_code)
    note = Reply(
        _(
            "Supplementing your agency's report on task %(code)s (%(year)s), version "
            "%(version)s, returned by %(reviewer)s. Reason: %(reason)s\n"
            "The answers of that version are kept as they were: change what is needed, then "
            "confirm. The supplemented report will be a new version, reviewed again."
        )
        % {
            "code": queued.task_code,
            "year": queued.year,
            "version": queued.version,
            "reviewer": review.reviewer or "",
            "reason": review.reason or "",
        }
    )
    return [note, replace(_edit_menu(ctx), edit=False)]


async def tell_reviewer(ctx: Context, stored: SubmissionInfo, agency_id: int) -> None:
    """Tell whoever returned the previous version that its correction arrived (outbox)."""
    previous = await ctx.uow.reviews.previous(stored.id)
    if previous is None or previous[0].state is not ReviewState.RETURNED:
        return
    review, reviewer_id = previous
    sender = ctx.require_member()
    recipients = (
        await ctx.uow.members.notice_recipients(sender.id, None, only=reviewer_id)
        if reviewer_id is not None
        else []
    )
    if ctx.bot.leader_review:  # waiting for the agency's leader first: the leaders are told
        found = await ctx.uow.reviews.item(stored.id, leader_step=True)
        if found is not None and found[1].awaits_leader:
            recipients = await ctx.uow.members.notice_recipients(
                sender.id, agency_id, role=Role.LEADER
            )
    if not recipients:  # the reviewer left: the coordinators are told instead
        recipients = [
            (r.member_id, r.channel, r.chat_id)
            for r in await ctx.uow.notifications.coordinators(ctx.today())
            if r.member_id != sender.id
        ]
    message = Reply(
        _(
            "%(agency)s has supplemented its report on task %(code)s (%(year)s) that was "
            "returned on %(time)s: version %(version)s, sent by %(name)s at %(sent)s. It is "
            "waiting for review (send /duyet)."
        )
        % {
            "agency": sender.agency_name,
            "code": stored.task_code,
            "year": stored.cycle_year,
            "time": format_moment(review.at) if review.at else "",
            "version": stored.version,
            "name": sender.full_name,
            "sent": format_moment(stored.created_at),
        },
        ((Choice(_("Review now"), REVIEW.encode("p", 0, f"a{agency_id}")),),),
    )
    queued = await ctx.uow.notifications.enqueue_each(
        recipients,
        kind="review",
        payload=reply_to_payload(message),
        key=f"review:supplemented:{stored.id}",
        now=ctx.now(),
    )
    ctx.queued = ctx.queued or queued > 0
