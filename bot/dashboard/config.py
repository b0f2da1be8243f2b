"""What the dashboard is given: the database, the clock, the data folder, its address."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.core.clock import Clock
from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar
from bot.core.i18n import DEFAULT_TIMEZONE
from storage.db import Database


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The dashboard's parts, made by the runtime (or ``pgibot web``) from the settings."""

    database: Database
    clock: Clock
    data_dir: Path
    """Where the evidence files are (``PGIBOT_DATA_DIR``)."""
    url: str = "http://127.0.0.1:8080/web/"
    """The dashboard's public address; https makes the session cookie Secure."""
    session_hours: int = 8
    zone: ZoneInfo = DEFAULT_TIMEZONE
    leader_review: bool = False
    """Whether agency leaders review their own agency's reports (PGIBOT_LEADER_REVIEW)."""
    policy: ReminderPolicy = field(default_factory=ReminderPolicy)
    """The reminder rules: how many working days an explanation request gives to answer."""
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    """The working calendar (the province's declared days are added when it is used)."""
    wake_outbox: Callable[[], None] = field(default=lambda: None)
    """Called after an action put messages in the outbox, so that they leave at once."""

    @property
    def secure(self) -> bool:
        """Tell whether the dashboard is reached over HTTPS (its cookie is then Secure)."""
        return self.url.startswith("https://")

    def login_link(self, token: str) -> str:
        """Return the address of a login link."""
        return f"{self.url.rstrip('/')}/login/{token}"


DASHBOARD_KEY: web.AppKey[Dashboard] = web.AppKey("dashboard", Dashboard)
CSRF_KEY: web.RequestKey[str] = web.RequestKey("csrf", str)
"""The CSRF token of the request's session."""
