"""The dashboard's pages: Tổng quan, Cơ quan (and each agency), Nhiệm vụ, Báo cáo, the files.

Every page reads through a read-only session of the unit of work, for the year asked
(``?year=``, by default the current one) and within what the viewer's role allows
(:class:`bot.dashboard.access.Viewer`): the year's state comes from the same summary as
``/tonghop``, so the page, the chat and the files agree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web

from bot.core.domain.members import Role
from bot.core.domain.progress import STATES, AgencyState, PlanSummary
from bot.core.domain.review import Review
from bot.core.domain.search import ReportQuery
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import _
from bot.core.text import fold
from bot.dashboard import explaining, extending
from bot.dashboard.access import VIEWER_KEY, Viewer
from bot.dashboard.charts import index_counts, stacked
from bot.dashboard.config import DASHBOARD_KEY, Dashboard
from bot.dashboard.render import page
from bot.dashboard.reviewing import REASON_LIMIT, leads, reviews
from bot.dashboard.security import audit, refusal
from handlers.exports.registry import EXPORTS, export
from handlers.exports.standing import (
    colour_label,
    counts_line,
    legend,
    risk_detail,
    risks_of,
    standing_of,
)
from handlers.extensions.common import granted_line
from handlers.reopening import LONGEST
from storage.uow import Repositories as Reads
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
TEXT_LIMIT = 200
SORTS = ("name", "assigned", "reported", "overdue", "blocked", "last")
SHOWS = ("all", "pending", "overdue", "blocked")


def _viewer(request: web.Request) -> Viewer:
    return request[VIEWER_KEY]


def _dashboard(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD_KEY]


def _today(dashboard: Dashboard) -> date:
    return dashboard.clock.now().astimezone(dashboard.zone).date()


async def _year(request: web.Request, reads: Reads) -> tuple[int | None, list[int]]:
    """Return the year asked (or the current one) and every year there is."""
    years = await reads.summaries.years()
    wanted = request.query.get("year", "")
    if wanted:
        if not wanted.isdigit() or int(wanted) not in years:
            raise refusal(
                request,
                404,
                _("There is no reporting year %(year)s. Please choose a year from the list.")
                % {"year": wanted[:10]},
            )
        return int(wanted), years
    today = _today(_dashboard(request))
    return (today.year if today.year in years else (years[-1] if years else None)), years


async def _summary(request: web.Request, reads: Reads) -> tuple[PlanSummary, list[int]]:
    year, years = await _year(request, reads)
    summary = (
        await reads.summaries.summary(year, _today(_dashboard(request)), _viewer(request).scope)
        if year is not None
        else None
    )
    if summary is None:
        raise refusal(request, 404, _("No plan has been imported yet."))
    return summary, years


def _blocked_by(summary: PlanSummary) -> dict[int, int]:
    counts: dict[int, int] = {}
    for _task, report in summary.blocked:
        counts[report.agency_id] = counts.get(report.agency_id, 0) + 1
    return counts


@dataclass(frozen=True, slots=True)
class AgencyRow:
    """A line of the agencies' table."""

    agency: AgencyState
    assigned: int
    reported: int
    overdue: int
    blocked: int
    last: datetime | None


def _rows(summary: PlanSummary) -> list[AgencyRow]:
    blocked = _blocked_by(summary)
    return [
        AgencyRow(
            a,
            len(a.lead_tasks),
            len(a.reported_tasks),
            len(a.pending_tasks) if summary.late else 0,
            blocked.get(a.id, 0),
            a.last_report_at,
        )
        for a in summary.agencies
    ]


async def overview(request: web.Request) -> web.StreamResponse:
    """Tổng quan: the indices, their risk, the agencies' reporting, what is late or blocked."""
    async with UnitOfWork(_dashboard(request).database).reading() as reads:
        summary, years = await _summary(request, reads)
    standing = standing_of(summary)
    risks = {risk.index.code: risk for risk in risks_of(summary, standing)}
    leading = summary.leading_agencies
    done = len(summary.reported_agencies)
    rows = sorted(_rows(summary), key=lambda r: r.reported / r.assigned if r.assigned else 1)
    return page(
        "overview.html",
        request,
        {
            "summary": summary,
            "years": years,
            "indices": [
                (
                    index,
                    stacked(index_counts(index)),
                    risks[index.code],
                    risk_detail(risks[index.code]),
                    counts_line(standing, index.tasks),
                )
                for index in summary.indices
            ],
            "colour_label": colour_label,
            "legend": legend(),
            "states": STATES,
            "rate": round(100 * done / len(leading)) if leading else 0,
            "done": done,
            "leading": len(leading),
            "agency_bars": [r for r in rows if r.assigned],
            "pending": summary.not_reported,
            "blocked": summary.blocked,
            "files": _viewer(request).files(),
        },
    )


async def agencies(request: web.Request) -> web.StreamResponse:
    """Cơ quan: every agency in the viewer's scope, sortable and filterable."""
    async with UnitOfWork(_dashboard(request).database).reading() as reads:
        summary, years = await _summary(request, reads)
    query = request.query
    sort = query.get("sort", "name") if query.get("sort") in SORTS else "name"
    descending = query.get("dir") == "desc"
    show = query.get("show", "all") if query.get("show") in SHOWS else "all"
    text = query.get("q", "").strip()[:TEXT_LIMIT]
    rows = _rows(summary)
    if text:
        wanted = fold(text)
        rows = [r for r in rows if wanted in fold(r.agency.name) or wanted in fold(r.agency.code)]
    if show == "pending":
        rows = [r for r in rows if r.agency.pending_tasks]
    elif show == "overdue":
        rows = [r for r in rows if r.overdue]
    elif show == "blocked":
        rows = [r for r in rows if r.blocked]
    if sort != "name":  # the summary lists agencies in Vietnamese alphabetical order already
        key: dict[str, Any] = {
            "assigned": lambda r: r.assigned,
            "reported": lambda r: r.reported,
            "overdue": lambda r: r.overdue,
            "blocked": lambda r: r.blocked,
            "last": lambda r: r.last.timestamp() if r.last else 0.0,
        }
        rows = sorted(rows, key=key[sort])
    if descending:
        rows.reverse()
    return page(
        "agencies.html",
        request,
        {
            "summary": summary,
            "years": years,
            "rows": rows,
            "sort": sort,
            "descending": descending,
            "show": show,
            "q": text,
        },
    )


def _page_number(request: web.Request) -> int:
    wanted = request.query.get("page", "1")
    return max(int(wanted), 1) if wanted.isdigit() and len(wanted) < 6 else 1


async def agency(request: web.Request) -> web.StreamResponse:
    """An agency's page: its tasks and their states, its reports and files, its members."""
    dashboard = _dashboard(request)
    agency_id = int(request.match_info["agency_id"])
    number = _page_number(request)
    async with UnitOfWork(dashboard.database).reading() as reads:
        summary, years = await _summary(request, reads)
        found = next((a for a in summary.agencies if a.id == agency_id), None)
        if found is None:
            await _refuse(request, "agency", agency_id)
        assert found is not None
        reports = await reads.reports.search(
            ReportQuery(
                summary.year,
                agency_ids=(agency_id,),
                offset=(number - 1) * PAGE_SIZE,
                limit=PAGE_SIZE,
            )
        )
        members = [m for m in await reads.members.list_all() if m.agency_id == agency_id]
        decisions = await reads.reviews.decisions(
            [r.id for r in reports.hits], leader_step=dashboard.leader_review
        )
    lead = [t for t in summary.all_tasks if t.code in found.lead_tasks]
    other = [t for t in summary.all_tasks if t.code not in found.lead_tasks]

    def own(reports_of: list[Any]) -> Any:
        return next((r for r in reports_of if r.agency_id == agency_id), None)

    return page(
        "agency.html",
        request,
        {
            "summary": summary,
            "years": years,
            "agency": found,
            "lead": [(t, own(t.reports)) for t in lead],
            "extended": {
                a.task.code: granted_line(a.extension)
                for a in standing_of(summary).of_agency(agency_id)
                if a.extension is not None
            },
            "other": [(t, own(t.contributions)) for t in other],
            "reports": reports,
            "page_number": number,
            "pages": max(1, -(-reports.total // PAGE_SIZE)),
            "members": [m for m in members if m.active],
            "role_names": _role_names(),
            **_review_context(request, decisions),
            "asks": explaining.buttons(summary, found)
            if explaining.asks(_viewer(request), dashboard)
            else [],
            "explanations": explaining.requests(summary, agency_id),
            "reopens": explaining.asks(_viewer(request), dashboard),
            "extensions": extending.requests(summary, agency_id),
            "extension_reason_limit": extending.REASON_LIMIT,
            "latest_day": _today(dashboard) + timedelta(days=LONGEST),
        },
    )


def _review_context(request: web.Request, decisions: dict[int, Review]) -> dict[str, Any]:
    """Return what the report cards show of the review, and whether the viewer reviews."""
    return {
        "decisions": decisions,
        "reviews": reviews(_viewer(request), _dashboard(request)),
        "leads": leads(_viewer(request), _dashboard(request)),
        "reason_limit": REASON_LIMIT,
    }


def _role_names() -> dict[Role, str]:
    from handlers.help import role_name

    return {role: role_name(role) for role in Role}


async def tasks(request: web.Request) -> web.StreamResponse:
    """Nhiệm vụ: each task with every agency's latest report."""
    async with UnitOfWork(_dashboard(request).database).reading() as reads:
        summary, years = await _summary(request, reads)
    return page("tasks.html", request, {"summary": summary, "years": years})


def _day(text: str) -> date | None:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


async def reports(request: web.Request) -> web.StreamResponse:
    """Báo cáo: every report, found by words, agency, person, task, state and dates."""
    viewer = _viewer(request)
    query = request.query
    number = _page_number(request)
    async with UnitOfWork(_dashboard(request).database).reading() as reads:
        summary, years = await _summary(request, reads)
        problems: list[str] = []
        agency_text = query.get("agency", "")
        agency_ids: tuple[int, ...] = ()
        if viewer.scope is not None:
            agency_ids = (viewer.scope,)
        elif agency_text:
            if agency_text.isdigit() and any(a.id == int(agency_text) for a in summary.agencies):
                agency_ids = (int(agency_text),)
            else:
                problems.append(_("Please choose an agency from the list."))
        status = query.get("status", "")
        if status and status not in {s.value for s in ReportStatus}:
            problems.append(_("Please choose a state from the list."))
        task = query.get("task", "").strip()
        if task and task not in {t.code for t in summary.all_tasks}:
            problems.append(_("Please choose a task from the list."))
        since = until = None
        try:
            since = _day(query["from"]) if query.get("from") else None
            until = _day(query["to"]) if query.get("to") else None
        except ValueError:
            problems.append(_("Please write the dates as dd/mm/yyyy."))
        if since and until and since > until:
            problems.append(_("The start date must not be after the end date."))
        text = query.get("q", "").strip()
        person = query.get("person", "").strip()
        if len(text) > TEXT_LIMIT or len(person) > TEXT_LIMIT:
            problems.append(
                _("Please search with at most %(count)s characters.") % {"count": TEXT_LIMIT}
            )
        found = None
        decisions: dict[int, Review] = {}
        if not problems:
            found = await reads.reports.search(
                ReportQuery(
                    summary.year,
                    text=text,
                    agency_ids=agency_ids,
                    person=person,
                    task_code=task,
                    status=status,
                    since=since,
                    until=until,
                    offset=(number - 1) * PAGE_SIZE,
                    limit=PAGE_SIZE,
                )
            )
            decisions = await reads.reviews.decisions(
                [r.id for r in found.hits], leader_step=_dashboard(request).leader_review
            )
    filters = {k: v for k, v in query.items() if k != "page" and v}
    return page(
        "reports.html",
        request,
        {
            "summary": summary,
            "years": years,
            "problems": problems,
            "found": found,
            "form": {
                key: query.get(key, "")[:TEXT_LIMIT]
                for key in ("q", "agency", "person", "task", "status", "from", "to")
            },
            "statuses": [s.value for s in ReportStatus],
            "filters": filters,
            "page_number": number,
            "pages": max(1, -(-found.total // PAGE_SIZE)) if found else 1,
            **_review_context(request, decisions),
        },
        status=400 if problems else 200,
    )


async def _refuse(request: web.Request, what: str, value: object) -> None:
    """Refuse what the viewer's role does not allow, audit it, and say so politely."""
    async with UnitOfWork(_dashboard(request).database) as uow:
        audit(uow, request, "permission.refused", command="web", payload=f"{what}:{value}"[:64])
        await uow.commit()
    logger.info("dashboard: refused %s %s to member %s", what, value, _viewer(request).member.id)
    raise refusal(
        request,
        403,
        _(
            "Sorry, this page is not available to your role: you can see your own agency's "
            "work. Use the menu to go back."
        ),
    )


async def download(request: web.Request) -> web.StreamResponse:
    """A file of the year (the export registry's), as the viewer's role may have it."""
    viewer = _viewer(request)
    dashboard = _dashboard(request)
    key = request.match_info["key"]
    year_text = request.match_info["year"]
    entry = EXPORTS.get(key)
    if entry is None or not year_text.isdigit():
        raise refusal(request, 404, _("There is no such file."))
    if not viewer.may_download(entry):
        await _refuse(request, "file", key)
    async with UnitOfWork(dashboard.database).reading() as reads:
        file = await export(
            reads.summaries, key, viewer.export_scope(int(year_text)), _today(dashboard)
        )
    if file is None:
        raise refusal(request, 404, _("There is no such file."))
    async with UnitOfWork(dashboard.database) as uow:
        audit(uow, request, "web.file", format=key, year=int(year_text))
        await uow.commit()
    return web.Response(
        body=file.content,
        content_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.name}"'},
    )


INLINE = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")


async def evidence(request: web.Request) -> web.StreamResponse:
    """An evidence file, to view (images and PDF) or download, if its report is in scope."""
    viewer = _viewer(request)
    dashboard = _dashboard(request)
    attachment_id = int(request.match_info["attachment_id"])
    async with UnitOfWork(dashboard.database).reading() as reads:
        found = await reads.reports.evidence_file(attachment_id)
        allowed = found is not None and (
            viewer.scope is None or found.agency_id in await reads.agencies.lineage(viewer.scope)
        )
    if found is None:
        raise refusal(request, 404, _("There is no such file."))
    if not allowed:
        await _refuse(request, "evidence", attachment_id)
    root = (dashboard.data_dir / "evidence").resolve()
    path = (dashboard.data_dir / found.storage_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise refusal(request, 404, _("The file is no longer kept on the server."))
    async with UnitOfWork(dashboard.database) as uow:
        audit(uow, request, "web.evidence", attachment=attachment_id)
        await uow.commit()
    media = found.info.mime_type or "application/octet-stream"
    inline = request.query.get("view") == "1" and media in INLINE
    disposition = "inline" if inline else "attachment"
    response = web.FileResponse(
        path,
        headers={
            "Content-Type": media,
            "Content-Disposition": (
                f"{disposition}; filename*=UTF-8''{_quoted(found.info.file_name)}"
            ),
        },
    )
    return response


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
