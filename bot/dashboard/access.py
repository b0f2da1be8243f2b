"""Who is looking: the member behind a session, and what their role lets them see and do.

Exactly what the role allows in chat: the coordinator and the administrator see the whole
plan and every file; a leader and an officer see their own agency's part (the agencies merged
into it included), and a leader may download the agency's workbook, as ``/tonghop`` gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.core.domain.members import MemberInfo, Role
from handlers.context import COORDINATORS
from handlers.exports.registry import ExportFormat, ExportScope, offered
from handlers.help import role_name


@dataclass(frozen=True, slots=True)
class Viewer:
    """The member behind a dashboard session, checked on every request."""

    member: MemberInfo

    @property
    def name(self) -> str:
        """Return the member's full name."""
        return self.member.full_name

    @property
    def role_name(self) -> str:
        """Return the role's Vietnamese name."""
        return role_name(self.member.role)

    @property
    def sees_everything(self) -> bool:
        """Tell whether the whole plan is open to this member."""
        return self.member.role in COORDINATORS

    @property
    def scope(self) -> int | None:
        """Return the agency this member is limited to, or None for the whole plan."""
        return None if self.sees_everything else self.member.agency_id

    def files(self) -> list[ExportFormat]:
        """Return the year's files this member may download."""
        if self.member.role is Role.OFFICER:
            return []  # in chat, an officer has no /tonghop and so no file
        return offered(self.member.role)

    def may_download(self, entry: ExportFormat) -> bool:
        """Tell whether this member may download a format."""
        return entry in self.files()

    def export_scope(self, year: int) -> ExportScope:
        """Return what this member's files cover: the whole plan, or the own agency's part."""
        return ExportScope(year, self.scope)


VIEWER_KEY: web.RequestKey[Viewer] = web.RequestKey("viewer", Viewer)
"""The member behind the request's session."""
