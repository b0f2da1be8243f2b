"""The export formats: one entry per file that /tonghop, ``pgibot report`` and the dashboard offer.

An entry says what the file is called, its media type, who may have it and how it is made. The
/tonghop file buttons and ``pgibot report --format`` are built from ``EXPORTS``, and every one
of them gets its file from ``export``. A new format is a module in ``handlers/exports/`` and an
entry here.

The renderers import their module at the first export: XlsxWriter, python-docx and matplotlib
together weigh about 90 MB, which a bot that only takes reports should not carry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.core.domain.members import Role
from bot.core.domain.progress import PlanSummary, SubmissionRow
from bot.core.i18n import N_
from bot.core.text import fold
from handlers.context import COORDINATORS
from handlers.exports.text import text_report

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExportScope:
    """What a file covers: a year of the whole plan, or one agency's part of it."""

    year: int
    agency_id: int | None = None


class SummarySource(Protocol):
    """Where the exports read a year from: ``storage.summary.SummaryRepository``."""

    async def summary(
        self, year: int, today: date, agency_id: int | None = None
    ) -> PlanSummary | None:
        """Return the plan's state in a year (one agency's part if given)."""

    def submissions(self, year: int, agency_id: int | None = None) -> AsyncIterator[SubmissionRow]:
        """Yield every submission of a year, oldest first."""


@dataclass(frozen=True, slots=True)
class ExportRequest:
    """What a renderer is given: the year's summary, its scope, and where to read more."""

    summary: PlanSummary
    scope: ExportScope
    source: SummarySource
    progress: Callable[[int], object] | None = None
    """Told how many submissions are written so far, by the renderers that stream them."""


Renderer = Callable[[ExportRequest], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One kind of file."""

    key: str
    """The file's extension, the value of its /tonghop button and of ``--format``."""
    label: str | None
    """The /tonghop button (a catalog message id), or None for a file without a button."""
    stem: str
    """The start of the file name: ``tong-hop-pgi`` gives ``tong-hop-pgi-2024.xlsx``."""
    media_type: str
    render: Renderer
    roles: frozenset[Role]
    """Who may have it in chat; a leader gets the own agency's part only."""

    def allowed(self, role: Role) -> bool:
        """Tell whether a member with this role may have the file."""
        return role in self.roles

    def file_name(self, summary: PlanSummary, scope: ExportScope) -> str:
        """Return the file name, naming its scope.

        ``tong-hop-pgi-2024.xlsx`` for the whole plan, ``tong-hop-pgi-2024-sxd.xlsx`` for one
        agency's part: a leader's file and the coordinator's never overwrite each other.
        """
        if scope.agency_id is None:
            return f"{self.stem}-{summary.year}.{self.key}"
        code = next((a.code for a in summary.agencies if a.id == scope.agency_id), None)
        return f"{self.stem}-{summary.year}-{_file_part(code or str(scope.agency_id))}.{self.key}"


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A file made for a scope: what a channel, the terminal or a browser needs to deliver it."""

    name: str
    media_type: str
    content: bytes


async def _workbook(request: ExportRequest) -> bytes:
    from handlers.exports.spreadsheet import spreadsheet

    scope = request.scope
    if request.progress is not None:
        request.progress(0)
    submissions = request.source.submissions(scope.year, scope.agency_id)
    return await spreadsheet(request.summary, submissions, request.progress)


async def _document(request: ExportRequest) -> bytes:
    from handlers.exports.document import report_document

    return await asyncio.to_thread(report_document, request.summary)  # off the event loop


async def _chart(request: ExportRequest) -> bytes:
    from handlers.exports.chart import chart

    return await asyncio.to_thread(chart, request.summary)  # off the event loop


async def _text(request: ExportRequest) -> bytes:
    return text_report(request.summary).encode("utf-8")


EXPORTS: dict[str, ExportFormat] = {
    entry.key: entry
    for entry in (
        ExportFormat(
            "xlsx",
            N_("Spreadsheet"),
            "tong-hop-pgi",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _workbook,
            COORDINATORS | {Role.LEADER},
        ),
        ExportFormat(
            "docx",
            N_("Draft report"),
            "bao-cao-pgi",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            _document,
            COORDINATORS,
        ),
        ExportFormat("png", N_("Chart"), "bieu-do-pgi", "image/png", _chart, COORDINATORS),
        ExportFormat("txt", None, "tong-hop-pgi", "text/plain", _text, COORDINATORS),
    )
}
"""Every format, in the order of the /tonghop buttons."""


def offered(role: Role) -> list[ExportFormat]:
    """Return the formats with a /tonghop button that a member with this role may have."""
    return [entry for entry in EXPORTS.values() if entry.label and entry.allowed(role)]


async def export(
    source: SummarySource,
    key: str,
    scope: ExportScope,
    today: date,
    progress: Callable[[int, int], object] | None = None,
) -> ExportFile | None:
    """Return the file of a format for a scope, or None if the year has no reporting cycle.

    ``progress`` is told (submissions written, submissions in all) as a long file is written.
    Whether the asker may have it is the caller's to check (``ExportFormat.allowed``).
    """
    entry = EXPORTS[key]
    summary = await source.summary(scope.year, today, scope.agency_id)
    if summary is None:
        return None
    total = summary.submission_count
    content = await entry.render(
        ExportRequest(
            summary,
            scope,
            source,
            (lambda done: progress(done, total)) if progress is not None else None,
        )
    )
    logger.info("export %s of %s: %s bytes", key, scope.year, len(content))
    return ExportFile(entry.file_name(summary, scope), entry.media_type, content)


def _file_part(code: str) -> str:
    """Return an agency code made safe for a file name (ASCII letters, digits and dashes)."""
    safe = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in fold(code))
    return "-".join(part for part in safe.split("-") if part) or "don-vi"
