"""The API's endpoints, version 1: cycles, a year's summary, agencies, tasks, reports.

Every answer is JSON read through the unit of work's read-only session; a bad parameter gets
400 with the parameter's name, an unknown year 404. Objects may gain fields in later releases
(a client must ignore what it does not know); a field is never removed or retyped within v1.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from bot.api.auth import authenticate
from bot.api.openapi import document
from bot.api.services import SERVICES, ApiServices
from bot.core.domain.access import ReportRecord
from bot.core.domain.agencies import AgencyInfo
from bot.core.domain.plan import MilestoneInfo, PlanTaskView
from bot.core.domain.progress import AgencyState, PlanSummary, TaskState, reference_day
from bot.core.i18n import _, current_timezone
from bot.core.text import sort_key
from storage.uow import Repositories, UnitOfWork

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_ID = 2**31 - 1
"""The largest id a cursor may name (the column is a 32-bit integer on PostgreSQL)."""
YEARS = (2000, 2100)
"""The years a request may name (a cycle exists only for some of them)."""


class BadParameter(web.HTTPBadRequest):
    """A query or path parameter the API cannot read: 400, naming it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(
            text=web.json_response(
                {"error": "invalid_parameter", "parameter": name, "message": message}
            ).text,
            content_type="application/json",
        )


def application(services: ApiServices) -> web.Application:
    """Make the ``/api/v1`` sub-application."""
    app = web.Application(middlewares=[authenticate])
    app[SERVICES] = services
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/cycles", cycles)
    app.router.add_get("/years/{year}/summary", summary)
    app.router.add_get("/agencies", agencies)
    app.router.add_get("/tasks", tasks)
    app.router.add_get("/reports", reports)
    return app


def _reads(request: web.Request) -> AbstractAsyncContextManager[Repositories]:
    """A read-only session's repositories: no writer turn is taken, even on SQLite."""
    return UnitOfWork(request.app[SERVICES].database).reading()


def _today(request: web.Request) -> date:
    return request.app[SERVICES].clock.now().astimezone(current_timezone()).date()


async def openapi(request: web.Request) -> web.Response:
    """Return the API's OpenAPI 3 document."""
    return web.json_response(document())


async def cycles(request: web.Request) -> web.Response:
    """Return the yearly cycles with their deadlines."""
    async with _reads(request) as reads:
        years = await reads.summaries.years()
        milestones = await reads.plans.milestones()
    return web.json_response(
        {
            "cycles": [
                {
                    "year": year,
                    "milestones": [_milestone(m) for m in milestones if m.year == year],
                }
                for year in years
            ]
        }
    )


async def summary(request: web.Request) -> web.Response:
    """Return a year's state: indices, tasks and their states, agencies' reporting."""
    year = _year(request.match_info["year"], "year")
    async with _reads(request) as reads:
        found = await reads.summaries.summary(year, _today(request))
    if found is None:
        return _not_found(_("There is no reporting cycle for %(year)s.") % {"year": year})
    return web.json_response(summary_json(found))


async def agencies(request: web.Request) -> web.Response:
    """Return every agency, with what became of it, in Vietnamese alphabetical order."""
    async with _reads(request) as reads:
        found = await reads.plans.agencies()
    ordered = sorted(found, key=lambda a: sort_key(a.name))
    return web.json_response({"agencies": [_agency(a) for a in ordered]})


async def tasks(request: web.Request) -> web.Response:
    """Return the plan's tasks with their lead and supporting agencies (of a year, or today)."""
    raw = request.query.get("year")
    year = _year(raw, "year") if raw is not None else None
    async with _reads(request) as reads:
        on = _today(request)
        if year is not None:
            on = reference_day(await reads.plans.milestones(year), year)
        view = await reads.plans.view(on)
    if view is None:
        return web.json_response({"on": on.isoformat(), "tasks": []})
    rows: list[tuple[str | None, PlanTaskView]]
    rows = [(i.index.code, t) for i in view.indices for t in i.tasks]
    rows += [(None, t) for t in view.organisational_tasks]
    return web.json_response(
        {"on": on.isoformat(), "tasks": [_plan_task(index, t) for index, t in rows]}
    )


async def reports(request: web.Request) -> web.Response:
    """Return report versions in the order recorded, a page at a time, for incremental sync.

    ``cursor`` is the last id of the previous page (its ``next_cursor``); ids only grow.
    """
    query = request.query
    limit = _int(query.get("limit", str(DEFAULT_LIMIT)), "limit", 1, MAX_LIMIT)
    year = _year(query["year"], "year") if "year" in query else None
    since = _moment(query["updated_since"], "updated_since") if "updated_since" in query else None
    after = _int(query["cursor"], "cursor", 0, MAX_ID) if "cursor" in query else None
    async with _reads(request) as reads:
        page = await reads.report_feed.page(limit=limit + 1, year=year, since=since, after=after)
    more = len(page) > limit
    page = page[:limit]
    return web.json_response(
        {
            "reports": [_report(r) for r in page],
            "next_cursor": page[-1].id if more else None,
        }
    )


# --- parameters -----------------------------------------------------------------------------


def _int(raw: str, name: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, _("%(name)s must be a whole number.") % {"name": name}) from None
    if not low <= value <= high:
        raise BadParameter(
            name,
            _("%(name)s must be between %(low)d and %(high)d.")
            % {"name": name, "low": low, "high": high},
        )
    return value


def _year(raw: str, name: str) -> int:
    return _int(raw, name, *YEARS)


def _moment(raw: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise BadParameter(
            name,
            _("%(name)s must be a date and time with its offset (RFC 3339).") % {"name": name},
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # within a day of the calendar's ends
        return (
            datetime.min.replace(tzinfo=UTC)
            if moment.year == 1
            else datetime.max.replace(tzinfo=UTC)
        )


def _not_found(message: str) -> web.Response:
    return web.json_response({"error": "not_found", "message": message}, status=404)


# --- answers --------------------------------------------------------------------------------


def _moment_json(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


def _milestone(milestone: MilestoneInfo) -> dict[str, Any]:
    return {
        "code": milestone.code,
        "kind": milestone.kind,
        "title": milestone.title,
        "due_date": milestone.due_date.isoformat(),
        "recipients": milestone.recipients,
    }


def _agency(agency: AgencyInfo) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "short_name": agency.short_name,
        "kind": agency.kind,
        "status": agency.status.value,
        "successor_code": agency.successor_code,
        "valid_from": agency.valid_from.isoformat() if agency.valid_from else None,
        "valid_to": agency.valid_to.isoformat() if agency.valid_to else None,
    }


def _plan_task(index: str | None, task: PlanTaskView) -> dict[str, Any]:
    return {
        "code": task.code,
        "title": task.title,
        "index_code": index,
        "lead_agencies": task.leads,
        "supporting_agencies": task.supports,
    }


def _task_state(task: TaskState, index: str | None) -> dict[str, Any]:
    return {
        "code": task.code,
        "title": task.title,
        "index_code": index,
        "state": task.state,
        "progress": task.progress,
        "lead_agencies": task.lead_agencies,
        "supporting_agencies": task.supporting_agencies,
        "lead_reports": task.reported,
    }


def _agency_state(agency: AgencyState) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "kind": agency.kind,
        "lead_tasks": agency.lead_tasks,
        "reported_tasks": agency.reported_tasks,
        "pending_tasks": agency.pending_tasks,
        "support_tasks": agency.support_tasks,
        "contributed_tasks": agency.contributed_tasks,
        "last_report_at": _moment_json(agency.last_report_at),
    }


def summary_json(found: PlanSummary) -> dict[str, Any]:
    """Write a year's summary as the API's JSON."""
    states = sorted({t.state for t in found.all_tasks})
    leading = found.leading_agencies
    return {
        "year": found.year,
        "today": found.today.isoformat(),
        "plan_title": found.plan_title,
        "coordinator": found.coordinator,
        "current_milestone": _milestone(found.milestone) if found.milestone else None,
        "milestones": [_milestone(m) for m in found.milestones],
        "indices": [
            {
                "code": index.code,
                "name": index.name,
                "baseline_year": index.baseline_year,
                "baseline_score": index.baseline_score,
                "target_score": index.target_score,
                "task_states": {s: index.count(s) for s in states if index.count(s)},
                "tasks": [_task_state(t, index.code) for t in index.tasks],
            }
            for index in found.indices
        ],
        "organisational_tasks": [_task_state(t, None) for t in found.organisational],
        "task_states": {s: sum(1 for t in found.all_tasks if t.state == s) for s in states},
        "reporting": {
            "leading_agencies": len(leading),
            "reported_agencies": len(found.reported_agencies),
            "not_reported": [a.code for a in found.not_reported],
        },
        "agencies": [_agency_state(a) for a in found.agencies],
        "blocked": [
            {
                "task_code": task.code,
                "agency_name": report.agency_name,
                "supporting": report.supporting,
                "difficulties": report.difficulties,
                "reported_at": _moment_json(report.created_at),
            }
            for task, report in found.blocked
        ],
        "submission_count": found.submission_count,
    }


def _report(record: ReportRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "number": f"{record.year}/{record.id:05d}",
        "year": record.year,
        "task_code": record.task_code,
        "agency_code": record.agency_code,
        "agency_name": record.agency_name,
        "member_name": record.member_name,
        "status": record.status,
        "progress": record.progress,
        "results": record.results,
        "difficulties": record.difficulties,
        "proposals": record.proposals,
        "version": record.version,
        "attachments": record.attachments,
        "created_at": _moment_json(record.created_at),
        "updated_at": _moment_json(record.created_at),
    }
