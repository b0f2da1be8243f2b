"""The API's OpenAPI 3 document, served at ``/api/v1/openapi.json``.

Written by hand beside the handlers of :mod:`bot.api.v1`, and checked against them in the
tests (every endpoint called with generated parameters, every answer validated against its
schema). Objects allow properties beyond those listed, so that a later release may add some
without breaking a client; a task's ``state`` is a string whose known values are listed in
its description, for the same reason.
"""

from __future__ import annotations

from typing import Any

from bot.api.services import API_PREFIX

VERSION = "1.0.0"


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": sorted(properties), "properties": properties}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time"}
CODES = _array(STRING)
TASK_STATE = {
    "type": "string",
    "description": (
        "The task's state from its lead agencies' latest reports. Known values: "
        "unreported, not_started, in_progress, blocked, done. More may be added: "
        "treat an unknown value as a state of its own."
    ),
}
REPORT_STATUS = {
    "type": "string",
    "description": "What the agency reported: not_started, in_progress, done or blocked.",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": STRING,
            "parameter": STRING,
            "message": STRING,
        },
    },
    "Milestone": _object(
        {
            "code": STRING,
            "kind": STRING,
            "title": STRING,
            "due_date": DATE,
            "recipients": {
                "type": "string",
                "description": "Who the deadline is for: assigned (the agencies) or coordinator.",
            },
        }
    ),
    "Cycle": _object({"year": INTEGER, "milestones": _array(_ref("Milestone"))}),
    "Agency": _object(
        {
            "code": STRING,
            "name": STRING,
            "short_name": STRING,
            "kind": STRING,
            "status": {"type": "string", "description": "active, merged or retired."},
            "successor_code": _nullable(STRING),
            "valid_from": _nullable(DATE),
            "valid_to": _nullable(DATE),
        }
    ),
    "PlanTask": _object(
        {
            "code": STRING,
            "title": STRING,
            "index_code": _nullable(STRING),
            "lead_agencies": CODES,
            "supporting_agencies": CODES,
        }
    ),
    "TaskState": _object(
        {
            "code": STRING,
            "title": STRING,
            "index_code": _nullable(STRING),
            "state": TASK_STATE,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "lead_agencies": {**CODES, "description": "The lead agencies' names in the year."},
            "supporting_agencies": CODES,
            "lead_reports": {
                "type": "integer",
                "description": "How many lead agencies have reported.",
            },
        }
    ),
    "IndexState": _object(
        {
            "code": STRING,
            "name": STRING,
            "baseline_year": INTEGER,
            "baseline_score": NUMBER,
            "target_score": NUMBER,
            "task_states": {
                "type": "object",
                "additionalProperties": INTEGER,
                "description": "How many of the index's tasks are in each state.",
            },
            "tasks": _array(_ref("TaskState")),
        }
    ),
    "AgencyState": _object(
        {
            "code": STRING,
            "name": STRING,
            "kind": STRING,
            "lead_tasks": CODES,
            "reported_tasks": CODES,
            "pending_tasks": CODES,
            "support_tasks": CODES,
            "contributed_tasks": CODES,
            "last_report_at": _nullable(MOMENT),
        }
    ),
    "Blocked": _object(
        {
            "task_code": STRING,
            "agency_name": STRING,
            "supporting": BOOLEAN,
            "difficulties": _nullable(STRING),
            "reported_at": MOMENT,
        }
    ),
    "Summary": _object(
        {
            "year": INTEGER,
            "today": DATE,
            "plan_title": STRING,
            "coordinator": _nullable(STRING),
            "current_milestone": _nullable(_ref("Milestone")),
            "milestones": _array(_ref("Milestone")),
            "indices": _array(_ref("IndexState")),
            "organisational_tasks": _array(_ref("TaskState")),
            "task_states": {"type": "object", "additionalProperties": INTEGER},
            "reporting": _object(
                {
                    "leading_agencies": INTEGER,
                    "reported_agencies": INTEGER,
                    "not_reported": CODES,
                }
            ),
            "agencies": _array(_ref("AgencyState")),
            "blocked": _array(_ref("Blocked")),
            "submission_count": INTEGER,
        }
    ),
    "Report": _object(
        {
            "id": INTEGER,
            "number": STRING,
            "year": INTEGER,
            "task_code": STRING,
            "agency_code": STRING,
            "agency_name": {**STRING, "description": "The agency's name on the report's day."},
            "member_name": STRING,
            "status": REPORT_STATUS,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "results": STRING,
            "difficulties": _nullable(STRING),
            "proposals": _nullable(STRING),
            "version": {"type": "integer", "minimum": 1},
            "attachments": {"type": "integer", "minimum": 0},
            "created_at": MOMENT,
            "updated_at": {
                **MOMENT,
                "description": "A version never changes once made: equal to created_at.",
            },
        }
    ),
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "401": _json(_ref("Error"), "No valid key (missing, unknown or revoked)."),
    "503": _json(_ref("Error"), "The database is unavailable for a moment: try again later."),
}
BAD = {"400": _json(_ref("Error"), "A parameter could not be read.")}
YEAR_QUERY = {
    "name": "year",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 2000, "maximum": 2100},
}


def _get(summary: str, answer: dict[str, Any], **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": _json(answer, "OK"), **ERRORS},
    }
    for key, value in extra.items():
        if key == "responses":
            operation["responses"].update(value)
        else:
            operation[key] = value
    return {"get": operation}


def document() -> dict[str, Any]:
    """Return the OpenAPI 3 document of the API."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "pgibot API",
            "version": VERSION,
            "description": (
                "Read-only access to the PGI plan's reporting: cycles, a year's summary, "
                "agencies, tasks and reports. Every call but this document needs "
                "`Authorization: Bearer KEY` (a key from `pgibot api-key create`)."
            ),
        },
        "servers": [{"url": API_PREFIX}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
        "paths": {
            "/cycles": _get(
                "The yearly reporting cycles and their deadlines.",
                _object({"cycles": _array(_ref("Cycle"))}),
            ),
            "/years/{year}/summary": _get(
                "A year's state: indices and their tasks' states, agencies' reporting, "
                "what is blocked.",
                _ref("Summary"),
                parameters=[
                    {
                        "name": "year",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 2000, "maximum": 2100},
                    }
                ],
                responses={
                    **BAD,
                    "404": _json(_ref("Error"), "No reporting cycle for that year."),
                },
            ),
            "/agencies": _get(
                "Every agency, with what became of it, in Vietnamese alphabetical order.",
                _object({"agencies": _array(_ref("Agency"))}),
            ),
            "/tasks": _get(
                "The plan's tasks and their agencies (by code) on a year's reference day "
                "(its last deadline), or today.",
                _object({"on": DATE, "tasks": _array(_ref("PlanTask"))}),
                parameters=[YEAR_QUERY],
                responses=BAD,
            ),
            "/reports": _get(
                "Report versions in the order they were recorded (by id), a page at a "
                "time. For incremental sync, pass the largest updated_at already seen "
                "(minus a few minutes, to catch a report committed late) as updated_since, "
                "follow next_cursor until it is null, and keep reports by id.",
                _object(
                    {
                        "reports": _array(_ref("Report")),
                        "next_cursor": {
                            **_nullable(INTEGER),
                            "description": "The cursor of the next page; null on the last.",
                        },
                    }
                ),
                parameters=[
                    YEAR_QUERY,
                    {
                        "name": "updated_since",
                        "in": "query",
                        "required": False,
                        "description": "Only versions made at or after this moment (RFC 3339).",
                        "schema": MOMENT,
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "required": False,
                        "description": "The next_cursor of the previous page: only reports "
                        "with a greater id.",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 1000,
                            "default": 100,
                        },
                    },
                ],
                responses=BAD,
            ),
            "/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
    }
